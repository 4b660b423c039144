package org.lmmspark.engine.model;


import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.reml.BlockedDenseLikelihood;
import org.lmmspark.engine.reml.ParameterSpace;

/**
 * A linear mixed model, {@code y = Xβ + Σ_t Σ_a Z_ta u_ta + e} with {@code Cov(u_t) = K_t ⊗ Σ_t}
 * per random term (see {@link RandomEffectTerm}) and {@code e_r ~ N(0, σ²_g(r)/w_r)} (a residual
 * variance per level g of {@code --resid-by}, nlme's {@code varIdent} and ASReml's {@code at(env)}
 * residuals; known weights w as lme4's {@code weights}). So
 * <pre>  V(θ) = Σ_t Σ_{a≤b} Σ_t,ab (Z_a K Z_bᵀ + Z_b K Z_aᵀ)[a≠b] + Σ_g σ²_g diag(1{g(r)=g}/w_r),</pre>
 * linear in θ = (entries of each Σ_t, lower triangle column-major; then σ²_g), which is what the
 * AI-REML optimizer needs: {@code ∂V/∂θ_j} is a fixed matrix. Parameters of a correlated term form one
 * Cholesky block of the {@link ParameterSpace}.
 *
 * <p>The one model of every route: {@code fit} builds it from a formula ({@link ModelFrame}),
 * {@code reml} from its inputs ({@link SparseModels}), the GLMMs change its response and weights
 * ({@link #withResponse}). Its likelihood is evaluated over the independent blocks of V
 * ({@link BlockedDenseLikelihood}, through {@link #fill} and {@link #blocks}) or through Henderson's
 * sparse mixed-model equations ({@link MmeLikelihood}); {@link MixedModelFitter} chooses.
 */
public final class MixedModel implements BlockedDenseLikelihood.Structure {
  private final String formula;
  private final String response;
  private final double[] y;
  private final double[] x;
  private final List<String> fixedNames;
  private final List<RandomEffectTerm> terms;
  private final List<String> residualGroupNames;
  private final String residualFactor;
  private final int[] residualGroup;
  private final double[] weights;
  private final List<String> notes;
  /** Binomial trials from {@code cbind(successes, failures)}, or null. */
  private final double[] trials;
  /** The formula's offset (sum of {@code offset()} terms), or null. */
  private final double[] offset;
  /** Where the records came from, for errors about a record's values: the table, its line per record (or null). */
  private final String recordSource;
  private final long[] recordLines;

  /** Per θ: the term (−1 for a residual group), effect indices a ≥ b, or the residual group. */
  private final int[] paramTerm;
  private final int[] paramA;
  private final int[] paramB;
  private final List<String> paramNames = new ArrayList<>();

  MixedModel(String formula, String response, double[] y, double[] x, List<String> fixedNames,
      List<RandomEffectTerm> terms, String residualFactor, List<String> residualGroupNames, int[] residualGroup,
      double[] weights, List<String> notes, double[] trials, double[] offset, String recordSource,
      long[] recordLines) {
    this.formula = formula;
    this.response = response;
    this.y = y;
    this.x = x;
    this.fixedNames = List.copyOf(fixedNames);
    this.terms = List.copyOf(terms);
    this.residualFactor = residualFactor;
    this.residualGroupNames = List.copyOf(residualGroupNames);
    this.residualGroup = residualGroup;
    this.weights = weights == null ? filled(y.length) : weights;
    this.notes = List.copyOf(notes);
    this.trials = trials;
    this.offset = offset;
    this.recordSource = recordSource;
    this.recordLines = recordLines;
    check();
    List<int[]> params = new ArrayList<>();
    Map<String, Integer> seen = new HashMap<>();
    for (int t = 0; t < terms.size(); t++) {
      RandomEffectTerm term = terms.get(t);
      String group = term.group();
      int dup = seen.merge(group + "|" + String.join(",", term.effects()), 1, Integer::sum);
      String prefix = dup > 1 ? group + "." + (dup - 1) : group;
      int d = term.dimension();
      for (int b = 0; b < d; b++) {
        for (int a = b; a < d; a++) {
          params.add(new int[] {t, a, b});
          paramNames.add(a == b ? prefix + ":" + term.effects().get(a)
              : prefix + ":" + term.effects().get(b) + "," + term.effects().get(a));
        }
      }
    }
    for (int g = 0; g < residualGroupNames.size(); g++) {
      params.add(new int[] {-1, g, g});
      paramNames.add(residualFactor == null ? "residual" : "residual:" + residualFactor + "=" + residualGroupNames.get(g));
    }
    paramTerm = new int[params.size()];
    paramA = new int[params.size()];
    paramB = new int[params.size()];
    for (int j = 0; j < params.size(); j++) {
      paramTerm[j] = params.get(j)[0];
      paramA[j] = params.get(j)[1];
      paramB[j] = params.get(j)[2];
    }
  }

