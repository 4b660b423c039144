package org.lmmspark.engine.pca;

/**
 * The top K principal components of a set of samples: the leading eigenpairs {@code K u_k = λ_k u_k}
 * of their variance-standardized relationship matrix {@code K = Z Zᵀ/M} (plink2's {@code --pca},
 * GCTA's GRM), {@code z_ij = (x_ij − 2p_j)/√(2p_j(1 − p_j))}. As plink2 writes them: eigenvalues of K
 * (their sum over all N is tr K ≈ N), eigenvectors of unit length ({@code Σ_i u_ik² = 1}; they sum to
 * ≈ 0 because {@code K·1 ≈ 0}). M counts the variants used, monomorphic ones excluded as GCTA does;
 * plink2 divides by all variants, monomorphic included, so when there are some its eigenvalues are
 * smaller by the factor {@code M_used/M_all} (measured: 2.0·10⁻³ with 40 monomorphic in 20,000) and
 * its eigenvectors the same.
 *
 * <p><b>Signs</b> are arbitrary in the mathematics (and in plink2 and R's {@code eigen()}); here each
 * vector is turned so that its entry of largest magnitude is positive (scikit-learn's
 * {@code svd_flip} convention), so the same data give the same signs by either route.
 *
 * @param n         samples
 * @param k         components
 * @param values    λ_1 ≥ … ≥ λ_K
 * @param vectors   u_1 … u_K, n×K column-major
 * @param exact     from a full eigendecomposition (true) or randomized block Krylov iteration
 * @param passes    passes over the genotypes (randomized route; 0 for the exact one)
 * @param residuals per component, {@code ‖K u − λ u‖/λ} (0 for the exact route)
 */
public record PrincipalComponents(int n, int k, double[] values, double[] vectors, boolean exact, int passes,
    double[] residuals) {

  public PrincipalComponents {
    if (values.length != k || vectors.length != (long) n * k || residuals.length != k) {
      throw new IllegalArgumentException("principal components: " + k + " values and n×k = " + n + "×" + k
          + " vector entries expected");
    }
  }

  /** Entry i of component c (0-based). */
  public double vector(int i, int c) {
    return vectors[i + c * n];
  }

  /** Turns each column of the n×k {@code vectors} so that its entry of largest magnitude is positive. */
  static void orientSigns(int n, int k, double[] vectors) {
    for (int c = 0; c < k; c++) {
      int o = c * n;
      int best = o;
      for (int i = o; i < o + n; i++) {
        if (Math.abs(vectors[i]) > Math.abs(vectors[best])) {
          best = i;
        }
      }
      if (vectors[best] < 0) {
        for (int i = o; i < o + n; i++) {
          vectors[i] = -vectors[i];
        }
      }
    }
  }
}
