package org.lmmspark.engine.stats;

import org.apache.commons.math3.special.Gamma;

/**
 * Upper tail probabilities of the χ² distribution, exact far into the tail.
 *
 * <p>{@code P(χ²_df ≥ x) = Q(df/2, x/2)}, the regularized upper incomplete gamma function. For
 * {@code x < a + 1} (with {@code a = df/2}) the series for {@code P(a, x)} converges fast and
 * {@code Q = 1 − P} is not small; beyond, {@code Q} is evaluated in log form,
 * {@code log Q = −x + a·log x − log Γ(a) + log CF(a, x)}, with the continued fraction {@code CF}
 * evaluated by the modified Lentz method (Numerical Recipes §6.2) — the same fraction commons-math3
 * uses, without the final {@code exp} that underflows to 0 below ~1e-308. So a test statistic of
 * 2,000 has {@code log p ≈ −1003}, not {@code p = 0}.
 */
public final class ChiSquared {
  private ChiSquared() {}

  private static final double EPS = 1e-15;
  private static final int MAX_ITER = 100_000;

  /** {@code log P(χ²_df ≥ x)} (natural log; 0 for x ≤ 0). */
  public static double logUpperTail(double x, double df) {
    if (!(df > 0)) {
      throw new IllegalArgumentException("degrees of freedom must be > 0, got " + df);
    }
    if (Double.isNaN(x)) {
      return Double.NaN;
    }
    if (x <= 0) {
      return 0.0;
    }
    if (x == Double.POSITIVE_INFINITY) {
      return Double.NEGATIVE_INFINITY;
    }
    return logRegularizedGammaQ(df / 2, x / 2);
  }

  /** {@code P(χ²_df ≥ x)}; underflows to 0 only when even the log form says below ~1e-308: use {@link #logUpperTail}. */
  public static double upperTail(double x, double df) {
    return Math.exp(logUpperTail(x, df));
  }

  /**
   * {@code log P(T ≥ t)} for the 50:50 mixture {@code ½χ²₀ + ½χ²₁}, the null distribution of the
   * likelihood ratio for one variance component on the boundary of its space (Self &amp; Liang 1987).
   * For {@code t ≤ 0} this is 1 (the point mass at 0 is included), beyond it is {@code ½P(χ²₁ ≥ t)}.
   */
  public static double logUpperTailBoundaryMixture(double t) {
    if (Double.isNaN(t)) {
      return Double.NaN;
    }
    if (t <= 0) {
      return 0.0;
    }
    return Math.log(0.5) + logUpperTail(t, 1);
  }

  /** {@code log Q(a, x)}, {@code Q(a, x) = Γ(a, x)/Γ(a)}, for {@code a > 0, x > 0}. */
  static double logRegularizedGammaQ(double a, double x) {
    if (x < a + 1) {
      double p = Gamma.regularizedGammaP(a, x, EPS, MAX_ITER);
      return Math.log1p(-p);
    }
    return -x + a * Math.log(x) - Gamma.logGamma(a) + logContinuedFraction(a, x);
  }

  /**
   * {@code log CF(a, x)}, the continued fraction of {@code Q(a, x) = e^{−x} x^a CF / Γ(a)} for {@code x ≥ a + 1},
   * by the modified Lentz method (also {@link Normal}'s tail, at a = ½).
   */
  static double logContinuedFraction(double a, double x) {
    // Modified Lentz evaluation of CF = 1/(x+1−a− 1·(1−a)/(x+3−a− 2·(2−a)/(x+5−a− ...))).
    double tiny = 1e-300;
    double b = x + 1 - a;
    double c = 1 / tiny;
    double d = 1 / b;
    double h = d;
    for (int i = 1; i < MAX_ITER; i++) {
      double an = -i * (i - a);
      b += 2;
      d = an * d + b;
      if (Math.abs(d) < tiny) {
        d = tiny;
      }
      c = b + an / c;
      if (Math.abs(c) < tiny) {
        c = tiny;
      }
      d = 1 / d;
      double delta = d * c;
      h *= delta;
      if (Math.abs(delta - 1) < EPS) {
        return Math.log(h);
      }
    }
    throw new IllegalStateException("incomplete gamma continued fraction did not converge for a=" + a + ", x=" + x);
  }

  /**
   * A p-value given by its natural log, printed without underflow: {@code 3.2e-05}, {@code 1.7e-420}.
   */
  public static String formatLogP(double logP) {
    if (Double.isNaN(logP)) {
      return "NA";
    }
    double p = Math.exp(logP);
    if (p >= 1e-300) {
      return org.lmmspark.engine.io.NumberText.general6(p);
    }
    double log10 = logP / Math.log(10);
    double exponent = Math.floor(log10);
    double mantissa = Math.pow(10, log10 - exponent);
    if (mantissa >= 9.999995) {
      mantissa /= 10;
      exponent += 1;
    }
    return String.format(java.util.Locale.ROOT, "%.5fe%d", mantissa, (long) exponent);
  }
}