  /**
   * A model not read from a formula (e.g. {@code reml}'s components): {@code formula} describes it
   * for reports. {@code residualGroup} null means one residual variance, {@code weights} null all ones.
   */
  public static MixedModel of(String formula, String response, double[] y, double[] x, List<String> fixedNames,
      List<RandomEffectTerm> terms, String residualFactor, List<String> residualGroupNames, int[] residualGroup,
      double[] weights) {
    List<String> groups = residualGroup == null ? List.of("residual") : residualGroupNames;
    return new MixedModel(formula, response, y, x, fixedNames, terms, residualFactor, groups,
        residualGroup == null ? new int[y.length] : residualGroup, weights, List.of(), null, null, null, null);
  }

  /** API-misuse checks (bad input is caught with its file and line by the frame builder). */
  private void check() {
    int n = y.length;
    if (x.length != (long) n * fixedNames.size()) {
      throw new IllegalArgumentException("X has " + x.length + " entries for n×p = " + n + "×" + fixedNames.size());
    }
    if (residualGroup.length != n || weights.length != n) {
      throw new IllegalArgumentException("residual groups or weights are not given for all " + n + " records");
    }
    for (int i = 0; i < n; i++) {
      if (residualGroup[i] < 0 || residualGroup[i] >= residualGroupNames.size()) {
        throw new IllegalArgumentException("record " + i + " is in residual group " + residualGroup[i]);
      }
      if (!(weights[i] > 0)) {
        throw new IllegalArgumentException("record " + i + " has weight " + weights[i]);
      }
    }
    for (RandomEffectTerm t : terms) {
      if (t.level().length != n) {
        throw new IllegalArgumentException("term " + t.group() + " has " + t.level().length + " records, not " + n);
      }
    }
  }

  private static double[] filled(int n) {
    double[] w = new double[n];
    Arrays.fill(w, 1);
    return w;
  }

  /**
   * The same model with another response and known record weights ({@code e_r ~ N(0, σ²/w_r)}): the
   * working model of penalized quasi-likelihood, whose response and weights change every iteration.
   */
  public MixedModel withResponse(double[] newY, double[] newWeights) {
    if (newY.length != y.length || newWeights != null && newWeights.length != y.length) {
      throw new IllegalArgumentException("response and weights must have n = " + y.length + " entries");
    }
    return new MixedModel(formula, response, newY, x, fixedNames, terms, residualFactor, residualGroupNames,
        residualGroup, newWeights, notes, trials, offset, recordSource, recordLines);
  }

  /**
   * Bad input about record i's values ({@code what}), naming where it came from: the table's file and line
   * for a model read from a table ({@code file:line: what}, as the frame's own checks say it), else its
   * position among the analysed records.
   */
  public BadInputException recordError(int i, String what) {
    if (recordLines != null) {
      return BadInputException.atLine(recordSource, recordLines[i], what);
    }
    return new BadInputException("analysed record " + (i + 1) + ": " + what);
  }

  /** Binomial trials per record from {@code cbind(successes, failures)}, or null (one trial, or not binomial). */
  public double[] trials() {
    return trials;
  }

