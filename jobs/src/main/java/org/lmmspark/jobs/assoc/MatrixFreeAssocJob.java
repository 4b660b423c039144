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
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.DosageDecoder;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.io.Variant;
import org.lmmspark.engine.matfree.PackedDosages;
import org.lmmspark.engine.matfree.PackedGenotypeBlock;
import org.lmmspark.engine.reml.HsqFile;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.VarianceSummary;
import org.lmmspark.engine.reml.matfree.GenotypeRemlInputs;
import org.lmmspark.engine.reml.matfree.StochasticReml;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.matfree.DistributedGenotypeProducts;
import org.lmmspark.jobs.matfree.DistributedGenotypeProducts.CachedRange;
import org.lmmspark.jobs.matfree.MatrixFreeRemlJob;
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
 *       ({@link MatrixFreeRemlJob#fit}, {@link StochasticReml}); a few hundred genotype passes;</li>
 *   <li>calibration sample: one Spark job fetches the cached calls of a seeded random sample of
 *       variants per chromosome from the cache (a few per chromosome, {@link #samplePerScope});</li>
 *   <li>LOCO residuals and γ: one batched CG solve over all chromosomes' columns
 *       ({@link LocoResiduals}), the variance components kept from the whole-genome fit (BOLT-LMM);
 *       {@code I} passes, I ≈ 7–10 at {@link #LOCO_CG_TOLERANCE} (per batch of columns);</li>
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

  /** Driver memory the batched LOCO solve may take (about 10 n-vectors per column). */
  static final long LOCO_SOLVE_BYTES = 1L << 30;
  /**
   * Relative residual of the LOCO solve (BOLT-LMM's 5·10⁻⁴). Its error in {@code r_c = P_{−c}y} and in
   * {@code xᵀP_{−c}x} is at most the tolerance times the condition number of V on the complement of the
   * population axes (whose components the solve divides by λ ~ N·Fst), ≈ 4 at h² ≈ 0.3: χ² off by ≲ 10⁻³
   * relative, far below the calibration's own spread (the CV of γ, 2–10% per chromosome), for about half
   * the passes of 10⁻⁶.
   */
  static final double LOCO_CG_TOLERANCE = 5e-4;
  /** At least this many sampled variants per LOCO chromosome for γ_c. */
  static final int MIN_SAMPLE_PER_CHROMOSOME = 5;

  private MatrixFreeAssocJob() {}

  /**
   * Variants sampled per null model: with LOCO {@code --calibration-variants} is the total over the
   * chromosomes (each gets {@code max(5, ⌈S/C⌉)}), since every sampled variant is one more column of
   * the batched solve over all chromosomes; without LOCO all S go to the single null.
   */
  static int samplePerScope(int total, int scopes, boolean loco) {
    return loco ? Math.max(MIN_SAMPLE_PER_CHROMOSOME, (total + scopes - 1) / scopes) : total;
  }

  /**
   * The GRM-free run as its stages (see the class doc), each timed with its Spark jobs by {@code stages}:
   * cache, REML, calibration sample, LOCO residuals and γ, test pass; then the outputs.
   */
  static AssocJob.Result run(JavaSparkContext jsc, AssocJob.Options o, PartitionedGenotypes genotypes,
      GenotypeRemlInputs.Assembled in, Stages stages, List<String> notes) {
    GenotypeSource fileset = genotypes.fileset();
    int n = in.samples().size();
    DistributedGenotypeProducts products = stages.run("cache genotypes",
        () -> DistributedGenotypeProducts.cache(jsc, genotypes, o.maf(), o.partitions(), o.kernel()),
        p -> "the only read of the genotypes; " + MatrixFreeRemlJob.describeCache(p));
    try {
      StochasticReml.Options remlOptions = o.probes() > 0 ? StochasticReml.Options.defaults().withProbes(o.probes())
          : StochasticReml.Options.defaults();
      MatrixFreeRemlJob.Fitted fitted = stages.run("REML (matrix-free)",
          () -> MatrixFreeRemlJob.fit(jsc, products, in, remlOptions),
          f -> f.passes() + " genotype passes; " + f.fit().message());
      RemlFit fit = fitted.fit();
      double sg = fit.theta()[0];
      double se = fit.theta()[1];
      notes.add(String.format(Locale.ROOT, "whole-genome REML (matrix-free, %d probes): σ²_g = %.5g, σ²_e = %.5g, h² = "
          + "%.4f (SE %.4f, Monte Carlo SE of σ²_g %.2g)%s", fitted.diagnostics().probes(), sg, se, sg / (sg + se),
          VarianceSummary.ratio(fit, 0).se(), fitted.diagnostics().monteCarloSe(0),
          o.loco() ? "; kept for every LOCO chromosome (BOLT-LMM)" : ""));
      List<Integer> scopeChromosome = scopeChromosomes(o, products, fileset);
      int perScope = samplePerScope(o.calibrationVariants(), scopeChromosome.size(), o.loco());
      List<LocoResiduals.Scope> scopes = stages.run("calibration sample",
          () -> calibrationScopes(products, fileset, genotypes.include(), scopeChromosome, perScope, in, o.maf()),
          s -> String.format(Locale.ROOT, "%d variant(s) per null model from the cache (seed %d)", perScope,
              AssocJob.CALIBRATION_SEED));
      int maxColumns = (int) Math.max(16, Math.min(4096, LOCO_SOLVE_BYTES / (80L * n)));
      LocoResiduals.Options lo = new LocoResiduals.Options(LOCO_CG_TOLERANCE, 1000, maxColumns, true);
      LocoResiduals.Result loco = stages.run(o.loco() ? "LOCO residuals and γ" : "null-model residuals and γ",
          () -> LocoResiduals.compute(fitted.k(), sg, se, fitted.diagnostics().eigenspace(), in.design().y(),
              in.design().x(), in.design().p(), in.famRows(), scopes, lo),
          l -> String.format(Locale.ROOT, "one batched CG solve of %d columns in %d batch(es), %d genotype passes, CG "
              + "iterations per null %s (tolerance %.0e, largest final residual %.1e)", l.columns(), l.batches(),
              l.passes(), Arrays.toString(l.iterations()), lo.cgTolerance(), l.maxRelResidual()));
      List<AssocJob.NullFit> fits = new ArrayList<>();
      boolean boundary = fit.boundary()[0] || fit.boundary()[1];
      for (int s = 0; s < scopes.size(); s++) {
        Calibration.Gamma own = loco.own().get(s);
        fits.add(new AssocJob.NullFit(scopes.get(s).label(), n, sg, se, sg / (sg + se), VarianceSummary.ratio(fit, 0).se(),
            fit.logL(), boundary, 0, own, 0));
        log.info("calibration ({}): {}", scopes.get(s).label(), own);
      }
      String spread = Calibration.spread(AssocJob.gammas(fits));
      if (spread != null) {
        notes.add(spread);
      }
      notes.add("the test uses the pooled " + loco.pooled() + (scopes.size() > 1 ? " over all null models (each "
          + "variant's ratio with its own chromosome's V_-c; BOLT-LMM likewise uses one calibration factor)" : ""));
      log.info(notes.get(notes.size() - 1));

      int[] modelOf = new int[products.chromosomes().size()];
      Arrays.fill(modelOf, o.loco() ? -1 : 0);
      if (o.loco()) {
        for (int s = 0; s < scopeChromosome.size(); s++) {
          modelOf[scopeChromosome.get(s)] = s;
        }
      }
      int blockVariants = o.blockVariants() > 0 ? o.blockVariants() : Mlma.blockVariantsFor(n);
      AssocResults all = new AssocResults();
      VariantFilterCounts counts = new VariantFilterCounts(0);
      long[] tested = new long[scopes.size()];
      double[] yPy = new double[scopes.size()];
      for (int s = 0; s < yPy.length; s++) {
        double[] r = loco.models().get(s).residual();
        double[] y = in.design().y();
        for (int i = 0; i < r.length; i++) {
          yPy[s] += y[i] * r[i];
        }
      }
      int tasks = stages.run("test pass", () -> testPass(jsc, products, loco.models(), modelOf, in.famRows(), o.maf(),
          blockVariants, o.statistic(), yPy, all, counts, tested), t -> t + " task(s) over the cached genotypes, "
          + all.size() + " variants tested (" + o.statistic().option() + ")");
      for (int s = 0; s < fits.size(); s++) {
        AssocJob.NullFit f = fits.get(s);
        fits.set(s, new AssocJob.NullFit(f.scope(), f.samples(), f.sigmaG(), f.sigmaE(), f.h2(), f.h2Se(), f.logL(),
            f.boundary(), tested[s], f.gamma(), 0));
      }
      // What the cache dropped (all-sample filters) plus what the test's decoder dropped.
      VariantFilterCounts cached = products.counts();
      counts.monomorphic += cached.monomorphic;
      counts.belowMaf += cached.belowMaf;
      counts.allMissing += cached.allMissing;
      stages.note(String.format(Locale.ROOT, "in all: %d genotype passes, %d Spark jobs", products.passes(),
          stages.sparkJobs()));

      AssocTable table = AssocTable.of(all, fileset.variants(), o.statistic() != LmmTest.MLMA);
      log.info("{} variants tested ({}), λGC = {}", table.size(), counts, String.format("%.4f", table.lambdaGc()));
      return AssocJob.finish(jsc, o, stages, in.design().trait(), n, in.design().columnNames(), fits, table, counts,
          tasks, notes, true, AssocJob.Solver.MATRIX_FREE, HsqFile.write(fitted.summary()));
    } finally {
      products.close();
    }
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

  /** Each null model's scope with its calibration sample ({@link #sampleFromCache}). */
  private static List<LocoResiduals.Scope> calibrationScopes(DistributedGenotypeProducts products,
      GenotypeSource fileset, boolean[] include, List<Integer> scopeChromosome, int perScope,
      GenotypeRemlInputs.Assembled in, double maf) {
    List<String> chromosomes = products.chromosomes();
    List<DosageBlock> samples = sampleFromCache(products, fileset, include, scopeChromosome, perScope, in.famRows(), maf);
    List<LocoResiduals.Scope> scopes = new ArrayList<>();
    for (int s = 0; s < scopeChromosome.size(); s++) {
      int c = scopeChromosome.get(s);
      if (samples.get(s).m == 0) {
        throw new BadInputException(fileset.variantsPath() + ": no testable variant"
            + (c < 0 ? "" : " on chromosome " + chromosomes.get(c)) + " to calibrate the test with");
      }
      scopes.add(new LocoResiduals.Scope(c, c < 0 ? "all chromosomes" : "LOCO chromosome " + chromosomes.get(c),
          samples.get(s)));
    }
    return scopes;
  }

  /**
   * The calibration sample of every scope from the cache, in one Spark job: a seeded random order of
   * each scope's variants ({@link Calibration#shuffled}, seed per chromosome as the spectral path),
   * the cached calls (2-bit or 8-bit) of its first {@code 4·count + 20} fetched from the cached blocks, then decoded
   * on the driver for the analysed samples in that order until {@code count} pass the filters.
   */
  static List<DosageBlock> sampleFromCache(DistributedGenotypeProducts products, GenotypeSource fileset, boolean[] include,
      List<Integer> scopeChromosome, int count, int[] famRows, double maf) {
    List<Variant> variants = fileset.variants();
    List<String> chromosomes = products.chromosomes();
    List<int[]> orders = new ArrayList<>();
    boolean[] wanted = new boolean[variants.size()];
    for (int c : scopeChromosome) {
      int[] order = AssocJob.calibrationOrder(variants, include, c < 0 ? null : chromosomes.get(c));
      order = Arrays.copyOf(order, Math.min(order.length, 4 * count + 20));
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
    List<DosageBlock> out = new ArrayList<>();
    DosageDecoder decoder = new DosageDecoder(famRows, maf);
    VariantDosages scratch = new VariantDosages(fileset.sampleCount());
    for (int[] order : orders) {
      DosageBlock block = new DosageBlock(famRows.length, Math.max(1, count));
      for (int k = 0; k < order.length && block.m < block.capacity(); k++) {
        PackedGenotypeBlock one = byVariant.get(order[k]);
        if (one != null) {
          PackedDosages.decodeInto(one, 0, decoder, block, scratch); // dropped variants leave block.m as is
        }
      }
      out.add(block);
    }
    return out;
  }

  /**
   * One Spark job over the cached ranges: each decoded for the analysed samples and tested against the
   * model of its chromosome ({@code modelOf[chromosome]}, −1: not tested) with {@code statistic} (MLMA, or F
   * with {@code yPy[model]} = yᵀP_{−c}y). Returns the number of tasks.
   */
  static int testPass(JavaSparkContext jsc, DistributedGenotypeProducts products, List<CalibratedModel> models,
      int[] modelOf, int[] famRows, double maf, int blockVariants, LmmTest statistic, double[] yPy, AssocResults all,
      VariantFilterCounts counts, long[] tested) {
    Broadcast<ArrayList<CalibratedModel>> bc = jsc.broadcast(new ArrayList<>(models));
    Broadcast<int[]> rows = jsc.broadcast(famRows);
    try {
      int modelCount = models.size();
      List<RangeResult> results = products.cachedRanges().map((CachedRange r) -> {
        // A range may span chromosomes; its blocks do not: each run of blocks of one chromosome is
        // tested against that chromosome's model.
        VariantFilterCounts c = new VariantFilterCounts(0);
        AssocResults res = new AssocResults();
        long[] perModel = new long[modelCount];
        List<PackedGenotypeBlock> blocks = r.blocks();
        for (int start = 0; start < blocks.size(); ) {
          int chromosome = blocks.get(start).chromosome;
          int end = start;
          while (end < blocks.size() && blocks.get(end).chromosome == chromosome) {
            end++;
          }
          int mi = modelOf[chromosome];
          if (mi >= 0) {
            CalibratedTest.Kernel kernel = new CalibratedTest.Kernel(bc.value().get(mi), blockVariants, statistic,
                statistic == LmmTest.F ? yPy[mi] : Double.NaN);
            int before = res.size();
            PackedDosages.read(blocks.subList(start, end), new DosageDecoder(rows.value(), maf), blockVariants, c,
                block -> kernel.test(block, res));
            perModel[mi] += res.size() - before;
          }
          start = end;
        }
        return new RangeResult(perModel, res, c);
      }).collect();
      for (RangeResult rr : results) {
        all.addAll(rr.results());
        counts.merge(rr.counts());
        for (int mi = 0; mi < tested.length; mi++) {
          tested[mi] += rr.testedPerModel()[mi];
        }
      }
      return products.partitions();
    } finally {
      bc.destroy();
      rows.destroy();
    }
  }

  record RangeResult(long[] testedPerModel, AssocResults results, VariantFilterCounts counts) implements Serializable {}
}
