package org.lmmspark.jobs.assoc;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.assoc.AssocResults;
import org.lmmspark.engine.assoc.CalibratedModel;
import org.lmmspark.engine.assoc.CalibratedTest;
import org.lmmspark.engine.assoc.LmmTest;
import org.lmmspark.engine.assoc.Calibration;
import org.lmmspark.engine.assoc.GenotypeRows;
import org.lmmspark.engine.assoc.LocoGrm;
import org.lmmspark.engine.assoc.Mlma;
import org.lmmspark.engine.assoc.NullModel;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeScaling;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.pheno.SampleFrame;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.engine.reml.Components;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlInputs;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.SolverRoute;
import org.lmmspark.engine.reml.SpectralReml;
import org.lmmspark.engine.reml.VarianceComponent;
import org.lmmspark.engine.reml.VarianceSummary;
import org.lmmspark.engine.reml.matfree.GenotypeRemlInputs;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.genotype.PartitionedGenotypes.VariantRange;
import org.lmmspark.jobs.grm.GrmJob;
import org.lmmspark.jobs.matfree.MatrixFreeRemlJob;
import org.lmmspark.jobs.spark.SerializableHadoopConf;
import org.lmmspark.jobs.spark.Stages;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Genome-wide mixed-model association ({@link Mlma}: GCTA {@code --mlma}; {@code exact}: GEMMA
 * {@code -lmm 1}) as a Spark job.
 *
 * <p>Steps: the GRM (read from {@code --grm}, or computed first by {@link GrmJob}, with per-chromosome
 * parts for LOCO); samples matched across phenotype, covariates and GRM ({@link RemlInputs}); the null
 * model fitted on the driver by REML with the spectral solver ({@link SpectralReml}: one eigendecomposition,
 * {@code O(N³)}); then one Spark job over the variants: the {@link NullModel} (eigenvectors as float,
 * {@code 4N²} bytes, plus {@code O(Np)}) is broadcast once, each task reads one contiguous variant range at
 * exact {@code .bed} offsets and tests it block by block, one SGEMM ({@code 2N²} flops per variant) per
 * block; results (~60 bytes per variant) come back with one {@code collect}. No per-variant Spark job or
 * driver round trip.
 *
 * <p><b>Calibrated test</b> ({@code test} calibrated, or auto from {@link #AUTO_CALIBRATED_SAMPLES}
 * samples): the same REML null, fitted in K's band form instead of its eigenbasis ({@link SpectralReml#reduce}:
 * all level-3 BLAS, ~3× cheaper than the eigendecomposition the exact test needs), then on the driver γ
 * from a seeded sample of the variants each null tests (rotated exactly, {@code 2N²} flops each), the
 * k leading eigenvectors by inverse iteration and the residual {@code Py}; the broadcast is
 * {@code O(N·(1 + k + p))} per null model instead of {@code 4N²} bytes, and every variant costs
 * {@code O(N·(2 + k + p))} ({@link CalibratedTest}), one Spark job for all chromosomes. The exact paths
 * are unchanged.
 *
 * <p><b>Matrix-free route</b> ({@code solver} matrix-free, or auto with no GRM given above
 * {@code matrixFreeAbove} analysed samples): no GRM and no eigendecomposition; the genotypes are cached
 * once and serve REML, LOCO residuals from one batched CG solve, γ and the test pass
 * ({@link MatrixFreeAssocJob}).
 *
 * <p><b>LOCO</b> ({@code loco}): variants on chromosome c are tested against a null model built from
 * {@code K_{−c} = (M K − M_c K_c)/(M − M_c)} (per pair, {@link LocoGrm}) formed from the per-chromosome GRM
 * parts, never by re-reading genotypes. The variance components are RE-ESTIMATED for every chromosome
 * (as GCTA {@code --mlma-loco}), not kept from the whole-genome fit (as BOLT-LMM): with the spectral
 * solver a REML fit costs {@code O(N)} per likelihood evaluation once {@code K_{−c}} is eigendecomposed,
 * which LOCO needs anyway, so re-estimating is free, and it gives each chromosome's null the variance
 * that {@code K_{−c}} actually explains (σ²_g drops by about chromosome c's share of the heritability),
 * keeping the test exactly the MLMA statistic for that null. BOLT keeps them because its
 * matrix-free REML is expensive; our cost per chromosome is the {@code O(N³)} eigendecomposition
 * (about 22 of them), which bounds LOCO to N of a few 10^4 on the driver. Chromosomes are processed
 * one after another, one Spark job each, so only one null model is broadcast at a time.
 *
 * <p>Cluster use: {@code spark-submit --class org.lmmspark.jobs.cli.Lmmspark lmmspark.jar assoc --bfile
 * hdfs:///d/c --pheno hdfs:///d/p.txt --grm hdfs:///d/c --out hdfs:///o/c}; the driver needs about
 * {@code 40 N²} bytes (GRM, eigendecomposition), each executor {@code 4N²} for the broadcast plus
 * {@code 8N·blockVariants} per task.
 */
public final class AssocJob {
  private static final Logger log = LoggerFactory.getLogger(AssocJob.class);

  /**
   * What to run. {@code trait}: the phenotype and covariate tables ({@link TraitTables}); {@code grm}
   * null: computed from {@code genotypes} first (written as {@code out.grm.*}); {@code partitions} ≤ 0: about
   * two tasks per core; {@code blockVariants} ≤ 0: chosen from N; {@code selection}: the samples and
   * variants used (on both routes, and for a GRM computed here).
   */
  public record Options(GenotypeInput genotypes, TraitTables.Spec trait, String grm,
      String out, boolean loco, double maf, boolean exact, Test test, int calibrationVariants,
      int calibrationEigenvectors, int partitions, int blockVariants, Solver solver, int matrixFreeAbove, int probes,
      GenotypeSelection selection, GenotypeScaling kernel, LmmTest statistic) implements Serializable {
    public Options {
      if (test == null || solver == null || trait == null || selection == null || kernel == null) {
        throw new IllegalArgumentException("trait, selection, test, solver and kernel must be given (auto / GCTA for the default)");
      }
      // --exact is --test wald: one statistic, two spellings.
      if (statistic == null || (exact && statistic == LmmTest.MLMA)) {
        statistic = exact ? LmmTest.WALD : LmmTest.MLMA;
      }
      if (exact && statistic != LmmTest.WALD) {
        throw new BadInputException("--exact is the Wald test (--test wald); it cannot be combined with --test "
            + statistic.name().toLowerCase(java.util.Locale.ROOT));
      }
      exact = statistic == LmmTest.WALD;
      if (statistic != LmmTest.MLMA && test == Test.CALIBRATED) {
        throw new BadInputException((statistic == LmmTest.WALD ? "--exact (--test wald)" : "--test " + statistic.option())
            + " cannot be combined with --test calibrated: it needs the exact spectral rotation of every variant, and the"
            + " calibrated O(N) test computes the MLMA statistic only");
      }
      NumericRange.MAF.check("--maf", maf);
      NumericRange.atLeast("--calibration-variants", calibrationVariants, 0); // 0: the route's default
      NumericRange.atLeast("--calibration-eigenvectors", calibrationEigenvectors, 0);
      NumericRange.atLeast("--partitions", partitions, 0);
      NumericRange.atLeast("--block-variants", blockVariants, 0);
      if (matrixFreeAbove != SolverRoute.COST_MODEL) {
        NumericRange.atLeast("--matrix-free-above", matrixFreeAbove, 0);
      }
      if (probes != 0) { // 0: the REML default
        NumericRange.atLeast("--probes", probes, 2);
      }
      if (solver == Solver.MATRIX_FREE) {
        if (grm != null) {
          throw new BadInputException("--solver matrix-free works from the genotypes and never reads a GRM: "
              + "drop --grm, or use --solver spectral");
        }
        String spectralOnly = spectralOnly(statistic, test); // the fields are not assigned yet
        if (spectralOnly != null) {
          throw new BadInputException("--solver matrix-free runs the calibrated O(N) tests (mlma, f) only: "
              + spectralOnly + "; use --solver spectral (or auto)");
        }
      }
    }

    /** Whole tables, every sample and variant. */
    public Options(GenotypeInput genotypes, String pheno, String phenoName, String covar, String qcovar, String grm,
        String out, boolean loco, double maf, boolean exact, Test test, int calibrationVariants,
        int calibrationEigenvectors, int partitions, int blockVariants, Solver solver, int matrixFreeAbove, int probes) {
      this(genotypes, TraitTables.Spec.of(pheno, phenoName, covar, qcovar), grm, out, loco, maf, exact, test,
          calibrationVariants, calibrationEigenvectors, partitions, blockVariants, solver, matrixFreeAbove, probes,
          GenotypeSelection.all());
    }

    /** GCTA's GRM definition ({@code --kernel gcta}). */
    public Options(GenotypeInput genotypes, TraitTables.Spec trait, String grm, String out, boolean loco, double maf,
        boolean exact, Test test, int calibrationVariants, int calibrationEigenvectors, int partitions, int blockVariants,
        Solver solver, int matrixFreeAbove, int probes, GenotypeSelection selection) {
      this(genotypes, trait, grm, out, loco, maf, exact, test, calibrationVariants, calibrationEigenvectors, partitions,
          blockVariants, solver, matrixFreeAbove, probes, selection, GenotypeScaling.GCTA);
    }

    /** The statistic from {@code exact}: MLMA, or the Wald test when it is set. */
    public Options(GenotypeInput genotypes, TraitTables.Spec trait, String grm, String out, boolean loco, double maf,
        boolean exact, Test test, int calibrationVariants, int calibrationEigenvectors, int partitions, int blockVariants,
        Solver solver, int matrixFreeAbove, int probes, GenotypeSelection selection, GenotypeScaling kernel) {
      this(genotypes, trait, grm, out, loco, maf, exact, test, calibrationVariants, calibrationEigenvectors, partitions,
          blockVariants, solver, matrixFreeAbove, probes, selection, kernel, null);
    }

    /** The spectral solver's options as before the matrix-free route (solver auto, default threshold). */
    public Options(GenotypeInput genotypes, String pheno, String phenoName, String covar, String qcovar, String grm,
        String out, boolean loco, double maf, boolean exact, Test test, int calibrationVariants,
        int calibrationEigenvectors, int partitions, int blockVariants) {
      this(genotypes, pheno, phenoName, covar, qcovar, grm, out, loco, maf, exact, test, calibrationVariants,
          calibrationEigenvectors, partitions, blockVariants, Solver.AUTO, SolverRoute.COST_MODEL, 0);
    }

    /** The defaults for the calibration: the route's sampled variants ({@link #calibrationVariantsOr}), {@link #DEFAULT_EIGENVECTORS} eigenvectors. */
    public Options(GenotypeInput genotypes, String pheno, String phenoName, String covar, String qcovar, String grm,
        String out, boolean loco, double maf, boolean exact, Test test, int partitions, int blockVariants) {
      this(genotypes, pheno, phenoName, covar, qcovar, grm, out, loco, maf, exact, test, 0,
          DEFAULT_EIGENVECTORS, partitions, blockVariants);
    }

    /**
     * The calibration's sampled variants: {@code --calibration-variants} when given, else the route's default
     * {@code dflt} ({@link Calibration#DEFAULT_VARIANTS} per null model on the spectral and binary routes,
     * {@link MatrixFreeAssocJob#CALIBRATION_VARIANTS} in all on the quantitative matrix-free route).
     */
    public int calibrationVariantsOr(int dflt) {
      return calibrationVariants > 0 ? calibrationVariants : dflt;
    }

    /** These options for one trait of several: its tables and columns, the GRM to read (or null), its output prefix. */
    public Options forTrait(TraitTables.Spec trait, String grm, String out) {
      return new Options(genotypes, trait, grm, out, loco, maf, exact, test, calibrationVariants,
          calibrationEigenvectors, partitions, blockVariants, solver, matrixFreeAbove, probes, selection, kernel,
          statistic);
    }

    /** These options with the route decided ({@code --solver auto} resolved), so outputs describe the route taken. */
    public Options withSolver(Solver route) {
      return new Options(genotypes, trait, grm, out, loco, maf, exact, test, calibrationVariants,
          calibrationEigenvectors, partitions, blockVariants, route, matrixFreeAbove, probes, selection, kernel,
          statistic);
    }

    /** Whether the calibrated O(N) test runs for {@code n} analysed samples. */
    public boolean calibratedFor(int n) {
      return statistic == LmmTest.MLMA && (test == Test.CALIBRATED || (test == Test.AUTO && n >= AUTO_CALIBRATED_SAMPLES));
    }

    /**
     * Why only the spectral route can compute the asked test (null: both can). The matrix-free route has no
     * eigendecomposition: it runs the calibrated MLMA and, from the same χ², the F test with the ratio fixed
     * (the scale re-estimated per variant: {@code F = χ²(n − p − 1)/(yᵀPy − χ²)}); the exact rotation and the
     * tests that re-fit the variance ratio per variant (wald, lrt, score) need K's eigenvectors.
     */
    public String spectralOnly() {
      return spectralOnly(statistic, test);
    }

    private static String spectralOnly(LmmTest statistic, Test test) {
      return switch (statistic) {
        case WALD -> "--test wald (--exact) re-estimates the variance ratio by REML for every variant, which needs the "
            + "eigenvectors of K (one re-fit costs O(N) in K's eigenbasis, a matrix-free one hundreds of passes)";
        case LRT -> "--test lrt re-estimates the variance ratio by ML for every variant, which needs the eigenvectors of K";
        case SCORE -> "--test score needs the null ML variance ratio and the exact x'Px in K's eigenbasis";
        default -> test == Test.EXACT ? "--test exact rotates every variant by the eigenvectors of K" : null;
      };
    }
  }

  /**
   * How the null model is fitted: {@code SPECTRAL} a GRM (given or computed) and its eigendecomposition or
   * band form ({@code O(N³)} per null model; every test), {@code MATRIX_FREE} no GRM at all, REML and LOCO
   * residuals from genotype passes ({@link MatrixFreeAssocJob}; the calibrated MLMA and F tests),
   * {@code AUTO} decided by {@link SolverRoute}'s cost model (or {@code --matrix-free-above}).
   */
  public enum Solver { AUTO, SPECTRAL, MATRIX_FREE }

  /**
   * Which fixed-null statistic: {@code EXACT} the MLMA by spectral rotation of every variant block
   * ({@code 2N²} flops per variant), {@code CALIBRATED} the O(N) calibrated test ({@link CalibratedTest}),
   * {@code AUTO} calibrated from {@link #AUTO_CALIBRATED_SAMPLES} analysed samples up, exact below.
   */
  public enum Test { EXACT, CALIBRATED, AUTO }

  /**
   * From this many analysed samples {@code --test auto} uses the calibrated test: at N = 5,000 the exact
   * rotation costs 5·10⁷ flops per variant (about 5·10¹² for M = 100,000, minutes on two cores) against
   * ~10⁵·(2 + k + p) for the calibrated one, whose χ² correlate &gt; 0.9999 with the exact ones in tests.
   */
  public static final int AUTO_CALIBRATED_SAMPLES = 5000;

  /** Leading eigenvectors of K treated exactly by the calibrated test (population structure, close relatives). */
  public static final int DEFAULT_EIGENVECTORS = 20;

  /** Seed of the calibration variant sample (fixed: reruns give the same γ). */
  public static final long CALIBRATION_SEED = 0x5eed_ca1bL;

  /** One null model: what it was fitted on and its estimates; {@code gamma} null for the exact test. */
  public record NullFit(String scope, int samples, double sigmaG, double sigmaE, double h2, double h2Se, double logL,
      boolean boundary, long variantsTested, Calibration.Gamma gamma, int eigenvectors) {}

  /** What was computed. */
  public record Result(String trait, int samples, List<String> fixedEffects, List<NullFit> nullFits, AssocTable table,
      VariantFilterCounts counts, double lambdaGc, int tasks, double grmSeconds, double nullSeconds,
      double scanSeconds, double seconds, List<String> notes, List<String> outputs, boolean calibrated, Solver solver,
      List<String> stages) {}

  private AssocJob() {}

  /**
   * Checks the inputs without Spark (cheap: metadata, tables, file presence), so that a bad option fails
   * in a second rather than after a GRM computation: the fileset, the phenotype table and its trait
   * column, the covariate tables, and with {@code grm} its files (and with {@code loco} its
   * per-chromosome parts for every chromosome of the genotypes). Returns the opened genotype source.
   */
  public static GenotypeSource checkInputs(Options o, Configuration conf) {
    GenotypeSource fileset = org.lmmspark.jobs.genotype.GenotypeSources.open(o.genotypes(), conf);
    TraitTables.read(o.trait(), fileset.famPath(), fileset.samples(), fileset.samplesPath(), false, conf);
    if (o.grm() != null) {
      requireGrm(o.grm(), conf, "");
      if (o.loco()) {
        // The chromosomes the run tests: those of the selected variants.
        boolean[] selected = o.selection().variants().mask(fileset.variants(), fileset.variantsPath()).include();
        java.util.LinkedHashSet<String> chromosomes = new java.util.LinkedHashSet<>();
        for (int v = 0; v < selected.length; v++) {
          if (selected[v]) {
            chromosomes.add(fileset.variants().get(v).chromosome());
          }
        }
        for (String c : chromosomes) {
          requireGrm(o.grm() + ".chr" + c, conf, ": --loco needs the per-chromosome GRM parts written by "
              + "'lmmspark grm --per-chromosome' (or leave out --grm to compute them)");
        }
      }
    }
    return fileset;
  }

  /**
   * The route of a run, decided by {@link SolverRoute} (the one place that decides, for {@code reml},
   * {@code assoc} and {@code run}): {@code --solver spectral|matrix-free} as asked; {@code auto} by the cost
   * model over N (analysed samples), M (selected variants), the LOCO chromosomes, the covariates, the driver's
   * cores and heap and the cluster's cores ({@code clusterCores}, Spark's default parallelism), or by
   * {@code --matrix-free-above} when given. {@code in}: the GRM-free model's samples and design (null with
   * {@code --grm}, which only the spectral route reads).
   */
  public static SolverRoute.Decision route(Options o, PartitionedGenotypes genotypes, GenotypeRemlInputs.Assembled in,
      int clusterCores) {
    int n = in != null ? in.samples().size() : genotypes.samples().size();
    long m = 0;
    for (boolean keep : genotypes.include()) {
      m += keep ? 1 : 0;
    }
    SolverRoute.Request request = new SolverRoute.Request(n, m, genotypes.chromosomes().size(),
        in != null ? in.design().p() : 1, 1, o.loco(), true, !o.calibratedFor(n), o.grm() != null, o.spectralOnly(),
        Blas.driverThreads(), Math.max(1, clusterCores), Runtime.getRuntime().maxMemory(),
        o.matrixFreeAbove());
    return SolverRoute.choose(switch (o.solver()) {
      case AUTO -> null;
      case SPECTRAL -> SolverRoute.Route.SPECTRAL;
      case MATRIX_FREE -> SolverRoute.Route.MATRIX_FREE;
    }, request);
  }

  /** The route of {@link #run} for {@code o}, reading the tables it needs (the pipeline's choice of steps). */
  public static SolverRoute.Decision route(Options o, PartitionedGenotypes genotypes, Configuration conf,
      int clusterCores) {
    return route(o, genotypes, o.grm() == null ? genotypeInputs(o, genotypes, conf) : null, clusterCores);
  }

  /** The analysed samples and design of the GRM-free model: what decides the route, as for --test auto. */
  private static GenotypeRemlInputs.Assembled genotypeInputs(Options o, PartitionedGenotypes genotypes,
      Configuration conf) {
    return MatrixFreeRemlJob.assemble(o.trait(), genotypes, conf);
  }

  private static void requireGrm(String prefix, Configuration conf, String why) {
    for (String f : List.of(GctaGrmFiles.binPath(prefix), GctaGrmFiles.idPath(prefix))) {
      if (!org.lmmspark.engine.io.FileSystems.exists(f, conf)) {
        throw BadInputException.inFile(f, "missing" + why);
      }
    }
  }

  /**
   * The association run as a sequence of named stages ({@link Stages}: each timed, its Spark jobs counted,
   * one line each in the log and report): the route; on the matrix-free route {@link MatrixFreeAssocJob};
   * else the GRM (given, or computed by {@link GrmJob}), the analysed samples and design, then per null
   * model (all chromosomes, or each LOCO chromosome) its REML fit and — exact test — its scan, or —
   * calibrated test — its calibration and then one scan for all; then the outputs.
   */
  public static Result run(JavaSparkContext jsc, Options o) {
    Stages stages = new Stages(jsc, log);
    Configuration conf = jsc.hadoopConfiguration();
    PartitionedGenotypes genotypes = PartitionedGenotypes.of(checkInputs(o, conf), o.selection(), conf);
    genotypes.fileset().warnings().forEach(log::warn);
    List<String> notes = new ArrayList<>(genotypes.notes());
    GenotypeRemlInputs.Assembled in = o.grm() == null ? genotypeInputs(o, genotypes, conf) : null;
    SolverRoute.Decision route = route(o, genotypes, in, jsc.defaultParallelism());
    notes.add(route.why());
    log.info(route.why());
    if (route.route() == SolverRoute.Route.MATRIX_FREE) {
      notes.addAll(in.notes());
      notes.add(describeMatrixFree(o));
      return MatrixFreeAssocJob.run(jsc, o, genotypes, in, stages, notes);
    }
    String grmPrefix = o.grm() != null ? o.grm() : stages.run("GRM", () -> computeGrm(jsc, o, notes));
    Analysed a = stages.run("null inputs", () -> analysed(o, genotypes, grmPrefix, notes, conf),
        r -> r.problem().n() + " samples, fixed effects " + r.problem().fixedNames());
    return spectral(jsc, genotypes, grmPrefix, List.of(o), List.of(a), stages, List.of(notes)).get(0);
  }

  /**
   * The spectral route for traits over the SAME analysed samples (one trait for a single run), given their
   * options ({@code os}: alike but for the trait and the output prefix), inputs and notes: per null model (all
   * chromosomes, or each LOCO chromosome) K is eigendecomposed (exact test) or reduced to band form
   * (calibrated) ONCE and every trait's REML fitted in it; the exact scan decodes and rotates each block once
   * for all traits ({@link Mlma#testRange(List, GenotypeReader, int, int, long, boolean[], double, int, LmmTest,
   * Configuration, VariantFilterCounts)}, U broadcast once), the calibrated one decodes each block once
   * ({@link CalibratedTest#testRange(List, GenotypeReader, int, int, long, boolean[], double, int, Configuration,
   * VariantFilterCounts)}); then each trait's outputs. Each trait's results are exactly those of its own run:
   * the same decomposition, and after it the same arithmetic per trait.
   */
  static List<Result> spectral(JavaSparkContext jsc, PartitionedGenotypes genotypes, String grmPrefix,
      List<Options> os, List<Analysed> as, Stages stages, List<List<String>> notes) {
    Options o = os.get(0);
    Analysed a = as.get(0);
    Configuration conf = jsc.hadoopConfiguration();
    int traits = os.size();
    int n = a.problem().n();
    boolean calibrated = o.calibratedFor(n);
    for (List<String> mine : notes) {
      mine.add(describeTest(o, calibrated));
      mine.add("null models on the driver with " + Blas.describeDriverThreads());
      if (traits > 1) {
        mine.add(traits + " traits over these same samples share each null model's " + (calibrated
            ? "band reduction of K" : "eigendecomposition of K and the rotation of every genotype block in the scan"));
      }
    }
    int target = o.partitions() > 0 ? o.partitions() : Math.max(1, 2 * jsc.defaultParallelism());
    List<VariantRange> ranges = genotypes.ranges(target, o.loco());
    List<Scope> scopes = scopes(o, genotypes, ranges);
    int blockVariants = o.blockVariants() > 0 ? o.blockVariants() : Mlma.blockVariantsFor(n);
    List<List<NullFit>> fits = new ArrayList<>();
    List<AssocResults> all = new ArrayList<>();
    List<RemlProblem> problems = new ArrayList<>();
    for (Analysed x : as) {
      fits.add(new ArrayList<>());
      all.add(new AssocResults());
      problems.add(x.problem());
    }
    VariantFilterCounts counts = new VariantFilterCounts(n);
    int tasks = 0;
    String of = traits == 1 ? "" : " of " + traits + " traits";
    Broadcast<boolean[]> include = jsc.broadcast(genotypes.include());
    Broadcast<SerializableHadoopConf> hadoopConf = jsc.broadcast(new SerializableHadoopConf(conf));
    try {
      List<List<CalibratedModel>> calibratedModels = new ArrayList<>();
      for (int t = 0; t < traits; t++) {
        calibratedModels.add(new ArrayList<>());
      }
      for (Scope s : scopes) {
        if (calibrated) {
          // The band reduction on the driver's threads (no task runs meanwhile), in fixed tiles: the same null fit,
          // bit for bit, as reml --grm's and on any thread count. The calibration (O(N²·(k + sampled variants)):
          // rotations, inverse iteration) on one OpenBLAS thread, for the same reason: OpenBLAS's threads round
          // differently per count, and on a busy machine they wait for each other (13.3 s against 2.4 s at
          // N = 5,000 under a load of 7.5 on 2 cores).
          List<BandNull> bandNulls = stages.run("null model" + of + " (" + s.label() + ")", () -> Blas.onAllCores(
              () -> fitBandNulls(problems, s.relationship(a, genotypes, grmPrefix, conf), s.label(), fits)));
          for (int t = 0; t < traits; t++) {
            int ti = t;
            calibratedModels.get(t).add(stages.run("calibration (" + s.label() + (traits == 1 ? "" : ", "
                + as.get(t).trait()) + ")", () -> Blas.withThreads(1, () -> calibrate(bandNulls.get(ti), a.famRows(),
                os.get(ti), genotypes.fileset(), genotypes.include(), s.chromosome(), fits.get(ti), conf))));
          }
        } else {
          List<NullModel> models = stages.run("null model" + of + " (" + s.label() + ")", () -> Blas.onAllCores(
              () -> fitNulls(problems, s.relationship(a, genotypes, grmPrefix, conf), a.famRows(), s.label(), fits,
                  o.statistic())));
          int[] before = all.stream().mapToInt(AssocResults::size).toArray();
          tasks += stages.run("scan (" + s.label() + ")", () -> scan(jsc, models, s.ranges(), include, hadoopConf, o,
              genotypes.reader(), blockVariants, all, counts));
          for (int t = 0; t < traits; t++) {
            List<NullFit> f = fits.get(t);
            f.set(f.size() - 1, withTested(f.get(f.size() - 1), all.get(t).size() - before[t]));
          }
        }
      }
      if (calibrated) {
        long[][] tested = new long[traits][scopes.size()];
        tasks += stages.run("scan", () -> scanCalibrated(jsc, calibratedModels,
            scopes.stream().map(Scope::ranges).toList(), include, hadoopConf, o, genotypes.reader(), blockVariants, all,
            counts, tested));
        for (int t = 0; t < traits; t++) {
          for (int c = 0; c < scopes.size(); c++) {
            fits.get(t).set(c, withTested(fits.get(t).get(c), tested[t][c]));
          }
        }
      }
    } finally {
      include.destroy();
      hadoopConf.destroy();
    }
    if (all.get(0).size() == 0) {
      // Before anything is written: an empty table would give λGC = NaN and a report of nothing.
      throw new BadInputException(genotypes.fileset().variantsPath() + ": no variant tested: " + counts
          + "; lower --maf");
    }
    List<Result> results = new ArrayList<>();
    for (int t = 0; t < traits; t++) {
      AssocTable table = AssocTable.of(all.get(t), genotypes.fileset().variants(), o.statistic() != LmmTest.MLMA);
      log.info("{}: {} variants tested ({}), λGC = {}", as.get(t).trait(), table.size(), counts,
          String.format("%.4f", table.lambdaGc()));
      results.add(finish(jsc, os.get(t), stages, as.get(t).trait(), n, as.get(t).problem().fixedNames(), fits.get(t),
          table, counts, tasks, notes.get(t), calibrated, Solver.SPECTRAL, null));
    }
    return results;
  }

  /** The matrix-free route's line in the log and report: what is cached, which test, how γ is sampled. */
  static String describeMatrixFree(Options o) {
    return String.format("matrix-free: no GRM, genotypes cached once for REML, LOCO solves and the test; calibrated "
        + "test (k = 0)%s, γ from %d sampled variant(s)%s (seed %d)", o.statistic() == LmmTest.F
            ? ", F with the ratio fixed and the scale re-estimated per variant" : "",
        o.calibrationVariantsOr(MatrixFreeAssocJob.CALIBRATION_VARIANTS),
        o.loco() ? " in all, spread over the chromosomes in proportion to their variants (at least one each), pooled"
            : "", CALIBRATION_SEED);
  }

  /**
   * The outputs written ({@link AssocOutputs}, as the stage "outputs") and the result: times per kind of
   * stage (GRM; null models with their inputs and, matrix-free, the LOCO solve; scan with calibration)
   * from {@code stages}. {@code hsq}: the whole-genome REML in GCTA's layout, or null.
   */
  static Result finish(JavaSparkContext jsc, Options o, Stages stages, String trait, int n, List<String> fixedEffects,
      List<NullFit> fits, AssocTable table, VariantFilterCounts counts, int tasks, List<String> notes,
      boolean calibrated, Solver solver, String hsq) {
    double lambda = table.lambdaGc();
    double grmSeconds = stages.seconds("GRM");
    double nullSeconds = stages.seconds("null") + stages.seconds("REML") + stages.seconds("LOCO");
    double scanSeconds = stages.seconds("scan") + stages.seconds("calibration") + stages.seconds("test pass");
    Result partial = new Result(trait, n, fixedEffects, fits, table, counts, lambda, tasks, grmSeconds, nullSeconds,
        scanSeconds, 0, notes, List.of(), calibrated, solver, stages.lines());
    List<String> outputs = stages.run("outputs", () -> AssocOutputs.write(jsc, o, partial, hsq));
    return new Result(trait, n, fixedEffects, fits, table, counts, lambda, tasks, grmSeconds, nullSeconds, scanSeconds,
        stages.elapsed(), notes, outputs, calibrated, solver, stages.lines());
  }

  /** The GRM over the kept samples and selected variants, as the scan tests them, written to {@code out.grm.*}. */
  private static String computeGrm(JavaSparkContext jsc, Options o, List<String> notes) {
    GrmJob.Result g = GrmJob.run(jsc, new GrmJob.Options(o.genotypes(), o.out(), o.maf(), o.selection(),
        o.loco(), 4096, 1L << 30, 0, o.kernel()));
    notes.add(String.format("GRM (--kernel %s) computed from %s: %s; written to %s%s", o.kernel().option(),
        o.genotypes().label(), g.counts(), GctaGrmFiles.binPath(o.out()), o.loco() ? " with per-chromosome parts" : ""));
    return o.out();
  }

  /**
   * The spectral route's analysed samples: the GRM (restricted to the genotyped, kept samples) matched
   * with the phenotype and covariates ({@link RemlInputs}), with the rows of each sample in the genotypes
   * ({@code famRows}) and in the GRM ({@code grmRows}).
   */
  record Analysed(RemlProblem problem, String trait, Grm genotyped, int[] famRows, int[] grmRows) {}

  private static Analysed analysed(Options o, PartitionedGenotypes genotypes, String grmPrefix, List<String> notes,
      Configuration conf) {
    return analysed(o, genotypes, restrictToFam(GctaGrmFiles.read(grmPrefix, conf), genotypes, notes, grmPrefix),
        grmPrefix, notes, conf);
  }

  /** As above with the GRM already read and restricted to the genotyped, kept samples ({@code genotyped}). */
  static Analysed analysed(Options o, PartitionedGenotypes genotypes, Grm genotyped, String grmPrefix,
      List<String> notes, Configuration conf) {
    return analysed(o, genotypes, genotyped, grmPrefix, notes, genotypes.traitTables(o.trait(), conf));
  }

  /** As above, the trait's tables from {@code read} ({@link PartitionedGenotypes#traitTables}). */
  static Analysed analysed(Options o, PartitionedGenotypes genotypes, Grm genotyped, String grmPrefix,
      List<String> notes, TraitTables.Read read) {
    GenotypeSource fileset = genotypes.fileset();
    TraitTables.Tables tables = read.forTrait(o.trait());
    RemlInputs.Assembled assembled = RemlInputs.withGrm(tables, grmPrefix, genotyped);
    notes.addAll(assembled.notes());
    log.info("{} samples analysed for '{}', fixed effects {}", assembled.problem().n(), assembled.design().trait(),
        assembled.problem().fixedNames());
    return new Analysed(assembled.problem(), assembled.design().trait(), genotyped,
        GenotypeRows.of(assembled.samples(), fileset), assembled.relationshipRows(0));
  }

  /**
   * The {@code .fam} rows of the samples {@link #analysed} keeps for the trait, and its notes, without building the
   * trait's problem (K restricted to those samples, n² doubles).
   */
  static int[] analysedRows(Options o, PartitionedGenotypes genotypes, Grm genotyped, String grmPrefix,
      List<String> notes, TraitTables.Read read) {
    SampleFrame frame = RemlInputs.frameWithGrm(read.forTrait(o.trait()), grmPrefix, genotyped);
    notes.addAll(frame.notes());
    return GenotypeRows.of(frame.records(), genotypes.fileset());
  }

  /**
   * One null model's scope: all chromosomes ({@code chromosome} null), or LOCO chromosome c, whose
   * variants ({@code ranges}) are tested against {@code K_{−c}}.
   */
  record Scope(String label, String chromosome, List<VariantRange> ranges) {
    /** K of this scope over the analysed samples: the GRM, or {@code K_{−c}} from the chromosome's GRM part. */
    VarianceComponent relationship(Analysed a, PartitionedGenotypes genotypes, String grmPrefix, Configuration conf) {
      if (chromosome == null) {
        return a.problem().components().get(0);
      }
      String partPrefix = grmPrefix + ".chr" + chromosome;
      if (!org.lmmspark.engine.io.FileSystems.exists(GctaGrmFiles.binPath(partPrefix), conf)) {
        throw BadInputException.inFile(GctaGrmFiles.binPath(partPrefix), "missing: --loco needs the per-chromosome "
            + "GRM parts written by 'lmmspark grm --per-chromosome' (or leave out --grm to compute them)");
      }
      Grm part = restrictToFam(GctaGrmFiles.read(partPrefix, conf), genotypes, new ArrayList<>(), partPrefix);
      Grm loco = LocoGrm.leaveOut(a.genotyped(), part, GctaGrmFiles.binPath(partPrefix));
      return new VarianceComponent("G-chr" + chromosome, Components.relationship(loco, a.grmRows()));
    }
  }

  private static List<Scope> scopes(Options o, PartitionedGenotypes genotypes, List<VariantRange> ranges) {
    if (!o.loco()) {
      return List.of(new Scope("all chromosomes", null, ranges));
    }
    List<String> chromosomes = genotypes.chromosomes();
    List<Scope> scopes = new ArrayList<>();
    for (int c = 0; c < chromosomes.size(); c++) {
      int ci = c;
      scopes.add(new Scope("LOCO chromosome " + chromosomes.get(c), chromosomes.get(c),
          ranges.stream().filter(r -> r.chromosome() == ci).toList()));
    }
    return scopes;
  }

  private static String describeTest(Options o, boolean calibrated) {
    return calibrated
        ? String.format("test: calibrated O(N) MLMA (--test %s; auto switches at N ≥ %d), γ from %d sampled variants "
            + "per null model (seed %d), %d leading eigenvectors of K exact", o.test().name().toLowerCase(),
            AUTO_CALIBRATED_SAMPLES, o.calibrationVariantsOr(Calibration.DEFAULT_VARIANTS), CALIBRATION_SEED,
            o.calibrationEigenvectors())
        : o.statistic() != LmmTest.MLMA ? "test: --test " + o.statistic().option() + ": " + o.statistic().description()
        : String.format("test: exact MLMA by spectral rotation (--test %s; auto switches to calibrated at N ≥ %d)",
            o.test().name().toLowerCase(), AUTO_CALIBRATED_SAMPLES);
  }

  /** The γ of the calibrated null models among {@code fits}. */
  static List<Calibration.Gamma> gammas(List<NullFit> fits) {
    return fits.stream().map(NullFit::gamma).filter(x -> x != null).toList();
  }

  private static NullFit withTested(NullFit f, long tested) {
    return new NullFit(f.scope(), f.samples(), f.sigmaG(), f.sigmaE(), f.h2(), f.h2Se(), f.logL(), f.boundary(), tested,
        f.gamma(), f.eigenvectors());
  }

  /**
   * The seeded random order in which variants are drawn to calibrate the null of {@code chromosome}
   * (null: all chromosomes), among those {@code include} keeps: the same sample whatever the route
   * (band-form null or GRM-free) and however the scan is partitioned.
   */
  static int[] calibrationOrder(List<org.lmmspark.engine.io.Variant> variants, boolean[] include, String chromosome) {
    int[] candidates = java.util.stream.IntStream.range(0, variants.size())
        .filter(v -> (include == null || include[v]) && (chromosome == null || variants.get(v).chromosome().equals(chromosome)))
        .toArray();
    return Calibration.shuffled(candidates, CALIBRATION_SEED + (chromosome == null ? 0 : chromosome.hashCode()));
  }

  /**
   * The calibrated model of one null fitted in band form, on the driver: γ from a seeded sample of the
   * variants the model will test ({@code chromosome} null: all), read at their own offsets and rotated
   * exactly ({@code 2N²} flops each), the residual {@code Py} and the leading eigenvectors of K
   * ({@link Calibration#fromBand}). Records γ in the fit.
   */
  static CalibratedModel calibrate(BandNull bandNull, int[] famRows, Options o, GenotypeSource fileset,
      boolean[] include, String chromosome, List<NullFit> fits, Configuration conf) {
    DosageBlock sample = Calibration.readSample(fileset, famRows,
        calibrationOrder(fileset.variants(), include, chromosome), o.calibrationVariantsOr(Calibration.DEFAULT_VARIANTS),
        o.maf(), conf);
    if (sample.m == 0) {
      throw new BadInputException(fileset.variantsPath() + ": no testable variant"
          + (chromosome == null ? "" : " on chromosome " + chromosome) + " to calibrate the test with");
    }
    RemlProblem problem = bandNull.problem();
    int k = Math.min(o.calibrationEigenvectors(), problem.n() - 1);
    String label = chromosome == null ? "all chromosomes" : "LOCO chromosome " + chromosome;
    CalibratedModel cal = Calibration.fromBand(problem, bandNull.band(), bandNull.fit(), famRows, sample, k, label);
    NullFit f = fits.get(fits.size() - 1);
    fits.set(fits.size() - 1, new NullFit(f.scope(), f.samples(), f.sigmaG(), f.sigmaE(), f.h2(), f.h2Se(), f.logL(),
        f.boundary(), f.variantsTested(), cal.gamma(), k));
    log.info("calibration ({}): {}, {} eigenvectors exact, γ₀ = {}; broadcast {} KiB", label, cal.gamma(), k,
        String.format("%.5g", cal.gamma0()), cal.approximateBytes() >> 10);
    return cal;
  }

  /**
   * One Spark job for all calibrated null models of all traits (over the same samples): the models
   * ({@code O(N·(1 + k + p))} each) broadcast once, one task per variant range, each range decoded once and
   * tested against the model of its chromosome of every trait ({@code models.get(trait).get(scope)}).
   */
  private static int scanCalibrated(JavaSparkContext jsc, List<List<CalibratedModel>> models,
      List<List<VariantRange>> rangesPerModel, Broadcast<boolean[]> include, Broadcast<SerializableHadoopConf> hadoopConf,
      Options o, GenotypeReader reader, int blockVariants, List<AssocResults> all, VariantFilterCounts counts,
      long[][] tested) {
    List<int[]> work = new ArrayList<>();
    List<VariantRange> ranges = new ArrayList<>();
    for (int mi = 0; mi < rangesPerModel.size(); mi++) {
      for (VariantRange r : rangesPerModel.get(mi)) {
        work.add(new int[] {mi, ranges.size()});
        ranges.add(r);
      }
    }
    if (ranges.isEmpty()) {
      return 0;
    }
    ArrayList<ArrayList<CalibratedModel>> perScope = new ArrayList<>();
    for (int mi = 0; mi < rangesPerModel.size(); mi++) {
      ArrayList<CalibratedModel> scope = new ArrayList<>();
      for (List<CalibratedModel> trait : models) {
        scope.add(trait.get(mi));
      }
      perScope.add(scope);
    }
    Broadcast<ArrayList<ArrayList<CalibratedModel>>> bc = jsc.broadcast(perScope);
    double maf = o.maf();
    int n = models.get(0).get(0).n();
    List<VariantRange> rangeList = ranges;
    try {
      List<RangeResult> results = jsc.parallelize(work, work.size()).map(w -> {
        VariantRange r = rangeList.get(w[1]);
        VariantFilterCounts c = new VariantFilterCounts(n);
        List<AssocResults> res = CalibratedTest.testRange(bc.value().get(w[0]), reader, r.first(), r.end(),
            r.position(), include.value(), maf, blockVariants, hadoopConf.value().get(), c);
        return new RangeResult(w[0], new ArrayList<>(res), c);
      }).collect();
      for (RangeResult rr : results) {
        counts.merge(rr.counts());
        for (int t = 0; t < all.size(); t++) {
          all.get(t).addAll(rr.results().get(t));
          tested[t][rr.range()] += rr.results().get(t).size();
        }
      }
      return ranges.size();
    } finally {
      bc.destroy();
    }
  }

  /**
   * REML of the null model of every trait (over the same samples) with one relationship matrix in its
   * eigenbasis, K decomposed once ({@code O(N³)}), then each trait's broadcastable exact model, all sharing
   * the float eigenvectors; each trait's fit appended to its list of {@code fits}.
   */
  static List<NullModel> fitNulls(List<RemlProblem> bases, VarianceComponent k, int[] famRows, String scope,
      List<List<NullFit>> fits, LmmTest statistic) {
    if (statistic == LmmTest.LRT || statistic == LmmTest.SCORE) {
      // GEMMA centers K over the analysed samples; its ML-based tests depend on it, the REML fit does not.
      k = new VarianceComponent(k.name(), DenseSymmetricMatrix.centered(k.covariance()));
    }
    SpectralReml.Eigen eigen = SpectralReml.decompose(k.covariance());
    List<NullModel> models = new ArrayList<>();
    for (int t = 0; t < bases.size(); t++) {
      RemlProblem base = bases.get(t);
      RemlProblem problem = new RemlProblem(base.y(), base.x(), base.fixedNames(), List.of(k));
      RemlFit fit = new SpectralReml().fit(problem, eigen);
      record(problem, fit, scope, fits.get(t));
      models.add(NullModel.of(problem, eigen, fit.theta()[0], fit.theta()[1], famRows, scope,
          models.isEmpty() ? null : models.get(0)));
    }
    return models;
  }

  /** REML of every trait's null model (over the same samples) in K's band form, K reduced once. */
  static List<BandNull> fitBandNulls(List<RemlProblem> bases, VarianceComponent k, String scope,
      List<List<NullFit>> fits) {
    SpectralReml.Band band = null;
    List<BandNull> out = new ArrayList<>();
    for (int t = 0; t < bases.size(); t++) {
      RemlProblem base = bases.get(t);
      RemlProblem problem = new RemlProblem(base.y(), base.x(), base.fixedNames(), List.of(k));
      RemlFit fit;
      if (band == null) {
        // The first trait's fit is made with the reduction (as reml --grm's).
        SpectralReml.Fitted fitted = new SpectralReml().fitReducing(problem);
        band = fitted.band();
        fit = fitted.fit();
      } else {
        fit = new SpectralReml().fit(problem, band);
      }
      record(problem, fit, scope, fits.get(t));
      out.add(new BandNull(problem, band, fit));
    }
    return out;
  }

  /** A null fitted in K's band form (no eigendecomposition), what the calibrated model is built from. */
  record BandNull(RemlProblem problem, SpectralReml.Band band, RemlFit fit) {}

  private static void record(RemlProblem problem, RemlFit fit, String scope, List<NullFit> fits) {
    double sg = fit.theta()[0];
    double se = fit.theta()[1];
    VarianceSummary.Row h2Row = VarianceSummary.ratio(fit, 0);
    double h2 = h2Row.value();
    double h2Se = h2Row.se();
    boolean boundary = fit.boundary()[0] || fit.boundary()[1];
    fits.add(new NullFit(scope, problem.n(), sg, se, h2, h2Se, fit.logL(), boundary, 0, null, 0));
    log.info("null model ({}): σ²_g = {}, σ²_e = {}, h² = {} ({}); {}", scope, String.format("%.5g", sg),
        String.format("%.5g", se), String.format("%.4f", h2), String.format("%.4f", h2Se), fit.message());
  }

  /**
   * One Spark job: the null models of the traits (sharing U) broadcast once, one task per variant range, each
   * block decoded and rotated once for all of them. Returns the number of tasks.
   */
  private static int scan(JavaSparkContext jsc, List<NullModel> models, List<VariantRange> ranges,
      Broadcast<boolean[]> include, Broadcast<SerializableHadoopConf> hadoopConf, Options o, GenotypeReader reader,
      int blockVariants, List<AssocResults> all, VariantFilterCounts counts) {
    if (ranges.isEmpty()) {
      return 0;
    }
    Broadcast<ArrayList<NullModel>> nullModels = jsc.broadcast(new ArrayList<>(models));
    double maf = o.maf();
    LmmTest statistic = o.statistic();
    int n = models.get(0).n();
    try {
      List<RangeResult> results = jsc.parallelize(ranges, ranges.size()).map(r -> {
        VariantFilterCounts c = new VariantFilterCounts(n);
        List<AssocResults> res = Mlma.testRange(nullModels.value(), reader, r.first(), r.end(), r.position(),
            include.value(), maf, blockVariants, statistic, hadoopConf.value().get(), c);
        return new RangeResult(r.index(), new ArrayList<>(res), c);
      }).collect();
      for (RangeResult rr : results) {
        counts.merge(rr.counts());
        for (int t = 0; t < all.size(); t++) {
          all.get(t).addAll(rr.results().get(t));
        }
      }
      return ranges.size();
    } finally {
      nullModels.destroy();
    }
  }

  /** One range's results, per trait. */
  record RangeResult(int range, ArrayList<AssocResults> results, VariantFilterCounts counts) implements Serializable {}

  /**
   * The GRM restricted to the samples that have genotypes in the {@code .fam} and are kept by
   * {@code --keep/--remove} ({@link PartitionedGenotypes#samples()}; a GRM given with --grm may hold
   * more); the same matrix when all do.
   */
  static Grm restrictToFam(Grm grm, PartitionedGenotypes genotypes, List<String> notes, String source) {
    Grm kept = grm.restrictTo(new java.util.HashSet<>(genotypes.samples()));
    if (kept == null) {
      throw BadInputException.inFile(GctaGrmFiles.idPath(source), "none of its samples is in "
          + genotypes.fileset().samplesPath() + " (do the FID/IID match?)");
    }
    if (kept != grm) {
      notes.add(GctaGrmFiles.idPath(source) + ": " + (grm.size() - kept.size())
          + " GRM sample(s) without genotypes in the .fam (or not kept by --keep/--remove) are not analysed");
    }
    return kept;
  }

}
