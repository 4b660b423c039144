package org.lmmspark.jobs.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.jobs.assoc.MultiTraitAssocJob;
import org.lmmspark.jobs.reml.MultiTraitRemlJob;
import org.lmmspark.jobs.reml.TraitSummary;

import java.util.concurrent.Callable;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.reml.SolverRoute;
import org.lmmspark.engine.io.OutputSet;
import org.lmmspark.engine.assoc.LmmTest;
import org.lmmspark.jobs.assoc.AssocJob;
import org.lmmspark.jobs.assoc.AssocOutputs;
import org.lmmspark.jobs.assoc.BinaryAssocJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lmmspark assoc}: genome-wide mixed-model association on Spark. */
@Command(name = "assoc", mixinStandardHelpOptions = true,
    description = {
      "Tests every variant for association with a quantitative trait in a linear mixed model"
          + " y = Xb + x*beta + g + e, g ~ N(0, s2g K), e ~ N(0, s2e I), K the GRM (--grm, or computed with --kernel).",
      "Several traits: --pheno-name A,B,C or --all-pheno test each trait on its own samples in one session:"
          + " OUT.TRAIT.assoc.tsv.gz (and .parquet, .report.md, plots) per trait, OUT.summary.tsv (trait, n, h2, SE,"
          + " lambda GC, top hit); every trait's column and samples are checked before anything is fitted."
          + " Spectral route: the GRM computed once, traits with the same samples share each eigendecomposition of K"
          + " and the rotation of every genotype block (results identical to single runs). Matrix-free route: one"
          + " genotype cache, the traits' REML in lock-step with the probes' runs shared as control variates, their"
          + " LOCO solves and ONE test pass shared (each trait's results within the Monte Carlo error of the probes"
          + " of its single run); in groups the driver's heap holds (-Dlmmspark.lockstep.traits=G caps a group).",
      "Samples and variants as PLINK selects them (--keep/--remove, --extract/--exclude [range], --chr,"
          + " --from-bp/--to-bp): a GRM computed here, the null model and the tests all use the kept samples and"
          + " selected variants only. Tables in any layout (see --pheno).",
      "Default: MLMA with the variance components fixed at the REML null (GCTA --mlma, P3D):"
          + " beta = x'Py/x'Px, SE = 1/sqrt(x'Px), chi2 = beta^2/SE^2 on 1 df, p in log space (never 0)."
          + " --exact re-estimates s2g/s2e by REML for every variant and uses GEMMA's Wald F test (-lmm 1)."
          + " x counts the .bim A1 allele (the effect allele; --bgen: dosage of the first allele, --vcf: of ALT); missing"
          + " genotypes are mean-imputed.",
      "--loco tests chromosome c against K without c, K_-c = (M K - M_c K_c)/(M - M_c), formed from the"
          + " per-chromosome GRM parts (never by re-reading genotypes), and RE-ESTIMATES the variance"
          + " components for each chromosome (like GCTA --mlma-loco, unlike BOLT-LMM): with the spectral"
          + " solver that costs nothing beyond the eigendecomposition LOCO needs anyway, and each"
          + " chromosome's null then carries the variance its K_-c explains.",
      "--test (default auto) chooses the statistic and how it is computed; each matches a peer:"
          + " auto = MLMA, exact below 5000 analysed samples and calibrated from there;"
          + " mlma = the same as auto (GCTA --mlma);"
          + " exact = MLMA with every variant block rotated by the eigenvectors of K (2 N^2 flops per variant);"
          + " calibrated = the O(N) calibrated MLMA (BOLT-LMM-inf / GRAMMAR-gamma / fastGWA): chi2 = (x'Py)^2 /"
          + " (gamma x'P~x), P~ treating the leading eigenvectors of K exactly and the rest as a constant, gamma the mean"
          + " of x'Px / x'P~x over a seeded sample of variants computed exactly (reported with its SD and CV; one gamma"
          + " and one residual vector per LOCO chromosome);"
          + " f = variance ratio fixed at the REML null, scale re-estimated per variant, F(1, n-p-1) (EMMAX, FaST-LMM,"
          + " Hail's fixed-h2 test);"
          + " wald = ratio re-estimated by REML per variant, Wald F (GEMMA -lmm 1; same as --exact);"
          + " lrt = ratio re-estimated by ML with and without the variant, chi2(1) (GEMMA -lmm 2);"
          + " score = score test at the null ML ratio, F(1, n-p-1) (GEMMA -lmm 3)."
          + " On the spectral route f, wald, lrt and score use the exact rotation; the matrix-free route runs mlma and"
          + " f (F = chi2 (n-p-1)/(y'Py - chi2) from the calibrated chi2, y'Py per LOCO null) and refuses exact, wald,"
          + " lrt and score, which need the eigenvectors of K (use --solver spectral).",
      "--solver auto|spectral|matrix-free (default auto): spectral = the GRM (--grm, or computed first) and its"
          + " eigendecomposition, O(N^3); matrix-free = no GRM at all: the genotypes are read once and cached in 2-bit"
          + " form, REML is fitted from products with them (BOLT-REML style), the LOCO residuals P_-c y of all"
          + " chromosomes and gamma_c come from ONE batched conjugate-gradient solve with the variance components of"
          + " the whole-genome fit (as BOLT-LMM), and the calibrated test (no eigenvectors exact) runs over the"
          + " cached genotypes; O(N M) in all. auto = the route a cost model predicts cheaper, from N, M, LOCO (22"
          + " band reductions on the spectral route), the covariates, the driver's cores and heap (spectral needs"
          + " ~24 N^2 bytes there) and the cluster's cores; the log says why with both predictions (route: ...)."
          + " --grm and the tests only the spectral route computes (exact, wald, lrt, score) take the spectral route;"
          + " --matrix-free-above N replaces the cost model by a sample threshold. Model: docs/scaling.md.",
      "One Spark task per variant range; the null model is broadcast once (eigenvectors of K for exact, a"
          + " residual vector and a few eigenvectors for calibrated).",
      "Writes PREFIX.assoc.tsv.gz and PREFIX.assoc.parquet (GWAS-SSF columns: chromosome base_pair_location"
          + " effect_allele other_allele beta standard_error effect_allele_frequency p_value variant_id n chi2"
          + " neg_log10_p info; info = the IMPUTE2 INFO score of BGEN dosages among the analysed samples, NA for"
          + " hard calls; sorted by position), PREFIX.report.md (lambda GC, null model, top hits),"
          + " PREFIX.manhattan.png, PREFIX.qq.png and PREFIX.log; with the spectral solver and no --grm also the GRM"
          + " PREFIX.grm.*; with the matrix-free solver the whole-genome REML PREFIX.hsq (GCTA layout).",
      "--family binomial: a 0/1 trait (PLINK's 1/2 accepted and recoded, as the log says) is tested as SAIGE does: a"
          + " null logistic GLMM logit(mu) = Xb + g, g ~ N(0, tau K), fitted by PQL with AI-REML on the working model"
          + " (dense, on the driver; with --loco one fit per chromosome on K_-c; with --solver matrix-free no GRM: the"
          + " working model fitted by stochastic AI-REML over the cached genotypes as SAIGE's step 1, the variance by the"
          + " ratio with x'Px of the calibration variants by preconditioned CG; with --loco there, as SAIGE's LOCO: tau"
          + " kept from the whole-genome fit, b and the random prediction re-fitted on K_-c for all chromosomes in one"
          + " batched CG per PQL step, one variance ratio pooled over every chromosome's sampled variants, each with"
          + " its own K_-c), then per variant the score"
          + " T = x~'(y - mu), Var(T) exact (x'Px, --score-variance exact) or by SAIGE's variance ratio (ratio; auto ="
          + " exact below 5000 samples), p by the normal approximation for |z| < 2 and the saddle-point approximation"
          + " beyond, and Firth's penalized likelihood-ratio test (covariates re-estimated, the null's random prediction"
          + " as offset) below --firth-below. Extra columns: n_case n_control effect_allele_frequency_cases"
          + " effect_allele_frequency_controls p_method (NORMAL, SPA or FIRTH)."})
