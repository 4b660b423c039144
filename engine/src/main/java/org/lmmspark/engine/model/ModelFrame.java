package org.lmmspark.engine.model;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.lmmspark.engine.BadInputException;

/**
 * Builds a {@link MixedModel} from a table and a formula in named steps, each with its checks, as
 * lme4's {@code lFormula} does ({@code checkNlevels}, {@code checkZdims}, {@code checkNobs…}):
 * <ol>
 *   <li>{@link #usedColumns} / {@link #completeRecords}: records with a value in every column the
 *       model uses (R's {@code na.omit}; the count dropped is noted);</li>
 *   <li>{@link #response}: numeric, not constant;</li>
 *   <li>{@link #fixedDesign}: X with treatment contrasts (reference level: the first in sorted order
 *       as R's {@code factor()}, or {@code --ref-level col=level}), R's marginality rule for factors
 *       in interactions, full column rank;</li>
 *   <li>{@link #randomTerms}: Z columns (slopes numeric), levels, relationship matrices matched to the
 *       levels, {@code checkNlevels} (at least 2 levels, fewer levels than records without a
 *       relationship) and lme4's {@code nobs > nRE} check;</li>
 *   <li>{@link #residualStructure}: groups of {@code --resid-by}, positive {@code --weights};</li>
 *   <li>{@link #checkParameterCount}: more records than parameters.</li>
 * </ol>
 */
public final class ModelFrame {

  /** Options that change the frame: reference levels, residual groups, weights, relationship matrices. */
  /**
   * @param factors numeric columns to use as factors everywhere (as R's {@code d$x <- factor(d$x)};
   *                {@code factor(x)} in the formula does it for one use)
   */
  public record Options(Map<String, String> referenceLevels, java.util.Set<String> factors, String residBy,
      String weights, Map<String, Relationship> relationships) {
    public Options {
      referenceLevels = Map.copyOf(referenceLevels);
      factors = java.util.Set.copyOf(factors);
      relationships = Map.copyOf(relationships);
    }

    public static Options defaults() {
      return new Options(Map.of(), java.util.Set.of(), null, null, Map.of());
    }
  }

  private final DataTable table;
  private final Formula formula;
  private final Options options;
  private final List<String> notes = new ArrayList<>();
  private int[] rows;

  private ModelFrame(DataTable table, Formula formula, Options options) {
    this.table = table;
    this.formula = formula;
    this.options = options;
  }

  public static MixedModel build(DataTable table, Formula formula, Options options) {
    return new ModelFrame(table, formula, options).build(null);
  }

  /**
   * As {@link #build(DataTable, Formula, Options)}; with a ledger, and a second core free, step 4 (Z and the
   * levels) runs on a second thread while this one does steps 2 and 3, its CPU time added to the ledger.
   * Errors come in the same order as from one thread (the response's, then X's, then Z's).
   */
  public static MixedModel build(DataTable table, Formula formula, Options options,
      java.util.concurrent.atomic.LongAdder sideCpu) {
    return new ModelFrame(table, formula, options).build(SideTask.secondCoreFree() ? sideCpu : null);
  }

  /** Step 4 on a second thread whatever the load (tests: the frame is the same either way). */
  static MixedModel buildOnTwoThreads(DataTable table, Formula formula, Options options,
      java.util.concurrent.atomic.LongAdder sideCpu) {
    return new ModelFrame(table, formula, options).build(sideCpu);
  }

  /**
   * The model {@code reml} fits, as a frame: {@code y = Xβ + Σ_k u_k + e}, {@code u_k ~ N(0, σ²_k C_k)}, each
   * {@code C_k} (a GRM, {@code K∘K}, a pedigree's A, {@code Z K Zᵀ} of repeated records, a grouping factor's
   * {@code Z Zᵀ}) already over the n records, so each is a term {@code (1 | record:NAME)} whose relationship
   * is {@code C_k} itself; one residual variance, unit weights, X as given (intercept included). This is
   * how a PQL working model over {@code reml}'s inputs reaches the one {@link MixedModelFitter}.
   *
   * @param covariances the n×n {@code C_k} by component name, in order
   */
  public static MixedModel ofCovariances(String response, double[] y, double[] x, List<String> fixedNames,
      Map<String, org.lmmspark.engine.reml.DenseSymmetricMatrix> covariances) {
    return ofCovariances(response, y, x, fixedNames, covariances, null, null, null);
  }

