package org.lmmspark.engine.reml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * On one-GRM problems the spectral solver (in band form, and in the eigenbasis) and dense AI-REML
 * maximize the same likelihood: they agree.
 */
class SpectralVsDenseTest {

  static RemlProblem problem(long seed, double vg, double ve) {
    Random rnd = new Random(seed);
    double[] k = Simulated.grm(Simulated.pedigreeGenotypes(40, 3, 3, 600, rnd));
    int n = (int) Math.round(Math.sqrt(k.length));
    double[] u = Simulated.draw(k, n, vg, rnd);
    double[] x = new double[3 * n];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      x[n + i] = rnd.nextGaussian();
      x[2 * n + i] = rnd.nextInt(2);
      y[i] = 2 + x[n + i] - x[2 * n + i] + u[i] + Math.sqrt(ve) * rnd.nextGaussian();
    }
    return new RemlProblem(y, x, List.of("intercept", "q", "sex"),
        List.of(new VarianceComponent("G", new DenseSymmetricMatrix(n, k))));
  }

  void agree(RemlProblem prob) {
    agree(prob, new SpectralReml().fit(prob));
    agree(prob, new SpectralReml().fit(prob, SpectralReml.decompose(prob.components().get(0).covariance())));
  }

  void agree(RemlProblem prob, RemlFit s) {
    RemlFit d = new AiReml().fit(prob);
    assertTrue(s.converged() && d.converged(), s.message() + " / " + d.message());
    System.out.printf("spectral θ=%s logL=%.10f | dense θ=%s logL=%.10f%n", java.util.Arrays.toString(s.theta()),
        s.logL(), java.util.Arrays.toString(d.theta()), d.logL());
    // Both are iterative fits of one function: 1e-9 in logL, 1e-5 relative in θ (a nearly flat maximum
    // moves θ by ~sqrt(ΔlogL·var θ)), 1e-6 in everything computed from θ.
    assertClose(s.logL(), d.logL(), 1e-9, 0, "logL");
    assertClose(s.theta(), d.theta(), 1e-7, 1e-5, "θ");
    assertClose(s.beta(), d.beta(), 1e-7, 1e-6, "β");
    assertClose(s.betaCovariance(), d.betaCovariance(), 1e-9, 1e-5, "cov β");
    assertClose(s.covariance(), d.covariance(), 1e-9, 1e-4, "AI⁻¹");
    assertClose(s.observedCovariance(), d.observedCovariance(), 1e-9, 1e-4, "observed information⁻¹");
    assertClose(s.py(), d.py(), 1e-7, 1e-5, "Py");
    assertClose(s.score(), d.score(), 1e-5, 0, "score");
    double[][] bs = s.blups(prob);
    double[][] bd = d.blups(prob);
    assertClose(bs[0], bd[0], 1e-7, 1e-5, "BLUP G");
    org.junit.jupiter.api.Assertions.assertArrayEquals(s.boundary(), d.boundary(), "boundary flags");
  }

  /**
   * K with eigenvalues down to −0.3 (150 markers: rank ≤ 150 &lt; n, then 0.3 off the diagonal): λ's upper bound
   * {@link SpectralReml#lambdaMax} by bisection in band form equals {@code 0.999/|d_min|} from LAPACK's eigenvalues to
   * 1e-12 (both ~ε‖K‖ accurate), and the band-form fit (traces from the band of V⁻¹) equals the eigenbasis fit (traces
   * as sums over K's eigenvalues) to 1e-8 relative: the two take the same steps from the same start, apart only by
   * rounding.
   */
  @Test
  void bandFormEqualsEigenbasisWithNegativeEigenvalues() {
    Random rnd = new Random(23);
    double[] k = Simulated.grm(Simulated.pedigreeGenotypes(60, 3, 3, 150, rnd));
    int n = (int) Math.round(Math.sqrt(k.length));
    double[] u = Simulated.draw(k, n, 0.6, rnd);
    double[] y = new double[n];
    double[] x = new double[2 * n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      x[n + i] = rnd.nextGaussian();
      y[i] = 1 + 0.3 * x[n + i] + u[i] + 0.8 * rnd.nextGaussian();
      k[i + i * n] -= 0.3;
    }
    RemlProblem prob = new RemlProblem(y, x, List.of("intercept", "q"),
        List.of(new VarianceComponent("G", new DenseSymmetricMatrix(n, k))));
    SpectralReml.Eigen eigen = SpectralReml.decompose(prob.components().get(0).covariance());
    SpectralReml.Band band = SpectralReml.reduce(prob.components().get(0).covariance(), 1);
    double dMin = eigen.values()[0];
    assertTrue(dMin < -0.29, "smallest eigenvalue " + dMin);
    org.lmmspark.engine.linalg.BandReduction red = band.reduction();
    assertClose(SpectralReml.lambdaMax(red.band(), n, red.bandwidth()), 0.999 / -dMin, 0, 1e-12, "λ bound");
    assertClose(SpectralReml.lambdaMax(eigen.values(), n, 0), 0.999 / -dMin, 0, 1e-15, "λ bound, eigenbasis");
    RemlFit b = new SpectralReml().fit(prob, band);
    RemlFit e = new SpectralReml().fit(prob, eigen);
    assertTrue(b.converged() && e.converged() && !b.boundary()[0], b.message() + " / " + e.message());
    assertClose(b.logL(), e.logL(), 1e-9, 0, "logL");
    assertClose(b.theta(), e.theta(), 0, 1e-8, "θ");
    assertClose(b.beta(), e.beta(), 1e-10, 1e-8, "β");
    assertClose(b.covariance(), e.covariance(), 0, 1e-8, "AI⁻¹");
    assertClose(b.observedCovariance(), e.observedCovariance(), 0, 1e-8, "observed information⁻¹");
    assertClose(b.score(), e.score(), 1e-7, 0, "score");
    assertEquals(b.iterations(), e.iterations(), "iterations");
  }

  /** A K with no eigenvalue below 0: λ's bound is {@code LAMBDA_MAX} on either route. */
  @Test
  void positiveSemidefiniteKLeavesLambdaUnbounded() {
    RemlProblem prob = problem(11, 0.8, 0.6);
    SpectralReml.Band band = SpectralReml.reduce(prob.components().get(0).covariance(), 1);
    org.lmmspark.engine.linalg.BandReduction red = band.reduction();
    assertTrue(red.eigenvalues()[0] > -1e-9, "smallest eigenvalue " + red.eigenvalues()[0]);
    assertEquals(SpectralReml.LAMBDA_MAX, SpectralReml.lambdaMax(red.band(), red.size(), red.bandwidth()), 0.0);
  }

  @Test
  void interiorOptimum() {
    agree(problem(11, 0.8, 0.6));
  }

  @Test
  void boundaryOptimum() {
    // No genetic signal: about half the seeds put σ²_g on the boundary; take the first that does.
    for (long seed = 1; seed <= 20; seed++) {
      RemlProblem prob = problem(seed, 0.0, 1.0);
      if (new SpectralReml().fit(prob).boundary()[0]) {
        agree(prob);
        return;
      }
    }
    org.junit.jupiter.api.Assertions.fail("no seed in 1..20 put σ²_g on the boundary");
  }
}
