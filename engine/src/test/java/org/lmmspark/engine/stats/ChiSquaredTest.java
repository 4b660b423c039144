package org.lmmspark.engine.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import org.apache.commons.math3.distribution.ChiSquaredDistribution;
import org.junit.jupiter.api.Test;

class ChiSquaredTest {
  @Test
  void matchesCommonsMathWhereItDoesNotUnderflow() {
    for (double df : new double[] {1, 2, 3, 7.5, 40}) {
      ChiSquaredDistribution d = new ChiSquaredDistribution(df);
      for (double x : new double[] {0.01, 0.5, 1, 3.84, 10, 50, 200}) {
        assertClose(ChiSquared.upperTail(x, df), 1 - d.cumulativeProbability(x), 1e-15, 1e-9, "df=" + df + " x=" + x);
      }
    }
  }

  @Test
  void deepTailInLogSpace() {
    // df = 2: P(χ²₂ ≥ x) = exp(−x/2) exactly, so log p = −x/2 even at x = 5000 (p ≈ 1e-1086).
    assertClose(ChiSquared.logUpperTail(5000, 2), -2500, 0, 1e-12, "df=2");
    // df = 1: P = erfc(z), z = sqrt(x/2); asymptotically log erfc(z) = −z² − log(z√π) + log(1 − 1/(2z²) + 3/(4z⁴) − 15/(8z⁶)).
    double x = 3000;
    double z = Math.sqrt(x / 2);
    double expected = -z * z - Math.log(z * Math.sqrt(Math.PI))
        + Math.log(1 - 1 / (2 * z * z) + 3 / (4 * Math.pow(z, 4)) - 15 / (8 * Math.pow(z, 6)));
    assertClose(ChiSquared.logUpperTail(x, 1), expected, 0, 1e-12, "df=1 x=3000");
    String s = ChiSquared.formatLogP(-2500);
    assertEquals("e-1086", s.substring(s.indexOf('e')), s);
  }

  @Test
  void boundaryMixtureHalvesTheChiSquareOneTail() {
    assertEquals(0.0, ChiSquared.logUpperTailBoundaryMixture(0), 0);
    assertClose(Math.exp(ChiSquared.logUpperTailBoundaryMixture(3.84)),
        0.5 * (1 - new ChiSquaredDistribution(1).cumulativeProbability(3.84)), 0, 1e-10, "mixture");
  }
}
