package org.lmmspark.engine.reml;

import org.lmmspark.engine.linalg.Blas;

/**
 * A symmetric matrix held densely (column-major {@code double[n·n]}): a GRM restricted to the
 * analysed samples, its epistatic square {@code K∘K}, a pedigree {@code A}. Products by DGEMM,
 * {@code O(n² k)}; memory {@code 8n²} bytes.
 */
public final class DenseSymmetricMatrix implements SymmetricOperator {
  private final int n;
  private final double[] a;

  /** Wraps {@code a} (not copied); only symmetric input is meaningful, and is checked cheaply on the diagonal band. */
  public DenseSymmetricMatrix(int n, double[] a) {
    if (a.length != (long) n * n) {
      throw new IllegalArgumentException("matrix of " + a.length + " entries is not " + n + "×" + n);
    }
    this.n = n;
    this.a = a;
  }

  /**
   * {@code C K C} with {@code C = I − 11ᵀ/n}: K centered over its samples, as GEMMA centers the
   * relatedness matrix before its eigendecomposition. REML quantities are unchanged by it when the
   * fixed effects include an intercept (they depend on V only through {@code LᵀVL}, {@code Lᵀ1 = 0});
   * ML ones (GEMMA's LRT and score tests) are not. {@code O(n²)} beyond the dense copy.
   */
  public static DenseSymmetricMatrix centered(SymmetricOperator k) {
    int n = k.size();
    double[] a = k.toDense();
    double[] rowMean = new double[n];
    double all = 0;
    for (int j = 0; j < n; j++) {
      for (int i = 0; i < n; i++) {
        rowMean[i] += a[i + j * n] / n;
      }
    }
    for (int i = 0; i < n; i++) {
      all += rowMean[i] / n;
    }
    for (int j = 0; j < n; j++) {
      for (int i = 0; i < n; i++) {
        a[i + j * n] += all - rowMean[i] - rowMean[j];
      }
    }
    return new DenseSymmetricMatrix(n, a);
  }

  @Override
  public int size() {
    return n;
  }

  @Override
  public void apply(double[] in, int k, double[] out) {
    if (in.length < (long) n * k || out.length < (long) n * k) {
      throw new IllegalArgumentException("apply: blocks must hold n×k = " + n + "×" + k + " values");
    }
    if (k == 1) {
      Blas.dgemv(false, n, n, 1.0, a, in, 0.0, out);
    } else {
      Blas.dgemm(false, false, n, k, n, 1.0, a, n, in, n, 0.0, out, n);
    }
  }

  @Override
  public double trace() {
    double t = 0;
    for (int i = 0; i < n; i++) {
      t += a[i + i * n];
    }
    return t;
  }

  @Override
  public double[] diagonal() {
    double[] d = new double[n];
    for (int i = 0; i < n; i++) {
      d[i] = a[i + i * n];
    }
    return d;
  }

  @Override
  public double[] toDense() {
    return a.clone();
  }

  /** Entry (i, j). */
  public double get(int i, int j) {
    return a[i + j * n];
  }

  /** A copy of the column-major entries in an array of {@code length ≥ n²} (zeros after them). */
  double[] copyOf(int length) {
    return java.util.Arrays.copyOf(a, length);
  }

  /** The backing array (not a copy): read-only by contract. */
  double[] values() {
    return a;
  }

  /** The element-wise (Hadamard) square {@code A∘A}: the epistatic (additive×additive) relationship. */
  public DenseSymmetricMatrix hadamardSquare() {
    double[] b = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      b[i] = a[i] * a[i];
    }
    return new DenseSymmetricMatrix(n, b);
  }
}
