package org.lmmspark.jobs.cli;

import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.ChromosomeSelection;
import org.lmmspark.engine.reml.VarianceSummary;
import org.lmmspark.engine.reml.matfree.StochasticReml;
import org.lmmspark.jobs.matfree.MatrixFreeRemlJob;
import org.lmmspark.jobs.spark.SparkSessions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lmmspark reml-mf}: GRM-free REML from PLINK genotypes by {@link MatrixFreeRemlJob}, for trying
 * the matrix-free solver by hand and for the benchmark; {@code reml --bfile … --solver matrix-free}
 * is meant to replace it.
 */
@Command(name = "reml-mf", mixinStandardHelpOptions = true,
    description = {
      "Heritability by matrix-free REML straight from PLINK genotypes (no GRM file): y = Xb + g + e,"
          + " g ~ N(0, s2g K), K = ZZ'/M with z = (x - 2p)/sqrt(2p(1-p)), missing calls mean-imputed.",
      "Genotypes are read once and cached on the executors at 2 bits per call; V^-1 is applied by batched"
          + " conjugate gradients (one Spark pass per iteration for all right-hand sides), traces by"
          + " Hutchinson estimates over fixed seeded Rademacher probes, AI-REML updates on the driver (BOLT-REML style).",
      "Prints the GCTA-style summary (V(G), V(e), Vp, V(G)/Vp with SEs from the AI matrix, logL with log|V| by"
          + " Lanczos quadrature) and writes it with run diagnostics to PREFIX.log."})
public final class RemlMfCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--bfile", required = true, paramLabel = "PREFIX", description = "PLINK 1 binary fileset.")
  String bfile;

  @Option(names = "--pheno", required = true, paramLabel = "FILE", description = "Phenotype table: FID IID trait(s), header line.")
  String pheno;

  @Option(names = "--pheno-name", paramLabel = "NAME", description = "Trait column (default: the first).")
  String phenoName;

  @Option(names = "--covar", paramLabel = "FILE", description = "Categorical covariates (FID IID columns...).")
  String covar;

  @Option(names = "--qcovar", paramLabel = "FILE", description = "Quantitative covariates (FID IID columns...).")
  String qcovar;

  @Option(names = "--out", required = true, paramLabel = "PREFIX", description = "Output prefix (PREFIX.log).")
  String out;

  @Option(names = "--maf", defaultValue = "0", paramLabel = "X", description = "Skip variants with MAF below X (default: ${DEFAULT-VALUE}).")
  double maf;

  @Option(names = "--chr", paramLabel = "LIST", description = "Use only these chromosomes.")
  String chr;

  @Option(names = "--exclude-chr", paramLabel = "LIST", description = "Use every chromosome but these.")
  String excludeChr;

  @Option(names = "--probes", defaultValue = "40", paramLabel = "R", description = "Rademacher probe vectors for the traces (default: ${DEFAULT-VALUE}).")
  int probes;

  @Option(names = "--seed", defaultValue = "20250601", paramLabel = "S", description = "Seed of the probes (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--cg-tol", defaultValue = "1e-6", paramLabel = "T", description = "CG relative residual tolerance (default: ${DEFAULT-VALUE}).")
  double cgTol;

  @Option(names = "--partitions", defaultValue = "0", paramLabel = "K", description = "Variant ranges cached (default 0: two per core).")
  int partitions;

  @Mixin SparkOptions sparkOptions;

  @Override
  public Integer call() {
    if (maf < 0 || maf >= 0.5) {
      throw new BadInputException("--maf must be in [0, 0.5), got " + maf);
    }
    if (probes < 2) {
      throw new BadInputException("--probes must be at least 2, got " + probes);
    }
    if (!(cgTol > 0 && cgTol < 1)) {
      throw new BadInputException("--cg-tol must be in (0, 1), got " + cgTol);
    }
    RunLog log = new RunLog("reml-mf", spec.commandLine().getParseResult().originalArgs().toArray(new String[0]));
    StochasticReml.Options d = StochasticReml.Options.defaults();
    StochasticReml.Options ro = new StochasticReml.Options(probes, seed, cgTol, d.maxCgIterations(), d.maxIterations(),
        d.tolerance(), d.emSteps(), d.jacobi(), d.logLikelihood());
    SparkSession spark = SparkSessions.getOrCreate("lmmspark reml-mf", sparkOptions.master);
    try {
      JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      MatrixFreeRemlJob.Result r = MatrixFreeRemlJob.run(jsc, new MatrixFreeRemlJob.Options(bfile, pheno, phenoName, covar,
          qcovar, maf, ChromosomeSelection.of(chr, excludeChr), ro, partitions));
      r.notes().forEach(log::note);
      VarianceSummary s = r.summary();
      log.say("Source\tVariance\tSE");
      for (VarianceSummary.Row row : s.variances()) {
        log.say(String.format(Locale.ROOT, "%s\t%.6f\t%.6f", row.source(), row.value(), row.se()));
      }
      for (VarianceSummary.Row row : s.ratios()) {
        log.say(String.format(Locale.ROOT, "%s\t%.6f\t%.6f", row.source(), row.value(), row.se()));
      }
      log.say(String.format(Locale.ROOT, "logL\t%.3f", s.logL()));
      log.say(String.format(Locale.ROOT, "logL0\t%.3f", s.logL0()));
      log.say(String.format(Locale.ROOT, "LRT\t%.3f", s.lrt()));
      log.say(String.format(Locale.ROOT, "Pval\t%.4g", s.p()));
      log.say("n\t" + s.n());
      log.say(String.format(Locale.ROOT, "Monte Carlo SE of V(G) from %d probes: %.4g (the log|V| estimate: %.3g)",
          r.diagnostics().probes(), r.diagnostics().monteCarloSe(0), r.diagnostics().logDetVMonteCarloSe()));
      log.say(r.fit().message());
      log.say(String.format(Locale.ROOT, "M = %d variants; genotypes cached in %.1f s (%d MiB packed, %d partitions);"
          + " REML %.1f s: %d passes over the genotypes, %d Spark jobs, %d REML iterations; driver heap used %d MiB",
          r.variantsUsed(), r.cacheSeconds(), r.cachedBytes() >> 20, r.partitions(), r.remlSeconds(), r.passes(),
          r.sparkJobs(), r.fit().iterations(),
          (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) >> 20));
      log.write(out + ".log", jsc.hadoopConfiguration());
      return r.fit().converged() ? 0 : 1;
    } finally {
      spark.stop();
    }
  }
}
