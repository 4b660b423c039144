package org.lmmspark.engine.ldscore;

import org.lmmspark.engine.linalg.Blas;

/**
 * LD scores as ldsc 1.0.1 {@code --l2} defines them (Bulik-Sullivan et al. 2015, Nat Genet 47:291):
 * {@code ℓ_j(a) = Σ_{k in window(j)} r̃²_jk · a_k}, with {@code r̃² = r² − (1 − r²)/(n − 2)} the
 * unbiased estimate of r² from {@code n} panel samples, {@code a_k} the annotation value of variant
 * {@code k} (1 without annotations), and the variant itself contributing {@code a_j}
 * ({@code r̃²_jj = 1}). The window is {@link LdWindow}'s: pair {@code (i ≤ j)} counts iff
 * {@code i ≥ first[j]}.
 *
 * <p>Each pair is computed once. Columns are taken in groups of {@link #COLUMN_GROUP}; a group
 * {@code [j0, j1)} needs the rows {@code [first[j0], j1)}, and their correlations come from the
 * matrix products {@code Xᵀ_rows X_group} over the samples, taken only where pairs count: one GEMM for
 * the rows every column of the group needs, SYRK for the group's own triangle, and slices of
 * {@link #SLICE} columns for the staircase of rows that only some columns need. Each counted pair
 * then adds to both variants' scores. Cost: {@code 2·n·(w + s/2)} flops per variant for a window of
 * {@code w} variants and slices of {@code s} (against {@code 2·n·(w + g)} for one product per group),
 * so {@code ≈ 2·n·M·w} for the chromosome; memory is the block plus one {@code (w + g) × g} product.
 *
 * <p>Two routes, both exact to double rounding:
 * <ul>
 *   <li>no missing call among the variants involved: the allele counts {@code x ∈ {0,1,2}} are
 *       multiplied in single precision (SGEMM, twice the rate of DGEMM). Every partial sum is an
 *       integer below {@code 4n ≤ 2²⁴}, so the product is exact in float whatever the summation order;
 *       then {@code r = (xᵢᵀxⱼ − n μᵢ μⱼ)/(n σᵢ σⱼ)} in double.</li>
 *   <li>otherwise (mean-imputed calls make the counts non-integer): the standardized values
 *       {@code (x̃ − μ)/σ} in double and {@code r = zᵢᵀzⱼ/n} by DGEMM, which is ldsc's own arithmetic.</li>
 * </ul>
 */
public final class LdScoreKernel {
  /** Columns per group of products: large enough for BLAS efficiency, small against a typical window. */
  public static final int COLUMN_GROUP = 256;
  /** Columns per product of a group's staircase rows: the rows multiplied in vain are about SLICE/2 per column. */
  static final int SLICE = 64;
  /** Largest panel for which integer products are exact in single precision: {@code 4n < 2²⁴}. */
  static final int MAX_EXACT_FLOAT_SAMPLES = (1 << 24) / 4 - 1;

  private LdScoreKernel() {}

  /** ldsc's {@code __l2_unbiased__}: {@code r² − (1 − r²)/(n − 2)} ({@code n} itself for {@code n ≤ 2}). */
  public static double unbiasedR2(double r, int n) {
    double denom = n > 2 ? n - 2 : n;
    double sq = r * r;
    return sq - (1 - sq) / denom;
  }

