package org.lmmspark.engine.reml;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link AiReml}'s messages are formatted with {@code Locale.US} (no locale data to load in a short fit) where the
 * project's convention is {@code Locale.ROOT}: the two must give the same text for its conversions.
 */
class AiRemlMessageLocaleTest {

  @Test
  void usAndRootGiveTheSameMessages() {
    Random rnd = new Random(3);
    List<Double> values = new ArrayList<>(List.of(0.0, -0.0, 1.0, -1.0, 9.995e-5, 9.9949e-5, 0.5, 1e300, -1e-300,
        Double.MIN_VALUE, Double.MAX_VALUE, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY));
    for (int i = 0; i < 20_000; i++) {
      values.add(rnd.nextGaussian() * Math.pow(10, rnd.nextInt(60) - 30));
      values.add(Double.longBitsToDouble(rnd.nextLong()));
    }
    String[] formats = {"%s after %d iterations (last AI step %.2e of Σθ, tolerance %.0e)",
        "converged after %d iterations (|ΔlogL| = %.2e, Newton decrement = %.2e)",
        "no convergence after %d iterations: last |ΔlogL| = %.3e, Newton decrement = %.3e (tolerances %.0e, %.0e); "
            + "last iterate θ = %s"};
    for (int i = 0; i + 1 < values.size(); i++) {
      double a = values.get(i);
      double b = values.get(i + 1);
      int it = rnd.nextInt(2_000_000) - 1_000;
      Object[][] args = {{"converged", it, a, b}, {it, a, b}, {it, a, b, a, b, "(1.00000, 2.00000)"}};
      for (int f = 0; f < formats.length; f++) {
        assertEquals(String.format(Locale.ROOT, formats[f], args[f]), String.format(Locale.US, formats[f], args[f]));
      }
    }
  }
}
