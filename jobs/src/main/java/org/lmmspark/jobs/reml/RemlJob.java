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
import java.util.function.Function;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.genotype.GenotypeScaling;
import org.lmmspark.engine.glmm.Family;
import org.lmmspark.engine.glmm.GlmmFitter;
import org.lmmspark.engine.glmm.LiabilityScale;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.pheno.SampleMatch;
import org.lmmspark.engine.pheno.SampleFrame;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.engine.reml.AiReml;
import org.lmmspark.engine.reml.DenseRemlLikelihood;
import org.lmmspark.engine.reml.KnownVariances;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlInputs;
import org.lmmspark.engine.reml.RemlLikelihood;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.HsqFile;
import org.lmmspark.engine.reml.RemlSolver;
import org.lmmspark.engine.reml.SolverRoute;
import org.lmmspark.engine.reml.SpectralReml;
import org.lmmspark.engine.reml.VarianceSummary;
import org.lmmspark.engine.reml.matfree.GenotypeRemlInputs;
import org.lmmspark.engine.reml.matfree.StochasticReml;
import org.lmmspark.engine.model.MixedModel;
import org.lmmspark.engine.model.MmeLikelihood;
import org.lmmspark.engine.model.SparseModels;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.engine.select.SampleSelection;
import org.lmmspark.engine.select.VariantSelection;
import org.lmmspark.engine.stats.ChiSquared;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.grm.GrmJob;
import org.lmmspark.jobs.matfree.MatrixFreeRemlJob;

/**
 * {@code lmmspark reml}: variance components, heritability and their standard errors by REML, the
 * way GCTA-GREML reports them. Model {@code y = Xβ + Σ_k u_k + e}, {@code V = Σ_k σ²_k V_k + σ²_e I},
 * with components from GRM files ({@code --grm}), their epistatic squares ({@code --epistatic}),
 * further relationship matrices ({@link Options#extraRelationships()}: the pedigree A plugs in here)
 * and grouping factors ({@code --group}).
 *
 * <p>{@link #run} (GRM files) runs on the driver, no SparkSession: the spectral solver (one
 * component; one O(n³) reduction of K to band form, then O(n) per likelihood evaluation) or dense AI-REML
 * (O(n³) per iteration). Memory ≈ 8n² bytes per component plus 2–3 such matrices of work space
 * (n = 10,000: ~0.8 GB each). {@link #runOnGenotypes} ({@code --bfile}) takes genotypes instead:
 * a GRM computed in memory by Spark and the same solvers, or, as {@link SolverRoute} decides,
 * samples, the matrix-free solver ({@link MatrixFreeRemlJob}: O(n·M) per pass, O(n) driver memory)
 * above it or when asked for.
 *
 * <p>Writes {@code OUT.hsq} (GCTA layout), {@code OUT.json}, {@code OUT.log} and with {@code --blup}
 * {@code OUT.blup.txt}, all through {@link AtomicOutputs}.
 */
public final class RemlJob {
  private RemlJob() {}

  /**
   * What to run.
   *
   * @param extraRelationships relationship matrices from sources other than GRM files (the pedigree A
   *     of {@code --pedigree}), added as components after the GRMs; may be empty
   * @param trait           the phenotype and covariate tables and their columns ({@link TraitTables})
   * @param samples         {@code --keep/--remove}: applied to every relationship matrix's samples
   * @param solver "auto", "spectral" or "dense"
   * @param repeatedRecords  the phenotype file may hold several records per individual ({@link RemlInputs})
   * @param permanentEnvironment add the permanent-environment component "pe" ({@code Z Zᵀ})
   * @param notes            lines for the log about how the extra relationships were built
   * @param residBy          {@code --resid-by COLUMN}: a residual variance per level ({@link ResidByRemlJob}); null for one
   */
  public record Options(List<String> grmPrefixes, boolean epistatic, List<RemlInputs.Relationship> extraRelationships,
      List<String> groups, TraitTables.Spec trait, SampleSelection samples, boolean blup, String solver,
      boolean allowNonconvergence, int maxIterations, String out, String commandLine, boolean repeatedRecords,
      boolean permanentEnvironment, List<String> notes, Map<String, Double> knownVariances, List<String> gxe,
      String residBy) {

    /** One residual variance. */
    public Options(List<String> grmPrefixes, boolean epistatic, List<RemlInputs.Relationship> extraRelationships,
        List<String> groups, TraitTables.Spec trait, SampleSelection samples, boolean blup, String solver,
        boolean allowNonconvergence, int maxIterations, String out, String commandLine, boolean repeatedRecords,
        boolean permanentEnvironment, List<String> notes, Map<String, Double> knownVariances, List<String> gxe) {
      this(grmPrefixes, epistatic, extraRelationships, groups, trait, samples, blup, solver, allowNonconvergence,
          maxIterations, out, commandLine, repeatedRecords, permanentEnvironment, notes, knownVariances, gxe, null);
    }

    /** Without GxE components ({@code --gxe}). */
    public Options(List<String> grmPrefixes, boolean epistatic, List<RemlInputs.Relationship> extraRelationships,
        List<String> groups, TraitTables.Spec trait, SampleSelection samples, boolean blup, String solver,
        boolean allowNonconvergence, int maxIterations, String out, String commandLine, boolean repeatedRecords,
        boolean permanentEnvironment, List<String> notes, Map<String, Double> knownVariances) {
      this(grmPrefixes, epistatic, extraRelationships, groups, trait, samples, blup, solver, allowNonconvergence,
          maxIterations, out, commandLine, repeatedRecords, permanentEnvironment, notes, knownVariances, List.of());
    }

    /** Every variance estimated. */
    public Options(List<String> grmPrefixes, boolean epistatic, List<RemlInputs.Relationship> extraRelationships,
        List<String> groups, TraitTables.Spec trait, SampleSelection samples, boolean blup, String solver,
        boolean allowNonconvergence, int maxIterations, String out, String commandLine, boolean repeatedRecords,
        boolean permanentEnvironment, List<String> notes) {
      this(grmPrefixes, epistatic, extraRelationships, groups, trait, samples, blup, solver, allowNonconvergence,
          maxIterations, out, commandLine, repeatedRecords, permanentEnvironment, notes, Map.of());
    }

    /** These options for one trait of several: its tables and columns, its output prefix. */
    public Options forTrait(TraitTables.Spec trait, String out) {
      return new Options(grmPrefixes, epistatic, extraRelationships, groups, trait, samples, blup, solver,
          allowNonconvergence, maxIterations, out, commandLine, repeatedRecords, permanentEnvironment, notes,
          knownVariances, gxe, residBy);
    }

    /** One record per sample, every sample, covariates from whole files. */
    public Options(List<String> grmPrefixes, boolean epistatic, List<RemlInputs.Relationship> extraRelationships,
        List<String> groups, String pheno, String phenoName, String covar, String qcovar, boolean blup, String solver,
        boolean allowNonconvergence, int maxIterations, String out, String commandLine) {
      this(grmPrefixes, epistatic, extraRelationships, groups, TraitTables.Spec.of(pheno, phenoName, covar, qcovar),
          SampleSelection.all(), blup, solver, allowNonconvergence, maxIterations, out, commandLine, false, false,
          List.of());
    }
  }