  /**
   * As above with a residual variance per level of {@code residualFactor} ({@code reml --resid-by}):
   * record i's residual is {@code N(0, σ²_{g(i)})}, {@code g = residualGroup[i]} indexing
   * {@code residualGroupNames}; all three null for one residual variance.
   */
  public static MixedModel ofCovariances(String response, double[] y, double[] x, List<String> fixedNames,
      Map<String, org.lmmspark.engine.reml.DenseSymmetricMatrix> covariances, String residualFactor,
      List<String> residualGroupNames, int[] residualGroup) {
    int n = y.length;
    List<String> records = new ArrayList<>(n);
    int[] index = new int[n];
    for (int i = 0; i < n; i++) {
      records.add(Integer.toString(i + 1));
      index[i] = i;
    }
    List<RandomEffectTerm> terms = new ArrayList<>();
    for (Map.Entry<String, org.lmmspark.engine.reml.DenseSymmetricMatrix> e : covariances.entrySet()) {
      terms.add(RandomEffectTerm.intercept(e.getKey(), "(Intercept)", index, records, index,
          new Relationship(e.getKey(), records, e.getValue())));
    }
    MixedModel model = MixedModel.of(response + " ~ X + " + String.join(" + ", covariances.keySet()), response, y, x,
        fixedNames, terms, residualFactor, residualGroupNames, residualGroup, null);
    checkParameterCount(model);
    return model;
  }

  private MixedModel build(java.util.concurrent.atomic.LongAdder sideCpu) {
    if (formula.randomTerms().isEmpty()) {
      throw new BadInputException("formula '" + formula.text() + "' has no random term such as (1 | group): "
          + "fit a linear model without random effects elsewhere");
    }
    for (String col : options.referenceLevels().keySet()) {
      if (!table.has(col)) {
        throw new BadInputException("--ref-level " + col + "=…: no column '" + col + "' in " + table.source());
      }
    }
    for (String col : options.factors()) {
      if (!table.has(col)) {
        throw new BadInputException("--factor " + col + ": no column '" + col + "' in " + table.source());
      }
    }
    rows = completeRecords(usedColumns());
    List<String> termNotes = new ArrayList<>();
    SideTask<List<RandomEffectTerm>> side = sideCpu != null
        ? SideTask.start("model-frame-Z", sideCpu, () -> randomTerms(termNotes)) : null;
    double[] y = response();
    List<String> fixedNames = new ArrayList<>();
    double[] x = fixedDesign(fixedNames);
    List<RandomEffectTerm> terms = side != null ? side.join() : randomTerms(termNotes);
    notes.addAll(termNotes);
    List<String> groupNames = new ArrayList<>();
    int[] group = new int[rows.length];
    double[] w = residualStructure(groupNames, group);
    MixedModel model = new MixedModel(formula.text(), formula.response().label(), y, x, fixedNames, terms,
        options.residBy(), groupNames, group, w, notes, trials(y), offset(), table.source(), recordLines());
    checkParameterCount(model);
    return model;
  }

