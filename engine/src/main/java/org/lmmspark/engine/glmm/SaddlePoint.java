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
    return logPValue(g, mu, logits(mu), score, varianceRatio, var);
  }

  /** {@code logit μ_i}, the form of the null probabilities the Newton steps use ({@link #slopeAndCurvature}). */
  public static double[] logits(double[] mu) {
    double[] a = new double[mu.length];
    for (int i = 0; i < mu.length; i++) {
      a[i] = Math.log(mu[i] / (1 - mu[i]));
    }
    return a;
  }

  /**
   * As {@link #logPValue(double[], double[], double, double)} with what a scan already has per model and
   * per variant: {@code logitMu} ({@link #logits}) and {@code independentVariance = Σ g_i² μ_i(1 − μ_i)}
   * (= K''(0), the start of both roots). No allocation: the scan's SPA path.
   */
  public static double logPValue(double[] g, double[] mu, double[] logitMu, double score, double varianceRatio,
      double independentVariance) {
    double var = independentVariance;
    if (!(var > 0)) {
      return 0;
    }
    double q = score / Math.sqrt(varianceRatio);
    double z = q / Math.sqrt(var);
    if (Math.abs(z) < NORMAL_CUTOFF) {
      return ChiSquared.logUpperTail(z * z, 1);
    }
    // The largest attainable score of each tail: Σ_{g>0} g_i(1 − μ_i) − Σ_{g<0} g_i μ_i for T, the same for −T.
    double maxUpper = 0;
    double maxLower = 0;
    for (int i = 0; i < g.length; i++) {
      double pos = Math.max(g[i], 0);
      double neg = Math.max(-g[i], 0);
      maxUpper += pos * (1 - mu[i]) + neg * mu[i];
      maxLower += neg * (1 - mu[i]) + pos * mu[i];
    }
    double upper = logUpperTail(g, 1, mu, logitMu, Math.abs(q), var, maxUpper);
    double lower = logUpperTail(g, -1, mu, logitMu, Math.abs(q), var, maxLower);
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
   * {@code log P(sign·T ≥ q)} for q &gt; 0 by the saddle point, {@code sign = ±1} (the lower tail of T is the
   * upper tail of the score of {@code −g}): −∞ when q is at or beyond {@code max}, the largest score the data
   * allow, NaN when the equation fails numerically. {@code k2AtZero = K''(0) = Σ g_i² μ_i(1 − μ_i)}.
   */
  static double logUpperTail(double[] g, double sign, double[] mu, double[] logitMu, double q, double k2AtZero,
      double max) {
    if (!(q < max)) {
      return Double.NEGATIVE_INFINITY;
    }
    double zeta = root(g, sign, mu, logitMu, q, k2AtZero);
    if (Double.isNaN(zeta)) {
      return Double.NaN;
    }
    double[] k = cumulants(g, sign, mu, zeta);
    double w = Math.signum(zeta) * Math.sqrt(Math.max(0, 2 * (zeta * q - k[0])));
    double v = zeta * Math.sqrt(k[2]);
    if (w == 0 || v <= 0) {
      return Double.NaN;
    }
    double x = w + Math.log(v / w) / w;
    return logNormalUpper(x);
  }

  /** K(t), K'(t), K''(t) of the score of {@code sign·g}. */
  static double[] cumulants(double[] g, double sign, double[] mu, double t) {
    double k0 = 0;
    double k1 = 0;
    double k2 = 0;
    for (int i = 0; i < g.length; i++) {
      double gi = sign * g[i];
      double gt = gi * t;
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
      k0 += log - gi * m * t;
      k1 += gi * (pe - m);
      k2 += gi * gi * pe * (1 - pe);
    }
    return new double[] {k0, k1, k2};
  }

  /**
   * The root of {@code K'(ζ) = q} (score of {@code sign·g}) by safeguarded Newton (K' is increasing), q
   * attainable; NaN if not found. Starts at the normal approximation's {@code q/K''(0)} (usually within a few
   * Newton steps of ζ) and keeps a bracket {@code [lo, hi]}: a step leaving it bisects, or doubles while no
   * upper end is known. Each step is one pass over the samples ({@link #slopeAndCurvature}).
   */
  static double root(double[] g, double sign, double[] mu, double[] logitMu, double q, double k2AtZero) {
    double[] k = new double[2];
    double lo = 0;
    double hi = Double.POSITIVE_INFINITY;
    double t = k2AtZero > 0 ? q / k2AtZero : 1;
    for (int it = 0; it < 200; it++) {
      slopeAndCurvature(g, sign, mu, logitMu, t, k);
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

  /**
   * {@code K'(t)} and {@code K''(t)} of the score of {@code sign·g} into {@code out}: {@link #cumulants}
   * without the log of K, and without a branch on the sample: with {@code u = logit μ_i + g_i t} the tilted
   * probability is {@code μ_i e^{g_i t}/(1 − μ_i + μ_i e^{g_i t}) = 1/(1 + e^{−u})} and its complement
   * {@code e^{−u}/(1 + e^{−u})}, one exp per sample (the exponent capped at 700, where the probability is 0
   * to double precision, so that e^{−u}·p stays finite). The scan's hot loop: the sign of g_i is random over
   * samples, and a branch on it mispredicts.
   */
  static void slopeAndCurvature(double[] g, double sign, double[] mu, double[] logitMu, double t, double[] out) {
    double k1 = 0;
    double k2 = 0;
    double st = sign * t;
    for (int i = 0; i < g.length; i++) {
      double gi = g[i];
      double e = Math.exp(Math.min(-(logitMu[i] + gi * st), 700));
      double pe = 1 / (1 + e);
      // sign² = 1: K' of sign·g is sign·Σ g_i(p_i − μ_i), K'' is Σ g_i² p_i(1 − p_i).
      k1 += gi * (pe - mu[i]);
      k2 += gi * gi * pe * (e * pe);
    }
    out[0] = sign * k1;
    out[1] = k2;
  }

  private static double logNormalUpper(double x) {
    if (x < 37) {
      // erfc-based, relative accuracy kept far into the tail (the series below is off by ~105/x⁸: 2e-5 at x = 7).
      return Math.log(NORMAL.cumulativeProbability(-x));
    }
    // Mills-ratio series where 1 − Φ(x) underflows (x ≳ 38): φ(x)/x · (1 − 1/x² + 3/x⁴ − 15/x⁶), off by &lt; 1e-10.
    double x2 = x * x;
    return -0.5 * x2 - Math.log(x) - 0.5 * Math.log(2 * Math.PI) + Math.log1p(-1 / x2 + 3 / (x2 * x2) - 15 / (x2 * x2 * x2));
  }
}
