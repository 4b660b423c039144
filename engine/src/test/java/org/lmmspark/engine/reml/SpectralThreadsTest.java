package org.lmmspark.engine.reml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.linalg.Blas;

/**
 * The spectral REML in band form (what {@code reml --grm} and the calibrated {@code assoc} null fit) gives the same
 * bits on 1, 2 and 3 driver threads, also when OpenBLAS's own count is set to the same number around it (as
 * {@link Blas#onAllCores} does): the reduction's tiles are fixed and every other call runs on one OpenBLAS thread.
 * Equality is exact, not a tolerance. n = 665 > {@code BandReduction.TILE}, so the reduction's first panels have
 * two tiles per step.
 */
class SpectralThreadsTest {

  @Test
  void theSameBitsOnAnyNumberOfThreads() {
    Random rnd = new Random(17);
    double[] k = Simulated.grm(Simulated.pedigreeGenotypes(140, 3, 3, 600, rnd));
    int n = (int) Math.round(Math.sqrt(k.length));
    assertTrue(n > 512, "n = " + n + " must exceed one tile");
    double[] u = Simulated.draw(k, n, 0.6, rnd);
    double[] x = new double[2 * n];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      x[n + i] = rnd.nextGaussian();
      y[i] = 1 + 0.5 * x[n + i] + u[i] + 0.8 * rnd.nextGaussian();
    }
    RemlProblem prob = new RemlProblem(y, x, List.of("intercept", "q"),
        List.of(new VarianceComponent("G", new DenseSymmetricMatrix(n, k))));
    VarianceComponent g = prob.components().get(0);
    SpectralReml.Band band1 = SpectralReml.reduce(g.covariance(), 1);
    RemlFit one = new SpectralReml().fit(prob, band1);
    assertTrue(one.converged(), one.message());
    for (int threads : new int[] {2, 3}) {
      SpectralReml.Band band = Blas.withThreads(threads, () -> SpectralReml.reduce(g.covariance(), threads));
      RemlFit more = Blas.withThreads(threads, () -> new SpectralReml().fit(prob, band));
      String t = threads + " threads: ";
      assertArrayEquals(band1.reduction().band(), band.reduction().band(), t + "band");
      assertEquals(one.logL(), more.logL(), 0.0, t + "logL");
      assertArrayEquals(one.theta(), more.theta(), t + "θ");
      assertArrayEquals(one.covariance(), more.covariance(), t + "AI⁻¹");
      assertArrayEquals(one.observedCovariance(), more.observedCovariance(), t + "observed information⁻¹");
      assertArrayEquals(one.beta(), more.beta(), t + "β");
      assertArrayEquals(one.py(), more.py(), t + "Py");
      assertEquals(one.iterations(), more.iterations(), t + "iterations");
    }
    for (int threads : new int[] {1, 2, 3}) {
      // reml --grm's route: reduction and fit in one call, λ's bound beside the rotation.
      SpectralReml.Fitted fitted = Blas.withThreads(threads, () -> new SpectralReml().fitReducing(prob, threads));
      assertSameFit(one, fitted.fit(), threads + " threads, reduced with the fit: ");
      assertArrayEquals(band1.reduction().band(), fitted.band().reduction().band(), threads + " threads: band");
    }
  }

  /**
   * K with eigenvalues well below 0 bounds λ below {@code LAMBDA_MAX}: the bound {@link SpectralReml#fitReducing} finds
   * on a thread of its own beside the rotation gives the grid its range, and the fit is the one made in sequence.
   */
  @Test
  void aKWithNegativeEigenvaluesGetsItsOwnGridWhenReducedWithTheFit() {
    Random rnd = new Random(23);
    double[] k = Simulated.grm(Simulated.pedigreeGenotypes(60, 3, 3, 150, rnd));
    int n = (int) Math.round(Math.sqrt(k.length));
    double[] u = Simulated.draw(k, n, 0.6, rnd);
    double[] y = new double[n];
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      y[i] = 1 + u[i] + 0.8 * rnd.nextGaussian();
      k[i + i * n] -= 0.3; // 150 markers: rank ≤ 150 < n, so eigenvalues of −0.3 and λ < 0.999/0.3
    }
    RemlProblem prob = new RemlProblem(y, x, List.of("intercept"),
        List.of(new VarianceComponent("G", new DenseSymmetricMatrix(n, k))));
    SpectralReml.Band band = SpectralReml.reduce(prob.components().get(0).covariance(), 1);
    double dMin = band.reduction().eigenvalues()[0];
    assertTrue(dMin < -0.29, "smallest eigenvalue " + dMin);
    RemlFit separate = new SpectralReml().fit(prob, band);
    assertTrue(separate.message().contains("on [1e-05, 3e+00]"), separate.message());
    RemlFit together = Blas.withThreads(2, () -> new SpectralReml().fitReducing(prob, 2)).fit();
    assertSameFit(separate, together, "reduced with the fit: ");
  }

  private static void assertSameFit(RemlFit expected, RemlFit actual, String t) {
    assertEquals(expected.logL(), actual.logL(), 0.0, t + "logL");
    assertArrayEquals(expected.theta(), actual.theta(), t + "θ");
    assertArrayEquals(expected.covariance(), actual.covariance(), t + "AI⁻¹");
    assertArrayEquals(expected.observedCovariance(), actual.observedCovariance(), t + "observed information⁻¹");
    assertArrayEquals(expected.beta(), actual.beta(), t + "β");
    assertArrayEquals(expected.py(), actual.py(), t + "Py");
    assertEquals(expected.iterations(), actual.iterations(), t + "iterations");
    assertEquals(expected.message().replaceAll("band form \\(.*?\\); ", ""),
        actual.message().replaceAll("band form \\(.*?\\); ", ""), t + "message");
  }
}
