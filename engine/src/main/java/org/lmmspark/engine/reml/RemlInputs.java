package org.lmmspark.engine.reml;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.pedigree.Pedigree;
import org.lmmspark.engine.pheno.CovariateFiles;
import org.lmmspark.engine.pheno.Design;
import org.lmmspark.engine.pheno.TraitMagnitudes;
import org.lmmspark.engine.pheno.SampleMatch;
import org.lmmspark.engine.pheno.SampleTable;

/**
 * Assembles a {@link RemlProblem} from loaded inputs: relationship matrices (GRMs from files, a
 * pedigree A, any {@link Grm}), the phenotype table, categorical ({@code --covar}) and quantitative
 * ({@code --qcovar}) covariate tables, grouping columns ({@code --group}, taken from the categorical
 * covariate table and then not used as fixed effects), and the epistatic flag (adds {@code K∘K} of
 * every relationship matrix marked additive).
 *
 * <p>Samples: those with a phenotype value, every used covariate value and a row in every relationship
 * matrix, in phenotype-file order ({@link SampleMatch}). A relationship matrix that leaves too few
 * samples is an error naming how many phenotyped samples it lacks and a few of them.
 *
 * <p><b>Repeated records</b> ({@link Spec#repeatedRecords()}): the phenotype file may list an
 * individual on several lines, one record each. Individuals (those with a usable record) are matched
 * across inputs as above; the analysed records are the usable records of the kept individuals, in
 * file order, and the model is {@code y = Xβ + Σ_k Z u_k + Z p + e} with {@code Z} the record →
 * individual incidence: each relationship component becomes {@code Z K Zᵀ} ({@link IncidenceOperator}),
 * the optional permanent-environment component {@code p ~ N(0, σ²_pe I)} gives {@code Z Zᵀ}.
 * Covariates: columns of the phenotype file ({@link Spec#phenoCovarNames()},
 * {@link Spec#phenoQcovarNames()}) are per record; covariate files are keyed by individual and their
 * values apply to every record of that individual; a grouping column is per record when it comes from
 * the phenotype file.
 */
public final class RemlInputs {
  private RemlInputs() {}

  /**
   * A relationship matrix input: name used in outputs ("G", "G1", "A"), where it came from (for
   * messages), the matrix, and whether {@code --epistatic} adds its Hadamard square. A pedigree's A is
   * held as the pedigree instead ({@code matrix} null, {@code pedigree} and {@code pedigreeSamples}
   * set): the mixed-model-equation route ({@code model.MmeLikelihood}) uses its sparse inverse over every animal
   * and never forms A; a dense route forms A over the analysed individuals only when it needs it
   * ({@link PedigreeRelationshipOperator}).
   *
   * @param pedigreeSamples the samples (as the phenotype file names them) that the pedigree lists
   */
  public record Relationship(String name, String source, Grm matrix, boolean additive, NumeratorRelationship pedigree,
      List<SampleId> pedigreeSamples) {

    /** A relationship matrix known densely (a GRM). */
    public Relationship(String name, String source, Grm matrix, boolean additive) {
      this(name, source, matrix, additive, null, null);
    }

    /**
     * A pedigree's A over those of {@code samples} that the pedigree lists ({@link Pedigree#indexOfSample}),
     * each once, in the order given; O(samples), no matrix.
     */
    public static Relationship ofPedigree(String name, String source, NumeratorRelationship pedigree,
        List<SampleId> samples) {
      Set<SampleId> found = new LinkedHashSet<>();
      for (SampleId s : samples) {
        if (pedigree.pedigree().indexOfSample(s) >= 0) {
          found.add(s);
        }
      }
      return new Relationship(name, source, null, false, pedigree, List.copyOf(found));
    }

    /** The samples this relationship covers. */
    public List<SampleId> ids() {
      return matrix != null ? matrix.ids() : pedigreeSamples;
    }

    /** The same relationship over the samples at {@code rows} of {@link #ids()} (e.g. after --keep/--remove). */
    public Relationship subset(int[] rows) {
      if (matrix != null) {
        return new Relationship(name, source, matrix.subset(rows), additive);
      }
      List<SampleId> kept = new ArrayList<>(rows.length);
      for (int r : rows) {
        kept.add(pedigreeSamples.get(r));
      }
      return new Relationship(name, source, null, additive, pedigree, List.copyOf(kept));
    }
  }

