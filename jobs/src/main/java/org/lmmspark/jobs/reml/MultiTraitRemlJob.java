package org.lmmspark.jobs.reml;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.engine.reml.SolverRoute;
import org.lmmspark.engine.reml.matfree.GenotypeRemlInputs;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.matfree.DistributedGenotypeProducts;
import org.lmmspark.jobs.matfree.MatrixFreeRemlJob;

/**
 * {@code lmmspark reml --pheno-name A,B,… | --all-pheno}: REML of several traits in one run, each on its
 * own analysed samples (those with a value of that trait and every covariate: no missing value is filled
 * in), each written as a run of its own would write it ({@code PREFIX.TRAIT.hsq}, {@code .json},
 * {@code .log}), plus {@code PREFIX.summary.tsv} ({@link TraitSummary}) and {@code PREFIX.log}.
 *
 * <p>What the traits share:
 * <ul>
 *   <li>From GRM files ({@link #run}): the matrices are read and subset once; on the spectral route the
 *       traits are taken grouped by analysed sample set, and each set's K is reduced to band form once
 *       ({@code 4n³/3} flops) and every trait of the set fitted in it (O(n) per likelihood evaluation):
 *       the fit of each trait is exactly that of its own run, whose first step is the same reduction.</li>
 *   <li>From genotypes ({@link #runOnGenotypes}): at or below {@code --matrix-free-above} analysed
 *       samples (the largest trait's), one GRM computed in memory and the above; above it, the genotypes
 *       cached once on the executors and every trait's matrix-free REML run in lock-step over the same
 *       passes ({@link MatrixFreeRemlJob#fitTogether}): each pass carries the columns of the traits not yet
 *       converged, each trait's operator K restricted to its samples by masking the pass. A pass costs the
 *       decode of every genotype and one Spark job whatever the number of columns, plus {@code 4NM} flops per
 *       column; so T traits cost about as many passes as the slowest one alone (per group of at most
 *       {@link MatrixFreeRemlJob#traitsPerGroup} traits, what the driver's heap holds; the groups one after the
 *       other over the same cache). The probes and y are Lanczos
 *       runs kept for the whole fit (traces, log|V|, yᵀPy, the score and the AI matrix at every θ by quadrature)
 *       instead of CG solves of y, the AI columns and R probes at every θ
 *       ({@link org.lmmspark.engine.reml.matfree.StochasticReml#fitTogether}), and the probes' runs are
 *       shared: 1.5R runs on K over the union of the traits' samples, and per trait only {@code ⌈Rφ⌉} (at least
 *       6) of the same probes on its own K (φ the fraction of the union it does not analyse), the shared runs
 *       serving as control variates ({@link org.lmmspark.engine.reml.matfree.SharedProbeRuns}). Each trait's
 *       h² is then within its Monte Carlo error (reported in its {@code .log} and {@code .json}) of its run
 *       alone, not equal to it (also a trait whose samples are the union: its own runs are on its K with the
 *       covariates projected out, the shared ones on K over the union).</li>
 * </ul>
 * Every trait's inputs are checked before any is fitted (its column, its analysed samples against the
 * fixed effects, a constant trait): a trait that fails them stops the run at once, naming it and why. A
 * trait whose fit fails (no convergence without {@code --allow-nonconvergence}) does not stop the others;
 * the run then fails (exit 2) naming each such trait and why, after all were tried, and as any failed run
 * publishes nothing.
 */
public final class MultiTraitRemlJob {
  private MultiTraitRemlJob() {}

  /** Per trait: its result, or why it has none. */
  public record TraitResult(String trait, RemlJob.Result result, String error) {}

  public record Result(List<TraitResult> traits, List<TraitSummary.Row> summary, List<String> logLines) {}

  /** Files per trait, after {@code PREFIX.TRAIT}. */
  public static final List<String> PER_TRAIT = List.of(".hsq", ".json", ".log");

  /** The output suffixes of a run over {@code traits}: {@code .TRAIT.hsq} … per trait, {@code .summary.tsv}, {@code .log}. */
  public static List<String> outputs(List<String> traits, List<String> perTrait) {
    List<String> out = new ArrayList<>();
    for (String t : traits) {
      for (String s : perTrait) {
        out.add("." + t + s);
      }
    }
    out.add(".summary.tsv");
    out.add(".log");
    return out;
  }

  /** The output prefix of one trait. */
  public static String prefix(String out, String trait) {
    return out + "." + trait;
  }

  /** REML of {@code traits} (columns of {@code o.trait()}'s phenotype table) over relationship matrices. */
  public static Result run(RemlJob.Options o, List<String> traits, Configuration conf) {
    return run(o, RemlJob.TraitScale.LINEAR, traits, conf);
  }

