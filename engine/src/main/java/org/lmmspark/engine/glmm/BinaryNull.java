package org.lmmspark.engine.glmm;

/**
 * The null logistic GLMM of a binary-trait association scan, {@code logit μ_i = x_iᵀβ + b_i},
 * {@code b ~ N(0, τK)}, as the per-variant score test needs it, whatever fitted it: the fitted
 * probabilities μ̂ (random effects included), the working weights {@code w = μ̂(1 − μ̂)}, the random part
 * of the linear predictor {@code b̂} (the offset of the Firth fallback) and the projection of the working
 * model, {@code P = Σ⁻¹ − Σ⁻¹X(XᵀΣ⁻¹X)⁻¹XᵀΣ⁻¹} with {@code Σ = W⁻¹ + τK}, applied to vectors — the
 * score variance {@code Var(T) = gᵀPg} of SAIGE and GMMAT.
 *
 * <p>{@link GrmPql} is the dense implementation (the GRM on the driver, {@code O(N³)}); a matrix-free
 * fit (PQL with preconditioned CG solves, as SAIGE does at biobank size) implements the same interface
 * by applying P with CG and returns no {@link #denseProjection}: the scan then takes the variance-ratio
 * route, which needs P only on a sample of variants.
 */
public interface BinaryNull {
  /** What the model was fitted on: {@code all chromosomes} or {@code LOCO chromosome c}. */
  String scope();

  int n();

  /** The estimated genetic variance τ on the logit scale. */
  double tau();

  /** The fixed effects β̂ of the covariates (intercept first when present). */
  double[] beta();

  /** μ̂ = logit⁻¹(Xβ̂ + b̂), n. */
  double[] mu();

  /** {@code b̂ = τK P z}, the BLUP of the random effect (logit scale), n. */
  double[] randomPrediction();

  /** {@code out = P v} for {@code k} vectors ({@code v} n×k column-major). */
  void applyProjection(double[] v, int k, double[] out);

  /** P as a dense n×n matrix (column-major, float) for the exact variance, or null (matrix-free fits). */
  float[] denseProjection();

  boolean converged();

  /** How the fit went, in words (iterations, tolerance, working-model fit). */
  String message();
}
