package org.lmmspark.jobs.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.io.OutputSet;
import org.lmmspark.engine.pca.BlockKrylovPca;
import org.lmmspark.engine.pca.ExactPca;
import org.lmmspark.engine.pca.PrincipalComponents;
import org.lmmspark.jobs.pca.PcaJob;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lmmspark pca}: principal components of the genotypes (plink2 {@code --pca}), exact or
 * randomized, on Spark; see {@link PcaJob}.
 *
 * <pre>
 * lmmspark pca --bfile data/cohort --pcs 10 --out results/cohort
 * lmmspark pca --bfile data/ukb --pcs 20 --approx --pca-loadings --out results/ukb
 * lmmspark pca --vcf data/cohort.bcf --pcs 10 --out results/cohort
 * </pre>
 */
@Command(name = "pca", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
      "Top K principal components of the genotypes, as plink2 --pca: the leading eigenpairs of the"
          + " variance-standardized relationship matrix K = ZZ'/M, z = (x - 2p)/sqrt(2p(1-p)), x the count of the"
          + " .bim A1 allele (BGEN, VCF, BCF: its dosage, as in grm), p its frequency over the kept samples (plink2 uses founders only when the .fam lists"
          + " parents; --nonfounders there gives ours), monomorphic variants skipped.",
      "Exact route (default up to " + ExactPca.DEFAULT_MAX_SAMPLES + " samples, or --exact): the GRM on Spark"
          + " (GCTA's, per-pair counts under missing calls, as plink2 --pca) and LAPACK on the driver."
          + " Randomized route (--approx, as plink2 --pca approx; default above): block Krylov iteration over"
          + " genotype passes on Spark, genotypes cached at 2 bits per call (dosages at 8 bits), missing calls mean-imputed; no N x N"
          + " and no M x M matrix.",
      "Eigenvalues are those of K, M counting the variants used (as GCTA; plink2 also counts monomorphic"
          + " variants, so its eigenvalues are smaller by M_used/M_all when there are some); eigenvectors have unit"
          + " length, each turned so that its largest entry is positive. Writes PREFIX.eigenval, PREFIX.eigenvec (#FID IID PC1..PCK; usable as --qcovar),"
          + " PREFIX.log; with --pca-loadings PREFIX.eigenvec.var (#CHROM ID MAJ NONMAJ PC1..PCK, weights"
          + " w = Z'u/sqrt(lambda) for the major-allele count, as plink2 --pca biallelic-var-wts) and"
          + " PREFIX.afreq (A1 frequencies). A new sample with genotypes standardized by those frequencies"
          + " projects as PC_k = sum_j z_j w_jk / (M sqrt(lambda_k))."})
public final class PcaCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin GenotypeSourceOptions genotypes;

  @Mixin OutputOptions output;

  /** The files of one run: existing ones are refused without --overwrite. */
  static final List<String> OUTPUTS = List.of(".eigenval", ".eigenvec", ".eigenvec.var", ".afreq", ".log");

  @Option(names = "--pcs", defaultValue = "10", paramLabel = "K", description = "Number of components, at most min(N, M) - 1 (default: ${DEFAULT-VALUE}, as plink2).")
  int components;

  static final class RouteChoice {
    @Option(names = "--exact", description = "Exact eigendecomposition of the GRM (default up to " + ExactPca.DEFAULT_MAX_SAMPLES + " samples).")
    boolean exact;

    @Option(names = "--approx", description = "Randomized block Krylov iteration (default above " + ExactPca.DEFAULT_MAX_SAMPLES + " samples).")
    boolean approx;
  }

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  RouteChoice route;

  @Option(names = "--pca-loadings", description = "Also write the variant weights (PREFIX.eigenvec.var) and A1 frequencies (PREFIX.afreq) that project new samples.")
  boolean loadings;

  @Option(names = "--maf", defaultValue = "0", paramLabel = "X", description = "Skip variants with minor allele frequency below X (default: ${DEFAULT-VALUE}).")
  double maf;

  @Mixin SampleSelectionOptions samples;

  @Mixin VariantSelectionOptions variants;

  @Option(names = "--max-passes", defaultValue = "" + BlockKrylovPca.Options.DEFAULT_MAX_PASSES, paramLabel = "T",
      description = "Randomized route: most passes over the genotypes (default: ${DEFAULT-VALUE}).")
  int maxPasses;

  @Option(names = "--tol", defaultValue = "" + BlockKrylovPca.Options.DEFAULT_TOL, paramLabel = "X",
      description = "Randomized route: stop when every PC's relative residual |Ku - lambda u|/lambda is at most X (default: ${DEFAULT-VALUE}).")
  double tol;

  @Option(names = "--block", defaultValue = "0", paramLabel = "B",
      description = "Randomized route: vectors per pass (default 0: max(2K, K + 10)).")
  int block;

  @Option(names = "--seed", defaultValue = "1", paramLabel = "S", description = "Randomized route: seed of the random start (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--partitions", defaultValue = "0", paramLabel = "P", description = "Number of variant ranges (default 0: one per core).")
  int partitions;

  @Mixin SparkOptions sparkOptions;

  @Override
  public Integer call() {
    if (!(maf >= 0 && maf < 0.5)) { // NaN fails too
      throw new BadInputException("--maf must be in [0, 0.5), got " + maf);
    }
    if (components < 1) {
      throw new BadInputException("--pcs must be at least 1, got " + components);
    }
    NumericRange.atLeast("--partitions", partitions, 0);
    if (maxPasses < 1 || !(tol > 0) || block < 0) {
      throw new BadInputException("--max-passes must be at least 1, --tol positive and --block at least 0");
    }
    PcaJob.Route r = route == null ? PcaJob.Route.AUTO : route.exact ? PcaJob.Route.EXACT : PcaJob.Route.APPROX;
    String out = output.out();
    Configuration conf = new Configuration();
    try (OutputSet set = output.open(OUTPUTS, conf, genotypes.input().label())) {
      PcaJob.Options o = new PcaJob.Options(genotypes.input(), out, components, r, maf, variants.selection(samples, conf), loadings,
          new BlockKrylovPca.Options(block, maxPasses, tol, seed), partitions);
      run(o, out);
      set.commit();
    }
    return 0;
  }

  private void run(PcaJob.Options o, String out) {
    RunLog runLog = new RunLog(spec);
    SparkRun.run("pca", sparkOptions.master, runLog, PcaJob.class, out + ".log", (jsc, stages) -> {
      PcaJob.Result res = stages.time("PCA", () -> PcaJob.run(jsc, o));
      PrincipalComponents pcs = res.pcs();
      runLog.say(String.format("N = %d samples, M = %s", pcs.n(), res.counts()));
      runLog.say(res.exact() ? "route: exact (GRM on Spark, LAPACK dsyevr on the driver)"
          : String.format("route: randomized block Krylov, %d passes over the genotypes, largest relative residual %.2g",
              pcs.passes(), max(pcs.residuals())));
      StringBuilder values = new StringBuilder();
      for (double v : pcs.values()) {
        values.append(values.length() == 0 ? "" : " ").append(String.format("%.6g", v));
      }
      runLog.say("eigenvalues: " + values);
      runLog.say(String.format("written %s in %.1f s", String.join(", ", res.outputs()), res.seconds()));
      return res;
    });
  }

  private static double max(double[] a) {
    double m = 0;
    for (double v : a) {
      m = Math.max(m, v);
    }
    return m;
  }
}
