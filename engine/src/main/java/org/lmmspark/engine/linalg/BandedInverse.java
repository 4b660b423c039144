package org.lmmspark.engine.linalg;

/**
 * Traces of functions of a symmetric band matrix B through the inverse of {@code H = a·B + b·I}, without B's
 * eigenvalues: the entries of {@code Z = H⁻¹} inside B's band by selected inversion of H's banded Cholesky factor
 * (Takahashi, Fagan &amp; Chen 1973; Erisman &amp; Tinney 1975), and their derivatives in a and b by forward-mode
 * differentiation of the Cholesky factorization and of that recurrence. All {@code O(n·kd²)}, like one Cholesky.
 *
 * <p>{@code tr(Z)} and {@code tr(ZB) = Σ_band Z∘B} need only the band of Z. Second-order traces need more of Z, but
 * are derivatives of these: {@code ∂Z/∂a = −ZBZ}, {@code ∂Z/∂b = −Z²}, so {@code tr(ZBZB) = −Σ_band (∂Z/∂a)∘B},
 * {@code tr(Z²B) = −tr(∂Z/∂a)}, {@code tr(Z²) = −tr(∂Z/∂b)}; the band of ∂Z is what differentiating the recurrence gives
 * (the factor's derivative has the factor's band, the algorithm touching nothing outside it). No identity such as
 * {@code ZB = (I − bZ)/a} is used: those lose digits to cancellation when a·B is small or large beside b·I.
 *
 * <p>Storage is LAPACK's lower band, {@code M(i, j)} at {@code m[(i − j) + j·(kd+1)]} for {@code 0 ≤ i − j ≤ kd}, for
 * B, the factor L ({@code dpbtrf "L"}, {@link BandReduction#choleskyOfShifted}) and the band of Z alike.
 *
 * <p>Recurrences, column j from n − 1 down, {@code S = {j+1, …, min(n−1, j+kd)}}: from {@code Z L = L⁻ᵀ} (upper
 * triangular, diagonal {@code 1/L_jj}), {@code Z_ij = −(Σ_{k∈S} Z_ik L_kj)/L_jj} for {@code i ∈ S} and
 * {@code Z_jj = (1/L_jj − Σ_{k∈S} Z_kj L_kj)/L_jj}; every {@code Z_ik} there lies in the band of columns already done.
 * The factor's derivative from the left-looking Cholesky {@code s_ij = H_ij − Σ_{k<j} L_ik L_jk},
 * {@code L_jj = √s_jj}, {@code L_ij = s_ij/L_jj}.
 */
public final class BandedInverse {
  private BandedInverse() {}

  /**
   * {@code tr(Z)}, {@code tr(ZB)} and, when asked, {@code tr(ZBZB)}, {@code tr(Z²B)}, {@code tr(Z²)} for
   * {@code Z = (a·B + b·I)⁻¹}.
   *
   * @param band   B, lower band storage, n·(kd+1)
   * @param factor the Cholesky factor of {@code a·B + b·I} in the same storage ({@link BandReduction#choleskyOfShifted})
   * @param second also the second-order traces (three times the work)
   */
  public static Traces traces(double[] band, double[] factor, int n, int kd, boolean second) {
    int ld = kd + 1;
    if (band.length < ld * n || factor.length < ld * n) {
      throw new IllegalArgumentException("band arrays of " + band.length + " and " + factor.length + " for n = " + n
          + ", kd = " + kd);
    }
    if (kd == 0) {
      return diagonal(band, factor, n, second);
    }
    double[] z = new double[ld * n];
    // Derivatives of L and of Z in the direction of B (index 0) and of I (index 1).
    double[][] dl = second ? new double[][] {new double[ld * n], new double[ld * n]} : null;
    double[][] dz = second ? new double[][] {new double[ld * n], new double[ld * n]} : null;
    if (second) {
      factorDerivatives(band, factor, n, kd, dl);
    }
    double[] t = new double[kd];
    double[] dt = new double[kd];
    for (int j = n - 1; j >= 0; j--) {
      int s = Math.min(n - 1, j + kd) - j; // |S|
      double ljj = factor[j * ld];
      // t = Z_SS · L_Sj (Z_SS symmetric, its lower band read).
      symv(z, ld, j + 1, s, factor, j * ld + 1, t);
      // Z_Sj first, then Z_jj from them: Σ_{k∈S} Z_kj L_kj with the new Z_kj.
      double zl = 0;
      for (int q = 0; q < s; q++) {
        double v = -t[q] / ljj;
        z[j * ld + 1 + q] = v;
        zl += v * factor[j * ld + 1 + q];
      }
      double zjj = (1 / ljj - zl) / ljj;
      z[j * ld] = zjj;
      if (second) {
        for (int dir = 0; dir < 2; dir++) {
          double[] dlj = dl[dir];
          double[] dzj = dz[dir];
          double dljj = dlj[j * ld];
          // Z'_Sj = −(Z'_SS L_Sj + Z_SS L'_Sj + Z_Sj L'_jj)/L_jj.
          symv(dzj, ld, j + 1, s, factor, j * ld + 1, dt);
          symvAdd(z, ld, j + 1, s, dlj, j * ld + 1, dt);
          double dzl = 0;
          for (int q = 0; q < s; q++) {
            double v = -(dt[q] + z[j * ld + 1 + q] * dljj) / ljj;
            dzj[j * ld + 1 + q] = v;
            dzl += v * factor[j * ld + 1 + q] + z[j * ld + 1 + q] * dlj[j * ld + 1 + q];
          }
          // Z'_jj = −(Σ (Z'_kj L_kj + Z_kj L'_kj) + Z_jj L'_jj + L'_jj/L_jj²)/L_jj.
          dzj[j * ld] = -(dzl + zjj * dljj + dljj / (ljj * ljj)) / ljj;
        }
      }
    }
    double trZ = 0;
    double trZBZB = Double.NaN;
    double trZ2B = Double.NaN;
    double trZ2 = Double.NaN;
    for (int j = 0; j < n; j++) {
      trZ += z[j * ld];
    }
    double trZB = bandDot(z, band, n, kd);
    if (second) {
      trZBZB = -bandDot(dz[0], band, n, kd);
      trZ2B = 0;
      trZ2 = 0;
      for (int j = 0; j < n; j++) {
        trZ2B -= dz[0][j * ld];
        trZ2 -= dz[1][j * ld];
      }
    }
    return new Traces(trZ, trZB, trZBZB, trZ2B, trZ2);
  }

