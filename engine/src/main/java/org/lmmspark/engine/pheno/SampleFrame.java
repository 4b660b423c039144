package org.lmmspark.engine.pheno;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;
import java.util.stream.Collectors;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;

/**
 * The model frame of every sample-keyed route ({@code reml} on GRMs, a pedigree or genotypes, {@code assoc},
 * the GLMMs): which records are analysed, their response {@code y} and fixed-effect design {@code X}
 * ({@link Design}), each record's row in the phenotype table, each analysed individual's row in every
 * other sample source, and the notes on what was dropped. It is built in named steps, each with its
 * checks and messages here only, as lme4's {@code lFormula} builds its frame:
 * <ol>
 *   <li>{@link #labelSources}: the labelled columns ({@code --group}, {@code --gxe}, {@code --resid-by}),
 *       each from the categorical covariate file when it has the column, else from the phenotype file;</li>
 *   <li>{@link CovariateFiles#traitColumn}: the trait column, {@code --pheno-name} or the first column no
 *       covariate or label of the phenotype file uses;</li>
 *   <li>{@link #usableRecords}: the phenotype file's records with a trait value and every per-record
 *       covariate or label value;</li>
 *   <li>{@link #sampleInputs}: one {@link SampleMatch.Input} per source, in this order: the phenotype
 *       file (with repeated records: the individuals with a usable record), the covariate files
 *       ({@link CovariateFiles}), then the sources the route adds (relationship matrices, a pedigree,
 *       a genotype fileset), and their intersection in phenotype-file order;</li>
 *   <li>{@link #records}: the analysed records, every usable record of a kept individual in file
 *       order, and each record's individual ({@code Z} as an index array);</li>
 *   <li>{@link #checkCoverage} and {@link #checkCount}: every added source covers the phenotyped
 *       samples (else a note, or an error when too few are left), at least
 *       {@link Spec#minSamples} records; {@link TraitMagnitudes#check}: the trait's magnitudes;</li>
 *   <li>{@link #buildDesign}: {@code y} and {@code X} (phenotype-file columns first, then the covariate
 *       files', each in file column order) and the labels of each labelled column per record.</li>
 * </ol>
 * A trait value the route cannot model (a GLMM family's response, a case-control coding) is refused
 * through {@link #checkTrait}, which names the phenotype file, the line and the sample as every other
 * input error does. Cost O(Σ source sizes + n·p).
 */
public final class SampleFrame {

  /**
   * A labelled column: its per-record values are levels (a grouping factor, a GxE environment, residual
   * groups).
   *
   * @param option    the option that names it, for messages
   * @param covariate whether a column of the categorical covariate file stays a fixed effect too (a
   *                  {@code --group} column does not: its levels are random)
   */
  public record Label(String column, String option, boolean covariate) {}

  /** A sample source the route adds (a relationship matrix, a pedigree, a genotype fileset). */
  public record Source(String name, List<SampleId> ids, String kind) {}

  /**
   * What to build.
   *
   * @param phenoName        the trait column, or null for the first column no covariate or label uses
   * @param covar            categorical covariates keyed by individual, or null
   * @param qcovar           quantitative covariates keyed by individual, or null
   * @param phenoCovarNames  categorical covariates from the phenotype file (per record)
   * @param phenoQcovarNames quantitative covariates from the phenotype file (per record)
   * @param repeatedRecords  the phenotype file may list an individual on several lines
   * @param minSamples       fewest analysed records accepted
   */
  public record Spec(SampleTable pheno, String phenoName, SampleTable covar, SampleTable qcovar,
      List<String> phenoCovarNames, List<String> phenoQcovarNames, List<Label> labels, boolean repeatedRecords,
      List<Source> sources, int minSamples) {
    public Spec {
      phenoCovarNames = phenoCovarNames == null ? List.of() : List.copyOf(phenoCovarNames);
      phenoQcovarNames = phenoQcovarNames == null ? List.of() : List.copyOf(phenoQcovarNames);
      labels = labels == null ? List.of() : List.copyOf(labels);
      sources = List.copyOf(sources);
    }

    /** One record per sample, whole covariate tables, no labels. */
    public static Spec of(SampleTable pheno, String phenoName, SampleTable covar, SampleTable qcovar,
        List<Source> sources, int minSamples) {
      return new Spec(pheno, phenoName, covar, qcovar, List.of(), List.of(), List.of(), false, sources, minSamples);
    }
  }

  private final Spec spec;
  private final int traitColumn;
  private final SampleMatch match;
  private final int firstSource;
  private final int[] phenoRows;
  private final int[] individualOfRecord;
  private final List<String> notes;
  private final Design design;
  private final Map<String, String[]> labelValues;

