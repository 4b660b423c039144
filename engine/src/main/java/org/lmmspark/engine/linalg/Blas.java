package org.lmmspark.engine.linalg;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.JavaBLAS;
import dev.ludovic.netlib.lapack.LAPACK;

/**
 * The project's one door to BLAS and LAPACK, through {@code dev.ludovic.netlib} (what Spark uses).
 *
 * <p>Level 3 calls go to the native library when one loads (OpenBLAS via the system's
 * {@code libblas.so.3}; install Debian's {@code libopenblas0}) and to the vectorized Java fallback
 * otherwise; level 1 calls on short vectors always use the Java implementation, where the JNI
 * crossing would cost more than the work. Matrices are column-major {@code double[]}/{@code float[]}
 * with explicit dimensions, as in Fortran BLAS. Run one BLAS thread per Spark task
 * ({@code OPENBLAS_NUM_THREADS=1}): parallelism comes from tasks.
 */
public final class Blas {
  private Blas() {}

  /** Level 3 and LAPACK-backed work: native when available. */
  public static BLAS level3() {
    return BLAS.getInstance();
  }

  /** Level 1/2 work on short vectors: always the Java implementation. */
  public static BLAS level1() {
    return JavaBLAS.getInstance();
  }

  public static LAPACK lapack() {
    return LAPACK.getInstance();
  }

  /** A one-line description of the BLAS and LAPACK in use, for logs and summaries. */
  public static String describe() {
    String blas = level3().getClass().getSimpleName();
    String lapack = lapack().getClass().getSimpleName();
    boolean nativeBlas = isNative();
    String threads = System.getenv("OPENBLAS_NUM_THREADS");
    return "BLAS=" + blas + (nativeBlas ? " (native: the system's libblas.so.3" + (threads == null ? "" : ", OPENBLAS_NUM_THREADS=" + threads) + ")"
        : " (Java fallback: install libopenblas0 for native speed)") + ", LAPACK=" + lapack;
  }

  public static boolean isNative() {
    return level3() instanceof dev.ludovic.netlib.blas.NativeBLAS;
  }

  /**
   * {@code C(m×n) = alpha · op(A) · op(B) + beta · C}, single precision, column-major; each matrix
   * starts at its offset in its array, with its leading dimension (row stride).
   */
  public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
      float[] a, int offA, int lda, float[] b, int offB, int ldb, float beta, float[] c, int offC, int ldc) {
    level3().sgemm(transA ? "T" : "N", transB ? "T" : "N", m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
  }

  /**
   * {@code C(n×n) = alpha · A·Aᵀ + beta · C} on the lower triangle (the strict upper triangle of
   * {@code C} is not touched), single precision; {@code A} is {@code n×k} column-major at
   * {@code offA} with leading dimension {@code lda}.
   */
  public static void ssyrkLower(int n, int k, float alpha, float[] a, int offA, int lda, float beta, float[] c, int offC, int ldc) {
    level3().ssyrk("L", "N", n, k, alpha, a, offA, lda, beta, c, offC, ldc);
  }

  /** {@code C(m×n) = alpha · op(A) · op(B) + beta · C}, double precision, column-major. */
  public static void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
      double[] a, int lda, double[] b, int ldb, double beta, double[] c, int ldc) {
    level3().dgemm(transA ? "T" : "N", transB ? "T" : "N", m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}
