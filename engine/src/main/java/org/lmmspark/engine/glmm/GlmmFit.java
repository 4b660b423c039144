package org.lmmspark.engine.glmm;

import java.util.List;

/**
 * A fitted GLMM.
 *
 * @param method        {@code laplace} or {@code pql}
 * @param beta          fixed effects on the link scale
 * @param betaSe        their standard errors as the method's peer reports them (Laplace: lme4's Hessian-based;
 *                      PQL: nlme's from the final working model)
 * @param betaSeConditional  SE(β) at the fitted variances (lme4 {@code vcov(use.hessian = FALSE)}), or null
 * @param termNames     random terms
 * @param variances     their variances on the link scale
 * @param boundary      which variances are at 0
 * @param logLik        the (approximate) log-likelihood with all constants; NaN where undefined (PQL)
 * @param n             records
 * @param modes         conditional modes of the spherical random effects u (b = Λu), per term's levels in order
 * @param theta         relative standard deviations Λ's diagonal per term
 * @param fitted        μ at the modes
 * @param dispersion    the PQL working model's dispersion (1 when fixed), NaN for Laplace
 * @param varianceCovariance sampling covariance of the variances (k×k column-major, k = {@code variances.length}):
 *                      PQL's from the final working model's inverse average information (as GMMAT and SAIGE
 *                      report SE(τ)); null where not computed (Laplace)
 */
public record GlmmFit(String method, Family family, List<String> fixedNames, double[] beta, double[] betaSe,
    double[] betaSeConditional, List<String> termNames, double[] variances, boolean[] boundary, double logLik,
    int n, double[] modes, double[] theta, double[] fitted, double dispersion, boolean converged, String message,
    double[] varianceCovariance) {

  /** SE of variance k (NaN when not computed). */
  public double varianceSe(int k) {
    int m = variances.length;
    return varianceCovariance == null ? Double.NaN : Math.sqrt(varianceCovariance[k + k * m]);
  }

  /** Number of estimated parameters (fixed effects and variances) for AIC/BIC. */
  public int parameters() {
    return beta.length + variances.length;
  }

  public double aic() {
    return -2 * logLik + 2 * parameters();
  }

  public double bic() {
    return -2 * logLik + Math.log(n) * parameters();
  }
}
