package org.lmmspark.engine.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.lmmspark.engine.linalg.CompensatedSum;
import org.lmmspark.engine.linalg.SparseCholesky;
import org.lmmspark.engine.linalg.SparseSymmetric;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.reml.RemlLikelihood;

/**
 * REML (and ML) likelihood, score and average information of a {@link MixedModel} through Henderson's
 * mixed-model equations, factored by a sparse Cholesky ({@link SparseCholesky}: AMD ordering and
 * symbolic analysis once, numeric factorization per evaluation) — never an n×n V. As in lme4,
 * ASReml, BLUPF90/AIREMLF90 and WOMBAT.
 *
 * <p><b>Equations.</b> Each term is written {@code u_t = (Λ_t ⊗ I) v_t}, {@code v_t ~ N(0, I_d ⊗ K_t)},
 * with {@code Σ_t = Λ_t Λ_tᵀ} (lower Cholesky factor; lme4's relative-factor form): {@code Z*_t =
 * Z_t (Λ_t ⊗ I)} has d entries per record, {@code W = [X Z*]}, and
 * <pre>
 *   C = WᵀR⁻¹W + blockdiag(0_p, I_d ⊗ K_t⁻¹),    C [β̂; v̂] = WᵀR⁻¹y,    û_t = (Λ_t ⊗ I) v̂_t.
 * </pre>
 * C stays positive definite when a Σ_t is singular (a variance at 0: the term drops out), where the
 * textbook form with {@code G⁻¹} breaks down. With {@code ê = y − W[β̂; v̂]}, {@code Py = R⁻¹ê}:
 * <pre>
 *   log|V| + log|XᵀV⁻¹X| = log|R| + Σ_t d_t log|K_t| + log|C|,   yᵀPy = yᵀR⁻¹ê,
 *   log|V| = that − log|XᵀV⁻¹X|,   (XᵀV⁻¹X)⁻¹ = C⁻¹_ββ = Cov(β̂),
 * </pre>
 * so {@code ℓ_REML = −½(log|V| + log|XᵀV⁻¹X| + yᵀPy)} (GCTA's constants; R/lme4 add
 * {@code −½(n−p) log 2π}) and {@code ℓ_ML = −½(log|V| + yᵀPy)} (R adds {@code −½ n log 2π}).
 *
 * <p><b>Score</b> {@code ∂ℓ/∂θ_k = −½(tr(PV_k) − yᵀPV_kPy)}. For an entry of Σ_t,
 * {@code V_k = Z_t(E ⊗ K_t)Z_tᵀ} with {@code E = ∂Σ_t/∂θ_k}; from
 * {@code Z*ᵀPZ* = K⁻¹ − K⁻¹C^{vv}K⁻¹} and {@code Z*ᵀPy = K⁻¹v̂}:
 * <pre>
 *   tr(PV_k) − yᵀPV_kPy = tr(E Λ⁻ᵀ (m I − T − Q) Λ⁻¹),   T_ab = tr(C^{v_a v_b} K⁻¹),   Q_ab = v̂_aᵀK⁻¹v̂_b,
 * </pre>
 * with {@code C^{v_a v_b}} the blocks of {@code C⁻¹}, needed only on the pattern of {@code K⁻¹}: the
 * sparse inverse subset (Takahashi) gives them. For a residual group,
 * {@code tr(PV_g) = Σ_{i∈g} (1/r_i − w_iᵀC⁻¹w_i / r_i²)/w_i} ({@code w_i} the row of W) and
 * {@code yᵀPV_gPy = Σ_{i∈g} ê_i²/(r_i² w_i)}.
 *
 * <p><b>Average information</b> {@code AI_kl = ½ f_kᵀPf_l} from the working variates
 * {@code f_k = V_kPy} ({@code Z_t (E Λ⁻ᵀ ⊗ I) v̂_t} for Σ entries, {@code ê/σ²_g} on group g):
 * {@code f_kᵀPf_l = f_kᵀR⁻¹f_l − b_kᵀC⁻¹b_l}, {@code b_k = WᵀR⁻¹f_k}, one solve per parameter
 * (Gilmour, Thompson &amp; Cullis 1995; Meyer's WOMBAT notes).
 *
 * <p>At a singular Σ_t (a variance on its boundary 0) the likelihood, β̂ and Py are exact; the score and
 * AI, which divide by Λ, are taken at Σ_t + δI with δ = {@value #BOUNDARY_DELTA} × the largest
 * residual variance: a one-sided derivative accurate to O(δ), enough for the optimizer's active set.
 *
 * <p><b>Cost</b> per evaluation: the numeric factorization and the selected inverse,
 * {@code O(Σ_j |L_{·j}|²)} (for an animal model roughly linear in the pedigree size), plus
 * {@code parameters + 1} solves and {@code O(n s²)} for assembly, s the unknowns per record. Measured:
 * pedigreemm-milk (6,607 unknowns, 29k entries in L) 7–10 ms of CPU per evaluation; a simulated
 * random-mating pedigree of 8,000 animals (1.4M entries in L after AMD) about 4 s, where CSparse's
 * up-looking factorization and the entry-by-entry Takahashi pass (neither supernodal nor BLAS-based,
 * unlike CHOLMOD) are the limit — the next step for large, deep pedigrees.
 * {@link #observedInformation} is not offered (it needs {@code tr(PV_kPV_l)}, far more of C⁻¹).
 */
public final class MmeLikelihood implements RemlLikelihood {
  static final double BOUNDARY_DELTA = 1e-6;

  private final MixedModel model;
  private final int n;
  private final int p;
  private final int q;
  private final List<SparseTerm> terms;
  /** Each term's level of every record and its covariates ({@code [effect][record]}): read per record per pass. */
  private final int[][] termLevel;
  private final double[][][] termCovariates;
  private final double[] weights;
  private final int[] offset;
  /** θ index of entry (a, b) of term t's Σ: {@code param[t][a·d + b]}, symmetric. */
  private final int[][] param;
  private final int[] colStart;
  private final int[] rowIndex;
  private final SparseCholesky chol;
  /**
   * Records touching the same unknowns (the same level of every term: all of a subject's records for one
   * grouping factor) are of one kind: record i is of kind {@code kindOfRecord[i]}, whose unknowns are
   * {@code kindColumn[kindColumnStart[k] …]} ascending (the p fixed effects, then d per term that applies).
   * The pattern's keys and the entries' positions are found once per kind rather than once per record.
   */
  private final int[] kindOfRecord;
  private final int[] kindColumnStart;
  private final int[] kindColumn;
  /** Positions in C's values of a kind's entries w_u w_v (u ≤ v, v past the fixed effects): {@code kindEntry[kindEntryStart[k] …]}. */
  private final int[] kindEntryStart;
  private final int[] kindEntry;
  /** The same entries' positions in the selected inverse (its pattern is L's, fixed): set at first use. */
  private int[] kindInverseEntry;
  private final Criterion criterion;

