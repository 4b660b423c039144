package org.lmmspark.engine.glmm;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.matfree.StochasticReml;

/**
 * {@link MatrixFreeBinaryNull} on a simulated logistic GLMM (n = 200, K = ZZᵀ/M of 400 standardized
 * variants, τ = 1): its P·v by batched PCG against the dense {@code P = Σ⁻¹ − Σ⁻¹X(XᵀΣ⁻¹X)⁻¹XᵀΣ⁻¹},
 * {@code Σ = W⁻¹ + τK}, at the same τ̂ and μ̂ ({@link GrmPql#projection}, itself checked against Gauss–Jordan
 * in BinaryScoreTestTest) within 1e-4 relative to ‖Pv‖ (CG to 1e-6 on a system of condition ~τλ_max·w_max + 1);
 * {@code P X = 0} (the projection's defining property, plainly); {@code b̂ + Xβ̂ = logit μ̂}.
 */
class MatrixFreeBinaryNullTest {
  @Test
  void projectionMatchesTheDenseOne() {
    int n = 200;
    int m = 400;
    Random rnd = new Random(7);
    double[] z = org.lmmspark.engine.testing.PlainKinship.standardizedGenotypes(n, m, rnd);
    double[] k = new double[n * n];
    Blas.dgemm(false, true, n, n, m, 1.0 / m, z, n, z, n, 0.0, k, n);
    double[] x = new double[2 * n];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      x[i + n] = rnd.nextGaussian();
    }
    double[] u = new double[m]; // b = Zu ~ N(0, K), τ = 1
    for (int j = 0; j < m; j++) {
      u[j] = rnd.nextGaussian() / Math.sqrt(m);
    }
    double[] b = new double[n];
    Blas.dgemv(false, n, m, 1.0, z, u, 0.0, b);
    for (int i = 0; i < n; i++) {
      double eta = -0.5 + 0.5 * x[i + n] + b[i];
      y[i] = rnd.nextDouble() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
    }
    List<String> names = List.of("intercept", "x");
    DenseSymmetricMatrix kd = new DenseSymmetricMatrix(n, k);
    StochasticReml.Options o = StochasticReml.Options.defaults();
    MatrixFreePql.Fit fit = MatrixFreePql.fit(kd, "G", Family.BINOMIAL_LOGIT, y, x, names, o, GrmPql.TOLERANCE,
        line -> {});
    MatrixFreeBinaryNull nul = new MatrixFreeBinaryNull("all", fit, kd, x, o);
    assertNull(nul.denseProjection());
    double tau = nul.tau();
    assertTrue(tau > 0.1, "τ̂ " + tau);
    double[] mu = nul.mu();
    double[] w = new double[n];
    for (int i = 0; i < n; i++) {
      w[i] = mu[i] * (1 - mu[i]);
      double linear = x[i] * nul.beta()[0] + x[i + n] * nul.beta()[1] + nul.randomPrediction()[i];
      assertClose(linear, Math.log(mu[i] / (1 - mu[i])), 1e-9, 1e-9, "b̂ + Xβ̂ = logit μ̂, sample " + i);
    }
    double[] dense = GrmPql.projection(k, tau, w, x, n, 2);
    int cols = 3;
    double[] v = new double[n * cols];
    for (int i = 0; i < v.length; i++) {
      v[i] = rnd.nextInt(3); // genotype-like columns
    }
    double[] pv = new double[n * cols];
    nul.applyProjection(v, cols, pv);
    double[] expected = new double[n * cols];
    Blas.dgemm(false, false, n, cols, n, 1.0, dense, n, v, n, 0.0, expected, n);
    for (int c = 0; c < cols; c++) {
      double norm = 0;
      for (int i = 0; i < n; i++) {
        norm = Math.max(norm, Math.abs(expected[i + c * n]));
      }
      for (int i = 0; i < n; i++) {
        assertClose(pv[i + c * n], expected[i + c * n], 1e-4 * norm, 0, "P·v, column " + c + ", row " + i);
      }
    }
    double[] px = new double[2 * n];
    nul.applyProjection(x, 2, px);
    for (int i = 0; i < 2 * n; i++) {
      assertClose(px[i], 0, 1e-5, 0, "P X = 0, entry " + i);
    }
    assertTrue(nul.cgIterations() > 0);
  }
}