  /**
   * The fit with everything written out. {@code inputs} is null after a matrix-free fit (no relationship
   * matrix exists), {@code matrixFree} null after a dense or spectral one; after a GLMM ({@code --family})
   * {@code fit} and {@code summary} are null and {@code glmm} holds the fit. {@code hsq} is OUT.hsq's text.
   */
  public record Result(RemlFit fit, VarianceSummary summary, RemlInputs.Assembled inputs, List<String> logLines,
      MatrixFreeRemlJob.Result matrixFree, String hsq, org.lmmspark.engine.glmm.GlmmFit glmm) {
    /**
     * This result without its inputs (the tables and each relationship matrix restricted to the trait's samples,
     * n² doubles each): what a run of many traits keeps of a trait once its outputs are written. Kept whole, 100
     * traits of n = 3,000 held 7 GB of restricted GRMs.
     */
    public Result withoutInputs() {
      return new Result(fit, summary, null, logLines, matrixFree, hsq, glmm);
    }
  }

  /**
   * How the trait is modelled: {@code family} null is the linear model (REML), else the GLMM of that family
   * fitted by {@code glmm} ({@link GlmmRemlJob}). {@code prevalence} (GCTA's {@code --prevalence K}, linear
   * model of a 0/1 trait only) adds the liability-scale {@code V(·)/Vp_L} rows ({@link LiabilityScale}).
   */
  public record TraitScale(Family family, GlmmFitter.Options glmm, Double prevalence) {
    public static final TraitScale LINEAR = new TraitScale(null, null, null);

    public TraitScale {
      if (family != null && prevalence != null) {
        throw new BadInputException("--prevalence transforms a linear fit of a 0/1 trait (GCTA); with --family "
            + family.distribution() + " the .hsq already has the latent-scale V(G)/Vp");
      }
      if (prevalence != null && !(prevalence > 0 && prevalence < 1)) {
        throw new BadInputException("--prevalence must be in (0, 1), got " + prevalence);
      }
    }
  }

  /**
   * Where the genotypes of {@code reml --bfile/--bgen} come from and how the matrix-free solver runs.
   *
   * @param genotypes       the genotype files
   * @param partitions      variant ranges for the GRM job or the genotype cache (≤ 0: the job chooses)
   * @param probes          Rademacher probe vectors of the matrix-free trace estimates
   * @param seed            seed of the probes
   * @param cgTolerance     relative residual at which the matrix-free CG solves stop
   * @param matrixFreeAbove {@code --solver auto} is matrix-free when the analysed samples exceed this
   */
  public record GenotypeInput(org.lmmspark.engine.genotype.GenotypeInput genotypes, double minMaf,
      VariantSelection variants, int partitions,
      int probes, long seed, double cgTolerance, int matrixFreeAbove, GenotypeScaling kernel) {
    public GenotypeInput {
      NumericRange.MAF.check("--maf", minMaf);
      NumericRange.atLeast("--partitions", partitions, 0);
      NumericRange.atLeast("--probes", probes, 2);
      NumericRange.OPEN_UNIT.check("--cg-tol", cgTolerance);
      if (matrixFreeAbove != SolverRoute.COST_MODEL) {
        NumericRange.atLeast("--matrix-free-above", matrixFreeAbove, 0);
      }
    }

    /** GCTA's GRM definition. */
    public GenotypeInput(org.lmmspark.engine.genotype.GenotypeInput genotypes, double minMaf, VariantSelection variants,
        int partitions, int probes, long seed, double cgTolerance, int matrixFreeAbove) {
      this(genotypes, minMaf, variants, partitions, probes, seed, cgTolerance, matrixFreeAbove, GenotypeScaling.GCTA);
    }
  }

  public static Result run(Options o, Configuration conf) {
    return run(o, TraitScale.LINEAR, conf);
  }

  /** {@link #run(Options, Configuration)} for a linear model with {@code --prevalence}, or a GLMM ({@code --family}). */
  public static Result run(Options o, TraitScale scale, Configuration conf) {
    return run(o, scale, conf, null);
  }

  /**
   * What the traits of one run share ({@link MultiTraitRemlJob}): the relationship matrices, read and
   * subset by {@code --keep/--remove} once, the log lines that say so, and the band form of the one
   * component ({@link SpectralReml#reduce}) for the last analysed sample set, so that consecutive traits
   * with the same samples (the same K) reduce it once and get the very fit of a run of their own.
   */
  static final class Shared {
    final List<RemlInputs.Relationship> rels;
    final List<String> log;
    private List<SampleId> bandSamples;
    private SpectralReml.Band band;
    private List<Object> tablesKey;
    private TraitTables.Read tables;
    int reductions;

    Shared(List<RemlInputs.Relationship> rels, List<String> log) {
      this.rels = rels;
      this.log = log;
    }

    /**
     * {@code prob} fitted in the band form of its one component over {@code samples}: the last one when the samples
     * are the same, else a new one, reduced with the fit ({@link SpectralReml#fitReducing}).
     */
    RemlFit fit(SpectralReml spectral, List<SampleId> samples, RemlProblem prob) {
      if (samples.equals(bandSamples)) {
        return spectral.fit(prob, band);
      }
      band = null; // let the old one go before the new one is made
      bandSamples = null;
      SpectralReml.Fitted fitted = spectral.fitReducing(prob);
      band = fitted.band();
      bandSamples = List.copyOf(samples);
      reductions++;
      return fitted.fit();
    }

    /**
     * The tables of {@code o}'s trait read once for every trait of a run that differs only in the trait column
     * ({@link TraitTables#readOnce}): 100 traits parsed a 20,000-row table 200 times otherwise.
     */
    TraitTables.Tables tables(Options o, List<String> labelled, Configuration conf) {
      List<Object> key = List.of(o.trait().withPhenoName(null), List.copyOf(labelled), o.repeatedRecords());
      if (tables == null || !key.equals(tablesKey)) {
        tables = readTables(o, rels, labelled, conf);
        tablesKey = key;
      }
      return tables.forTrait(o.trait());
    }
  }

