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
      assertArrayEquals(band1.eigenvalues(), band.eigenvalues(), t + "eigenvalues");
      assertArrayEquals(band1.reduction().band(), band.reduction().band(), t + "band");
      assertEquals(one.logL(), more.logL(), 0.0, t + "logL");
      assertArrayEquals(one.theta(), more.theta(), t + "θ");
      assertArrayEquals(one.covariance(), more.covariance(), t + "AI⁻¹");
      assertArrayEquals(one.observedCovariance(), more.observedCovariance(), t + "observed information⁻¹");
      assertArrayEquals(one.beta(), more.beta(), t + "β");
      assertArrayEquals(one.py(), more.py(), t + "Py");
      assertEquals(one.iterations(), more.iterations(), t + "iterations");
    }
  }
}