  /**
   * Adds to {@code l2} ({@code m × nAnnot}, row-major over the block's columns) the contributions of
   * every counted pair {@code (i, j)} with {@code j ∈ [jFrom, jTo)} and {@code first[j] ≤ i ≤ j}: to
   * {@code ℓ_i} with {@code j}'s annotation and to {@code ℓ_j} with {@code i}'s (once for {@code i = j}).
   *
   * @param first first partner of each block column, in block-column numbers, non-decreasing
   * @param annot {@code m × nAnnot} row-major annotation values, or null for one all-ones annotation
   */
  public static void accumulate(PanelBlock block, int[] first, int jFrom, int jTo, double[] annot, int nAnnot,
      double[] l2) {
    if (jFrom >= jTo) {
      return;
    }
    int n = block.n;
    int base = first[jFrom];
    boolean integerRoute = n <= MAX_EXACT_FLOAT_SAMPLES && !block.anyMissing(base, jTo);
    double[] z = integerRoute ? null : standardized(block, base, jTo);
    int maxRows = 0;
    for (int j0 = jFrom; j0 < jTo; j0 += COLUMN_GROUP) {
      int j1 = Math.min(jTo, j0 + COLUMN_GROUP);
      maxRows = Math.max(maxRows, j1 - first[j0]);
    }
    int group = Math.min(COLUMN_GROUP, jTo - jFrom);
    // Slack of one buffer row: netlib's bounds check takes C as ldc × n from its offset.
    float[] gf = integerRoute ? new float[maxRows * (group + 1)] : null;
    double[] gd = integerRoute ? null : new double[maxRows * (group + 1)];
    double[] r = new double[maxRows];
    double[] invSd = null;
    double[] nMean = null;
    if (integerRoute) {
      invSd = new double[jTo];
      nMean = new double[jTo];
      for (int c = base; c < jTo; c++) {
        invSd[c] = 1 / block.sd[c];
        nMean[c] = n * block.mean[c];
      }
    }
    float[] x = block.counts;
    for (int j0 = jFrom; j0 < jTo; j0 += COLUMN_GROUP) {
      int j1 = Math.min(jTo, j0 + COLUMN_GROUP);
      int lo = first[j0];
      int rows = j1 - lo;
      int cols = j1 - j0;
      // The group's products Xᵀ_rows X_group (buffer column c holds rows lo..j1−1 of column j0 + c), only
      // where a pair counts: rows [mid, j0) are in every column's window (one product); the group's own
      // rows [j0, j1) form a triangle (SYRK, each pair once); rows [lo, mid) are a staircase (column j
      // needs rows from first[j]), covered by slices of SLICE columns each from its first column's
      // first partner. Multiplied: about w + SLICE/2 rows per column instead of w + COLUMN_GROUP.
      int mid = Math.min(first[j1 - 1], j0);
      if (integerRoute) {
        if (j0 > mid) {
          Blas.sgemm(true, false, j0 - mid, cols, n, 1f, x, mid * n, n, x, j0 * n, n, 0f, gf, mid - lo, rows);
        }
        Blas.ssyrkUpperTransposed(cols, n, 1f, x, j0 * n, n, 0f, gf, j0 - lo, rows);
      } else {
        if (j0 > mid) {
          Blas.dgemm(true, false, j0 - mid, cols, n, 1.0 / n, z, (mid - base) * n, n, z, (j0 - base) * n, n, 0.0, gd,
              mid - lo, rows);
        }
        Blas.dsyrkUpperTransposed(cols, n, 1.0 / n, z, (j0 - base) * n, n, 0.0, gd, j0 - lo, rows);
      }
      for (int s0 = j0; s0 < j1; s0 += SLICE) {
        int s1 = Math.min(j1, s0 + SLICE);
        int top = first[s0];
        if (top >= mid) {
          break; // first[] is non-decreasing: no later slice has staircase rows either
        }
        int out = (s0 - j0) * rows + top - lo;
        if (integerRoute) {
          Blas.sgemm(true, false, mid - top, s1 - s0, n, 1f, x, top * n, n, x, s0 * n, n, 0f, gf, out, rows);
        } else {
          Blas.dgemm(true, false, mid - top, s1 - s0, n, 1.0 / n, z, (top - base) * n, n, z, (s0 - base) * n, n, 0.0,
              gd, out, rows);
        }
      }
      for (int c = 0; c < cols; c++) {
        int j = j0 + c;
        int from = first[j];
        int g = c * rows - lo;
        if (integerRoute) {
          double muJ = block.mean[j];
          double scale = invSd[j] / n;
          for (int i = from; i < j; i++) {
            r[i - lo] = (gf[g + i] - nMean[i] * muJ) * scale * invSd[i];
          }
        } else {
          for (int i = from; i < j; i++) {
            r[i - lo] = gd[g + i];
          }
        }
        addPairs(r, lo, from, j, n, annot, nAnnot, l2);
      }
    }
  }

  /** Adds r̃² of pairs {@code (i, j)}, {@code i ∈ [from, j)} ({@code r[i − lo]}), and the diagonal. */
  private static void addPairs(double[] r, int lo, int from, int j, int n, double[] annot, int nAnnot, double[] l2) {
    if (annot == null) {
      // r² − (1 − r²)/d = r²(1 + 1/d) − 1/d
      double inv = 1.0 / (n > 2 ? n - 2 : n);
      double a = 1 + inv;
      double sumJ = 1; // r̃²_jj = 1
      for (int i = from; i < j; i++) {
        double ri = r[i - lo];
        double f = ri * ri * a - inv;
        l2[i] += f;
        sumJ += f;
      }
      l2[j] += sumJ;
      return;
    }
    int jo = j * nAnnot;
    for (int a = 0; a < nAnnot; a++) {
      l2[jo + a] += annot[jo + a];
    }
    for (int i = from; i < j; i++) {
      double f = unbiasedR2(r[i - lo], n);
      int io = i * nAnnot;
      for (int a = 0; a < nAnnot; a++) {
        l2[io + a] += f * annot[jo + a];
        l2[jo + a] += f * annot[io + a];
      }
    }
  }

  /** Columns {@code [from, to)} standardized as ldsc does: {@code (x̃ − μ)/σ}, a missing call (NaN) at 0. */
  static double[] standardized(PanelBlock block, int from, int to) {
    int n = block.n;
    double[] z = new double[Math.multiplyExact(n, to - from)];
    for (int c = from; c < to; c++) {
      double mu = block.mean[c];
      double inv = 1.0 / block.sd[c];
      int src = c * n;
      int dst = (c - from) * n;
      for (int s = 0; s < n; s++) {
        float x = block.counts[src + s];
        // A missing call (NaN) is imputed by the mean: z = 0.
        z[dst + s] = Float.isNaN(x) ? 0.0 : (x - mu) * inv;
      }
    }
    return z;
  }
}
