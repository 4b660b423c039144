package org.lmmspark.engine.glmm;

import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Dempster–Lerner transformation against simulated liability-threshold truth: sib-pairs share a
 * family liability component of variance {@code t/2} ({@code t} the heritability of a trait whose
 * family resemblance is additive; sibs share half), the trait is liability above the threshold of
 * prevalence K; the observed-scale heritability from the sib correlation of the 0/1 trait, {@code 2r},
 * transformed to the liability scale, recovers t. The transformation is first-order in the liability
 * correlation (its error O(t²/4) at small correlations; Lee et al. 2011), so the check uses a modest t
 * and a tolerance of 10% relative, well above the sampling error of 400,000 pairs (~1.5%).
 */
class LiabilityScaleTest {

  @Test
  void recoversTheLiabilityHeritabilityOfSimulatedSibPairs() {
    SplittableRandom rnd = new SplittableRandom(42);
    double h2 = 0.3;
    double prevalence = 0.1;
    double threshold = new org.apache.commons.math3.distribution.NormalDistribution(null, 0, 1)
        .inverseCumulativeProbability(1 - prevalence);
    int pairs = 400_000;
    double sx = 0;
    double sy = 0;
    double sxy = 0;
    double sxx = 0;
    double syy = 0;
    for (int f = 0; f < pairs; f++) {
      double shared = Math.sqrt(h2 / 2) * rnd.nextGaussian();
      double a = shared + Math.sqrt(1 - h2 / 2) * rnd.nextGaussian() > threshold ? 1 : 0;
      double b = shared + Math.sqrt(1 - h2 / 2) * rnd.nextGaussian() > threshold ? 1 : 0;
      sx += a;
      sy += b;
      sxy += a * b;
      sxx += a * a;
      syy += b * b;
    }
    double mx = sx / pairs;
    double my = sy / pairs;
    double r = (sxy / pairs - mx * my) / Math.sqrt((sxx / pairs - mx * mx) * (syy / pairs - my * my));
    double caseProportion = (sx + sy) / (2.0 * pairs);
    double observed = 2 * r;
    assertClose(observed * LiabilityScale.factor(prevalence, caseProportion), h2, 0, 0.10, "liability h2");
  }

  @Test
  void ascertainmentFactorReducesToDempsterLernerWhenTheSampleIsRandom() {
    // K = P: the factor is K(1 − K)/z², Dempster & Lerner's; with P = 0.5 for K = 0.01 it is larger by
    // K(1−K)/(P(1−P)) = 0.0396 — checked against the formula's pieces written out.
    double z = 0.02665214220345808; // φ(Φ⁻¹(0.99))
    assertClose(LiabilityScale.factor(0.01, 0.01), 0.01 * 0.99 / (z * z), 0, 1e-12, "random sample");
    assertClose(LiabilityScale.factor(0.01, 0.5), 0.01 * 0.99 / (z * z) * 0.0099 / 0.25, 0, 1e-12, "case-control");
  }
}