  /** Which likelihood {@link #evaluate} maximizes: REML (the default) or ML (for likelihood-ratio tests of fixed effects and AIC). */
  public enum Criterion {
    REML,
    ML
  }

  public MmeLikelihood(MixedModel model) {
    this(model, Criterion.REML);
  }

  /**
   * With {@link Criterion#ML}, {@link #evaluate} gives {@code ℓ_ML}, its score
   * {@code −½(tr(V⁻¹V_k) − yᵀPV_kPy)} and {@code AI_kl = ½ (V_kPy)ᵀV⁻¹(V_lPy)}: the REML terms plus the
   * fixed-effect parts {@code tr(V⁻¹V_kV⁻¹X Cov(β̂) XᵀV⁻¹)} and {@code (V_kPy)ᵀV⁻¹X Cov(β̂) XᵀV⁻¹(V_lPy)},
   * from {@code V⁻¹X Cov(β̂) = R⁻¹W S} and {@code Z*ᵀV⁻¹X Cov(β̂) = −K⁻¹S_v}, S the first p columns
   * of C⁻¹ (p more solves).
   */
  public MmeLikelihood(MixedModel model, Criterion criterion) {
    this.model = model;
    this.criterion = criterion;
    this.n = model.n();
    this.p = model.p();
    this.weights = model.weights();
    String why = whyNotSparse(model);
    if (why != null) {
      throw new IllegalArgumentException("not a sparse model: " + why);
    }
    List<SparseTerm> sparse = new ArrayList<>();
    for (RandomEffectTerm t : model.terms()) {
      sparse.add(SparseTerm.of(t));
    }
    this.terms = List.copyOf(sparse);
    termLevel = new int[terms.size()][];
    termCovariates = new double[terms.size()][][];
    for (int t = 0; t < terms.size(); t++) {
      termLevel[t] = terms.get(t).levelOfRecord();
      termCovariates[t] = terms.get(t).covariates();
    }
    offset = new int[terms.size()];
    param = new int[terms.size()][];
    int unknowns = p;
    for (int t = 0; t < terms.size(); t++) {
      offset[t] = unknowns;
      unknowns += terms.get(t).dimension() * terms.get(t).levels();
      param[t] = new int[terms.get(t).dimension() * terms.get(t).dimension()];
    }
    for (int j = 0; j < model.firstResidualParameter(); j++) {
      int t = model.parameterTerm(j);
      int d = terms.get(t).dimension();
      int[] ab = model.parameterEffects(j);
      param[t][ab[0] * d + ab[1]] = j;
      param[t][ab[1] * d + ab[0]] = j;
    }
    this.q = unknowns;
    // The pattern of C (upper triangle) from its structure alone, so that the ordering and the symbolic
    // analysis hold for every θ: all pairs of unknowns sharing a record, and for each term all d×d
    // blocks of K⁻¹'s pattern (the off-diagonal blocks are zero in C but their C⁻¹ entries feed T).
    LongList keys = new LongList();
    for (int v = 0; v < p; v++) {
      for (int u = 0; u <= v; u++) {
        keys.add(key(u, v)); // XᵀR⁻¹X is dense: once, not once per record
      }
    }
    kindOfRecord = new int[n];
    int kinds = recordKinds(kindOfRecord);
    int[][] kindCols = kindColumns(kinds);
    kindColumnStart = kindCols[0];
    kindColumn = kindCols[1];
    for (int k = 0; k < kinds; k++) {
      int c0 = kindColumnStart[k];
      int s = kindColumnStart[k + 1] - c0;
      for (int v = p; v < s; v++) {
        for (int u = 0; u <= v; u++) {
          keys.add(key(kindColumn[c0 + u], kindColumn[c0 + v]));
        }
      }
    }
    for (int t = 0; t < terms.size(); t++) {
      SparseTerm term = terms.get(t);
      int m = term.levels();
      int d = term.dimension();
      int off = offset[t];
      for (int a = 0; a < d; a++) {
        for (int b = 0; b < d; b++) {
          int ra = off + a * m;
          int rb = off + b * m;
          if (term.precision() == null) {
            for (int k = 0; k < m; k++) {
              keys.add(key(ra + k, rb + k));
            }
          } else {
            term.precision().forEachLower((k, l, val) -> keys.add(key(ra + k, rb + l)));
          }
        }
      }
    }
    for (int j = 0; j < q; j++) {
      keys.add(key(j, j));
    }
    int[][] pattern = keys.columnPattern(q);
    colStart = pattern[0];
    rowIndex = pattern[1];
    chol = new SparseCholesky(q, colStart, rowIndex, withoutFill());
    // Where each kind's products w_u w_v (u ≤ v, v past the fixed effects) go in C's values: the
    // same for every θ, so found once here rather than searched for at every evaluation.
    kindEntryStart = kindEntryStarts(kinds);
    kindEntry = new int[kindEntryStart[kinds]];
    for (int k = 0; k < kinds; k++) {
      int c0 = kindColumnStart[k];
      int s = kindColumnStart[k + 1] - c0;
      int e = kindEntryStart[k];
      for (int v = p; v < s; v++) {
        for (int u = 0; u <= v; u++) {
          kindEntry[e++] = position(kindColumn[c0 + u], kindColumn[c0 + v]);
        }
      }
    }
  }

  /**
   * Null when every term of the model has a sparse precision {@code K⁻¹} in the equations: a grouping
   * factor or slopes on one ({@code K = I}), or a pedigree's A through Henderson's {@code A⁻¹} (not
   * crossed with another factor); else the reason the model needs a dense route (a GRM or {@code K∘K}
   * has an inverse as dense as itself).
   */
  public static String whyNotSparse(MixedModel model) {
    for (RandomEffectTerm t : model.terms()) {
      Relationship rel = t.relationship();
      if (rel == null) {
        continue;
      }
      if (rel.pedigree() == null) {
        return "term (… | " + t.group() + ") has the dense relationship matrix " + rel.name() + " (a GRM or K∘K: its "
            + "inverse is dense too)";
      }
      if (!t.coversRelationshipIds()) {
        return "term (… | " + t.group() + ") crosses the pedigree " + rel.name() + " with another factor";
      }
    }
    return null;
  }

