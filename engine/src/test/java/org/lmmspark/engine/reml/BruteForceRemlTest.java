package org.lmmspark.engine.reml;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.List;
import java.util.Random;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.LUDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.optim.InitialGuess;
import org.apache.commons.math3.optim.MaxEval;
import org.apache.commons.math3.optim.PointValuePair;
import org.apache.commons.math3.optim.nonlinear.scalar.GoalType;
import org.apache.commons.math3.optim.nonlinear.scalar.ObjectiveFunction;
import org.apache.commons.math3.optim.nonlinear.scalar.noderiv.NelderMeadSimplex;
import org.apache.commons.math3.optim.nonlinear.scalar.noderiv.SimplexOptimizer;
import org.junit.jupiter.api.Test;

/**
 * Multi-component AI-REML against the REML likelihood written plainly (commons-math3 LU for
 * determinants and inverses, no code shared with the engine) and maximized directly by Nelder–Mead
 * on log θ, on n = 190 related samples with a GRM, a grouping factor and the residual.
 */
class BruteForceRemlTest {

  /** ℓ(θ) = −½(log|V| + log|XᵀV⁻¹X| + yᵀPy), P = V⁻¹ − V⁻¹X(XᵀV⁻¹X)⁻¹XᵀV⁻¹, all by LU. */
  static double plainLogL(double[] theta, RealMatrix[] parts, RealMatrix x, RealMatrix y) {
    int n = x.getRowDimension();
    RealMatrix v = new Array2DRowRealMatrix(n, n);
    for (int i = 0; i < n; i++) {
      v.setEntry(i, i, theta[parts.length]);
    }
    for (int k = 0; k < parts.length; k++) {
      v = v.add(parts[k].scalarMultiply(theta[k]));
    }
    LUDecomposition lu = new LUDecomposition(v);
    RealMatrix vi = lu.getSolver().getInverse();
    RealMatrix c = x.transpose().multiply(vi).multiply(x);
    LUDecomposition clu = new LUDecomposition(c);
    RealMatrix p = vi.subtract(vi.multiply(x).multiply(clu.getSolver().getInverse()).multiply(x.transpose()).multiply(vi));
    double yPy = y.transpose().multiply(p).multiply(y).getEntry(0, 0);
    return -0.5 * (Math.log(lu.getDeterminant()) + Math.log(clu.getDeterminant()) + yPy);
  }

  @Test
  void aiRemlMaximizesThePlainLikelihood() {
    Random rnd = new Random(20240611);
    // 40 founders, 60 children, 90 grandchildren: n = 190.
    double[] k = Simulated.grm(Simulated.pedigreeGenotypes(40, 3, 3, 800, rnd));
    int n = (int) Math.round(Math.sqrt(k.length));
    String[] batch = new String[n];
    for (int i = 0; i < n; i++) {
      batch[i] = "b" + rnd.nextInt(12);
    }
    GroupingOperator group = new GroupingOperator(batch);
    double[] ug = Simulated.draw(k, n, 0.6, rnd);
    double[] ub = Simulated.draw(group.toDense(), n, 0.3, rnd);
    double[] x = new double[2 * n];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      x[n + i] = rnd.nextGaussian();
      y[i] = 1 + 0.5 * x[n + i] + ug[i] + ub[i] + rnd.nextGaussian();
    }
    RemlProblem prob = new RemlProblem(y, x, List.of("intercept", "q"), List.of(
        new VarianceComponent("G", new DenseSymmetricMatrix(n, k)), new VarianceComponent("batch", group)));
    RemlFit fit = new AiReml().fit(prob);
    assertTrue(fit.converged(), fit.message());

    RealMatrix[] parts = {toMatrix(k, n), toMatrix(group.toDense(), n)};
    RealMatrix xm = new Array2DRowRealMatrix(n, 2);
    RealMatrix ym = new Array2DRowRealMatrix(n, 1);
    for (int i = 0; i < n; i++) {
      xm.setEntry(i, 0, x[i]);
      xm.setEntry(i, 1, x[n + i]);
      ym.setEntry(i, 0, y[i]);
    }
    SimplexOptimizer nm = new SimplexOptimizer(1e-13, 1e-13);
    PointValuePair best = null;
    // Two restarts: Nelder–Mead can stall; the second starts where the first ended.
    double[] start = {Math.log(0.5), Math.log(0.5), Math.log(0.5)};
    for (int r = 0; r < 3; r++) {
      best = nm.optimize(new MaxEval(20000), GoalType.MAXIMIZE, new InitialGuess(start),
          new ObjectiveFunction(t -> plainLogL(exp(t), parts, xm, ym)), new NelderMeadSimplex(3, 0.2));
      start = best.getPoint();
    }
    double[] thetaBrute = exp(best.getPoint());
    System.out.printf("brute force θ = %s, logL = %.8f; AI-REML θ = %s, logL = %.8f%n",
        java.util.Arrays.toString(thetaBrute), best.getValue(), java.util.Arrays.toString(fit.theta()), fit.logL());
    // The engine's logL at its optimum equals the plain formula there (direct algebra: 1e-8).
    assertClose(fit.logL(), plainLogL(fit.theta(), parts, xm, ym), 1e-8, 0, "logL vs plain formula");
    // Both optimize the same function: the maxima agree (iterative fits: 1e-6 in logL, 1e-3 in θ).
    assertClose(fit.logL(), best.getValue(), 1e-6, 0, "max logL");
    assertTrue(fit.logL() >= best.getValue() - 1e-9, "AI-REML reaches at least the Nelder–Mead maximum");
    assertClose(fit.theta(), thetaBrute, 0, 1e-3, "θ");

    // Observed information = −Hessian of the plain logL by central differences (relative 1e-3).
    double[] info = SmallMatrices.invertSpd(fit.observedCovariance(), 3);
    for (int a = 0; a < 3; a++) {
      for (int b = 0; b < 3; b++) {
        double ha = 1e-3 * fit.theta()[a];
        double hb = 1e-3 * fit.theta()[b];
        double f = (plainLogL(shift(fit.theta(), a, ha, b, hb), parts, xm, ym)
            - plainLogL(shift(fit.theta(), a, ha, b, -hb), parts, xm, ym)
            - plainLogL(shift(fit.theta(), a, -ha, b, hb), parts, xm, ym)
            + plainLogL(shift(fit.theta(), a, -ha, b, -hb), parts, xm, ym)) / (4 * ha * hb);
        assertClose(info[a + 3 * b], -f, 0, 2e-3, "observed information (" + a + "," + b + ")");
      }
    }
  }

  static double[] shift(double[] t, int a, double ha, int b, double hb) {
    double[] s = t.clone();
    s[a] += ha;
    s[b] += hb;
    return s;
  }

  static double[] exp(double[] t) {
    double[] o = new double[t.length];
    for (int i = 0; i < t.length; i++) {
      o[i] = Math.exp(t[i]);
    }
    return o;
  }

  static RealMatrix toMatrix(double[] a, int n) {
    RealMatrix m = new Array2DRowRealMatrix(n, n);
    for (int j = 0; j < n; j++) {
      for (int i = 0; i < n; i++) {
        m.setEntry(i, j, a[i + j * n]);
      }
    }
    return m;
  }
}
