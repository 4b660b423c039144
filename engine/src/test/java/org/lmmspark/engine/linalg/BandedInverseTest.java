package org.lmmspark.engine.linalg;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link BandedInverse}'s traces against the dense inverse of {@code H = a·B + b·I} (Gauss–Jordan, written plainly
 * here) and the dense products. B has eigenvalues of both signs (a random band, its diagonal shifted) and {@code a}
 * ranges from {@code 1e-7·b} (H nearly b·I: the identity {@code ZB = (I − bZ)/a} would lose 7 digits there) to
 * {@code 1e6·b}; every shift keeps H positive definite. Tolerance 1e-10 relative: the Cholesky, the recurrence and
 * its derivative are backward stable, H's condition number stays below ~1e4 here, and the dense inverse has errors
 * of the same order.
 */
class BandedInverseTest {

  @ParameterizedTest
  @CsvSource({"1, 0, 1.0, 1.0", "40, 0, 0.7, 1.3", "40, 3, 0.7, 1.3", "120, 8, 2.0, 0.5", "120, 8, 1e-7, 1.0",
      "120, 8, 1e6, 1.0", "33, 32, 0.9, 1.1", "90, 17, 1e-3, 2.0"})
  void tracesEqualTheDenseOnes(int n, int kd, double a, double b) {
    Random rnd = new Random(n * 131L + kd);
    int ld = kd + 1;
    double[] band = new double[ld * n];
    for (int j = 0; j < n; j++) {
      for (int q = 0; q <= Math.min(kd, n - 1 - j); q++) {
        band[q + j * ld] = rnd.nextGaussian() / Math.sqrt(ld);
      }
    }
    double[] dense = denseOf(band, n, kd);
    // Shift B's diagonal so that its eigenvalues are ≥ −½·min(g, b/a), g Gershgorin's radius bound: H ≥ ½·b·I, and
    // B indefinite where a·g is not large beside b.
    double gersh = 0;
    for (int i = 0; i < n; i++) {
      double r = 0;
      for (int j = 0; j < n; j++) {
        r += Math.abs(dense[i + j * n]);
      }
      gersh = Math.max(gersh, r);
    }
    double shift = gersh - 0.5 * Math.min(gersh, b / a);
    for (int j = 0; j < n; j++) {
      band[j * ld] += shift;
    }
    dense = denseOf(band, n, kd);
    double[] factor = BandReduction.choleskyOfShifted(band, n, kd, a, b);
    assertNotNull(factor, "H not positive definite: the test's shift is wrong");

    double[] h = new double[n * n];
    for (int i = 0; i < n * n; i++) {
      h[i] = a * dense[i];
    }
    for (int i = 0; i < n; i++) {
      h[i + i * n] += b;
    }
    double[] z = inverse(h, n);
    double[] zb = multiply(z, dense, n);
    double[] zz = multiply(z, z, n);
    double trZ = 0;
    double trZB = 0;
    double trZBZB = 0;
    double trZ2B = 0;
    double trZ2 = 0;
    for (int i = 0; i < n; i++) {
      trZ += z[i + i * n];
      trZB += zb[i + i * n];
      trZ2 += zz[i + i * n];
      for (int l = 0; l < n; l++) {
        trZBZB += zb[i + l * n] * zb[l + i * n];
        trZ2B += zz[i + l * n] * dense[l + i * n];
      }
    }
    BandedInverse.Traces first = BandedInverse.traces(band, factor, n, kd, false);
    BandedInverse.Traces all = BandedInverse.traces(band, factor, n, kd, true);
    String at = "n=" + n + " kd=" + kd + " a=" + a + " b=" + b + ": ";
    assertClose(first.z(), trZ, 0, 1e-10, at + "tr(Z)");
    assertClose(first.zb(), trZB, 1e-12 * Math.abs(trZ), 1e-10, at + "tr(ZB)");
    assertTrue(Double.isNaN(first.zbzb()) && Double.isNaN(first.z2()), at + "second-order traces not asked for");
    assertClose(all.z(), trZ, 0, 1e-10, at + "tr(Z), with the second-order ones");
    assertClose(all.zb(), trZB, 1e-12 * Math.abs(trZ), 1e-10, at + "tr(ZB), with the second-order ones");
    assertClose(all.zbzb(), trZBZB, 1e-12 * trZ2, 1e-10, at + "tr(ZBZB)");
    assertClose(all.z2b(), trZ2B, 1e-12 * trZ2, 1e-10, at + "tr(Z²B)");
    assertClose(all.z2(), trZ2, 0, 1e-10, at + "tr(Z²)");
  }

  private static double[] denseOf(double[] band, int n, int kd) {
    int ld = kd + 1;
    double[] m = new double[n * n];
    for (int j = 0; j < n; j++) {
      for (int i = j; i <= Math.min(n - 1, j + kd); i++) {
        m[i + j * n] = band[(i - j) + j * ld];
        m[j + i * n] = band[(i - j) + j * ld];
      }
    }
    return m;
  }

  /** Gauss–Jordan with partial pivoting, column-major. */
  private static double[] inverse(double[] m, int n) {
    double[] a = m.clone();
    double[] inv = new double[n * n];
    for (int i = 0; i < n; i++) {
      inv[i + i * n] = 1;
    }
    for (int c = 0; c < n; c++) {
      int piv = c;
      for (int r = c + 1; r < n; r++) {
        if (Math.abs(a[r + c * n]) > Math.abs(a[piv + c * n])) {
          piv = r;
        }
      }
      for (int k = 0; k < n; k++) {
        double t = a[c + k * n];
        a[c + k * n] = a[piv + k * n];
        a[piv + k * n] = t;
        t = inv[c + k * n];
        inv[c + k * n] = inv[piv + k * n];
        inv[piv + k * n] = t;
      }
      double p = a[c + c * n];
      for (int k = 0; k < n; k++) {
        a[c + k * n] /= p;
        inv[c + k * n] /= p;
      }
      for (int r = 0; r < n; r++) {
        if (r != c) {
          double f = a[r + c * n];
          for (int k = 0; k < n; k++) {
            a[r + k * n] -= f * a[c + k * n];
            inv[r + k * n] -= f * inv[c + k * n];
          }
        }
      }
    }
    return inv;
  }

  private static double[] multiply(double[] x, double[] y, int n) {
    double[] out = new double[n * n];
    for (int j = 0; j < n; j++) {
      for (int l = 0; l < n; l++) {
        double v = y[l + j * n];
        for (int i = 0; i < n; i++) {
          out[i + j * n] += x[i + l * n] * v;
        }
      }
    }
    return out;
  }
}