  /**
   * A {@link RandomEffectTerm} as the equations see it: {@code u ~ N(0, Σ ⊗ K)} ordered effect by
   * effect ({@code u = (u_1ᵀ, …, u_dᵀ)ᵀ}, each over the m levels); effect {@code a} of record {@code i}
   * enters {@code y_i} as {@code covariates[a][i] · u_a[levelOfRecord[i]]}. For a pedigree term the
   * levels are <em>all</em> animals of the pedigree, ancestors without records included (their
   * {@code A⁻¹} is sparse; A among the recorded animals alone is not).
   *
   * @param precision {@code K⁻¹} (m×m), or null for {@code K = I}
   * @param logDetK   {@code log|K|} (0 for the identity)
   * @param kDiagonal {@code diag(K)} (m values, for reliabilities), or null for all ones
   */
  public record SparseTerm(String name, List<String> levelNames, int[] levelOfRecord, List<String> effectNames,
      double[][] covariates, SparseSymmetric precision, double logDetK, double[] kDiagonal) {

    static SparseTerm of(RandomEffectTerm t) {
      Relationship rel = t.relationship();
      if (rel == null) {
        return new SparseTerm(t.group(), t.levelNames(), t.level(), t.effects(), t.z(), null, 0, null);
      }
      NumeratorRelationship nr = rel.pedigree();
      int[] animal = new int[t.level().length];
      for (int i = 0; i < animal.length; i++) {
        animal[i] = t.relIndex()[t.level()[i]];
      }
      double[] f = nr.inbreeding();
      double[] diag = new double[f.length];
      for (int k = 0; k < f.length; k++) {
        diag[k] = 1 + f[k];
      }
      return new SparseTerm(t.group(), rel.ids(), animal, t.effects(), t.z(), nr.inverse(), nr.logDeterminant(), diag);
    }

    public int levels() {
      return levelNames.size();
    }

    /** d, the number of correlated effects per level. */
    public int dimension() {
      return effectNames.size();
    }

    double covariate(int a, int i) {
      return covariates[a][i];
    }

    double kDiagonal(int level) {
      return kDiagonal == null ? 1.0 : kDiagonal[level];
    }
  }

  /** Key of the upper-triangle entry of the unordered pair (a, b): column in the high word. */
  private static long key(int a, int b) {
    int row = Math.min(a, b);
    int col = Math.max(a, b);
    return ((long) col << 32) | row;
  }

  private int maxRowLength() {
    int s = p;
    for (SparseTerm t : terms) {
      s += t.dimension();
    }
    return s;
  }

  /**
   * An elimination order without fill when there is one term without a relationship matrix (one grouping
   * factor, with or without slopes): its levels' d×d blocks of C are independent of each other and share
   * only the fixed effects, so each level's effects, then the fixed effects last, fill nothing — the order AMD
   * finds, known here without running it. Null (AMD) otherwise: crossed or nested factors and pedigrees.
   */
  private int[] withoutFill() {
    if (terms.size() != 1 || terms.get(0).precision() != null) {
      return null;
    }
    int m = terms.get(0).levels();
    int d = terms.get(0).dimension();
    int[] order = new int[q];
    int k = 0;
    for (int l = 0; l < m; l++) {
      for (int a = 0; a < d; a++) {
        order[k++] = offset[0] + a * m + l;
      }
    }
    for (int j = 0; j < p; j++) {
      order[k++] = j;
    }
    return order;
  }

  /**
   * Numbers the kinds of record (see {@link #kindOfRecord}) in order of first appearance into {@code kindOf};
   * returns their count. One term: the kind is the level (or no level); several: the tuple of levels.
   */
  private int recordKinds(int[] kindOf) {
    int kinds = 0;
    if (terms.size() == 1) {
      int[] level = terms.get(0).levelOfRecord();
      int[] kindOfLevel = new int[terms.get(0).levels() + 1]; // slot 0: records the term does not apply to
      Arrays.fill(kindOfLevel, -1);
      for (int i = 0; i < n; i++) {
        int l = level[i] + 1;
        if (kindOfLevel[l] < 0) {
          kindOfLevel[l] = kinds++;
        }
        kindOf[i] = kindOfLevel[l];
      }
      return kinds;
    }
    java.util.Map<LevelTuple, Integer> known = new java.util.HashMap<>();
    for (int i = 0; i < n; i++) {
      int[] levels = new int[terms.size()];
      for (int t = 0; t < levels.length; t++) {
        levels[t] = terms.get(t).levelOfRecord()[i];
      }
      Integer k = known.putIfAbsent(new LevelTuple(levels), kinds);
      kindOf[i] = k == null ? kinds++ : k;
    }
    return kinds;
  }

  /** A record's level of each term, as a map key. */
  private record LevelTuple(int[] levels) {
    @Override
    public boolean equals(Object o) {
      return o instanceof LevelTuple other && Arrays.equals(levels, other.levels);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(levels);
    }
  }

  /** {colStart, columns} of each kind's unknowns, from its first record ({@link #rowColumns}). */
  private int[][] kindColumns(int kinds) {
    int[] first = new int[kinds];
    Arrays.fill(first, -1);
    for (int i = 0; i < n; i++) {
      if (first[kindOfRecord[i]] < 0) {
        first[kindOfRecord[i]] = i;
      }
    }
    int[] cols = new int[maxRowLength()];
    int[] start = new int[kinds + 1];
    int[] all = new int[kinds * cols.length];
    for (int k = 0; k < kinds; k++) {
      int s = rowColumns(first[k], cols);
      System.arraycopy(cols, 0, all, start[k], s);
      start[k + 1] = start[k] + s;
    }
    return new int[][] {start, Arrays.copyOf(all, start[kinds])};
  }

  /** Start of each kind's entries in {@link #kindEntry}: {@code Σ_{v=p}^{s−1} (v + 1)} per kind. */
  private int[] kindEntryStarts(int kinds) {
    int[] start = new int[kinds + 1];
    long total = 0;
    for (int k = 0; k < kinds; k++) {
      int s = kindColumnStart[k + 1] - kindColumnStart[k];
      for (int v = p; v < s; v++) {
        total += v + 1;
      }
      if (total > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException("too many record entries for one array: " + total);
      }
      start[k + 1] = (int) total;
    }
    return start;
  }

  /** The unknowns record i touches, ascending: the p fixed effects, then d per term that applies. */
  private int rowColumns(int i, int[] cols) {
    int s = 0;
    for (int j = 0; j < p; j++) {
      cols[s++] = j;
    }
    for (int t = 0; t < terms.size(); t++) {
      SparseTerm term = terms.get(t);
      int level = term.levelOfRecord()[i];
      if (level >= 0) {
        for (int b = 0; b < term.dimension(); b++) {
          cols[s++] = offset[t] + b * term.levels() + level;
        }
      }
    }
    return s;
  }