  /**
   * What to assemble. {@code covar}, {@code qcovar} may be null; {@code phenoName} null = the first
   * phenotype column not used as a covariate or group.
   *
   * @param groups               grouping columns: from {@code covar} when it has the column, else from
   *                             the phenotype file (per record)
   * @param phenoCovarNames      categorical covariates taken from columns of the phenotype file (per record)
   * @param phenoQcovarNames     quantitative covariates taken from columns of the phenotype file (per record)
   * @param repeatedRecords      the phenotype file may hold several records (lines) per individual;
   *                             relationship matrices then enter as {@code Z K Zᵀ}
   * @param permanentEnvironment add the permanent-environment component {@code Z Zᵀ} (named "pe"):
   *                             a random effect per individual not shared with relatives
   * @param gxe                  environment columns (GCTA {@code --gxe}): each adds the component
   *                             {@code K∘(Z_E Z_Eᵀ)} for each GRM K (K between samples in the same
   *                             environment, 0 across), named "GxE" (one GRM, one column) or
   *                             {@code GRMxCOLUMN}, and is a categorical fixed effect as well (as GCTA
   *                             fits it); taken from {@code covar} when it has the column, else from the
   *                             phenotype file
   * @param residBy              a column whose levels get a residual variance each ({@code --resid-by}; null
   *                             for one): its per-record labels are {@link Assembled#residualLabels}, and it is
   *                             a categorical fixed effect as well (a file's {@code --covar} column already is;
   *                             from the phenotype file it is added, as for {@code --gxe})
   */
  public record Spec(List<Relationship> relationships, boolean epistatic, SampleTable pheno, String phenoName,
      SampleTable covar, SampleTable qcovar, List<String> groups, List<String> phenoCovarNames,
      List<String> phenoQcovarNames, boolean repeatedRecords, boolean permanentEnvironment, List<String> gxe,
      String residBy) {

    /** One residual variance. */
    public Spec(List<Relationship> relationships, boolean epistatic, SampleTable pheno, String phenoName,
        SampleTable covar, SampleTable qcovar, List<String> groups, List<String> phenoCovarNames,
        List<String> phenoQcovarNames, boolean repeatedRecords, boolean permanentEnvironment, List<String> gxe) {
      this(relationships, epistatic, pheno, phenoName, covar, qcovar, groups, phenoCovarNames, phenoQcovarNames,
          repeatedRecords, permanentEnvironment, gxe, null);
    }

    /** Without GxE components. */
    public Spec(List<Relationship> relationships, boolean epistatic, SampleTable pheno, String phenoName,
        SampleTable covar, SampleTable qcovar, List<String> groups, List<String> phenoCovarNames,
        List<String> phenoQcovarNames, boolean repeatedRecords, boolean permanentEnvironment) {
      this(relationships, epistatic, pheno, phenoName, covar, qcovar, groups, phenoCovarNames, phenoQcovarNames,
          repeatedRecords, permanentEnvironment, List.of());
    }

    /** One record per sample, covariates from files only. */
    public Spec(List<Relationship> relationships, boolean epistatic, SampleTable pheno, String phenoName,
        SampleTable covar, SampleTable qcovar, List<String> groups) {
      this(relationships, epistatic, pheno, phenoName, covar, qcovar, groups, List.of(), List.of(), false, false);
    }
  }