  private SampleFrame(Spec spec, int traitColumn, SampleMatch match, int firstSource, int[] phenoRows,
      int[] individualOfRecord, List<String> notes, Design design, Map<String, String[]> labelValues) {
    this.spec = spec;
    this.traitColumn = traitColumn;
    this.match = match;
    this.firstSource = firstSource;
    this.phenoRows = phenoRows;
    this.individualOfRecord = individualOfRecord;
    this.notes = List.copyOf(notes);
    this.design = design;
    this.labelValues = labelValues;
  }

  /** Runs the steps in order (see the class doc). */
  public static SampleFrame build(Spec spec) {
    SampleTable pheno = spec.pheno();
    Map<String, Boolean> labelInPheno = labelSources(spec);
    Set<String> phenoUsed = new LinkedHashSet<>(spec.phenoCovarNames());
    phenoUsed.addAll(spec.phenoQcovarNames());
    labelInPheno.forEach((column, inPheno) -> {
      if (inPheno) {
        phenoUsed.add(column);
      }
    });
    int traitCol = CovariateFiles.traitColumn(pheno, spec.phenoName(), phenoUsed);
    String trait = pheno.columns().get(traitCol);
    PhenoColumns columns = usableRecords(spec, traitCol, labelInPheno);
    String whyNot = phenoUsed.isEmpty() ? "missing phenotype '" + trait + "'"
        : "missing phenotype '" + trait + "' or covariate/group value";

    List<String> groupColumns = spec.labels().stream().filter(l -> !l.covariate()).map(Label::column).toList();
    CovariateFiles covariates = new CovariateFiles(spec.covar(), spec.qcovar(), groupColumns);
    List<SampleMatch.Input> inputs = sampleInputs(spec, columns.usable(), whyNot, covariates);
    int firstSource = inputs.size() - spec.sources().size();
    SampleMatch match = SampleMatch.intersect(inputs);
    List<String> notes = new ArrayList<>(match.report());
    java.util.Optional.ofNullable(pheno.nanNote(traitCol, "trait")).ifPresent(notes::add);

    Records records = records(spec, match, columns.usable(), whyNot, notes);
    int[] phenoRows = records.phenoRows();
    int[] z = records.individualOfRecord();
    checkCoverage(spec, match, firstSource, phenoRows.length, notes);
    checkCount(spec, phenoRows.length, notes);
    TraitMagnitudes.check(pheno, traitCol, phenoRows);
    Map<String, String[]> labels = new HashMap<>();
    Design design = buildDesign(spec, trait, columns, covariates, match, phenoRows, z, labelInPheno, labels);
    return new SampleFrame(spec, traitCol, match, firstSource, phenoRows, z, notes, design, labels);
  }

  /**
   * Step 1: for each labelled column, whether it comes from the phenotype file (true) or the categorical
   * covariate file (false, preferred when both have it); in the order given.
   */
  private static Map<String, Boolean> labelSources(Spec spec) {
    Map<String, Boolean> inPheno = new java.util.LinkedHashMap<>();
    SampleTable pheno = spec.pheno();
    for (Label l : spec.labels()) {
      if (spec.covar() != null && spec.covar().columns().contains(l.column())) {
        inPheno.put(l.column(), false);
      } else if (pheno.columns().contains(l.column())) {
        inPheno.put(l.column(), true);
      } else {
        throw new BadInputException(l.option() + " column '" + l.column() + "' is neither in the phenotype file "
            + pheno.file() + " " + pheno.columns() + (spec.covar() == null ? "" : " nor in the --covar file "
            + spec.covar().file() + " " + spec.covar().columns()));
      }
    }
    return inPheno;
  }

  /** The per-record values read from the phenotype file and which records have them all. */
  private record PhenoColumns(double[] trait, boolean[] usable, List<String[]> categorical,
      List<double[]> quantitative, Map<String, String[]> labels) {}

  /** Step 3: the trait and per-record columns of the phenotype file; a record is usable with every value. */
  private static PhenoColumns usableRecords(Spec spec, int traitCol, Map<String, Boolean> labelInPheno) {
    SampleTable pheno = spec.pheno();
    double[] trait = pheno.numeric(traitCol);
    boolean[] ok = new boolean[trait.length];
    for (int i = 0; i < ok.length; i++) {
      ok[i] = !Double.isNaN(trait[i]);
    }
    List<String[]> cats = new ArrayList<>();
    for (String name : spec.phenoCovarNames()) {
      cats.add(present(pheno.categorical(pheno.column(name, "--covar-names")), ok));
    }
    List<double[]> quants = new ArrayList<>();
    for (String name : spec.phenoQcovarNames()) {
      double[] v = pheno.numeric(pheno.column(name, "--qcovar-names"));
      for (int i = 0; i < v.length; i++) {
        ok[i] &= !Double.isNaN(v[i]);
      }
      quants.add(v);
    }
    Map<String, String[]> labels = new HashMap<>();
    labelInPheno.forEach((column, inPheno) -> {
      if (inPheno) {
        labels.put(column, present(pheno.categorical(pheno.column(column, "--group")), ok));
      }
    });
    return new PhenoColumns(trait, ok, cats, quants, labels);
  }