  /**
   * Row i of W = [X Z*] over {@link #rowColumns} into {@code vals} from {@code at}: X's values, then
   * {@code Σ_{a≥b} c_a[i] Λ_ab} per effect b; returns its length.
   */
  private int rowValues(int i, double[][] lambda, double[] vals, int at) {
    int s = at;
    double[] x = model.x();
    for (int j = 0; j < p; j++) {
      vals[s++] = x[j * n + i];
    }
    for (int t = 0; t < termLevel.length; t++) {
      if (termLevel[t][i] >= 0) {
        double[][] c = termCovariates[t];
        double[] lt = lambda[t];
        int d = c.length;
        for (int b = 0; b < d; b++) {
          double z = 0;
          for (int a = b; a < d; a++) {
            z += c[a][i] * lt[a * d + b];
          }
          vals[s++] = z;
        }
      }
    }
    return s - at;
  }

  /** {@link #kindEntry}'s pairs located in the selected inverse, once (binary searches per evaluation otherwise). */
  private int[] kindInverseEntries(SparseCholesky.SelectedInverse inv) {
    if (kindInverseEntry == null) {
      int[] out = new int[kindEntry.length];
      for (int k = 0; k + 1 < kindColumnStart.length; k++) {
        int c0 = kindColumnStart[k];
        int s = kindColumnStart[k + 1] - c0;
        int e = kindEntryStart[k];
        for (int v = p; v < s; v++) {
          for (int u = 0; u <= v; u++) {
            out[e++] = inv.indexOf(kindColumn[c0 + u], kindColumn[c0 + v]);
          }
        }
      }
      kindInverseEntry = out;
    }
    return kindInverseEntry;
  }

  private int position(int a, int b) {
    int row = Math.min(a, b);
    int col = Math.max(a, b);
    int pos = Arrays.binarySearch(rowIndex, colStart[col], colStart[col + 1], row);
    if (pos < 0) {
      throw new IllegalStateException("entry (" + row + ", " + col + ") missing from the MME pattern");
    }
    return pos;
  }

  @Override
  public int parameters() {
    return model.parameters();
  }

  @Override
  public int samples() {
    return n;
  }

  /** Number of unknowns of the mixed-model equations (fixed effects plus all random levels). */
  public int unknowns() {
    return q;
  }

  /** Stored entries of C's upper triangle and, after an evaluation, of its Cholesky factor (fill included). */
  public String sparsity() {
    // Not String.format: a short fit's set-up runs this on the side thread the fitting thread waits for, and a
    // first format there costs ~13 ms (Formatter, the root locale's data).
    return new StringBuilder().append(q).append(" unknowns, ").append(colStart[q])
        .append(" entries in C's upper triangle, ").append(chol.factorEntries()).append(" in L").toString();
  }

  /** REML and ML log-likelihoods at θ, without 2π terms (GCTA's convention); NaN when V is not PD. */
  public record LogLikelihoods(double reml, double ml, int n, int p) {
    /** R/lme4's REML log-likelihood: {@code ℓ_REML − ½(n − p) log 2π}. */
    public double remlWithConstants() {
      return reml - 0.5 * (n - p) * Math.log(2 * Math.PI);
    }

    /** R/lme4's ML log-likelihood (logLik(REML = FALSE)): {@code ℓ_ML − ½ n log 2π}. */
    public double mlWithConstants() {
      return ml - 0.5 * n * Math.log(2 * Math.PI);
    }
  }

  public LogLikelihoods logLikelihoods(double[] theta) {
    Pass s = pass(theta);
    return s == null ? new LogLikelihoods(Double.NaN, Double.NaN, n, p)
        : new LogLikelihoods(s.logLReml, s.logLMl, n, p);
  }

  @Override
  public Evaluation evaluate(double[] theta) {
    Pass s = pass(theta);
    if (s == null) {
      return new Evaluation(false, Double.NEGATIVE_INFINITY, null, null, null, null, null, null);
    }
    Pass forDerivatives = s;
    if (!s.allPositiveDefinite) {
      forDerivatives = pass(awayFromBoundary(theta));
      if (forDerivatives == null || !forDerivatives.allPositiveDefinite) {
        return new Evaluation(false, Double.NEGATIVE_INFINITY, null, null, null, null, null, null);
      }
    }
    double[][] d = forDerivatives.derivatives();
    double[] py = new double[n];
    for (int i = 0; i < n; i++) {
      py[i] = s.ehat[i] / s.r[i];
    }
    double logL = criterion == Criterion.ML ? s.logLMl : s.logLReml;
    return new Evaluation(true, logL, d[0], d[1], d[2], py, s.beta(), s.betaCovariance());
  }

  /** θ with each singular Σ_t replaced by Σ_t + δI (see class doc). */
  private double[] awayFromBoundary(double[] theta) {
    double[] out = theta.clone();
    double scale = 0;
    int k0 = model.firstResidualParameter();
    for (int g = k0; g < theta.length; g++) {
      scale = Math.max(scale, theta[g]);
    }
    double delta = BOUNDARY_DELTA * scale;
    for (int t = 0; t < terms.size(); t++) {
      int d = terms.get(t).dimension();
      double[] l = lowerFactor(sigma(theta, t), d);
      if (l == null || !isPd(l, d)) {
        for (int a = 0; a < d; a++) {
          out[param[t][a * d + a]] += delta;
        }
      }
    }
    return out;
  }

  /**
   * Solutions at θ (variances known or estimated): BLUEs with {@code Cov(β̂) = C⁻¹_ββ}, and for every
   * level of every term (animals without records included) the BLUP {@code û = (Λ ⊗ I) v̂} and its
   * prediction error variance {@code PEV = Var(u − û) = (Λ ⊗ I) C^{vv} (Λ ⊗ I)ᵀ} on the diagonal
   * (Henderson 1975), read from the sparse inverse subset; reliability {@code 1 − PEV/(Σ_aa K_ll)}.
   * Null when θ is outside the parameter space.
   */
  public Solutions solutions(double[] theta) {
    Pass s = pass(theta);
    if (s == null) {
      return null;
    }
    List<TermSolution> out = new ArrayList<>();
    for (int t = 0; t < terms.size(); t++) {
      SparseTerm term = terms.get(t);
      int m = term.levels();
      int d = term.dimension();
      double[] lam = s.lambda[t];
      double[] sig = sigma(theta, t);
      double[][] blup = new double[d][m];
      double[][] pev = new double[d][m];
      double[][] rel = new double[d][m];
      for (int a = 0; a < d; a++) {
        for (int c = 0; c <= a; c++) {
          double w = lam[a * d + c];
          if (w == 0) {
            continue;
          }
          double[] vc = s.vhat(t, c);
          for (int l = 0; l < m; l++) {
            blup[a][l] += w * vc[l];
          }
          for (int e = 0; e <= a; e++) {
            double we = lam[a * d + e];
            if (we == 0) {
              continue;
            }
            int rc = offset[t] + c * m;
            int re = offset[t] + e * m;
            for (int l = 0; l < m; l++) {
              pev[a][l] += w * we * s.inv.get(rc + l, re + l);
            }
          }
        }
        for (int l = 0; l < m; l++) {
          double prior = sig[a * d + a] * term.kDiagonal(l);
          rel[a][l] = prior > 0 ? 1 - pev[a][l] / prior : Double.NaN;
        }
      }
      out.add(new TermSolution(term, blup, pev, rel));
    }
    return new Solutions(s.beta(), s.betaCovariance(), out, s.logLReml);
  }

