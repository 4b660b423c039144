package org.lmmspark.jobs.assoc;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.engine.reml.SolverRoute;
import org.lmmspark.engine.reml.matfree.GenotypeRemlInputs;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.grm.GrmJob;
import org.lmmspark.jobs.matfree.MatrixFreeRemlJob;
import org.lmmspark.jobs.reml.MultiTraitRemlJob;
import org.lmmspark.jobs.reml.TraitSummary;

/**
 * {@code lmmspark assoc --pheno-name A,B,… | --all-pheno}: the association scan of several traits in one
 * Spark session, each trait on its own analysed samples (its values and every covariate: nothing filled
 * in), each written as its own run writes it under {@code PREFIX.TRAIT} ({@code .assoc.tsv.gz},
 * {@code .assoc.parquet}, {@code .report.md}, plots, and {@code .hsq} on the matrix-free route), plus
 * {@code PREFIX.summary.tsv} (n, h² and SE of the null fit, λGC, the top hit; {@link TraitSummary}).
 *
 * <p>Shared today: on the spectral route the GRM (with its per-chromosome parts for {@code --loco}) is
 * computed once into {@code PREFIX.grm.*} when no {@code --grm} is given, and every trait reads it, so
 * each trait's table is exactly that of its own run. Not shared yet: each trait fits its own null model
 * (its own eigendecomposition or band reduction, also when traits have the same samples) and runs its
 * own scan over the genotypes; on the matrix-free route each trait caches the genotypes and runs its own
 * REML (the lock-step fit of {@link org.lmmspark.jobs.matfree.MatrixFreeRemlJob#fitTogether} is what
 * {@code reml} uses). Cost: T single-trait runs minus (T − 1) GRMs and Spark session starts.
 */
public final class MultiTraitAssocJob {
  private MultiTraitAssocJob() {}

  /** Files per trait, after {@code PREFIX.TRAIT}. */
  public static final List<String> PER_TRAIT = List.of(".assoc.tsv.gz", ".assoc.parquet", ".report.md",
      ".manhattan.png", ".qq.png", ".hsq");

  public record Result(Map<String, AssocJob.Result> traits, List<TraitSummary.Row> summary, List<String> notes) {}

  public static Result run(JavaSparkContext jsc, AssocJob.Options o, List<String> traits) {
    Configuration conf = jsc.hadoopConfiguration();
    PartitionedGenotypes genotypes = PartitionedGenotypes.of(AssocJob.checkInputs(o, conf), o.selection(), conf);
    Map<String, AssocJob.Result> results = new LinkedHashMap<>();
    Map<String, String> errors = new LinkedHashMap<>();
    List<String> notes = new ArrayList<>();
    checkTraits(o.trait(), traits, genotypes, conf);
    String grm = o.grm();
    for (String trait : traits) {
      String out = MultiTraitRemlJob.prefix(o.out(), trait);
      try {
        AssocJob.Options mine = o.forTrait(o.trait().withPhenoName(trait), grm, out);
        if (grm == null && AssocJob.route(mine, genotypes, conf, jsc.defaultParallelism()).route()
            != SolverRoute.Route.MATRIX_FREE) {
          // The first trait on the spectral route computes the GRM that every other one reads.
          grm = o.out();
          GrmJob.Result g = GrmJob.run(jsc, new GrmJob.Options(o.genotypes(), grm, o.maf(), o.selection(), o.loco(),
              4096, 1L << 30, 0, o.kernel()));
          notes.add(String.format(Locale.ROOT, "GRM (--kernel %s) computed once for all traits from %s: %s; written to "
              + "%s%s (%.1f s)", o.kernel().option(), o.genotypes().label(), g.counts(), GctaGrmFiles.binPath(grm),
              o.loco() ? " with per-chromosome parts" : "", g.seconds()));
          mine = o.forTrait(o.trait().withPhenoName(trait), grm, out);
        }
        results.put(trait, AssocJob.run(jsc, mine));
      } catch (BadInputException e) {
        errors.put(trait, e.getMessage());
      }
    }
    List<TraitSummary.Row> rows = new ArrayList<>();
    for (String trait : traits) {
      AssocJob.Result r = results.get(trait);
      rows.add(r == null ? TraitSummary.Row.failed(trait, errors.get(trait)) : row(trait, r));
    }
    if (!errors.isEmpty()) {
      throw new BadInputException(errors.size() + " of " + traits.size() + " traits have no result: "
          + String.join("; ", errors.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList()));
    }
    try (AtomicOutputs outs = new AtomicOutputs(conf)) {
      MultiTraitRemlJob.write(outs, o.out() + ".summary.tsv", TraitSummary.tsv(rows));
      outs.commit();
    }
    return new Result(results, rows, notes);
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
    List<GenotypeRemlInputs.Assembled> ins = new ArrayList<>();
    for (String trait : traits) {
      try {
        ins.add(MatrixFreeRemlJob.assemble(spec.withPhenoName(trait), genotypes, conf));
      } catch (BadInputException e) {
        errors.put(trait, e.getMessage());
      }
    }
    MultiTraitRemlJob.refuseBeforeFitting(errors, traits.size());
    return ins;
  }

  /**
   * The summary row of one trait: h² and SE of its whole-genome null fit (with {@code --loco} on the
   * spectral route, where each chromosome has its own, their mean and no SE), λGC and the top hit.
   */
  static TraitSummary.Row row(String trait, AssocJob.Result r) {
    List<AssocJob.NullFit> fits = r.nullFits();
    double h2;
    double se;
    if (fits.size() == 1) {
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