  /** Step 4: the inputs to intersect: the phenotype file, the covariate files, the route's sources. */
  private static List<SampleMatch.Input> sampleInputs(Spec spec, boolean[] usable, String whyNot,
      CovariateFiles covariates) {
    SampleTable pheno = spec.pheno();
    List<SampleMatch.Input> inputs = new ArrayList<>();
    if (spec.repeatedRecords()) {
      // Individuals with at least one usable record, in order of first appearance.
      Set<SampleId> withRecord = new LinkedHashSet<>();
      for (int r = 0; r < pheno.size(); r++) {
        if (usable[r]) {
          withRecord.add(pheno.ids().get(r));
        }
      }
      inputs.add(new SampleMatch.Input("phenotype " + pheno.file(), new ArrayList<>(withRecord), null, null));
    } else {
      inputs.add(new SampleMatch.Input("phenotype " + pheno.file(), pheno.ids(), usable, whyNot));
    }
    covariates.addInputs(inputs);
    for (Source s : spec.sources()) {
      inputs.add(new SampleMatch.Input(s.name(), s.ids(), null, null));
    }
    return inputs;
  }

  /** The analysed records: each one's row in the phenotype table and its individual's position. */
  private record Records(int[] phenoRows, int[] individualOfRecord) {}

  /**
   * Step 5: the analysed records: with repeated records every usable record of a kept individual in file
   * order (and a note first on how many records were used), else one record per kept sample.
   */
  private static Records records(Spec spec, SampleMatch match, boolean[] usable, String whyNot, List<String> notes) {
    int m = match.size();
    if (!spec.repeatedRecords()) {
      return new Records(match.rowsIn(0), CovariateFiles.oneRecordEach(m));
    }
    SampleTable pheno = spec.pheno();
    Map<SampleId, Integer> pos = new HashMap<>(2 * m);
    for (int j = 0; j < m; j++) {
      pos.put(match.samples().get(j), j);
    }
    int[] rows = new int[pheno.size()];
    int[] z = new int[pheno.size()];
    int kept = 0;
    int missing = 0;
    int otherInput = 0;
    for (int r = 0; r < pheno.size(); r++) {
      Integer j = pos.get(pheno.ids().get(r));
      if (!usable[r]) {
        missing++;
      } else if (j == null) {
        otherInput++;
      } else {
        rows[kept] = r;
        z[kept++] = j;
      }
    }
    notes.add(0, String.format(Locale.ROOT, "phenotype %s: %d records of %d individuals; %d records of %d "
        + "individuals used, %d dropped (%d %s; %d of individuals dropped from the analysis, see below)",
        pheno.file(), pheno.size(), new LinkedHashSet<>(pheno.ids()).size(), kept, m, pheno.size() - kept, missing,
        whyNot, otherInput));
    return new Records(Arrays.copyOf(rows, kept), Arrays.copyOf(z, kept));
  }

  /**
   * Step 6a: each added source that lacks phenotyped samples gets a note naming a few; when too few
   * records are left, the first such source is the error, since it is the likely cause (IDs that do not
   * match).
   */
  private static void checkCoverage(Spec spec, SampleMatch match, int firstSource, int n, List<String> notes) {
    for (int s = 0; s < spec.sources().size(); s++) {
      int[] count = new int[1];
      List<SampleId> ex = match.absentFrom(firstSource + s, 5, count);
      if (count[0] > 0) {
        String what = spec.sources().get(s).name() + " lacks " + count[0] + " of the phenotyped samples, e.g. "
            + ex.stream().map(id -> id.fid() + " " + id.iid()).collect(Collectors.joining(", "));
        if (n < spec.minSamples()) {
          throw new BadInputException(what + "; only " + n + " samples are left in common: the "
              + spec.sources().get(s).kind() + " does not cover the phenotyped samples (do the FID/IID match?)");
        }
        notes.add(what);
      }
    }
  }

  /** Step 6b: at least {@link Spec#minSamples} analysed records. */
  private static void checkCount(Spec spec, int n, List<String> notes) {
    if (n < spec.minSamples()) {
      throw new BadInputException("only " + n + " " + (spec.repeatedRecords() ? "records" : "samples")
          + " have a phenotype and every covariate in all inputs (" + String.join("; ", notes) + ")");
    }
  }