  /** BLUEs and BLUPs at θ (see {@link #solutions}). */
  public record Solutions(double[] beta, double[] betaCovariance, List<TermSolution> terms, double logL) {}

  /** Per effect {@code a} and level {@code l} of one term: BLUP, PEV and reliability ({@code [a][l]}). */
  public record TermSolution(SparseTerm term, double[][] blup, double[][] pev, double[][] reliability) {}

  @Override
  public double[] observedInformation(double[] theta) {
    return null;
  }

  /** Σ_t (d×d, row-major, symmetric) from θ. */
  private double[] sigma(double[] theta, int t) {
    int d = terms.get(t).dimension();
    double[] s = new double[d * d];
    for (int a = 0; a < d; a++) {
      for (int b = 0; b <= a; b++) {
        double v = theta[param[t][a * d + b]];
        s[a * d + b] = v;
        s[b * d + a] = v;
      }
    }
    return s;
  }

  /**
   * Lower Cholesky factor of a positive semi-definite Σ (row-major); a zero pivot leaves its column
   * zero (that effect has no variance). Null when Σ is not positive semi-definite.
   */
  static double[] lowerFactor(double[] s, int d) {
    double[] l = new double[d * d];
    for (int j = 0; j < d; j++) {
      double diag = s[j * d + j];
      for (int k = 0; k < j; k++) {
        diag -= l[j * d + k] * l[j * d + k];
      }
      double tol = 1e-14 * Math.abs(s[j * d + j]);
      if (diag < -tol) {
        return null;
      }
      if (diag <= tol) {
        for (int i = j + 1; i < d; i++) {
          double off = s[i * d + j];
          for (int k = 0; k < j; k++) {
            off -= l[i * d + k] * l[j * d + k];
          }
          if (Math.abs(off) > 1e-12 * Math.sqrt(Math.abs(s[i * d + i] * s[j * d + j])) + 1e-300) {
            return null;
          }
        }
        continue;
      }
      double ljj = Math.sqrt(diag);
      l[j * d + j] = ljj;
      for (int i = j + 1; i < d; i++) {
        double off = s[i * d + j];
        for (int k = 0; k < j; k++) {
          off -= l[i * d + k] * l[j * d + k];
        }
        l[i * d + j] = off / ljj;
      }
    }
    return l;
  }

  private static boolean isPd(double[] l, int d) {
    for (int j = 0; j < d; j++) {
      if (!(l[j * d + j] > 0)) {
        return false;
      }
    }
    return true;
  }

  /** Inverse of a lower-triangular d×d matrix with positive diagonal (row-major). */
  static double[] invertLower(double[] l, int d) {
    double[] inv = new double[d * d];
    for (int j = 0; j < d; j++) {
      inv[j * d + j] = 1.0 / l[j * d + j];
      for (int i = j + 1; i < d; i++) {
        double s = 0;
        for (int k = j; k < i; k++) {
          s += l[i * d + k] * inv[k * d + j];
        }
        inv[i * d + j] = -s / l[i * d + i];
      }
    }
    return inv;
  }

  /**
   * The latest pass: the fitter asks again at θ̂ (log-likelihoods with R's constants, BLUPs and PEVs) right
   * after the optimizer's last evaluation there. Only the latest, so that C's factor, which a pass's
   * derivatives solve with, is always that pass's.
   */
  private Pass latest;

  /** {@link #compute} at θ, or the latest pass when it was at the same θ. */
  private Pass pass(double[] theta) {
    if (latest == null || !Arrays.equals(latest.theta, theta)) {
      latest = compute(theta);
    }
    return latest;
  }

  /** Factorizes C at θ and solves the equations; null when θ is outside the parameter space or C is not PD. */
  private Pass compute(double[] theta) {
    if (theta.length != model.parameters()) {
      throw new IllegalArgumentException("θ has " + theta.length + " entries, the model " + model.parameters());
    }
    CompensatedSum logDetRSum = new CompensatedSum();
    double[] r = residualVariances(theta, logDetRSum);
    if (r == null) {
      return null;
    }
    double logDetR = logDetRSum.value();
    double[][] lambda = new double[terms.size()][];
    boolean allPd = true;
    double logDetK = 0;
    for (int t = 0; t < terms.size(); t++) {
      int d = terms.get(t).dimension();
      lambda[t] = lowerFactor(sigma(theta, t), d);
      if (lambda[t] == null) {
        return null;
      }
      allPd &= isPd(lambda[t], d);
      logDetK += d * terms.get(t).logDetK();
    }
    double[] c = chol.values();
    Arrays.fill(c, 0.0);
    double[] rhs = new double[q];
    // W's rows, worked out once here and read by the pass's later sums over the records ({@link Pass#rows}).
    int stride = maxRowLength();
    double[] rows = new double[n * stride];
    double[] xx = new double[p * p]; // XᵀR⁻¹X densely, placed once below
    assemble(lambda, r, stride, rows, c, rhs, xx);
    for (int v = 0; v < p; v++) {
      for (int u = 0; u <= v; u++) {
        c[position(u, v)] += xx[u + v * p];
      }
    }
    for (int t = 0; t < terms.size(); t++) {
      SparseTerm term = terms.get(t);
      int m = term.levels();
      for (int a = 0; a < term.dimension(); a++) {
        int base = offset[t] + a * m;
        if (term.precision() == null) {
          for (int k = 0; k < m; k++) {
            c[colStart[base + k + 1] - 1] += 1.0; // the diagonal: the last entry of its column (rows ascending)
          }
        } else {
          term.precision().forEachLower((k, l, val) -> c[position(base + k, base + l)] += val);
        }
      }
    }
    if (!chol.factor()) {
      return null;
    }
    double[] sol = rhs.clone();
    chol.solve(sol);
    // yᵀPy = yᵀR⁻¹ê = êᵀR⁻¹ê + Σ_t,a v̂_aᵀK⁻¹v̂_a (from C ŝ = WᵀR⁻¹y): sums of positive terms, where
    // yᵀR⁻¹ê adds n terms of both signs much larger than the result (noise of 1e-6 at n = 50,000).
    CompensatedSum yPySum = new CompensatedSum();
    double[] ehat = residuals(rows, stride, sol, r, yPySum);
    for (int t = 0; t < terms.size(); t++) {
      SparseTerm term = terms.get(t);
      int m = term.levels();
      for (int a = 0; a < term.dimension(); a++) {
        int base = offset[t] + a * m;
        if (term.precision() == null) {
          for (int k = 0; k < m; k++) {
            yPySum.add(sol[base + k] * sol[base + k]);
          }
        } else {
          double[] va = Arrays.copyOfRange(sol, base, base + m);
          double[] kv = term.precision().multiply(va);
          for (int k = 0; k < m; k++) {
            yPySum.add(va[k] * kv[k]);
          }
        }
      }
    }
    double yPy = yPySum.value();
    SparseCholesky.SelectedInverse inv = chol.selectedInverse();
    double[] covBeta = new double[p * p];
    for (int a = 0; a < p; a++) {
      for (int b = 0; b < p; b++) {
        covBeta[a + b * p] = inv.get(a, b);
      }
    }
    double logDetCovBeta = logDetSpd(covBeta, p);
    double logDetC = chol.logDeterminant();
    double reml = -0.5 * (logDetR + logDetK + logDetC + yPy);
    double ml = -0.5 * (logDetR + logDetK + logDetC + logDetCovBeta + yPy);
    return new Pass(theta.clone(), r, lambda, rows, allPd, sol, ehat, inv, covBeta, reml, ml);
  }

