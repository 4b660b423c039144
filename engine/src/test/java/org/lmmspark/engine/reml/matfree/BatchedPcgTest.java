package org.lmmspark.engine.reml.matfree;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;

/** Batched PCG equals a dense Cholesky solve; Lanczos quadrature equals zᵀ log(A) z from a dense eigendecomposition. */
class BatchedPcgTest {

  /** A = G Gᵀ/m + s I with G n×m standard normal: SPD with a spread spectrum (condition ~ 20). */
  static double[] spd(int n, int m, double s, long seed) {
    Random rnd = new Random(seed);
    double[] g = new double[n * m];
    for (int i = 0; i < g.length; i++) {
      g[i] = rnd.nextGaussian();
    }
    double[] a = new double[n * n];
    Blas.dgemm(false, true, n, n, m, 1.0 / m, g, n, g, n, 0.0, a, n);
    for (int i = 0; i < n; i++) {
      a[i + i * n] += s * (1 + 0.5 * rnd.nextDouble());
    }
    return a;
  }

  static double[] denseSolve(double[] a, int n, double[] b, int r) {
    double[] l = a.clone();
    assertTrue(Blas.dpotrfLower(n, l));
    double[] x = b.clone();
    Blas.dpotrsLower(n, r, l, x);
    return x;
  }

