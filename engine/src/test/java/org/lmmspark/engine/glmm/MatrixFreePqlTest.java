package org.lmmspark.engine.glmm;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.model.ModelFrame;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.matfree.StochasticReml;

/**
 * {@link MatrixFreePql} (PQL with the REML working model fitted by stochastic AI-REML on the
 * {@code W^½}-scaled problem) against the dense PQL ({@link GlmmFitter}: the same outer iteration with
 * dense AI-REML on the weighted working model) on the same simulated logistic GLMM with a GRM:
 * n = 400, K = ZZᵀ/M of 1,000 standardized simulated variants, τ = 1, 30 % cases.
 *
 * <p>Tolerance: the matrix-free τ̂ differs from the dense one by the probes' Monte Carlo error (the fits
 * share the data, so the statistical SE is the wrong yardstick), which each fit estimates from the spread
 * of its probes. Each of 4 seeds must fall within 3.5 of its MC SEs (plus 1e-3·τ for CG to 1e-6), and
 * their mean within 3 MC SEs of a mean of 4 independent estimates ({@code 3·mean(SE)/√4}) — the second
 * check is the sharper one (an error of 1.5 SE common to all seeds fails it).
 */
class MatrixFreePqlTest {
  @Test
  void matrixFreeWorkingModelAgreesWithDensePql() {
    int n = 400;
    int m = 1000;
    Random rnd = new Random(11);
    double[] z = org.lmmspark.engine.testing.PlainKinship.standardizedGenotypes(n, m, rnd);
    double[] k = new double[n * n];
    for (int a = 0; a < n; a++) {
      for (int b = 0; b <= a; b++) {
        double s = 0;
        for (int j = 0; j < m; j++) {
          s += z[a + j * n] * z[b + j * n];
        }
        k[a + b * n] = s / m;
        k[b + a * n] = s / m;
      }
    }
    double[] x = new double[2 * n];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      x[i + n] = rnd.nextGaussian();
    }
    double[] u = new double[m];
    for (int j = 0; j < m; j++) {
      u[j] = rnd.nextGaussian() / Math.sqrt(m); // b = Zu ~ N(0, K), τ = 1
    }
    for (int i = 0; i < n; i++) {
      double eta = -1 + 0.5 * x[i + n];
      for (int j = 0; j < m; j++) {
        eta += z[i + j * n] * u[j];
      }
      y[i] = rnd.nextDouble() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
    }
    List<String> names = List.of("intercept", "x");
    DenseSymmetricMatrix kd = new DenseSymmetricMatrix(n, k);
    GlmmFit dense = GlmmFitter.fit(ModelFrame.ofCovariances("y", y, x, names, Map.of("G", kd)),
        Family.BINOMIAL_LOGIT, GlmmFitter.Options.defaults(), new ArrayList<>());
    assertTrue(dense.converged(), dense.message());
    double tauDense = dense.variances()[0];

    int seeds = 4;
    double sumDiff = 0;
    double sumSe = 0;
    for (int s = 0; s < seeds; s++) {
      StochasticReml.Options o = StochasticReml.Options.defaults().withProbes(60);
      o = new StochasticReml.Options(o.probes(), 1000 + s, o.cgTolerance(), o.maxCgIterations(), o.maxIterations(),
          o.tolerance(), o.emSteps(), o.deflationRank(), o.logLikelihood());
      MatrixFreePql.Fit f = MatrixFreePql.fit(kd, "G", Family.BINOMIAL_LOGIT, y, x, names, o,
          GlmmFitter.Options.defaults().tolerance(), line -> {});
      GlmmFit mf = f.glmm();
      assertTrue(mf.converged(), mf.message());
      double mcSe = f.working().diagnostics().monteCarloSe(0);
      double diff = mf.variances()[0] - tauDense;
      System.out.printf(Locale.ROOT, "seed %d: tau %.5f vs dense %.5f (diff %.2e, MC SE %.2e); SE %.4f vs %.4f; "
          + "beta %s vs %s; %d outer iterations%n", 1000 + s, mf.variances()[0], tauDense, diff, mcSe,
          mf.varianceSe(0), dense.varianceSe(0), java.util.Arrays.toString(mf.beta()),
          java.util.Arrays.toString(dense.beta()), f.outerIterations());
      assertTrue(mcSe > 0 && mcSe < 0.2 * tauDense, "MC SE " + mcSe);
      assertClose(mf.variances()[0], tauDense, 3.5 * mcSe + 1e-3 * tauDense, 0, "tau, seed " + (1000 + s));
      assertClose(mf.varianceSe(0), dense.varianceSe(0), 0, 0.05, "SE(tau)");
      sumDiff += diff;
      sumSe += mcSe;
    }
    double meanSe = sumSe / seeds / Math.sqrt(seeds);
    System.out.printf(Locale.ROOT, "mean difference over %d seeds %.2e (its MC SE %.2e)%n", seeds, sumDiff / seeds,
        meanSe);
    assertClose(sumDiff / seeds, 0, 3 * meanSe + 1e-3 * tauDense, 0, "mean tau difference over seeds");
  }
}
