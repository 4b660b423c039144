package org.lmmspark.engine.testing;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The project's one tolerance helper. A value passes when {@code |actual − expected| ≤ absTol +
 * relTol·|expected|}; NaN matches only NaN. Failures name the index (or label) and both values.
 */
public final class Tolerance {
  private Tolerance() {}

  public static void assertClose(double actual, double expected, double absTol, double relTol, String what) {
    if (Double.isNaN(expected) && Double.isNaN(actual)) {
      return;
    }
    double diff = Math.abs(actual - expected);
    if (!(diff <= absTol + relTol * Math.abs(expected))) {
      fail(String.format("%s: actual %.10g, expected %.10g (|diff| %.3g > abs %.1g + rel %.1g)",
          what, actual, expected, diff, absTol, relTol));
    }
  }

  public static void assertClose(double[] actual, double[] expected, double absTol, double relTol, String what) {
    if (actual.length != expected.length) {
      fail(what + ": length " + actual.length + ", expected " + expected.length);
    }
    for (int i = 0; i < actual.length; i++) {
      assertClose(actual[i], expected[i], absTol, relTol, what + "[" + i + "]");
    }
  }
}
