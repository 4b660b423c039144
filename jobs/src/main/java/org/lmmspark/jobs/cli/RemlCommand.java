package org.lmmspark.jobs.cli;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.io.OutputSet;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.pedigree.Pedigree;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.engine.reml.KnownVariances;
import org.lmmspark.engine.reml.RemlInputs;
import org.lmmspark.engine.select.SampleSelection;
import org.lmmspark.jobs.reml.MultiTraitRemlJob;
import org.lmmspark.jobs.reml.RemlJob;
import org.lmmspark.engine.reml.SolverRoute;
import org.lmmspark.jobs.reml.TraitSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lmmspark reml}: parses and checks options, then calls {@link RemlJob#run}.
 *
 * <pre>
 * lmmspark reml --grm data/grm --pheno pheno.txt --pheno-name Y1 --qcovar pcs.txt --out results/y1
 * lmmspark reml --bfile data/ukb --pheno pheno.txt --qcovar pcs.txt --solver matrix-free --out results/y1
 * spark-submit --class org.lmmspark.jobs.cli.Lmmspark --driver-memory 4g lmmspark-jobs.jar reml ...
 * </pre>
 *
 * With {@code --grm} it runs on the driver (no executors needed): give the driver ≈ 3·8·n² bytes
 * (n = 10,000: 4 GB). With {@code --bfile} it starts Spark: the GRM job (then the same driver
 * work) up to {@code --matrix-free-above} samples, the matrix-free REML (O(n·(1 + p + R)) driver
 * memory, genotypes cached on the executors at 2 bits per call) above ({@link RemlJob#runOnGenotypes}).
 */
@Command(
    name = "reml",
    mixinStandardHelpOptions = true,
    description = {
      "Variance components and heritability by REML (GCTA-GREML style): V = Σ σ²_k V_k + σ²_e I.",
      "Writes OUT.hsq (GCTA layout), OUT.json, OUT.log and with --blup OUT.blup.txt. Standard errors: the SE column is"
          + " from the inverse average-information matrix (as GCTA prints); SE_observed_information (.hsq) and"
          + " se_observed_information (.json) are from the inverse observed information -d2 logL, the SE GEMMA (se(pve)),"
          + " FaST-LMM and Hail report; ratios by the delta method. NA where not computed (matrix-free).",
      "--kernel (with genotypes): gcta (default), standardized (GEMMA -gk 2, FaST-LMM, Hail) or centered (GEMMA -gk 1);"
          + " see lmmspark grm --help.",
      "Samples are those in every input with a phenotype and all covariates, kept by --keep/--remove (the log"
          + " counts the rest). Tables may have a header (FID IID ..., #FID IID ..., IID ...) or not (GCTA: FID IID"
          + " then values; pick the trait with --mpheno N), be comma, tab or space separated, and be keyed by IID"
          + " alone (--iid-only) or by a named IID column anywhere in the header (--pheno-id-col NAME, SAIGE's"
          + " tables); --pheno-col N takes the trait from a .fam-layout table.",
      "",
      "Genotypes instead of a GRM: --bfile PREFIX or --bgen FILE [--sample FILE] (exclusive with --grm) fits one"
          + " genetic component K = ZZ'/M."
          + " --solver auto picks the route by a cost model over N, M, the covariates, the driver's cores and heap and"
          + " the cluster's cores, and logs why (route: ... with both predictions; docs/scaling.md): the GRM"
          + " computed in memory on Spark and fitted by the spectral solver, or, when cheaper, when the GRM would not"
          + " fit the driver, above --matrix-free-above N when given, or with --solver matrix-free,"
          + " REML is matrix-free (BOLT-REML style): genotypes cached at 2 bits per call (BGEN dosages at 8 bits),"
          + " V^-1 by batched conjugate"
          + " gradients, traces by --probes seeded Rademacher probes (their Monte Carlo SE is reported), AI updates"
          + " on the driver; no N x N matrix anywhere. Missing calls are mean-imputed there (BOLT-LMM), not"
          + " skipped per pair (GCTA).",
      "",
      "Animal model: --pedigree FILE adds the numerator relationship matrix A (component 'A'), computed for the"
          + " phenotyped individuals and their ancestors only. Phenotype rows are matched to the pedigree on (FID, IID)"
          + " when the pedigree has a family column, else on IID alone (an 'ID SIRE DAM' pedigree has no FID; the"
          + " phenotype file's FID is then ignored). Phenotyped individuals absent from the pedigree are dropped and"
          + " counted in the log.",
      "",
      "Sparse route (--solver sparse, chosen by auto when every component is a grouping factor, the permanent"
          + " environment or a pedigree): AI-REML on Henderson's mixed-model equations, factored by a sparse Cholesky"
          + " (AMD ordering and symbolic analysis once, numeric factorization per iteration; CSparseJ), traces from"
          + " the sparse inverse subset (Takahashi): no records x records V. A pedigree enters through A⁻¹ over all"
          + " of its animals, so --blup also gives BLUPs with PEV for ancestors without records.",
      "",
      "Binary and count traits: --family binomial|poisson [--link logit|probit|log] fits the null GLMM"
          + " g(E[y|u]) = Xb + sum u_k with the same components (GRMs, --epistatic, --pedigree, --group) by PQL with"
          + " AI-REML on the working model (GMMAT, SAIGE; dispersion fixed at 1). OUT.hsq then holds V(.) on the link"
          + " scale, V(e) = the latent residual variance (pi^2/3 logit, 1 probit, log(1 + 1/mean) Poisson) and V(.)/Vp"
          + " on the latent scale with delta-method SEs; rows 'family', 'link', 'scale' say so. --prevalence K instead"
          + " transforms a linear fit of a 0/1 trait to the liability scale (GCTA's V(G)/Vp_L). With genotypes"
          + " (--bfile/--bgen) and --solver matrix-free, or auto when it picks the matrix-free route, PQL's working model"
          + " is fitted matrix-free as SAIGE's step 1 does (stochastic AI-REML by CG over the cached genotypes,"
          + " --probes/--seed/--cg-tol; REML working model, dispersion fixed at 1; no N x N matrix).",
      "",
      "GxE: --gxe COLUMN is GCTA's --gxe: the component K o (Z_E Z_E') per GRM, reported as V(GxE) and V(GxE)/Vp,"
          + " with the environment a fixed effect as GCTA fits it. A residual variance per environment is 'lmmspark"
          + " fit --resid-by COLUMN' (with (1 | env:IID:G) for the GxE term) or --resid-by COLUMN here: V(e_LEVEL) per"
          + " level of COLUMN, with Vp_LEVEL and V(.)/Vp_LEVEL per level (dense AI-REML; see --resid-by).",
      "",
      "Several traits: --pheno-name A,B,C or --all-pheno fit each trait on its own samples (no missing value"
          + " filled in) in one run: OUT.TRAIT.hsq/.json/.log per trait, OUT.summary.tsv (trait, n, h2, SE, ...) and"
          + " OUT.log. Spectral: traits with the same samples share one reduction of K (each result is its own run's);"
          + " matrix-free: the traits' REML runs in lock-step over shared passes of the genotypes, in groups the"
          + " driver's heap holds (-Dlmmspark.lockstep.traits=G caps a group).",
      "",
      "Known variances: --fix NAME=VALUE (repeatable) or --fix-file FILE hold variances at given values; with all"
          + " of them known, no optimization: BLUEs with SEs and BLUPs with PEVs (Henderson's setting).",
      "",
      "Repeated records: with --repeated-records an individual may have several lines (records) in --pheno; each"
          + " relationship component is then Z K Z' (Z: record -> individual), --permanent-environment adds a"
          + " per-individual effect Z Z' ('pe'). Per-record covariates and groups are columns of the --pheno file"
          + " (--covar-names, --qcovar-names, --group); --covar/--qcovar files hold one row per individual whose"
          + " values apply to all of its records."
    })
public final class RemlCommand implements Callable<Integer> {

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--grm", paramLabel = "PREFIX", description = "GCTA binary GRM (PREFIX.grm.bin/.grm.N.bin/.grm.id); "
      + "repeat for several genetic components. Exclusive with --bfile/--bgen.")
  List<String> grms = new ArrayList<>();

  /**
   * Genotypes instead of a GRM: one genetic component K = ZZ'/M. Below --matrix-free-above samples (or with
   * --solver spectral|dense) the GRM is computed in memory on Spark and fitted as with --grm; above it (or
   * with --solver matrix-free) REML is matrix-free: no N x N matrix anywhere.
   */
  @Mixin GenotypeSourceOptions genotypes;

  @Option(names = "--maf", paramLabel = "X", description = "With genotypes (--bfile/--bgen): skip variants with MAF below X (default: 0).")
  Double maf;

  @Mixin SampleSelectionOptions samples;

  /** With genotypes (--bfile/--bgen/--vcf) only. */
  @Mixin VariantSelectionOptions variants;

  @Option(names = "--matrix-free-above", paramLabel = "N", description = "With genotypes and --solver auto: matrix-free "
      + "REML when more than N samples are analysed, instead of the cost model (default: the cost model; the "
      + "GRM path needs ~24N^2 bytes and O(N^3) time on the driver, the matrix-free one O(N*M) per pass).")
  Integer matrixFreeAbove;

  @Option(names = "--probes", paramLabel = "R", description = "Matrix-free: Rademacher probe vectors for the trace "
      + "estimates (default: " + DEFAULT_PROBES + "); the Monte Carlo SE they cause is reported.")
  Integer probes;

  @Option(names = "--seed", paramLabel = "S", description = "Matrix-free: seed of the probes (default: " + DEFAULT_SEED
      + ").")
  Long seed;

  @Option(names = "--cg-tol", paramLabel = "T", description = "Matrix-free: relative residual at which conjugate "
      + "gradients stop (default: 1e-6).")
  Double cgTol;

  @Option(names = "--partitions", paramLabel = "K", description = "With genotypes (--bfile/--bgen): variant ranges for the GRM job or the "
      + "genotype cache (default: the job chooses).")
  Integer partitions;

  @Mixin KernelOptions kernel;

  @Mixin SparkOptions sparkOptions;

  @Mixin ChromosomeCodeOptions chromosomeCodes;

  static final int DEFAULT_PROBES = 40;
  static final long DEFAULT_SEED = 20250601L;

  @Option(names = "--epistatic", description = "Add the epistatic (additive×additive) component K∘K of each --grm.")
  boolean epistatic;

  @Option(names = "--group", paramLabel = "COLUMN", description = "A random intercept per level of this column "
      + "(plot, batch, herd, litter): component Z Zᵀ; repeatable. Taken from the --covar file when it has the column "
      + "(then not a fixed effect), else from the --pheno file (per record).")
  List<String> groups = new ArrayList<>();

  @Option(names = "--gxe", paramLabel = "COLUMN", description = "Genotype-by-environment component, as GCTA --gxe: "
      + "K o (Z_E Z_E') for each --grm K (K between samples in the same level of COLUMN, 0 across), reported as "
      + "V(GxE) and V(GxE)/Vp; the environment is a fixed effect too, as GCTA fits it. Repeatable. Taken from the "
      + "--covar file when it has the column, else from the --pheno file; one record per sample.")
  List<String> gxe = new ArrayList<>();

  @Option(names = "--resid-by", paramLabel = "COLUMN", description = "A residual variance per level of this column "
      + "(nlme varIdent, ASReml at(env)), fitted by dense AI-REML over the relationship matrices; OUT.hsq then has "
      + "V(e_LEVEL), Vp_LEVEL = sum of the V(.) + V(e_LEVEL) and V(.)/Vp_LEVEL per level (delta-method SEs), logL and "
      + "n_LEVEL, no logL0/LRT. Taken from the --covar file when it has the column, else from the --pheno file (per "
      + "record); a fixed effect too. Not with --family, --fix e, --blup, --prevalence or the matrix-free route.")
  String residBy;

  @Option(names = "--pedigree", paramLabel = "FILE", description = "Pedigree (ID SIRE DAM, or with a header naming "
      + "id/sire/dam columns, or FID IID FATHER MOTHER; see 'lmmspark pedigree-grm --help'): adds the component A. "
      + "Matched on IID when the pedigree has no family column.")
  String pedigree;

  @Option(names = "--repeated-records", description = "The --pheno file may list an individual on several lines "
      + "(one record each); without it a repeated individual is an error.")
  boolean repeatedRecords;

  @Option(names = "--permanent-environment", description = "With --repeated-records: add a random effect per "
      + "individual not shared with relatives, component Z Zᵀ named 'pe'.")
  boolean permanentEnvironment;

  @Mixin TraitOptions trait;

  @Option(names = "--blup", description = "Also write OUT.blup.txt: BLUP of each random effect per sample "
      + "(GCTA --reml-pred-rand). On the sparse route also OUT.blup.levels.txt (every level of every term, every "
      + "animal of the pedigree including ancestors without records: BLUP, PEV, SE, reliability) and OUT.blue.txt "
      + "(fixed effects with SEs).")
  boolean blup;

  @Option(names = "--solver", paramLabel = "auto|spectral|dense|sparse|matrix-free", defaultValue = "auto",
      description = "spectral: one reduction of K to band form, then O(N) per likelihood (one component only); dense: "
      + "AI-REML with Cholesky of V; sparse: AI-REML on Henderson's mixed-model equations by sparse Cholesky (AMD "
      + "ordering and symbolic analysis once; CSparseJ), for grouping factors, --permanent-environment and --pedigree "
      + "(through A⁻¹ over the whole pedigree), not GRMs; matrix-free (genotypes only): stochastic AI-REML by conjugate "
      + "gradients over the genotypes; auto: sparse when every component is sparse, else spectral for one component, "
      + "else dense; with genotypes spectral or matrix-free by the cost model (see above) (default: ${DEFAULT-VALUE}). "
      + "With --family on genotypes, matrix-free fits PQL's REML working model that way.")
  String solver;

  @Option(names = "--fix", paramLabel = "NAME=VALUE", description = "Hold a variance at a known value instead of "
      + "estimating it; NAME as in the outputs (A, G, a --group column, pe, e; V(A) also accepted); repeatable. "
      + "With every variance fixed there is no optimization: BLUEs with SEs and (with --blup) BLUPs with prediction "
      + "error variances, e.g. --fix A=20 --fix e=40. With some fixed, the others are estimated by AI-REML.")
  List<String> fix = new ArrayList<>();

  @Option(names = "--fix-file", paramLabel = "FILE", description = "Known variances from a file, one 'NAME VALUE' "
      + "per line ('#' starts a comment line); combines with --fix.")
  String fixFile;

  @Option(names = "--max-iterations", paramLabel = "N", defaultValue = "100", description = "AI-REML iteration "
      + "limit (default: ${DEFAULT-VALUE}).")
  int maxIterations;

  @Option(names = "--allow-nonconvergence", description = "Write the last iterate (flagged) instead of failing "
      + "when REML does not converge.")
  boolean allowNonconvergence;

  @Mixin OutputOptions output;

  /** {@code --family binomial|poisson}: the null GLMM with these components ({@link org.lmmspark.jobs.reml.GlmmRemlJob}). */
  @Mixin GlmmOptions glmmOptions;

  @Option(names = "--pql-working-model", paramLabel = "reml|ml", defaultValue = "reml", description = "With --family "
      + "binomial|poisson: fit PQL's working linear model by REML (default; GMMAT, SAIGE) or ML (MASS::glmmPQL).")
  String pqlWorkingModel;

  @Option(names = "--prevalence", paramLabel = "K", description = "Linear fit of a 0/1 (or PLINK 1/2) trait: add "
      + "GCTA's liability-scale rows V(G)/Vp_L to OUT.hsq (and liability_scale to OUT.json), h2_L = h2 K^2(1-K)^2 / "
      + "(z^2 P(1-P)) with P the sample's case proportion and z the normal density at qnorm(1-K) (Lee et al. 2011), "
      + "SEs scaled alike. Not with --family (a GLMM's V(G)/Vp is on the latent scale already).")
  Double prevalence;

  /** The files of one run. */
  static final List<String> OUTPUTS = List.of(".hsq", ".json", ".log", ".blup.txt");

  /** Log lines about how the extra relationship matrices were built. */
  private final List<String> notes = new ArrayList<>();

  /**
   * Relationship matrices from other inputs, added as components after the GRMs: the pedigree of
   * {@code --pedigree FILE} as {@link RemlInputs.Relationship#ofPedigree} — no matrix here; the sparse
   * route reads its A⁻¹ (O(animals)), a dense route forms A over the analysed individuals when asked.
   */
  List<RemlInputs.Relationship> extraRelationships() {
    if (pedigree == null) {
      return List.of();
    }
    Configuration conf = new Configuration();
    Pedigree ped = Pedigree.read(pedigree, conf);
    List<SampleId> wanted = new ArrayList<>(new LinkedHashSet<>(
        TraitTables.read(trait.traits().spec(), null, null, null, repeatedRecords, conf).pheno().ids()));
    RemlInputs.Relationship a = RemlInputs.Relationship.ofPedigree("A", pedigree, NumeratorRelationship.of(ped), wanted);
    int[] idx = new int[a.ids().size()];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = ped.indexOfSample(a.ids().get(i));
    }
    notes.add(String.format(Locale.ROOT, "pedigree %s: %d individuals (%d parents added as founders); matched on %s: "
        + "%d of the %d individuals of the phenotype file found; A over them, computed with %d ancestors",
        pedigree, ped.size(), ped.foundersAdded(), ped.hasFamilyIds() ? "FID IID" : "IID (the pedigree has no family IDs)",
        idx.length, wanted.size(), ped.withAncestors(idx).length - idx.length));
    return List.of(a);
  }


  /** The linear model (with {@code --prevalence}) or the GLMM of {@code --family}. */
  RemlJob.TraitScale traitScale() {
    org.lmmspark.engine.glmm.Family family = glmmOptions.family();
    if (family == null) {
      for (String name : List.of("--link", "--glmm", "--dispersion", "--pql-working-model")) {
        if (spec.commandLine().getParseResult().hasMatchedOption(name)) {
          throw new BadInputException(name + " is for --family binomial|poisson (a GLMM)");
        }
      }
      return new RemlJob.TraitScale(null, null, prevalence);
    }
    org.lmmspark.engine.model.MixedModelFitter.Method m = switch (pqlWorkingModel.toLowerCase(Locale.ROOT)) {
      case "reml" -> org.lmmspark.engine.model.MixedModelFitter.Method.REML;
      case "ml" -> org.lmmspark.engine.model.MixedModelFitter.Method.ML;
      default -> throw new BadInputException("--pql-working-model must be reml or ml, got " + pqlWorkingModel);
    };
    return new RemlJob.TraitScale(family, glmmOptions.options(m), prevalence);
  }

  /** Several traits ({@code --pheno-name A,B,…}, {@code --all-pheno}): {@link MultiTraitRemlJob}. */
  private Integer callMany(RemlJob.Options o, RemlJob.GenotypeInput g, RemlJob.TraitScale scale, boolean onGenotypes,
      List<String> traitNames, Configuration conf, List<String> inputs) {
    List<String> perTrait = new ArrayList<>(MultiTraitRemlJob.PER_TRAIT);
    if (blup) {
      perTrait.add(".blup.txt");
    }
    MultiTraitRemlJob.Result r;
    try (OutputSet set = output.open(MultiTraitRemlJob.outputs(traitNames, perTrait), conf,
        inputs.toArray(String[]::new))) {
      if (!onGenotypes) {
        r = MultiTraitRemlJob.run(o, scale, traitNames, conf);
      } else {
        r = SparkRun.run("reml", sparkOptions.master, new RunLog(spec), RemlJob.class, null,
            (jsc, stages) -> {
              chromosomeCodes.apply(jsc.hadoopConfiguration());
              return MultiTraitRemlJob.runOnGenotypes(jsc, o, g, scale, traitNames);
            });
      }
      set.commit();
    }
    System.out.print(String.join("\n", r.logLines()) + "\n\n" + TraitSummary.tsv(r.summary()));
    System.out.println("written: " + output.out() + ".TRAIT.{hsq,json,log} for " + traitNames.size() + " traits, "
        + output.out() + ".summary.tsv, " + output.out() + ".log");
    return 0;
  }

  @Override
  public Integer call() {
    NumericRange.atLeast("--max-iterations", maxIterations, 1);
    boolean onGenotypes = genotypes.given();
    if (onGenotypes && !grms.isEmpty()) {
      throw new BadInputException("give either --grm or genotypes (--bfile/--bgen/--vcf), not both");
    }
    if (!onGenotypes) {
      List<String> bfileOnly = new ArrayList<>();
      for (String name : List.of("--maf", "--matrix-free-above", "--probes", "--seed", "--cg-tol", "--partitions",
          "--master", "--sample")) {
        if (spec.commandLine().getParseResult().hasMatchedOption(name)) {
          bfileOnly.add(name);
        }
      }
      bfileOnly.addAll(variants.given());
      if (!bfileOnly.isEmpty()) {
        throw new BadInputException(String.join(", ", bfileOnly) + " apply only with genotypes (--bfile/--bgen), not "
            + "with a GRM");
      }
    }
    if (onGenotypes) {
      if (pedigree != null || !groups.isEmpty() || !gxe.isEmpty()) {
        throw new BadInputException((pedigree != null ? "--pedigree" : !groups.isEmpty() ? "--group" : "--gxe")
            + " works with --grm only: with genotypes the model has one genetic component from them");
      }
    }
    if (!onGenotypes && spec.commandLine().getParseResult().hasMatchedOption("--kernel")) {
      throw new BadInputException("--kernel chooses how the GRM is computed from genotypes (--bfile/--bgen/--vcf); a --grm"
          + " file already has its definition");
    }
    if (!onGenotypes) {
      Blas.loadInBackground(); // while the GRM is read: its dense work is all on the driver
    }
    RemlJob.TraitScale scale = traitScale();
    if (residBy != null && scale.family() != null) {
      throw new BadInputException("--resid-by is for a linear model: a GLMM (--family) has no residual variance to split");
    }
    if (residBy != null && onGenotypes && RemlJob.MATRIX_FREE.equals(solver)) {
      throw new BadInputException("--resid-by " + residBy + " needs a relationship matrix: the matrix-free route fits one "
          + "residual variance; use --grm, or --solver spectral/dense to compute the GRM in memory");
    }
    Configuration conf = chromosomeCodes.apply(new Configuration());
    TraitTables.Traits traits = trait.traits();
    List<String> traitNames = traits.many() ? traits.resolve(conf) : List.of();
    TraitTables.Spec traitSpec = traits.spec();
    SampleSelection sampleSelection = samples.selection(conf);
    RemlJob.Options o = new RemlJob.Options(grms, epistatic, !onGenotypes ? extraRelationships() : List.of(), groups,
        traitSpec, sampleSelection, blup, solver, allowNonconvergence, maxIterations, output.out(),
        RunLog.commandLine(spec), repeatedRecords, permanentEnvironment, notes, KnownVariances.parse(fix, fixFile, conf),
        gxe, residBy);
    RemlJob.GenotypeInput g = !onGenotypes ? null : new RemlJob.GenotypeInput(genotypes.input(), maf == null ? 0 : maf,
        variants.selection(conf), partitions == null ? 0 : partitions,
        probes == null ? DEFAULT_PROBES : probes, seed == null ? DEFAULT_SEED : seed, cgTol == null ? 1e-6 : cgTol,
        matrixFreeAbove == null ? SolverRoute.COST_MODEL : NumericRange.atLeast("--matrix-free-above", matrixFreeAbove, 0), kernel.scaling());
    List<String> inputs = new ArrayList<>(grms);
    inputs.addAll(java.util.Arrays.asList(onGenotypes ? genotypes.input().label() : null, pedigree, trait.pheno, trait.covar, trait.qcovar));
    if (traits.many()) {
      return callMany(o, g, scale, onGenotypes, traitNames, conf, inputs);
    }
    RemlJob.Result r;
    try (OutputSet set = output.open(OUTPUTS, conf, inputs.toArray(String[]::new))) {
      if (!onGenotypes) {
        r = RemlJob.run(o, scale, conf);
      } else {
        // RemlJob writes OUT.log itself (with the fit's details): the template's log is not written.
        r = SparkRun.run("reml", sparkOptions.master, new RunLog(spec), RemlJob.class, null,
            (jsc, stages) -> {
              chromosomeCodes.apply(jsc.hadoopConfiguration());
              return RemlJob.runOnGenotypes(jsc, o, g, scale);
            });
      }
      set.commit();
    }
    String out = output.out();
    System.out.print(String.join("\n", r.logLines()) + "\n");
    System.out.print("\n" + r.hsq());
    boolean levels = blup && r.inputs() != null && r.fit() != null && r.fit().solver().equals("sparse-mme");
    System.out.println("written: " + out + ".hsq, " + out + ".json, " + out + ".log" + (blup ? ", " + out + ".blup.txt" : "")
        + (levels ? ", " + out + ".blup.levels.txt, " + out + ".blue.txt" : ""));
    return 0;
  }
}
