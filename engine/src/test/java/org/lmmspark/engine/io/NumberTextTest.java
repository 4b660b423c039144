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
    // About every power of ten from 1e-30 to 1e30, where log10 may be one off and the quick route scales by powers
    // that are not exact beyond 1e22: the power itself, its neighbours, and values rounding up into it.
    for (int e = -30; e <= 30; e++) {
      double p = Double.parseDouble("1e" + e);
      for (double x : new double[] {p, Math.nextUp(p), Math.nextDown(p), p * (1 - 4e-7), p * (1 - 6e-7), p * 9.9999951,
          p * 9.9999949}) {
        assertEquals(String.format(Locale.ROOT, "%.6g", x), NumberText.general6(x), () -> "x = " + x);
      }
    }
    // Ties of the shortest digits (seven significant digits ending in 5), rounded up as Formatter does.
    for (int i = 0; i < 100_000; i++) {
      long digits = 1_000_000 + rnd.nextInt(9_000_000) / 10 * 10 + 5;
      double x = digits * Math.pow(10, rnd.nextInt(30) - 20);
      assertEquals(String.format(Locale.ROOT, "%.6g", x), NumberText.general6(x), () -> "x = " + x);
    }
  }

  /**
   * {@link NumberText#appendFixed} (the LD-score files' writer, 3 decimals as ldsc) against {@code "%.Nf"}: random
   * values over the range LD scores take with 0–12 decimals, values on and next to a rounding tie, signed zeros,
   * negative values rounding to zero, large values and non-finite ones.
   */
  @Test
  void appendFixedMatchesFormatOverDecimalsTiesAndExtremes() {
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(14);
    for (int t = 0; t < 200_000; t++) {
      int digits = t % 3 == 0 ? 3 : rnd.nextInt(1, 13);
      double magnitude = Math.pow(10, rnd.nextDouble(-6, 4));
      checkFixed((rnd.nextBoolean() ? -1 : 1) * rnd.nextDouble() * magnitude, digits);
    }
    for (int k = 0; k < 20_000; k++) {
      // Ties and their neighbours: k + 0.5 thousandths, one ulp either side.
      double tie = (k + 0.5) / 1000;
      for (double x : new double[] {tie, Math.nextUp(tie), Math.nextDown(tie), -tie}) {
        checkFixed(x, 3);
      }
    }
    for (double x : new double[] {0.0, -0.0, -0.0004, -0.0005, -0.0006, 0.0005, 1.0005, 2.5, 1e7, 1e9, -1e9,
        Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.MIN_VALUE}) {
      for (int digits = 0; digits <= 12; digits++) {
        checkFixed(x, digits);
      }
    }
  }

  private static void checkFixed(double x, int digits) {
    String fmt = "%." + digits + "f";
    String prefix = "CHR\t";
    StringBuilder sb = new StringBuilder(prefix);
    NumberText.appendFixed(sb, x, digits);
    assertEquals(prefix + String.format(Locale.ROOT, fmt, x), sb.toString(), "x = " + x + ", digits " + digits);
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
