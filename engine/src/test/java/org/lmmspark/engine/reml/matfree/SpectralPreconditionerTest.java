package org.lmmspark.engine.reml.matfree;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;

/**
 * The leading Ritz pairs of a structured GRM against a dense eigendecomposition, the deflation
 * preconditioner's powers and log-determinant against the same matrix M written out densely, and PCG
 * with it against Jacobi on {@code V = a·K + b·I}.
 */
class SpectralPreconditionerTest {
  static final int N = 600;

  /**
   * K = Z Zᵀ/m over m = 900 variants in 3 populations whose allele frequencies differ (Balding–Nichols,
   * F_ST = 0.15), standardized with the pooled frequency: two eigenvalues of order N·F_ST (tens here, thousands at biobank N) above a bulk of
   * order 1, as in a real structured cohort.
   */
  static double[] structuredGrm(long seed) {
    int m = 900;
    Random rnd = new Random(seed);
    double[] z = new double[N * m];
    double fst = 0.15;
    for (int v = 0; v < m; v++) {
      double p = 0.1 + 0.8 * rnd.nextDouble();
      double[] pk = new double[3];
      for (int k = 0; k < 3; k++) {
        // Normal approximation of Beta(p(1−F)/F, (1−p)(1−F)/F): mean p, variance F·p(1−p).
        pk[k] = Math.min(0.99, Math.max(0.01, p + rnd.nextGaussian() * Math.sqrt(fst * p * (1 - p))));
      }
      double mean = 0;
      double[] x = new double[N];
      for (int i = 0; i < N; i++) {
        double f = pk[i % 3];
        x[i] = (rnd.nextDouble() < f ? 1 : 0) + (rnd.nextDouble() < f ? 1 : 0);
        mean += x[i];
      }
      mean /= N;
      double sd = Math.sqrt(2 * (mean / 2) * (1 - mean / 2));
      for (int i = 0; i < N; i++) {
        z[i + v * N] = (x[i] - mean) / sd;
      }
    }
    double[] k = new double[N * N];
    Blas.dgemm(false, true, N, N, m, 1.0 / m, z, N, z, N, 0.0, k, N);
    return k;
  }

  /** log|A| of an N×N SPD matrix from its Cholesky factor, written plainly. */
  static double logDetByCholesky(double[] a) {
    double[] l = a.clone();
    assertTrue(Blas.dpotrfLower(N, l));
    double logDet = 0;
    for (int i = 0; i < N; i++) {
      logDet += 2 * Math.log(l[i + i * N]);
    }
    return logDet;
  }