  @Test
  void solvesEqualDenseSolves() {
    int n = 300;
    int r = 6;
    double[] a = spd(n, 200, 0.3, 1);
    Random rnd = new Random(2);
    double[] b = new double[n * r];
    for (int i = 0; i < b.length; i++) {
      b[i] = rnd.nextGaussian() * (1 + i / n);
    }
    double[] expected = denseSolve(a, n, b, r);
    double[] d = new double[n];
    for (int i = 0; i < n; i++) {
      d[i] = a[i + i * n];
    }
    DenseSymmetricMatrix op = new DenseSymmetricMatrix(n, a);
    for (BatchedPcg.Preconditioner pre : java.util.Arrays.asList(null, BatchedPcg.Preconditioner.diagonal(d))) {
      BatchedPcg.Result res = BatchedPcg.solve(op, b, r, null, pre, 1e-12, 1000, false);
      assertTrue(res.allConverged());
      // Each column converges on its own: iterations ≤ n and products = the longest column's count.
      assertTrue(res.products() == res.maxIterations(), "one product per iteration for all columns");
      for (int j = 0; j < r; j++) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < n; i++) {
          double e = res.x()[i + j * n] - expected[i + j * n];
          num += e * e;
          den += expected[i + j * n] * expected[i + j * n];
        }
        // Direct vs iterative solve of a system with condition ~20: 1e-8 relative in the 2-norm.
        assertTrue(Math.sqrt(num / den) < 1e-8, "column " + j + " relative error " + Math.sqrt(num / den));
      }
      // Warm start from the answer: converged after the first residual, no further products needed.
      BatchedPcg.Result warm = BatchedPcg.solve(op, b, r, res.x(), pre, 1e-9, 1000, false);
      assertTrue(warm.maxIterations() <= 1, "warm start iterations " + warm.maxIterations());
    }
  }

  /**
   * Per-column tolerances: each column stops at its own (the loose one after fewer iterations, its
   * products then no longer taken), both within their tolerance of the dense solve's residual, and the
   * tight column's solution the same as when every column runs to the tight tolerance.
   */
  @Test
  void eachColumnStopsAtItsOwnTolerance() {
    int n = 300;
    double[] a = spd(n, 200, 0.3, 3);
    Random rnd = new Random(4);
    double[] b = new double[n * 2];
    for (int i = 0; i < b.length; i++) {
      b[i] = rnd.nextGaussian();
    }
    DenseSymmetricMatrix op = new DenseSymmetricMatrix(n, a);
    int[] width = new int[1];
    BatchedPcg.ColumnOperator counted = (in, k, columns, out) -> {
      width[0] += k;
      op.apply(in, k, out);
    };
    BatchedPcg.Result mixed = BatchedPcg.solve(n, counted, b, 2, null, null, new double[] {1e-10, 1e-2}, 1000, false);
    BatchedPcg.Result tight = BatchedPcg.solve(op, b, 2, null, null, 1e-10, 1000, false);
    assertTrue(mixed.allConverged());
    assertTrue(mixed.iterations()[1] < mixed.iterations()[0], "loose column stops first: "
        + java.util.Arrays.toString(mixed.iterations()));
    assertTrue(width[0] == mixed.iterations()[0] + mixed.iterations()[1], "a stopped column's products are not taken");
    double[] tol = {1e-10, 1e-2};
    for (int j = 0; j < 2; j++) {
      // The true residual b − A x, written densely.
      double num = 0;
      double den = 0;
      for (int i = 0; i < n; i++) {
        double ax = 0;
        for (int l = 0; l < n; l++) {
          ax += a[i + l * n] * mixed.x()[l + j * n];
        }
        num += (b[i + j * n] - ax) * (b[i + j * n] - ax);
        den += b[i + j * n] * b[i + j * n];
      }
      assertTrue(Math.sqrt(num / den) <= 1.01 * tol[j], "column " + j + " residual " + Math.sqrt(num / den));
    }
    for (int i = 0; i < n; i++) {
      assertClose(mixed.x()[i], tight.x()[i], 0, 1e-12, "tight column [" + i + "]");
    }
  }

  /**
   * The returned residual is b − A x (written densely here), and a warm start whose A·x0 is given takes
   * no product for its first residual: from a perturbed dense solution it reaches the dense solution with
   * exactly one product per iteration.
   */
  @Test
  void residualAndWarmStartWithKnownProduct() {
    int n = 200;
    int r = 3;
    double[] a = spd(n, 150, 0.4, 7);
    Random rnd = new Random(8);
    double[] b = new double[n * r];
    for (int i = 0; i < b.length; i++) {
      b[i] = rnd.nextGaussian();
    }
    DenseSymmetricMatrix op = new DenseSymmetricMatrix(n, a);
    BatchedPcg.Result cold = BatchedPcg.solve(op, b, r, null, null, 1e-4, 1000, false);
    double[] ax = new double[n * r];
    Blas.dgemm(false, false, n, r, n, 1.0, a, n, cold.x(), n, 0.0, ax, n);
    for (int i = 0; i < n * r; i++) {
      // Recurrence vs true residual: rounding only, ~1e-14 of ‖b‖ ≈ 14 after a few dozen iterations.
      assertClose(cold.residual()[i], b[i] - ax[i], 1e-11, 0, "residual[" + i + "]");
    }
    double[] expected = denseSolve(a, n, b, r);
    double[] x0 = cold.x();
    BatchedPcg.Result warm = BatchedPcg.solve(op, b, r, x0, ax, null, 1e-12, 1000);
    assertTrue(warm.allConverged());
    // Taken over, not copied: x0 is the iterate and A·x0 the residual (two n×r blocks fewer in LOCO's solves).
    assertTrue(warm.x() == x0, "x0 taken over as the iterate");
    assertTrue(warm.residual() == ax, "A·x0 taken over as the residual");
    assertTrue(warm.products() == warm.maxIterations(), warm.products() + " products for " + warm.maxIterations()
        + " iterations: the first residual must come from the given A·x0");
    for (int i = 0; i < n * r; i++) {
      // Condition ~20 and tolerance 1e-12: the iterate is within ~1e-10 of the Cholesky solution.
      assertClose(warm.x()[i], expected[i], 1e-9, 0, "x[" + i + "]");
    }
  }

  @Test
  void zeroRightHandSideIsZero() {
    int n = 20;
    double[] a = spd(n, 30, 1, 3);
    double[] b = new double[n * 2];
    b[5] = 1;
    BatchedPcg.Result res = BatchedPcg.solve(new DenseSymmetricMatrix(n, a), b, 2, null, null, 1e-12, 100, false);
    assertTrue(res.allConverged());
    for (int i = n; i < 2 * n; i++) {
      assertClose(res.x()[i], 0, 0, 0, "x[" + i + "]");
    }
  }

  @Test
  void lanczosQuadratureEqualsDenseLogForm() {
    int n = 60;
    double[] a = spd(n, 80, 0.5, 4);
    Random rnd = new Random(5);
    double[] z = new double[n];
    for (int i = 0; i < n; i++) {
      z[i] = rnd.nextBoolean() ? 1 : -1;
    }
    BatchedPcg.Result res = BatchedPcg.solve(new DenseSymmetricMatrix(n, a), z, 1, null, null, 1e-13, 1000, true);
    double est = LanczosQuadrature.logQuadratic(res.alphas()[0], res.betas()[0], n);
    // zᵀ log(A) z = Σ_i (u_iᵀz)² log λ_i from dsyevr, written plainly.
    double[] w = new double[n];
    double[] u = new double[n * n];
    Blas.dsyevr(n, a.clone(), w, u);
    double exact = 0;
    for (int i = 0; i < n; i++) {
      double c = 0;
      for (int j = 0; j < n; j++) {
        c += u[j + i * n] * z[j];
      }
      exact += c * c * Math.log(w[i]);
    }
    // Gauss quadrature of degree 2t with t ≈ the CG iterations is exact to rounding here.
    assertClose(est, exact, 1e-8, 1e-8, "zᵀ log(A) z");
  }
}
