package org.lmmspark.engine.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CompensatedSumTest {

  /**
   * Partial sums as Spark's reductions merge them: the same terms in any order and grouping. Plain double sums of these
   * terms (magnitudes over eight decades, both signs) differ between orders in the last bits; the compensated merges
   * resolve to the same doubles, each the exact sum rounded to nearest (BigDecimal).
   */
  @Test
  void mergedInAnyOrderAndGroupingTheSumsAreTheExactSumsRounded() {
    Random rnd = new Random(7);
    int n = 2_000;
    int parts = 12;
    List<double[]> terms = new ArrayList<>();
    for (int p = 0; p < parts; p++) {
      double[] t = new double[n];
      for (int i = 0; i < n; i++) {
        t[i] = (rnd.nextBoolean() ? 1 : -1) * Math.pow(10, 8 * rnd.nextDouble() - 4) * (1 + rnd.nextDouble());
      }
      terms.add(t);
    }
    double[] exact = new double[n];
    for (int i = 0; i < n; i++) {
      BigDecimal s = BigDecimal.ZERO;
      for (double[] t : terms) {
        s = s.add(new BigDecimal(t[i]));
      }
      exact[i] = s.round(MathContext.DECIMAL128).doubleValue();
    }
    int plainDiffers = 0;
    double[] firstPlain = null;
    for (int trial = 0; trial < 20; trial++) {
      List<double[]> order = new ArrayList<>(terms);
      Collections.shuffle(order, rnd);
      // A random binary tree of merges: repeatedly merge two random pending sums (as a reduction tree does).
      List<double[][]> pending = new ArrayList<>();
      for (double[] t : order) {
        pending.add(new double[][] {t.clone(), null});
      }
      while (pending.size() > 1) {
        double[][] a = pending.remove(rnd.nextInt(pending.size()));
        double[][] b = pending.remove(rnd.nextInt(pending.size()));
        double[] c = a[1] != null ? a[1] : new double[n];
        CompensatedSum.addInto(a[0], c, 0, b[0], b[1], 0, n);
        pending.add(new double[][] {a[0], c});
      }
      double[] merged = pending.get(0)[0];
      CompensatedSum.resolve(merged, pending.get(0)[1]);
      assertArrayEquals(exact, merged, 0, "trial " + trial);

      double[] plain = new double[n];
      for (double[] t : order) {
        for (int i = 0; i < n; i++) {
          plain[i] += t[i];
        }
      }
      if (firstPlain == null) {
        firstPlain = plain;
      } else {
        for (int i = 0; i < n; i++) {
          plainDiffers += plain[i] != firstPlain[i] ? 1 : 0;
        }
      }
    }
    // The case the compensation is for: plain sums of the same terms do depend on the order.
    assertTrue(plainDiffers > 0, "plain sums never differed between orders");
  }
}