  @Test
  void ritzPairsMatchDenseEigenpairsAndPreconditionerMatchesDenseM() {
    double[] k = structuredGrm(5);
    double[] w = new double[N];
    double[] vecs = k.clone();
    Blas.dsyevd(N, vecs, w); // ascending
    LeadingEigenspace e = LeadingEigenspace.compute(new DenseSymmetricMatrix(N, k), 8, 4, 3);
    System.out.printf("dense leading eigenvalues %.4f %.4f %.4f; %s%n", w[N - 1], w[N - 2], w[N - 3], e.describe());
    assertTrue(w[N - 2] > 10 * w[N - 3], "two separated population axes");
    // Separated pairs: the Ritz values are taken on span(A³Ω), error ~ (λ_9/λ_i)^6 ≈ (2.6/54)^6 ≈ 1e-8
    // relative, times the start block's constant: 1e-6.
    for (int j = 0; j < 2; j++) {
      assertClose(e.values()[j], w[N - 1 - j], 0, 1e-6, "leading eigenvalue " + j);
      // The vector (and residual) error is the square root of the value's: ~1e-4.
      assertTrue(e.residuals()[j] < 1e-3, "residual of pair " + j + ": " + e.residuals()[j]);
    }
    // Orthonormal U (Householder QR and an orthogonal rotation): UᵀU = I to rounding.
    int r = e.rank();
    double[] utu = new double[r * r];
    Blas.dgemm(true, false, r, r, N, 1.0, e.vectors(), N, e.vectors(), N, 0.0, utu, r);
    for (int i = 0; i < r; i++) {
      for (int j = 0; j < r; j++) {
        assertClose(utu[i + j * r], i == j ? 1 : 0, 1e-12, 0, "UᵀU[" + i + "," + j + "]");
      }
    }
    double trace = 0;
    double top = 0;
    for (int i = 0; i < N; i++) {
      trace += k[i + i * N];
    }
    for (double v : e.values()) {
      top += v;
    }
    assertClose(e.restMean(), (trace - top) / (N - r), 1e-12, 0, "mean eigenvalue beyond U");

    // M = U diag(aλ+b) Uᵀ + (aλ̄+b)(I − UUᵀ), written out.
    double a = 0.6;
    double b = 0.4;
    double[] mDense = new double[N * N];
    for (int i = 0; i < N; i++) {
      mDense[i + i * N] = a * e.restMean() + b;
    }
    for (int j = 0; j < r; j++) {
      double d = a * e.values()[j] - a * e.restMean();
      for (int c = 0; c < N; c++) {
        for (int i = 0; i < N; i++) {
          mDense[i + c * N] += d * e.vectors()[i + j * N] * e.vectors()[c + j * N];
        }
      }
    }
    SpectralPreconditioner pre = new SpectralPreconditioner(e, a, b);
    Random rnd = new Random(8);
    int cols = 3;
    double[] in = new double[N * cols];
    for (int i = 0; i < in.length; i++) {
      in[i] = rnd.nextGaussian();
    }
    int[] all = {0, 1, 2};
    double[] inv = new double[N * cols];
    pre.apply(in, inv, N, all, cols);
    double[] expected = BatchedPcgTest.denseSolve(mDense, N, in, cols);
    double[] half = new double[N * cols];
    pre.power(-0.5, in, half, N, all, cols);
    pre.power(-0.5, half, half, N, all, cols);
    for (int i = 0; i < in.length; i++) {
      assertClose(inv[i], expected[i], 1e-10, 1e-10, "M⁻¹ in [" + i + "]");
      assertClose(half[i], expected[i], 1e-10, 1e-10, "M^{-1/2} M^{-1/2} in [" + i + "]");
    }
    assertClose(pre.logDet(), logDetByCholesky(mDense), 1e-9, 1e-12, "log|M|");
  }

  /** On V = 0.5 K + 0.5 I of the structured GRM, deflated PCG reaches the dense solution in fewer iterations. */
  @Test
  void deflationCutsIterationsOnAStructuredGrm() {
    double[] k = structuredGrm(6);
    double a = 0.5;
    double b = 0.5;
    double[] v = new double[N * N];
    for (int i = 0; i < v.length; i++) {
      v[i] = a * k[i];
    }
    double[] d = new double[N];
    for (int i = 0; i < N; i++) {
      v[i + i * N] += b;
      d[i] = v[i + i * N];
    }
    Random rnd = new Random(9);
    int cols = 4;
    double[] rhs = new double[N * cols];
    for (int i = 0; i < rhs.length; i++) {
      rhs[i] = rnd.nextGaussian() + (i % N < N / 3 ? 1 : 0); // with a component along the population axes
    }
    double[] expected = BatchedPcgTest.denseSolve(v, N, rhs, cols);
    DenseSymmetricMatrix op = new DenseSymmetricMatrix(N, v);
    LeadingEigenspace e = LeadingEigenspace.compute(new DenseSymmetricMatrix(N, k), 8, 4, 3);
    BatchedPcg.Result jacobi = BatchedPcg.solve(op, rhs, cols, null, BatchedPcg.Preconditioner.diagonal(d), 1e-10, 500,
        false);
    BatchedPcg.Result deflated = BatchedPcg.solve(op, rhs, cols, null, new SpectralPreconditioner(e, a, b), 1e-10, 500,
        false);
    System.out.printf("CG iterations to 1e-10: Jacobi %d, deflation %d%n", jacobi.maxIterations(),
        deflated.maxIterations());
    assertTrue(deflated.allConverged() && jacobi.allConverged());
    for (int i = 0; i < rhs.length; i++) {
      // Condition ~ 100 at most, residual 1e-10: 1e-8 relative to the solution's scale.
      assertClose(deflated.x()[i], expected[i], 1e-8, 1e-8, "solution [" + i + "]");
    }
    assertTrue(deflated.maxIterations() < jacobi.maxIterations(), "deflation " + deflated.maxIterations()
        + " vs Jacobi " + jacobi.maxIterations());
  }

