package org.lmmspark.jobs.assoc;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.assoc.AssocResults;
import org.lmmspark.engine.assoc.CalibratedModel;
import org.lmmspark.engine.assoc.CalibratedTest;
import org.lmmspark.engine.assoc.Calibration;
import org.lmmspark.engine.assoc.LmmTest;
import org.lmmspark.engine.assoc.LocoResiduals;
import org.lmmspark.engine.assoc.Mlma;
import org.lmmspark.engine.assoc.SharedCalibration;
import org.lmmspark.engine.assoc.StackedTraitTests;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.DosageDecoder;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.io.Variant;
import org.lmmspark.engine.matfree.PackedDosages;
import org.lmmspark.engine.matfree.PackedGenotypeBlock;
import org.lmmspark.engine.matfree.SharedGenotypePasses;
import org.lmmspark.engine.reml.HsqFile;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.VarianceSummary;
import org.lmmspark.engine.reml.matfree.GenotypeRemlInputs;
import org.lmmspark.engine.reml.matfree.StochasticReml;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.matfree.DistributedGenotypeProducts;
import org.lmmspark.jobs.matfree.DistributedGenotypeProducts.CachedRange;
import org.lmmspark.jobs.matfree.MatrixFreeRemlJob;
import org.lmmspark.jobs.spark.InProcessExchange;
import org.lmmspark.jobs.spark.Stages;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Genotype-only (GRM-free) mixed-model association, O(N·M) in all: {@code lmmspark assoc --bfile …}
 * with the matrix-free solver ({@code --solver matrix-free}, or automatically above
 * {@code --matrix-free-above} analysed samples when no {@code --grm} is given).
 *
 * <p>Stages, all on ONE cache of the genotypes (read from the {@code .bed} once, kept on the executors
 * as 2-bit blocks, {@link DistributedGenotypeProducts}):
 * <ol>
 *   <li>cache: one Spark job reads and packs the variants ({@code N·M/4} bytes in all);</li>
 *   <li>REML: σ²_g, σ²_e of {@code y = Xβ + g + e}, {@code g ~ N(0, σ²_g ZZᵀ/M)} by matrix-free AI-REML
 *       ({@link MatrixFreeRemlJob#fit}, {@link StochasticReml}, traces by Lanczos quadrature); 20–25 genotype
 *       passes of 16 columns;</li>
 *   <li>calibration sample: one Spark job fetches the cached calls of a seeded random sample of
 *       variants from the cache ({@link #CALIBRATION_VARIANTS} in all, BOLT-LMM's default, spread over the
 *       chromosomes, {@link #sampleCounts});</li>
 *   <li>LOCO residuals and γ: one batched CG solve over all chromosomes' columns
 *       ({@link LocoResiduals}), the variance components kept from the whole-genome fit (BOLT-LMM), the
 *       columns of y warm-started from the fit's whole-genome Py (one extra pass of one column, split by
 *       chromosome: {@link org.lmmspark.engine.matfree.GenomicRelationshipOperator#applyPerChromosome});
 *       {@code I} passes, I ≈ 6–10 at {@link #LOCO_CG_TOLERANCE} (per batch of columns);</li>
 *   <li>test: one Spark job over the cache, each range decoded ({@link PackedDosages}) and tested
 *       against its chromosome's calibrated model ({@link CalibratedTest.Kernel}: {@code χ² =
 *       (xᵀr_c)²/(γ_c·x̃ᵀx̃)}), {@code O(N·(2 + p))} per variant.</li>
 * </ol>
 * The test is the calibrated one with no eigenvectors treated exactly ({@code k = 0}: there is no
 * eigendecomposition in a GRM-free run): BOLT-LMM-inf / GRAMMAR-γ. Outputs as the spectral path
 * ({@link AssocOutputs}), plus γ per chromosome and its spread, and per-stage times, passes and Spark
 * jobs ({@link AssocJob.Result#stages()}), and the whole-genome REML as {@code OUT.hsq} (GCTA layout).
 *
 * <p>Driver memory: {@code O(N·(1 + p + R))} doubles for REML and about 1 GiB for the LOCO solve
 * ({@link #LOCO_SOLVE_BYTES}: columns beyond it go in further batches); never an N×N matrix.
 */
final class MatrixFreeAssocJob {
  private static final Logger log = LoggerFactory.getLogger(MatrixFreeAssocJob.class);

  /**
   * Driver memory of one trait of a lock-step {@code assoc}, in n-vectors of doubles ({@link
   * MatrixFreeRemlJob#traitsPerGroup}): its REML's ({@link MatrixFreeRemlJob#VECTORS_PER_TRAIT}) and its LOCO solve's,
   * about 6 per column of its 52 (right-hand side, solution, CG's residual, preconditioned residual and direction,
   * the warm start) and the columns of its batches in each shared pass. Measured: 55 traits of n ≈ 17,500 in a 4 GB
   * driver finished the REML and ran out of heap in the LOCO solves; with 600, groups of 23 at n ≈ 17,500 finished
   * once and ran out of heap once in two runs (heap after collections up to 3.95 of 4 GB in the LOCO solves, whose
   * passes' reductions now hold a compensation array beside the running sum, {@code DistributedGenotypeProducts}).
   */
  static final int VECTORS_PER_TRAIT = 700;

  /**
   * Driver memory of one trait's test results per tested variant, at their peak in the test pass's collect: an {@link
   * AssocResults} row is 64 bytes (nine columns) in arrays grown by doubling, so up to 128 per row in each range's
   * part, as much again in the serialized task results, and the trait's merged table (128, 192 while it doubles). 384:
   * 7.7 MB a trait at 20,000 variants, beside its 112 MB of n-vectors at n = 20,000; 384 MB at a million variants,
   * where groups sized by the n-vectors alone (53 traits in a 12 GB driver) would need 20 GB for their tables.
   */
  static final long RESULT_BYTES_PER_VARIANT = 384;

  /** Driver memory of one trait of a lock-step {@code assoc} over n samples and that many variants (its group size). */
  static long bytesPerTrait(int n, long variants) {
    return MatrixFreeRemlJob.vectorBytes(n, VECTORS_PER_TRAIT) + RESULT_BYTES_PER_VARIANT * variants;
  }

  /**
   * Sampled variants of the calibration that each trait but one solves when several run together ({@link
   * SharedCalibration}): the trait with the most samples solves all {@link #CALIBRATION_VARIANTS}, the others these
   * many of them, their γ carried over by {@link Calibration#transfer}. Its relative SE is then
   * {@code √(CV²/30 + CV_q²/6)}, with the ratio's CV 1.1–1.6% and that of the two traits' ratio of ratios, CV_q,
   * 0.4–0.7% (dense simulation, 3,000 samples, h² 0.14–0.45, 3–22% missing). On 20 traits at N = M = 20,000: 0.21–0.34%
   * against 0.16–0.21% for a trait's own 30 (each γ within 0.1% of its own 30's), for 24 columns fewer per trait: its
   * LOCO column-passes 117 instead of 214 on average.
   */
  static final int SHARED_CALIBRATION_VARIANTS = 6;

  /**
   * Driver memory the batched LOCO solve may take: about 10 n-vectors per column (8 when a trait's columns go in one
   * batch: right-hand side, iterate, residual, direction, preconditioned residual, product, projected input and, once
   * some have converged, the active directions; in several batches also the whole solve's right-hand sides and
   * solution).
   */
  static final long LOCO_SOLVE_BYTES = 1L << 30;
  /**
   * Bytes of one shared pass's N×k block when several traits' LOCO solves share the passes (the pass's input, each
   * task's partial sums and their reduction are blocks of this size on the driver): a pass carries at most
   * {@code max(LOCO_PASS_BYTES, heap/LOCO_PASS_HEAP_SHARE) / (8·N)} columns, shared out by {@link #locoBatchColumns}.
   * Measured: 20 traits at N = 10,000 in passes of 1,320 columns (106 MB) ran a 6 GB driver out of heap fetching the
   * task results (2026-12-02, before the products bounded a task's partial sums by a 32nd of the heap,
   * {@code DistributedGenotypeProducts}); the lock-step REML's passes of 640 columns (51 MB at N = 10,000, 102 MB at
   * 20,000 for reml) did not.
   */
  static final long LOCO_PASS_BYTES = 64L << 20;
  /**
   * A shared LOCO pass's block may take this share of the driver's heap when that is more than
   * {@link #LOCO_PASS_BYTES} (96 MB at 6 GB, 192 MB at the default 12 GB): the traits' columns then fit in fewer
   * batches, and the passes, which run batch after batch, are fewer. At N = M = 20,000, 20 traits in a 6 GB driver:
   * 600 columns per pass instead of 400, so every trait's columns go in one batch ({@link #locoBatchColumns}).
   */
  static final long LOCO_PASS_HEAP_SHARE = 64;
  /**
   * Relative residual of the LOCO solve (BOLT-LMM's 5·10⁻⁴). Its error in {@code r_c = P_{−c}y} and in
   * {@code xᵀP_{−c}x} is at most the tolerance times the condition number of V on the complement of the
   * population axes (whose components the solve divides by λ ~ N·Fst), ≈ 4 at h² ≈ 0.3: χ² off by ≲ 10⁻³
   * relative, far below the calibration's own spread (the CV of γ, 2–10% per chromosome), for about half
   * the passes of 10⁻⁶.
   */
  static final double LOCO_CG_TOLERANCE = 5e-4;
  /**
   * Relative residual of the sampled variants' columns in the LOCO solve
   * ({@link LocoResiduals.Options#sampleCgTolerance}): they enter only {@code xᵀV_{−c}⁻¹x}, whose CG error
   * is second order, ≲ 10⁻⁴ relative here against a 2–10% spread of the ratios γ averages; they are 30
   * of the 52 columns at 22 chromosomes ({@link #CALIBRATION_VARIANTS}) and leave the batch two or three passes
   * before y.
   */
  static final double CALIBRATION_CG_TOLERANCE = 5e-3;
  /**
   * Sampled variants of the calibration in all when {@code --calibration-variants} is not given: BOLT-LMM's
   * {@code --numCalibSnps} default, 30 random SNPs at which the exact denominator is computed for one calibration
   * factor (here {@code xᵀP_{−c}x}, each with its own chromosome left out). With LOCO they are spread over the
   * chromosomes in proportion to their variants, at least one each ({@link #sampleCounts}), and the test uses
   * their pooled mean ratio: its relative standard error, which scales every χ² of the run alike, is the ratio's CV
   * over √30 (CV 1.3–1.6% at N = M = 10,000 simulated: 0.28%, against 0.13% with 110 variants;
   * docs/benchmarks.md), i.e. a χ² of 30 is 30 ± 0.08, where its own sampling SD is √(2·(1 + 2·29)) ≈ 11. Every
   * sampled variant is one more column of the LOCO solve (~6 iterations at {@link #CALIBRATION_CG_TOLERANCE}): 30
   * instead of the former {@code max(100, 5·22)} = 110 cut a trait's LOCO column-passes from 836 to 356 there.
   */
  static final int CALIBRATION_VARIANTS = 30;
  /** At least this many sampled variants per LOCO chromosome of the binary matrix-free route ({@link #samplePerScope}). */
  static final int MIN_SAMPLE_PER_CHROMOSOME = 5;

  /**
   * Probes of the association run's REML, as BOLT-LMM's variance-parameter estimate at N ≤ 16,000 (its
   * {@code --h2EstMCtrials} default {@code min(15, 4·10⁹/N²)}, at least 3). Here σ²_g and σ²_e only set
   * {@code V_{−c}} for the test, which stays calibrated whatever they are (γ_c is computed with the same
   * V_{−c}); the Monte Carlo SE of σ²_g is √(40/15) ≈ 1.6× that of the 40 probes of {@code reml} (0.021
   * against 0.013 at N = 5,000, the sampling SE being 0.08) for a REML pass of 19 columns instead of 44.
   */
  static final int REML_PROBES = 15;
  /**
   * CG tolerance of the REML solves here: the traces and quadratic forms then carry a relative error of
   * ~10⁻⁴·κ(V) ≲ 10⁻³, two orders below the Monte Carlo error of 15 probes, for a third fewer passes than
   * {@code reml}'s 10⁻⁶.
   */
  static final double REML_CG_TOLERANCE = 1e-4;
  /**
   * The REML iteration stops when the next AI step moves no θ by more than this much of Σθ: at the last
   * iterate θ is then ~10⁻³·Vp off the (fixed-probe) optimum, a twentieth of the Monte Carlo SE of 15
   * probes; {@code reml}'s 10⁻⁵ costs two more evaluations for a precision the probes do not have.
   */
  static final double REML_STEP_TOLERANCE = 1e-3;

  private MatrixFreeAssocJob() {}

  /**
   * The REML options of the association run ({@code probes} &gt; 0: {@code --probes}): {@link #REML_PROBES},
   * {@link #REML_CG_TOLERANCE}, {@link #REML_STEP_TOLERANCE}, and the first step an AI step (its AI matrix
   * from one thin solve of two columns at the start) rather than an EM step, which from the start
   * {@code h² = ½} barely moves θ and costs a whole evaluation of all columns. Without β̂'s covariance
   * ({@link StochasticReml.Options#fixedEffectCovariance}): no output of the association run reports it, and the
   * lock-step fit of many traits would solve V⁻¹X for it, p columns over 4–8 more passes per trait (at 20,000²,
   * 20 traits, 416 of the REML's 2,439 columns).
   */
  static StochasticReml.Options remlOptions(int probes) {
    StochasticReml.Options d = StochasticReml.Options.defaults();
    return new StochasticReml.Options(probes > 0 ? probes : REML_PROBES, d.seed(), REML_CG_TOLERANCE,
        d.maxCgIterations(), d.maxIterations(), REML_STEP_TOLERANCE, 0, d.deflationRank(), d.logLikelihood())
        .withoutFixedEffectCovariance();
  }

  /**
   * Variants sampled per null model of the binary matrix-free route: with LOCO {@code S} is the total over the
   * chromosomes (each gets {@code max(5, ⌈S/C⌉)}); without LOCO all S go to the single null.
   */
  static int samplePerScope(int total, int scopes, boolean loco) {
    return loco ? Math.max(MIN_SAMPLE_PER_CHROMOSOME, (total + scopes - 1) / scopes) : total;
  }

  /**
   * The calibration's sampled variants per null model of the quantitative matrix-free route: {@code total} spread
   * over the scopes in proportion to their variants {@code variants[s]} (largest remainders), at least one each:
   * a scope left at none gets one, taken from the scope with the most (the lowest index among equals), so
   * {@code max(total, scopes)} in all; a single scope gets all {@code total}. With the pooled γ (one factor for all chromosomes, as BOLT-LMM) every sampled variant weighs the
   * same wherever it lies, so this is a uniform sample of the genome's variants, stratified by chromosome.
   */
  static int[] sampleCounts(int total, long[] variants) {
    int scopes = variants.length;
    int[] counts = new int[scopes];
    long sum = Arrays.stream(variants).sum();
    if (scopes == 1 || sum == 0) {
      Arrays.fill(counts, scopes == 1 ? total : Math.max(1, total / scopes));
      return counts;
    }
    double[] remainder = new double[scopes];
    int given = 0;
    for (int s = 0; s < scopes; s++) {
      double quota = (double) total * variants[s] / sum;
      counts[s] = (int) Math.floor(quota);
      remainder[s] = quota - counts[s];
      given += counts[s];
    }
    // Largest remainders first (ties to the lower index), until the total is reached.
    Integer[] byRemainder = new Integer[scopes];
    for (int s = 0; s < scopes; s++) {
      byRemainder[s] = s;
    }
    Arrays.sort(byRemainder, (a, b) -> Double.compare(remainder[b], remainder[a]));
    for (int j = 0; j < scopes && given < total; j++) {
      counts[byRemainder[j]]++;
      given++;
    }
    for (int s = 0; s < scopes; s++) {
      if (counts[s] == 0) {
        counts[s] = 1;
        int most = 0;
        for (int d = 1; d < scopes; d++) {
          most = counts[d] > counts[most] ? d : most;
        }
        if (counts[most] > 1 && given >= scopes) {
          counts[most]--;
        }
      }
    }
    return counts;
  }

  /** One trait of a run: its options (its trait column and output prefix), its analysed samples and design, its notes. */
  record Trait(AssocJob.Options options, GenotypeRemlInputs.Assembled in, List<String> notes) {}

  /**
   * The GRM-free run of one trait as its stages (see the class doc), each timed with its Spark jobs by
   * {@code stages}: cache, REML, calibration sample, LOCO residuals and γ, test pass; then the outputs.
   */
  static AssocJob.Result run(JavaSparkContext jsc, AssocJob.Options o, PartitionedGenotypes genotypes,
      GenotypeRemlInputs.Assembled in, Stages stages, List<String> notes) {
    return run(jsc, genotypes, List.of(new Trait(o, in, notes)), stages).get(0);
  }

  /**
   * The GRM-free run of several traits together, each on its own analysed samples, over ONE cache of the
   * genotypes: their REML fits in lock-step ({@link MatrixFreeRemlJob#fitTogether}: every trait's CG columns
   * and probes in the same passes, each trait's K masked to its samples, the probes' Lanczos runs shared as control
   * variates, so each trait's fit is its run alone's within Monte Carlo error), one Spark job fetching every
   * trait's calibration sample, the LOCO (or whole-genome) residual solves of all traits in shared passes
   * ({@link SharedGenotypePasses#runAll} over {@link LocoResiduals#compute}; the trait with the most samples solves
   * its whole calibration sample, every other one {@link #SHARED_CALIBRATION_VARIANTS} of those variants and takes
   * its γ from the first's, {@link SharedCalibration}), and ONE test pass in which each
   * cached variant is read once over all samples and every trait's sums come from one wide product per block
   * ({@link StackedTraitTests}), each trait tested against its own model. Options other than the trait and output
   * prefix are those of the first trait. Each trait's result is written as its own run's; the stage lines (and times) are the joint run's.
   */
  static List<AssocJob.Result> run(JavaSparkContext jsc, PartitionedGenotypes genotypes, List<Trait> traits,
      Stages stages) {
    AssocJob.Options o = traits.get(0).options();
    GenotypeSource fileset = genotypes.fileset();
    int count = traits.size();
    List<GenotypeRemlInputs.Assembled> ins = traits.stream().map(Trait::in).toList();
    DistributedGenotypeProducts products = stages.run("cache genotypes",
        () -> DistributedGenotypeProducts.cache(jsc, genotypes, o.maf(), o.partitions(), o.kernel()),
        p -> "the only read of the genotypes; " + MatrixFreeRemlJob.describeCache(p));
    try {
      // Before the REML: a --loco run on one chromosome fails at once, not after the fit.
      List<Integer> scopeChromosome = scopeChromosomes(o, products, fileset);
      StochasticReml.Options remlOptions = remlOptions(o.probes());
      List<MatrixFreeRemlJob.Fitted> fitted = count == 1
          ? List.of(stages.run("REML (matrix-free)", () -> MatrixFreeRemlJob.fit(jsc, products, ins.get(0), remlOptions),
              f -> f.passes() + " genotype passes; " + f.fit().message()))
          : stages.run("REML (matrix-free) of " + count + " traits in lock-step", () -> MatrixFreeRemlJob.fitTogether(
              // The probes' runs shared as control variates (SharedProbeRuns, as reml): each trait's REML, hence
              // its test statistics, within Monte Carlo error of its run alone, for ⌈Rφ⌉ (≥ 3) runs of its own
              // instead of R, and its preconditioner borrowed from the union's Ritz pairs (no pass of its own).
              jsc, products, ins, traits.stream().map(t -> t.in().design().trait()).toList(), remlOptions, true),
              f -> f.get(0).passes() + " shared genotype passes");
      for (int t = 0; t < count; t++) {
        MatrixFreeRemlJob.Fitted f = fitted.get(t);
        double sg = f.fit().theta()[0];
        double se = f.fit().theta()[1];
        traits.get(t).notes().add(String.format(Locale.ROOT, "whole-genome REML (matrix-free, %d probes%s): σ²_g = "
            + "%.5g, σ²_e = %.5g, h² = %.4f (SE %.4f, Monte Carlo SE of σ²_g %.2g); %s%s", f.diagnostics().probes(),
            count > 1 ? ", in lock-step with " + (count - 1) + " other trait(s) over shared passes, the probes' runs"
            + " shared as control variates" : "", sg, se,
            sg / (sg + se), VarianceSummary.ratio(f.fit(), 0).se(), f.diagnostics().monteCarloSe(0), f.fit().message(),
            o.loco() ? "; kept for every LOCO chromosome (BOLT-LMM)" : ""));
      }
      long[] cachedPerChromosome = products.variantsPerChromosome();
      int[] perScope = sampleCounts(o.calibrationVariantsOr(CALIBRATION_VARIANTS),
          scopeChromosome.stream().mapToLong(c -> c < 0 ? Arrays.stream(cachedPerChromosome).sum()
              : cachedPerChromosome[c]).toArray());
      List<List<LocoResiduals.Scope>> scopes = stages.run("calibration sample",
          () -> calibrationScopes(products, fileset, genotypes.include(), scopeChromosome, perScope,
              ins.stream().map(GenotypeRemlInputs.Assembled::famRows).toList(), o.maf()),
          s -> String.format(Locale.ROOT, "%d variant(s) in all from the cache (%s per null model, seed %d)%s",
              Arrays.stream(perScope).sum(), perScope.length == 1 ? String.valueOf(perScope[0])
              : Arrays.stream(perScope).min().getAsInt() + "–" + Arrays.stream(perScope).max().getAsInt(),
              AssocJob.CALIBRATION_SEED, count > 1 ? ", one fetch decoded for each of " + count + " traits" : ""));
      // Several traits: the one with the most samples solves its whole sample, the others SHARED_CALIBRATION_VARIANTS
      // of it, their γ carried over from its (SharedCalibration).
      int reference = 0;
      for (int t = 1; t < count; t++) {
        reference = ins.get(t).samples().size() > ins.get(reference).samples().size() ? t : reference;
      }
      SharedCalibration calibration = SharedCalibration.plan(scopes, reference, SHARED_CALIBRATION_VARIANTS);
      long passBytes = Math.max(LOCO_PASS_BYTES, Runtime.getRuntime().maxMemory() / LOCO_PASS_HEAP_SHARE);
      int[] batchColumns = locoBatchColumns(calibration.solved().stream()
          .mapToInt(sc -> sc.stream().mapToInt(x -> 1 + x.sample().m).sum()).toArray(),
          ins.stream().mapToInt(in -> in.samples().size()).toArray(),
          count == 1 ? Long.MAX_VALUE : passBytes / (8L * products.samples()));
      List<LocoResiduals.Options> los = Arrays.stream(batchColumns).mapToObj(columns -> new LocoResiduals.Options(
          LOCO_CG_TOLERANCE, 1000, columns, true, CALIBRATION_CG_TOLERANCE)).toList();
      LocoResiduals.Options lo = los.get(0);
      long passesBefore = products.passes();
      List<LocoResiduals.Result> locos = new ArrayList<>(stages.run(o.loco() ? "LOCO residuals and γ"
          : "null-model residuals and γ", () -> residuals(fitted, ins, calibration.solved(), los),
          l -> String.format(Locale.ROOT, "%sone batched CG solve of %d columns%s in %d batch(es), %d genotype passes, "
              + "%d column-passes%s, CG iterations per null %s (tolerance %.0e for y, %.0e for the sampled variants; "
              + "largest final residual of y %.1e)", count > 1 ? "per trait, in shared passes: " : "", l.get(0).columns(),
              count > 1 ? " (first trait)" : "", l.get(0).batches(), products.passes() - passesBefore,
              l.stream().mapToLong(LocoResiduals.Result::columnPasses).sum(), count > 1 ? String.format(Locale.ROOT,
              " in all (%.0f per trait)", l.stream().mapToLong(LocoResiduals.Result::columnPasses).average()
              .orElse(0)) : "", Arrays.toString(l.get(0).iterations()),
              lo.cgTolerance(), lo.sampleCgTolerance(), l.stream().mapToDouble(LocoResiduals.Result::maxRelResidual).max().orElse(0))));
      Calibration.Transfer[] transfers = new Calibration.Transfer[count];
      for (int t = 0; t < count; t++) {
        if (calibration.carried(t)) {
          transfers[t] = calibration.transfer(t, locos.get(reference), locos.get(t));
          locos.set(t, locos.get(t).withGamma(transfers[t].gamma()));
        }
      }
      String referenceTrait = ins.get(reference).design().trait();

      int[] modelOf = new int[products.chromosomes().size()];
      Arrays.fill(modelOf, o.loco() ? -1 : 0);
      if (o.loco()) {
        for (int s = 0; s < scopeChromosome.size(); s++) {
          modelOf[scopeChromosome.get(s)] = s;
        }
      }
      List<List<CalibratedModel>> models = new ArrayList<>();
      List<double[]> yPys = new ArrayList<>();
      for (int t = 0; t < count; t++) {
        LocoResiduals.Result loco = locos.get(t);
        models.add(loco.models());
        double[] yPy = new double[scopes.get(t).size()];
        double[] y = ins.get(t).design().y();
        for (int s = 0; s < yPy.length; s++) {
          double[] r = loco.models().get(s).residual();
          for (int i = 0; i < r.length; i++) {
            yPy[s] += y[i] * r[i];
          }
        }
        yPys.add(yPy);
      }
      int blockVariants = o.blockVariants() > 0 ? o.blockVariants()
          : Mlma.blockVariantsFor(ins.stream().mapToInt(in -> in.samples().size()).max().getAsInt());
      List<TraitScan> scans = new ArrayList<>();
      for (int t = 0; t < count; t++) {
        scans.add(new TraitScan(new AssocResults(), new VariantFilterCounts(0), new long[scopes.get(t).size()]));
      }
      int tasks = stages.run("test pass", () -> testPass(jsc, products, models, modelOf,
          ins.stream().map(GenotypeRemlInputs.Assembled::famRows).toList(), o.maf(), blockVariants, o.statistic(), yPys,
          scans), t -> t + " task(s) over the cached genotypes, " + scans.stream().mapToInt(x -> x.results().size()).sum()
          + " tests (" + o.statistic().option()
          + (count > 1 ? ", " + count + " traits, each variant decoded once and tested for all by one product per block" : "")
          + ")");
      stages.note(String.format(Locale.ROOT, "in all: %d genotype passes, %d Spark jobs", products.passes(),
          stages.sparkJobs()));

      List<AssocJob.Result> results = new ArrayList<>();
      for (int t = 0; t < count; t++) {
        results.add(finishTrait(jsc, traits.get(t), fitted.get(t), scopes.get(t), locos.get(t), transfers[t],
            referenceTrait, scans.get(t), products, fileset, tasks, stages));
      }
      return results;
    } finally {
      products.close();
    }
  }

  /** What the test pass found for one trait: its results, its decoder's filter counts, the variants tested per null. */
  record TraitScan(AssocResults results, VariantFilterCounts counts, long[] tested) implements Serializable {}

  /**
   * Each trait's LOCO (or whole-genome) residuals and γ ({@link LocoResiduals#compute}): alone for one trait;
   * for several, all traits' batched CG solves at once over the lock-step fit's shared passes
   * ({@link SharedGenotypePasses#runAll}: each CG iteration of every trait in the same genotype pass).
   */
  private static List<LocoResiduals.Result> residuals(List<MatrixFreeRemlJob.Fitted> fitted,
      List<GenotypeRemlInputs.Assembled> ins, List<List<LocoResiduals.Scope>> scopes, List<LocoResiduals.Options> los) {
    java.util.function.IntFunction<LocoResiduals.Result> solve = t -> {
      MatrixFreeRemlJob.Fitted f = fitted.get(t);
      GenotypeRemlInputs.Assembled in = ins.get(t);
      return LocoResiduals.compute(f.k(), f.fit().theta()[0], f.fit().theta()[1], f.diagnostics().eigenspace(),
          in.design().y(), in.design().x(), in.design().p(), in.famRows(), scopes.get(t), los.get(t), f.fit().py());
    };
    if (fitted.size() == 1) {
      return List.of(solve.apply(0));
    }
    List<java.util.concurrent.Callable<LocoResiduals.Result>> solves = new ArrayList<>();
    for (int t = 0; t < fitted.size(); t++) {
      int trait = t;
      solves.add(() -> solve.apply(trait));
    }
    // The lock-step fit built every trait's operator on the same shared passes.
    SharedGenotypePasses shared = (SharedGenotypePasses) fitted.get(0).k().products();
    return shared.runAll(solves, "loco-trait");
  }

  /**
   * The columns each trait's LOCO solve takes per batch ({@link LocoResiduals.Options#maxColumns}). Every trait's
   * columns in one batch when all of them fit in one pass of {@code passColumns} columns and their CG state (about 80
   * bytes per sample and column) within {@link #LOCO_SOLVE_BYTES}: then the passes are those of the slowest column
   * alone. Else each trait gets the same share of both, at least 16, and its columns go in batches one after the other
   * (more passes). At N = M = 20,000, 20 traits (the largest with its 30 calibration variants, 52 columns, the others
   * 28) in a 6 GB driver: 584 columns against 600 per pass and 0.77 of the 1 GiB, so one batch each (the equal share,
   * 30, took the largest trait's 52 in two batches: 14 passes).
   *
   * @param needs       each trait's columns (its scopes' y and sampled variants)
   * @param samples     each trait's analysed samples
   * @param passColumns columns one shared pass may carry
   */
  static int[] locoBatchColumns(int[] needs, int[] samples, long passColumns) {
    long columns = 0;
    long bytes = 0;
    long allSamples = 0;
    for (int t = 0; t < needs.length; t++) {
      columns += needs[t];
      bytes += 80L * needs[t] * samples[t];
      allSamples += samples[t];
    }
    int[] batch = new int[needs.length];
    if (columns <= passColumns && bytes <= LOCO_SOLVE_BYTES) {
      for (int t = 0; t < needs.length; t++) {
        batch[t] = Math.max(1, needs[t]);
      }
      return batch;
    }
    long share = Math.min(LOCO_SOLVE_BYTES / (80L * Math.max(1, allSamples)), passColumns / needs.length);
    Arrays.fill(batch, (int) Math.max(16, Math.min(4096, share)));
    return batch;
  }

  /** One trait's null fits, table and outputs after the shared stages. */
  private static AssocJob.Result finishTrait(JavaSparkContext jsc, Trait trait, MatrixFreeRemlJob.Fitted fitted,
      List<LocoResiduals.Scope> scopes, LocoResiduals.Result loco, Calibration.Transfer transfer, String referenceTrait,
      TraitScan scan, DistributedGenotypeProducts products, GenotypeSource fileset, int tasks, Stages stages) {
    AssocJob.Options o = trait.options();
    GenotypeRemlInputs.Assembled in = trait.in();
    List<String> notes = trait.notes();
    int n = in.samples().size();
    RemlFit fit = fitted.fit();
    double sg = fit.theta()[0];
    double se = fit.theta()[1];
    boolean boundary = fit.boundary()[0] || fit.boundary()[1];
    List<AssocJob.NullFit> fits = new ArrayList<>();
    for (int s = 0; s < scopes.size(); s++) {
      Calibration.Gamma own = loco.own().get(s);
      fits.add(new AssocJob.NullFit(scopes.get(s).label(), n, sg, se, sg / (sg + se), VarianceSummary.ratio(fit, 0).se(),
          fit.logL(), boundary, scan.tested()[s], own, 0));
      log.info("calibration ({}, {}): {}", in.design().trait(), scopes.get(s).label(),
          own != null ? own : "no variant of its own solved (γ carried over)");
    }
    String spread = Calibration.spread(AssocJob.gammas(fits));
    if (spread != null) {
      notes.add(spread);
    }
    if (transfer == null) {
      notes.add("the test uses the pooled " + loco.pooled() + (scopes.size() > 1 ? " over all null models (each "
          + "variant's ratio with its own chromosome's V_-c; BOLT-LMM likewise uses one calibration factor)" : "")
          + String.format(Locale.ROOT, "; its relative standard error, that of every χ²'s scale: %.2g",
          loco.pooled().seOfMean() / loco.pooled().mean()));
    } else {
      notes.add(String.format(Locale.ROOT, "the test uses γ = %.6g, carried over from %s's pooled γ (%d variants) by the "
          + "ratio of the two traits' per-variant ratios over the %d variants of that sample solved for this trait too "
          + "(a ratio estimator, SharedCalibration); its relative standard error, that of every χ²'s scale: %.2g",
          transfer.gamma().mean(), referenceTrait, transfer.gamma().variants(), transfer.shared(), transfer.relativeSe()));
    }
    log.info(notes.get(notes.size() - 1));
    // What the cache dropped (all-sample filters) plus what the test's decoder dropped.
    VariantFilterCounts counts = scan.counts();
    VariantFilterCounts cached = products.counts();
    counts.monomorphic += cached.monomorphic;
    counts.belowMaf += cached.belowMaf;
    counts.allMissing += cached.allMissing;
    AssocTable table = AssocTable.of(scan.results(), fileset.variants(), o.statistic() != LmmTest.MLMA);
    log.info("{}: {} variants tested ({}), λGC = {}", in.design().trait(), table.size(), counts,
        String.format("%.4f", table.lambdaGc()));
    return AssocJob.finish(jsc, o, stages, in.design().trait(), n, in.design().columnNames(), fits, table, counts,
        tasks, notes, true, AssocJob.Solver.MATRIX_FREE, HsqFile.write(fitted.summary()));
  }

  /** The null models' chromosomes: each with cached variants (LOCO; at least two), or −1 for one over all. */
  private static List<Integer> scopeChromosomes(AssocJob.Options o, DistributedGenotypeProducts products,
      GenotypeSource fileset) {
    if (!o.loco()) {
      return List.of(-1);
    }
    List<Integer> scopes = new ArrayList<>();
    long[] perChromosome = products.variantsPerChromosome();
    for (int c = 0; c < perChromosome.length; c++) {
      if (perChromosome[c] > 0) {
        scopes.add(c);
      }
    }
    if (scopes.size() < 2) {
      throw new BadInputException(fileset.variantsPath() + ": --loco needs variants on at least two "
          + "chromosomes, found " + scopes.size());
    }
    return scopes;
  }

  /** Per trait, each null model's scope with its calibration sample ({@link #sampleFromCache}). */
  private static List<List<LocoResiduals.Scope>> calibrationScopes(DistributedGenotypeProducts products,
      GenotypeSource fileset, boolean[] include, List<Integer> scopeChromosome, int[] perScope, List<int[]> famRows,
      double maf) {
    List<String> chromosomes = products.chromosomes();
    List<List<DosageBlock>> samples = sampleFromCache(products, fileset, include, scopeChromosome, perScope, famRows, maf);
    List<List<LocoResiduals.Scope>> perTrait = new ArrayList<>();
    for (List<DosageBlock> traitSamples : samples) {
      List<LocoResiduals.Scope> scopes = new ArrayList<>();
      for (int s = 0; s < scopeChromosome.size(); s++) {
        int c = scopeChromosome.get(s);
        if (traitSamples.get(s).m == 0) {
          throw new BadInputException(fileset.variantsPath() + ": no testable variant"
              + (c < 0 ? "" : " on chromosome " + chromosomes.get(c)) + " to calibrate the test with");
        }
        scopes.add(new LocoResiduals.Scope(c, c < 0 ? "all chromosomes" : "LOCO chromosome " + chromosomes.get(c),
            traitSamples.get(s)));
      }
      perTrait.add(scopes);
    }
    return perTrait;
  }

  /**
   * The calibration sample of every scope from the cache, in one Spark job for all traits: a seeded random
   * order of each scope's variants ({@link Calibration#shuffled}, seed per chromosome as the spectral path),
   * the cached calls (2-bit or 8-bit) of its first {@code 4·count[s] + 20} fetched from the cached blocks, then
   * decoded on the driver for each trait's analysed samples ({@code famRows.get(t)}) in that order until
   * {@code count[s]} pass the filters. Every trait's sample is drawn from the same order, so traits whose filters
   * pass the same variants share them. Returns per trait, per scope, the sample.
   */
  static List<List<DosageBlock>> sampleFromCache(DistributedGenotypeProducts products, GenotypeSource fileset,
      boolean[] include, List<Integer> scopeChromosome, int[] count, List<int[]> famRows, double maf) {
    List<Variant> variants = fileset.variants();
    List<String> chromosomes = products.chromosomes();
    List<int[]> orders = new ArrayList<>();
    boolean[] wanted = new boolean[variants.size()];
    for (int s = 0; s < scopeChromosome.size(); s++) {
      int c = scopeChromosome.get(s);
      int[] order = AssocJob.calibrationOrder(variants, include, c < 0 ? null : chromosomes.get(c));
      order = Arrays.copyOf(order, Math.min(order.length, 4 * count[s] + 20));
      orders.add(order);
      for (int v : order) {
        wanted[v] = true;
      }
    }
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(products.cachedRanges().context());
    Broadcast<boolean[]> want = jsc.broadcast(wanted);
    List<PackedGenotypeBlock> raw;
    try {
      raw = products.cachedRanges().flatMap((CachedRange r) -> {
        List<PackedGenotypeBlock> out = new ArrayList<>();
        boolean[] w = want.value();
        for (PackedGenotypeBlock b : r.blocks()) {
          for (int v = 0; v < b.m; v++) {
            if (w[b.variantIndex[v]]) {
              out.add(b.slice(v));
            }
          }
        }
        Iterator<PackedGenotypeBlock> it = out.iterator();
        return it;
      }).collect();
    } finally {
      want.destroy();
    }
    java.util.Map<Integer, PackedGenotypeBlock> byVariant = new java.util.HashMap<>();
    for (PackedGenotypeBlock x : raw) {
      byVariant.put(x.variantIndex[0], x);
    }
    VariantDosages scratch = new VariantDosages(fileset.sampleCount());
    List<List<DosageBlock>> perTrait = new ArrayList<>();
    for (int[] rows : famRows) {
      List<DosageBlock> out = new ArrayList<>();
      DosageDecoder decoder = new DosageDecoder(rows, maf);
      for (int s = 0; s < orders.size(); s++) {
        int[] order = orders.get(s);
        DosageBlock block = new DosageBlock(rows.length, Math.max(1, count[s]));
        for (int k = 0; k < order.length && block.m < block.capacity(); k++) {
          PackedGenotypeBlock one = byVariant.get(order[k]);
          if (one != null) {
            PackedDosages.decodeInto(one, 0, decoder, block, scratch); // dropped variants leave block.m as is
          }
        }
        out.add(block);
      }
      perTrait.add(out);
    }
    return perTrait;
  }

  /**
   * One Spark job over the cached ranges for every trait. One trait: each range's variants decoded for its
   * analysed samples ({@link PackedDosages#readTogether} with one set) and each block tested against the model of
   * its chromosome ({@link CalibratedTest.Kernel}). Several traits: each range's variants read once over all
   * samples ({@link PackedDosages#readCounts}) and every trait's sums taken from one wide product per block
   * ({@link StackedTraitTests}: the same statistic, at a few times one trait's cost instead of T times), against
   * the model of its chromosome of every trait ({@code modelOf[chromosome]},
   * −1: not tested) with {@code statistic} (MLMA, or F with {@code yPy.get(t)[model]} = yᵀP_{−c}y). Fills
   * each trait's {@link TraitScan}; returns the number of tasks.
   */
  static int testPass(JavaSparkContext jsc, DistributedGenotypeProducts products, List<List<CalibratedModel>> models,
      int[] modelOf, List<int[]> famRows, double maf, int blockVariants, LmmTest statistic, List<double[]> yPy,
      List<TraitScan> scans) {
    // Traits on the same samples share one decoded block.
    List<int[]> sets = new ArrayList<>();
    int[] setOf = new int[famRows.size()];
    for (int t = 0; t < setOf.length; t++) {
      int found = -1;
      for (int s = 0; s < sets.size() && found < 0; s++) {
        found = Arrays.equals(sets.get(s), famRows.get(t)) ? s : -1;
      }
      if (found < 0) {
        found = sets.size();
        sets.add(famRows.get(t));
      }
      setOf[t] = found;
    }
    ArrayList<ArrayList<CalibratedModel>> all = new ArrayList<>();
    for (List<CalibratedModel> m : models) {
      all.add(new ArrayList<>(m));
    }
    TestPassInput input = new TestPassInput(all, new ArrayList<>(sets), setOf, modelOf, new ArrayList<>(yPy), statistic,
        maf, blockVariants);
    List<List<TraitScan>> parts = InProcessExchange.perPartition(jsc, products.cachedRanges(), input, (it, in) -> {
      List<TraitScan> part = null;
      while (it.hasNext()) {
        List<TraitScan> range = testRange(it.next(), in);
        if (part == null) {
          part = range;
        } else {
          addScans(part, range);
        }
      }
      return part;
    });
    for (List<TraitScan> part : parts) {
      addScans(scans, part);
    }
    return products.partitions();
  }

  /** What every task of the test pass reads ({@link #testPass}'s arguments; sets: the distinct analysed-sample rows). */
  private record TestPassInput(ArrayList<ArrayList<CalibratedModel>> models, ArrayList<int[]> sets, int[] setOf,
      int[] modelOf, ArrayList<double[]> yPy, LmmTest statistic, double maf, int blockVariants)
      implements Serializable {}

  /** Adds each trait's scan of {@code part} (variants after those of {@code into}) to its scan in {@code into}. */
  private static void addScans(List<TraitScan> into, List<TraitScan> part) {
    for (int t = 0; t < into.size(); t++) {
      TraitScan mine = into.get(t);
      TraitScan more = part.get(t);
      mine.results().addAll(more.results());
      mine.counts().merge(more.counts());
      for (int mi = 0; mi < mine.tested().length; mi++) {
        mine.tested()[mi] += more.tested()[mi];
      }
    }
  }

  /** Every trait's tests over one cached range ({@link #testPass}). */
  private static List<TraitScan> testRange(CachedRange r, TestPassInput in) {
    int traits = in.models().size();
    ArrayList<TraitScan> out = new ArrayList<>();
    for (int t = 0; t < traits; t++) {
      out.add(new TraitScan(new AssocResults(), new VariantFilterCounts(0), new long[in.models().get(t).size()]));
    }
    List<int[]> setRows = in.sets();
    List<VariantFilterCounts> setCounts = new ArrayList<>();
    for (int s = 0; s < setRows.size(); s++) {
      setCounts.add(new VariantFilterCounts(0));
    }
    // A range may span chromosomes; its blocks do not: each run of blocks of one chromosome is
    // tested against that chromosome's models.
    List<PackedGenotypeBlock> blocks = r.blocks();
    for (int start = 0; start < blocks.size(); ) {
      int chromosome = blocks.get(start).chromosome;
      int end = start;
      while (end < blocks.size() && blocks.get(end).chromosome == chromosome) {
        end++;
      }
      int mi = in.modelOf()[chromosome];
      if (mi >= 0 && traits > 1) {
        // Many traits: every trait's sums from one wide product per block of raw counts.
        List<CalibratedModel> onChromosome = new ArrayList<>();
        double[] yPyOf = new double[traits];
        List<AssocResults> res = new ArrayList<>();
        List<VariantFilterCounts> traitCounts = new ArrayList<>();
        for (int t = 0; t < traits; t++) {
          onChromosome.add(in.models().get(t).get(mi));
          yPyOf[t] = in.statistic() == LmmTest.F ? in.yPy().get(t)[mi] : Double.NaN;
          res.add(out.get(t).results());
          traitCounts.add(out.get(t).counts());
        }
        int samples = blocks.get(start).n;
        StackedTraitTests stacked = new StackedTraitTests(onChromosome, in.statistic(), yPyOf, samples, in.maf());
        int[] before = new int[traits];
        for (int t = 0; t < traits; t++) {
          before[t] = res.get(t).size();
        }
        PackedDosages.readCounts(blocks.subList(start, end), StackedTraitTests.blockVariantsFor(samples),
            block -> stacked.test(block, res, traitCounts));
        for (int t = 0; t < traits; t++) {
          out.get(t).tested()[mi] += res.get(t).size() - before[t];
        }
      } else if (mi >= 0) {
        List<DosageDecoder> decoders = new ArrayList<>();
        List<java.util.function.Consumer<DosageBlock>> sinks = new ArrayList<>();
        for (int s = 0; s < setRows.size(); s++) {
          decoders.add(new DosageDecoder(setRows.get(s), in.maf()));
          List<Integer> on = new ArrayList<>();
          List<CalibratedTest.Kernel> kernels = new ArrayList<>();
          for (int t = 0; t < traits; t++) {
            if (in.setOf()[t] == s) {
              on.add(t);
              kernels.add(new CalibratedTest.Kernel(in.models().get(t).get(mi), in.blockVariants(), in.statistic(),
                  in.statistic() == LmmTest.F ? in.yPy().get(t)[mi] : Double.NaN));
            }
          }
          sinks.add(block -> {
            for (int j = 0; j < on.size(); j++) {
              TraitScan scan = out.get(on.get(j));
              int before = scan.results().size();
              kernels.get(j).test(block, scan.results());
              scan.tested()[mi] += scan.results().size() - before;
            }
          });
        }
        PackedDosages.readTogether(blocks.subList(start, end), decoders, in.blockVariants(), setCounts, sinks);
      }
      start = end;
    }
    if (traits == 1) {
      out.get(0).counts().merge(setCounts.get(in.setOf()[0]));
    }
    return out;
  }
}