  // compute's loops over the records, each a method of its own: a short fit runs each once or twice, and inside
  // one large method the JIT compiled that whole method again on the stack for each of them.

  /** Each record's residual variance {@code σ²_g/w}, their logs added to {@code logDetR}; null when a σ²_g ≤ 0. */
  private double[] residualVariances(double[] theta, CompensatedSum logDetR) {
    int k0 = model.firstResidualParameter();
    int[] group = model.residualGroup();
    double[] r = new double[n];
    for (int i = 0; i < n; i++) {
      double s2 = theta[k0 + group[i]];
      if (!(s2 > 0)) {
        return null;
      }
      r[i] = s2 / weights[i];
      logDetR.add(Math.log(r[i]));
    }
    return r;
  }

  /** W's rows into {@code rows}; WᵀR⁻¹W's record sums into C's values ({@code c}) and {@code xx}, WᵀR⁻¹y into {@code rhs}. */
  private void assemble(double[][] lambda, double[] r, int stride, double[] rows, double[] c, double[] rhs,
      double[] xx) {
    double[] y = model.y();
    for (int i = 0; i < n; i++) {
      int kind = kindOfRecord[i];
      int c0 = kindColumnStart[kind];
      int r0 = i * stride;
      int s = rowValues(i, lambda, rows, r0);
      double ri = 1.0 / r[i];
      int e = kindEntryStart[kind];
      for (int v = 0; v < s; v++) {
        double wv = rows[r0 + v] * ri;
        rhs[kindColumn[c0 + v]] += wv * y[i];
        if (v < p) {
          for (int u = 0; u <= v; u++) {
            xx[u + v * p] += wv * rows[r0 + u];
          }
        } else {
          for (int u = 0; u <= v; u++) {
            c[kindEntry[e++]] += wv * rows[r0 + u];
          }
        }
      }
    }
  }

  /** {@code ê = y − W ŝ}; each record's {@code ê²/r} added to {@code yPy}. */
  private double[] residuals(double[] rows, int stride, double[] sol, double[] r, CompensatedSum yPy) {
    double[] y = model.y();
    double[] ehat = new double[n];
    for (int i = 0; i < n; i++) {
      int kind = kindOfRecord[i];
      int c0 = kindColumnStart[kind];
      int s = kindColumnStart[kind + 1] - c0;
      int r0 = i * stride;
      double fit = 0;
      for (int v = 0; v < s; v++) {
        fit += rows[r0 + v] * sol[kindColumn[c0 + v]];
      }
      ehat[i] = y[i] - fit;
      yPy.add(ehat[i] * ehat[i] / r[i]);
    }
    return ehat;
  }

  private static double logDetSpd(double[] a, int m) {
    double[] l = a.clone();
    if (m == 0) {
      return 0;
    }
    if (!org.lmmspark.engine.linalg.Blas.dpotrfLower(m, l)) {
      return Double.NaN;
    }
    double s = 0;
    for (int i = 0; i < m; i++) {
      s += 2 * Math.log(l[i + i * m]);
    }
    return s;
  }

  /** One factorization at θ and what follows from it. */
  private final class Pass {
    final double[] theta;
    final double[] r;
    final double[][] lambda;
    /** W = [X Z*]'s rows, {@code Z* = Z(Λ ⊗ I)}: record i's {@link #rowValues} from {@code i · maxRowLength()}. */
    final double[] rows;
    final boolean allPositiveDefinite;
    final double[] sol;
    final double[] ehat;
    final SparseCholesky.SelectedInverse inv;
    final double[] covBeta;
    final double logLReml;
    final double logLMl;

    Pass(double[] theta, double[] r, double[][] lambda, double[] rows, boolean allPd, double[] sol, double[] ehat,
        SparseCholesky.SelectedInverse inv, double[] covBeta, double reml, double ml) {
      this.theta = theta;
      this.r = r;
      this.lambda = lambda;
      this.rows = rows;
      this.allPositiveDefinite = allPd;
      this.sol = sol;
      this.ehat = ehat;
      this.inv = inv;
      this.covBeta = covBeta;
      this.logLReml = reml;
      this.logLMl = ml;
    }

    double[] beta() {
      return Arrays.copyOf(sol, p);
    }

    double[] betaCovariance() {
      return covBeta.clone();
    }

    /** {@code v̂_a} of term t (m values). */
    double[] vhat(int t, int a) {
      int m = terms.get(t).levels();
      int base = offset[t] + a * m;
      return Arrays.copyOfRange(sol, base, base + m);
    }

