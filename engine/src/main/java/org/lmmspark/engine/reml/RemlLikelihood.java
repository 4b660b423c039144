package org.lmmspark.engine.reml;

/**
 * What the AI-REML optimizer needs at a point θ: the REML log-likelihood, its gradient and the
 * average information matrix. The dense implementation ({@link DenseRemlLikelihood}) factorizes V;
 * a matrix-free one would solve with V by conjugate gradients on {@link SymmetricOperator} products
 * and estimate the traces {@code tr(P V_k)} stochastically, behind this same interface.
 */
public interface RemlLikelihood {

  /** Number of variance parameters, K + 1, residual last. */
  int parameters();

  /** n, the number of samples (EM steps divide by it). */
  int samples();

  /**
   * Evaluates at θ. Returns {@link Evaluation#ok()} false (not an exception) when V is not positive
   * definite at θ.
   */
  Evaluation evaluate(double[] theta);

  /**
   * The observed information {@code −∂²ℓ/∂θ_k∂θ_l = yᵀPV_kPV_lPy − ½ tr(PV_kPV_l)} at θ, (K+1)×(K+1)
   * column-major, or null when this likelihood cannot afford the traces.
   */
  double[] observedInformation(double[] theta);

  /**
   * One evaluation.
   *
   * @param logL   {@code −½(log|V| + log|XᵀV⁻¹X| + yᵀPy)}
   * @param score  {@code ∂ℓ/∂θ_k = −½(tr(PV_k) − yᵀPV_kPy)}
   * @param ai     {@code AI_kl = ½ yᵀPV_kPV_lPy}, column-major (K+1)×(K+1)
   * @param yPVPy  {@code yᵀPV_kPy} per parameter (for EM steps)
   * @param py     {@code P y}
   * @param beta   GLS estimate of β
   * @param betaCovariance {@code (XᵀV⁻¹X)⁻¹}, p×p
   */
  record Evaluation(boolean ok, double logL, double[] score, double[] ai, double[] yPVPy, double[] py, double[] beta,
      double[] betaCovariance) {
    static Evaluation notPositiveDefinite() {
      return new Evaluation(false, Double.NEGATIVE_INFINITY, null, null, null, null, null, null);
    }
  }
}