  /** The known part of the linear predictor from {@code offset()} terms, or null. */
  public double[] offset() {
    return offset;
  }

  public String formula() {
    return formula;
  }

  public String response() {
    return response;
  }

  public int n() {
    return y.length;
  }

  public int p() {
    return fixedNames.size();
  }

  public double[] y() {
    return y;
  }

  /** X, n×p column-major (not a copy). */
  public double[] x() {
    return x;
  }

  public List<String> fixedNames() {
    return fixedNames;
  }

  public List<RandomEffectTerm> terms() {
    return terms;
  }

  public List<String> residualGroupNames() {
    return residualGroupNames;
  }

  /** The {@code --resid-by} column, or null for one residual variance. */
  public String residualFactor() {
    return residualFactor;
  }

  public int[] residualGroup() {
    return residualGroup;
  }

  /** Known record weights (all ones when none were given; not a copy). */
  public double[] weights() {
    return weights;
  }

  /** What the frame builder did (records dropped, levels, reference levels). */
  public List<String> notes() {
    return notes;
  }

  @Override
  public int parameters() {
    return paramTerm.length;
  }

  public List<String> parameterNames() {
    return List.copyOf(paramNames);
  }

  /** The term of parameter j, or −1 for a residual variance. */
  public int parameterTerm(int j) {
    return paramTerm[j];
  }

  /** Effect indices (a, b) of parameter j within its term (a = b for a variance), or (g, g) for residual group g. */
  public int[] parameterEffects(int j) {
    return new int[] {paramA[j], paramB[j]};
  }

  /** Index of the first residual parameter (they come last). */
  public int firstResidualParameter() {
    return paramTerm.length - residualGroupNames.size();
  }

  /** Number of levels (the rank of D_j for a variance of a term) or records (for a residual group). */
  private double rank(int j) {
    if (paramTerm[j] >= 0) {
      return terms.get(paramTerm[j]).levelCount();
    }
    int count = 0;
    for (int g : residualGroup) {
      count += g == paramA[j] ? 1 : 0;
    }
    return count;
  }

  /** The optimizer's space: Cholesky blocks for correlated terms, variances ≥ 0, residuals above {@code residualFloor}. */
  public ParameterSpace space(boolean[] fixed, double residualFloor) {
    ParameterSpace.Builder sb = ParameterSpace.builder();
    for (int j = 0; j < paramTerm.length; j++) {
      ParameterSpace.Kind kind = paramTerm[j] < 0 ? ParameterSpace.Kind.RESIDUAL
          : paramA[j] == paramB[j] ? ParameterSpace.Kind.VARIANCE : ParameterSpace.Kind.COVARIANCE;
      double lower = kind == ParameterSpace.Kind.RESIDUAL ? residualFloor
          : kind == ParameterSpace.Kind.VARIANCE ? 0 : Double.NEGATIVE_INFINITY;
      sb.add(paramNames.get(j), kind, lower, rank(j));
    }
    int j = 0;
    for (RandomEffectTerm term : terms) {
      int len = term.dimension() * (term.dimension() + 1) / 2;
      if (term.dimension() > 1) {
        int[] idx = new int[len];
        for (int i = 0; i < len; i++) {
          idx[i] = j + i;
        }
        sb.choleskyBlock(idx);
      }
      j += len;
    }
    return sb.build(fixed);
  }

  /**
   * Starting values: the OLS residual variance s² shared equally by the random terms and the
   * residual; a term's share divided per effect by the mean square of its column (a slope on Days
   * 0..9 starts 28× smaller than an intercept), covariances 0.
   */
  public double[] start(double s2) {
    double share = s2 / (terms.size() + 1);
    double[] theta = new double[parameters()];
    for (int j = 0; j < theta.length; j++) {
      if (paramTerm[j] < 0) {
        theta[j] = share;
      } else if (paramA[j] == paramB[j]) {
        RandomEffectTerm t = terms.get(paramTerm[j]);
        double ms = 0;
        for (double v : t.z()[paramA[j]]) {
          ms += v * v;
        }
        ms /= n();
        theta[j] = share / t.dimension() / (ms > 0 ? ms : 1);
      }
    }
    return theta;
  }

