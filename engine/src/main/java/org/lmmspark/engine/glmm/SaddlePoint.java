package org.lmmspark.engine.glmm;

import org.apache.commons.math3.distribution.NormalDistribution;
import org.lmmspark.engine.stats.ChiSquared;

/**
 * Saddle-point approximation (SPA) to the p-value of a binary trait's score statistic, as SAIGE
 * (Zhou et al. 2018, Nat Genet 50:1335) and REGENIE compute it: under the null the responses are
 * independent Bernoulli(μ_i), so the score {@code T = Σ_i g_i (y_i − μ_i)} (g the covariate-adjusted
 * genotypes) has the cumulant generating function
 * {@code K(t) = Σ_i [log(1 − μ_i + μ_i e^{g_i t}) − g_i μ_i t]}. With ζ the root of {@code K'(ζ) = q},
 * Barndorff-Nielsen's form of the Lugannani–Rice formula gives
 * {@code P(T ≥ q) ≈ 1 − Φ(w + log(v/w)/w)}, {@code w = sign(ζ)√(2(ζq − K(ζ)))}, {@code v = ζ√K''(ζ)}.
 * The two tails are added for a two-sided p-value.
 *
 * <p>Where the normal approximation is accurate — |T| within {@value #NORMAL_CUTOFF} standard deviations,
 * SAIGE's default cutoff — its p-value is returned unchanged; SPA matters in the tails, where with
 * unbalanced case-control ratios and rare variants the score is far from normal and the normal p-value
 * can be off by orders of magnitude.
 *
 * <p>Relatedness enters through {@code varianceRatio}: the GLMM score's variance over the independent
 * model's, {@code Var_GLMM(T)/Σ g_i² μ_i(1 − μ_i)}. The observed score is divided by its square root
 * before the tail is taken, SAIGE's adjustment, so that the statistic's variance is the independent
 * model's. Cost: O(n) per Newton step for the root, about 10 steps.
 */
public final class SaddlePoint {
  /** |z| below which the normal approximation is used (SAIGE's {@code SPAcutoff = 2}). */
  public static final double NORMAL_CUTOFF = 2;
  private static final NormalDistribution NORMAL = new NormalDistribution(null, 0, 1);

  private SaddlePoint() {}

  /**
   * Natural log of the two-sided p-value of the score {@code score} for genotypes {@code g} and null
   * probabilities {@code mu} (n each), with the GLMM's variance ratio (1 for independent samples).
   */
  public static double logPValue(double[] g, double[] mu, double score, double varianceRatio) {
    double var = 0;
    for (int i = 0; i < g.length; i++) {
      var += g[i] * g[i] * mu[i] * (1 - mu[i]);
    }
    if (!(var > 0)) {
      return 0;
    }
    double q = score / Math.sqrt(varianceRatio);
    double z = q / Math.sqrt(var);
    if (Math.abs(z) < NORMAL_CUTOFF) {
      return ChiSquared.logUpperTail(z * z, 1);
    }
    double upper = logUpperTail(g, mu, Math.abs(q));
    double lower = logUpperTail(negate(g), mu, Math.abs(q));
    if (Double.isNaN(upper) || Double.isNaN(lower)) {
      // The saddle-point equation failed numerically: the normal approximation rather than nothing.
      return ChiSquared.logUpperTail(z * z, 1);
    }
    if (upper == Double.NEGATIVE_INFINITY && lower == Double.NEGATIVE_INFINITY) {
      return Double.NEGATIVE_INFINITY;
    }
    double hi = Math.max(upper, lower);
    return hi + Math.log1p(Math.exp(Math.min(upper, lower) - hi));
  }

  /**
   * {@code log P(T ≥ q)} for q &gt; 0 by the saddle point: −∞ when q is beyond the largest score the data
   * allow ({@code Σ_{g>0} g_i(1 − μ_i) − Σ_{g<0} g_i μ_i}), NaN when the equation fails numerically.
   */
  static double logUpperTail(double[] g, double[] mu, double q) {
    double max = 0;
    for (int i = 0; i < g.length; i++) {
      max += g[i] > 0 ? g[i] * (1 - mu[i]) : -g[i] * mu[i];
    }
    if (!(q < max)) {
      return Double.NEGATIVE_INFINITY;
    }
    double zeta = root(g, mu, q);
    if (Double.isNaN(zeta)) {
      return Double.NaN;
    }
    double[] k = cumulants(g, mu, zeta);
    double w = Math.signum(zeta) * Math.sqrt(Math.max(0, 2 * (zeta * q - k[0])));
    double v = zeta * Math.sqrt(k[2]);
    if (w == 0 || v <= 0) {
      return Double.NaN;
    }
    double x = w + Math.log(v / w) / w;
    return logNormalUpper(x);
  }

