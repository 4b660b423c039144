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

  /**
   * The band eigenvalues ({@code dsbev_2stage} where the bundled OpenBLAS is in use) equal LAPACK {@code dsyevd}'s
   * of the same matrix written out densely (direct linear algebra: 1e-12 of the largest eigenvalue), the band is
   * left as it was, and binding the full LAPACK preset loaded no second OpenBLAS into the process.
   */
  @Test
  void bandEigenvaluesEqualTheDenseOnesWithOneOpenBlasLoaded() throws java.io.IOException {
    int n = 300;
    int kd = 7;
    Random rng = new Random(5);
    double[] band = new double[(kd + 1) * n];
    double[] dense = new double[n * n];
    for (int j = 0; j < n; j++) {
      for (int i = j; i < Math.min(n, j + kd + 1); i++) {
        double v = rng.nextGaussian();
        band[(i - j) + j * (kd + 1)] = v;
        dense[i + j * n] = v;
        dense[j + i * n] = v;
      }
    }
    double[] before = band.clone();
    double[] d = Blas.bandEigenvalues(n, kd, band);
    double[] w = new double[n];
    Blas.dsyevd(n, dense, w);
    assertClose(d, w, 1e-12 * Math.abs(w[n - 1]), 0, "band eigenvalues vs dsyevd");
    org.junit.jupiter.api.Assertions.assertArrayEquals(before, band, "band unchanged");
    String routine = Blas.bandEigenvaluesRoutine();
    System.out.println("band eigenvalues by " + routine + "; " + Blas.describe());
    java.nio.file.Path maps = java.nio.file.Path.of("/proc/self/maps");
    if (!Blas.describe().contains("bundled (org.bytedeco:openblas)") || !java.nio.file.Files.exists(maps)) {
      System.out.println("SKIPPED: not the bundled OpenBLAS on Linux: " + Blas.describe());
      return;
    }
    assertEquals("dsbev_2stage", routine);
    java.util.Set<String> openblas = new java.util.TreeSet<>();
    for (String line : java.nio.file.Files.readAllLines(maps)) {
      String file = line.substring(line.lastIndexOf(' ') + 1);
      if (file.matches(".*/libopenblas[^/]*\\.so.*")) {
        openblas.add(file);
      }
    }
    assertEquals(1, openblas.size(), "OpenBLAS files mapped: " + openblas);
    assertEquals(0, Blas.bandEigenvalues(0, kd, new double[0]).length);
    assertThrows(IllegalArgumentException.class, () -> Blas.bandEigenvalues(n, kd, new double[n]));
  }
}
