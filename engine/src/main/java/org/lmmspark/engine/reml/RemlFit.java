package org.lmmspark.engine.reml;

import java.util.List;

/**
 * The result of a REML fit.
 *
 * @param componentNames names of σ²_1..σ²_K (the residual is last in every array and is named "e")
 * @param theta          estimates (σ²_1, …, σ²_K, σ²_e)
 * @param covariance     (K+1)×(K+1) column-major sampling covariance of θ, the inverse of the average
 *                       information matrix {@code AI_kl = ½ yᵀP V_k P V_l P y} (GCTA's standard errors)
 * @param observedCovariance the inverse of the observed information
 *                       {@code −∂²ℓ/∂θ_k∂θ_l = yᵀPV_kPV_lPy − ½ tr(PV_kPV_l)} at θ̂ (GEMMA's
 *                       standard errors), or null when not computed or not positive definite
 * @param logL           REML log-likelihood {@code −½(log|V| + log|XᵀV⁻¹X| + yᵀPy)} (GCTA convention)
 * @param score          gradient ∂ℓ/∂θ at θ̂
 * @param beta           GLS fixed effects {@code (XᵀV⁻¹X)⁻¹XᵀV⁻¹y}
 * @param betaCovariance p×p column-major {@code (XᵀV⁻¹X)⁻¹}
 * @param py             {@code P y} (n), from which BLUPs follow
 * @param boundary       per parameter: true when the estimate is held at the edge of the parameter space
 * @param iterations     optimizer iterations (AI-REML) or likelihood evaluations (spectral)
 * @param converged      whether the convergence criteria were met
 * @param message        how it ended, in words
 */
public record RemlFit(
    String solver,
    List<String> componentNames,
    double[] theta,
    double[] covariance,
    double[] observedCovariance,
    double logL,
    double[] score,
    double[] beta,
    double[] betaCovariance,
    double[] py,
    boolean[] boundary,
    int iterations,
    boolean converged,
    String message) {

  public int parameters() {
    return theta.length;
  }

  /** Standard error of θ_k from the AI matrix. */
  public double se(int k) {
    return Math.sqrt(covariance[k + k * theta.length]);
  }

  public double betaSe(int j) {
    int p = beta.length;
    return Math.sqrt(betaCovariance[j + j * p]);
  }

  /**
   * BLUP of each random effect, {@code û_k = σ²_k V_k P y} (n values per component, K arrays), and
   * the residual {@code ê = σ²_e P y} last.
   */
  public double[][] blups(RemlProblem problem) {
    int k = problem.components().size();
    int n = problem.n();
    double[][] out = new double[k + 1][];
    for (int c = 0; c < k; c++) {
      double[] u = new double[n];
      problem.components().get(c).covariance().apply(py, 1, u);
      for (int i = 0; i < n; i++) {
        u[i] *= theta[c];
      }
      out[c] = u;
    }
    double[] e = new double[n];
    for (int i = 0; i < n; i++) {
      e[i] = theta[k] * py[i];
    }
    out[k] = e;
    return out;
  }
}
