package org.lmmspark.engine.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link BandReduction} checked by its defining identities, written plainly: Q is orthogonal,
 * {@code A Q = Q B} with B banded, and B's eigenvalues equal LAPACK dsyevd's of A. Tolerances are a
 * few hundred ulps of ‖A‖ (Householder reductions are backward stable: error ~ n·ε·‖A‖).
 */
class BandReductionTest {

  /** The defining identities, on one thread with one tile per step and on several threads with small tiles. */
  @ParameterizedTest
  @CsvSource({"1, 1, 1, 512", "2, 1, 1, 512", "5, 4, 1, 512", "6, 4, 1, 512", "7, 4, 1, 512", "50, 3, 1, 512",
      "97, 8, 1, 512", "128, 16, 1, 512", "301, 32, 1, 512", "64, 64, 1, 512", "65, 64, 1, 512",
      "97, 8, 3, 16", "301, 32, 2, 40", "130, 16, 2, 7"})
  void reductionIsAnOrthogonalSimilarityToABandMatrix(int n, int kd, int threads, int tile) {
    double[] a = randomSymmetric(n, new Random(n * 31L + kd));
    double[] input = a.clone();
    BandReduction red = BandReduction.reduce(n, a.clone(), kd, threads, tile);

    double[] q = new double[n * n];
    for (int i = 0; i < n; i++) {
      q[i + i * n] = 1;
    }
    red.applyQ(q, n);
    double[] b = new double[n * n];
    double[] band = red.band();
    int ld = kd + 1;
    for (int j = 0; j < n; j++) {
      for (int i = j; i < Math.min(n, j + ld); i++) {
        b[i + j * n] = band[(i - j) + j * ld];
        b[j + i * n] = band[(i - j) + j * ld];
      }
    }
    double tol = 1e-12 * n;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double qtq = 0;
        double aq = 0;
        double qb = 0;
        for (int l = 0; l < n; l++) {
          qtq += q[l + i * n] * q[l + j * n];
          aq += input[i + l * n] * q[l + j * n];
          qb += q[i + l * n] * b[l + j * n];
        }
        assertEquals(i == j ? 1 : 0, qtq, tol, "QᵀQ at " + i + "," + j);
        assertEquals(aq, qb, tol * 10, "AQ = QB at " + i + "," + j);
      }
    }
    // applyQt undoes applyQ.
    red.applyQt(q, n);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        assertEquals(i == j ? 1 : 0, q[i + j * n], tol, "QᵀQ I at " + i + "," + j);
      }
    }
    double[] z = input.clone();
    double[] w = new double[n];
    Blas.dsyevd(n, z, w);
    double[] d = red.eigenvalues();
    for (int i = 0; i < n; i++) {
      assertEquals(w[i], d[i], tol * 10, "eigenvalue " + i);
    }
    assertTrue(red.bandwidth() == kd);
  }

  /**
   * The tiles fix the arithmetic: 1, 2 and 3 threads give the same bits (band, reflectors, applyQ), with several
   * tiles per step; OpenBLAS's own thread count, set around the call, does not leak in.
   */
  @ParameterizedTest
  @CsvSource({"301, 32, 40", "200, 8, 16", "1100, 64, 512"})
  void theSameBitsOnAnyNumberOfThreads(int n, int kd, int tile) {
    double[] a = randomSymmetric(n, new Random(n + 7L * kd));
    BandReduction one = BandReduction.reduce(n, a.clone(), kd, 1, tile);
    double[] q1 = identity(n);
    one.applyQ(q1, n);
    for (int threads : new int[] {2, 3}) {
      BandReduction more = Blas.withThreads(threads, () -> BandReduction.reduce(n, a.clone(), kd, threads, tile));
      assertArrayEquals(one.band(), more.band(), threads + " threads: band");
      double[] q = identity(n);
      more.applyQ(q, n);
      assertArrayEquals(q1, q, threads + " threads: Q");
    }
  }

  private static double[] identity(int n) {
    double[] q = new double[n * n];
    for (int i = 0; i < n; i++) {
      q[i + i * n] = 1;
    }
    return q;
  }

  @ParameterizedTest
  @CsvSource({"120, 8, 5, false", "301, 32, 20, false", "200, 16, 6, true"})
  void leadingEigenvectorsSatisfyTheirEquations(int n, int kd, int k, boolean repeated) {
    double[] a = randomSymmetric(n, new Random(n + kd + k));
    if (repeated) {
      // A = I + 5·(e₁e₁ᵀ + e₂e₂ᵀ + e₃e₃ᵀ) rotated: the top eigenvalue 6 three times, the rest 1.
      double[] q = new double[n * n];
      double[] w = new double[n];
      System.arraycopy(a, 0, q, 0, n * n);
      Blas.dsyevd(n, q, w);
      java.util.Arrays.fill(a, 0);
      for (int j = 0; j < n; j++) {
        double lam = j < 3 ? 6 : 1;
        for (int c = 0; c < n; c++) {
          for (int r = 0; r < n; r++) {
            a[r + c * n] += lam * q[r + j * n] * q[c + j * n];
          }
        }
      }
    }
    double[] input = a.clone();
    BandReduction red = BandReduction.reduce(n, a, kd);
    double[] d = red.eigenvalues();
    double[] z = red.leadingEigenvectors(d, k);
    for (int j = 0; j < k; j++) {
      double lam = d[n - k + j];
      double res = 0;
      for (int i = 0; i < n; i++) {
        double az = 0;
        for (int l = 0; l < n; l++) {
          az += input[i + l * n] * z[l + j * n];
        }
        res = Math.max(res, Math.abs(az - lam * z[i + j * n]));
      }
      assertEquals(0, res, 1e-9 * Math.abs(d[n - 1]), "‖Az − λz‖∞ of leading eigenvector " + j);
      for (int m = 0; m <= j; m++) {
        double dot = 0;
        for (int i = 0; i < n; i++) {
          dot += z[i + j * n] * z[i + m * n];
        }
        assertEquals(m == j ? 1 : 0, dot, 1e-9, "zᵀz at " + j + "," + m);
      }
    }
  }

  /** A symmetric n×n matrix of standard normal entries (GOE-like: distinct eigenvalues). */
  static double[] randomSymmetric(int n, Random rng) {
    double[] a = new double[n * n];
    for (int j = 0; j < n; j++) {
      for (int i = j; i < n; i++) {
        double v = rng.nextGaussian();
        a[i + j * n] = v;
        a[j + i * n] = v;
      }
    }
    return a;
  }
}
