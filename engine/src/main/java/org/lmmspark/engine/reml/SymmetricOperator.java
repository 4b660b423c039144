package org.lmmspark.engine.reml;

/**
 * A symmetric n×n matrix known through its products: the one thing REML needs from each covariance
 * part {@code V_k} of {@code V = Σ_k σ²_k V_k + σ²_e I}. Products are taken on a block of vectors at
 * once ({@code n×k}, column-major) so an implementation can turn them into one matrix multiply — a
 * DGEMM for a dense matrix here, one Spark pass over genotype blocks for a distributed
 * {@code K v = Z (Zᵀ v) / M} later.
 *
 * <p>Solvers that factorize {@code V} (dense Cholesky, eigendecomposition) ask for {@link #toDense()};
 * the default builds it from n products with unit vectors, which a matrix-free implementation may
 * refuse by throwing {@link UnsupportedOperationException}.
 */
public interface SymmetricOperator {

  /** n, the number of samples. */
  int size();

  /**
   * {@code out(n×k) = A · in(n×k)}, both column-major; {@code out} is overwritten and must not alias
   * {@code in}.
   */
  void apply(double[] in, int k, double[] out);

  /** {@code tr(A)}; the default sums {@link #diagonal()}. */
  default double trace() {
    double t = 0;
    for (double d : diagonal()) {
      t += d;
    }
    return t;
  }

  /**
   * The diagonal {@code A_ii} (n values). The default reads it off {@link #toDense()} (O(n²) memory);
   * implementations that know it cheaply override it.
   */
  default double[] diagonal() {
    int n = size();
    double[] a = toDense();
    double[] d = new double[n];
    for (int i = 0; i < n; i++) {
      d[i] = a[i + i * n];
    }
    return d;
  }

  /** The matrix as a fresh column-major {@code double[n·n]} the caller may overwrite. */
  default double[] toDense() {
    int n = size();
    double[] eye = new double[n * n];
    for (int i = 0; i < n; i++) {
      eye[i + i * n] = 1;
    }
    double[] out = new double[n * n];
    apply(eye, n, out);
    return out;
  }
}
