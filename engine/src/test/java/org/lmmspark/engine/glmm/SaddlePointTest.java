package org.lmmspark.engine.glmm;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.stats.ChiSquared;

/**
 * The saddle-point p-value against the exact distribution of the score, computed plainly: with integer
 * genotypes g ∈ {0, 1, 2}, {@code S = Σ g_i y_i} over independent Bernoulli(μ_i) has a lattice
 * distribution that a convolution (one polynomial product per sample) gives exactly, and
 * {@code T = S − Σ g_i μ_i}. A continuous approximation of a lattice variable is aimed at the mid-p
 * value {@code P(S > s) + ½P(S = s)}, so SPA is compared with the exact mid-p.
 */
class SaddlePointTest {

  /** P(S = s) for s = 0..2n by convolution. */
  static double[] exactDistribution(int[] g, double[] mu) {
    double[] p = new double[1];
    p[0] = 1;
    for (int i = 0; i < g.length; i++) {
      double[] next = new double[p.length + g[i]];
      for (int s = 0; s < p.length; s++) {
        next[s] += p[s] * (1 - mu[i]);
        next[s + g[i]] += p[s] * mu[i];
      }
      p = next;
    }
    return p;
  }

  /** Two-sided exact mid-p of the observed S: tails at least as far from the mean as the observed one. */
  static double exactMidP(double[] dist, double mean, int observed) {
    double d = Math.abs(observed - mean);
    double p = 0;
    for (int s = 0; s < dist.length; s++) {
      double ds = Math.abs(s - mean);
      if (ds > d + 1e-9) {
        p += dist[s];
      } else if (Math.abs(ds - d) <= 1e-9) {
        p += dist[s] / 2;
      }
    }
    return p;
  }

  @Test
  void rareVariantWithOnePercentCasesMatchesTheExactTail() {
    SplittableRandom rnd = new SplittableRandom(7);
    int n = 5000;
    int[] g = new int[n];
    double[] gd = new double[n];
    double[] mu = new double[n];
    for (int i = 0; i < n; i++) {
      // ~1% cases, probabilities varying with a covariate; a variant of MAF 0.4%.
      double eta = -4.6 + 0.5 * (rnd.nextDouble() - 0.5);
      mu[i] = 1 / (1 + Math.exp(-eta));
      g[i] = (rnd.nextDouble() < 0.008 ? 1 : 0) + (rnd.nextDouble() < 0.0001 ? 1 : 0);
      gd[i] = g[i];
    }
    double[] dist = exactDistribution(g, mu);
    double mean = 0;
    for (int i = 0; i < n; i++) {
      mean += g[i] * mu[i];
    }
    int significantChecks = 0;
    for (int observed = 2; observed <= 6; observed++) {
      double exact = exactMidP(dist, mean, observed);
      double spa = Math.exp(SaddlePoint.logPValue(gd, mu, observed - mean, 1));
      double var = 0;
      for (int i = 0; i < n; i++) {
        var += gd[i] * gd[i] * mu[i] * (1 - mu[i]);
      }
      double z = (observed - mean) / Math.sqrt(var);
      double normal = ChiSquared.upperTail(z * z, 1);
      // SPA within a factor 2 of the exact mid-p (measured: 0.64–0.78 of it at S = 2..6): the expected
      // count is 0.42, so the lattice step is twice the mean and no continuous approximation does much
      // better; the normal approximation is off by 10× to 10⁷× in the same tail.
      assertClose(Math.log10(spa), Math.log10(exact), 0.3, 0, "log10 p, S = " + observed);
      if (exact < 1e-3) {
        assertTrue(normal < exact / 10, "normal p " + normal + " vs exact " + exact + " at S = " + observed);
        significantChecks++;
      }
    }
    assertTrue(significantChecks >= 2, "the test must reach the far tail");
  }

  @Test
  void bulkOfTheDistributionIsTheNormalApproximation() {
    SplittableRandom rnd = new SplittableRandom(11);
    int n = 2000;
    double[] g = new double[n];
    double[] mu = new double[n];
    double var = 0;
    for (int i = 0; i < n; i++) {
      g[i] = rnd.nextInt(3) - 0.8;
      mu[i] = 0.3;
      var += g[i] * g[i] * mu[i] * (1 - mu[i]);
    }
    double score = 1.5 * Math.sqrt(var);
    assertClose(SaddlePoint.logPValue(g, mu, score, 1), ChiSquared.logUpperTail(2.25, 1), 1e-12, 0, "|z| < 2");
    // With a common variant at 30% cases the score is nearly normal: SPA and normal agree at z = 4 too.
    double spa = SaddlePoint.logPValue(g, mu, 4 * Math.sqrt(var), 1);
    assertClose(spa, ChiSquared.logUpperTail(16, 1), 0.05, 0, "z = 4, common variant, balanced");
    // A variance ratio of 2 halves χ²: z = 4 becomes z = 2.83.
    assertClose(SaddlePoint.logPValue(g, mu, 4 * Math.sqrt(var) * Math.sqrt(2), 2), spa, 1e-9, 0, "variance ratio");
  }

