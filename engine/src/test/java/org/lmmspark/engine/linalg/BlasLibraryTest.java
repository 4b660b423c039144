package org.lmmspark.engine.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import dev.ludovic.netlib.lapack.NativeLAPACK;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The bundled OpenBLAS is what netlib loads when the build carries natives for this platform (the
 * test JVM sets no {@code lmmspark.blas}), and it computes what the definitions say.
 */
class BlasLibraryTest {
  @Test
  void bundledOpenBlasIsLoadedWhereTheBuildCarriesItsNatives() {
    String platform = org.bytedeco.javacpp.Loader.getPlatform();
    boolean carried = BlasLibrary.class.getClassLoader()
        .getResource("org/bytedeco/openblas/" + platform + "/") != null;
    String described = Blas.describe();
    if (!carried || System.getProperty(BlasLibrary.PROPERTY) != null) {
      System.out.println("SKIPPED: no bundled OpenBLAS natives for " + platform + " (or lmmspark.blas set): " + described);
      return;
    }
    assertTrue(Blas.isNative(), described);
    assertTrue(Blas.lapack() instanceof NativeLAPACK, described);
    assertTrue(described.contains("bundled (org.bytedeco:openblas)"), described);
    assertTrue(described.matches(".*OpenBLAS 0\\.3\\.\\d+.*"), described);
  }

  @Test
  void nativeGemmAndCholeskyEqualTheDefinitions() {
    Random rng = new Random(11);
    int m = 37;
    int n = 23;
    int k = 51;
    double[] a = new double[m * k];
    double[] b = new double[k * n];
    for (int i = 0; i < a.length; i++) {
      a[i] = rng.nextGaussian();
    }
    for (int i = 0; i < b.length; i++) {
      b[i] = rng.nextGaussian();
    }
    double[] c = new double[m * n];
    Blas.dgemm(false, false, m, n, k, 1.0, a, m, b, k, 0.0, c, m);
    for (int j = 0; j < n; j++) {
      for (int i = 0; i < m; i++) {
        double s = 0;
        for (int l = 0; l < k; l++) {
          s += a[i + l * m] * b[l + j * k];
        }
        assertClose(c[i + j * m], s, 1e-12, 1e-12, "C(" + i + "," + j + ")");
      }
    }
    // S = AᵀA + I is positive definite; its Cholesky factor L must give L·Lᵀ = S (LAPACK through the same library).
    double[] s = new double[k * k];
    Blas.dgemm(true, false, k, k, m, 1.0, a, m, a, m, 0.0, s, k);
    for (int i = 0; i < k; i++) {
      s[i + i * k] += 1;
    }
    double[] l = s.clone();
    assertTrue(Blas.dpotrfLower(k, l));
    for (int j = 0; j < k; j++) {
      for (int i = j; i < k; i++) {
        double sum = 0;
        for (int p = 0; p <= j; p++) {
          sum += l[i + p * k] * l[j + p * k];
        }
        assertClose(sum, s[i + j * k], 1e-10, 1e-12, "LLt(" + i + "," + j + ")");
      }
    }
  }

  @Test
  void modeIsParsedStrictly() {
    assertEquals(BlasLibrary.Mode.AUTO, BlasLibrary.parseMode(null));
    assertEquals(BlasLibrary.Mode.AUTO, BlasLibrary.parseMode(" "));
    assertEquals(BlasLibrary.Mode.SYSTEM, BlasLibrary.parseMode("System"));
    assertEquals(BlasLibrary.Mode.JAVA, BlasLibrary.parseMode("java"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BlasLibrary.parseMode("mkl"));
    assertTrue(e.getMessage().contains("auto, system or java"), e.getMessage());
  }
}
