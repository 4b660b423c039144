package org.lmmspark.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link NumberText} against {@link String#format}, the layouts it stands in for. */
class NumberTextTest {

  @Test
  void generalMatchesFormatOverTwentyDecadesAndAtItsSwitchPoints() {
    Random rnd = new Random(17);
    for (int i = 0; i < 1_000_000; i++) {
      double x = (rnd.nextBoolean() ? -1 : 1) * Math.pow(10, rnd.nextDouble() * 20 - 10);
      assertEquals(String.format(Locale.ROOT, "%.6g", x), NumberText.general6(x), () -> "x = " + x);
    }
    // Where the layout switches (exponent −5/−4 and 5/6 after rounding), carries, extremes, zeros, non-finite.
    double[] edges = {1e-4, 9.9999949e-5, 9.9999951e-5, 0.000123456789, 999999.4, 999999.6, 999999.5, 99999.95,
        123456.0, 1e6, 1.0, 0.5, 9.999996, 1e-300, Double.MIN_VALUE, Double.MAX_VALUE, 0.0, -0.0, 3.14159e-100,
        Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
    for (double x : edges) {
      assertEquals(String.format(Locale.ROOT, "%.6g", x), NumberText.general6(x), () -> "x = " + x);
      assertEquals(String.format(Locale.ROOT, "%.6g", -x), NumberText.general6(-x), () -> "x = " + -x);
    }
    // Ties of the shortest digits (seven significant digits ending in 5), rounded up as Formatter does.
    for (int i = 0; i < 100_000; i++) {
      long digits = 1_000_000 + rnd.nextInt(9_000_000) / 10 * 10 + 5;
      double x = digits * Math.pow(10, rnd.nextInt(30) - 20);
      assertEquals(String.format(Locale.ROOT, "%.6g", x), NumberText.general6(x), () -> "x = " + x);
    }
  }

  @Test
  void fixedMatchesFormat() {
    Random rnd = new Random(18);
    for (int i = 0; i < 300_000; i++) {
      double x = (rnd.nextBoolean() ? -1 : 1) * Math.pow(10, rnd.nextDouble() * 10 - 6);
      assertEquals(String.format(Locale.ROOT, "%.4f", x), NumberText.fixed(x, 4), () -> "x = " + x);
    }
    for (double x : new double[] {0.0, -0.0, -0.00001, 0.99999, 123.45675, 1e15, Double.NaN}) {
      assertEquals(String.format(Locale.ROOT, "%.4f", x), NumberText.fixed(x, 4), () -> "x = " + x);
    }
  }
}
