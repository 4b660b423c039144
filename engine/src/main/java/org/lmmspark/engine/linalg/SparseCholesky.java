package org.lmmspark.engine.linalg;

import edu.emory.mathcs.csparsej.tdouble.Dcs_chol;
import edu.emory.mathcs.csparsej.tdouble.Dcs_common.Dcs;
import edu.emory.mathcs.csparsej.tdouble.Dcs_common.Dcsn;
import edu.emory.mathcs.csparsej.tdouble.Dcs_common.Dcss;
import edu.emory.mathcs.csparsej.tdouble.Dcs_counts;
import edu.emory.mathcs.csparsej.tdouble.Dcs_cumsum;
import edu.emory.mathcs.csparsej.tdouble.Dcs_etree;
import edu.emory.mathcs.csparsej.tdouble.Dcs_ipvec;
import edu.emory.mathcs.csparsej.tdouble.Dcs_lsolve;
import edu.emory.mathcs.csparsej.tdouble.Dcs_ltsolve;
import edu.emory.mathcs.csparsej.tdouble.Dcs_pinv;
import edu.emory.mathcs.csparsej.tdouble.Dcs_post;
import edu.emory.mathcs.csparsej.tdouble.Dcs_pvec;
import edu.emory.mathcs.csparsej.tdouble.Dcs_schol;
import edu.emory.mathcs.csparsej.tdouble.Dcs_symperm;
import edu.emory.mathcs.csparsej.tdouble.Dcs_util;
import java.util.Arrays;

/**
 * Sparse Cholesky {@code P C Pᵀ = L Lᵀ} of a symmetric positive definite {@code n×n} matrix whose
 * sparsity pattern is fixed and whose values change: the fill-reducing ordering (approximate minimum
 * degree on {@code C + Cᵀ}) and the symbolic analysis (elimination tree, column counts) are done once
 * in the constructor, the numeric factorization by {@link #factor()} each time the values change —
 * the way lme4 (CHOLMOD), ASReml and BLUPF90 refactor the mixed-model equations per iteration.
 *
 * <p>Library: CSparseJ 1.1.1 (Maven {@code net.sourceforge.csparsej:csparsej}, LGPL 2.1), the Java
 * port of Tim Davis's CSparse (T. A. Davis, <i>Direct Methods for Sparse Linear Systems</i>, SIAM
 * 2006): {@code cs_amd} (AMD ordering), {@code cs_schol} (symbolic), {@code cs_chol} (up-looking
 * numeric Cholesky), {@code cs_lsolve}/{@code cs_ltsolve}. It is old but small and complete; EJML's
 * {@code ejml-dsparse} (0.44) has an up-looking Cholesky too but no fill-reducing ordering
 * ({@code FillReducing} offers NONE, RANDOM, IDENTITY only), which on a pedigree's {@code A⁻¹}
 * would fill the factor badly; ojAlgo and la4j have no sparse Cholesky with an ordering.
 *
 * <p>{@link #selectedInverse()} adds what CSparse lacks: the entries of {@code C⁻¹} on the pattern of
 * {@code L} (which contains the pattern of {@code C}) by the Takahashi recurrences (Takahashi, Fagan
 * &amp; Chen 1973; Erisman &amp; Tinney 1975), from {@code Z L = L⁻ᵀ} read column by column from the
 * last: for column {@code j} with off-diagonal rows {@code J},
 * {@code Z_ij = −(Σ_{k∈J} Z_ik L_kj)/L_jj} for {@code i ∈ J} and
 * {@code Z_jj = 1/L_jj² − (Σ_{k∈J} Z_jk L_kj)/L_jj}; every {@code Z_ik} needed lies in the pattern
 * because the rows of a column of L form a clique of the filled graph. Cost {@code Σ_j |J_j|²}, the
 * same order as the factorization.
 *
 * <p>Usage: fill {@link #values()} (the upper triangle, column by column, in the order of the
 * pattern given to the constructor), call {@link #factor()}, then solve or invert.
 */
