package org.lmmspark.engine.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The driver's dense work with more BLAS threads gives the same numbers (to rounding: OpenBLAS splits the
 * sums differently), and the thread count chosen from the load stays within the machine's cores.
 */
class BlasThreadsTest {

  @Test
  void moreThreadsSameProduct() {
    int n = 300;
    Random rnd = new Random(4);
    double[] a = new double[n * n];
    for (int i = 0; i < a.length; i++) {
      a[i] = rnd.nextGaussian();
    }
    double[] one = Blas.withThreads(1, () -> product(a, n));
    double[] two = Blas.withThreads(2, () -> product(a, n));
    double[] after = product(a, n);
    // The definition, written plainly, for a few entries.
    for (int[] jk : new int[][] {{0, 0}, {7, 123}, {299, 5}}) {
      double s = 0;
      for (int l = 0; l < n; l++) {
        s += a[jk[0] + l * n] * a[jk[1] + l * n];
      }
      assertClose(one[jk[0] + jk[1] * n], s, 1e-10, 1e-12, "A Aᵀ entry");
    }
    // Direct linear algebra in another summation order: 1e-12 relative.
    assertClose(two, one, 1e-10, 1e-12, "2 threads vs 1");
    assertClose(after, one, 1e-10, 1e-12, "after the section (count restored)");
    assertThrows(IllegalArgumentException.class, () -> Blas.withThreads(0, () -> null));
  }

  @Test
  void idleCoresWithinTheMachine() {
    int c = Blas.idleCores();
    assertTrue(c >= 1 && c <= Runtime.getRuntime().availableProcessors(), "idle cores " + c);
    double own = Blas.ownLoadShare();
    assertTrue(own >= 0 && own <= Runtime.getRuntime().availableProcessors() + 0.5, "own load share " + own);
  }

  /** Cores = all less what OTHER processes load, rounded; this process's own load does not count. */
  @Test
  void idleCoresDiscountTheProcessOwnLoad() {
    assertEquals(2, Blas.idleCores(2, -1, 0), "no load average from the OS: every core");
    assertEquals(2, Blas.idleCores(2, 0.3, 0), "background noise below half a core");
    assertEquals(1, Blas.idleCores(2, 1.0, 0), "another process keeps one core busy");
    assertEquals(2, Blas.idleCores(2, 1.8, 1.6), "the load is this process's own Spark tasks");
    assertEquals(1, Blas.idleCores(2, 30, 0.5), "a crowded machine: one thread, never 0");
    assertEquals(8, Blas.idleCores(8, 2.5, 3), "own share above the load: all cores");
  }

  private static double[] product(double[] a, int n) {
    double[] c = new double[n * n];
    Blas.dgemm(false, true, n, n, n, 1.0, a, n, a, n, 0.0, c, n);
    return c;
  }
}
