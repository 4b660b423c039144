package org.lmmspark.engine.reml;

/**
 * The objective of the one AI-REML optimizer ({@link AiReml#maximize}), apart from it as lme4 keeps
 * {@code mkLmerDevfun} apart from its optimizers: at a point θ, the (RE)ML log-likelihood, its
 * gradient and the average information matrix. Implementations: {@link DenseRemlLikelihood} (Cholesky
 * of V), {@link BlockedDenseLikelihood} (the formula models of {@code fit}), the sparse mixed-model
 * equations ({@code model.MmeLikelihood}), and the matrix-free one of
 * {@link org.lmmspark.engine.reml.matfree.StochasticReml} (CG solves and stochastic traces, whose
 * evaluations carry warm-start state and whose log-likelihood is not available per evaluation: it
 * declares {@link Convergence.StepSize}).
 */
public interface RemlLikelihood {

  /**
   * How the optimizer judges a step and convergence on this likelihood: by the exact log-likelihood
   * (the default), or, when only the score is estimated, by the size of the next AI step.
   */
  sealed interface Convergence {
    /**
     * The log-likelihood is exact and cheap: a step must not lower it (halved up to 10 times, then an
     * EM step); converged when {@code |Δℓ|} and the Newton decrement are below AiReml's tolerances.
     */
    record LogLikelihood() implements Convergence {}

    /**
     * Only the score is known (estimated): any step at which the evaluation succeeds is taken (halved
     * up to 7 times while it fails); converged when the next AI step moves no θ_k by more than
     * {@code tolerance·Σθ}.
     */
    record StepSize(double tolerance) implements Convergence {}
  }

  /** The exact-log-likelihood rule, the default. */
  Convergence EXACT = new Convergence.LogLikelihood();

  default Convergence convergence() {
    return EXACT;
  }

  /**
   * Evaluates at θ with the evaluation of the last accepted iterate, {@code previous} (null at the
   * start), whose {@link Evaluation#state()} an iterative likelihood warm-starts from; {@code needAi}
   * false when the optimizer's next step is an EM step and an AI matrix would be wasted. The default
   * ignores both.
   */
  default Evaluation evaluate(double[] theta, Evaluation previous, boolean needAi) {
    return evaluate(theta);
  }

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
   * @param state  what an iterative likelihood keeps for warm-starting the next evaluation (null otherwise)
   */
  record Evaluation(boolean ok, double logL, double[] score, double[] ai, double[] yPVPy, double[] py, double[] beta,
      double[] betaCovariance, Object state) {

    /** An evaluation without warm-start state. */
    public Evaluation(boolean ok, double logL, double[] score, double[] ai, double[] yPVPy, double[] py,
        double[] beta, double[] betaCovariance) {
      this(ok, logL, score, ai, yPVPy, py, beta, betaCovariance, null);
    }

    public static Evaluation notPositiveDefinite() {
      return new Evaluation(false, Double.NEGATIVE_INFINITY, null, null, null, null, null, null);
    }
  }
}