  @Override
  public boolean fill(int j, int[] rows, double[] out) {
    int nb = rows.length;
    boolean any = false;
    if (paramTerm[j] < 0) {
      for (int i = 0; i < nb; i++) {
        if (residualGroup[rows[i]] == paramA[j]) {
          out[i + i * nb] = 1 / weights[rows[i]];
          any = true;
        }
      }
      return any;
    }
    RandomEffectTerm t = terms.get(paramTerm[j]);
    double[] za = t.z()[paramA[j]];
    double[] zb = t.z()[paramB[j]];
    boolean cov = paramA[j] != paramB[j];
    int[] level = t.level();
    for (int c = 0; c < nb; c++) {
      int s = rows[c];
      for (int i = 0; i < nb; i++) {
        int r = rows[i];
        double k = t.relationship(level[r], level[s]);
        if (k != 0) {
          double v = za[r] * zb[s] + (cov ? zb[r] * za[s] : 0);
          out[i + c * nb] = k * v;
          any |= v != 0;
        }
      }
    }
    return any;
  }

  /**
   * The independent blocks of V: records joined when they share a level of a term, or when their
   * levels are related ({@code K ≠ 0}); union–find, blocks in order of their first record.
   */
  public int[][] blocks() {
    int n = n();
    int[] parent = new int[n];
    for (int i = 0; i < n; i++) {
      parent[i] = i;
    }
    for (RandomEffectTerm t : terms) {
      int[] first = unionByLevel(parent, t);
      if (t.relationship() != null) { // related levels are one block
        for (int l1 = 0; l1 < first.length; l1++) {
          for (int l2 = 0; l2 < l1; l2++) {
            if (first[l1] >= 0 && first[l2] >= 0 && t.relationship(l1, l2) != 0) {
              union(parent, first[l1], first[l2]);
            }
          }
        }
      }
    }
    return numberedBlocks(parent);
  }

  /**
   * The records of each level of {@code t} joined in {@code parent} (union–find); returns each level's first record
   * (−1 for a level without one). {@link #blocks}' loops over the records are methods of their own for the JIT (a
   * short fit runs each once; in one method the whole was compiled on the stack again for each loop).
   */
  private int[] unionByLevel(int[] parent, RandomEffectTerm t) {
    int n = n();
    int[] first = new int[t.levelCount()];
    Arrays.fill(first, -1);
    int[] level = t.level();
    for (int r = 0; r < n; r++) {
      int l = level[r];
      if (first[l] < 0) {
        first[l] = r;
      } else {
        union(parent, first[l], r);
      }
    }
    return first;
  }

  /**
   * The blocks of a union–find forest over the records, numbered in order of their first record, records ascending
   * within each: by counting, not boxed lists (this runs at every fit, in the interpreter for short ones).
   */
  private static int[][] numberedBlocks(int[] parent) {
    int n = parent.length;
    int[] blockOfRoot = new int[n];
    Arrays.fill(blockOfRoot, -1);
    int[] blockOf = new int[n];
    int[] size = new int[n];
    int count = 0;
    for (int r = 0; r < n; r++) {
      int root = find(parent, r);
      if (blockOfRoot[root] < 0) {
        blockOfRoot[root] = count++;
      }
      blockOf[r] = blockOfRoot[root];
      size[blockOf[r]]++;
    }
    int[][] out = new int[count][];
    for (int b = 0; b < count; b++) {
      out[b] = new int[size[b]];
    }
    int[] filled = new int[count];
    for (int r = 0; r < n; r++) {
      out[blockOf[r]][filled[blockOf[r]]++] = r;
    }
    return out;
  }

  private static int find(int[] parent, int i) {
    while (parent[i] != i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  }

  private static void union(int[] parent, int a, int b) {
    int ra = find(parent, a);
    int rb = find(parent, b);
    if (ra != rb) {
      parent[Math.max(ra, rb)] = Math.min(ra, rb);
    }
  }
}
