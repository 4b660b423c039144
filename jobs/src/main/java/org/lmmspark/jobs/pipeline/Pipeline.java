package org.lmmspark.jobs.pipeline;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.io.OutputSet;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.pca.BlockKrylovPca;
import org.lmmspark.engine.pheno.SampleTable;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.engine.select.SampleSelection;
import org.lmmspark.jobs.assoc.AssocJob;
import org.lmmspark.jobs.assoc.AssocOutputs;
import org.lmmspark.jobs.cli.AssocCommand;
import org.lmmspark.jobs.cli.RunLog;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.grm.GrmJob;
import org.lmmspark.jobs.pca.PcaJob;
import org.lmmspark.jobs.assoc.MultiTraitAssocJob;
import org.lmmspark.jobs.reml.MultiTraitRemlJob;
import org.lmmspark.jobs.reml.RemlJob;
import org.lmmspark.engine.reml.SolverRoute;

/**
 * The main batch job: [PCA →] GRM → REML → association → report, each step one of the project's jobs,
 * in one Spark session. With {@code pcs = K} a first step {@code pca} ({@link PcaJob}, exact up to
 * {@link org.lmmspark.engine.pca.ExactPca#DEFAULT_MAX_SAMPLES} samples, randomized above, over the selected
 * samples and variants) writes {@code OUT/pca.eigenvec}, {@code OUT/pca.eigenval} and {@code OUT/pca.qcovar}:
 * the quantitative covariates of the run ({@code qcovar}, if any) with PC1…PCK appended (NA for samples
 * without a row there), which the REML and association steps then take as their quantitative covariates. With the matrix-free solver ({@code solver = matrix-free}, or {@code auto} when
 * {@link SolverRoute}'s cost model finds it cheaper, the same decision as {@code assoc}'s) there is no GRM: a single {@code assoc}
 * step fits REML, the LOCO residuals and the test on one cache of the genotypes and writes the REML fit
 * as {@code OUT/assoc.hsq}. Otherwise:
 *
 * <ul>
 *   <li>{@code grm}: {@link GrmJob} with per-chromosome parts when {@code loco} ({@code OUT/grm.*});
 *   <li>{@code reml}: {@link RemlJob}, heritability of the trait with that GRM ({@code OUT/reml.hsq});
 *   <li>{@code assoc}: {@link AssocJob} against the same GRM, LOCO from its parts, with the report and
 *       plots ({@code OUT/assoc.*}).
 * </ul>
 *
 * <p>Every output is written under a temporary name and renamed when complete, so a failure leaves no
 * half-written file. After a step succeeds its stamp ({@code OUT/.steps/STEP.stamp}) records what it
 * was computed from: its options, the size and modification time of each input file, and the stamps
 * of the steps it used. A second run into the same folder is refused unless {@code resume} (skip steps
 * whose stamp still matches and whose outputs exist; redo the rest) or {@code overwrite} (redo all).
 */
public final class Pipeline {
  /** One step's outcome, for the summary. */
  public record Step(String name, boolean skipped, double seconds, String summary) {}

  public record Result(List<Step> steps, double seconds) {}

  private final JavaSparkContext jsc;
  private final PipelineConfig c;
  private final RunLog log;
  private final Configuration conf;
  private final Path out;
  private final boolean resume;
  /** The samples and variants of every step, read from the lists once the run starts. */
  private GenotypeSelection selection;
  /** The trait and covariate tables the REML and association steps use: the configuration's, or with PCs. */
  private TraitTables.Spec trait;
  /** Several traits (pheno-name = A,B,… or all-pheno): their names; empty for one trait. */
  private List<String> traitNames = List.of();

  private Pipeline(JavaSparkContext jsc, PipelineConfig c, boolean resume, RunLog log) {
    this.jsc = jsc;
    this.c = c;
    this.log = log;
    this.conf = jsc.hadoopConfiguration();
    conf.setBoolean(PlinkFileset.ALLOW_EXTRA_CHR, c.allowExtraChr());
    this.out = Paths.get(c.out()).toAbsolutePath();
    this.resume = resume;
  }

  public static Result run(JavaSparkContext jsc, PipelineConfig c, boolean resume, boolean overwrite, RunLog log) {
    Pipeline p = new Pipeline(jsc, c, resume, log);
    p.prepareFolder(overwrite);
    return p.runSteps();
  }