  /** Reads the relationship matrices of {@code o} and applies its sample selection; the log says what was read. */
  static Shared load(Options o, Configuration conf) {
    List<String> log = new ArrayList<>();
    List<RemlInputs.Relationship> rels = new ArrayList<>();
    for (int g = 0; g < o.grmPrefixes().size(); g++) {
      String prefix = o.grmPrefixes().get(g);
      String name = o.grmPrefixes().size() == 1 ? "G" : "G" + (g + 1);
      rels.add(new RemlInputs.Relationship(name, prefix, GctaGrmFiles.readValues(prefix, conf), true));
      log.add("GRM " + name + ": " + prefix + " (" + rels.get(g).matrix().size() + " samples)");
    }
    for (RemlInputs.Relationship r : o.extraRelationships()) {
      rels.add(r);
      log.add("relationship matrix " + r.name() + ": " + r.source() + " (" + r.ids().size() + " individuals)");
    }
    if (!o.samples().isAll()) {
      // --keep/--remove: every relationship matrix over the kept samples only.
      for (int k = 0; k < rels.size(); k++) {
        RemlInputs.Relationship r = rels.get(k);
        SampleSelection.Applied a = o.samples().apply(r.ids(), r.source());
        log.add(a.report());
        int[] rows = new int[a.subset().size()];
        for (int i = 0; i < rows.length; i++) {
          rows[i] = a.subset().row(i);
        }
        rels.set(k, r.subset(rows));
      }
    }
    return new Shared(rels, log);
  }

  /** {@link #run(Options, TraitScale, Configuration)} with what several traits share ({@code shared}, or null to read it here). */
  static Result run(Options o, TraitScale scale, Configuration conf, Shared shared) {
    long t0 = System.nanoTime();
    // The GRM first: the native BLAS that Blas.describe() needs may still be loading (RemlCommand starts it).
    Shared loaded = shared != null ? shared : load(o, conf);
    List<String> log = new ArrayList<>();
    log.add("lmmspark reml");
    log.add("command: " + o.commandLine());
    log.add("versions: lmmspark " + version() + ", Java " + System.getProperty("java.version") + ", " + Blas.describe());
    List<RemlInputs.Relationship> rels = loaded.rels;
    log.addAll(loaded.log);
    log.addAll(o.notes());
    if (rels.isEmpty() && o.groups().isEmpty() && !o.permanentEnvironment()) {
      throw new BadInputException("no variance component: give --grm PREFIX, --bfile PREFIX, --pedigree FILE or --group COLUMN");
    }
    RemlInputs.Assembled in = assemble(o, rels, conf, shared);
    RemlProblem prob = in.problem();
    log.add("trait: " + in.design().trait() + "; fixed effects: " + prob.fixedNames());
    log.add("samples:");
    for (String line : in.notes()) {
      log.add("  " + line);
    }
    log.add((o.repeatedRecords() ? "analysed records: " + prob.n() + " of " + in.individuals().size() + " individuals"
        : "analysed samples: " + prob.n()) + "; variance components: "
        + prob.components().stream().map(c -> c.name()).toList() + " + residual");
    if (scale.family() != null) {
      return GlmmRemlJob.run(o, scale, in, log, t0, conf);
    }
    if (o.residBy() != null) {
      return ResidByRemlJob.run(o, scale, in, log, t0, conf);
    }
    Liability liability = scale.prevalence() == null ? null : Liability.of(in.frame(), scale.prevalence(), log);

    long tFit = System.nanoTime();
    Route route = chooseRoute(o, rels, in);
    log.add(route.why());
    RemlSolver solver = route.solver();
    // Dense work on the driver (no Spark task runs meanwhile): the driver's threads (Blas.driverThreads), whatever
    // OPENBLAS_NUM_THREADS says.
    // Traits of one run with the same samples share the band form of K (the fit is then the same as alone).
    RemlFit fit = Blas.onAllCores(() -> shared != null && solver instanceof SpectralReml spectral
        ? shared.fit(spectral, in.samples(), prob) : solver.fit(prob));
    double fitSeconds = (System.nanoTime() - tFit) / 1e9;
    log.add(String.format(Locale.ROOT, "solver %s: %s (%.3f s)", solver.name(), fit.message(), fitSeconds));
    if (route.mme() != null) {
      log.add("mixed-model equations: " + route.mme().sparsity());
    }
    VarianceSummary summary = new VarianceSummary(fit, prob.nullLogL(null), prob.n());
    for (int k = 0; k < fit.parameters(); k++) {
      if (fit.boundary()[k]) {
        log.add("note: " + (k < fit.parameters() - 1 ? "V(" + fit.componentNames().get(k) + ")" : "V(e)")
            + " is on the boundary of the parameter space (held at "
            + String.format(Locale.ROOT, "%.3g", fit.theta()[k]) + ")");
      }
    }
    checkConvergence(fit, o.out(), o.allowNonconvergence(), log, conf);
    log.add(String.format(Locale.ROOT, "total time %.3f s", (System.nanoTime() - t0) / 1e9));
    String hsqText = hsq(summary, liability);
    try (AtomicOutputs outs = new AtomicOutputs(conf)) {
      write(outs, o.out() + ".hsq", hsqText);
      Map<String, Object> doc = json(o, in, fit, summary, solver, fitSeconds);
      if (liability != null) {
        doc.put("liability_scale", liability.json(summary));
      }
      if (route.mme() != null) {
        Map<String, Object> mme = new LinkedHashMap<>();
        mme.put("unknowns", route.mme().unknowns());
        mme.put("sparsity", route.mme().sparsity());
        doc.put("mixed_model_equations", mme);
      }
      write(outs, o.out() + ".json", Json.write(doc));
      if (o.blup()) {
        MmeLikelihood.Solutions sol = route.mme() == null ? null : route.mme().solutions(fit.theta());
        write(outs, o.out() + ".blup.txt", blups(in, fit, sol));
        if (sol != null) {
          write(outs, o.out() + ".blup.levels.txt", levelBlups(sol));
          write(outs, o.out() + ".blue.txt", blues(in.problem().fixedNames(), sol));
        }
      }
      write(outs, o.out() + ".log", String.join("\n", log) + "\n");
      outs.commit();
    }
    return new Result(fit, summary, in, log, null, hsqText, null);
  }

  /**
   * GCTA's {@code --prevalence K} for a linear fit of a 0/1 trait: the sample's case proportion P (cases
   * coded 1 of 0/1 or 2 of PLINK's 1/2, as GCTA's {@code check_case_control}) and the factor
   * {@link LiabilityScale#factor} that takes observed-scale h² and its SE to the liability scale.
   */
  public record Liability(double prevalence, double caseProportion, int cases, int n) {
    public double factor() {
      return LiabilityScale.factor(prevalence, caseProportion);
    }