public final class SparseCholesky {
  private final int n;
  private final Dcs upper;
  private final Dcss symbolic;
  private Dcsn numeric;

  /**
   * @param n          order of C
   * @param colStart   {@code n + 1} column pointers of the upper triangle (diagonal included)
   * @param rowIndex   row indices, ascending within each column, each {@code ≤} its column; every
   *                   diagonal entry present
   */
  public SparseCholesky(int n, int[] colStart, int[] rowIndex) {
    this(n, colStart, rowIndex, null);
  }

  /**
   * As above, eliminating the columns in a given order instead of AMD's: for a caller that knows an
   * order without fill from the matrix's structure (independent blocks, then the columns they all share),
   * which AMD would find too, at the cost of running it (the larger part of the symbolic analysis of a
   * small matrix, and CSparse's AMD classes loaded for one short fit).
   *
   * @param order {@code order[k]} is the column eliminated k-th (a permutation of 0…n−1), or null for AMD
   */
  public SparseCholesky(int n, int[] colStart, int[] rowIndex, int[] order) {
    if (colStart.length != n + 1) {
      throw new IllegalArgumentException("colStart has " + colStart.length + " entries for n = " + n);
    }
    for (int j = 0; j < n; j++) {
      int last = colStart[j + 1] - 1;
      if (last < colStart[j] || rowIndex[last] != j) {
        throw new IllegalArgumentException("column " + j + " lacks its diagonal entry (or rows are not ascending)");
      }
    }
    this.n = n;
    int nnz = colStart[n];
    upper = Dcs_util.cs_spalloc(n, n, Math.max(nnz, 1), true, false);
    System.arraycopy(colStart, 0, upper.p, 0, n + 1);
    System.arraycopy(rowIndex, 0, upper.i, 0, nnz);
    if (order != null && order.length != n) {
      throw new IllegalArgumentException("order has " + order.length + " entries for n = " + n);
    }
    symbolic = order == null ? Dcs_schol.cs_schol(1, upper) : symbolicInOrder(upper, order);
    if (symbolic == null) {
      throw new IllegalStateException("symbolic analysis failed for a " + n + "×" + n + " pattern");
    }
  }

  /**
   * {@code cs_schol}'s steps with the given order in place of AMD's: its inverse permutation, the pattern
   * of {@code P C Pᵀ}, its elimination tree, postorder and the column counts of L. Null when {@code order}
   * is not a permutation.
   */
  private static Dcss symbolicInOrder(Dcs c, int[] order) {
    int n = c.n;
    boolean[] seen = new boolean[n];
    for (int k : order) {
      if (k < 0 || k >= n || seen[k]) {
        return null;
      }
      seen[k] = true;
    }
    Dcss s = new Dcss();
    s.pinv = Dcs_pinv.cs_pinv(order, n);
    Dcs permuted = Dcs_symperm.cs_symperm(c, s.pinv, false);
    s.parent = Dcs_etree.cs_etree(permuted, false);
    int[] post = Dcs_post.cs_post(s.parent, n);
    int[] counts = Dcs_counts.cs_counts(permuted, s.parent, post, false);
    s.cp = new int[n + 1];
    s.lnz = Dcs_cumsum.cs_cumsum(s.cp, counts, n);
    s.unz = s.lnz;
    return s.lnz >= 0 ? s : null;
  }

  public int size() {
    return n;
  }

  /** The values of the upper triangle, aligned with the pattern; overwrite them before {@link #factor()}. */
  public double[] values() {
    return upper.x;
  }

  /** Number of stored entries of L (fill included), from the symbolic analysis. */
  public int factorEntries() {
    return symbolic.lnz; // the column counts of the symbolic analysis: known before the first factorization
  }

  /** Numeric factorization of the current values; false when C is not positive definite. */
  public boolean factor() {
    numeric = Dcs_chol.cs_chol(upper, symbolic);
    return numeric != null;
  }