    /** {score, AI (column-major), yᵀPV_kPy}; needs every Σ_t positive definite. */
    double[][] derivatives() {
      int np = model.parameters();
      double[] score = new double[np];
      double[] yPVPy = new double[np];
      double[][] f = new double[np][];
      boolean ml = criterion == Criterion.ML;
      // ML: S = C⁻¹[:, β] (p solves) and Cov(β̂)⁻¹ = XᵀV⁻¹X.
      double[][] sb = ml ? new double[p][] : null;
      double[] covInv = ml ? org.lmmspark.engine.reml.SmallMatrices.invertSpd(covBeta, p) : null;
      if (ml) {
        for (int j = 0; j < p; j++) {
          sb[j] = new double[q];
          sb[j][j] = 1;
          chol.solve(sb[j]);
        }
      }
      for (int t = 0; t < terms.size(); t++) {
        SparseTerm term = terms.get(t);
        int m = term.levels();
        int d = term.dimension();
        int off = offset[t];
        double[] tr = new double[d * d];
        double[] quad = new double[d * d];
        double[][] kv = new double[d][];
        for (int a = 0; a < d; a++) {
          double[] va = vhat(t, a);
          kv[a] = term.precision() == null ? va : term.precision().multiply(va);
        }
        for (int a = 0; a < d; a++) {
          for (int b = 0; b <= a; b++) {
            int ra = off + a * m;
            int rb = off + b * m;
            double tab = 0;
            if (term.precision() == null) {
              for (int k = 0; k < m; k++) {
                tab += inv.get(ra + k, rb + k);
              }
            } else {
              double[] acc = new double[1];
              term.precision().forEachLower((k, l, val) -> {
                acc[0] += val * inv.get(ra + k, rb + l);
                if (k != l) {
                  acc[0] += val * inv.get(ra + l, rb + k);
                }
              });
              tab = acc[0];
            }
            double qab = dot(vhat(t, a), kv[b]);
            tr[a * d + b] = tab;
            tr[b * d + a] = tab;
            quad[a * d + b] = qab;
            quad[b * d + a] = qab;
          }
        }
        double[] li = invertLower(lambda[t], d);
        double[] mm = new double[d * d];
        for (int a = 0; a < d; a++) {
          for (int b = 0; b < d; b++) {
            mm[a * d + b] = (a == b ? m : 0) - tr[a * d + b] - quad[a * d + b];
          }
        }
        double[] h = congruence(li, mm, d);
        double[] hq = congruence(li, quad, d);
        double[] hx = ml ? congruence(li, fixedEffectTrace(t, sb, covInv), d) : null;
        // s_c = Σ_e (Λ⁻ᵀ)_ce v̂_e = Σ_e Λ⁻¹_ec v̂_e: Z_tᵀPy = (Λ⁻ᵀ ⊗ K⁻¹) v̂ up to K⁻¹, so (E ⊗ K) Z_tᵀPy = (E ⊗ I) s.
        double[][] s = new double[d][m];
        for (int cc = 0; cc < d; cc++) {
          for (int e = cc; e < d; e++) {
            double w = li[e * d + cc];
            if (w != 0) {
              double[] ve = vhat(t, e);
              for (int l = 0; l < m; l++) {
                s[cc][l] += w * ve[l];
              }
            }
          }
        }
        int[] level = term.levelOfRecord();
        for (int a = 0; a < d; a++) {
          for (int b = 0; b <= a; b++) {
            int k = param[t][a * d + b];
            double factor = a == b ? 1 : 2;
            score[k] = -0.5 * factor * (h[a * d + b] + (ml ? hx[a * d + b] : 0));
            yPVPy[k] = factor * hq[a * d + b];
            f[k] = termScoreRows(level, term.covariates()[a], term.covariates()[b], s[a], s[b], a == b);
          }
        }
      }
      int k0 = model.firstResidualParameter();
      int stride = maxRowLength();
      double[] invValues = inv.storedValues();
      double[] trace = new double[model.residualGroupNames().size()];
      for (int g = 0; g < model.residualGroupNames().size(); g++) {
        f[k0 + g] = new double[n];
      }
      double[][] qRows = ml ? new double[n][] : null; // rows of V⁻¹X Cov(β̂) = R⁻¹W S
      residualDerivatives(stride, invValues, trace, f, yPVPy, qRows, sb, covInv);
      for (int g = 0; g < trace.length; g++) {
        score[k0 + g] = -0.5 * (trace[g] - yPVPy[k0 + g]);
      }
      // AI_kl = ½ (f_kᵀR⁻¹f_l − b_kᵀC⁻¹b_l), b_k = WᵀR⁻¹f_k.
      double[][] b = timesWRinv(f, stride);
      double[][] x = new double[np][];
      for (int k = 0; k < np; k++) {
        x[k] = b[k].clone();
        chol.solve(x[k]);
      }
      double[][] qf = new double[np][p]; // ML: (V⁻¹X Cov(β̂))ᵀ f_k
      if (ml) {
        for (int k = 0; k < np; k++) {
          for (int i = 0; i < n; i++) {
            if (f[k][i] != 0) {
              for (int j = 0; j < p; j++) {
                qf[k][j] += qRows[i][j] * f[k][i];
              }
            }
          }
        }
      }
      double[] ai = new double[np * np];
      for (int k = 0; k < np; k++) {
        for (int l = 0; l <= k; l++) {
          double frf = overResiduals(f[k], f[l], r);
          double v = 0.5 * (frf - dot(b[k], x[l]) + (ml ? bilinear(qf[k], covInv, qf[l], p) : 0));
          ai[k + l * np] = v;
          ai[l + k * np] = v;
        }
      }
      return new double[][] {score, ai, yPVPy};
    }

    // derivatives' loops over the records, each a method of its own: a short fit runs each once or twice, and
    // inside one large method the JIT compiled that whole method again on the stack for each of them.

    /**
     * The residual parameters' part of the score: per record, the trace term {@code (1/r − w_iᵀC⁻¹w_i/r²)/w} into
     * {@code trace}, {@code ê²/(r²w)} into {@code yPVPy} and {@code f_k = ê/σ²_g}; ML: the rows of V⁻¹X Cov(β̂).
     */
    private void residualDerivatives(int stride, double[] invValues, double[] trace, double[][] f, double[] yPVPy,
        double[][] qRows, double[][] sb, double[] covInv) {
      boolean ml = qRows != null;
      int k0 = model.firstResidualParameter();
      int[] inverseEntry = kindInverseEntries(inv);
      for (int i = 0; i < n; i++) {
        int g = model.residualGroup()[i];
        int kind = kindOfRecord[i];
        int c0 = kindColumnStart[kind];
        int s = kindColumnStart[kind + 1] - c0;
        int r0 = i * stride;
        double wq = 0; // w_iᵀC⁻¹w_i, the fixed-effect block from Cov(β̂) (dense), the rest from the inverse subset
        for (int v = 0; v < p; v++) {
          wq += rows[r0 + v] * rows[r0 + v] * covBeta[v + v * p];
          for (int u = 0; u < v; u++) {
            wq += 2 * rows[r0 + u] * rows[r0 + v] * covBeta[u + v * p];
          }
        }
        int e = kindEntryStart[kind];
        for (int v = p; v < s; v++) {
          for (int u = 0; u <= v; u++) {
            wq += (u == v ? 1 : 2) * rows[r0 + u] * rows[r0 + v] * invValues[inverseEntry[e++]];
          }
        }
        double w = weights[i];
        trace[g] += (1.0 / r[i] - wq / (r[i] * r[i])) / w;
        if (ml) {
          double[] qi = new double[p];
          for (int j = 0; j < p; j++) {
            double sum = 0;
            for (int v = 0; v < s; v++) {
              sum += rows[r0 + v] * sb[j][kindColumn[c0 + v]];
            }
            qi[j] = sum / r[i];
          }
          qRows[i] = qi;
          trace[g] += quadratic(qi, covInv, p) / w;
        }
        yPVPy[k0 + g] += ehat[i] * ehat[i] / (r[i] * r[i] * w);
        f[k0 + g][i] = ehat[i] / theta[k0 + g];
      }
    }