  /** K(t), K'(t), K''(t). */
  static double[] cumulants(double[] g, double[] mu, double t) {
    double k0 = 0;
    double k1 = 0;
    double k2 = 0;
    for (int i = 0; i < g.length; i++) {
      double gt = g[i] * t;
      double m = mu[i];
      // log(1 − μ + μe^{gt}) computed stably for large |gt|.
      double log;
      double pe;
      if (gt > 0) {
        double e = Math.exp(-gt);
        log = gt + Math.log((1 - m) * e + m);
        pe = m / ((1 - m) * e + m);
      } else {
        double e = Math.exp(gt);
        log = Math.log1p(m * (e - 1));
        pe = m * e / (1 - m + m * e);
      }
      k0 += log - g[i] * m * t;
      k1 += g[i] * (pe - m);
      k2 += g[i] * g[i] * pe * (1 - pe);
    }
    return new double[] {k0, k1, k2};
  }

  /**
   * The root of {@code K'(ζ) = q} by safeguarded Newton (K' is increasing), q attainable; NaN if not found.
   * Starts at the normal approximation's {@code q/K''(0)} (usually within a few Newton steps of ζ) and keeps
   * a bracket {@code [lo, hi]}: a step leaving it bisects, or doubles while no upper end is known. Each step
   * costs one exp per sample ({@link #slopeAndCurvature}: K' and K'', not K).
   */
  static double root(double[] g, double[] mu, double q) {
    double[] k = new double[2];
    slopeAndCurvature(g, mu, 0, k);
    double lo = 0;
    double hi = Double.POSITIVE_INFINITY;
    double t = k[1] > 0 ? q / k[1] : 1;
    for (int it = 0; it < 200; it++) {
      slopeAndCurvature(g, mu, t, k);
      double f = k[0] - q;
      if (f > 0) {
        hi = t;
      } else {
        lo = t;
      }
      double next = k[1] > 0 ? t - f / k[1] : Double.NaN;
      if (!(next > lo && next < hi)) {
        next = hi == Double.POSITIVE_INFINITY ? 2 * Math.max(lo, 0.5) : (lo + hi) / 2;
      }
      if (next > 1e8) {
        return Double.NaN;
      }
      if (Math.abs(next - t) <= 1e-12 * Math.max(1, Math.abs(t))) {
        return next;
      }
      t = next;
    }
    return t;
  }

  /** {@code K'(t)} and {@code K''(t)} into {@code out}: {@link #cumulants} without the log of K. */
  static void slopeAndCurvature(double[] g, double[] mu, double t, double[] out) {
    double k1 = 0;
    double k2 = 0;
    for (int i = 0; i < g.length; i++) {
      double gt = g[i] * t;
      double m = mu[i];
      double pe;
      if (gt > 0) {
        pe = m / ((1 - m) * Math.exp(-gt) + m);
      } else {
        double e = Math.exp(gt);
        pe = m * e / (1 - m + m * e);
      }
      k1 += g[i] * (pe - m);
      k2 += g[i] * g[i] * pe * (1 - pe);
    }
    out[0] = k1;
    out[1] = k2;
  }

  private static double logNormalUpper(double x) {
    if (x < 5) {
      return Math.log(NORMAL.cumulativeProbability(-x));
    }
    // Mills-ratio series for the far tail, where 1 − Φ(x) underflows: φ(x)/x · (1 − 1/x² + 3/x⁴ − 15/x⁶).
    double x2 = x * x;
    return -0.5 * x2 - Math.log(x) - 0.5 * Math.log(2 * Math.PI) + Math.log1p(-1 / x2 + 3 / (x2 * x2) - 15 / (x2 * x2 * x2));
  }

  private static double[] negate(double[] g) {
    double[] n = new double[g.length];
    for (int i = 0; i < g.length; i++) {
      n[i] = -g[i];
    }
    return n;
  }
}