    /** From the analysed trait values; a trait that is not 0/1 (or 1/2) is bad input. */
    static Liability of(SampleFrame frame, double prevalence, List<String> log) {
      double[] y = frame.design().y();
      double[] zeroOne = Family.plinkCaseControlAsZeroOne(y);
      double[] v = zeroOne != null ? zeroOne : y;
      frame.checkTrait(i -> v[i] != 0 && v[i] != 1 ? "--prevalence is for a 0/1 (or PLINK 1/2) case-control trait" : null);
      int cases = 0;
      for (double c : v) {
        cases += (int) c;
      }
      Liability l = new Liability(prevalence, (double) cases / v.length, cases, v.length);
      l.factor(); // all cases or no cases: bad input here, before anything is written
      log.add(String.format(Locale.ROOT, "--prevalence %s: %d cases and %d controls (P = %.6f)%s; observed-scale h² "
          + "times %.6g = liability-scale h² (Lee et al. 2011 eq. 23, GCTA's V(G)/Vp_L)", prevalence, cases,
          v.length - cases, l.caseProportion(), zeroOne != null ? ", coded 1/2" : "", l.factor()));
      return l;
    }

    /** The JSON section: K, P, the factor and each liability-scale ratio with its SEs. */
    Map<String, Object> json(VarianceSummary s) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("prevalence", prevalence);
      m.put("case_proportion", caseProportion);
      m.put("cases", cases);
      m.put("controls", n - cases);
      m.put("factor", factor());
      List<Object> rows = new ArrayList<>();
      for (int i = 0; i < s.ratios().size(); i++) {
        VarianceSummary.Row r = s.ratios().get(i);
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("name", r.source().replace("/Vp", "/Vp_L"));
        row.put("value", factor() * r.value());
        row.put("se", factor() * r.se());
        row.put("se_observed_information", factor() * s.observedRatioSe(i));
        rows.add(row);
      }
      m.put("ratios", rows);
      m.put("method", "Lee et al. (2011) eq. 23 as GCTA --prevalence: h2_L = h2_O K^2 (1-K)^2 / (z^2 P (1-P)), "
          + "z the standard normal density at the threshold qnorm(1 - K); SEs scaled by the same factor");
      return m;
    }
  }

  /** The trait's tables read and matched with the relationship matrices: the model to fit. */
  static RemlInputs.Assembled assemble(Options o, List<RemlInputs.Relationship> rels, Configuration conf) {
    return assemble(o, rels, conf, null);
  }

  /** As above, the tables read through {@code shared} (once for all traits of a run) when it is given. */
  static RemlInputs.Assembled assemble(Options o, List<RemlInputs.Relationship> rels, Configuration conf,
      Shared shared) {
    return RemlInputs.assemble(spec(o, rels, conf, shared));
  }

  /**
   * The records {@link #assemble} analyses (its model frame's), without building the variance components (each
   * relationship matrix restricted to them, n² doubles): what a run of many traits groups them by.
   */
  static List<SampleId> analysedSamples(Options o, List<RemlInputs.Relationship> rels, Configuration conf,
      Shared shared) {
    return RemlInputs.frame(spec(o, rels, conf, shared)).records();
  }

  private static RemlInputs.Spec spec(Options o, List<RemlInputs.Relationship> rels, Configuration conf, Shared shared) {
    List<String> labelled = new ArrayList<>(o.groups());
    labelled.addAll(o.gxe());
    if (o.residBy() != null && !labelled.contains(o.residBy())) {
      labelled.add(o.residBy());
    }
    TraitTables.Tables t = shared != null ? shared.tables(o, labelled, conf)
        : readTables(o, rels, labelled, conf).forTrait(o.trait());
    return new RemlInputs.Spec(rels, o.epistatic(), t.pheno(), t.trait(), t.covar(), t.qcovar(), o.groups(),
        t.phenoCovarNames(), t.phenoQcovarNames(), o.repeatedRecords(), o.permanentEnvironment(), o.gxe(), o.residBy());
  }

  private static TraitTables.Read readTables(Options o, List<RemlInputs.Relationship> rels, List<String> labelled,
      Configuration conf) {
    return TraitTables.readOnce(o.trait(), null, rels.isEmpty() ? null : rels.get(0).ids(),
        rels.isEmpty() ? null : rels.get(0).source(), o.repeatedRecords(), labelled, conf);
  }

  /** The {@code --solver} value of the GRM-free solver. */
  public static final String MATRIX_FREE = "matrix-free";

  /**
   * {@code lmmspark reml --bfile PREFIX} (or {@code --bgen FILE}): the same model with one genetic component {@code K = ZZᵀ/M}
   * taken from genotypes instead of a GRM file. {@code o.solver()} decides how:
   * <ul>
   *   <li>{@code matrix-free}, or {@code auto} with more analysed samples than
   *       {@link GenotypeInput#matrixFreeAbove()}: {@link MatrixFreeRemlJob} (stochastic AI-REML by
   *       batched CG over the genotypes cached on the executors; no n×n matrix anywhere). Its K
   *       mean-imputes missing calls (BOLT-LMM), which differs from GCTA's per-pair scaling by the
   *       missing rate; with {@code --kernel standardized} or {@code centered} (which divide by M too)
   *       it is the same K as the spectral route's.</li>
   *   <li>{@code spectral}, {@code dense}, or {@code auto} at or below the threshold: the GCTA GRM by
   *       {@link GrmJob#computeInMemory} (one Spark job, nothing written), then {@link #run}.</li>
   * </ul>
   * Writes the same {@code OUT.hsq}, {@code OUT.json} (plus a {@code matrix_free} section of
   * diagnostics) and {@code OUT.log} either way. Only the GRM options of {@code o} that the matrix-free
   * model has are allowed (covariate files, trait, iteration limit); others are refused here so that
   * {@code auto} never changes which options work.
   */
  public static Result runOnGenotypes(JavaSparkContext jsc, Options o, GenotypeInput g) {
    return runOnGenotypes(jsc, o, g, TraitScale.LINEAR);
  }

  /** {@link #runOnGenotypes(JavaSparkContext, Options, GenotypeInput)} with {@code --prevalence} or {@code --family}. */
  public static Result runOnGenotypes(JavaSparkContext jsc, Options o, GenotypeInput g, TraitScale scale) {
    long t0 = System.nanoTime();
    String solver = checkGenotypeOptions(o, g);
    Configuration conf = jsc.hadoopConfiguration();
    GenotypeSelection selection = new GenotypeSelection(o.samples(), g.variants());
    PartitionedGenotypes genotypes = PartitionedGenotypes.open(g.genotypes(), selection, conf);
    GenotypeRemlInputs.Assembled in = MatrixFreeRemlJob.assemble(o.trait(), genotypes, conf);
    SolverRoute.Decision route = route(jsc, solver, genotypes, in, g, scale);
    return route.route() == SolverRoute.Route.MATRIX_FREE
        ? matrixFreeOnGenotypes(jsc, o, g, scale, selection, genotypes, in, route.why() + ": matrix-free REML on the genotypes", t0)
        : grmOnGenotypes(jsc, o, g, scale, selection, solver, route.why() + ": GRM computed in memory, then the "
            + (solver.equals("dense") ? "dense" : "spectral") + " solver");
  }

  /**
   * Refuses the options that need a GRM file (the genotype model has one genetic component) and a
   * {@code --solver} the genotype routes do not have; returns the solver ("auto" when not given).
   */
  static String checkGenotypeOptions(Options o, GenotypeInput g) {
    if (!o.grmPrefixes().isEmpty()) {
      throw new BadInputException("give either --grm or genotypes (" + g.genotypes() + "), not both");
    }
    List<String> refused = new ArrayList<>();
    if (!o.extraRelationships().isEmpty()) {
      refused.add("--pedigree");
    }
    if (!o.groups().isEmpty()) {
      refused.add("--group");
    }
    if (o.epistatic()) {
      refused.add("--epistatic");
    }
    if (o.blup()) {
      refused.add("--blup");
    }
    if (o.repeatedRecords() || o.permanentEnvironment()) {
      refused.add("--repeated-records/--permanent-environment");
    }
    if (!o.knownVariances().isEmpty()) {
      refused.add("--fix/--fix-file");
    }
    if (!refused.isEmpty()) {
      throw new BadInputException(String.join(", ", refused) + " need(s) --grm: with genotypes the model has one "
          + "genetic component from the genotypes");
    }
    String solver = o.solver() == null ? "auto" : o.solver();
    if (!List.of("auto", "spectral", "dense", MATRIX_FREE).contains(solver)) {
      throw new BadInputException("--solver must be auto, spectral, dense or matrix-free, not '" + solver + "'");
    }
    return solver;
  }

  /** The route ({@link SolverRoute}, the one place that decides): {@code --solver} as asked, or auto's choice. */
  static SolverRoute.Decision route(JavaSparkContext jsc, String solver, PartitionedGenotypes genotypes,
      GenotypeRemlInputs.Assembled in, GenotypeInput g, TraitScale scale) {
    long m = 0;
    for (boolean keep : genotypes.include()) {
      m += keep ? 1 : 0;
    }
    return SolverRoute.choose(solver.equals("auto") ? null
        : solver.equals(MATRIX_FREE) ? SolverRoute.Route.MATRIX_FREE : SolverRoute.Route.SPECTRAL,
        new SolverRoute.Request(in.samples().size(), m, genotypes.chromosomes().size(), in.design().p(), 1, false,
            false, false, false, null,
            Blas.driverThreads(), Math.max(1, jsc.defaultParallelism()),
            Runtime.getRuntime().maxMemory(), g.matrixFreeAbove()));
  }

  /** The spectral (or dense) route: the GRM computed in memory by one Spark job, then {@link #run} on it. */
  private static Result grmOnGenotypes(JavaSparkContext jsc, Options o, GenotypeInput g, TraitScale scale,
      GenotypeSelection selection, String solver, String why) {
    return run(inMemoryGrm(jsc, o, g, selection, solver, why), scale, jsc.hadoopConfiguration());
  }

  /** The GRM of the kept samples computed in memory on Spark ({@link GrmJob#computeInMemory}) and the options of {@link #run} over it. */
  static Options inMemoryGrm(JavaSparkContext jsc, Options o, GenotypeInput g, GenotypeSelection selection,
      String solver, String why) {
    GrmJob.InMemory grm = GrmJob.computeInMemory(jsc, g.genotypes(), g.minMaf(), selection, g.partitions(), g.kernel());
    List<String> notes = new ArrayList<>(o.notes());
    notes.add(why);
    notes.addAll(grm.notes());
    notes.add(String.format(Locale.ROOT, "GRM (--kernel %s) of %d samples computed in memory from %s in %.1f s: %s",
        g.kernel().option(), grm.grm().size(), g.genotypes().label(), grm.seconds(), grm.counts()));
    // The GRM is over the kept samples already: no second selection.
    return new Options(List.of(), false,
        List.of(new RemlInputs.Relationship("G", g.genotypes().label(), grm.grm(), true)), List.of(),
        o.trait().orFam(g.genotypes().fam()), SampleSelection.all(), false, solver, o.allowNonconvergence(),
        o.maxIterations(), o.out(), o.commandLine(), false, false, notes, Map.of(), List.of(), o.residBy());
  }

  /**
   * The matrix-free route ({@link MatrixFreeRemlJob}: genotypes cached once, stochastic AI-REML over passes), then
   * the log, {@code OUT.hsq} and {@code OUT.json} with the fit's Monte Carlo diagnostics.
   */
  private static Result matrixFreeOnGenotypes(JavaSparkContext jsc, Options o, GenotypeInput g, TraitScale scale,
      GenotypeSelection selection, PartitionedGenotypes genotypes, GenotypeRemlInputs.Assembled in, String why,
      long t0) {
    if (o.residBy() != null) {
      throw new BadInputException("--resid-by " + o.residBy() + " needs a relationship matrix (" + why + "): the "
          + "matrix-free route fits one residual variance; use --grm, or --solver spectral/dense to compute the GRM "
          + "in memory");
    }
    if (scale.family() != null) {
      return GlmmRemlJob.runMatrixFree(jsc, o, scale, g, genotypes, in, logHeader(o, why), t0);
    }
    if (scale.prevalence() != null) {
      Liability.of(in.frame(), scale.prevalence(), new ArrayList<>()); // a trait that is not 0/1: before the fit
    }
    MatrixFreeRemlJob.Result r = MatrixFreeRemlJob.run(jsc, new MatrixFreeRemlJob.Options(g.genotypes(), o.trait(),
        g.minMaf(), selection, stochasticOptions(o, g), g.partitions(), g.kernel()));
    if (!r.samples().equals(in.samples())) {
      throw new IllegalStateException("the matrix-free job analysed other samples than matched here");
    }
    return writeMatrixFree(o, g, scale, in, r, why, t0, jsc.hadoopConfiguration());
  }

  /** Several traits with {@code --family}: the matrix-free PQL ({@link GlmmRemlJob#runMatrixFree}) fits one trait at a time. */
  static void refuseMatrixFreeGlmm(TraitScale scale) {
    if (scale.family() != null) {
      throw new BadInputException("--family " + scale.family().distribution() + " with several traits on genotypes "
          + "needs the GRM route (--solver auto at or below --matrix-free-above samples, or spectral/dense): the "
          + "matrix-free PQL fits one trait at a time");
    }
  }

  /** The stochastic solver's options from the command's. */
  static StochasticReml.Options stochasticOptions(Options o, GenotypeInput g) {
    StochasticReml.Options d = StochasticReml.Options.defaults();
    return new StochasticReml.Options(g.probes(), g.seed(), g.cgTolerance(), d.maxCgIterations(), o.maxIterations(),
        d.tolerance(), d.emSteps(), d.deflationRank(), d.logLikelihood());
  }

  /** The first lines of a genotype route's log: command, versions, why this route, the input notes. */
  static List<String> logHeader(Options o, String why) {
    List<String> log = new ArrayList<>();
    log.add("lmmspark reml");
    log.add("command: " + o.commandLine());
    log.add("versions: lmmspark " + version() + ", Java " + System.getProperty("java.version") + ", " + Blas.describe());
    log.add(why);
    log.addAll(o.notes());
    return log;
  }

  /**
   * Writes a matrix-free fit {@code r} of the samples {@code in} as {@code OUT.hsq}, {@code OUT.json} (with its
   * {@code matrix_free} diagnostics) and {@code OUT.log}; a fit that did not converge is an error unless
   * {@code --allow-nonconvergence}.
   */
  static Result writeMatrixFree(Options o, GenotypeInput g, TraitScale scale, GenotypeRemlInputs.Assembled in,
      MatrixFreeRemlJob.Result r, String why, long t0, Configuration conf) {
    int n = in.samples().size();
    List<String> log = logHeader(o, why);
    RemlFit fit = r.fit();
    VarianceSummary summary = r.summary();
    log.add("trait: " + in.design().trait() + "; fixed effects: " + in.design().columnNames());
    log.add("samples:");
    for (String line : r.notes()) {
      log.add("  " + line);
    }
    log.add("analysed samples: " + n + "; variance components: [G] + residual");
    log.add(String.format(Locale.ROOT, "solver %s: %s (%.3f s)", MATRIX_FREE, fit.message(), r.remlSeconds()));
    StochasticReml.Diagnostics dg = r.diagnostics();
    log.add(String.format(Locale.ROOT, "Monte Carlo SE of the traces' estimate (%d probes of this trait's own, seed %d,"
        + " and the shared runs the solver line names, if any): V(G) %.4g, V(e) %.4g, log|V| %.3g",
        dg.probes(), g.seed(), dg.monteCarloSe(0), dg.monteCarloSe(1), dg.logDetVMonteCarloSe()));
    log.add(String.format(Locale.ROOT, "M = %d variants; genotypes cached in %.1f s (%d MiB packed, %d partitions);"
        + " REML %.1f s: %d passes over the genotypes, %d Spark jobs, %d REML iterations; driver heap used %d MiB",
        r.variantsUsed(), r.cacheSeconds(), r.cachedBytes() >> 20, r.partitions(), r.remlSeconds(), r.passes(),
        r.sparkJobs(), fit.iterations(), (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) >> 20));
    if (fit.boundary()[0]) {
      log.add("note: V(G) is on the boundary of the parameter space (held at 0)");
    }
    checkConvergence(fit, o.out(), o.allowNonconvergence(), log, conf);
    Liability liability = scale.prevalence() == null ? null : Liability.of(in.frame(), scale.prevalence(), log);
    String hsqText = hsq(summary, liability);
    log.add(String.format(Locale.ROOT, "total time %.3f s", (System.nanoTime() - t0) / 1e9));
    Map<String, Object> samples = new LinkedHashMap<>();
    samples.put("analysed", n);
    samples.put("inputs", perInput(in.match()));
    Map<String, Object> mf = matrixFreeDiagnostics(r, g);
    Map<String, Object> doc = json(o, in.design().trait(), in.design().columnNames(), fit, summary, MATRIX_FREE,
        r.remlSeconds(), samples, mf);
    if (liability != null) {
      doc.put("liability_scale", liability.json(summary));
    }
    writeFit(conf, o.out(), hsqText, doc, log);
    return new Result(fit, summary, null, log, r, hsqText, null);
  }

  /** The {@code matrix_free} section of {@code OUT.json}: probes, Monte Carlo errors, passes, jobs, cache, times. */
  private static Map<String, Object> matrixFreeDiagnostics(MatrixFreeRemlJob.Result r, GenotypeInput g) {
    StochasticReml.Diagnostics dg = r.diagnostics();
    Map<String, Object> mf = new LinkedHashMap<>();
    mf.put("probes", dg.probes());
    mf.put("seed", g.seed());
    mf.put("cg_tolerance", g.cgTolerance());
    mf.put("monte_carlo_se", new double[] {dg.monteCarloSe(0), dg.monteCarloSe(1)});
    mf.put("monte_carlo_covariance", dg.monteCarloCovariance());
    mf.put("log_det_v", dg.logDetV());
    mf.put("log_det_v_monte_carlo_se", dg.logDetVMonteCarloSe());
    mf.put("passes", r.passes());
    mf.put("spark_jobs", r.sparkJobs());
    mf.put("cg_iterations_per_solve", java.util.Arrays.stream(dg.cgIterationsPerSolve()).boxed().toList());
    mf.put("variants", r.variantsUsed());
    mf.put("partitions", r.partitions());
    mf.put("cached_bytes", r.cachedBytes());
    mf.put("cache_seconds", r.cacheSeconds());
    mf.put("reml_seconds", r.remlSeconds());
    return mf;
  }

  /**
   * How a model is fitted: the solver, the mixed-model-equation likelihood when that is the route (for
   * the BLUPs of every level), and a log line saying why.
   */
  record Route(RemlSolver solver, MmeLikelihood mme, String why) {}

  /**
   * The one switch of {@code reml}'s routes. {@code auto}: the sparse mixed-model equations when
   * every component is sparse there (grouping factors, the permanent environment, a pedigree's A
   * through A⁻¹: {@link SparseModels}); else the spectral solver for one component without known
   * variances; else dense AI-REML. {@code --fix} wraps the AI-REML of the route in
   * {@link KnownVariances}; the spectral solver has no such form, so known variances move it to dense.
   */
  static Route chooseRoute(Options o, List<RemlInputs.Relationship> rels, RemlInputs.Assembled in) {
    RemlProblem prob = in.problem();
    int k = prob.components().size();
    String s = o.solver() == null ? "auto" : o.solver();
    List<String> names = prob.components().stream().map(c -> c.name()).toList();
    double[] known = o.knownVariances().isEmpty() ? null : KnownVariances.resolve(o.knownVariances(), names);
    switch (s) {
      case "auto": {
        SparseModels.Conversion conv = SparseModels.of(rels, in);
        if (conv.model() != null) {
          return sparse(o, conv.model(), known, "--solver auto: every component is sparse in the mixed-model equations"
              + " (grouping factors, pedigree A⁻¹): sparse Cholesky of Henderson's equations, no n×n V");
        }
        if (k == 1 && known == null) {
          return new Route(new SpectralReml(), null, "--solver auto: " + conv.reason() + "; one component: spectral");
        }
        return new Route(dense(o, known), null, "--solver auto: " + conv.reason() + ": dense AI-REML (Cholesky of V)");
      }
      case "sparse": {
        SparseModels.Conversion conv = SparseModels.of(rels, in);
        if (conv.model() == null) {
          throw new BadInputException("--solver sparse: " + conv.reason() + "; use --solver dense or spectral");
        }
        return sparse(o, conv.model(), known, "--solver sparse");
      }
      case "spectral":
        if (k != 1) {
          throw new BadInputException("--solver spectral needs exactly one variance component, the model has " + k
              + "; use --solver dense");
        }
        if (known != null) {
          throw new BadInputException("--fix/--fix-file need AI-REML: use --solver dense, sparse or auto");
        }
        return new Route(new SpectralReml(), null, "--solver spectral");
      case "dense":
        return new Route(dense(o, known), null, "--solver dense");
      case MATRIX_FREE:
        throw new BadInputException("--solver matrix-free works on genotypes: give --bfile PREFIX instead of a GRM");
      default:
        throw new BadInputException("--solver must be auto, spectral, dense, sparse or matrix-free, not '" + s + "'");
    }
  }

  private static RemlSolver dense(Options o, double[] known) {
    return aiReml("dense-ai", DenseRemlLikelihood::new, known, o);
  }

  private static Route sparse(Options o, MixedModel model, double[] known, String why) {
    MmeLikelihood mme = new MmeLikelihood(model);
    return new Route(aiReml("sparse-mme", p -> mme, known, o), mme, why);
  }

  private static RemlSolver aiReml(String name, Function<RemlProblem, RemlLikelihood> lik, double[] known, Options o) {
    return known == null ? new AiReml(name, lik, AiReml.DEFAULT_EM_STEPS, o.maxIterations())
        : new KnownVariances(name, lik, known, AiReml.DEFAULT_EM_STEPS, o.maxIterations());
  }

  /**
   * Every level of every random term (all animals of the pedigree, ancestors without records
   * included): {@code term level effect BLUP PEV SE reliability}, PEV = Var(u − û), SE = √PEV,
   * reliability = 1 − PEV/(σ²·K_ll). Levels of a pedigree are its IIDs ({@code FID:IID} when it has
   * family IDs).
   */
  static String levelBlups(MmeLikelihood.Solutions sol) {
    StringBuilder sb = new StringBuilder("term\tlevel\teffect\tBLUP\tPEV\tSE\treliability\n");
    for (MmeLikelihood.TermSolution t : sol.terms()) {
      for (int a = 0; a < t.term().dimension(); a++) {
        for (int l = 0; l < t.term().levels(); l++) {
          sb.append(t.term().name()).append('\t').append(t.term().levelNames().get(l)).append('\t')
              .append(t.term().effectNames().get(a)).append('\t').append(g8(t.blup()[a][l])).append('\t')
              .append(g8(t.pev()[a][l])).append('\t').append(g8(Math.sqrt(t.pev()[a][l]))).append('\t')
              .append(g8(t.reliability()[a][l])).append('\n');
        }
      }
    }
    return sb.toString();
  }

  /** Fixed effects: {@code name estimate SE} (GLS at the variances, SE from {@code (XᵀV⁻¹X)⁻¹}). */
  static String blues(List<String> names, MmeLikelihood.Solutions sol) {
    StringBuilder sb = new StringBuilder("name\testimate\tSE\n");
    int p = names.size();
    for (int j = 0; j < p; j++) {
      sb.append(names.get(j)).append('\t').append(g8(sol.beta()[j])).append('\t')
          .append(g8(Math.sqrt(sol.betaCovariance()[j + j * p]))).append('\n');
    }
    return sb.toString();
  }

  private static String g8(double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%.8g", v) : "NA";
  }

  /** GCTA's .hsq layout: Source, Variance, SE rows, then logL, logL0, LRT, df, Pval, n. */
  public static String hsq(VarianceSummary s) {
    return hsq(s, null);
  }

  /**
   * The GCTA {@code .hsq}; with {@code liability} (GCTA's {@code --prevalence}) also GCTA's two lines on the
   * transformation and a {@code V(·)/Vp_L} row per component ({@code Sum of V(G)_L/Vp} for several), each
   * value and SE times {@link LiabilityScale#factor}, after the observed-scale ratios, as GCTA writes them.
   */
  public static String hsq(VarianceSummary s, Liability liability) {
    List<String> lines = new ArrayList<>();
    if (liability != null) {
      double c = liability.factor();
      lines.add("The estimate of variance explained on the observed scale is transformed to that on the underlying "
          + "scale:");
      lines.add(String.format(Locale.ROOT, "(Proportion of cases in the sample = %.6f; User-specified disease "
          + "prevalence = %s)", liability.caseProportion(), liability.prevalence()));
      int k = s.variances().size() - 2;
      for (int i = 0; i < s.ratios().size(); i++) {
        VarianceSummary.Row r = s.ratios().get(i);
        String name = i < k ? r.source() + "_L" : "Sum of V(G)_L/Vp";
        lines.add(name + "\t" + HsqFile.num(c * r.value()) + "\t" + HsqFile.num(c * r.se()) + "\t"
            + HsqFile.num(c * s.observedRatioSe(i)));
      }
    }
    return HsqFile.write(s, lines);
  }


  static Map<String, Object> json(Options o, RemlInputs.Assembled in, RemlFit fit, VarianceSummary s, RemlSolver solver,
      double seconds) {
    Map<String, Object> samples = new LinkedHashMap<>();
    samples.put("analysed", in.samples().size());
    if (o.repeatedRecords()) {
      samples.put("individuals", in.individuals().size());
    }
    samples.put("inputs", perInput(in.match()));
    return json(o, in.design().trait(), in.problem().fixedNames(), fit, s, solver.name(), seconds, samples, null);
  }

  /** The JSON document of either path; {@code matrixFree} adds the stochastic fit's diagnostics. */
  static Map<String, Object> json(Options o, String trait, List<String> fixedNames, RemlFit fit, VarianceSummary s,
      String solverName, double seconds, Map<String, Object> samples, Map<String, Object> matrixFree) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("trait", trait);
    m.put("solver", solverName);
    m.put("converged", fit.converged());
    m.put("iterations", fit.iterations());
    m.put("message", fit.message());
    m.put("fit_seconds", seconds);
    m.put("n", s.n());
    List<Object> comps = new ArrayList<>();
    int k = fit.parameters() - 1;
    for (int c = 0; c <= k; c++) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("name", c < k ? fit.componentNames().get(c) : "e");
      r.put("variance", fit.theta()[c]);
      r.put("se", fit.se(c));
      r.put("se_observed_information", s.observedVarianceSe(c));
      r.put("boundary", fit.boundary()[c]);
      r.put("known", o.knownVariances().containsKey(c < k ? fit.componentNames().get(c) : "e"));
      r.put("score", fit.score()[c]);
      if (c < k) {
        r.put("ratio_to_vp", s.ratios().get(c).value());
        r.put("ratio_se", s.ratios().get(c).se());
        r.put("ratio_se_observed_information", s.observedRatioSe(c));
      }
      comps.add(r);
    }
    m.put("components", comps);
    m.put("vp", s.variances().get(k + 1).value());
    m.put("vp_se", s.variances().get(k + 1).se());
    m.put("vp_se_observed_information", s.observedVarianceSe(k + 1));
    m.put("se_method", "se: inverse average information (AI-REML, as GCTA's .hsq); se_observed_information: inverse"
        + " observed information -d2 logL (GEMMA se(pve), FaST-LMM, Hail); both by the delta method for ratios");
    if (k > 1) {
      VarianceSummary.Row sum = s.ratios().get(k);
      m.put("sum_ratio_to_vp", sum.value());
      m.put("sum_ratio_se", sum.se());
      m.put("sum_ratio_se_observed_information", s.observedRatioSe(k));
    }
    m.put("covariance_ai_inverse", fit.covariance());
    m.put("covariance_observed_information_inverse", fit.observedCovariance());
    m.put("logL", s.logL());
    m.put("logL0", s.logL0());
    m.put("LRT", s.lrt());
    m.put("df", s.df());
    m.put("pval", Math.exp(s.logP()));
    m.put("log10_pval", s.logP() / Math.log(10));
    List<Object> fixed = new ArrayList<>();
    for (int j = 0; j < fit.beta().length; j++) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("name", fixedNames.get(j));
      r.put("beta", fit.beta()[j]);
      r.put("se", fit.betaSe(j));
      fixed.add(r);
    }
    m.put("fixed_effects", fixed);
    m.put("samples", samples);
    if (matrixFree != null) {
      m.put("matrix_free", matrixFree);
    }
    m.put("command", o.commandLine());
    m.put("version", version());
    return m;
  }

  private static List<Object> perInput(SampleMatch match) {
    List<Object> per = new ArrayList<>();
    for (int i = 0; i < match.inputs().size(); i++) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("input", match.inputs().get(i).name());
      r.put("samples", match.inputs().get(i).ids().size());
      r.put("dropped", match.droppedCount(i));
      r.put("dropped_by_reason", new LinkedHashMap<String, Object>(match.droppedFrom(i)));
      per.add(r);
    }
    return per;
  }

  /**
   * One line per analysed record (per sample without repeated records): FID IID then
   * {@code û_k = σ²_k V_k P y} for each component and {@code ê = σ²_e P y}. With repeated records a
   * relationship component's value is {@code Z σ²_k K Zᵀ P y}: the individual's effect, repeated on
   * each of its records. On the sparse route ({@code sol} given) the same values are read off the
   * mixed-model-equation solutions, {@code (Z_k û_k)_i = û_k[level of i]}, so no relationship matrix
   * is formed.
   */
  static String blups(RemlInputs.Assembled in, RemlFit fit, MmeLikelihood.Solutions sol) {
    double[][] b;
    if (sol == null) {
      b = fit.blups(in.problem());
    } else {
      int n = in.problem().n();
      int k = sol.terms().size();
      b = new double[k + 1][n];
      for (int c = 0; c < k; c++) {
        MmeLikelihood.TermSolution t = sol.terms().get(c);
        for (int i = 0; i < n; i++) {
          int level = t.term().levelOfRecord()[i];
          b[c][i] = level < 0 ? 0 : t.blup()[0][level];
        }
      }
      for (int i = 0; i < n; i++) {
        b[k][i] = fit.theta()[k] * fit.py()[i];
      }
    }
    StringBuilder sb = new StringBuilder("FID\tIID");
    for (String name : fit.componentNames()) {
      sb.append("\tBLUP_").append(name);
    }
    sb.append("\tresidual\n");
    List<SampleId> ids = in.samples();
    for (int i = 0; i < ids.size(); i++) {
      sb.append(ids.get(i).fid()).append('\t').append(ids.get(i).iid());
      for (double[] col : b) {
        sb.append('\t').append(String.format(Locale.ROOT, "%.8g", col[i]));
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  /** A fit that did not converge is an error (log written, nothing else) unless the last iterate is asked for. */
  private static void checkConvergence(RemlFit fit, String out, boolean allowNonconvergence, List<String> log,
      Configuration conf) {
    checkConvergence("REML", fit.converged(), fit.message(), out, allowNonconvergence, log, conf);
  }

  /**
   * {@link #checkConvergence(RemlFit, String, boolean, List, Configuration)} for any fit: {@code what} names it in
   * the messages ("REML", "the GLMM").
   */
  static void checkConvergence(String what, boolean converged, String message, String out,
      boolean allowNonconvergence, List<String> log, Configuration conf) {
    if (!converged && !allowNonconvergence) {
      log.add("error: " + what + " did not converge: " + message);
      try (AtomicOutputs outs = new AtomicOutputs(conf)) {
        write(outs, out + ".log", String.join("\n", log) + "\n");
        outs.commitDiagnostic(); // stays although the run fails: it says why
      }
      throw new BadInputException(what + " did not converge: " + message
          + "; see " + out + ".log; --allow-nonconvergence writes the last iterate");
    }
    if (!converged) {
      log.add("warning: " + what + " did not converge; results are the last iterate (--allow-nonconvergence)");
    }
  }

  /** A fit's three files, published together: {@code OUT.hsq}, {@code OUT.json} and {@code OUT.log}. */
  static void writeFit(Configuration conf, String out, String hsq, Map<String, Object> doc, List<String> log) {
    try (AtomicOutputs outs = new AtomicOutputs(conf)) {
      write(outs, out + ".hsq", hsq);
      write(outs, out + ".json", Json.write(doc));
      write(outs, out + ".log", String.join("\n", log) + "\n");
      outs.commit();
    }
  }

  static void write(AtomicOutputs outs, String path, String text) {
    try (OutputStream os = outs.create(path)) {
      os.write(text.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("writing " + path, e);
    }
  }

  static String version() {
    String v = RemlJob.class.getPackage().getImplementationVersion();
    return v == null ? "0.1.0-SNAPSHOT" : v;
  }
}
