package org.lmmspark.engine.ldscore;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The scores file's quick fixed-point formatting against the JDK's {@code String.format("%.Nf")} (what
 * the file held before, and what ldsc's {@code %.3f} writes up to its own half-even ties): the same
 * characters for random values over the range LD scores take, values on and next to a rounding tie,
 * signed zeros, negative values rounding to zero, large values and non-finite ones.
 */
class LdScoreFilesTest {
  private static void check(double x, int digits) {
    String fmt = "%." + digits + "f";
    StringBuilder sb = new StringBuilder();
    LdScoreFiles.appendFixed(sb, x, digits, fmt);
    assertEquals(String.format(Locale.ROOT, fmt, x), sb.toString(), "x = " + x + ", digits " + digits);
  }

  @Test
  void sameCharactersAsTheJdkFormatter() {
    SplittableRandom rnd = new SplittableRandom(14);
    for (int t = 0; t < 200_000; t++) {
      int digits = t % 3 == 0 ? 3 : rnd.nextInt(1, 13);
      double magnitude = Math.pow(10, rnd.nextDouble(-6, 4));
      check((rnd.nextBoolean() ? -1 : 1) * rnd.nextDouble() * magnitude, digits);
    }
    for (int k = 0; k < 20_000; k++) {
      // Ties and their neighbours: k + 0.5 thousandths, one ulp either side.
      double tie = (k + 0.5) / 1000;
      for (double x : new double[] {tie, Math.nextUp(tie), Math.nextDown(tie), -tie}) {
        check(x, 3);
      }
    }
    for (double x : new double[] {0.0, -0.0, -0.0004, -0.0005, -0.0006, 0.0005, 1.0005, 2.5, 1e7, 1e9, -1e9,
        Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.MIN_VALUE}) {
      for (int digits = 0; digits <= 12; digits++) {
        check(x, digits);
      }
    }
  }
}