  /** Step 1: the columns the model reads (relationship names excepted). */
  List<String> usedColumns() {
    List<String> cols = new ArrayList<>();
    cols.add(formula.response().column());
    if (formula.failures() != null) {
      cols.add(formula.failures().column());
    }
    for (Formula.Variable v : formula.offsets()) {
      cols.add(v.column());
    }
    for (List<Formula.Variable> term : formula.fixedTerms()) {
      for (Formula.Variable v : term) {
        cols.add(v.column());
      }
    }
    for (Formula.RandomTerm t : formula.randomTerms()) {
      for (Formula.Variable v : t.slopes()) {
        cols.add(v.column());
      }
      for (int i = 0; i < t.groups().size(); i++) {
        String g = t.groups().get(i);
        boolean last = i == t.groups().size() - 1;
        if (!(last && i > 0 && options.relationships().containsKey(g) && !table.has(g))) {
          cols.add(g);
        }
      }
    }
    if (options.residBy() != null) {
      cols.add(options.residBy());
    }
    if (options.weights() != null) {
      cols.add(options.weights());
    }
    for (String c : cols) {
      if (!table.has(c)) {
        String hint = options.relationships().isEmpty() ? "" : " (relationship matrices given: "
            + String.join(", ", new TreeSet<>(options.relationships().keySet())) + ")";
        throw new BadInputException("formula '" + formula.text() + "': no column '" + c + "' in " + table.source()
            + " (columns: " + String.join(", ", table.names()) + ")" + hint);
      }
    }
    return cols;
  }

  /** Step 1b: records complete in every used column. */
  int[] completeRecords(List<String> cols) {
    String[][] raw = new String[cols.size()][];
    for (int c = 0; c < raw.length; c++) {
      raw[c] = table.raw(cols.get(c));
    }
    int[] keep = new int[table.rows()];
    int kept = 0;
    for (int i = 0; i < table.rows(); i++) {
      boolean ok = true;
      for (String[] column : raw) {
        ok &= column[i] != null;
      }
      if (ok) {
        keep[kept++] = i;
      }
    }
    int dropped = table.rows() - kept;
    // Neither String.format (the JVM's first format, its Formatter and the root locale's data, cost a short fit
    // ~10 ms here on the fitting thread) nor `+` (linking this concatenation's call site, ~3 ms).
    StringBuilder note = new StringBuilder(table.source()).append(": ").append(table.rows()).append(" records, ")
        .append(kept).append(" used");
    if (dropped > 0) {
      note.append(" (").append(dropped).append(" with a missing value in a model column dropped)");
    }
    notes.add(note.toString());
    if (kept == 0) {
      throw new BadInputException(table.source() + ": no record has a value in every model column ("
          + String.join(", ", new TreeSet<>(cols)) + ")");
    }
    return java.util.Arrays.copyOf(keep, kept);
  }

  /** Step 2: the response. */
  double[] response() {
    Formula.Variable v = formula.response();
    if (!table.isNumeric(v.column())) {
      throw new BadInputException("the response '" + v.column() + "' must be numeric: " + table.source()
          + " has text in it (" + table.firstNonNumber(v.column()) + "; missing values are NA, . or empty)");
    }
    double[] y = numeric(v);
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (double d : y) {
      min = Math.min(min, d);
      max = Math.max(max, d);
    }
    if (min == max) {
      throw new BadInputException("the response '" + v.label() + "' is constant (" + min + "): nothing to model");
    }
    checkMagnitudes(v, y);
    return y;
  }

  /**
   * The response's values must be fit for double precision, as a trait's are
   * ({@link org.lmmspark.engine.pheno.TraitMagnitudes}): |y| ≤ 1e100 (squares and their sums stay
   * finite) and a spread not lost next to the magnitude (SD ≥ 1e-12·max|y|); either failure names the line.
   */
  private void checkMagnitudes(Formula.Variable v, double[] y) {
    int largest = 0;
    double mean = 0;
    for (int i = 0; i < y.length; i++) {
      largest = Math.abs(y[i]) > Math.abs(y[largest]) ? i : largest;
      mean += y[i] / y.length;
    }
    double max = Math.abs(y[largest]);
    if (max > org.lmmspark.engine.pheno.TraitMagnitudes.MAX_ABS) {
      throw BadInputException.atLine(table.source(), table.line(rows[largest]), "the response '" + v.label() + "' is "
          + y[largest] + ", beyond ±" + org.lmmspark.engine.pheno.TraitMagnitudes.MAX_ABS + " (its square would "
          + "overflow in the fit); rescale the response");
    }
    double ss = 0;
    for (double d : y) {
      ss += (d - mean) * (d - mean);
    }
    double sd = Math.sqrt(ss / Math.max(1, y.length - 1));
    if (sd < org.lmmspark.engine.pheno.TraitMagnitudes.MIN_RELATIVE_SD * max) {
      throw BadInputException.atLine(table.source(), table.line(rows[largest]), "the response '" + v.label() + "' is "
          + y[largest] + " with an SD of only " + sd + " over " + y.length + " records: the differences between "
          + "records are lost to rounding; subtract a constant from the response");
    }
  }

