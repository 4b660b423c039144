package org.lmmspark.engine.glmm;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.SplittableRandom;
import org.apache.commons.math3.optim.InitialGuess;
import org.apache.commons.math3.optim.MaxEval;
import org.apache.commons.math3.optim.PointValuePair;
import org.apache.commons.math3.optim.SimpleBounds;
import org.apache.commons.math3.optim.nonlinear.scalar.GoalType;
import org.apache.commons.math3.optim.nonlinear.scalar.ObjectiveFunction;
import org.apache.commons.math3.optim.nonlinear.scalar.noderiv.BOBYQAOptimizer;
import org.junit.jupiter.api.Test;

/**
 * Firth's logistic regression against its definition maximized plainly: the penalized log-likelihood
 * {@code Σ y log μ + (1−y) log(1−μ) + ½ log|XᵀWX|} written out here (the determinant by Gaussian
 * elimination) and maximized by a derivative-free optimizer, with and without a coefficient held at 0,
 * including a completely separated variant whose ordinary ML estimate is infinite. Tolerances: 1e-5 on
 * β (the optimizer's resolution at stopping radius 1e-9 on a curvature of order n), 1e-7 on ℓ*.
 */
class FirthLogisticTest {

  /** Firth's ℓ* = ℓ + ½ log det I(β), written plainly: {@link #withOffset} with no offset. */
  static double penalizedLogLik(double[] x, int n, int p, double[] y, double[] beta) {
    return withOffset(x, n, p, y, new double[n], beta);
  }


  static double[] bruteForce(double[] x, int n, int p, double[] y, int heldAtZero) {
    int dim = heldAtZero < 0 ? p : p - 1;
    BOBYQAOptimizer opt = new BOBYQAOptimizer(2 * dim + 1, 0.5, 1e-9);
    double[] lo = new double[dim];
    double[] hi = new double[dim];
    java.util.Arrays.fill(lo, -30);
    java.util.Arrays.fill(hi, 30);
    PointValuePair best = opt.optimize(new MaxEval(100_000), GoalType.MAXIMIZE, new InitialGuess(new double[dim]),
        new SimpleBounds(lo, hi), new ObjectiveFunction(v -> penalizedLogLik(x, n, p, y, expand(v, p, heldAtZero))));
    return expand(best.getPoint(), p, heldAtZero);
  }

  static double[] expand(double[] v, int p, int held) {
    double[] b = new double[p];
    for (int j = 0, k = 0; j < p; j++) {
      b[j] = j == held ? 0 : v[k++];
    }
    return b;
  }

  @Test
  void matchesThePenalizedLikelihoodMaximizedPlainlyIncludingSeparation() {
    SplittableRandom rnd = new SplittableRandom(3);
    int n = 300;
    int p = 3;
    double[] x = new double[n * p];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      x[i + n] = rnd.nextGaussian();
      y[i] = rnd.nextDouble() < 1 / (1 + Math.exp(2.5 - 0.7 * x[i + n])) ? 1 : 0;
      // A rare variant carried by cases only: complete separation for its coefficient.
      x[i + 2 * n] = y[i] == 1 && rnd.nextDouble() < 0.1 ? 1 : 0;
    }
    FirthLogistic.Fit fit = FirthLogistic.fit(x, n, p, y, null, null, null);
    assertTrue(fit.converged(), "iterations " + fit.iterations());
    double[] plain = bruteForce(x, n, p, y, -1);
    assertClose(fit.beta(), plain, 1e-5, 0, "beta");
    assertClose(fit.penalizedLogLik(), penalizedLogLik(x, n, p, y, plain), 1e-7, 0, "penalized logLik");
    assertTrue(Double.isFinite(fit.beta()[2]) && fit.beta()[2] > 1, "finite estimate under separation");

