package org.lmmspark.engine.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import org.junit.jupiter.api.Test;

/** {@link Normal#twoSidedP} against R's {@code 2 * pnorm(-z)} and, over a grid, against commons-math. */
class NormalTest {

  @Test
  void matchesRsPnorm() {
    // R 4.2: 2 * pnorm(-c(0.5, 1.96, 3, 5, 10)) (printed to 7 significant digits)
    double[] z = {0.5, 1.96, 3, 5, 10};
    double[] r = {0.6170751, 0.04999579, 0.002699796, 5.733031e-07, 1.523971e-23};
    for (int i = 0; i < z.length; i++) {
      assertClose(Normal.twoSidedP(z[i]), r[i], 0, 1e-6, "z = " + z[i]);
      assertClose(Normal.twoSidedP(-z[i]), r[i], 0, 1e-6, "z = " + -z[i]);
    }
    assertEquals(1.0, Normal.twoSidedP(0), 1e-16);
    assertEquals(0.0, Normal.twoSidedP(Double.POSITIVE_INFINITY));
    assertEquals(Double.NaN, Normal.twoSidedP(Double.NaN));
  }

  @Test
  void matchesCommonsMathOverAGrid() {
    // A different algorithm (commons-math's erfc through its regularized gamma functions), to 1e-12 relative
    // on both sides of the series/fraction switch (|z| = 1.2 √2 ≈ 1.70) and far into the tail.
    org.apache.commons.math3.distribution.NormalDistribution normal =
        new org.apache.commons.math3.distribution.NormalDistribution(null, 0, 1);
    for (double z = 0; z <= 37; z += 0.0625) {
      assertClose(Normal.twoSidedP(z), 2 * normal.cumulativeProbability(-z), 0, 1e-12, "z = " + z);
    }
  }
}