  /**
   * The many-traits case ({@code StochasticReml.fitTogether}): a trait missing 15 % of the samples borrows the Ritz pairs
   * of K over all of them, restricted to its rows, with no product of its own ({@link LeadingEigenspace#borrowed}).
   * Its vectors are orthonormal and the preconditioner stays SPD, so PCG on the trait's V reaches the dense solution;
   * still in fewer iterations than Jacobi (the population axes are nearly the same on 85 % of the samples).
   */
  @Test
  void borrowedRitzPairsOfTheFullSampleStillPrecondition() {
    double[] k = structuredGrm(6);
    LeadingEigenspace full = LeadingEigenspace.compute(new DenseSymmetricMatrix(N, k), 8, 4, 3);
    Random rnd = new Random(17);
    int[] rows = java.util.stream.IntStream.range(0, N).filter(i -> rnd.nextDouble() >= 0.15).toArray();
    int n = rows.length;
    double[] ks = new double[n * n];
    double[] start = new double[n * 8];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        ks[i + j * n] = k[rows[i] + rows[j] * N];
      }
      for (int c = 0; c < 8; c++) {
        start[i + c * n] = full.vectors()[rows[i] + c * N];
      }
    }
    LeadingEigenspace borrowed = LeadingEigenspace.borrowed(new DenseSymmetricMatrix(n, ks), 8, start, full.values());
    assertTrue(borrowed.passes() == 0);
    for (int a = 0; a < 8; a++) {
      for (int b = 0; b < 8; b++) {
        double dot = 0;
        for (int i = 0; i < n; i++) {
          dot += borrowed.vectors()[i + a * n] * borrowed.vectors()[i + b * n];
        }
        assertClose(dot, a == b ? 1 : 0, 1e-12, 1e-12, "UᵀU[" + a + "," + b + "]");
      }
    }
    double a = 0.5;
    double b = 0.5;
    double[] v = new double[n * n];
    double[] d = new double[n];
    for (int i = 0; i < v.length; i++) {
      v[i] = a * ks[i];
    }
    for (int i = 0; i < n; i++) {
      v[i + i * n] += b;
      d[i] = v[i + i * n];
    }
    double[] rhs = new double[n * 3];
    for (int i = 0; i < rhs.length; i++) {
      rhs[i] = rnd.nextGaussian() + (rows[i % n] < N / 3 ? 1 : 0);
    }
    double[] expected = BatchedPcgTest.denseSolve(v, n, rhs, 3);
    DenseSymmetricMatrix op = new DenseSymmetricMatrix(n, v);
    BatchedPcg.Result jacobi = BatchedPcg.solve(op, rhs, 3, null, BatchedPcg.Preconditioner.diagonal(d), 1e-10, 500,
        false);
    BatchedPcg.Result deflated = BatchedPcg.solve(op, rhs, 3, null, new SpectralPreconditioner(borrowed, a, b), 1e-10,
        500, false);
    System.out.printf("borrowed Ritz pairs, CG iterations to 1e-10: Jacobi %d, deflation %d%n", jacobi.maxIterations(),
        deflated.maxIterations());
    assertTrue(deflated.allConverged());
    for (int i = 0; i < rhs.length; i++) {
      assertClose(deflated.x()[i], expected[i], 1e-8, 1e-8, "solution [" + i + "]");
    }
    assertTrue(deflated.maxIterations() < jacobi.maxIterations(), "deflation " + deflated.maxIterations()
        + " vs Jacobi " + jacobi.maxIterations());
  }

  /**
   * REML on the structured GRM: the preconditioner changes how CG gets there, not the estimating
   * equations (same probes), so deflation and Jacobi reach the same θ; deflation in fewer products.
   */
  @Test
  void remlWithDeflationEqualsRemlWithJacobi() {
    double[] k = structuredGrm(7);
    Random rnd = new Random(10);
    // y = 1 + g + e, g = √0.5·L w ~ N(0, 0.5 K) with K = L Lᵀ (Cholesky; K + 1e-6 I, K being PSD).
    double[] l = k.clone();
    for (int i = 0; i < N; i++) {
      l[i + i * N] += 1e-6;
    }
    assertTrue(Blas.dpotrfLower(N, l));
    double[] y = new double[N];
    double[] w = new double[N];
    for (int i = 0; i < N; i++) {
      w[i] = rnd.nextGaussian();
    }
    for (int i = 0; i < N; i++) {
      double g = 0;
      for (int j = 0; j <= i; j++) {
        g += l[i + j * N] * w[j];
      }
      y[i] = 1 + Math.sqrt(0.5) * g + Math.sqrt(0.5) * rnd.nextGaussian();
    }
    double[] x = new double[N];
    java.util.Arrays.fill(x, 1);
    org.lmmspark.engine.reml.RemlProblem problem = new org.lmmspark.engine.reml.RemlProblem(y, x,
        java.util.List.of("intercept"), java.util.List.of(new org.lmmspark.engine.reml.VarianceComponent("G",
            new DenseSymmetricMatrix(N, k))));
    StochasticReml.Options o = StochasticReml.Options.defaults();
    StochasticReml.Outcome deflated = StochasticReml.solvingProbes(o).fitWithDiagnostics(problem);
    StochasticReml.Outcome jacobi = StochasticReml.solvingProbes(o.withDeflationRank(0)).fitWithDiagnostics(problem);
    System.out.printf("REML on a structured GRM: deflation θ = (%.6f, %.6f) in %d products, Jacobi (%.6f, %.6f) in %d; "
        + "log|V| %.4f vs %.4f%n", deflated.fit().theta()[0], deflated.fit().theta()[1],
        deflated.diagnostics().operatorProducts(), jacobi.fit().theta()[0], jacobi.fit().theta()[1],
        jacobi.diagnostics().operatorProducts(), deflated.diagnostics().logDetV(), jacobi.diagnostics().logDetV());
    assertTrue(deflated.fit().converged() && jacobi.fit().converged());
    assertTrue(deflated.diagnostics().eigenspace() != null && jacobi.diagnostics().eigenspace() == null);
    // Same equations, solved by CG to 1e-6 and stopped at AI steps ≤ 1e-5·Σθ: θ agrees to ~1e-4 relative.
    for (int c = 0; c < 2; c++) {
      assertClose(deflated.fit().theta()[c], jacobi.fit().theta()[c], 0, 1e-3, "θ_" + c);
    }
    // log|V| by quadrature on M^{-1/2}VM^{-1/2} plus log|M| vs on V: the same probes, each within its MC error.
    double mc = deflated.diagnostics().logDetVMonteCarloSe() + jacobi.diagnostics().logDetVMonteCarloSe();
    assertClose(deflated.diagnostics().logDetV(), jacobi.diagnostics().logDetV(), 3 * mc, 0, "log|V|");
    // And the deflated estimate against the dense log|V| at its θ (Cholesky), within 3 of its MC SEs.
    double[] v = new double[N * N];
    for (int i = 0; i < v.length; i++) {
      v[i] = deflated.fit().theta()[0] * k[i];
    }
    for (int i = 0; i < N; i++) {
      v[i + i * N] += deflated.fit().theta()[1];
    }
    assertClose(deflated.diagnostics().logDetV(), logDetByCholesky(v), 3 * deflated.diagnostics().logDetVMonteCarloSe() + 1e-3, 0,
        "log|V| against the dense Cholesky");
    assertTrue(deflated.diagnostics().operatorProducts() < jacobi.diagnostics().operatorProducts());
  }
}
