package org.lmmspark.jobs.assoc;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiConsumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.SolverRoute;
import org.lmmspark.engine.reml.matfree.GenotypeRemlInputs;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.grm.GrmJob;
import org.lmmspark.jobs.matfree.MatrixFreeRemlJob;
import org.lmmspark.jobs.reml.MultiTraitRemlJob;
import org.lmmspark.jobs.reml.TraitSummary;
import org.lmmspark.jobs.spark.Stages;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lmmspark assoc --pheno-name A,B,… | --all-pheno}: the association scan of several traits in one
 * Spark session, each trait on its own analysed samples (its values and every covariate: nothing filled
 * in), each written as its own run writes it under {@code PREFIX.TRAIT} ({@code .assoc.tsv.gz},
 * {@code .assoc.parquet}, {@code .report.md}, plots, and {@code .hsq} on the matrix-free route), plus
 * {@code PREFIX.summary.tsv} (n, h² and SE of the null fit, λGC, the top hit; {@link TraitSummary}).
 *
 * <p>Every trait's inputs are checked first ({@link #checkTraits}: its column, samples, design); one route
 * is chosen for all, as for one trait on the largest trait's samples ({@link SolverRoute}). Then:
 * <ul>
 *   <li><b>Matrix-free</b> ({@link MatrixFreeAssocJob#run(JavaSparkContext, PartitionedGenotypes, List, Stages)}):
 *       ONE cache of the genotypes (per group of traits the driver's heap holds, {@link
 *       MatrixFreeRemlJob#traitsPerGroup}); the traits' REML fits in lock-step ({@link MatrixFreeRemlJob#fitTogether}:
 *       each pass carries the Lanczos steps of the probes and of y of every trait not yet converged,
 *       each trait's K masked to its samples, the probes' runs shared as control variates as {@code reml} does,
 *       {@link org.lmmspark.engine.reml.matfree.SharedProbeRuns}); one Spark job fetching the calibration variants
 *       for all; every trait's batched LOCO (or whole-genome) residual solve in the same passes, the trait with
 *       the most samples solving its whole calibration sample and each other one 6 of those variants, its γ carried
 *       over from the first's by the ratio of their ratios ({@link org.lmmspark.engine.assoc.SharedCalibration}); ONE test pass, in
 *       which each cached variant is decoded once over all samples and every trait's sums come from one wide
 *       product per block ({@link org.lmmspark.engine.assoc.StackedTraitTests}), tested against each trait's model. A pass costs one decode of the genotypes and one Spark job whatever the number of traits,
 *       plus {@code 4NM} flops per column: T traits cost about the passes of the slowest trait and T times the
 *       columns of one trait's lock-step fit (with ⌈Rφ⌉ ≥ 3 probes' runs of its own instead of R, against 1.5R
 *       shared) and LOCO solve. Each trait's σ²_g, σ²_e, and so its table, equal its own run's within the Monte Carlo error of the
 *       probes (another unbiased estimate of the same traces; a trait whose fit ends on the boundary is refitted
 *       with its own R probes, as alone); given the same σ², the LOCO solves are its run alone's up to the solves'
 *       tolerance (its preconditioner is the union's Ritz pairs restricted to its samples), and its γ, which scales
 *       every χ², is within its sampling error of its run alone's (a relative SE of 0.2–0.35% against 0.16–0.21%,
 *       each reported).</li>
 *   <li><b>Spectral</b> ({@link AssocJob#spectral}): the GRM (and its per-chromosome parts for
 *       {@code --loco}) computed once when no {@code --grm} is given, and read once; the traits grouped by
 *       analysed sample set, and per group and null model K eigendecomposed ({@code O(N³)}) or reduced to
 *       band form ONCE (per chunk of the group's traits when half the driver's heap cannot hold all their tables of
 *       results, {@link MatrixFreeAssocJob#RESULT_BYTES_PER_VARIANT} a variant), every trait of the group fitted in
 *       it ({@code O(N)} per likelihood evaluation), the eigenvectors broadcast once and each genotype block
 *       decoded and rotated ({@code 2N²} flops per variant) once for all traits of the group. Traits with different samples keep their own
 *       decomposition and scan. Each trait's table is exactly (byte for byte) that of its own run.</li>
 * </ul>
 * Quantitative traits only ({@code --family binomial} takes one trait at a time).
 */
public final class MultiTraitAssocJob {
  private static final Logger log = LoggerFactory.getLogger(MultiTraitAssocJob.class);

  private MultiTraitAssocJob() {}

  /** Files per trait, after {@code PREFIX.TRAIT}. */
  public static final List<String> PER_TRAIT = List.of(".assoc.tsv.gz", ".assoc.parquet", ".report.md",
      ".manhattan.png", ".qq.png", ".hsq");

  /**
   * Each trait's line of the run (its tables, plots and report are written as its group finishes, and its table of
   * results is not kept: hundreds of traits of millions of variants would not fit the driver), the summary table's
   * rows and the run's notes.
   */
  public record Result(Map<String, Done> traits, List<TraitSummary.Row> summary, List<String> notes) {}

  /** What the run says of one trait whose outputs are written: its summary row, route, variants tested, time. */
  public record Done(TraitSummary.Row row, AssocJob.Solver solver, int variants, double seconds) {
    static Done of(String trait, AssocJob.Result r) {
      return new Done(MultiTraitAssocJob.row(trait, r), r.solver(), r.table().size(), r.seconds());
    }
  }

  public static Result run(JavaSparkContext jsc, AssocJob.Options o, List<String> traits) {
    Configuration conf = jsc.hadoopConfiguration();
    PartitionedGenotypes genotypes = PartitionedGenotypes.of(AssocJob.checkInputs(o, conf), o.selection(), conf);
    genotypes.fileset().warnings().forEach(log::warn);
    List<GenotypeRemlInputs.Assembled> ins = checkTraits(o.trait(), traits, genotypes, conf);
    GenotypeRemlInputs.Assembled largest = ins.get(0);
    for (GenotypeRemlInputs.Assembled in : ins) {
      largest = in.samples().size() > largest.samples().size() ? in : largest;
    }
    // One route for all traits, as for one trait on the largest trait's samples (SolverRoute decides).
    SolverRoute.Decision route = AssocJob.route(o, genotypes, o.grm() == null ? largest : null, jsc.defaultParallelism());
    String why = route.why() + " (the largest trait's samples)";
    log.info(why);
    List<String> notes = new ArrayList<>();
    notes.add(why);
    Map<String, Done> done = new java.util.HashMap<>();
    BiConsumer<String, AssocJob.Result> finished = (trait, r) -> done.put(trait, Done.of(trait, r));
    if (route.route() == SolverRoute.Route.MATRIX_FREE) {
      List<MatrixFreeAssocJob.Trait> together = new ArrayList<>();
      for (int t = 0; t < traits.size(); t++) {
        List<String> mine = new ArrayList<>(genotypes.notes());
        mine.add(why);
        mine.addAll(ins.get(t).notes());
        mine.add(AssocJob.describeMatrixFree(o));
        together.add(new MatrixFreeAssocJob.Trait(o.forTrait(o.trait().withPhenoName(traits.get(t)), null,
            MultiTraitRemlJob.prefix(o.out(), traits.get(t))), ins.get(t), mine));
      }
      // In groups the driver's heap holds (MatrixFreeRemlJob.traitsPerGroup: each trait's n-vectors and table of
      // results), one after the other, each over a cache.
      int perGroup = MatrixFreeRemlJob.traitsPerGroup(MatrixFreeAssocJob.bytesPerTrait(largest.samples().size(),
          genotypes.selectedVariants()));
      for (int from = 0; from < traits.size(); from += perGroup) {
        int to = Math.min(traits.size(), from + perGroup);
        Stages stages = new Stages(jsc, log);
        List<AssocJob.Result> r = MatrixFreeAssocJob.run(jsc, genotypes, together.subList(from, to), stages);
        for (int t = from; t < to; t++) {
          finished.accept(traits.get(t), r.get(t - from));
        }
        notes.add("matrix-free, " + (to - from) + " traits together over one genotype cache"
            + MatrixFreeRemlJob.groupNote(from, traits.size(), perGroup) + ": " + String.join("; ", stages.lines()));
      }
    } else {
      spectral(jsc, o, traits, genotypes, why, finished, notes);
    }
    Map<String, Done> inOrder = new LinkedHashMap<>();
    for (String trait : traits) {
      inOrder.put(trait, done.get(trait));
    }
    List<TraitSummary.Row> rows = inOrder.values().stream().map(Done::row).toList();
    try (AtomicOutputs outs = new AtomicOutputs(conf)) {
      MultiTraitRemlJob.write(outs, o.out() + ".summary.tsv", TraitSummary.tsv(rows));
      outs.commit();
    }
    return new Result(inOrder, rows, notes);
  }

  /**
   * The spectral route: the GRM computed once (when no --grm is given) and read once; the traits grouped by
   * analysed sample set, and each group run together ({@link AssocJob#spectral}: one eigendecomposition or band
   * reduction of K per null model for the group, one rotation of each genotype block for all its traits).
   */
  private static void spectral(JavaSparkContext jsc, AssocJob.Options o, List<String> traits,
      PartitionedGenotypes genotypes, String why, BiConsumer<String, AssocJob.Result> finished, List<String> notes) {
    Configuration conf = jsc.hadoopConfiguration();
    String grm = o.grm();
    List<String> shared = new ArrayList<>(genotypes.notes());
    shared.add(why);
    if (grm == null) {
      grm = o.out();
      GrmJob.Result g = GrmJob.run(jsc, new GrmJob.Options(o.genotypes(), grm, o.maf(), o.selection(), o.loco(),
          4096, 1L << 30, 0, o.kernel()));
      String line = String.format(Locale.ROOT, "GRM (--kernel %s) computed once for all traits from %s: %s; written to "
          + "%s%s (%.1f s)", o.kernel().option(), o.genotypes().label(), g.counts(), GctaGrmFiles.binPath(grm),
          o.loco() ? " with per-chromosome parts" : "", g.seconds());
      notes.add(line);
      shared.add(line);
    }
    Grm genotyped = AssocJob.restrictToFam(GctaGrmFiles.read(grm, conf), genotypes, shared, grm);
    // Traits grouped by analysed samples (same samples in the same order: the same K and X). Only their rows are
    // found here (no K restricted to them, n² doubles each); each group's inputs are assembled when it runs, from
    // tables read once for all.
    TraitTables.Read tables = genotypes.traitTables(o.trait(), conf);
    Map<List<Integer>, List<Integer>> groups = new LinkedHashMap<>();
    List<AssocJob.Options> options = new ArrayList<>();
    List<List<String>> traitNotes = new ArrayList<>();
    int largest = 0;
    for (int t = 0; t < traits.size(); t++) {
      AssocJob.Options mine = o.forTrait(o.trait().withPhenoName(traits.get(t)), grm,
          MultiTraitRemlJob.prefix(o.out(), traits.get(t)));
      List<String> own = new ArrayList<>(shared);
      int[] rows = AssocJob.analysedRows(mine, genotypes, genotyped, grm, own, tables);
      options.add(mine);
      traitNotes.add(own);
      largest = Math.max(largest, rows.length);
      groups.computeIfAbsent(java.util.Arrays.stream(rows).boxed().toList(), k -> new ArrayList<>()).add(t);
    }
    // A set's traits hold their tables of results until all are written: as many at once as half the heap holds, each
    // further chunk of the set repeating its decomposition (O(N³) on the route's small N).
    int perChunk = MatrixFreeRemlJob.traitsPerGroup(MatrixFreeAssocJob.RESULT_BYTES_PER_VARIANT
        * genotypes.selectedVariants());
    boolean chunked = groups.values().stream().anyMatch(g -> g.size() > perChunk);
    notes.add(String.format(Locale.ROOT, "%d traits in %d distinct analysed sample set(s): one %s of K per set%s and "
        + "null model", traits.size(), groups.size(), o.calibratedFor(largest) ? "band reduction" : "eigendecomposition",
        chunked ? " (per chunk of at most " + perChunk + " traits, what the driver's heap holds of their tables)" : ""));
    List<List<Integer>> chunks = new ArrayList<>();
    for (List<Integer> group : groups.values()) {
      for (int from = 0; from < group.size(); from += perChunk) {
        chunks.add(group.subList(from, Math.min(group.size(), from + perChunk)));
      }
    }
    for (List<Integer> group : chunks) {
      // The group's inputs, every trait's problem on the first one's K (the same samples: the same matrix, held once).
      List<AssocJob.Analysed> analysed = new ArrayList<>();
      for (int t : group) {
        AssocJob.Analysed a = AssocJob.analysed(options.get(t), genotypes, genotyped, grm, new ArrayList<>(), tables);
        if (!analysed.isEmpty()) {
          RemlProblem p = a.problem();
          a = new AssocJob.Analysed(new RemlProblem(p.y(), p.x(), p.fixedNames(),
              analysed.get(0).problem().components()), a.trait(), a.genotyped(), a.famRows(), a.grmRows());
        }
        analysed.add(a);
      }
      Stages stages = new Stages(jsc, log);
      List<AssocJob.Result> r = AssocJob.spectral(jsc, genotypes, grm, group.stream().map(options::get).toList(),
          analysed, stages, group.stream().map(traitNotes::get).toList());
      for (int j = 0; j < group.size(); j++) {
        finished.accept(traits.get(group.get(j)), r.get(j));
      }
    }
  }

  /**
   * Every trait's inputs over the genotyped, kept samples, checked before any GRM or fit: its column, its
   * analysed samples (a value of the trait and of every covariate) against the fixed effects, a constant
   * trait, collinear covariates. Returns them in the order of {@code traits}; refuses the run naming each
   * trait that fails ({@link MultiTraitRemlJob#refuseBeforeFitting}).
   */
  public static List<GenotypeRemlInputs.Assembled> checkTraits(TraitTables.Spec spec, List<String> traits,
      PartitionedGenotypes genotypes, Configuration conf) {
    Map<String, String> errors = new LinkedHashMap<>();
    Map<String, GenotypeRemlInputs.Assembled> ins = MatrixFreeRemlJob.assembleEach(spec, traits, genotypes, conf, errors);
    MultiTraitRemlJob.refuseBeforeFitting(errors, traits.size());
    return new ArrayList<>(ins.values());
  }

  /**
   * The summary row of one trait: h² and SE of its whole-genome null fit (with {@code --loco} on the
   * spectral route, where each chromosome has its own, their mean and no SE; the matrix-free route keeps the
   * whole-genome fit for every chromosome), λGC and the top hit.
   */
  static TraitSummary.Row row(String trait, AssocJob.Result r) {
    List<AssocJob.NullFit> fits = r.nullFits();
    double h2;
    double se;
    if (fits.stream().allMatch(f -> f.h2() == fits.get(0).h2() && f.h2Se() == fits.get(0).h2Se())) {
      // One fit (the matrix-free route keeps the whole-genome fit for every LOCO chromosome).
      h2 = fits.get(0).h2();
      se = fits.get(0).h2Se();
    } else {
      h2 = fits.stream().mapToDouble(AssocJob.NullFit::h2).average().orElse(Double.NaN);
      se = Double.NaN;
    }
    int[] top = r.table().top(1);
    String solver = r.solver().name().toLowerCase(Locale.ROOT).replace('_', '-');
    return new TraitSummary.Row(trait, r.samples(), h2, se, Double.NaN, null, Double.NaN, true, solver, null)
        .withAssociation(r.lambdaGc(), top.length == 0 ? null : r.table().variant(top[0]).id(),
            top.length == 0 ? Double.NaN : r.table().logP(top[0]));
  }
}