  /**
   * Step 2b: binomial trials from {@code cbind(successes, failures)}, {@code successes + failures} per
   * record (null for any other response; the family checks the counts).
   */
  double[] trials(double[] successes) {
    if (formula.failures() == null) {
      return null;
    }
    double[] f = numeric(formula.failures());
    double[] n = new double[f.length];
    for (int i = 0; i < n.length; i++) {
      n[i] = successes[i] + f[i];
    }
    return n;
  }

  /** Step 2c: the sum of the formula's {@code offset()} terms (null without any). */
  double[] offset() {
    if (formula.offsets().isEmpty()) {
      return null;
    }
    double[] o = new double[rows.length];
    for (Formula.Variable v : formula.offsets()) {
      double[] d = numeric(v);
      for (int i = 0; i < o.length; i++) {
        o[i] += d[i];
      }
    }
    return o;
  }

  /** A numeric variable over the used records (transformations applied and checked). */
  private double[] numeric(Formula.Variable v) {
    if (!table.isNumeric(v.column())) {
      throw new BadInputException("formula '" + formula.text() + "': '" + v.label() + "' at column " + v.position()
          + " needs a numeric column, but '" + v.column() + "' has text");
    }
    double[] all = table.numeric(v.column());
    double[] out = new double[rows.length];
    for (int i = 0; i < rows.length; i++) {
      double d = v.transform().apply(all[rows[i]]);
      if (!Double.isFinite(d)) {
        throw new BadInputException("formula '" + formula.text() + "': " + v.label() + " is not finite for record "
            + (rows[i] + 1) + " (" + v.column() + " = " + all[rows[i]] + ")");
      }
      out[i] = d;
    }
    return out;
  }

  private boolean isFactor(Formula.Variable v) {
    return v.transform() == Formula.Transform.FACTOR || options.factors().contains(v.column())
        || !table.isNumeric(v.column());
  }

  /** Levels of a factor column over the used records, reference first; and each record's level. */
  private record Coding(List<String> levels, int[] code) {}

  private final Map<String, Coding> codings = new HashMap<>();

  private Coding coding(String column) {
    return codings.computeIfAbsent(column, c -> {
      String[] raw = table.raw(c);
      boolean numeric = table.isNumeric(c);
      Comparator<String> order = numeric ? Comparator.comparingDouble(Double::parseDouble)
          : String.CASE_INSENSITIVE_ORDER.thenComparing(Comparator.naturalOrder());
      TreeSet<String> sorted = new TreeSet<>(order);
      for (int r : rows) {
        sorted.add(raw[r]);
      }
      List<String> levels = new ArrayList<>(sorted);
      String ref = options.referenceLevels().get(c);
      if (ref != null) {
        int at = levels.indexOf(ref);
        if (at < 0) {
          throw new BadInputException("--ref-level " + c + "=" + ref + ": '" + ref + "' is not a level of " + c
              + " (levels: " + String.join(", ", levels) + ")");
        }
        levels.remove(at);
        levels.add(0, ref);
      }
      Map<String, Integer> idx = new HashMap<>();
      for (int i = 0; i < levels.size(); i++) {
        idx.put(levels.get(i), i);
      }
      int[] code = new int[rows.length];
      for (int i = 0; i < rows.length; i++) {
        code[i] = idx.get(raw[rows[i]]);
      }
      return new Coding(levels, code);
    });
  }

