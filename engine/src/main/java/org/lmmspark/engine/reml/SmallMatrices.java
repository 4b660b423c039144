package org.lmmspark.engine.reml;

import org.lmmspark.engine.linalg.Blas;

/** Small dense helpers for the (K+1)×(K+1) and p×p systems of the optimizers. */
final class SmallMatrices {
  private SmallMatrices() {}

  /** The inverse of a symmetric positive definite m×m matrix (column-major), or null when it is not PD. */
  static double[] invertSpd(double[] a, int m) {
    double[] l = a.clone();
    if (!Blas.dpotrfLower(m, l)) {
      return null;
    }
    Blas.dpotriLowerFull(m, l);
    return l;
  }

  /** The sub-matrix over the selected rows and columns. */
  static double[] select(double[] a, int m, int[] idx) {
    int f = idx.length;
    double[] s = new double[f * f];
    for (int j = 0; j < f; j++) {
      for (int i = 0; i < f; i++) {
        s[i + j * f] = a[idx[i] + idx[j] * m];
      }
    }
    return s;
  }

  static double[] filled(int len, double v) {
    double[] a = new double[len];
    java.util.Arrays.fill(a, v);
    return a;
  }
}
