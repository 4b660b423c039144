package org.lmmspark.engine.reml.matfree;

import org.lmmspark.engine.linalg.Blas;

/**
 * Stochastic Lanczos quadrature (Golub &amp; Meurant 2010; Ubaru, Chen &amp; Saad 2017) for
 * {@code log|A| = tr(log A) ≈ (1/R) Σ_r z_rᵀ log(A) z_r} over Rademacher probes {@code z_r}, each
 * quadratic form from the Lanczos tridiagonal matrix {@code T} that conjugate gradients on
 * {@code A x = z} builds anyway: {@code zᵀ log(A) z ≈ ‖z‖² Σ_i u_{1i}² log θ_i} with
 * {@code T = U diag(θ) Uᵀ}. Exact when CG has run to the full Krylov space; in practice the
 * quadrature converges faster than the solve (Gauss quadrature of degree 2·iterations).
 */
public final class LanczosQuadrature {
  private LanczosQuadrature() {}

  /**
   * {@code zᵀ log(A) z} from the CG coefficients of an unpreconditioned solve started at 0.
   *
   * @param alphas CG step lengths α_1..α_t
   * @param betas  CG β_1..β_t (only β_1..β_{t−1} are used)
   * @param zNorm2 {@code ‖z‖²}
   */
  public static double logQuadratic(double[] alphas, double[] betas, double zNorm2) {
    int t = alphas.length;
    if (t == 0) {
      throw new IllegalArgumentException("no CG iterations to build the Lanczos matrix from");
    }
    double[] tri = new double[t * t];
    for (int j = 0; j < t; j++) {
      double d = 1 / alphas[j];
      if (j > 0) {
        d += betas[j - 1] / alphas[j - 1];
      }
      tri[j + j * t] = d;
      if (j + 1 < t) {
        double e = Math.sqrt(betas[j]) / alphas[j];
        tri[j + 1 + j * t] = e;
        tri[j + (j + 1) * t] = e;
      }
    }
    double[] w = new double[t];
    double[] u = new double[t * t];
    Blas.dsyevr(t, tri, w, u);
    double s = 0;
    for (int i = 0; i < t; i++) {
      double u1 = u[i * t];
      s += u1 * u1 * Math.log(w[i]);
    }
    return zNorm2 * s;
  }
}