  /**
   * The assembled problem.
   *
   * @param samples            the sample of each analysed record (n entries; one per sample without
   *                           repeated records)
   * @param individuals        the analysed individuals (m), rows and columns of every relationship matrix
   * @param individualOfRecord for each record, its position in {@code individuals} (Z as an index array)
   * @param match              the matching of individuals across inputs (drop report)
   * @param residualLabels     per record, its level of {@link Spec#residBy} (null without it)
   */
  public record Assembled(RemlProblem problem, Design design, List<SampleId> samples, List<SampleId> individuals,
      int[] individualOfRecord, SampleMatch match, List<String> notes, String[] residualLabels) {}

  /** Where a grouping column comes from. */
  private record GroupSource(String name, boolean inPheno, int column) {}

  public static Assembled assemble(Spec spec) {
    SampleTable pheno = spec.pheno();
    List<String> groups = spec.groups() == null ? List.of() : spec.groups();
    List<String> gxe = spec.gxe() == null ? List.of() : spec.gxe();
    List<String> pCat = new ArrayList<>(spec.phenoCovarNames() == null ? List.of() : spec.phenoCovarNames());
    checkGxe(spec, gxe, pCat);
    String residBy = spec.residBy();
    if (residBy != null) {
      if (groups.contains(residBy)) {
        throw new BadInputException("--resid-by " + residBy + " is also a --group column: a random intercept per level "
            + "and the level's mean as a fixed effect cannot both be fitted");
      }
      if (!(spec.covar() != null && spec.covar().columns().contains(residBy)) && !pCat.contains(residBy)) {
        pCat.add(residBy); // its mean per level too, as 'fit' with 'y ~ env' and --resid-by env
      }
    }
    List<String> pQuant = spec.phenoQcovarNames() == null ? List.of() : spec.phenoQcovarNames();
    boolean repeated = spec.repeatedRecords();
    if (spec.permanentEnvironment() && !repeated) {
      throw new BadInputException("--permanent-environment needs --repeated-records: with one record per "
          + "individual the permanent-environment effect cannot be told apart from the residual");
    }

    // Grouping columns: the categorical covariate file first (as before), else the phenotype file.
    List<GroupSource> groupSources = new ArrayList<>();
    List<String> labelled = new ArrayList<>(groups);
    labelled.addAll(gxe);
    if (residBy != null && !labelled.contains(residBy)) {
      labelled.add(residBy);
    }
    for (String g : labelled) {
      if (spec.covar() != null && spec.covar().columns().contains(g)) {
        groupSources.add(new GroupSource(g, false, -1));
      } else if (pheno.columns().contains(g)) {
        groupSources.add(new GroupSource(g, true, pheno.column(g, "--group")));
      } else {
        String option = groups.contains(g) ? "--group" : gxe.contains(g) ? "--gxe" : "--resid-by";
        throw new BadInputException(option + " column '" + g + "' is neither in the phenotype file " + pheno.file()
            + " " + pheno.columns() + (spec.covar() == null ? "" : " nor in the --covar file " + spec.covar().file()
            + " " + spec.covar().columns()));
      }
    }
    Set<String> phenoUsed = new LinkedHashSet<>();
    phenoUsed.addAll(pCat);
    phenoUsed.addAll(pQuant);
    for (GroupSource g : groupSources) {
      if (g.inPheno()) {
        phenoUsed.add(g.name());
      }
    }
    int traitCol = CovariateFiles.traitColumn(pheno, spec.phenoName(), phenoUsed);
    String trait = pheno.columns().get(traitCol);
    double[] traitValues = pheno.numeric(traitCol);

    // Per-record values from the phenotype file, and which records have them all.
    boolean[] okRecord = present(traitValues);
    List<String[]> pCatValues = new ArrayList<>();
    for (String name : pCat) {
      String[] v = pheno.categorical(pheno.column(name, "--covar-names"));
      pCatValues.add(v);
      for (int i = 0; i < v.length; i++) {
        okRecord[i] &= v[i] != null;
      }
    }
    List<double[]> pQuantValues = new ArrayList<>();
    for (String name : pQuant) {
      double[] v = pheno.numeric(pheno.column(name, "--qcovar-names"));
      pQuantValues.add(v);
      for (int i = 0; i < v.length; i++) {
        okRecord[i] &= !Double.isNaN(v[i]);
      }
    }
    Map<String, String[]> phenoGroupValues = new HashMap<>();
    for (GroupSource g : groupSources) {
      if (g.inPheno()) {
        String[] v = pheno.categorical(g.column());
        phenoGroupValues.put(g.name(), v);
        for (int i = 0; i < v.length; i++) {
          okRecord[i] &= v[i] != null;
        }
      }
    }
    String whyNot = phenoUsed.isEmpty() ? "missing phenotype '" + trait + "'"
        : "missing phenotype '" + trait + "' or covariate/group value";

    List<SampleMatch.Input> inputs = new ArrayList<>();
    if (repeated) {
      // Individuals with at least one usable record, in order of first appearance.
      Set<SampleId> withRecord = new LinkedHashSet<>();
      for (int r = 0; r < pheno.size(); r++) {
        if (okRecord[r]) {
          withRecord.add(pheno.ids().get(r));
        }
      }
      inputs.add(new SampleMatch.Input("phenotype " + pheno.file(), new ArrayList<>(withRecord), null, null));
    } else {
      inputs.add(new SampleMatch.Input("phenotype " + pheno.file(), pheno.ids(), okRecord, whyNot));
    }
    CovariateFiles covariates = new CovariateFiles(spec.covar(), spec.qcovar(), groups);
    covariates.addInputs(inputs);
    int firstRel = inputs.size();
    for (Relationship r : spec.relationships()) {
      inputs.add(new SampleMatch.Input("relationship matrix " + r.name() + " (" + r.source() + ")", r.ids(),
          null, null));
    }
    SampleMatch match = SampleMatch.intersect(inputs);
    List<String> notes = new ArrayList<>(match.report());
    java.util.Optional.ofNullable(pheno.nanNote(traitCol, "trait")).ifPresent(notes::add);

    // Records: every usable record of a kept individual, in file order; z[i] = its individual.
    int m = match.size();
    int[] recordRow;
    int[] z;
    if (repeated) {
      Map<SampleId, Integer> pos = new HashMap<>(2 * m);
      for (int j = 0; j < m; j++) {
        pos.put(match.samples().get(j), j);
      }
      int[] rows = new int[pheno.size()];
      int[] zz = new int[pheno.size()];
      int kept = 0;
      int missing = 0;
      int otherInput = 0;
      for (int r = 0; r < pheno.size(); r++) {
        Integer j = pos.get(pheno.ids().get(r));
        if (!okRecord[r]) {
          missing++;
        } else if (j == null) {
          otherInput++;
        } else {
          rows[kept] = r;
          zz[kept++] = j;
        }
      }
      recordRow = java.util.Arrays.copyOf(rows, kept);
      z = java.util.Arrays.copyOf(zz, kept);
      notes.add(0, String.format(java.util.Locale.ROOT, "phenotype %s: %d records of %d individuals; %d records of %d "
          + "individuals used, %d dropped (%d %s; %d of individuals dropped from the analysis, see below)",
          pheno.file(), pheno.size(), new LinkedHashSet<>(pheno.ids()).size(), kept, m, pheno.size() - kept, missing,
          whyNot, otherInput));
    } else {
      recordRow = match.rowsIn(0);
      z = CovariateFiles.oneRecordEach(m);
    }
    int n = recordRow.length;
    int minSamples = 1 + 1 + spec.relationships().size() + groups.size() + gxe.size() + 2;
    for (int k = firstRel; k < inputs.size(); k++) {
      int[] count = new int[1];
      List<SampleId> ex = match.absentFrom(k, 5, count);
      if (count[0] > 0) {
        String what = inputs.get(k).name() + " lacks " + count[0] + " of the phenotyped samples, e.g. "
            + ex.stream().map(s -> s.fid() + " " + s.iid()).collect(Collectors.joining(", "));
        if (n < minSamples) {
          throw new BadInputException(what + "; only " + n
              + " samples are left in common: the relationship matrix does not cover the phenotyped samples "
              + "(do the FID/IID match?)");
        }
        notes.add(what);
      }
    }
    if (n < minSamples) {
      throw new BadInputException("only " + n + " " + (repeated ? "records" : "samples")
          + " have a phenotype and every covariate in all inputs (" + String.join("; ", notes) + ")");
    }
    TraitMagnitudes.check(pheno, traitCol, recordRow);
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      y[i] = traitValues[recordRow[i]];
    }
    List<Design.Quantitative> quants = new ArrayList<>();
    for (int c = 0; c < pQuant.size(); c++) {
      quants.add(new Design.Quantitative(pQuant.get(c), pickRecords(pQuantValues.get(c), recordRow)));
    }
    List<Design.Categorical> cats = new ArrayList<>();
    for (int c = 0; c < pCat.size(); c++) {
      cats.add(new Design.Categorical(pCat.get(c), pick(pCatValues.get(c), recordRow)));
    }
    Map<String, String[]> groupLabels = new HashMap<>();
    for (GroupSource g : groupSources) {
      if (g.inPheno()) {
        groupLabels.put(g.name(), pick(phenoGroupValues.get(g.name()), recordRow));
      }
    }
    covariates.addColumns(match, z, cats, quants);
    for (GroupSource g : groupSources) {
      if (!g.inPheno()) {
        groupLabels.put(g.name(), covariates.groupLabels(g.name(), match, z));
      }
    }
    Design design = Design.build(trait, y, quants, cats);
    boolean identity = n == m;
    for (int i = 0; identity && i < n; i++) {
      identity = z[i] == i;
    }
    List<VarianceComponent> comps = new ArrayList<>();
    List<VarianceComponent> epi = new ArrayList<>();
    for (int r = 0; r < spec.relationships().size(); r++) {
      Relationship rel = spec.relationships().get(r);
      int[] rows = match.rowsIn(firstRel + r);
      if (rel.pedigree() != null) {
        int[] animals = new int[rows.length];
        for (int j = 0; j < rows.length; j++) {
          animals[j] = rel.pedigree().pedigree().indexOfSample(rel.ids().get(rows[j]));
        }
        SymmetricOperator a = new PedigreeRelationshipOperator(rel.pedigree(), animals);
        comps.add(new VarianceComponent(rel.name(), identity ? a : new IncidenceOperator(a, z)));
        continue;
      }
      DenseSymmetricMatrix k = Components.relationship(rel.matrix(), rows);
      comps.add(new VarianceComponent(rel.name(), identity ? k : new IncidenceOperator(k, z)));
      if (spec.epistatic() && rel.additive()) {
        DenseSymmetricMatrix kk = Components.epistatic(k);
        epi.add(new VarianceComponent(rel.name() + "x" + rel.name(), identity ? kk : new IncidenceOperator(kk, z)));
      }
    }
    comps.addAll(epi);
    comps.addAll(gxeComponents(spec, gxe, comps, groupLabels));
    for (String g : groups) {
      GroupingOperator op = Components.grouping(groupLabels.get(g));
      if (op.levelCount() == n) {
        notes.add("--group " + g + ": every record is its own level, so this component is confounded "
            + "with the residual");
      }
      comps.add(new VarianceComponent(g, op));
    }
    if (spec.permanentEnvironment()) {
      String[] individualLabel = new String[n];
      for (int i = 0; i < n; i++) {
        individualLabel[i] = Integer.toString(z[i]);
      }
      if (m == n) {
        notes.add("--permanent-environment: every individual has one record, so this component is confounded "
            + "with the residual");
      }
      comps.add(new VarianceComponent("pe", Components.grouping(individualLabel)));
    }
    if (spec.epistatic() && epi.isEmpty()) {
      throw new BadInputException("--epistatic needs a GRM (--grm) to square");
    }
    RemlProblem problem = new RemlProblem(design.y(), design.x(), design.columnNames(), comps);
    List<SampleId> recordIds = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      recordIds.add(pheno.ids().get(recordRow[i]));
    }
    return new Assembled(problem, design, recordIds, match.samples(), z, match, notes,
        residBy == null ? null : groupLabels.get(residBy));
  }

  /**
   * GCTA's {@code --gxe} needs one record per individual and a GRM; an environment column of the
   * phenotype file becomes a categorical fixed effect there (one of the covariate file already is).
   */
  private static void checkGxe(Spec spec, List<String> gxe, List<String> pCat) {
    if (gxe.isEmpty()) {
      return;
    }
    if (spec.repeatedRecords()) {
      throw new BadInputException("--gxe needs one record per individual (not --repeated-records): K∘(Z_E Z_Eᵀ) is "
          + "between samples");
    }
    if (spec.relationships().stream().noneMatch(r -> r.matrix() != null && r.additive())) {
      throw new BadInputException("--gxe needs a GRM (--grm): its component is K∘(Z_E Z_Eᵀ)");
    }
    for (String e : gxe) {
      if (spec.groups() != null && spec.groups().contains(e)) {
        throw new BadInputException("--gxe " + e + " is also a --group column: use it for one or the other");
      }
      boolean inCovar = spec.covar() != null && spec.covar().columns().contains(e);
      if (!inCovar && !pCat.contains(e)) {
        pCat.add(e);
      }
    }
  }

  /**
   * {@code K∘(Z_E Z_Eᵀ)} for each environment column and each GRM among the components: K where two
   * samples share the environment's level, 0 otherwise (GCTA {@code --gxe}, Yang et al. 2011 AJHG).
   */
  private static List<VarianceComponent> gxeComponents(Spec spec, List<String> gxe, List<VarianceComponent> comps,
      Map<String, String[]> labels) {
    List<VarianceComponent> out = new ArrayList<>();
    List<VarianceComponent> grms = new ArrayList<>();
    for (VarianceComponent c : comps) {
      boolean additiveGrm = spec.relationships().stream().anyMatch(r -> r.name().equals(c.name()) && r.matrix() != null
          && r.additive());
      if (additiveGrm && c.covariance() instanceof DenseSymmetricMatrix) {
        grms.add(c);
      }
    }
    for (String e : gxe) {
      String[] env = labels.get(e);
      for (VarianceComponent g : grms) {
        DenseSymmetricMatrix k = (DenseSymmetricMatrix) g.covariance();
        int n = k.size();
        double[] a = k.toDense();
        for (int j = 0; j < n; j++) {
          for (int i = 0; i < n; i++) {
            if (!env[i].equals(env[j])) {
              a[i + j * n] = 0;
            }
          }
        }
        String name = grms.size() == 1 && gxe.size() == 1 ? "GxE" : g.name() + "x" + e;
        out.add(new VarianceComponent(name, new DenseSymmetricMatrix(n, a)));
      }
    }
    return out;
  }

  private static double[] pickRecords(double[] v, int[] rows) {
    double[] out = new double[rows.length];
    for (int i = 0; i < rows.length; i++) {
      out[i] = v[rows[i]];
    }
    return out;
  }

  private static boolean[] present(double[] v) {
    boolean[] ok = new boolean[v.length];
    for (int i = 0; i < v.length; i++) {
      ok[i] = !Double.isNaN(v[i]);
    }
    return ok;
  }

  private static String[] pick(String[] v, int[] rows) {
    String[] out = new String[rows.length];
    for (int i = 0; i < rows.length; i++) {
      out[i] = v[rows[i]];
    }
    return out;
  }
}