  /**
   * Step 3: X. Terms are ordered by degree (R's {@code terms()}); a factor in a term gets treatment
   * contrasts when the term without it is in the model (the intercept counting as the empty term),
   * indicator columns otherwise (R's rule: {@code y ~ 0 + f} gives every level; {@code x + x:f} gives
   * {@code x:f2, …}). Columns vary the first factor fastest, named as R names them.
   */
  double[] fixedDesign(List<String> names) {
    int n = rows.length;
    List<List<Formula.Variable>> terms = new ArrayList<>(formula.fixedTerms());
    terms.sort(Comparator.comparingInt(List::size));
    java.util.Set<String> present = new java.util.HashSet<>();
    if (formula.intercept()) {
      present.add("");
    }
    for (List<Formula.Variable> t : terms) {
      present.add(key(t));
    }
    List<double[]> cols = new ArrayList<>();
    if (formula.intercept()) {
      double[] one = new double[n];
      java.util.Arrays.fill(one, 1);
      cols.add(one);
      names.add("(Intercept)");
    }
    for (List<Formula.Variable> t : terms) {
      List<double[]> termCols = new ArrayList<>();
      List<String> termNames = new ArrayList<>();
      termCols.add(filled(n));
      termNames.add("");
      for (Formula.Variable v : t) {
        List<double[]> factorCols = new ArrayList<>();
        List<String> factorNames = new ArrayList<>();
        if (isFactor(v)) {
          Coding c = coding(v.column());
          List<Formula.Variable> rest = new ArrayList<>(t);
          rest.remove(v);
          int from = present.contains(key(rest)) ? 1 : 0;
          if (c.levels().size() < 2) {
            throw new BadInputException("fixed factor '" + v.label() + "' has a single level ('" + c.levels().get(0)
                + "') among the used records: contrasts need at least 2");
          }
          for (int l = from; l < c.levels().size(); l++) {
            double[] col = new double[n];
            for (int i = 0; i < n; i++) {
              col[i] = c.code()[i] == l ? 1 : 0;
            }
            factorCols.add(col);
            factorNames.add(v.label() + c.levels().get(l));
          }
        } else {
          factorCols.add(numeric(v));
          factorNames.add(v.label());
        }
        // Later factors vary slowest: (existing columns) × (this variable's columns).
        List<double[]> nextCols = new ArrayList<>();
        List<String> nextNames = new ArrayList<>();
        for (int f = 0; f < factorCols.size(); f++) {
          for (int e = 0; e < termCols.size(); e++) {
            double[] col = new double[n];
            for (int i = 0; i < n; i++) {
              col[i] = termCols.get(e)[i] * factorCols.get(f)[i];
            }
            nextCols.add(col);
            String left = termNames.get(e);
            nextNames.add(left.isEmpty() ? factorNames.get(f) : left + ":" + factorNames.get(f));
          }
        }
        termCols = nextCols;
        termNames = nextNames;
      }
      cols.addAll(termCols);
      names.addAll(termNames);
    }
    int p = cols.size();
    if (p == 0) {
      throw new BadInputException("formula '" + formula.text() + "' has no fixed effect (not even an intercept)");
    }
    double[] x = new double[n * p];
    for (int c = 0; c < p; c++) {
      System.arraycopy(cols.get(c), 0, x, c * n, n);
    }
    checkFullRank(x, n, names);
    return x;
  }

  private static double[] filled(int n) {
    double[] a = new double[n];
    java.util.Arrays.fill(a, 1);
    return a;
  }

  private static String key(List<Formula.Variable> t) {
    List<String> labels = new ArrayList<>();
    for (Formula.Variable v : t) {
      labels.add(v.label());
    }
    labels.sort(null);
    return String.join(":", labels);
  }