public final class AssocCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin GenotypeSourceOptions genotypes;

  @Mixin TraitOptions trait;

  @Mixin SampleSelectionOptions samples;

  @Mixin VariantSelectionOptions variants;

  @Option(names = "--grm", paramLabel = "PREFIX", description = "GCTA GRM PREFIX.grm.bin/.grm.N.bin/.grm.id (with --loco also PREFIX.chrC.grm.* from 'lmmspark grm --per-chromosome'). Default: computed from the genotypes first.")
  String grm;

  @Option(names = "--loco", description = "Leave-one-chromosome-out: test each chromosome against a null model without it.")
  boolean loco;

  @Option(names = "--maf", defaultValue = "0", paramLabel = "X", description = "Skip variants with minor allele frequency below X among the analysed samples (default: ${DEFAULT-VALUE}); also used for a GRM computed here.")
  double maf;

  @Option(names = "--exact", description = "The same as --test wald: re-estimate the variance ratio for every variant (GEMMA -lmm 1 Wald test); ~50x slower than MLMA, for small studies.")
  boolean exact;

  @Option(names = "--test", defaultValue = "auto", paramLabel = "T", description = "auto, mlma, exact, calibrated (the MLMA statistic; auto = calibrated from N >= 5000 samples, exact below), f (EMMAX/FaST-LMM), wald (GEMMA -lmm 1), lrt (GEMMA -lmm 2) or score (GEMMA -lmm 3) (default: ${DEFAULT-VALUE}).")
  String test;

  @Option(names = "--calibration-variants", paramLabel = "S", description = "Calibrated test: variants sampled (seeded) to estimate gamma, computed exactly (default: 100 per null model on the spectral route and for --family binomial; on the matrix-free route 30 in all, BOLT-LMM's --numCalibSnps default, spread over the chromosomes in proportion to their variants with --loco, at least one each, their ratios pooled).")
  Integer calibrationVariants;

  @Option(names = "--calibration-eigenvectors", defaultValue = "20", paramLabel = "K", description = "Calibrated test: leading eigenvectors of K treated exactly (population structure, close relatives); 0 gives the plain BOLT-LMM-inf calibration (default: ${DEFAULT-VALUE}).")
  int calibrationEigenvectors;

  @Option(names = "--solver", defaultValue = "auto", paramLabel = "S", description = "auto, spectral or matrix-free (default: ${DEFAULT-VALUE}: the cheaper route by the cost model, see above).")
  String solver;

  @Option(names = "--matrix-free-above", paramLabel = "N", description = "--solver auto: matrix-free when no --grm is given and more than N samples are analysed, instead of the cost model (default: the cost model; for --family binomial, 20,000 samples, the dense null GLMM's limit).")
  Integer matrixFreeAbove;

  @Option(names = "--probes", defaultValue = "0", paramLabel = "R", description = "Matrix-free REML: random probe vectors for the traces (default 0: 15, as BOLT-LMM's h² estimate; reml uses 40).")
  int probes;

  @Option(names = "--family", defaultValue = "gaussian", paramLabel = "F", description = "gaussian (a quantitative trait, the LMM tests) or binomial (a 0/1 case-control trait: SAIGE's score test with SPA and Firth; see above) (default: ${DEFAULT-VALUE}).")
  String family;

  @Option(names = "--firth-below", defaultValue = "0.01", paramLabel = "P", description = "--family binomial: variants whose score-test p is below P are retested by Firth logistic regression (0: never) (default: ${DEFAULT-VALUE}).")
  double firthBelow;

  @Option(names = "--score-variance", defaultValue = "auto", paramLabel = "V", description = "--family binomial: exact (x'Px with the dense projection, 2N^2 flops per variant), ratio (SAIGE's variance ratio, O(N)) or auto (exact below 5000 samples; always the ratio with --solver matrix-free) (default: ${DEFAULT-VALUE}).")
  String scoreVariance;

  @Mixin OutputOptions output;

  @Option(names = "--partitions", defaultValue = "0", paramLabel = "K", description = "Number of variant ranges, one Spark task each (default 0: one per core).")
  int partitions;

  @Option(names = "--block-variants", defaultValue = "0", paramLabel = "B", description = "Variants per matrix multiply inside a task (default 0: chosen from N).")
  int blockVariants;

  @Mixin KernelOptions kernel;

  @Mixin SparkOptions sparkOptions;

  @Mixin ChromosomeCodeOptions chromosomeCodes;

  @Override
  public Integer call() {
    if (grm != null && spec.commandLine().getParseResult().hasMatchedOption("--kernel")) {
      throw new BadInputException("--kernel chooses how the GRM is computed from genotypes; a --grm file already has its definition");
    }
    org.apache.hadoop.conf.Configuration conf = chromosomeCodes.apply(new org.apache.hadoop.conf.Configuration());
    TraitTables.Traits traits = trait.traits();
    AssocJob.Options options = new AssocJob.Options(genotypes.input(), traits.spec(), grm, output.out(), loco, maf, exact,
        parseTest(test), calibrationVariants == null ? 0 : NumericRange.atLeast("--calibration-variants",
        calibrationVariants, 1), calibrationEigenvectors, partitions, blockVariants, parseSolver(solver),
        matrixFreeAbove == null ? SolverRoute.COST_MODEL : NumericRange.atLeast("--matrix-free-above", matrixFreeAbove, 0),
        probes, variants.selection(samples, conf), kernel.scaling(), parseStatistic(test));
    AssocJob.checkInputs(options, conf);
    RunLog runLog = new RunLog(spec);
    if (traits.many()) {
      if (binary()) {
        throw new BadInputException("several traits (--pheno-name A,B,... / --all-pheno) are tested as quantitative "
            + "traits: run --family binomial one trait at a time");
      }
      List<String> names = traits.resolve(conf);
      List<String> outputs = new ArrayList<>(MultiTraitRemlJob.outputs(names, MultiTraitAssocJob.PER_TRAIT));
      outputs.addAll(List.of(".grm.bin", ".grm.N.bin", ".grm.id"));
      try (OutputSet set = output.open(outputs, conf, genotypes.input().label(), grm, trait.pheno, trait.covar,
          trait.qcovar)) {
        MultiTraitAssocJob.Result r = SparkRun.run("assoc", sparkOptions.master, runLog, AssocJob.class,
            options.out() + ".log", (jsc, stages) -> {
              chromosomeCodes.apply(jsc.hadoopConfiguration());
              MultiTraitAssocJob.Result m = stages.time("association of " + names.size() + " traits",
                  () -> MultiTraitAssocJob.run(jsc, options, names));
              m.notes().forEach(runLog::note);
              for (Map.Entry<String, MultiTraitAssocJob.Done> e : m.traits().entrySet()) {
                MultiTraitAssocJob.Done t = e.getValue();
                runLog.say(String.format(Locale.ROOT, "trait %s: N = %d, %s route, lambda GC = %.4f over %d variants, "
                    + "%.1f s; %s.*", e.getKey(), t.row().n(), t.solver().name().toLowerCase(Locale.ROOT),
                    t.row().lambdaGc(), t.variants(), t.seconds(), MultiTraitRemlJob.prefix(options.out(), e.getKey())));
              }
              runLog.say("summary: " + options.out() + ".summary.tsv");
              return m;
            });
        System.out.print(TraitSummary.tsv(r.summary()));
        set.commit();
      }
      return 0;
    }
    if (binary()) {
      BinaryAssocJob.Options b = new BinaryAssocJob.Options(options, firthBelow, parseVariance(scoreVariance));
      BinaryAssocJob.checkInputs(b, conf);
      try (OutputSet set = output.open(OUTPUTS, conf, genotypes.input().label(), grm, trait.pheno, trait.covar, trait.qcovar)) {
        runBinary(runLog, b, sparkOptions.master, chromosomeCodes);
        set.commit();
      }
      return 0;
    }
    try (OutputSet set = output.open(OUTPUTS, conf, genotypes.input().label(), grm, trait.pheno, trait.covar, trait.qcovar)) {
      run(runLog, options, sparkOptions.master, chromosomeCodes);
      set.commit();
    }
    return 0;
  }

  private boolean binary() {
    String f = family.trim().toLowerCase(java.util.Locale.ROOT);
    return switch (f) {
      case "gaussian" -> false;
      case "binomial" -> true;
      default -> throw new BadInputException("--family must be gaussian or binomial (logit link), got '" + family + "'");
    };
  }

  /** {@code auto}, {@code exact} or {@code ratio} (any case). */
  public static BinaryAssocJob.Variance parseVariance(String value) {
    return switch (value.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "auto" -> BinaryAssocJob.Variance.AUTO;
      case "exact" -> BinaryAssocJob.Variance.EXACT;
      case "ratio" -> BinaryAssocJob.Variance.RATIO;
      default -> throw new BadInputException("--score-variance must be auto, exact or ratio, got '" + value + "'");
    };
  }

  /** Runs the binary-trait scan in a session of its own and reports it. */
  public static BinaryAssocJob.Result runBinary(RunLog runLog, BinaryAssocJob.Options options, String master,
      ChromosomeCodeOptions codes) {
    String out = options.assoc().out();
    return SparkRun.run("assoc", master, runLog, BinaryAssocJob.class, out + ".log", (jsc, stages) -> {
      codes.apply(jsc.hadoopConfiguration());
      BinaryAssocJob.Result r = stages.time("association", () -> BinaryAssocJob.run(jsc, options));
      runLog.say(String.format("trait %s (binary): N = %d samples (%d cases, %d controls), fixed effects %s", r.trait(),
          r.samples(), r.cases(), r.controls(), r.fixedEffects()));
      r.notes().forEach(runLog::note);
      for (BinaryAssocJob.NullFit f : r.nullFits()) {
        runLog.say(String.format("null (%s): tau = %.5g, %s; variance %s, ratio %s; %d variants tested", f.scope(), f.tau(),
            f.message(), f.exact() ? "exact" : "ratio", f.ratio(), f.variantsTested()));
      }
      runLog.say(String.format("%s", r.counts()));
      long[] m = r.methodCounts();
      runLog.say(String.format("lambda GC = %.4f over %d variants; p by normal %d, SPA %d, Firth %d, untestable %d",
          r.lambdaGc(), r.table().size(), m[0], m[1], m[2], m[3]));
      runLog.say(String.format("%d Spark task(s); GRM %.1f s, null model(s) %.1f s, scan %.1f s, total %.1f s", r.tasks(),
          r.grmSeconds(), r.nullSeconds(), r.scanSeconds(), r.seconds()));
      runLog.say("results: " + AssocOutputs.tsvPath(out) + ", " + AssocOutputs.parquetPath(out) + ", report "
          + AssocOutputs.reportPath(out) + ", plots " + AssocOutputs.manhattanPath(out) + ", " + AssocOutputs.qqPath(out));
      return r;
    });
  }

  /** The files of one run (the GRM when computed here, per-chromosome parts besides). */
  static final java.util.List<String> OUTPUTS = java.util.List.of(".assoc.tsv.gz", ".assoc.parquet", ".report.md",
      ".manhattan.png", ".qq.png", ".log", ".hsq", ".grm.bin", ".grm.N.bin", ".grm.id");

  /**
   * How the variants are rotated, from a {@code --test} value (any case): {@code auto}/{@code mlma}/{@code f} auto
   * (f: exact on the spectral route, calibrated on the matrix-free one), {@code calibrated}, and {@code exact}
   * for {@code exact} and the per-variant likelihood tests.
   */
  public static AssocJob.Test parseTest(String value) {
    String v = value.trim().toLowerCase(java.util.Locale.ROOT);
    return switch (v) {
      case "auto", "mlma", "f" -> AssocJob.Test.AUTO;
      case "calibrated" -> AssocJob.Test.CALIBRATED;
      case "exact", "wald", "lrt", "score" -> AssocJob.Test.EXACT;
      default -> throw new BadInputException(
          "--test must be auto, mlma, exact, calibrated, f, wald, lrt or score, got '" + value + "'");
    };
  }

  /** The per-variant statistic of a {@code --test} value: MLMA unless f, wald, lrt or score. */
  public static LmmTest parseStatistic(String value) {
    parseTest(value); // validates
    String v = value.trim().toLowerCase(java.util.Locale.ROOT);
    return switch (v) {
      case "f" -> LmmTest.F;
      case "wald" -> LmmTest.WALD;
      case "lrt" -> LmmTest.LRT;
      case "score" -> LmmTest.SCORE;
      default -> LmmTest.MLMA;
    };
  }

  /** {@code auto}, {@code spectral} or {@code matrix-free} (any case). */
  public static AssocJob.Solver parseSolver(String value) {
    String v = value.trim().toLowerCase(java.util.Locale.ROOT);
    return switch (v) {
      case "auto" -> AssocJob.Solver.AUTO;
      case "spectral" -> AssocJob.Solver.SPECTRAL;
      case "matrix-free", "matfree", "matrix_free" -> AssocJob.Solver.MATRIX_FREE;
      default -> throw new BadInputException("--solver must be auto, spectral or matrix-free, got '" + value + "'");
    };
  }

  /** Runs the job in a session of its own ({@link SparkRun}) and reports it. */
  public static AssocJob.Result run(RunLog runLog, AssocJob.Options options, String master,
      ChromosomeCodeOptions codes) {
    return SparkRun.run("assoc", master, runLog, AssocJob.class, options.out() + ".log", (jsc, stages) -> {
      codes.apply(jsc.hadoopConfiguration());
      AssocJob.Result r = stages.time("association", () -> AssocJob.run(jsc, options));
      runLog.say(String.format("trait %s: N = %d samples, fixed effects %s", r.trait(), r.samples(), r.fixedEffects()));
      r.notes().forEach(runLog::note);
      for (AssocJob.NullFit f : r.nullFits()) {
        runLog.say(String.format("null (%s): s2g = %.5g, s2e = %.5g, h2 = %.4f (AI SE %.4f)%s, %d variants tested%s", f.scope(),
            f.sigmaG(), f.sigmaE(), f.h2(), f.h2Se(), f.boundary() ? " [boundary]" : "", f.variantsTested(),
            f.gamma() == null ? "" : "; calibrated: " + f.gamma() + ", " + f.eigenvectors() + " eigenvectors exact"));
      }
      runLog.say(String.format("%s", r.counts()));
      runLog.say(String.format("lambda GC = %.4f over %d variants", r.lambdaGc(), r.table().size()));
      r.stages().forEach(st -> runLog.say("stage " + st));
      runLog.say(String.format("%d Spark task(s); GRM %.1f s, null model(s) %.1f s, scan %.1f s, total %.1f s; %s", r.tasks(),
          r.grmSeconds(), r.nullSeconds(), r.scanSeconds(), r.seconds(), org.lmmspark.engine.linalg.Blas.describe()));
      runLog.say("results: " + AssocOutputs.tsvPath(options.out()) + ", " + AssocOutputs.parquetPath(options.out())
          + ", report " + AssocOutputs.reportPath(options.out()) + ", plots " + AssocOutputs.manhattanPath(options.out())
          + ", " + AssocOutputs.qqPath(options.out()));
      return r;
    });
  }
}
