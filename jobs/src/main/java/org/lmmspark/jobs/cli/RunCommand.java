package org.lmmspark.jobs.cli;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.Callable;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.OutputSet;
import org.lmmspark.jobs.assoc.AssocJob;
import org.lmmspark.jobs.pipeline.Pipeline;
import org.lmmspark.jobs.pipeline.PipelineConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lmmspark run --config FILE}: the whole pipeline as one batch job. */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = {
      "Runs the pipeline GRM -> REML -> association (LOCO) -> report from a configuration file, in one Spark session.",
      "The configuration is a properties file (key = value; see conf/example.conf): bfile (or bgen and sample, or"
          + " vcf), pheno, pheno-name, covar,"
          + " qcovar, out (a folder), maf, loco, solver, pcs, kernel (the GRM definition, as --kernel: gcta,"
          + " standardized, centered), test (the association statistic, as assoc --test), and the options every"
          + " command shares, as keys without"
          + " dashes: keep, remove, extract, exclude (e.g. 'extract = range regions.txt'; several files space"
          + " separated), chr, exclude-chr, from-bp, to-bp, allow-negative-bp, mpheno, pheno-col, covar-names,"
          + " qcovar-names, iid-only, pheno-id-col (see 'grm --help' and 'reml --help'). Relative paths are relative to the"
          + " configuration file.",
      "pcs = K (default 0: none): a first step computes the top K principal components once (as 'pca --help':"
          + " exact up to 5000 samples, randomized above; pca.eigenvec, pca.eigenval) and the REML and association"
          + " steps take pca.qcovar, the qcovar table with PC1..PCK appended, as their quantitative covariates.",
      "solver = auto|spectral|matrix-free (default auto): spectral = the three steps above with a GRM;"
          + " matrix-free = no GRM at any size: one assoc step fits REML from the genotypes, the LOCO residuals and"
          + " the calibrated test on one cache of them (see 'assoc --help'); auto = the cheaper by the cost model of"
          + " 'assoc --help' (N, M, LOCO, covariates, driver cores and heap), the reason in run.log.",
      "Outputs in the folder: grm.* (GCTA GRM, per-chromosome parts with loco) and reml.hsq/.json (spectral), or"
          + " assoc.hsq (matrix-free REML, GCTA layout); assoc.assoc.tsv.gz (GWAS-SSF), assoc.assoc.parquet,"
          + " assoc.report.md, assoc.manhattan.png, assoc.qq.png, run.log.",
      "An existing, non-empty output folder is refused unless --resume (skip steps whose inputs are unchanged) or"
          + " --overwrite (run every step again)."})
public final class RunCommand implements Callable<Integer> {
  @Option(names = "--config", required = true, paramLabel = "FILE", description = "Pipeline configuration (e.g. conf/example.conf).")
  Path config;

  @Option(names = "--resume", description = "Skip finished steps whose inputs and options are unchanged.")
  boolean resume;

  @Option(names = "--overwrite", description = "Run every step again into an existing output folder.")
  boolean overwrite;

  @Option(names = "--out", paramLabel = "DIR", description = "Output folder (overrides the configuration's 'out').")
  String outOverride;

  @Mixin SparkOptions sparkOptions;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    if (resume && overwrite) {
      throw new BadInputException("--resume and --overwrite cannot be used together");
    }
    PipelineConfig c = PipelineConfig.read(config)
        .withOutOverride(outOverride == null ? null : Paths.get(outOverride).toAbsolutePath().toString());
    run(c, resume, overwrite, sparkOptions.master, new RunLog(spec));
    return 0;
  }

  /** Runs the pipeline in a session of its own ({@link SparkRun}) and prints its summary; shared with {@code demo}. */
  static Pipeline.Result run(PipelineConfig c, boolean resume, boolean overwrite, String master, RunLog runLog) {
    org.apache.hadoop.conf.Configuration conf = new org.apache.hadoop.conf.Configuration();
    // The whole run's set (run.log): its lock, taken before any work, keeps a second run out of the folder.
    try (OutputSet runSet = OutputSet.open(Paths.get(c.out(), Pipeline.RUN_PREFIX).toString(), List.of(".log"), true,
        List.of(), conf)) {
      Pipeline.Result r = runInSession(c, resume, overwrite, master, runLog);
      runSet.commit();
      return r;
    }
  }

  private static Pipeline.Result runInSession(PipelineConfig c, boolean resume, boolean overwrite, String master,
      RunLog runLog) {
    return SparkRun.run("run", master, runLog, Pipeline.class, Paths.get(c.out(), "run.log").toString(), (jsc, stages) -> {
      runLog.say("lmmspark pipeline: " + c.genotypes().label() + " -> " + c.out() + " (Spark " + jsc.version() + ", master "
          + jsc.master() + ", " + org.lmmspark.engine.linalg.Blas.describe() + ")");
      Pipeline.Result r = Pipeline.run(jsc, c, resume, overwrite, runLog);
      runLog.say(String.format("pipeline finished in %.1f s; outputs in %s (summary: run.log, assoc.report.md)",
          r.seconds(), c.out()));
      return r;
    });
  }
}
