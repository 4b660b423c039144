package org.lmmspark.engine.pca;

import org.lmmspark.engine.linalg.Blas;

/**
 * Exact principal components: the K leading eigenpairs of the n×n relationship matrix by LAPACK
 * {@code dsyevr} (MRRR, only the wanted eigenvectors; plink2's non-{@code approx} {@code --pca} does
 * the same on the same matrix). Cost {@code ~(4/3)n³} flops for the tridiagonal reduction plus
 * {@code O(n²K)}, and the n×n matrix in memory ({@code 8n²} bytes): for moderate n (the default route
 * up to {@link #DEFAULT_MAX_SAMPLES} samples). The matrix comes from the project's GRM kernel, so it
 * is GCTA's and plink2's: with missing calls each pair is scaled by its own count {@code 1/M_jk}.
 */
public final class ExactPca {
  /**
   * Up to this many samples the exact route is the default: plink2 recommends {@code approx} above
   * 5,000 samples; the GRM costs {@code N²M} flops and the eigendecomposition {@code ~1.3 N³}, which at
   * N = 5,000 is seconds, while the randomized route's cost grows only as {@code N·M}.
   */
  public static final int DEFAULT_MAX_SAMPLES = 5000;

  private ExactPca() {}

  /**
   * The K leading eigenpairs of the symmetric n×n {@code k} (column-major; only the lower triangle is
   * read; destroyed).
   */
  public static PrincipalComponents of(double[] relationship, int n, int components) {
    checkComponents(components, n, Long.MAX_VALUE);
    double[] ascending = new double[n];
    double[] z = new double[n * components];
    Blas.dsyevrTop(n, components, relationship, ascending, z);
    double[] values = new double[components];
    double[] vectors = new double[n * components];
    for (int c = 0; c < components; c++) {
      values[c] = ascending[components - 1 - c];
      System.arraycopy(z, (components - 1 - c) * n, vectors, c * n, n);
    }
    PrincipalComponents.orientSigns(n, components, vectors);
    return new PrincipalComponents(n, components, values, vectors, true, 0, new double[components]);
  }

  /**
   * K must be at least 1 and at most {@code min(n, M) − 1}: the standardized genotypes have rank at most
   * {@code min(n − 1, M)} (centring removes one dimension from the samples' side), so beyond that the
   * components are noise of a zero eigenvalue.
   *
   * @throws IllegalArgumentException naming the limit (callers turn it into a bad-input message)
   */
  public static void checkComponents(int components, long samples, long variants) {
    long limit = Math.min(samples, variants) - 1;
    if (components < 1 || components > limit) {
      throw new IllegalArgumentException("--pcs " + components + ": cannot compute " + components + " principal components from " + samples
          + " samples and " + (variants == Long.MAX_VALUE ? "their" : Long.toString(variants)) + " variants: need 1 ≤ K ≤ "
          + "min(N, M) − 1 = " + limit);
    }
  }
}