  /** As above with {@code --prevalence} or {@code --family} applied to every trait. */
  public static Result run(RemlJob.Options o, RemlJob.TraitScale scale, List<String> traits, Configuration conf) {
    long t0 = System.nanoTime();
    List<String> log = header(o, traits);
    RemlJob.Shared shared = RemlJob.load(o, conf);
    log.addAll(shared.log);
    Map<String, String> errors = new LinkedHashMap<>();
    // The traits grouped by analysed sample set, so that each set's K is reduced once.
    Map<List<SampleId>, List<String>> bySamples = new LinkedHashMap<>();
    for (String trait : traits) {
      try {
        List<SampleId> samples = RemlJob.analysedSamples(forTrait(o, trait), shared.rels, conf, shared);
        bySamples.computeIfAbsent(samples, s -> new ArrayList<>()).add(trait);
      } catch (BadInputException e) {
        errors.put(trait, e.getMessage());
      }
    }
    refuseBeforeFitting(errors, traits.size());
    log.add(String.format(Locale.ROOT, "%d traits, %d distinct analysed sample sets", traits.size(), bySamples.size()));
    Map<String, RemlJob.Result> results = new LinkedHashMap<>();
    for (List<String> group : bySamples.values()) {
      for (String trait : group) {
        try {
          results.put(trait, RemlJob.run(forTrait(o, trait), scale, conf, shared).withoutInputs());
        } catch (BadInputException e) {
          errors.put(trait, e.getMessage());
        }
      }
    }
    log.add("band reductions of K (spectral route): " + shared.reductions);
    return finish(o, traits, results, errors, log, t0, conf);
  }

  /**
   * REML of {@code traits} on genotypes: one GRM in memory and {@link #run}, or the lock-step
   * matrix-free fits over one genotype cache (see the class doc); the route as {@code reml} on
   * genotypes chooses it, by the largest trait's analysed samples.
   */
  public static Result runOnGenotypes(JavaSparkContext jsc, RemlJob.Options o, RemlJob.GenotypeInput g,
      RemlJob.TraitScale scale, List<String> traits) {
    long t0 = System.nanoTime();
    String solver = RemlJob.checkGenotypeOptions(o, g);
    Configuration conf = jsc.hadoopConfiguration();
    GenotypeSelection selection = new GenotypeSelection(o.samples(), g.variants());
    PartitionedGenotypes genotypes = PartitionedGenotypes.open(g.genotypes(), selection, conf);
    Map<String, String> errors = new LinkedHashMap<>();
    Map<String, GenotypeRemlInputs.Assembled> ins = MatrixFreeRemlJob.assembleEach(o.trait(), traits, genotypes, conf,
        errors);
    refuseBeforeFitting(errors, traits.size());
    GenotypeRemlInputs.Assembled largest = null;
    for (GenotypeRemlInputs.Assembled in : ins.values()) {
      if (largest == null || in.samples().size() > largest.samples().size()) {
        largest = in;
      }
    }
    // The route as for one trait, decided on the largest trait's samples (SolverRoute, the one place that decides).
    SolverRoute.Decision route = RemlJob.route(jsc, solver, genotypes, largest, g, scale);
    boolean matrixFree = route.route() == SolverRoute.Route.MATRIX_FREE;
    String why = route.why() + " (the largest trait's samples): " + (matrixFree ? "matrix-free REML of the traits in "
        + "lock-step" : "GRM computed in memory once, then each trait");
    if (!matrixFree) {
      return run(RemlJob.inMemoryGrm(jsc, o, g, selection, solver, why), scale, traits, conf);
    }
    RemlJob.refuseMatrixFreeGlmm(scale);
    List<String> log = header(o, traits);
    log.add(why);
    Map<String, RemlJob.Result> results = new LinkedHashMap<>();
    if (!ins.isEmpty()) {
      // In groups the driver's heap holds (MatrixFreeRemlJob.traitsPerGroup), one after the other over the cache; a
      // bad -Dlmmspark.lockstep.traits is refused here, before the genotypes are read.
      int perGroup = MatrixFreeRemlJob.traitsPerGroup(largest.samples().size(), MatrixFreeRemlJob.VECTORS_PER_TRAIT);
      DistributedGenotypeProducts products = DistributedGenotypeProducts.cache(jsc, genotypes, g.minMaf(),
          g.partitions(), g.kernel());
      try {
        double cacheSeconds = (System.nanoTime() - t0) / 1e9;
        List<String> names = new ArrayList<>(ins.keySet());
        log.add(MatrixFreeRemlJob.describeCache(products));
        for (int from = 0; from < names.size(); from += perGroup) {
          List<String> group = names.subList(from, Math.min(names.size(), from + perGroup));
          List<MatrixFreeRemlJob.Fitted> fitted = MatrixFreeRemlJob.fitTogether(jsc, products,
              group.stream().map(ins::get).toList(), group, RemlJob.stochasticOptions(o, g), true);
          MatrixFreeRemlJob.Fitted first = fitted.get(0);
          String together = MatrixFreeRemlJob.groupNote(from, names.size(), perGroup);
          log.add(String.format(Locale.ROOT, "REML of %d traits together%s: %d shared passes over the genotypes, %d "
              + "Spark jobs, %.1f s", group.size(), together, first.passes(), first.sparkJobs(), first.seconds()));
          for (int t = 0; t < group.size(); t++) {
            String trait = group.get(t);
            GenotypeRemlInputs.Assembled in = ins.get(trait);
            MatrixFreeRemlJob.Fitted f = fitted.get(t);
            List<String> notes = new ArrayList<>(genotypes.notes());
            notes.addAll(in.notes());
            notes.add(MatrixFreeRemlJob.describeCache(products));
            MatrixFreeRemlJob.Result r = new MatrixFreeRemlJob.Result(f.fit(), f.summary(), in.samples(),
                f.diagnostics(), products.counts(), products.counts().kept, products.cachedBytes(), products.partitions(),
                f.passes(), f.sparkJobs(), cacheSeconds, f.seconds(), notes);
            try {
              results.put(trait, RemlJob.writeMatrixFree(forTrait(o, trait), g, scale, in, r,
                  why + "; fitted together with " + (group.size() - 1) + " other trait(s), passes shared" + together, t0,
                  conf).withoutInputs());
            } catch (BadInputException e) {
              errors.put(trait, e.getMessage());
            }
          }
        }
      } finally {
        products.close();
      }
    }
    return finish(o, traits, results, errors, log, t0, conf);
  }