  private void prepareFolder(boolean overwrite) {
    if (Files.isDirectory(out) && !resume && !overwrite && !isEmpty(out)) {
      throw new BadInputException(out + ": output folder exists and is not empty; use --resume to skip finished "
          + "steps whose inputs are unchanged, or --overwrite to run every step again");
    }
    try {
      if (overwrite && Files.isDirectory(out.resolve(".steps"))) {
        try (Stream<Path> stamps = Files.list(out.resolve(".steps"))) {
          for (Path s : (Iterable<Path>) stamps::iterator) {
            Files.delete(s);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Result runSteps() {
    long start = System.nanoTime();
    // Bad inputs (files, trait column, covariate tables, selection lists) fail here, before any step runs.
    selection = c.selection().read(conf);
    AssocJob.Options check = assocOptions(null, null, c.solver());
    GenotypeSource source = AssocJob.checkInputs(check, conf);
    PartitionedGenotypes genotypes = PartitionedGenotypes.of(source, selection, conf);
    genotypes.notes().forEach(log::say);
    trait = c.trait();
    if (c.traits().many()) {
      traitNames = c.traits().resolve(conf);
      MultiTraitAssocJob.checkTraits(c.trait(), traitNames, genotypes, conf); // before any step runs
      log.say(traitNames.size() + " traits, each on its own samples: " + String.join(", ", traitNames)
          + "; outputs per trait (reml.TRAIT.*, assoc.TRAIT.*) and assoc.summary.tsv");
    }
    List<Step> steps = new ArrayList<>();
    String pcaStamp = "";
    if (c.pcs() > 0) {
      // The PCs depend on the genotypes and the selection; their table also on the covariates it extends.
      String[] qcovarInput = c.trait().qcovar() == null ? new String[0] : new String[] {c.trait().qcovar()};
      pcaStamp = fingerprint("pca", "pcs=" + c.pcs() + " maf=" + c.maf() + "\n" + c.selection().describe(),
          concat(qcovarInput, genotypeFiles()));
      steps.add(pcaStep(pcaStamp));
    }
    SolverRoute.Decision route = AssocJob.route(check, genotypes, conf, jsc.defaultParallelism());
    log.say(route.why());
    steps.addAll(route.route() == SolverRoute.Route.MATRIX_FREE ? matrixFreeSteps(pcaStamp) : grmSteps(pcaStamp));
    genotypes.fileset().warnings().forEach(log::note);
    return new Result(steps, (System.nanoTime() - start) / 1e9);
  }

  /**
   * No GRM at any size: one step, {@link AssocJob}'s matrix-free route, fits REML, the LOCO residuals and
   * the test on one cache of the genotypes and writes the REML fit as {@code OUT/assoc.hsq}.
   */
  private List<Step> matrixFreeSteps(String pcaStamp) {
    log.say(String.format("[grm] [reml] not run: solver %s takes the matrix-free route (no GRM; REML inside the "
        + "assoc step, written as assoc.hsq)", c.solver().name().toLowerCase().replace('_', '-')));
    String assocPrefix = out.resolve("assoc").toString();
    String stamp = fingerprint("assoc", c.trait().describe() + traitsStamp() + " maf=" + c.maf() + " loco=" + c.loco()
        + " solver=matrix-free kernel=" + c.kernel().option() + " test=" + c.test() + "\n" + c.selection().describe()
        + "\n" + pcaStamp, concat(tables(), genotypeFiles()));
    if (!traitNames.isEmpty()) {
      return List.of(step("assoc", stamp, List.of(assocPrefix + ".summary.tsv"),
          () -> manyTraitsAssoc(null, assocPrefix, AssocJob.Solver.MATRIX_FREE)));
    }
    return List.of(step("assoc", stamp, List.of(AssocOutputs.tsvPath(assocPrefix), AssocOutputs.reportPath(assocPrefix),
        AssocOutputs.hsqPath(assocPrefix)), () -> {
          AssocJob.Result r = AssocJob.run(jsc, assocOptions(null, assocPrefix, AssocJob.Solver.MATRIX_FREE));
          AssocJob.NullFit whole = r.nullFits().get(0);
          return String.format("h2 = %.4f (SE %.4f) by matrix-free REML, n = %d; %s", whole.h2(), whole.h2Se(),
              r.samples(), summary(r, assocPrefix));
        }));
  }

  /** GRM → REML → association against that GRM (the spectral solver). */
  private List<Step> grmSteps(String pcaStamp) {
    List<Step> steps = new ArrayList<>();
    String grmPrefix = out.resolve("grm").toString();
    String grmStamp = fingerprint("grm", "maf=" + c.maf() + " per-chromosome=" + c.loco() + " kernel="
        + c.kernel().option() + "\n"
        + c.selection().describe(), genotypeFiles());
    steps.add(step("grm", grmStamp, List.of(grmPrefix + ".grm.bin"), () -> {
      GrmJob.Result r = GrmJob.run(jsc, new GrmJob.Options(c.genotypes(), grmPrefix, c.maf(), selection, c.loco(), 4096,
          1L << 30, 0, c.kernel()));
      return String.format("N = %d, M = %d used; mean diagonal %.4f, off-diagonal mean %.2g SD %.3g",
          r.samples(), r.variantsUsed(), r.meanDiagonal(), r.meanOffDiagonal(), r.sdOffDiagonal());
    }));

    String phenoInputs = c.trait().describe() + traitsStamp() + "\n" + pcaStamp;
    String[] tables = tables();
    String remlPrefix = out.resolve("reml").toString();
    String remlStamp = fingerprint("reml", phenoInputs + "\n" + grmStamp, tables);
    steps.add(step("reml", remlStamp, List.of(remlPrefix + (traitNames.isEmpty() ? ".hsq" : ".summary.tsv")), () -> {
      // The GRM holds the kept samples only: no second sample selection.
      RemlJob.Options ro = new RemlJob.Options(List.of(grmPrefix), false, List.of(), List.of(), trait,
          SampleSelection.all(), false, "auto", false, 100, remlPrefix, "lmmspark run --config " + c.source(), false,
          false, List.of());
      if (!traitNames.isEmpty()) {
        MultiTraitRemlJob.Result m = MultiTraitRemlJob.run(ro, traitNames, conf);
        return traitNames.size() + " traits: " + m.summary().stream().map(row -> String.format("%s h2 = %.4f (SE %.4f, "
            + "n = %d)", row.trait(), row.h2(), row.h2Se(), row.n())).collect(java.util.stream.Collectors.joining("; "))
            + "; " + remlPrefix + ".summary.tsv";
      }
      RemlJob.Result r = RemlJob.run(ro, conf);
      var h2 = r.summary().ratios().get(0);
      return String.format("%s = %.4f (SE %.4f), n = %d, LRT p = %.3g", h2.source(), h2.value(), h2.se(),
          r.summary().n(), r.summary().p());
    }));

    String assocPrefix = out.resolve("assoc").toString();
    String assocStamp = fingerprint("assoc", phenoInputs + " maf=" + c.maf() + " loco=" + c.loco() + " test=" + c.test()
        + "\n" + grmStamp,
        concat(tables, genotypeFiles()));
    if (!traitNames.isEmpty()) {
      steps.add(step("assoc", assocStamp, List.of(assocPrefix + ".summary.tsv"),
          () -> manyTraitsAssoc(grmPrefix, assocPrefix, AssocJob.Solver.SPECTRAL)));
      return steps;
    }
    steps.add(step("assoc", assocStamp, List.of(assocPrefix + ".assoc.tsv.gz", assocPrefix + ".report.md"), () -> {
      return summary(AssocJob.run(jsc, assocOptions(grmPrefix, assocPrefix, AssocJob.Solver.SPECTRAL)), assocPrefix);
    }));
    return steps;
  }

  /** The traits named in a step's fingerprint (empty for one trait). */
  private String traitsStamp() {
    return traitNames.isEmpty() ? "" : " traits=" + traitNames;
  }

  /** The association step of several traits ({@link MultiTraitAssocJob}): per-trait tables and the summary table. */
  private String manyTraitsAssoc(String grmPrefix, String assocPrefix, AssocJob.Solver solver) {
    MultiTraitAssocJob.Result m = MultiTraitAssocJob.run(jsc, assocOptions(grmPrefix, assocPrefix, solver), traitNames);
    m.notes().forEach(log::note);
    return traitNames.size() + " traits: " + m.summary().stream().map(row -> String.format("%s lambda_GC = %.3f, top hit "
        + "%s", row.trait(), row.lambdaGc(), row.topVariant())).collect(java.util.stream.Collectors.joining("; "))
        + "; summary " + assocPrefix + ".summary.tsv";
  }

  private static String summary(AssocJob.Result r, String assocPrefix) {
    int[] top = r.table().top(1);
    String best = top.length == 0 ? "none" : String.format("%s (chr%s:%d, p = 10^-%.1f)",
        r.table().variant(top[0]).id(), r.table().variant(top[0]).chromosome(), r.table().variant(top[0]).bp(),
        r.table().negLog10P(top[0]));
    return String.format("%d variants tested in %d Spark tasks, lambda_GC = %.3f, top hit %s; report %s",
        r.table().size(), r.tasks(), r.lambdaGc(), best, AssocOutputs.reportPath(assocPrefix));
  }

  /**
   * The principal components, computed once (the exact or randomized route by the number of samples), and
   * the quantitative covariates with them appended; later steps take {@code OUT/pca.qcovar}.
   */
  private Step pcaStep(String stamp) {
    String prefix = out.resolve("pca").toString();
    String table = prefix + ".qcovar";
    Step s = step("pca", stamp, List.of(prefix + ".eigenvec", prefix + ".eigenval", table), () -> {
      PcaJob.Result r = PcaJob.run(jsc, new PcaJob.Options(c.genotypes(), prefix, c.pcs(), PcaJob.Route.AUTO, c.maf(),
          selection, false, BlockKrylovPca.Options.defaults(1), 0));
      writeCovariatesWithPcs(table, r);
      StringBuilder values = new StringBuilder();
      for (double v : r.pcs().values()) {
        values.append(values.length() == 0 ? "" : " ").append(String.format("%.4g", v));
      }
      return String.format("%d PCs of %d samples (%s), eigenvalues %s; quantitative covariates with PCs: %s",
          r.pcs().k(), r.pcs().n(), r.exact() ? "exact" : r.pcs().passes() + " randomized passes", values, table);
    });
    TraitTables.Spec t = c.trait();
    List<String> names = new ArrayList<>(t.qcovarNames());
    if (!names.isEmpty()) {
      for (int k = 1; k <= c.pcs(); k++) {
        names.add("PC" + k);
      }
    }
    trait = new TraitTables.Spec(t.pheno(), t.phenoName(), t.mpheno(), t.phenoCol(), t.covar(), t.covarNames(), table,
        names, t.iidOnly(), t.idColumn());
    return s;
  }

  /** The configuration's quantitative covariates (if any) with PC1…PCK appended, one line per PCA sample. */
  private void writeCovariatesWithPcs(String path, PcaJob.Result r) {
    SampleTable user = c.trait().qcovar() == null ? null : SampleTable.read(c.trait().qcovar(), conf);
    List<String> columns = new ArrayList<>(user == null ? List.of() : user.columns());
    for (int k = 1; k <= r.pcs().k(); k++) {
      if (columns.contains("PC" + k)) {
        throw BadInputException.inFile(c.trait().qcovar(), "has a column PC" + k + ", the name of a principal "
            + "component of pcs = " + c.pcs() + "; rename it");
      }
      columns.add("PC" + k);
    }
    try (AtomicOutputs files = new AtomicOutputs(conf)) {
      try (Writer w = new java.io.BufferedWriter(new OutputStreamWriter(files.create(path), StandardCharsets.UTF_8))) {
        w.write("FID\tIID\t" + String.join("\t", columns) + "\n");
        for (int i = 0; i < r.samples().size(); i++) {
          var id = r.samples().get(i);
          StringBuilder line = new StringBuilder(id.fid()).append('\t').append(id.iid());
          if (user != null) {
            int row = user.rowOf(id);
            for (int col = 0; col < user.columns().size(); col++) {
              line.append('\t').append(row < 0 ? "NA" : user.token(row, col));
            }
          }
          for (int k = 0; k < r.pcs().k(); k++) {
            line.append('\t').append(r.pcs().vector(i, k));
          }
          w.write(line.append('\n').toString());
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      files.commit();
    }
  }

  private String[] tables() {
    return c.trait().files(c.genotypes().fam()).toArray(String[]::new);
  }

  /** The genotype files and the selection lists: what the GRM and the genotype side of every step depend on. */
  private String[] genotypeFiles() {
    return Stream.concat(c.genotypes().files(conf).stream(), c.selection().files().stream()).toArray(String[]::new);
  }

  /**
   * Runs one step into its own {@link OutputSet} ({@code OUT/NAME.*}): skipped with {@code resume} when
   * its set is complete (marker present, no lock, files as the marker lists them), its outputs exist
   * and its stamp matches. The stamp is written only after the set is committed: a step that failed,
   * or was killed, is never taken for done.
   */
  private Step step(String name, String stamp, List<String> outputs, java.util.function.Supplier<String> body) {
    Path stampFile = out.resolve(".steps").resolve(name + ".stamp");
    String prefix = out.resolve(name).toString();
    if (resume && OutputSet.isComplete(prefix, conf) && outputs.stream().allMatch(f -> Files.exists(Paths.get(f)))
        && stamp.equals(read(stampFile))) {
      log.say(String.format("[%s] skipped: finished before with the same inputs (--resume)", name));
      return new Step(name, true, 0, "unchanged");
    }
    log.say(String.format("[%s] running ...", name));
    long t0 = System.nanoTime();
    String summary;
    deleteQuietly(stampFile);
    try (OutputSet set = OutputSet.open(prefix, List.of(), true, List.of(), conf)) {
      summary = body.get();
      set.commit();
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    write(stampFile, stamp);
    log.say(String.format("[%s] done in %.1f s: %s", name, seconds, summary));
    return new Step(name, false, seconds, summary);
  }

  private AssocJob.Options assocOptions(String grm, String outPrefix, AssocJob.Solver solver) {
    return new AssocJob.Options(c.genotypes(), trait == null ? c.trait() : trait, grm, outPrefix, c.loco(), c.maf(), false,
        AssocCommand.parseTest(c.test()), 0, AssocJob.DEFAULT_EIGENVECTORS, 0, 0, solver,
        SolverRoute.COST_MODEL, 0, selection, c.kernel(), AssocCommand.parseStatistic(c.test()));
  }

  /** What a step is computed from: its name and options, and each input file's length and modification time. */
  private String fingerprint(String step, String options, String... inputs) {
    StringBuilder sb = new StringBuilder("step=").append(step).append('\n').append(options).append('\n');
    for (String f : inputs) {
      try {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(f);
        var status = FileSystems.of(f, conf).getFileStatus(p);
        sb.append(f).append(' ').append(status.getLen()).append(' ').append(status.getModificationTime()).append('\n');
      } catch (java.io.FileNotFoundException e) {
        throw BadInputException.inFile(f, "file not found");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return sb.toString();
  }

  private static String[] concat(String[] a, String... b) {
    return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
  }

  private static String read(Path p) {
    try {
      return Files.exists(p) ? Files.readString(p) : null;
    } catch (IOException e) {
      return null;
    }
  }

  private void write(Path p, String text) {
    try (AtomicOutputs files = new AtomicOutputs(conf)) {
      try (Writer w = new OutputStreamWriter(files.create(p.toString()), StandardCharsets.UTF_8)) {
        w.write(text);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      files.commit();
    }
  }

  /**
   * Empty but for what a failed run leaves and the next cleans: an empty {@code .steps} folder, this
   * run's own lock ({@code run.lock}) and temporary files ({@code *.tmp-*}, {@code *.old-*}).
   */
  private static boolean isEmpty(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.allMatch(p -> {
        String n = p.getFileName().toString();
        return n.equals(RUN_PREFIX + OutputSet.LOCK_SUFFIX) || n.contains(".tmp-") || n.contains(".old-")
            || (n.equals(".steps") && isEmptyFolder(p));
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static boolean isEmptyFolder(Path p) {
    try (Stream<Path> s = Files.list(p)) {
      return s.findAny().isEmpty();
    } catch (IOException e) {
      return false;
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // A stale stamp that cannot be removed still never matches a step that has not committed.
    }
  }

  /** The name of the whole run's output set in the folder: its lock keeps a second run out, its log is run.log. */
  public static final String RUN_PREFIX = "run";
}