  /**
   * The scan's path ({@code logPValue} with precomputed logit μ and K''(0), one branch-free exp per sample
   * and Newton step) against the saddle point computed from the definition: {@code K'(t) = Σ g_i(μ_ie^{g_it}/
   * (1 − μ_i + μ_ie^{g_it}) − μ_i)} and {@code K(t) = Σ log(1 − μ_i + μ_ie^{g_it}) − tΣg_iμ_i} written
   * plainly (|g_i t| stays far from overflow here), ζ by bisection, Barndorff-Nielsen's formula, the lower
   * tail as the upper tail of −g, the two tails added. Covariate-adjusted genotypes (continuous, both signs),
   * μ from 2% to 60%, scores from 2 to 7 SDs on both sides. 1e-9 on ln p: the root to 1e-12 relative against
   * bisection to 1e-15, and sums of n = 3000 terms in another order.
   */
  @Test
  void scanPathEqualsTheDefinition() {
    SplittableRandom rnd = new SplittableRandom(5);
    int n = 3000;
    double[] g = new double[n];
    double[] mu = new double[n];
    double var = 0;
    for (int i = 0; i < n; i++) {
      mu[i] = 0.02 + 0.58 * rnd.nextDouble();
      // MAF 5% counts minus a covariate fit: rare positive values, a continuum of small negative ones.
      g[i] = (rnd.nextDouble() < 0.05 ? 1 : 0) + (rnd.nextDouble() < 0.05 ? 1 : 0) - 0.1 - 0.05 * rnd.nextGaussian();
      var += g[i] * g[i] * mu[i] * (1 - mu[i]);
    }
    double[] logit = SaddlePoint.logits(mu);
    for (double sds : new double[] {-7, -4, -2.5, 2.5, 4, 7}) {
      double score = sds * Math.sqrt(var);
      for (double ratio : new double[] {1, 1.3}) {
        double q = Math.abs(score) / Math.sqrt(ratio);
        double upper = definitionUpperTail(g, mu, q);
        double[] neg = new double[n];
        for (int i = 0; i < n; i++) {
          neg[i] = -g[i];
        }
        double lower = definitionUpperTail(neg, mu, q);
        double expected = Math.log(Math.exp(upper) + Math.exp(lower));
        String what = "ln p at " + sds + " SD, variance ratio " + ratio;
        assertClose(SaddlePoint.logPValue(g, mu, logit, score, ratio, var),
            expected, 1e-9, 0, what);
        assertClose(SaddlePoint.logPValue(g, mu, score, ratio), expected, 1e-9, 0, what + " (plain entry)");
      }
    }
  }

  /** ln P(T ≥ q) by the saddle point from the definition (see above). */
  private static double definitionUpperTail(double[] g, double[] mu, double q) {
    double lo = 0;
    double hi = 1e-3;
    while (definitionCumulants(g, mu, hi)[1] < q) {
      hi *= 2;
    }
    for (int it = 0; it < 200 && hi - lo > 1e-15 * hi; it++) {
      double mid = 0.5 * (lo + hi);
      if (definitionCumulants(g, mu, mid)[1] < q) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    double zeta = 0.5 * (lo + hi);
    double[] k = definitionCumulants(g, mu, zeta);
    double w = Math.sqrt(2 * (zeta * q - k[0]));
    double v = zeta * Math.sqrt(k[2]);
    double x = w + Math.log(v / w) / w;
    return Math.log(new org.apache.commons.math3.distribution.NormalDistribution(null, 0, 1).cumulativeProbability(-x));
  }

  private static double[] definitionCumulants(double[] g, double[] mu, double t) {
    double k0 = 0;
    double k1 = 0;
    double k2 = 0;
    for (int i = 0; i < g.length; i++) {
      double e = Math.exp(g[i] * t);
      double p = mu[i] * e / (1 - mu[i] + mu[i] * e);
      k0 += Math.log(1 - mu[i] + mu[i] * e) - t * g[i] * mu[i];
      k1 += g[i] * (p - mu[i]);
      k2 += g[i] * g[i] * p * (1 - p);
    }
    return new double[] {k0, k1, k2};
  }
}