  /** Modified Gram–Schmidt: the first column (nearly) in the span of those before it is named. */
  private static void checkFullRank(double[] x, int n, List<String> names) {
    int p = names.size();
    double[] q = x.clone();
    for (int c = 0; c < p; c++) {
      double norm0 = 0;
      for (int i = 0; i < n; i++) {
        norm0 += x[i + c * n] * x[i + c * n];
      }
      for (int k = 0; k < c; k++) {
        double dot = 0;
        for (int i = 0; i < n; i++) {
          dot += q[i + k * n] * q[i + c * n];
        }
        for (int i = 0; i < n; i++) {
          q[i + c * n] -= dot * q[i + k * n];
        }
      }
      double norm = 0;
      for (int i = 0; i < n; i++) {
        norm += q[i + c * n] * q[i + c * n];
      }
      if (!(norm > 1e-14 * Math.max(norm0, 1e-300)) || norm0 == 0) {
        throw new BadInputException("fixed-effect column '" + names.get(c) + "' is "
            + (norm0 == 0 ? "all zero" : "a linear combination of the columns before it (" + String.join(", ",
                names.subList(0, c)) + ")") + ": the fixed effects are not estimable; drop a term");
      }
      double inv = 1 / Math.sqrt(norm);
      for (int i = 0; i < n; i++) {
        q[i + c * n] *= inv;
      }
    }
  }

  /** Step 4: the random terms; a note per term goes to {@code termNotes}. */
  List<RandomEffectTerm> randomTerms(List<String> termNotes) {
    int n = rows.length;
    List<RandomEffectTerm> out = new ArrayList<>();
    for (Formula.RandomTerm t : formula.randomTerms()) {
      List<String> effects = new ArrayList<>();
      List<double[]> z = new ArrayList<>();
      if (t.intercept()) {
        effects.add("(Intercept)");
        z.add(filled(n));
      }
      for (Formula.Variable s : t.slopes()) {
        if (!table.isNumeric(s.column()) || options.factors().contains(s.column())) {
          throw new BadInputException("formula '" + formula.text() + "': the random slope '" + s.label()
              + "' at column " + s.position() + " is not numeric (column '" + s.column() + "' is a factor); "
              + "random slopes must be numeric columns");
        }
        effects.add(s.label());
        z.add(numeric(s));
      }
      List<String> groups = t.groups();
      String last = groups.get(groups.size() - 1);
      Relationship rel = null;
      List<String> factors = groups;
      if (groups.size() > 1 && options.relationships().containsKey(last) && !table.has(last)) {
        rel = options.relationships().get(last);
        factors = groups.subList(0, groups.size() - 1);
      } else if (groups.size() == 1 && options.relationships().containsKey(last) && !table.has(last)) {
        throw new BadInputException("formula '" + formula.text() + "': '" + last + "' at column " + t.position()
            + " is a relationship matrix: write (1 | ID:" + last + ") with ID the column of the individuals");
      }
      // Level = the combination of the factors; with a relationship the last factor indexes it.
      Map<String, Integer> levelIndex = new LinkedHashMap<>();
      Map<String, Integer> crossIndex = new HashMap<>();
      List<String> levelNames = new ArrayList<>();
      List<Integer> crossOf = new ArrayList<>();
      List<Integer> relOf = new ArrayList<>();
      Map<String, Integer> relRow = rel == null ? null : rel.index();
      int[] level = new int[n];
      String[][] raw = new String[factors.size()][];
      for (int f = 0; f < factors.size(); f++) {
        raw[f] = table.raw(factors.get(f));
      }
      // The crossed factors' key leaves out the factor a relationship indexes.
      int crossed = rel == null ? raw.length : raw.length - 1;
      for (int i = 0; i < n; i++) {
        String key = levelKey(raw, rows[i], raw.length);
        Integer l = levelIndex.get(key);
        if (l == null) {
          l = levelNames.size();
          levelIndex.put(key, l);
          levelNames.add(key);
          crossOf.add(crossIndex.computeIfAbsent(levelKey(raw, rows[i], crossed), k -> crossIndex.size()));
          if (rel != null) {
            String id = raw[factors.size() - 1][rows[i]];
            Integer row = relRow.get(id);
            if (row == null) {
              throw new BadInputException("formula '" + formula.text() + "': level '" + id + "' of "
                  + factors.get(factors.size() - 1) + " (record " + (rows[i] + 1) + " of " + table.source()
                  + ") is not among the ids of the relationship matrix " + rel.name());
            }
            relOf.add(row);
          }
        }
        level[i] = l;
      }
      String group = t.groupName();
      checkNlevels(group, levelNames.size(), n, rel != null, effects.size(), t.position());
      out.add(new RandomEffectTerm(group, effects, z.toArray(new double[0][]), level, levelNames,
          crossOf.stream().mapToInt(Integer::intValue).toArray(),
          rel == null ? null : relOf.stream().mapToInt(Integer::intValue).toArray(), rel, t.correlated()));
      // Not String.format: its first use in the JVM (Formatter, the root locale's data) costs ~13 ms, here on the
      // side thread the fitting thread then waits for.
      StringBuilder note = new StringBuilder("random term (").append(String.join(" + ", effects)).append(" | ")
          .append(group).append("): ").append(levelNames.size()).append(" levels");
      if (rel != null) {
        note.append(", relationship ").append(rel.name());
      }
      termNotes.add(note.toString());
    }
    return out;
  }