  /**
   * Refuses the run, before any trait is fitted, when a trait cannot be analysed (its column missing, too
   * few samples with its value and every covariate, a constant trait, collinear covariates over its samples):
   * one message naming each such trait and why (the cause names the file).
   */
  public static void refuseBeforeFitting(Map<String, String> errors, int traits) {
    if (!errors.isEmpty()) {
      throw new BadInputException((errors.size() == 1 ? "trait " : errors.size() + " of " + traits + " traits ")
          + "cannot be analysed (nothing was fitted): " + String.join("; ",
          errors.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList()));
    }
  }

  private static RemlJob.Options forTrait(RemlJob.Options o, String trait) {
    return o.forTrait(o.trait().withPhenoName(trait), prefix(o.out(), trait));
  }

  private static List<String> header(RemlJob.Options o, List<String> traits) {
    List<String> log = new ArrayList<>();
    log.add("lmmspark reml (" + traits.size() + " traits)");
    log.add("command: " + o.commandLine());
    log.add("versions: lmmspark " + RemlJob.version() + ", Java " + System.getProperty("java.version") + ", "
        + Blas.describe());
    log.add("traits: " + String.join(", ", traits));
    return log;
  }

  /** The summary table and the run's log; the run fails naming every trait without a result. */
  private static Result finish(RemlJob.Options o, List<String> traits, Map<String, RemlJob.Result> results,
      Map<String, String> errors, List<String> log, long t0, Configuration conf) {
    List<TraitResult> per = new ArrayList<>();
    List<TraitSummary.Row> rows = new ArrayList<>();
    for (String trait : traits) {
      RemlJob.Result r = results.get(trait);
      per.add(new TraitResult(trait, r, errors.get(trait)));
      if (r != null && r.fit() == null) {
        // A GLMM (--family): its variances are on the link scale; the latent-scale shares are in its .hsq.
        rows.add(new TraitSummary.Row(trait, r.glmm().n(), Double.NaN, Double.NaN, Double.NaN, null, Double.NaN,
            r.glmm().converged(), "glmm-" + r.glmm().method(), null));
        log.add(trait + ": GLMM " + r.glmm().message() + " (see " + prefix(o.out(), trait) + ".hsq)");
      } else if (r != null) {
        rows.add(TraitSummary.Row.ofFit(trait, r.fit(), r.summary()));
        log.add(String.format(Locale.ROOT, "%s: n = %d, h2 = %.4f (SE %.4f), %s; %s", trait, r.summary().n(),
            rows.get(rows.size() - 1).h2(), rows.get(rows.size() - 1).h2Se(), r.fit().solver(), r.fit().message()));
      } else {
        rows.add(TraitSummary.Row.failed(trait, errors.get(trait)));
        log.add(trait + ": no result: " + errors.get(trait));
      }
    }
    log.add(String.format(Locale.ROOT, "total time %.3f s", (System.nanoTime() - t0) / 1e9));
    if (!errors.isEmpty()) {
      throw new BadInputException(errors.size() + " of " + traits.size() + " traits have no result: "
          + String.join("; ", errors.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList())
          + " (each trait's log: " + o.out() + ".TRAIT.log)");
    }
    try (AtomicOutputs outs = new AtomicOutputs(conf)) {
      write(outs, o.out() + ".summary.tsv", TraitSummary.tsv(rows));
      write(outs, o.out() + ".log", String.join("\n", log) + "\n");
      outs.commit();
    }
    return new Result(per, rows, log);
  }

  public static void write(AtomicOutputs outs, String path, String text) {
    try (OutputStream os = outs.create(path)) {
      os.write(text.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("writing " + path, e);
    }
  }
}
