package org.lmmspark.engine.model;

import java.util.List;
import java.util.Map;

/**
 * A fitted linear mixed model.
 *
 * @param theta          the variance parameters, in {@link MixedModel#parameterNames()} order
 * @param se             their standard errors from the inverse average information (NaN when fixed)
 * @param fixed          per parameter: held at a given value ({@code --fix})
 * @param boundary       per parameter: at the edge of the parameter space
 * @param singularTerms  groups whose covariance matrix is singular at the optimum (lme4's
 *                       "boundary (singular) fit": a correlation of ±1 or a zero variance)
 * @param zeroVariances  variances estimated at 0
 * @param logL           GCTA's form: REML {@code −½(log|V| + log|XᵀV⁻¹X| + yᵀPy)}, ML {@code −½(log|V| + yᵀPy)}
 * @param logLik         with R's constants, as lme4's and nlme's {@code logLik} (REML: lme4's {@code −REMLcrit/2})
 * @param df             number of estimated parameters, p + the free variance parameters
 * @param aic            {@code −2 logLik + 2 df} (for REML, as lme4 prints it: compare only fits with the same X)
 * @param bic            {@code −2 logLik + log(n) df} (lme4)
 * @param bicNlme        nlme's BIC: REML with {@code log(n − p)}
 * @param route          how the likelihood was evaluated and why (sparse equations or blocks of V)
 * @param groupLevels    levels of each grouping factor
 * @param thetaCovariance sampling covariance of θ̂, the inverse average information over the estimated
 *                       parameters (m×m column-major in {@link #parameterNames()} order; rows and columns of
 *                       fixed parameters are 0; null when AI is singular)
 * @param caicCpuSeconds CPU time of the conditional AIC, over every thread that worked on it (for the log)
 * @param sideCpuSeconds CPU time the fit spent on threads other than the caller's (the sparse set-up, half of
 *                       the cAIC's blocks), which the caller adds to its own thread's to report the fit's CPU
 */
public record MixedModelFit(
    String formula,
    String response,
    MixedModelFitter.Method method,
    int n,
    int p,
    List<String> parameterNames,
    double[] theta,
    double[] se,
    boolean[] fixed,
    boolean[] boundary,
    List<String> singularTerms,
    List<String> zeroVariances,
    List<String> fixedNames,
    double[] beta,
    double[] betaSe,
    double[] tValue,
    double[] pValue,
    double[] betaCovariance,
    double logL,
    double logLik,
    int df,
    double aic,
    double bic,
    double bicNlme,
    ConditionalAic caic,
    List<TermBlups> blups,
    int iterations,
    boolean converged,
    String message,
    List<String> notes,
    String route,
    Map<String, Integer> groupLevels,
    double[] thetaCovariance,
    double caicCpuSeconds,
    double sideCpuSeconds) {

  /**
   * BLUPs of one term, {@code values[effect][level]}, and their prediction error variances
   * {@code Var(u − û)} at the estimated (or fixed) variances, {@code pev[effect][level]}.
   */
  public record TermBlups(String group, List<String> effects, List<String> levels, double[][] values,
      double[][] pev) {}

  /** The estimate of a parameter by name. */
  public double parameter(String name) {
    int j = parameterNames.indexOf(name);
    if (j < 0) {
      throw new IllegalArgumentException("no parameter " + name + " in " + parameterNames);
    }
    return theta[j];
  }

  /** {@code −2 × logLik} for REML (lme4's REML criterion) or the deviance for ML. */
  public double deviance() {
    return -2 * logLik;
  }

  /** Whether the fit is on the boundary of the parameter space (a zero variance or a singular Σ). */
  public boolean isSingular() {
    return !singularTerms.isEmpty() || !zeroVariances.isEmpty();
  }
}
