package org.lmmspark.jobs.matfree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lmmspark.jobs.matfree.DistributedGenotypeProducts.Partial;

/**
 * The tasks' partial sums of one product ({@link Partial}) reduced in whatever order the tasks finish give the same
 * sums to the bit: without it two runs of the same command differed in the sixth digit of ~6% of their statistics.
 */
class PartialSumsTest {

  @Test
  void partialsMergedInAnyOrderGiveTheSameSums() {
    Random rnd = new Random(3);
    int n = 500;
    int outputs = 6;
    List<Partial> tasks = new ArrayList<>();
    for (int t = 0; t < 9; t++) {
      // Each task holds a subset of the outputs (a column split by chromosome: only those its range touches).
      List<Integer> held = new ArrayList<>();
      for (int c = 0; c < outputs; c++) {
        if (c < 2 || rnd.nextBoolean()) {
          held.add(c);
        }
      }
      double[] values = new double[n * held.size()];
      for (int i = 0; i < values.length; i++) {
        values[i] = rnd.nextGaussian() * Math.pow(10, 6 * rnd.nextDouble() - 3);
      }
      tasks.add(new Partial(n, held.stream().mapToInt(Integer::intValue).toArray(), values, null));
    }
    double[] first = null;
    for (int trial = 0; trial < 12; trial++) {
      List<Partial> order = new ArrayList<>();
      for (Partial p : tasks) {
        order.add(new Partial(n, p.columns().clone(), p.values().clone(), null)); // add works in place
      }
      Collections.shuffle(order, rnd);
      Partial sum = order.get(0);
      for (int t = 1; t < order.size(); t++) {
        sum = sum.add(order.get(t));
      }
      double[] resolved = sum.resolved();
      assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, sum.columns());
      if (first == null) {
        first = resolved.clone();
      } else {
        assertArrayEquals(first, resolved, 0, "order " + trial);
      }
    }
  }
}
