package org.lmmspark.engine.linalg;

import org.lmmspark.engine.reml.SmallMatrices;

/**
 * The Rayleigh–Ritz step of subspace methods for a symmetric operator A: given an orthonormal basis Q
 * (n×w) of a trial subspace and {@code Y = A Q} (already computed, so no further product is taken),
 * {@code H = QᵀY} (w×w, symmetrized), {@code H = W Λ Wᵀ}, and the leading r Ritz pairs
 * {@code U = Q W_r}, Λ_r in descending order, with {@code A U = Y W_r} and each pair's relative
 * residual {@code ‖A u − λ u‖/λ} (how far it is from an eigenpair: an eigenvector's error is about
 * the residual·λ over the gap to the rest of the spectrum). Cost {@code O(n·w·(w + r))} and one
 * w×w eigendecomposition. Used by {@link org.lmmspark.engine.reml.matfree.LeadingEigenspace}
 * (subspace iteration) and by the block Krylov principal components.
 *
 * @param values    Λ_r, descending
 * @param vectors   U, n×r column-major, orthonormal columns
 * @param products  A U, n×r
 * @param residuals per pair, {@code ‖A u − λ u‖ / λ} (infinite when λ ≤ 0)
 */
public record RayleighRitz(double[] values, double[] vectors, double[] products, double[] residuals) {

  /** The r leading Ritz pairs of A on span(Q), from {@code Y = A Q}; Q and Y are n×w column-major. */
  public static RayleighRitz of(int n, int w, double[] q, double[] y, int r) {
    if (r < 1 || r > w || w > n || q.length < (long) n * w || y.length < (long) n * w) {
      throw new IllegalArgumentException("Rayleigh–Ritz: need 1 ≤ r ≤ w ≤ n and Q, Y of n×w = " + n + "×" + w);
    }
    double[] h = new double[w * w];
    Blas.dgemm(true, false, w, w, n, 1.0, q, n, y, n, 0.0, h, w);
    SmallMatrices.symmetrize(h, w);
    double[] ascending = new double[w];
    Blas.dsyevd(w, h, ascending);
    // Descending order: the last r eigenvector columns, reversed.
    double[] wr = new double[w * r];
    double[] values = new double[r];
    for (int j = 0; j < r; j++) {
      System.arraycopy(h, (w - 1 - j) * w, wr, j * w, w);
      values[j] = ascending[w - 1 - j];
    }
    double[] u = new double[n * r];
    Blas.dgemm(false, false, n, r, w, 1.0, q, n, wr, w, 0.0, u, n);
    double[] au = new double[n * r];
    Blas.dgemm(false, false, n, r, w, 1.0, y, n, wr, w, 0.0, au, n);
    double[] residuals = new double[r];
    for (int j = 0; j < r; j++) {
      double s = 0;
      for (int i = 0; i < n; i++) {
        double d = au[i + j * n] - values[j] * u[i + j * n];
        s += d * d;
      }
      residuals[j] = values[j] > 0 ? Math.sqrt(s) / values[j] : Double.POSITIVE_INFINITY;
    }
    return new RayleighRitz(values, u, au, residuals);
  }
}
