package org.lmmspark.engine.reml;

import org.lmmspark.engine.linalg.Blas;

/** Small dense helpers for the (K+1)×(K+1) and p×p systems of the optimizers (dense, spectral, matrix-free). */
public final class SmallMatrices {
  private SmallMatrices() {}

  /** {@code vᵀ A v} for A m×m column-major. */
  public static double quadraticForm(double[] a, double[] v, int m) {
    double s = 0;
    for (int c = 0; c < m; c++) {
      double col = 0;
      for (int r = 0; r < m; r++) {
        col += a[r + c * m] * v[r];
      }
      s += v[c] * col;
    }
    return s;
  }

  /** The inverse of a symmetric positive definite m×m matrix (column-major), or null when it is not PD. */
  public static double[] invertSpd(double[] a, int m) {
    double[] l = a.clone();
    if (!Blas.dpotrfLower(m, l)) {
      return null;
    }
    Blas.dpotriLowerFull(m, l);
    return l;
  }

  /** The sub-matrix over the selected rows and columns. */
  public static double[] select(double[] a, int m, int[] idx) {
    int f = idx.length;
    double[] s = new double[f * f];
    for (int j = 0; j < f; j++) {
      for (int i = 0; i < f; i++) {
        s[i + j * f] = a[idx[i] + idx[j] * m];
      }
    }
    return s;
  }

  /** Replaces the m×m {@code a} by {@code (a + aᵀ)/2} (products that are symmetric up to rounding). */
  public static void symmetrize(double[] a, int m) {
    for (int i = 0; i < m; i++) {
      for (int j = i + 1; j < m; j++) {
        double s = 0.5 * (a[i + j * m] + a[j + i * m]);
        a[i + j * m] = s;
        a[j + i * m] = s;
      }
    }
  }

  public static double sum(double[] v) {
    double s = 0;
    for (double e : v) {
      s += e;
    }
    return s;
  }

  public static double[] filled(int len, double v) {
    double[] a = new double[len];
    java.util.Arrays.fill(a, v);
    return a;
  }
}