    /** {@code b_k = WᵀR⁻¹f_k} for each k. */
    private double[][] timesWRinv(double[][] f, int stride) {
      int np = f.length;
      double[][] b = new double[np][q];
      for (int i = 0; i < n; i++) {
        int kind = kindOfRecord[i];
        int c0 = kindColumnStart[kind];
        int s = kindColumnStart[kind + 1] - c0;
        int r0 = i * stride;
        for (int k = 0; k < np; k++) {
          double fr = f[k][i] / r[i];
          if (fr != 0) {
            double[] bk = b[k];
            for (int v = 0; v < s; v++) {
              bk[kindColumn[c0 + v]] += rows[r0 + v] * fr;
            }
          }
        }
      }
      return b;
    }

    /** {@code f_kᵀR⁻¹f_l}. */
    private double overResiduals(double[] fk, double[] fl, double[] r) {
      double frf = 0;
      for (int i = 0; i < n; i++) {
        frf += fk[i] * fl[i] / r[i];
      }
      return frf;
    }

    /**
     * ML: {@code g_ab = tr(S_aᵀK⁻¹S_b Cov(β̂)⁻¹)} over the effects a, b of term t, {@code S_a} the rows of
     * {@code C⁻¹[:, β]} for effect a; then {@code tr(V⁻¹V_kV⁻¹X Cov XᵀV⁻¹) = tr(E Λ⁻ᵀ g Λ⁻¹)}.
     */
    double[] fixedEffectTrace(int t, double[][] sb, double[] covInv) {
      SparseTerm term = terms.get(t);
      int m = term.levels();
      int d = term.dimension();
      double[][][] block = new double[d][p][]; // S_a[:, j] (m values)
      double[][][] kBlock = new double[d][p][];
      for (int a = 0; a < d; a++) {
        int base = offset[t] + a * m;
        for (int j = 0; j < p; j++) {
          block[a][j] = Arrays.copyOfRange(sb[j], base, base + m);
          kBlock[a][j] = term.precision() == null ? block[a][j] : term.precision().multiply(block[a][j]);
        }
      }
      double[] g = new double[d * d];
      for (int a = 0; a < d; a++) {
        for (int b = 0; b <= a; b++) {
          double sum = 0;
          for (int j = 0; j < p; j++) {
            for (int j2 = 0; j2 < p; j2++) {
              sum += dot(block[a][j], kBlock[b][j2]) * covInv[j2 + j * p];
            }
          }
          g[a * d + b] = sum;
          g[b * d + a] = sum;
        }
      }
      return g;
    }
  }

  /**
   * {@code f_k} of the Σ entry (a, b) of a term over the records: {@code z_a s_b(l) + z_b s_a(l)} at each record's
   * level l ({@code z_a s_a(l)} on the diagonal; 0 for a record without a level of the term).
   */
  private static double[] termScoreRows(int[] level, double[] ca, double[] cb, double[] sOfA, double[] sOfB,
      boolean diagonal) {
    double[] fk = new double[level.length];
    for (int i = 0; i < fk.length; i++) {
      int l = level[i];
      if (l >= 0) {
        fk[i] = ca[i] * sOfB[l] + (diagonal ? 0 : cb[i] * sOfA[l]);
      }
    }
    return fk;
  }

  /** {@code xᵀ A x} for a p×p column-major A. */
  private static double quadratic(double[] x, double[] a, int p) {
    return bilinear(x, a, x, p);
  }

  /** {@code xᵀ A y} for a p×p column-major A. */
  private static double bilinear(double[] x, double[] a, double[] y, int p) {
    double s = 0;
    for (int j = 0; j < p; j++) {
      for (int i = 0; i < p; i++) {
        s += x[i] * a[i + j * p] * y[j];
      }
    }
    return s;
  }

  /** {@code Aᵀ M A} for d×d row-major A, M. */
  private static double[] congruence(double[] a, double[] mm, int d) {
    double[] out = new double[d * d];
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < d; j++) {
        double s = 0;
        for (int k = 0; k < d; k++) {
          for (int l = 0; l < d; l++) {
            s += a[k * d + i] * mm[k * d + l] * a[l * d + j];
          }
        }
        out[i * d + j] = s;
      }
    }
    return out;
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  /** A growable list of longs (the pattern's keys) without boxing. */
  private static final class LongList {
    private long[] a = new long[1024];
    private int size;

    void add(long v) {
      if (size == a.length) {
        a = Arrays.copyOf(a, a.length * 2);
      }
      a[size++] = v;
    }

    /**
     * The distinct keys as a compressed-column pattern of {@code q} columns, {colStart, rowIndex}, rows
     * ascending within a column: bucketed by column (counting), then each short column sorted and its
     * repeats dropped — one pass over the keys where sorting them all as longs cost more (tens of
     * thousands of keys, once per fit).
     */
    int[][] columnPattern(int q) {
      int[] start = new int[q + 1];
      for (int e = 0; e < size; e++) {
        start[(int) (a[e] >>> 32) + 1]++;
      }
      for (int j = 0; j < q; j++) {
        start[j + 1] += start[j];
      }
      int[] rows = new int[size];
      int[] next = Arrays.copyOf(start, q);
      for (int e = 0; e < size; e++) {
        rows[next[(int) (a[e] >>> 32)]++] = (int) a[e];
      }
      int[] colStart = new int[q + 1];
      int k = 0;
      for (int j = 0; j < q; j++) {
        Arrays.sort(rows, start[j], start[j + 1]);
        colStart[j] = k;
        for (int e = start[j]; e < start[j + 1]; e++) {
          if (k == colStart[j] || rows[k - 1] != rows[e]) {
            rows[k++] = rows[e];
          }
        }
      }
      colStart[q] = k;
      return new int[][] {colStart, Arrays.copyOf(rows, k)};
    }
  }
}
