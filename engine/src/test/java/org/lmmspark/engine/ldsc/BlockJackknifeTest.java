package org.lmmspark.engine.ldsc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.testing.Tolerance;

/**
 * The block jackknife against a plain delete-a-block computation written here: each block removed in
 * turn, the regression refitted from scratch on the remaining rows (normal equations by Cramer's rule
 * for p = 2, so no shared solver), pseudovalues and their sample covariance over B spelled out.
 * Tolerance 1e-9 relative: the same estimator through two routes of direct arithmetic.
 */
class BlockJackknifeTest {

  @Test
  void fastJackknifeEqualsRefittingWithoutEachBlock() {
    SplittableRandom rng = new SplittableRandom(7);
    for (int trial = 0; trial < 5; trial++) {
      int n = 300 + rng.nextInt(500);
      int blocks = 10 + rng.nextInt(60);
      double[] x = new double[n * 2];
      double[] y = new double[n];
      for (int r = 0; r < n; r++) {
        x[2 * r] = 1 + 20 * rng.nextDouble();
        x[2 * r + 1] = 1;
        y[r] = 0.3 * x[2 * r] + 1.1 + rng.nextGaussian() * (1 + x[2 * r] / 10);
      }
      int[] sep = BlockJackknife.separators(n, blocks);
      BlockJackknife jk = BlockJackknife.leastSquares(x, y, 2, sep);

      double[] est = fitWithout(x, y, -1, -1);
      Tolerance.assertClose(jk.est(), est, 1e-12, 1e-9, "estimate");
      double[][] pseudo = new double[blocks][];
      for (int b = 0; b < blocks; b++) {
        double[] del = fitWithout(x, y, sep[b], sep[b + 1]);
        Tolerance.assertClose(new double[] {jk.deleteValues()[2 * b], jk.deleteValues()[2 * b + 1]}, del, 1e-12, 1e-9,
            "delete value of block " + b);
        pseudo[b] = new double[] {blocks * est[0] - (blocks - 1) * del[0], blocks * est[1] - (blocks - 1) * del[1]};
      }
      for (int i = 0; i < 2; i++) {
        double mean = 0;
        for (double[] p : pseudo) {
          mean += p[i] / blocks;
        }
        double ss = 0;
        for (double[] p : pseudo) {
          ss += (p[i] - mean) * (p[i] - mean);
        }
        double se = Math.sqrt(ss / (blocks - 1) / blocks);
        Tolerance.assertClose(jk.se(i), se, 0, 1e-9, "SE " + i);
        Tolerance.assertClose(jk.jackknifeEstimate()[i], mean, 1e-12, 1e-9, "jackknife estimate " + i);
      }
    }
  }

  @Test
  void separatorsAreNumpysFloorLinspace() {
    // numpy: np.floor(np.linspace(0, 10, 4)).astype(int) == [0, 3, 6, 10]
    assertArrayEquals(new int[] {0, 3, 6, 10}, BlockJackknife.separators(10, 3));
    // 6774 rows, 200 blocks (ldsc-sim's trait2): step 33.87; i = 100 gives 3387 exactly.
    int[] s = BlockJackknife.separators(6774, 200);
    assertArrayEquals(new int[] {0, 33, 67, 101}, java.util.Arrays.copyOf(s, 4));
    Tolerance.assertClose(s[200], 6774, 0, 0, "last separator");
  }

  /** Least squares of y on the two columns of x without rows [from, to), by Cramer's rule. */
  private static double[] fitWithout(double[] x, double[] y, int from, int to) {
    double a = 0, b = 0, c = 0, u = 0, v = 0;
    for (int r = 0; r < y.length; r++) {
      if (r >= from && r < to) {
        continue;
      }
      double x0 = x[2 * r];
      double x1 = x[2 * r + 1];
      a += x0 * x0;
      b += x0 * x1;
      c += x1 * x1;
      u += x0 * y[r];
      v += x1 * y[r];
    }
    double det = a * c - b * b;
    return new double[] {(u * c - b * v) / det, (a * v - b * u) / det};
  }
}
