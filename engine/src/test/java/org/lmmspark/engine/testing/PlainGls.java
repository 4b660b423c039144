package org.lmmspark.engine.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.lmmspark.engine.linalg.Blas;

/**
 * Generalized least squares written densely, for brute-force checks: the projection
 * {@code P = V⁻¹ − V⁻¹X(XᵀV⁻¹X)⁻¹XᵀV⁻¹} of a mixed model's score tests (xᵀPy, xᵀPx) formed explicitly, by
 * Cholesky inverses of V and XᵀV⁻¹X, O(n³ + n²p).
 */
public final class PlainGls {
  private PlainGls() {}

  /** P for {@code V = sg·K + se·I}; {@code k} n×n and {@code x} n×p column-major, neither modified. */
  public static double[] projection(double[] k, double sg, double se, double[] x, int n, int p) {
    double[] v = new double[n * n];
    for (int e = 0; e < v.length; e++) {
      v[e] = sg * k[e];
    }
    for (int i = 0; i < n; i++) {
      v[i + i * n] += se;
    }
    return projection(v, x, n, p);
  }

  /** P for a dense positive definite V (n×n column-major, overwritten by P) and X (n×p); returns {@code v}. */
  public static double[] projection(double[] v, double[] x, int n, int p) {
    assertTrue(Blas.dpotrfLower(n, v), "V positive definite");
    Blas.dpotriLowerFull(n, v);
    double[] vx = new double[n * p];
    Blas.dgemm(false, false, n, p, n, 1.0, v, n, x, n, 0.0, vx, n);
    double[] c = new double[p * p];
    Blas.dgemm(true, false, p, p, n, 1.0, x, n, vx, n, 0.0, c, p);
    assertTrue(Blas.dpotrfLower(p, c), "XᵀV⁻¹X positive definite");
    Blas.dpotriLowerFull(p, c);
    double[] t = new double[n * p];
    Blas.dgemm(false, false, n, p, p, 1.0, vx, n, c, p, 0.0, t, n);
    Blas.dgemm(false, true, n, n, p, -1.0, t, n, vx, n, 1.0, v, n);
    return v;
  }

  /** A·x for a square A (column-major, of side x.length). */
  public static double[] times(double[] a, double[] x) {
    int n = x.length;
    double[] out = new double[n];
    for (int j = 0; j < n; j++) {
      for (int i = 0; i < n; i++) {
        out[i] += a[i + j * n] * x[j];
      }
    }
    return out;
  }

  public static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }
}