  /** {@code log|C| = 2 Σ log L_jj}. */
  public double logDeterminant() {
    Dcs l = numeric.L;
    CompensatedSum s = new CompensatedSum();
    for (int j = 0; j < n; j++) {
      s.add(Math.log(l.x[l.p[j]])); // the diagonal is the first entry of each column (up-looking order)
    }
    return 2 * s.value();
  }

  /** {@code b ← C⁻¹ b}. */
  public void solve(double[] b) {
    double[] work = new double[n];
    Dcs_ipvec.cs_ipvec(symbolic.pinv, b, work, n);
    Dcs_lsolve.cs_lsolve(numeric.L, work);
    Dcs_ltsolve.cs_ltsolve(numeric.L, work);
    Dcs_pvec.cs_pvec(symbolic.pinv, work, b, n);
  }

  /** The entries of {@code C⁻¹} on the pattern of the factor (Takahashi recurrences; see class doc). */
  public SelectedInverse selectedInverse() {
    Dcs l = numeric.L;
    int[] lp = l.p;
    int[] li = l.i;
    double[] lx = l.x;
    double[] z = new double[lp[n]];
    double[] acc = new double[n];
    for (int j = n - 1; j >= 0; j--) {
      int d = lp[j];
      int end = lp[j + 1];
      double ljj = lx[d];
      int r = end - d - 1;
      Arrays.fill(acc, 0, r, 0.0);
      // Σ_{k∈J} Z_ik L_kj for every i ∈ J: walk the upper triangle of the clique J × J once, the
      // column of J[s] holding rows J[s..r-1] in ascending order.
      for (int s = 0; s < r; s++) {
        int col = li[d + 1 + s];
        double ls = lx[d + 1 + s];
        int ptr = lp[col];
        for (int t = s; t < r; t++) {
          int row = li[d + 1 + t];
          while (li[ptr] != row) {
            ptr++;
          }
          double zst = z[ptr];
          acc[s] += zst * lx[d + 1 + t];
          if (t != s) {
            acc[t] += zst * ls;
          }
        }
      }
      double diag = 1.0 / (ljj * ljj);
      for (int s = 0; s < r; s++) {
        double zij = -acc[s] / ljj;
        z[d + 1 + s] = zij;
        diag -= zij * lx[d + 1 + s] / ljj;
      }
      z[d] = diag;
    }
    return new SelectedInverse(lp.clone(), li.clone(), z, symbolic.pinv.clone());
  }

  /** Entries of {@code C⁻¹} on the pattern of L, looked up by original (unpermuted) indices. */
  public static final class SelectedInverse {
    private final int[] colStart;
    private final int[] rows;
    private final double[] values;
    private final int[] pinv;

    SelectedInverse(int[] colStart, int[] rows, double[] values, int[] pinv) {
      this.colStart = colStart;
      this.rows = rows;
      this.values = values;
      this.pinv = pinv;
    }

    /**
     * {@code (C⁻¹)_ij}; the pair must lie in the pattern of the factor (every entry of C's pattern
     * does), else IllegalArgumentException.
     */
    public double get(int i, int j) {
      return values[indexOf(i, j)];
    }

    /**
     * Where {@code (C⁻¹)_ij} is stored, for {@link #at}: fixed by the symbolic analysis, so a caller that
     * reads the same entries at every evaluation looks them up once.
     */
    public int indexOf(int i, int j) {
      int a = pinv[i];
      int b = pinv[j];
      int col = Math.min(a, b);
      int row = Math.max(a, b);
      int p = Arrays.binarySearch(rows, colStart[col], colStart[col + 1], row);
      if (p < 0) {
        throw new IllegalArgumentException("entry (" + i + ", " + j + ") is outside the factor's pattern");
      }
      return p;
    }

    /**
     * The stored entries, {@link #indexOf}'s index into them (not a copy: read only), for loops over many
     * entries at once.
     */
    public double[] storedValues() {
      return values;
    }

    /** The entry stored at {@code index} (from {@link #indexOf}). */
    public double at(int index) {
      return values[index];
    }
  }
}