  /**
   * {@code tr(Z)}, {@code tr(ZB)}; second-order ones NaN unless computed.
   */
  public record Traces(double z, double zb, double zbzb, double z2b, double z2) {}

  /** B diagonal (kd = 0, the eigenbasis): every trace a sum over {@code d_i/(a·d_i + b)} and its powers. */
  private static Traces diagonal(double[] d, double[] factor, int n, boolean second) {
    double trZ = 0;
    double trZB = 0;
    double trZBZB = second ? 0 : Double.NaN;
    double trZ2B = second ? 0 : Double.NaN;
    double trZ2 = second ? 0 : Double.NaN;
    for (int i = 0; i < n; i++) {
      double w = 1 / (factor[i] * factor[i]);
      trZ += w;
      trZB += d[i] * w;
      if (second) {
        trZBZB += d[i] * w * d[i] * w;
        trZ2B += d[i] * w * w;
        trZ2 += w * w;
      }
    }
    return new Traces(trZ, trZB, trZBZB, trZ2B, trZ2);
  }

  /**
   * Derivatives of the Cholesky factor L of {@code a·B + b·I} in a (direction B, into {@code dl[0]}) and in b
   * (direction I, {@code dl[1]}), by differentiating the left-looking algorithm:
   * {@code s'_ij = H'_ij − Σ_{k<j} (L'_ik L_jk + L_ik L'_jk)}, {@code L'_jj = s'_jj/(2L_jj)},
   * {@code L'_ij = (s'_ij − L_ij L'_jj)/L_jj}.
   */
  private static void factorDerivatives(double[] band, double[] l, int n, int kd, double[][] dl) {
    int ld = kd + 1;
    for (int dir = 0; dir < 2; dir++) {
      double[] d = dl[dir];
      for (int j = 0; j < n; j++) {
        int last = Math.min(n - 1, j + kd);
        // s'_ij for i in [j, last]: H'_ij, minus Σ over k in [max(0, i − kd), j − 1] (k ≥ j − kd suffices for
        // row j; rows below j see fewer k, as L_ik = 0 for i − k > kd).
        for (int i = j; i <= last; i++) {
          double s = dir == 0 ? band[(i - j) + j * ld] : (i == j ? 1 : 0);
          for (int k = Math.max(0, i - kd); k < j; k++) {
            s -= d[(i - k) + k * ld] * l[(j - k) + k * ld] + l[(i - k) + k * ld] * d[(j - k) + k * ld];
          }
          d[(i - j) + j * ld] = s;
        }
        double ljj = l[j * ld];
        double dljj = d[j * ld] / (2 * ljj);
        d[j * ld] = dljj;
        for (int i = j + 1; i <= last; i++) {
          d[(i - j) + j * ld] = (d[(i - j) + j * ld] - l[(i - j) + j * ld] * dljj) / ljj;
        }
      }
    }
  }

  /**
   * {@code out[0..s) = M_SS · v[v0..v0+s)} for the symmetric M in lower band storage (leading dimension ld) and
   * {@code S = {c0, …, c0+s−1}}, s ≤ ld − 1 so that the whole block lies in the band.
   */
  private static void symv(double[] m, int ld, int c0, int s, double[] v, int v0, double[] out) {
    java.util.Arrays.fill(out, 0, s, 0.0);
    symvAdd(m, ld, c0, s, v, v0, out);
  }

  /** {@code out += M_SS · v}, as {@link #symv}. */
  private static void symvAdd(double[] m, int ld, int c0, int s, double[] v, int v0, double[] out) {
    for (int q = 0; q < s; q++) {
      int col = (c0 + q) * ld;
      double vq = v[v0 + q];
      double acc = m[col] * vq;
      // Rows r > q of column q: M(r, q) at col + (r − q).
      for (int r = q + 1; r < s; r++) {
        double mrq = m[col + (r - q)];
        out[r] += mrq * vq;
        acc += mrq * v[v0 + r];
      }
      out[q] += acc;
    }
  }

  /** {@code Σ_ij M_ij B_ij} over the band of two symmetric band matrices (off-diagonal entries twice). */
  private static double bandDot(double[] m, double[] b, int n, int kd) {
    int ld = kd + 1;
    double diag = 0;
    double off = 0;
    for (int j = 0; j < n; j++) {
      int last = Math.min(n - 1, j + kd) - j;
      diag += m[j * ld] * b[j * ld];
      for (int q = 1; q <= last; q++) {
        off += m[j * ld + q] * b[j * ld + q];
      }
    }
    return diag + 2 * off;
  }
}
