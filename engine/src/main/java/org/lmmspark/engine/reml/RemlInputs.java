package org.lmmspark.engine.reml;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.pedigree.Pedigree;
import org.lmmspark.engine.pheno.Design;
import org.lmmspark.engine.pheno.SampleFrame;
import org.lmmspark.engine.pheno.SampleMatch;
import org.lmmspark.engine.pheno.SampleTable;
import org.lmmspark.engine.pheno.TraitTables;

/**
 * Assembles a {@link RemlProblem} from loaded inputs: relationship matrices (GRMs from files, a
 * pedigree A, any {@link Grm}), the phenotype table, categorical ({@code --covar}) and quantitative
 * ({@code --qcovar}) covariate tables, grouping columns ({@code --group}, taken from the categorical
 * covariate table and then not used as fixed effects), and the epistatic flag (adds {@code K∘K} of
 * every relationship matrix marked additive).
 *
 * <p>Samples, response and design: the model frame ({@link SampleFrame}, the steps every route shares),
 * with each relationship matrix as a sample source: those with a phenotype value, every used covariate
 * value and a row in every relationship matrix, in phenotype-file order. A relationship matrix that leaves
 * too few samples is an error naming how many phenotyped samples it lacks and a few of them. Then
 * {@link #assemble} is three steps: the options' own checks, the frame, the variance components.
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
   * The assembled problem: the components over the analysed records and the model frame they were built on
   * ({@link SampleFrame}: design, records, individuals, rows in each relationship, the drop report).
   *
   * @param notes   the frame's notes and those of the components (e.g. a group confounded with the residual)
   * @param residBy {@link Spec#residBy}, or null
   */
  public record Assembled(RemlProblem problem, SampleFrame frame, List<String> notes, String residBy) {
    public Design design() {
      return frame.design();
    }

    /** The sample of each analysed record (n entries; one per sample without repeated records). */
    public List<SampleId> samples() {
      return frame.records();
    }

    /** The analysed individuals (m), rows and columns of every relationship matrix. */
    public List<SampleId> individuals() {
      return frame.individuals();
    }

    /** For each record, its position in {@link #individuals()} (Z as an index array). */
    public int[] individualOfRecord() {
      return frame.individualOfRecord();
    }

    /** The matching of individuals across inputs (drop report). */
    public SampleMatch match() {
      return frame.match();
    }

    /** Per record, its level of {@link Spec#residBy} (null without it). */
    public String[] residualLabels() {
      return residBy == null ? null : frame.labels(residBy);
    }

    /** Each individual's row in relationship {@code r} of {@link Spec#relationships}. */
    public int[] relationshipRows(int r) {
      return frame.sourceRows(r);
    }
  }

  /**
   * One GRM named "G" with the tables read by {@link TraitTables#read} (one record per sample, no labels):
   * the model of {@code assoc}'s GRM routes.
   */
  public static Assembled withGrm(TraitTables.Tables tables, String source, Grm grm) {
    return assemble(grmSpec(tables, source, grm));
  }

  /**
   * The model frame {@link #withGrm} builds (analysed samples, design, notes), without its variance component: K
   * restricted to the analysed samples is n² doubles, not needed to know which samples a trait keeps.
   */
  public static SampleFrame frameWithGrm(TraitTables.Tables tables, String source, Grm grm) {
    return frame(grmSpec(tables, source, grm));
  }

  private static Spec grmSpec(TraitTables.Tables tables, String source, Grm grm) {
    return new Spec(List.of(new Relationship("G", source, grm, true)), false, tables.pheno(), tables.trait(),
        tables.covar(), tables.qcovar(), List.of());
  }

  /**
   * The model frame of {@code spec} after the options' own checks ({@link SampleFrame}): the analysed records, their
   * design and notes, without the variance components {@link #assemble} builds on it.
   */
  public static SampleFrame frame(Spec spec) {
    List<String> groups = groupsOf(spec);
    List<String> gxe = gxeOf(spec);
    return SampleFrame.build(frameSpec(spec, groups, gxe, checkOptions(spec, groups, gxe)));
  }

  private static List<String> groupsOf(Spec spec) {
    return spec.groups() == null ? List.of() : spec.groups();
  }

  private static List<String> gxeOf(Spec spec) {
    return spec.gxe() == null ? List.of() : spec.gxe();
  }

  /**
   * The model frame over the phenotype, covariates and relationships ({@link SampleFrame}), then one
   * variance component per relationship (and its {@code K∘K} with {@code --epistatic}), per GxE
   * environment and GRM, per grouping column, and the permanent environment.
   */
  public static Assembled assemble(Spec spec) {
    List<String> groups = groupsOf(spec);
    List<String> gxe = gxeOf(spec);
    SampleFrame frame = frame(spec);
    List<String> notes = new ArrayList<>(frame.notes());
    List<VarianceComponent> comps = components(spec, frame, groups, gxe, notes);
    Design design = frame.design();
    RemlProblem problem = new RemlProblem(design.y(), design.x(), design.columnNames(), comps);
    return new Assembled(problem, frame, List.copyOf(notes), spec.residBy());
  }

  /**
   * The options' own checks (GxE, {@code --resid-by}, the permanent environment); returns the categorical
   * covariates taken from the phenotype file, with a GxE environment or {@code --resid-by} column of that
   * file added (each is a fixed effect too).
   */
  private static List<String> checkOptions(Spec spec, List<String> groups, List<String> gxe) {
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
    if (spec.permanentEnvironment() && !spec.repeatedRecords()) {
      throw new BadInputException("--permanent-environment needs --repeated-records: with one record per "
          + "individual the permanent-environment effect cannot be told apart from the residual");
    }
    return pCat;
  }

  /**
   * The variance components over the frame's records, in this order: each relationship ({@code Z K Zᵀ} with
   * repeated records), the {@code K∘K} of each additive one with {@code --epistatic}, the GxE components,
   * each grouping column, the permanent environment; notes on components confounded with the residual.
   */
  private static List<VarianceComponent> components(Spec spec, SampleFrame frame, List<String> groups,
      List<String> gxe, List<String> notes) {
    int n = frame.n();
    int m = frame.individuals().size();
    int[] z = frame.individualOfRecord();
    boolean identity = frame.oneRecordEach();
    List<VarianceComponent> comps = new ArrayList<>();
    List<VarianceComponent> epi = new ArrayList<>();
    for (int r = 0; r < spec.relationships().size(); r++) {
      Relationship rel = spec.relationships().get(r);
      int[] rows = frame.sourceRows(r);
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
    comps.addAll(gxeComponents(spec, gxe, comps, frame));
    for (String g : groups) {
      GroupingOperator op = Components.grouping(frame.labels(g));
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
    return comps;
  }

  /**
   * The frame of {@code spec}: labelled columns {@code --group} (random levels, so not a fixed effect of
   * the covariate file), {@code --gxe} and {@code --resid-by} (fixed effects as well); each relationship a
   * source; at least 1 + 1 + one per component + 2 records (two degrees of freedom beyond the parameters).
   */
  private static SampleFrame.Spec frameSpec(Spec spec, List<String> groups, List<String> gxe, List<String> pCat) {
    List<SampleFrame.Label> labels = new ArrayList<>();
    groups.forEach(g -> labels.add(new SampleFrame.Label(g, "--group", false)));
    gxe.forEach(e -> labels.add(new SampleFrame.Label(e, "--gxe", true)));
    if (spec.residBy() != null && !groups.contains(spec.residBy()) && !gxe.contains(spec.residBy())) {
      labels.add(new SampleFrame.Label(spec.residBy(), "--resid-by", true));
    }
    List<SampleFrame.Source> sources = new ArrayList<>();
    for (Relationship r : spec.relationships()) {
      sources.add(new SampleFrame.Source("relationship matrix " + r.name() + " (" + r.source() + ")", r.ids(),
          "relationship matrix"));
    }
    int minSamples = 1 + 1 + spec.relationships().size() + groups.size() + gxe.size() + 2;
    return new SampleFrame.Spec(spec.pheno(), spec.phenoName(), spec.covar(), spec.qcovar(), pCat,
        spec.phenoQcovarNames(), labels, spec.repeatedRecords(), sources, minSamples);
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
      SampleFrame frame) {
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
      String[] env = frame.labels(e);
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
}
