package org.lmmspark.engine.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.BadInputException;

/**
 * The driver's dense work with more BLAS threads gives the same numbers (to rounding: OpenBLAS splits the
 * sums differently), and the driver's thread count comes from settings alone.
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

  /**
   * One rule, from settings only: {@code -Dlmmspark.driver.threads} wins, then {@code spark.driver.cores} (at most
   * the JVM's cores), then the JVM's cores; anything but a whole number ≥ 1 is refused, naming the property.
   */
  @Test
  void driverThreadsComeFromTheSettingsOnly() {
    int cores = Runtime.getRuntime().availableProcessors();
    String ownBefore = System.getProperty(Blas.DRIVER_THREADS_PROPERTY);
    String sparkBefore = System.getProperty(Blas.SPARK_DRIVER_CORES);
    try {
      System.clearProperty(Blas.DRIVER_THREADS_PROPERTY);
      System.clearProperty(Blas.SPARK_DRIVER_CORES);
      assertEquals(cores, Blas.driverThreads(), "nothing set: the JVM's cores");
      assertEquals(cores, Blas.driverThreads(), "the same count again: no load in the rule");
      System.setProperty(Blas.SPARK_DRIVER_CORES, "1");
      assertEquals(1, Blas.driverThreads(), "spark.driver.cores");
      System.setProperty(Blas.SPARK_DRIVER_CORES, String.valueOf(cores + 7));
      assertEquals(cores, Blas.driverThreads(), "spark.driver.cores above the JVM's cores");
      System.setProperty(Blas.DRIVER_THREADS_PROPERTY, "3");
      assertEquals(3, Blas.driverThreads(), "lmmspark.driver.threads wins, as given");
      assertTrue(Blas.describeDriverThreads().startsWith("3 thread(s) (-Dlmmspark.driver.threads"), Blas.describeDriverThreads());
      for (String bad : new String[] {"0", "two", "-1", ""}) {
        System.setProperty(Blas.DRIVER_THREADS_PROPERTY, bad);
        BadInputException e = assertThrows(BadInputException.class, Blas::driverThreads, "'" + bad + "'");
        assertTrue(e.getMessage().contains(Blas.DRIVER_THREADS_PROPERTY), e.getMessage());
      }
    } finally {
      restore(Blas.DRIVER_THREADS_PROPERTY, ownBefore);
      restore(Blas.SPARK_DRIVER_CORES, sparkBefore);
    }
  }

  static void restore(String property, String value) {
    if (value == null) {
      System.clearProperty(property);
    } else {
      System.setProperty(property, value);
    }
  }

  private static double[] product(double[] a, int n) {
    double[] c = new double[n * n];
    Blas.dgemm(false, true, n, n, n, 1.0, a, n, a, n, 0.0, c, n);
    return c;
  }
}
