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
import org.lmmspark.engine.pheno.SampleTable;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.engine.reml.Components;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlInputs;
import org.lmmspark.engine.reml.RemlProblem;
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
      NumericRange.atLeast("--calibration-variants", calibrationVariants, 1);
      NumericRange.atLeast("--calibration-eigenvectors", calibrationEigenvectors, 0);
      NumericRange.atLeast("--partitions", partitions, 0);
      NumericRange.atLeast("--block-variants", blockVariants, 0);
      NumericRange.atLeast("--matrix-free-above", matrixFreeAbove, 0);
      if (probes != 0) { // 0: the REML default
        NumericRange.atLeast("--probes", probes, 2);
      }
      if (solver == Solver.MATRIX_FREE) {
        if (grm != null) {
          throw new BadInputException("--solver matrix-free works from the genotypes and never reads a GRM: "
              + "drop --grm, or use --solver spectral");
        }
        if (statistic != LmmTest.MLMA || test == Test.EXACT) {
          throw new BadInputException("--solver matrix-free runs the calibrated O(N) MLMA test: --exact, --test "
              + "exact|wald|f|lrt|score need the spectral solver (a GRM and its eigendecomposition)");
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
          calibrationEigenvectors, partitions, blockVariants, Solver.AUTO, DEFAULT_MATRIX_FREE_ABOVE, 0);
    }

    /** The defaults for the calibration: {@link Calibration#DEFAULT_VARIANTS} variants, {@link #DEFAULT_EIGENVECTORS} eigenvectors. */
    public Options(GenotypeInput genotypes, String pheno, String phenoName, String covar, String qcovar, String grm,
        String out, boolean loco, double maf, boolean exact, Test test, int partitions, int blockVariants) {
      this(genotypes, pheno, phenoName, covar, qcovar, grm, out, loco, maf, exact, test, Calibration.DEFAULT_VARIANTS,
          DEFAULT_EIGENVECTORS, partitions, blockVariants);
    }

    /** Whether the calibrated O(N) test runs for {@code n} analysed samples. */
    public boolean calibratedFor(int n) {
      return statistic == LmmTest.MLMA && (test == Test.CALIBRATED || (test == Test.AUTO && n >= AUTO_CALIBRATED_SAMPLES));
    }

    /**
     * Whether the matrix-free route runs for {@code n} analysed samples: asked for, or {@code auto} with
     * no GRM given, more than {@code matrixFreeAbove} samples and no exact test asked for.
     */
    public boolean matrixFreeFor(int n) {
      return solver == Solver.MATRIX_FREE
          || (solver == Solver.AUTO && grm == null && n > matrixFreeAbove && statistic == LmmTest.MLMA
              && test != Test.EXACT);
    }
  }

  /**
   * How the null model is fitted: {@code SPECTRAL} a GRM (given or computed) and its eigendecomposition
   * ({@code O(N³)}, exact and calibrated tests); {@code MATRIX_FREE} no GRM at all, REML and LOCO
   * residuals from genotype passes ({@link MatrixFreeAssocJob}, calibrated test); {@code AUTO}
   * matrix-free when no GRM is given and N is above the threshold.
   */
  public enum Solver { AUTO, SPECTRAL, MATRIX_FREE }

  /**
   * Default {@code --matrix-free-above}: above this many analysed samples (and with no {@code --grm})
   * the matrix-free route is taken, as for {@code lmmspark reml}. At N = 20,000 the GRM is 1.6 GB of
   * doubles on the driver and its eigendecomposition ~10 minutes on two cores (per LOCO chromosome).
   */
  public static final int DEFAULT_MATRIX_FREE_ABOVE = 20000;

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
   * Whether {@link #run} takes the matrix-free route: asked for, or {@code auto} with no GRM given and
   * more analysed samples (phenotype ∩ covariates ∩ .fam) than {@code matrixFreeAbove}.
   *
   * @param genotypes {@code o.genotypes()}, already opened by the caller (opening reads the variant list)
   */
  public static boolean takesMatrixFreeRoute(Options o, PartitionedGenotypes genotypes, Configuration conf) {
    if (o.solver() == Solver.SPECTRAL || o.grm() != null) {
      return false;
    }
    return o.solver() == Solver.MATRIX_FREE
        || o.matrixFreeFor(genotypeInputs(o, genotypes, conf).samples().size());
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

  public static Result run(JavaSparkContext jsc, Options o) {
    long start = System.nanoTime();
    Configuration conf = jsc.hadoopConfiguration();
    PartitionedGenotypes genotypes = PartitionedGenotypes.of(checkInputs(o, conf), o.selection(), conf);
    GenotypeSource fileset = genotypes.fileset();
    fileset.warnings().forEach(log::warn);
    List<String> notes = new ArrayList<>(genotypes.notes());
    if (o.solver() != Solver.SPECTRAL && o.grm() == null) {
      GenotypeRemlInputs.Assembled in = genotypeInputs(o, genotypes, conf);
      if (o.matrixFreeFor(in.samples().size())) {
        notes.addAll(in.notes());
        notes.add(String.format("solver: matrix-free (--solver %s; auto above %d analysed samples without --grm): no GRM, "
            + "genotypes cached once for REML, LOCO solves and the test; calibrated test (k = 0), γ from %d sampled "
            + "variant(s) %s (seed %d)", o.solver().name().toLowerCase().replace('_', '-'), o.matrixFreeAbove(),
            o.calibrationVariants(), o.loco() ? "in all, at least " + MatrixFreeAssocJob.MIN_SAMPLE_PER_CHROMOSOME
                + " per chromosome" : "", CALIBRATION_SEED));
        return MatrixFreeAssocJob.run(jsc, o, genotypes, in, start, notes);
      }
    }

    String grmPrefix = o.grm();
    double grmSeconds = 0;
    if (grmPrefix == null) {
      grmPrefix = o.out();
      // The GRM over the kept samples and selected variants, as the scan tests them.
      GrmJob.Result g = GrmJob.run(jsc, new GrmJob.Options(o.genotypes(), grmPrefix, o.maf(), o.selection(),
          o.loco(), 4096, 1L << 30, 0, o.kernel()));
      grmSeconds = g.seconds();
      notes.add(String.format("GRM (--kernel %s) computed from %s: %s; written to %s%s", o.kernel().option(),
          o.genotypes().label(), g.counts(),
          GctaGrmFiles.binPath(grmPrefix), o.loco() ? " with per-chromosome parts" : ""));
    }
    long nullStart = System.nanoTime();
    Grm grm = GctaGrmFiles.read(grmPrefix, conf);
    Grm genotyped = restrictToFam(grm, genotypes, notes, grmPrefix);
    TraitTables.Tables tables = TraitTables.read(o.trait(), fileset.famPath(), genotypes.samples(),
        fileset.samplesPath(), false, conf);
    SampleTable covar = tables.covar();
    SampleTable qcovar = tables.qcovar();
    RemlInputs.Assembled assembled = RemlInputs.assemble(new RemlInputs.Spec(
        List.of(new RemlInputs.Relationship("G", grmPrefix, genotyped, true)), false, tables.pheno(), tables.trait(),
        covar, qcovar, List.of()));
    notes.addAll(assembled.notes());
    RemlProblem problem = assembled.problem();
    int[] famRows = GenotypeRows.of(assembled.samples(), fileset);
    int relInput = 1 + (covar == null ? 0 : 1) + (qcovar == null ? 0 : 1);
    int[] grmRows = assembled.match().rowsIn(relInput);
    int n = problem.n();
    log.info("{} samples analysed for '{}', fixed effects {}", n, assembled.design().trait(), problem.fixedNames());

    int target = o.partitions() > 0 ? o.partitions() : Math.max(1, 2 * jsc.defaultParallelism());
    List<VariantRange> ranges = genotypes.ranges(target, o.loco());
    List<String> chromosomes = genotypes.chromosomes();
    int blockVariants = o.blockVariants() > 0 ? o.blockVariants() : Mlma.blockVariantsFor(n);

    boolean calibrated = o.calibratedFor(n);
    notes.add(calibrated
        ? String.format("test: calibrated O(N) MLMA (--test %s; auto switches at N ≥ %d), γ from %d sampled variants "
            + "per null model (seed %d), %d leading eigenvectors of K exact", o.test().name().toLowerCase(),
            AUTO_CALIBRATED_SAMPLES, o.calibrationVariants(), CALIBRATION_SEED, o.calibrationEigenvectors())
        : o.statistic() != LmmTest.MLMA ? "test: --test " + o.statistic().option() + ": " + o.statistic().description()
        : String.format("test: exact MLMA by spectral rotation (--test %s; auto switches to calibrated at N ≥ %d)",
            o.test().name().toLowerCase(), AUTO_CALIBRATED_SAMPLES));
    List<CalibratedModel> calibratedModels = new ArrayList<>();
    List<List<VariantRange>> calibratedRanges = new ArrayList<>();
    List<NullFit> fits = new ArrayList<>();
    AssocResults all = new AssocResults();
    VariantFilterCounts counts = new VariantFilterCounts(n);
    double nullSeconds = 0;
    double scanSeconds = 0;
    int tasks = 0;
    Broadcast<boolean[]> include = jsc.broadcast(genotypes.include());
    Broadcast<SerializableHadoopConf> hadoopConf = jsc.broadcast(new SerializableHadoopConf(conf));
    try {
      if (!o.loco()) {
        long t = System.nanoTime();
        VarianceComponent k = problem.components().get(0);
        if (calibrated) {
          BandNull bandNull = fitBandNull(problem, k, "all chromosomes", fits);
          nullSeconds += (System.nanoTime() - t) / 1e9 + (t - nullStart) / 1e9;
          t = System.nanoTime();
          calibratedModels.add(calibrate(bandNull, famRows, o, fileset, genotypes.include(), null, fits, conf));
          calibratedRanges.add(ranges);
          scanSeconds += (System.nanoTime() - t) / 1e9;
        } else {
          NullModel model = fitNull(problem, k, famRows, "all chromosomes", fits, o.statistic());
          nullSeconds += (System.nanoTime() - t) / 1e9 + (t - nullStart) / 1e9;
          t = System.nanoTime();
          tasks += scan(jsc, model, ranges, include, hadoopConf, o, genotypes.reader(), blockVariants, all, counts);
          scanSeconds += (System.nanoTime() - t) / 1e9;
          fits.set(0, withTested(fits.get(0), all.size()));
        }
      } else {
        nullSeconds += (System.nanoTime() - nullStart) / 1e9;
        for (int c = 0; c < chromosomes.size(); c++) {
          String chr = chromosomes.get(c);
          int ci = c;
          List<VariantRange> mine = ranges.stream().filter(r -> r.chromosome() == ci).toList();
          long t = System.nanoTime();
          String partPrefix = grmPrefix + ".chr" + chr;
          if (!org.lmmspark.engine.io.FileSystems.exists(GctaGrmFiles.binPath(partPrefix), conf)) {
            throw BadInputException.inFile(GctaGrmFiles.binPath(partPrefix), "missing: --loco needs the per-chromosome "
                + "GRM parts written by 'lmmspark grm --per-chromosome' (or leave out --grm to compute them)");
          }
          Grm part = GctaGrmFiles.read(partPrefix, conf);
          Grm loco = LocoGrm.leaveOut(genotyped, restrictToFam(part, genotypes, new ArrayList<>(), partPrefix),
              GctaGrmFiles.binPath(partPrefix));
          VarianceComponent k = new VarianceComponent("G-chr" + chr, Components.relationship(loco, grmRows));
          if (calibrated) {
            BandNull bandNull = fitBandNull(problem, k, "LOCO chromosome " + chr, fits);
            nullSeconds += (System.nanoTime() - t) / 1e9;
            t = System.nanoTime();
            calibratedModels.add(calibrate(bandNull, famRows, o, fileset, genotypes.include(), chr, fits, conf));
            calibratedRanges.add(mine);
            scanSeconds += (System.nanoTime() - t) / 1e9;
            continue;
          }
          NullModel model = fitNull(problem, k, famRows, "LOCO chromosome " + chr, fits, o.statistic());
          nullSeconds += (System.nanoTime() - t) / 1e9;
          t = System.nanoTime();
          int before = all.size();
          tasks += scan(jsc, model, mine, include, hadoopConf, o, genotypes.reader(), blockVariants, all, counts);
          scanSeconds += (System.nanoTime() - t) / 1e9;
          fits.set(fits.size() - 1, withTested(fits.get(fits.size() - 1), all.size() - before));
        }
      }
      if (calibrated) {
        long t = System.nanoTime();
        long[] tested = new long[calibratedModels.size()];
        tasks += scanCalibrated(jsc, calibratedModels, calibratedRanges, include, hadoopConf, o, genotypes.reader(),
            blockVariants, all, counts, tested);
        scanSeconds += (System.nanoTime() - t) / 1e9;
        for (int c = 0; c < tested.length; c++) {
          fits.set(c, withTested(fits.get(c), tested[c]));
        }
      }
    } finally {
      include.destroy();
      hadoopConf.destroy();
    }
    if (all.size() == 0) {
      // Before anything is written: an empty table would give λGC = NaN and a report of nothing.
      throw new BadInputException(fileset.variantsPath() + ": no variant tested: " + counts
          + "; lower --maf");
    }
    AssocTable table = AssocTable.of(all, fileset.variants(), o.statistic() != LmmTest.MLMA);
    double lambda = table.lambdaGc();
    log.info("{} variants tested ({}), λGC = {}", table.size(), counts, String.format("%.4f", lambda));
    Result partial = new Result(assembled.design().trait(), n, problem.fixedNames(), fits, table, counts, lambda, tasks,
        grmSeconds, nullSeconds, scanSeconds, 0, notes, List.of(), calibrated, Solver.SPECTRAL, List.of());
    List<String> outputs = AssocOutputs.write(jsc, o, partial, null);
    double seconds = (System.nanoTime() - start) / 1e9;
    return new Result(partial.trait(), n, problem.fixedNames(), fits, table, counts, lambda, tasks, grmSeconds,
        nullSeconds, scanSeconds, seconds, notes, outputs, calibrated, Solver.SPECTRAL, List.of());
  }

  /**
   * γ across the null models (LOCO chromosomes): range, SD of the γ_c across models against the mean
   * standard error of each γ_c (their sampling error), and the median CV of the per-variant ratio
   * (the typical relative error of a χ²). Null with fewer than two calibrated models.
   */
  static String gammaSpread(List<NullFit> fits) {
    List<Calibration.Gamma> g = fits.stream().map(NullFit::gamma).filter(x -> x != null).toList();
    if (g.size() < 2) {
      return null;
    }
    double mean = 0;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    double se = 0;
    for (Calibration.Gamma x : g) {
      mean += x.mean() / g.size();
      min = Math.min(min, x.mean());
      max = Math.max(max, x.mean());
      se += (Double.isNaN(x.seOfMean()) ? 0 : x.seOfMean()) / g.size();
    }
    double ss = 0;
    for (Calibration.Gamma x : g) {
      ss += (x.mean() - mean) * (x.mean() - mean);
    }
    double[] cvs = g.stream().mapToDouble(Calibration.Gamma::cv).sorted().toArray();
    return String.format(java.util.Locale.ROOT, "γ across %d null models: mean %.6g, range %.6g–%.6g, SD across models "
        + "%.3g (mean standard error of one γ_c %.3g); median CV of the per-variant ratio %.4f", g.size(), mean, min, max,
        Math.sqrt(ss / (g.size() - 1)), se, cvs[cvs.length / 2]);
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
        calibrationOrder(fileset.variants(), include, chromosome), o.calibrationVariants(), o.maf(), conf);
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
   * One Spark job for all calibrated null models: the models ({@code O(N·(1 + k + p))} each) broadcast
   * once, one task per variant range, each range tested against the model of its chromosome.
   */
  private static int scanCalibrated(JavaSparkContext jsc, List<CalibratedModel> models,
      List<List<VariantRange>> rangesPerModel, Broadcast<boolean[]> include, Broadcast<SerializableHadoopConf> hadoopConf,
      Options o, GenotypeReader reader, int blockVariants, AssocResults all, VariantFilterCounts counts, long[] tested) {
    List<int[]> work = new ArrayList<>();
    List<VariantRange> ranges = new ArrayList<>();
    for (int mi = 0; mi < models.size(); mi++) {
      for (VariantRange r : rangesPerModel.get(mi)) {
        work.add(new int[] {mi, ranges.size()});
        ranges.add(r);
      }
    }
    if (ranges.isEmpty()) {
      return 0;
    }
    Broadcast<ArrayList<CalibratedModel>> bc = jsc.broadcast(new ArrayList<>(models));
    double maf = o.maf();
    int n = models.get(0).n();
    List<VariantRange> rangeList = ranges;
    try {
      List<RangeResult> results = jsc.parallelize(work, work.size()).map(w -> {
        VariantRange r = rangeList.get(w[1]);
        VariantFilterCounts c = new VariantFilterCounts(n);
        AssocResults res = CalibratedTest.testRange(bc.value().get(w[0]), reader, r.first(), r.end(), r.position(),
            include.value(), maf, blockVariants, hadoopConf.value().get(), c);
        return new RangeResult(w[0], res, c);
      }).collect();
      for (RangeResult rr : results) {
        all.addAll(rr.results());
        counts.merge(rr.counts());
        tested[rr.range()] += rr.results().size();
      }
      return ranges.size();
    } finally {
      bc.destroy();
    }
  }

  /** REML of the null model with one relationship matrix in its eigenbasis, then the broadcastable exact model. */
  static NullModel fitNull(RemlProblem base, VarianceComponent k, int[] famRows, String scope, List<NullFit> fits,
      LmmTest statistic) {
    if (statistic == LmmTest.LRT || statistic == LmmTest.SCORE) {
      // GEMMA centers K over the analysed samples; its ML-based tests depend on it, the REML fit does not.
      k = new VarianceComponent(k.name(), DenseSymmetricMatrix.centered(k.covariance()));
    }
    RemlProblem problem = new RemlProblem(base.y(), base.x(), base.fixedNames(), List.of(k));
    SpectralReml.Eigen eigen = SpectralReml.decompose(k.covariance());
    RemlFit fit = new SpectralReml().fit(problem, eigen);
    record(problem, fit, scope, fits);
    return NullModel.of(problem, eigen, fit.theta()[0], fit.theta()[1], famRows, scope);
  }

  /** A null fitted in K's band form (no eigendecomposition), what the calibrated model is built from. */
  record BandNull(RemlProblem problem, SpectralReml.Band band, RemlFit fit) {}

  /** REML of the null model with one relationship matrix in band form ({@link SpectralReml#reduce}). */
  static BandNull fitBandNull(RemlProblem base, VarianceComponent k, String scope, List<NullFit> fits) {
    RemlProblem problem = new RemlProblem(base.y(), base.x(), base.fixedNames(), List.of(k));
    SpectralReml.Band band = SpectralReml.reduce(k.covariance());
    RemlFit fit = new SpectralReml().fit(problem, band);
    record(problem, fit, scope, fits);
    return new BandNull(problem, band, fit);
  }

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

  /** One Spark job: the null model broadcast once, one task per variant range. Returns the number of tasks. */
  private static int scan(JavaSparkContext jsc, NullModel model, List<VariantRange> ranges,
      Broadcast<boolean[]> include, Broadcast<SerializableHadoopConf> hadoopConf, Options o, GenotypeReader reader,
      int blockVariants, AssocResults all, VariantFilterCounts counts) {
    if (ranges.isEmpty()) {
      return 0;
    }
    Broadcast<NullModel> nullModel = jsc.broadcast(model);
    double maf = o.maf();
    LmmTest statistic = o.statistic();
    int n = model.n();
    try {
      List<RangeResult> results = jsc.parallelize(ranges, ranges.size()).map(r -> {
        VariantFilterCounts c = new VariantFilterCounts(n);
        AssocResults res = Mlma.testRange(nullModel.value(), reader, r.first(), r.end(), r.position(),
            include.value(), maf, blockVariants, statistic, hadoopConf.value().get(), c);
        return new RangeResult(r.index(), res, c);
      }).collect();
      for (RangeResult rr : results) {
        all.addAll(rr.results());
        counts.merge(rr.counts());
      }
      return ranges.size();
    } finally {
      nullModel.destroy();
    }
  }

  record RangeResult(int range, AssocResults results, VariantFilterCounts counts) implements Serializable {}

  /**
   * The GRM restricted to the samples that have genotypes in the {@code .fam} and are kept by
   * {@code --keep/--remove} ({@link PartitionedGenotypes#samples()}; a GRM given with --grm may hold
   * more); the same matrix when all do.
   */
  static Grm restrictToFam(Grm grm, PartitionedGenotypes genotypes, List<String> notes, String source) {
    GenotypeSource fileset = genotypes.fileset();
    java.util.Set<org.lmmspark.engine.io.SampleId> fam = new java.util.HashSet<>(genotypes.samples());
    List<Integer> keep = new ArrayList<>();
    for (int i = 0; i < grm.size(); i++) {
      if (fam.contains(grm.ids().get(i))) {
        keep.add(i);
      }
    }
    if (keep.size() == grm.size()) {
      return grm;
    }
    if (keep.isEmpty()) {
      throw BadInputException.inFile(GctaGrmFiles.idPath(source), "none of its samples is in "
          + fileset.samplesPath() + " (do the FID/IID match?)");
    }
    notes.add(GctaGrmFiles.idPath(source) + ": " + (grm.size() - keep.size())
        + " GRM sample(s) without genotypes in the .fam (or not kept by --keep/--remove) are not analysed");
    return grm.subset(keep.stream().mapToInt(Integer::intValue).toArray());
  }
}