  /**
   * A record's level of the first {@code count} factors, their values joined by ':' ("" for none): the
   * value itself for one factor, without building a string per record (most terms have one factor).
   */
  private static String levelKey(String[][] raw, int row, int count) {
    if (count == 1) {
      return raw[0][row];
    }
    StringBuilder key = new StringBuilder();
    for (int f = 0; f < count; f++) {
      key.append(f == 0 ? "" : ":").append(raw[f][row]);
    }
    return key.toString();
  }

  /** lme4's checkNlevels and nobs-vs-nRE checks. */
  private void checkNlevels(String group, int levels, int n, boolean related, int d, int position) {
    if (levels < 2) {
      throw new BadInputException("grouping factor '" + group + "' (term at column " + position + " of the formula)"
          + " has a single level among the " + n + " used records: its variance cannot be estimated");
    }
    if (!related && levels >= n) {
      throw new BadInputException("grouping factor '" + group + "' has " + levels + " levels for " + n
          + " records (as many levels as records): its variance cannot be told apart from the residual");
    }
    if (!related && (long) levels * d >= n) {
      throw new BadInputException("term (… | " + group + ") has " + levels + " levels × " + d + " effects = "
          + (long) levels * d + " random effects for " + n + " records: the variance parameters are not identifiable");
    }
  }

  /** Step 5: residual groups and weights. */
  double[] residualStructure(List<String> groupNames, int[] group) {
    int n = rows.length;
    if (options.residBy() != null) {
      Coding c = coding(options.residBy());
      groupNames.addAll(c.levels());
      System.arraycopy(c.code(), 0, group, 0, n);
      if (c.levels().size() < 2) {
        throw new BadInputException("--resid-by " + options.residBy() + " has a single level: one residual variance"
            + " is the default");
      }
    } else {
      groupNames.add("residual");
    }
    double[] w = filled(n);
    if (options.weights() != null) {
      if (!table.isNumeric(options.weights())) {
        throw new BadInputException("--weights " + options.weights() + ": the column must be numeric");
      }
      double[] all = table.numeric(options.weights());
      for (int i = 0; i < n; i++) {
        w[i] = all[rows[i]];
        if (!(w[i] > 0)) {
          throw new BadInputException("--weights " + options.weights() + ": record " + (rows[i] + 1) + " of "
              + table.source() + " has weight " + w[i] + " (weights must be positive)");
        }
      }
    }
    return w;
  }

  /** The table's file line of each used record, for errors about a record's values found after the frame. */
  private long[] recordLines() {
    long[] lines = new long[rows.length];
    for (int i = 0; i < rows.length; i++) {
      lines[i] = table.line(rows[i]);
    }
    return lines;
  }

  /** Step 6: more records than parameters. */
  static void checkParameterCount(MixedModel m) {
    int params = m.p() + m.parameters();
    if (m.n() <= params) {
      throw new BadInputException("only " + m.n() + " records for " + params + " parameters (" + m.p()
          + " fixed effects, " + m.parameters() + " variance parameters): fewer records than parameters");
    }
  }
}
