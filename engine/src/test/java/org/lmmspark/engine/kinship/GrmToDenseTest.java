package org.lmmspark.engine.kinship;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.io.SampleId;

/**
 * {@link Grm#toDense(int[])} against the packed lower triangle read entry by entry, for rows in file order, reordered
 * and a subset, across more than one of its 64×64 fill tiles.
 */
class GrmToDenseTest {

  @Test
  void denseEntriesAreThePackedOnesOfTheChosenRows() {
    int n = 150;
    Random rnd = new Random(5);
    float[] lower = new float[n * (n + 1) / 2];
    for (int i = 0; i < lower.length; i++) {
      lower[i] = rnd.nextFloat();
    }
    List<SampleId> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(new SampleId("f" + i, "i" + i));
    }
    Grm grm = new Grm(ids, lower, null);
    int[] inOrder = new int[n];
    for (int i = 0; i < n; i++) {
      inOrder[i] = i;
    }
    int[] shuffled = inOrder.clone();
    for (int i = n - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = shuffled[i];
      shuffled[i] = shuffled[j];
      shuffled[j] = t;
    }
    int[] subset = java.util.Arrays.copyOf(shuffled, 97);
    for (int[] rows : new int[][] {inOrder, shuffled, subset}) {
      double[] dense = grm.toDense(rows);
      int m = rows.length;
      for (int c = 0; c < m; c++) {
        for (int r = 0; r < m; r++) {
          int hi = Math.max(rows[r], rows[c]);
          int lo = Math.min(rows[r], rows[c]);
          assertEquals(lower[hi * (hi + 1) / 2 + lo], dense[r + c * m], 0.0, "entry (" + r + ", " + c + ")");
        }
      }
    }
  }
}