  /**
   * Step 7: y and the design at the analysed records (the phenotype file's categorical and quantitative
   * columns, then the covariate files'; {@link Design#build}), and each labelled column per record into
   * {@code labelsOut}.
   */
  private static Design buildDesign(Spec spec, String trait, PhenoColumns columns, CovariateFiles covariates,
      SampleMatch match, int[] phenoRows, int[] z, Map<String, Boolean> labelInPheno, Map<String, String[]> labelsOut) {
    double[] y = CovariateFiles.pick(columns.trait(), phenoRows);
    List<Design.Quantitative> quants = new ArrayList<>();
    for (int c = 0; c < spec.phenoQcovarNames().size(); c++) {
      quants.add(new Design.Quantitative(spec.phenoQcovarNames().get(c),
          CovariateFiles.pick(columns.quantitative().get(c), phenoRows)));
    }
    List<Design.Categorical> cats = new ArrayList<>();
    for (int c = 0; c < spec.phenoCovarNames().size(); c++) {
      cats.add(new Design.Categorical(spec.phenoCovarNames().get(c),
          CovariateFiles.pick(columns.categorical().get(c), phenoRows)));
    }
    covariates.addColumns(match, z, cats, quants);
    labelInPheno.forEach((column, inPheno) -> labelsOut.put(column, inPheno
        ? CovariateFiles.pick(columns.labels().get(column), phenoRows) : covariates.groupLabels(column, match, z)));
    return Design.build(trait, y, quants, cats);
  }

  /** Flags the records without a value in {@code ok}; returns {@code v}. */
  private static String[] present(String[] v, boolean[] ok) {
    for (int i = 0; i < v.length; i++) {
      ok[i] &= v[i] != null;
    }
    return v;
  }

  /** The response and fixed-effect design over the analysed records. */
  public Design design() {
    return design;
  }

  /** The trait column's name. */
  public String trait() {
    return spec.pheno().columns().get(traitColumn);
  }

  /** The phenotype table. */
  public SampleTable pheno() {
    return spec.pheno();
  }

  /** The sample of each analysed record (n; one per individual without repeated records). */
  public List<SampleId> records() {
    List<SampleId> out = new ArrayList<>(phenoRows.length);
    for (int r : phenoRows) {
      out.add(spec.pheno().ids().get(r));
    }
    return out;
  }

  /** Number of analysed records. */
  public int n() {
    return phenoRows.length;
  }

  /** The analysed individuals (m), in phenotype-file order. */
  public List<SampleId> individuals() {
    return match.samples();
  }

  /** For each record, its position in {@link #individuals()}. */
  public int[] individualOfRecord() {
    return individualOfRecord.clone();
  }

  /** Whether every record is its own individual, in order ({@code Z = I}). */
  public boolean oneRecordEach() {
    if (individualOfRecord.length != match.size()) {
      return false;
    }
    for (int i = 0; i < individualOfRecord.length; i++) {
      if (individualOfRecord[i] != i) {
        return false;
      }
    }
    return true;
  }

  /** Each record's row in the phenotype table. */
  public int[] phenoRows() {
    return phenoRows.clone();
  }

  /** For the route's source {@code s} (its position in {@link Spec#sources}), each individual's row there. */
  public int[] sourceRows(int s) {
    return match.rowsIn(firstSource + s);
  }

  /** A labelled column's level at each record. */
  public String[] labels(String column) {
    String[] v = labelValues.get(column);
    if (v == null) {
      throw new IllegalArgumentException("no labelled column '" + column + "' in this frame");
    }
    return v.clone();
  }

  /** The matching of individuals across sources (drop report). */
  public SampleMatch match() {
    return match;
  }

  /** What was dropped and why, one line each. */
  public List<String> notes() {
    return notes;
  }

  /**
   * Refuses the first record whose trait value the route cannot model: {@code whyNot.apply(i)} is null
   * for a value record i may have, else why not (e.g. "--family binomial takes 0/1 …"). The error names
   * the phenotype file, the record's line and sample, and the value as written there.
   */
  public void checkTrait(IntFunction<String> whyNot) {
    for (int i = 0; i < phenoRows.length; i++) {
      String why = whyNot.apply(i);
      if (why != null) {
        throw traitError(i, why);
      }
    }
  }

  /** The error for record i's trait value: file, line, sample, column and value, then {@code why}. */
  public BadInputException traitError(int record, String why) {
    SampleTable pheno = spec.pheno();
    int row = phenoRows[record];
    return BadInputException.atLine(pheno.file(), pheno.line(row), "sample " + pheno.ids().get(row) + ": trait '"
        + trait() + "' value " + pheno.token(row, traitColumn) + ": " + why);
  }
}