    FirthLogistic.Test test = FirthLogistic.test(x, n, p, y, null, 2);
    double[] restricted = bruteForce(x, n, p, y, 2);
    double chi2 = 2 * (penalizedLogLik(x, n, p, y, plain) - penalizedLogLik(x, n, p, y, restricted));
    assertClose(test.chiSquared(), chi2, 1e-6, 0, "penalized LRT chi2");
    assertTrue(test.converged());
  }

  /**
   * The analytic gradient U* and Hessian of ℓ* against central differences: U* against differences of
   * ℓ* as written plainly above (step 1e-5: truncation ~1e-10·n, rounding ~1e-16·|ℓ*|/1e-5 ≈ 1e-8, so
   * 1e-6 absolute), the Hessian against differences of U* (1e-6 relative), at a point far from the
   * optimum with an offset, where the penalty's curvature terms all matter.
   */
  @Test
  void analyticScoreAndHessianMatchCentralDifferences() {
    SplittableRandom rnd = new SplittableRandom(11);
    int n = 200;
    int p = 3;
    double[] x = new double[n * p];
    double[] y = new double[n];
    double[] offset = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      x[i + n] = rnd.nextGaussian();
      x[i + 2 * n] = rnd.nextInt(3);
      offset[i] = 0.3 * rnd.nextGaussian();
      y[i] = rnd.nextDouble() < 0.2 ? 1 : 0;
    }
    double[] beta = {-1.2, 0.8, 1.5};
    double h = 1e-5;
    double[] score = FirthLogistic.modifiedScore(x, n, p, y, offset, beta);
    double[] negH = FirthLogistic.negativeHessian(x, n, p, y, offset, beta);
    for (int b = 0; b < p; b++) {
      double[] up = beta.clone();
      double[] down = beta.clone();
      up[b] += h;
      down[b] -= h;
      double numeric = (withOffset(x, n, p, y, offset, up) - withOffset(x, n, p, y, offset, down)) / (2 * h);
      assertClose(score[b], numeric, 1e-6, 0, "U*[" + b + "]");
      double[] gu = FirthLogistic.modifiedScore(x, n, p, y, offset, up);
      double[] gd = FirthLogistic.modifiedScore(x, n, p, y, offset, down);
      for (int a = 0; a < p; a++) {
        assertClose(negH[a + b * p], -(gu[a] - gd[a]) / (2 * h), 1e-9, 1e-6, "-H[" + a + "," + b + "]");
      }
    }
  }

  /** ℓ* with an offset in η, written plainly (the determinant by commons-math LU). */
  static double withOffset(double[] x, int n, int p, double[] y, double[] offset, double[] beta) {
    double ll = 0;
    double[][] info = new double[p][p];
    for (int i = 0; i < n; i++) {
      double eta = offset[i];
      for (int j = 0; j < p; j++) {
        eta += x[i + j * n] * beta[j];
      }
      double mu = 1 / (1 + Math.exp(-eta));
      ll += y[i] == 1 ? Math.log(mu) : Math.log(1 - mu);
      for (int a = 0; a < p; a++) {
        for (int b = 0; b < p; b++) {
          info[a][b] += mu * (1 - mu) * x[i + a * n] * x[i + b * n];
        }
      }
    }
    return ll + 0.5 * Math.log(new org.apache.commons.math3.linear.LUDecomposition(
        new org.apache.commons.math3.linear.Array2DRowRealMatrix(info)).getDeterminant());
  }

  /** The log(1 + s) of ℓ*'s per-sample terms against {@link Math#log1p} over s from 1e-300 to 1. */
  @Test
  void logOnePlusSmallEqualsLog1p() {
    for (double s = 1e-300; s <= 1; s *= 1.37) {
      assertClose(FirthLogistic.log1pOfSmall(s), Math.log1p(s), 3e-16, 1e-12, "log1p(" + s + ")");
    }
    assertClose(FirthLogistic.log1pOfSmall(1), Math.log1p(1), 3e-16, 0, "log1p(1)");
    assertClose(FirthLogistic.log1pOfSmall(0), 0, 0, 0, "log1p(0)");
  }
}
