package org.lmmspark.jobs.assoc;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.reml.SolverRoute;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.assoc.GenotypeRows;
import org.lmmspark.engine.assoc.LocoGrm;
import org.lmmspark.engine.assoc.Mlma;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.glmm.BinaryAssocResults;
import org.lmmspark.engine.glmm.BinaryNull;
import org.lmmspark.engine.glmm.BinaryScoreTest;
import org.lmmspark.engine.glmm.Family;
import org.lmmspark.engine.glmm.GrmPql;
import org.lmmspark.engine.glmm.MatrixFreeBinaryLoco;
import org.lmmspark.engine.glmm.MatrixFreeBinaryNull;
import org.lmmspark.engine.glmm.MatrixFreePql;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;
import org.lmmspark.engine.reml.matfree.GenotypeRemlInputs;
import org.lmmspark.engine.reml.matfree.StochasticReml;
import org.lmmspark.jobs.matfree.DistributedGenotypeProducts;
import org.lmmspark.jobs.matfree.MatrixFreeRemlJob;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.assoc.Calibration;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.engine.reml.Components;
import org.lmmspark.engine.reml.RemlInputs;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.stats.ChiSquared;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.genotype.PartitionedGenotypes.VariantRange;
import org.lmmspark.jobs.grm.GrmJob;
import org.lmmspark.jobs.spark.SerializableHadoopConf;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Genome-wide association for a binary (0/1) trait as a Spark job ({@code assoc --family binomial}):
 * SAIGE's method (Zhou et al. 2018) with REGENIE's Firth fallback.
 *
 * <p>Steps: the GRM (given with {@code --grm} or computed first by {@link GrmJob}, with per-chromosome
 * parts for LOCO), samples matched across phenotype, covariates and GRM; the trait checked to be 0/1
 * (PLINK's 1/2 recoded, and said so); on the driver the null logistic GLMM
 * {@code logit μ = Xβ + b, b ~ N(0, τK)} by PQL with AI-REML on the working model ({@link GrmPql}; with
 * LOCO one fit per chromosome on {@code K_{−c}}, so the random prediction b̂ and μ̂ of chromosome c never
 * include it, as SAIGE-LOCO and REGENIE's step-1 predictions); SAIGE's variance ratio from a seeded
 * sample of variants; then ONE Spark job: all null models ({@link BinaryScoreTest.Model}, {@code O(Np)}
 * each, plus the dense P with the exact variance) broadcast once, one task per variant range reading at
 * exact offsets ({@link BinaryScoreTest#testRange}), results collected (~80 bytes per variant).
 *
 * <p>Score variance: {@code exact} (gᵀPg with the dense P, {@code 2N²} flops per variant) or
 * {@code ratio} (SAIGE's {@code r·g̃ᵀWg̃}, {@code O(Np)}); {@code auto} exact below
 * {@link AssocJob#AUTO_CALIBRATED_SAMPLES} analysed samples, as the quantitative test switches.
 *
 * <p>The null fit is dense ({@code O(N³)} per working-model evaluation on the driver, N of a few
 * thousand), or with {@code --solver matrix-free} (no GRM) {@link MatrixFreePql} over the cached
 * genotypes and {@link MatrixFreeBinaryNull} (then the variance is the ratio, its {@code gᵀPg} by CG); with
 * {@code --loco} there, {@link MatrixFreeBinaryLoco}: τ kept from the whole-genome fit, β and b̂ re-fitted on
 * {@code K_{−c}} for all chromosomes in one batched CG per PQL step, and one variance ratio pooled over all
 * chromosomes' sampled variants (SAIGE's LOCO), instead of the dense route's refit of τ per chromosome.
 *
 * <p>Cluster use: {@code spark-submit --class org.lmmspark.jobs.cli.Lmmspark lmmspark.jar assoc --family
 * binomial --bfile hdfs:///d/c --pheno hdfs:///d/p.txt --pheno-name t2d --grm hdfs:///d/c --loco --out
 * hdfs:///o/c}; the driver needs about {@code 40 N²} bytes, each executor {@code 4N²} bytes for the
 * exact variance ({@code O(Np)} with the ratio) plus {@code 8N·blockVariants} per task.
 */
public final class BinaryAssocJob {
  /**
   * Default sample limit of the dense binary null (no {@code --matrix-free-above}): 20,000, where its ~40·N²
   * bytes (16 GB) exceed a usual driver and the linear route's {@link SolverRoute} leaves the dense GRM.
   */
  static final int DENSE_BINARY_SAMPLES = 20_000;

  private static final Logger log = LoggerFactory.getLogger(BinaryAssocJob.class);

  /** Variants sampled for the ratio are drawn among those of at least this MAF (SAIGE: MAC ≥ 20). */
  public static final double RATIO_MIN_MAF = 0.01;

  /** How Var(T) is computed. */
  public enum Variance { AUTO, EXACT, RATIO }

  /**
   * The binary scan's own options on top of {@code assoc}'s: p below {@code firthBelow} gets Firth's test
   * (0: never), the variance route.
   */
  public record Options(AssocJob.Options assoc, double firthBelow, Variance variance) implements Serializable {
    public Options {
      if (!(firthBelow >= 0 && firthBelow <= 1)) {
        throw new BadInputException("--firth-below must be a p-value in [0, 1], got " + firthBelow);
      }
      if (assoc.solver() == AssocJob.Solver.MATRIX_FREE && variance == Variance.EXACT) {
        throw new BadInputException("--family binomial --solver matrix-free has no dense P: --score-variance exact is "
            + "not available with it (use ratio or auto)");
      }
      if (assoc.statistic() != org.lmmspark.engine.assoc.LmmTest.MLMA || assoc.exact()) {
        throw new BadInputException("--family binomial runs the SAIGE score test: --test/--exact choose quantitative-"
            + "trait statistics; use --score-variance exact|ratio");
      }
      NumericRange.MAF.check("--maf", assoc.maf());
    }

    public boolean exactFor(int n) {
      if (assoc.solver() == AssocJob.Solver.MATRIX_FREE) {
        return false;
      }
      return variance == Variance.EXACT || (variance == Variance.AUTO && n < AssocJob.AUTO_CALIBRATED_SAMPLES);
    }
  }

  /** One null model: its fit and what the scan made of it. */
  public record NullFit(String scope, int samples, int cases, double tau, double[] beta, int outerIterations,
      boolean converged, String message, Calibration.Gamma ratio, boolean exact, long variantsTested) {}

  /** What was computed. */
  public record Result(String trait, int samples, int cases, int controls, List<String> fixedEffects,
      List<NullFit> nullFits, AssocTable table, BinaryAssocResults results, VariantFilterCounts counts,
      double lambdaGc, long[] methodCounts, int tasks, double grmSeconds, double nullSeconds, double scanSeconds,
      double seconds, List<String> notes, List<String> outputs) {}

  private BinaryAssocJob() {}

  /**
   * Checks without Spark, before anything is computed: {@link AssocJob#checkInputs}, then the trait column
   * of the phenotype table as a case-control trait ({@link #checkTraitColumn}). Returns the genotype source.
   */
  public static GenotypeSource checkInputs(Options b, Configuration conf) {
    AssocJob.Options o = b.assoc();
    GenotypeSource fileset = AssocJob.checkInputs(o, conf);
    TraitTables.Tables tables = TraitTables.read(o.trait(), fileset.famPath(), fileset.samples(),
        fileset.samplesPath(), false, conf);
    checkTraitColumn(tables.pheno(), tables.pheno().column(tables.trait(), "--pheno-name"), tables.trait());
    return fileset;
  }

  /**
   * The whole trait column (missing values aside) is 0/1 or PLINK's 1/2 and has cases and controls; the
   * first value that is not names its file and line. (The analysed subset is checked again after matching.)
   */
  static void checkTraitColumn(org.lmmspark.engine.pheno.SampleTable pheno, int column, String trait) {
    double[] v = pheno.numeric(column);
    int[] first = {-1, -1, -1};
    for (int r = 0; r < v.length; r++) {
      if (Double.isNaN(v[r])) {
        continue;
      }
      if (v[r] != 0 && v[r] != 1 && v[r] != 2) {
        throw BadInputException.atLine(pheno.file(), pheno.line(r), "trait '" + trait + "' is " + AssocOutputs.num(v[r])
            + ": --family binomial takes 0/1 (control/case) or PLINK's 1/2");
      }
      int k = (int) v[r];
      if (first[k] < 0) {
        first[k] = r;
      }
    }
    if (first[0] >= 0 && first[2] >= 0) {
      throw BadInputException.atLine(pheno.file(), pheno.line(first[2]), "trait '" + trait + "' is 2 where line "
          + pheno.line(first[0]) + " has 0: --family binomial takes 0/1 or PLINK's 1/2 (in which a missing value is NA"
          + " or -9), not a mix");
    }
    int distinct = (first[0] >= 0 ? 1 : 0) + (first[1] >= 0 ? 1 : 0) + (first[2] >= 0 ? 1 : 0);
    if (distinct == 1) {
      String what = first[0] >= 0 ? "no cases (all 0)" : first[2] >= 0 ? "all cases (all 2)" : "only the value 1 (all cases"
          + " if 0/1, all controls if 1/2)";
      throw BadInputException.inFile(pheno.file(), "trait '" + trait + "': " + what + "; a case-control test needs both");
    }
  }

  public static Result run(JavaSparkContext jsc, Options b) {
    AssocJob.Options o = b.assoc();
    long start = System.nanoTime();
    Configuration conf = jsc.hadoopConfiguration();
    PartitionedGenotypes genotypes = PartitionedGenotypes.of(checkInputs(b, conf), o.selection(), conf);
    GenotypeSource fileset = genotypes.fileset();
    fileset.warnings().forEach(log::warn);
    List<String> notes = new ArrayList<>(genotypes.notes());
    if (o.solver() == AssocJob.Solver.MATRIX_FREE) {
      return runMatrixFree(jsc, b, genotypes, MatrixFreeRemlJob.assemble(o.trait(), genotypes, conf), notes, start);
    }
    if (o.solver() == AssocJob.Solver.AUTO && o.grm() == null && b.variance() != Variance.EXACT) {
      // Decided before any GRM is computed: above the dense null's limit the GRM alone would take hours.
      GenotypeRemlInputs.Assembled in = MatrixFreeRemlJob.assemble(o.trait(), genotypes, conf);
      int n = in.samples().size();
      int limit = denseLimit(o);
      if (n > limit) {
        String why = String.format(Locale.ROOT, "route: matrix-free (--solver auto: %d analysed samples, above the dense "
            + "null GLMM's limit of %d%s)", n, limit, o.matrixFreeAbove() != SolverRoute.COST_MODEL
            ? " set by --matrix-free-above" : "; --matrix-free-above sets it");
        log.info(why);
        notes.add(why);
        return runMatrixFree(jsc, new Options(o.withSolver(AssocJob.Solver.MATRIX_FREE), b.firthBelow(), b.variance()),
            genotypes, in, notes, start);
      }
    }

    String grmPrefix = o.grm();
    double grmSeconds = 0;
    if (grmPrefix == null) {
      grmPrefix = o.out();
      GrmJob.Result g = GrmJob.run(jsc, new GrmJob.Options(o.genotypes(), grmPrefix, o.maf(), o.selection(),
          o.loco(), 4096, 1L << 30, 0, o.kernel()));
      grmSeconds = g.seconds();
      notes.add(String.format("GRM (--kernel %s) computed from %s: %s; written to %s%s", o.kernel().option(),
          o.genotypes().label(), g.counts(), GctaGrmFiles.binPath(grmPrefix), o.loco() ? " with per-chromosome parts" : ""));
    }
    long nullStart = System.nanoTime();
    Grm grm = GctaGrmFiles.read(grmPrefix, conf);
    Grm genotyped = AssocJob.restrictToFam(grm, genotypes, notes, grmPrefix);
    TraitTables.Tables tables = TraitTables.read(o.trait(), fileset.famPath(), genotypes.samples(),
        fileset.samplesPath(), false, conf);
    RemlInputs.Assembled assembled = RemlInputs.withGrm(tables, grmPrefix, genotyped);
    notes.addAll(assembled.notes());
    RemlProblem problem = assembled.problem();
    String phenoFile = o.trait().pheno() != null ? o.trait().pheno() : fileset.famPath();
    double[] y = caseControl(problem.y(), assembled, phenoFile, assembled.design().trait(), notes);
    int n = problem.n();
    int cases = 0;
    for (double v : y) {
      cases += (int) v;
    }
    int limit = denseLimit(o);
    if (n > limit) {
      // The dense null holds several N×N matrices (about 40·N² bytes) and costs O(N³) per working-model step.
      throw new BadInputException(String.format(Locale.ROOT, "--family binomial fits its null GLMM densely on the driver "
          + "(about %.1f GB and O(N³) per iteration at N = %d), and N is above --matrix-free-above (%d), where the "
          + "matrix-free route takes over: use --solver matrix-free, or raise --matrix-free-above to "
          + "run it densely anyway", 40.0 * n * n / 1e9, n, limit));
    }
    int[] famRows = GenotypeRows.of(assembled.samples(), fileset);
    int[] grmRows = assembled.relationshipRows(0);
    boolean exact = b.exactFor(n);
    notes.add(String.format(Locale.ROOT, "test: SAIGE score test from the null logistic GLMM (PQL, AI-REML working model); "
        + "Var(T) %s (--score-variance %s; auto: exact below %d samples); SPA beyond |z| = %.0f; Firth %s", exact
        ? "exact, gᵀPg with the dense P" : "by SAIGE's variance ratio r·g̃ᵀWg̃", b.variance().name().toLowerCase(Locale.ROOT),
        AssocJob.AUTO_CALIBRATED_SAMPLES, org.lmmspark.engine.glmm.SaddlePoint.NORMAL_CUTOFF, b.firthBelow() > 0
        ? "below p = " + b.firthBelow() + " (covariates re-estimated, the null's " + (o.loco() ? "LOCO " : "")
        + "random prediction as offset)" : "off (--firth-below 0)"));
    log.info("{} samples ({} cases) analysed for '{}', fixed effects {}", n, cases, assembled.design().trait(),
        problem.fixedNames());

    int target = o.partitions() > 0 ? o.partitions() : Math.max(1, 2 * jsc.defaultParallelism());
    List<VariantRange> ranges = genotypes.ranges(target, o.loco());
    List<String> chromosomes = genotypes.chromosomes();
    List<BinaryScoreTest.Model> models = new ArrayList<>();
    List<NullFit> fits = new ArrayList<>();
    int[] modelOfRange = new int[ranges.size()];
    if (!o.loco()) {
      models.add(nullModel("all chromosomes", null, y, problem, problem.components().get(0).covariance().toDense(),
          fileset, famRows, genotypes.include(), exact, b, conf, fits, new GrmPql.Fit[1]));
    } else {
      // Each chromosome's refit starts from the previous one's (only the latest is kept: it holds an n×n P).
      GrmPql.Fit[] previous = new GrmPql.Fit[1];
      for (int c = 0; c < chromosomes.size(); c++) {
        String chr = chromosomes.get(c);
        String partPrefix = grmPrefix + ".chr" + chr;
        if (!org.lmmspark.engine.io.FileSystems.exists(GctaGrmFiles.binPath(partPrefix), conf)) {
          throw BadInputException.inFile(GctaGrmFiles.binPath(partPrefix), "missing: --loco needs the per-chromosome "
              + "GRM parts written by 'lmmspark grm --per-chromosome' (or leave out --grm to compute them)");
        }
        Grm part = GctaGrmFiles.read(partPrefix, conf);
        Grm loco = LocoGrm.leaveOut(genotyped, AssocJob.restrictToFam(part, genotypes, new ArrayList<>(), partPrefix),
            GctaGrmFiles.binPath(partPrefix));
        double[] k = Components.relationship(loco, grmRows).toDense();
        models.add(nullModel("LOCO chromosome " + chr, chr, y, problem, k, fileset, famRows, genotypes.include(),
            exact, b, conf, fits, previous));
      }
      for (int r = 0; r < ranges.size(); r++) {
        modelOfRange[r] = ranges.get(r).chromosome();
      }
    }
    double nullSeconds = (System.nanoTime() - nullStart) / 1e9;
    return scanAndWrite(jsc, b, genotypes, assembled.design().trait(), y, cases, problem.fixedNames(), famRows, models,
        fits, ranges, modelOfRange, grmSeconds, nullSeconds, notes, start);
  }

  /** The most samples the dense null takes: {@code --matrix-free-above}, else {@link #DENSE_BINARY_SAMPLES}. */
  private static int denseLimit(AssocJob.Options o) {
    return o.matrixFreeAbove() != SolverRoute.COST_MODEL ? o.matrixFreeAbove() : DENSE_BINARY_SAMPLES;
  }

  /**
   * The matrix-free route ({@code --solver matrix-free}, no GRM): the genotypes cached once as 2-bit blocks
   * ({@link DistributedGenotypeProducts}), the null GLMM by {@link MatrixFreePql} over the genotype operator,
   * SAIGE's variance ratio from {@code gᵀPg} of the seeded calibration variants with P applied by batched
   * preconditioned CG ({@link MatrixFreeBinaryNull}), then the same scan as the dense route. {@code in}: the
   * analysed samples and design, assembled once by the caller (the route decision counts them).
   */
  private static Result runMatrixFree(JavaSparkContext jsc, Options b, PartitionedGenotypes genotypes,
      GenotypeRemlInputs.Assembled in, List<String> notes, long start) {
    AssocJob.Options o = b.assoc();
    Configuration conf = jsc.hadoopConfiguration();
    GenotypeSource fileset = genotypes.fileset();
    long nullStart = System.nanoTime();
    notes.addAll(in.notes());
    String phenoFile = o.trait().pheno() != null ? o.trait().pheno() : fileset.famPath();
    double[] y = caseControl(in.design().y(), in.samples(), phenoFile, in.design().trait(), notes);
    int n = y.length;
    int cases = 0;
    for (double v : y) {
      cases += (int) v;
    }
    StochasticReml.Options ro = o.probes() > 0 ? StochasticReml.Options.defaults().withProbes(o.probes())
        : StochasticReml.Options.defaults();
    DistributedGenotypeProducts products = DistributedGenotypeProducts.cache(jsc, genotypes, o.maf(), o.partitions(),
        o.kernel());
    List<BinaryScoreTest.Model> models = new ArrayList<>();
    List<NullFit> fits = new ArrayList<>();
    try {
      notes.add("matrix-free: no GRM; " + MatrixFreeRemlJob.describeCache(products));
      GenomicRelationshipOperator k = new GenomicRelationshipOperator(products, in.famRows(), -1);
      long passes0 = products.passes();
      MatrixFreePql.Fit f = MatrixFreePql.fit(k, "G", Family.BINOMIAL_LOGIT, y, in.design().x(),
          in.design().columnNames(), ro, GrmPql.TOLERANCE, line -> log.info("null GLMM (matrix-free): {}", line));
      long fitPasses = products.passes() - passes0;
      MatrixFreeBinaryNull fit = new MatrixFreeBinaryNull("all chromosomes", f, k, in.design().x(), ro);
      if (o.loco()) {
        locoNulls(b, genotypes, in, y, f, fit, k, products, fitPasses, models, fits, notes, conf);
      } else {
        DosageBlock sample = Calibration.readSample(fileset, in.famRows(),
            AssocJob.calibrationOrder(fileset.variants(), genotypes.include(), null), o.calibrationVariantsOr(Calibration.DEFAULT_VARIANTS),
            Math.max(o.maf(), RATIO_MIN_MAF), conf);
        long ratio0 = products.passes();
        BinaryScoreTest.Model model = BinaryScoreTest.model(fit, y, in.design().x(), in.design().p(), sample, false,
            b.firthBelow());
        notes.add(String.format(Locale.ROOT, "null GLMM fitted matrix-free (PQL, stochastic AI-REML working model over the "
            + "genotype operator, %d probes, τ Monte Carlo SE %.2g): %d genotype passes; variance ratio from %d variant(s), "
            + "P·g by one batched preconditioned CG (%d iterations, %d passes)", f.working().diagnostics().probes(),
            f.working().diagnostics().monteCarloSe(0), fitPasses, sample.m, fit.cgIterations(),
            products.passes() - ratio0));
        log.info("null model (matrix-free): τ = {}, {}; variance ratio {}", String.format("%.5g", fit.tau()),
            fit.message(), model.ratio);
        models.add(model);
        fits.add(new NullFit(fit.scope(), n, model.cases, fit.tau(), fit.beta(), f.outerIterations(), fit.converged(),
            fit.message(), model.ratio, false, 0));
      }
    } finally {
      products.close();
    }
    notes.add(String.format(Locale.ROOT, "test: SAIGE score test from the null logistic GLMM (PQL, matrix-free); Var(T) by "
        + "SAIGE's variance ratio r·g̃ᵀWg̃; SPA beyond |z| = %.0f; Firth %s",
        org.lmmspark.engine.glmm.SaddlePoint.NORMAL_CUTOFF, b.firthBelow() > 0 ? "below p = " + b.firthBelow()
        + " (covariates re-estimated, the null's " + (o.loco() ? "LOCO " : "") + "random prediction as offset)"
        : "off (--firth-below 0)"));
    double nullSeconds = (System.nanoTime() - nullStart) / 1e9;
    int target = o.partitions() > 0 ? o.partitions() : Math.max(1, 2 * jsc.defaultParallelism());
    List<VariantRange> ranges = genotypes.ranges(target, o.loco());
    int[] modelOfRange = new int[ranges.size()];
    for (int r = 0; o.loco() && r < ranges.size(); r++) {
      modelOfRange[r] = ranges.get(r).chromosome(); // one LOCO model per chromosome, in genotypes.chromosomes() order
    }
    return scanAndWrite(jsc, b, genotypes, in.design().trait(), y, cases, in.design().columnNames(), in.famRows(), models,
        fits, ranges, modelOfRange, 0, nullSeconds, notes, start);
  }

  /**
   * The LOCO null models of the matrix-free route ({@link MatrixFreeBinaryLoco}, SAIGE's {@code LOCO = TRUE}): τ kept
   * from the whole-genome fit, β and b re-fitted on {@code K_{−c}} for every chromosome, all chromosomes batched in
   * each CG; then ONE variance ratio pooled over the sampled variants of all chromosomes, each variant's
   * {@code gᵀP_{−c}g} from its own chromosome's null (one more batched solve), as SAIGE's step 1 writes one ratio
   * for its LOCO models. Adds one model per chromosome of {@code genotypes.chromosomes()}, in that order.
   */
  private static void locoNulls(Options b, PartitionedGenotypes genotypes, GenotypeRemlInputs.Assembled in, double[] y,
      MatrixFreePql.Fit f, MatrixFreeBinaryNull whole, GenomicRelationshipOperator k,
      DistributedGenotypeProducts products, long fitPasses, List<BinaryScoreTest.Model> models, List<NullFit> fits,
      List<String> notes, Configuration conf) {
    AssocJob.Options o = b.assoc();
    GenotypeSource fileset = genotypes.fileset();
    List<String> chromosomes = genotypes.chromosomes();
    long[] perChromosome = products.variantsPerChromosome();
    long withVariants = java.util.Arrays.stream(perChromosome).filter(c -> c > 0).count();
    if (withVariants < 2) {
      throw new BadInputException(fileset.variantsPath() + ": --loco needs variants on at least two chromosomes, found "
          + withVariants);
    }
    List<MatrixFreeBinaryLoco.Scope> scopes = new ArrayList<>();
    for (int c = 0; c < chromosomes.size(); c++) {
      scopes.add(new MatrixFreeBinaryLoco.Scope(c, "LOCO chromosome " + chromosomes.get(c)));
    }
    long passes0 = products.passes();
    MatrixFreeBinaryLoco loco = MatrixFreeBinaryLoco.fit(whole, k, Family.BINOMIAL_LOGIT, y, scopes, GrmPql.TOLERANCE);
    long locoPasses = products.passes() - passes0;
    log.info("LOCO null models (matrix-free): {}", loco.describe());
    // The ratio's sample: max(5, ⌈S/C⌉) variants per chromosome (as the quantitative matrix-free LOCO), pooled.
    int perScope = MatrixFreeAssocJob.samplePerScope(o.calibrationVariantsOr(Calibration.DEFAULT_VARIANTS), scopes.size(), true);
    int n = y.length;
    int p = in.design().p();
    double[] x = in.design().x();
    List<BinaryNull> nulls = loco.nulls();
    DosageBlock[] samples = new DosageBlock[scopes.size()];
    double[][] g = new double[scopes.size()][];
    int[] cols = new int[scopes.size()];
    for (int c = 0; c < scopes.size(); c++) {
      samples[c] = Calibration.readSample(fileset, in.famRows(), AssocJob.calibrationOrder(fileset.variants(),
          genotypes.include(), chromosomes.get(c)), perScope, Math.max(o.maf(), RATIO_MIN_MAF),
          conf);
      cols[c] = samples[c].m;
      g[c] = new double[n * cols[c]];
      for (int i = 0; i < g[c].length; i++) {
        g[c][i] = samples[c].values[i];
      }
    }
    long ratio0 = products.passes();
    double[][] pg = loco.projectSamples(g, cols);
    List<BinaryScoreTest.Model> unpooled = new ArrayList<>();
    double[] ratios = new double[java.util.Arrays.stream(cols).sum()];
    int at = 0;
    for (int c = 0; c < scopes.size(); c++) {
      BinaryScoreTest.Model m = BinaryScoreTest.model(nulls.get(c), y, x, p, null, false, b.firthBelow());
      unpooled.add(m);
      if (cols[c] > 0) {
        double[] r = BinaryScoreTest.varianceRatios(m, samples[c], pg[c]);
        System.arraycopy(r, 0, ratios, at, r.length);
        at += r.length;
      }
    }
    Calibration.Gamma pooled = Calibration.summarize(ratios, ratios.length);
    for (int c = 0; c < scopes.size(); c++) {
      BinaryNull nul = nulls.get(c);
      BinaryScoreTest.Model m = unpooled.get(c).withRatio(pooled, null);
      models.add(m);
      fits.add(new NullFit(nul.scope(), n, m.cases, nul.tau(), nul.beta(), loco.steps(), nul.converged(), nul.message(),
          pooled, false, 0));
      if (!nul.converged()) {
        log.warn("null model ({}): {}", nul.scope(), nul.message());
      }
    }
    notes.add(String.format(Locale.ROOT, "null GLMM fitted matrix-free (PQL, stochastic AI-REML working model over the "
        + "genotype operator, %d probes, τ = %.5g, Monte Carlo SE %.2g): %d genotype passes; LOCO: τ kept, β and the "
        + "random prediction re-fitted on K_−c for all %d chromosomes together (SAIGE's LOCO): %d batched PQL step(s), %d"
        + " passes; one variance ratio pooled over %d variant(s) (%d per chromosome at most), each with its own "
        + "chromosome's P_−c (SAIGE), one batched solve of %d passes", f.working().diagnostics().probes(), whole.tau(),
        f.working().diagnostics().monteCarloSe(0), fitPasses, scopes.size(), loco.steps(), locoPasses, ratios.length,
        perScope, products.passes() - ratio0));
    log.info("LOCO null models (matrix-free): pooled variance ratio {}", pooled);
  }

  /** The one scan over every range against its null model, then the table and outputs. */
  private static Result scanAndWrite(JavaSparkContext jsc, Options b, PartitionedGenotypes genotypes, String trait,
      double[] y, int cases, List<String> fixedNames, int[] famRows, List<BinaryScoreTest.Model> models,
      List<NullFit> fits, List<VariantRange> ranges, int[] modelOfRange, double grmSeconds, double nullSeconds,
      List<String> notes, long start) {
    AssocJob.Options o = b.assoc();
    Configuration conf = jsc.hadoopConfiguration();
    GenotypeSource fileset = genotypes.fileset();
    int n = y.length;
    long t = System.nanoTime();
    BinaryAssocResults all = new BinaryAssocResults();
    VariantFilterCounts counts = new VariantFilterCounts(n);
    long[] tested = new long[models.size()];
    scan(jsc, models, ranges, modelOfRange, famRows, genotypes.include(), conf, o.maf(), o.blockVariants() > 0
        ? o.blockVariants() : Mlma.blockVariantsFor(n), genotypes.reader(), all, counts, tested);
    double scanSeconds = (System.nanoTime() - t) / 1e9;
    for (int m = 0; m < fits.size(); m++) {
      NullFit f = fits.get(m);
      fits.set(m, new NullFit(f.scope(), f.samples(), f.cases(), f.tau(), f.beta(), f.outerIterations(), f.converged(),
          f.message(), f.ratio(), f.exact(), tested[m]));
    }
    if (all.size() == 0) {
      throw new BadInputException(fileset.variantsPath() + ": no variant tested: " + counts + "; lower --maf");
    }
    long[] methods = new long[BinaryAssocResults.Method.values().length];
    for (int k = 0; k < all.size(); k++) {
      methods[all.method(k).ordinal()]++;
    }
    int nCases = cases;
    int nControls = n - cases;
    AssocTable table = AssocTable.of(all.base(), fileset.variants(), false).withExtras(List.of(
        new AssocTable.ExtraColumn("n_case", k -> Integer.toString(nCases), null),
        new AssocTable.ExtraColumn("n_control", k -> Integer.toString(nControls), null),
        new AssocTable.ExtraColumn("effect_allele_frequency_cases", null, all::a1FrequencyCases),
        new AssocTable.ExtraColumn("effect_allele_frequency_controls", null, all::a1FrequencyControls),
        new AssocTable.ExtraColumn("p_method", k -> all.method(k).label(), null)));
    double lambda = table.lambdaGc();
    log.info("{} variants tested ({}), λGC = {}", table.size(), counts, String.format("%.4f", lambda));
    Result partial = new Result(trait, n, cases, n - cases, fixedNames, fits, table, all,
        counts, lambda, methods, ranges.size(), grmSeconds, nullSeconds, scanSeconds, 0, notes, List.of());
    String title = partial.trait() + " (binary" + (o.loco() ? ", LOCO" : "") + ")";
    List<String> outputs = AssocOutputs.write(conf, o.out(), table, title, lambda, report(b, partial), null);
    return new Result(partial.trait(), n, cases, n - cases, fixedNames, fits, table, all, counts, lambda,
        methods, ranges.size(), grmSeconds, nullSeconds, scanSeconds, (System.nanoTime() - start) / 1e9, notes, outputs);
  }

  /**
   * The 0/1 response: 0/1 as is, PLINK's 1/2 (control/case) recoded (noted); anything else, all cases or
   * no cases are bad input naming the file and the first offending sample.
   */
  static double[] caseControl(double[] y, RemlInputs.Assembled assembled, String file, String trait,
      List<String> notes) {
    return caseControl(y, assembled == null ? null : assembled.samples(), file, trait, notes);
  }

  /** As above for the analysed samples {@code samples} (in the order of y). */
  static double[] caseControl(double[] y, List<org.lmmspark.engine.io.SampleId> samples, String file, String trait,
      List<String> notes) {
    boolean zeroOne = true;
    boolean oneTwo = true;
    for (double v : y) {
      zeroOne &= v == 0 || v == 1;
      oneTwo &= v == 1 || v == 2;
    }
    if (!zeroOne && !oneTwo) {
      // The first sample whose value is neither 0, 1 nor 2; else (0s and 2s mixed) the first 2.
      int bad = -1;
      for (int i = 0; i < y.length && bad < 0; i++) {
        bad = y[i] != 0 && y[i] != 1 && y[i] != 2 ? i : -1;
      }
      for (int i = 0; i < y.length && bad < 0; i++) {
        bad = y[i] == 2 ? i : -1;
      }
      throw BadInputException.inFile(file, "sample " + samples.get(bad) + ": trait '" + trait + "' is "
          + AssocOutputs.num(y[bad]) + "; --family binomial takes 0/1 (control/case) or PLINK's 1/2, not other values"
          + " or a mix");
    }
    double[] out = y;
    if (!zeroOne) {
      out = new double[y.length];
      for (int i = 0; i < y.length; i++) {
        out[i] = y[i] - 1;
      }
      notes.add("trait '" + trait + "' is coded 1/2 (PLINK: 1 control, 2 case): recoded to 0/1");
    }
    int cases = 0;
    for (double v : out) {
      cases += (int) v;
    }
    if (cases == 0 || cases == out.length) {
      throw BadInputException.inFile(file, "trait '" + trait + "': " + (cases == 0 ? "no cases" : "all cases") + " among the "
          + out.length + " analysed samples; a case-control test needs both");
    }
    return out;
  }

  /**
   * Fits one null model (whole genome or LOCO {@code chromosome}) and builds its broadcastable model; warm-started
   * from {@code previous[0]} when set (the previous chromosome's fit), which is then replaced by this fit.
   */
  private static BinaryScoreTest.Model nullModel(String scope, String chromosome, double[] y, RemlProblem problem,
      double[] k, GenotypeSource fileset, int[] famRows, boolean[] include, boolean exact, Options b, Configuration conf,
      List<NullFit> fits, GrmPql.Fit[] previous) {
    AssocJob.Options o = b.assoc();
    GrmPql.Fit fit = previous[0] == null
        ? GrmPql.fit(scope, y, problem.x(), problem.fixedNames(), k, Double.NaN, GrmPql.TOLERANCE)
        : GrmPql.fit(scope, y, problem.x(), problem.fixedNames(), k, previous[0], GrmPql.TOLERANCE);
    previous[0] = fit;
    if (!fit.converged()) {
      log.warn("null model ({}): {}", scope, fit.message());
    }
    DosageBlock sample = Calibration.readSample(fileset, famRows,
        AssocJob.calibrationOrder(fileset.variants(), include, chromosome), o.calibrationVariantsOr(Calibration.DEFAULT_VARIANTS),
        Math.max(o.maf(), RATIO_MIN_MAF), conf);
    BinaryScoreTest.Model model = BinaryScoreTest.model(fit, y, problem.x(), problem.p(), sample, exact, b.firthBelow());
    log.info("null model ({}): τ = {}, {}; variance ratio {}; broadcast {} KiB", scope, String.format("%.5g", fit.tau()),
        fit.message(), model.ratio, model.approximateBytes() >> 10);
    fits.add(new NullFit(scope, y.length, model.cases, fit.tau(), fit.beta(), fit.outerIterations(), fit.converged(),
        fit.message(), model.ratio, exact, 0));
    return model;
  }

  /** One Spark job: every null model broadcast once, one task per variant range against its chromosome's model. */
  private static void scan(JavaSparkContext jsc, List<BinaryScoreTest.Model> models, List<VariantRange> ranges,
      int[] modelOfRange, int[] famRows, boolean[] includeMask, Configuration conf, double maf, int blockVariants,
      GenotypeReader reader, BinaryAssocResults all, VariantFilterCounts counts, long[] tested) {
    if (ranges.isEmpty()) {
      return;
    }
    Broadcast<ArrayList<BinaryScoreTest.Model>> bc = jsc.broadcast(new ArrayList<>(models));
    Broadcast<boolean[]> include = jsc.broadcast(includeMask);
    Broadcast<SerializableHadoopConf> hadoopConf = jsc.broadcast(new SerializableHadoopConf(conf));
    List<int[]> work = new ArrayList<>();
    for (int r = 0; r < ranges.size(); r++) {
      work.add(new int[] {modelOfRange[r], r});
    }
    int n = famRows.length;
    try {
      List<RangeResult> results = jsc.parallelize(work, work.size()).map(w -> {
        VariantRange r = ranges.get(w[1]);
        VariantFilterCounts c = new VariantFilterCounts(n);
        BinaryAssocResults res = BinaryScoreTest.testRange(bc.value().get(w[0]), reader, famRows, r.first(), r.end(),
            r.position(), include.value(), maf, blockVariants, hadoopConf.value().get(), c);
        return new RangeResult(w[0], res, c);
      }).collect();
      for (RangeResult rr : results) {
        all.addAll(rr.results());
        counts.merge(rr.counts());
        tested[rr.model()] += rr.results().size();
      }
    } finally {
      bc.destroy();
      include.destroy();
      hadoopConf.destroy();
    }
  }

  record RangeResult(int model, BinaryAssocResults results, VariantFilterCounts counts) implements Serializable {}

  static String report(Options b, Result r) {
    AssocJob.Options o = b.assoc();
    AssocTable t = r.table();
    StringBuilder sb = new StringBuilder();
    sb.append("# lmmspark assoc --family binomial: ").append(r.trait()).append("\n\n");
    sb.append("Test: SAIGE's score test from the null logistic GLMM logit μ = Xβ + b, b ~ N(0, τK) (PQL, AI-REML on the"
        + " working model, dispersion 1): T = g̃ᵀ(y − μ̂), g̃ the genotype adjusted for the covariates with weights"
        + " μ̂(1 − μ̂); Var(T) exact (gᵀPg) or by SAIGE's variance ratio; p from the normal approximation for |z| < 2 and"
        + " the saddle-point approximation beyond (p_method NORMAL/SPA); Firth's penalized likelihood-ratio test below"
        + " --firth-below (p_method FIRTH). beta = T/Var(T) on the log-odds scale (Firth: its estimate), SE = |beta|/√χ²"
        + " with χ² the χ²₁ quantile of p (column chi2).\n");
    sb.append("Effect allele: the .bim A1 allele (x = copies of A1), missing genotypes mean-imputed (also in the case and"
        + " control frequencies). n_case/n_control: analysed cases and controls.\n");
    sb.append(o.loco() && o.solver() == AssocJob.Solver.MATRIX_FREE ? "LOCO: one null model per chromosome on K without it,"
        + " τ kept from the whole-genome fit, β and the random prediction re-fitted (SAIGE's LOCO); one variance ratio"
        + " pooled over all chromosomes.\n"
        : o.loco() ? "LOCO: one null fit per chromosome on K without it (τ, β and the random prediction re-estimated).\n"
        : "One null model for all chromosomes (no LOCO).\n");
    sb.append("\n## Inputs\n\n");
    sb.append("- genotypes: `").append(o.genotypes()).append("`\n");
    sb.append("- phenotype: `").append(o.trait().pheno() != null ? o.trait().pheno() : o.genotypes().fam())
        .append("` column `").append(r.trait()).append("`\n");
    sb.append("- fixed effects: ").append(String.join(", ", r.fixedEffects())).append("\n");
    sb.append("- GRM: ").append(o.solver() == AssocJob.Solver.MATRIX_FREE ? "none (matrix-free: products with the cached"
        + " genotypes)" : "`" + (o.grm() == null ? o.out() + " (computed)" : o.grm()) + "`").append("\n");
    sb.append(String.format(Locale.ROOT, "- samples analysed: %d (%d cases, %d controls)%n", r.samples(), r.cases(),
        r.controls()));
    sb.append("- variants: ").append(r.counts()).append(o.maf() > 0 ? ", MAF ≥ " + o.maf() : "").append("\n");
    for (String note : r.notes()) {
      sb.append("- ").append(note).append("\n");
    }
    sb.append("\n## Null model(s)\n\n| scope | n | cases | τ (logit scale) | β | PQL | variance | variance ratio (SD, CV, "
        + "variants) | variants tested |\n|---|---|---|---|---|---|---|---|---|\n");
    for (NullFit f : r.nullFits()) {
      StringBuilder beta = new StringBuilder();
      for (int j = 0; j < f.beta().length; j++) {
        beta.append(j == 0 ? "" : ", ").append(r.fixedEffects().get(j)).append(String.format(Locale.ROOT, " %.4g",
            f.beta()[j]));
      }
      sb.append(String.format(Locale.ROOT, "| %s | %d | %d | %.5g | %s | %d outer iterations%s | %s | %.5g (%.3g, %.4f, %d) "
          + "| %d |%n", f.scope(), f.samples(), f.cases(), f.tau(), beta, f.outerIterations(), f.converged() ? ""
          : " (NOT converged)", f.exact() ? "exact" : "ratio", f.ratio().mean(), f.ratio().sd(), f.ratio().cv(),
          f.ratio().variants(), f.variantsTested()));
    }
    sb.append(String.format(Locale.ROOT, "%n## Calibration%n%nλGC = %.4f (median χ² / 0.4549 over %,d tested variants)%n",
        r.lambdaGc(), t.size()));
    sb.append("\np-value methods:");
    for (BinaryAssocResults.Method m : BinaryAssocResults.Method.values()) {
      sb.append(" ").append(m.label()).append(" ").append(r.methodCounts()[m.ordinal()]);
    }
    sb.append("\n");
    sb.append("\n## Top hits\n\n| chromosome | position | variant | A1 | A2 | A1 freq cases | A1 freq controls | beta | SE | p |"
        + " method |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int row : t.top(AssocOutputs.TOP_HITS)) {
      org.lmmspark.engine.io.Variant v = t.variant(row);
      sb.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s | %s | %.4g | %.4g | %s | %s |%n", v.chromosome(),
          v.bp(), v.id(), v.a1(), v.a2(), t.extraText(row, 2), t.extraText(row, 3), t.beta(row), t.se(row),
          ChiSquared.formatLogP(t.logP(row)), t.extraText(row, 4)));
    }
    sb.append(String.format(Locale.ROOT, "%n## Plots%n%n![Manhattan](%s)%n%n![QQ](%s)%n",
        fileName(AssocOutputs.manhattanPath(o.out())), fileName(AssocOutputs.qqPath(o.out()))));
    sb.append(String.format(Locale.ROOT, "%n## Run%n%n%d Spark task(s); GRM %.1f s, null model(s) %.1f s, scan %.1f s.%n",
        r.tasks(), r.grmSeconds(), r.nullSeconds(), r.scanSeconds()));
    return sb.toString();
  }

  private static String fileName(String path) {
    int slash = path.lastIndexOf('/');
    return slash < 0 ? path : path.substring(slash + 1);
  }
}
