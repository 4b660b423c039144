package org.lmmspark.engine.reml.matfree;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;

/**
 * {@link ProbeLanczos} against the definition written plainly: {@code zᵀ f(K) z = Σ_i (u_iᵀz)² f(λ_i)} from the
 * dense eigendecomposition of a GRM-like {@code K = WWᵀ/m} (n = 120, m = 80, so K is singular, as a GRM with
 * fewer variants than samples), for the REML trace function {@code λ/(θ_gλ + θ_e)} and log(θ_gλ + θ_e) at
 * several θ from one set of runs; and the residual bound against CG's own residual.
 */
class ProbeLanczosTest {
  static final int N = 120;
  static final int M = 80;

  static double[] grm(Random rnd) {
    double[] w = new double[N * M];
    for (int i = 0; i < w.length; i++) {
      w[i] = rnd.nextGaussian();
    }
    double[] k = new double[N * N];
    Blas.dgemm(false, true, N, N, M, 1.0 / M, w, N, w, N, 0.0, k, N);
    return k;
  }

  @Test
  void quadratureAtAnyShiftEqualsTheDenseQuadraticForm() {
    Random rnd = new Random(11);
    double[] k = grm(rnd);
    int r = 3;
    double[] z = new double[N * r];
    for (int i = 0; i < z.length; i++) {
      z[i] = rnd.nextBoolean() ? 1 : -1;
    }
    double[] lambda = new double[N];
    double[] u = new double[N * N];
    Blas.dsyevr(N, k.clone(), lambda, u);
    ProbeLanczos lanczos = new ProbeLanczos(new DenseSymmetricMatrix(N, k.clone()), z, r);
    // K z from the first step.
    double[] kz = new double[N * r];
    Blas.dgemm(false, false, N, r, N, 1.0, k, N, z, N, 0.0, kz, N);
    assertClose(lanczos.kz(), kz, 1e-12, 1e-12, "K z");
    double[][] thetas = {{0.5, 0.5}, {0.1, 0.9}, {0.9, 0.1}, {2.0, 0.05}};
    for (double[] th : thetas) {
      double tg = th[0];
      double te = th[1];
      assertTrue(lanczos.extendUntil(te / tg, 1e-7, N), "converged at θ " + tg + ", " + te);
      for (int j = 0; j < r; j++) {
        double trace = 0;
        double log = 0;
        for (int i = 0; i < N; i++) {
          double c = 0;
          for (int a = 0; a < N; a++) {
            c += u[a + i * N] * z[a + j * N];
          }
          double l = Math.max(0, lambda[i]);
          trace += c * c * l / (tg * l + te);
          log += c * c * Math.log(tg * l + te);
        }
        // The quadratic form's error is about the square of the residual (1e-7): 1e-9 relative is loose.
        assertClose(lanczos.quadratic(j, l -> l / (tg * l + te)), trace, 0, 1e-9, "zᵀV⁻¹Kz, θ " + tg + ", " + te);
        assertClose(lanczos.quadratic(j, l -> Math.log(tg * l + te)), log, 0, 1e-9, "zᵀ log V z, θ " + tg + ", " + te);
      }
    }
    System.out.printf("Lanczos steps for residual 1e-7 at θ_g/θ_e up to 40 (n = %d): %d%n", N, lanczos.maxSteps());
  }

  /**
   * A solved column ({@link ProbeLanczos#withSolved}): run beside the probes to its own tolerance (1e-8, the probes to
   * 1e-3), its kept Lanczos vectors give {@code (θ_gK + θ_eI)⁻¹b} at several θ from one run, against the dense solve
   * (LAPACK Cholesky) to 1e-7 relative (residual 1e-8 times κ ≤ 40 of θ_gK + θ_eI here, with margin), and its
   * quadratic forms {@code bᵀ K^a (θ_gK + θ_eI)^{-c} b} (REML's yᵀPy, score and AI terms) to 1e-10 relative against
   * that solve (their error the square of the residual).
   */
  @Test
  void solvedColumnGivesTheSolveAtAnyShift() {
    Random rnd = new Random(13);
    double[] k = grm(rnd);
    int r = 2;
    double[] z = new double[N * r];
    for (int i = 0; i < z.length; i++) {
      z[i] = rnd.nextBoolean() ? 1 : -1;
    }
    double[] b = new double[N];
    for (int i = 0; i < N; i++) {
      b[i] = 3 + rnd.nextGaussian();
    }
    ProbeLanczos lanczos = ProbeLanczos.withSolved(new DenseSymmetricMatrix(N, k.clone()), z, r, null, b, 1e-8);
    double[][] thetas = {{0.5, 0.5}, {0.9, 0.1}, {0.1, 0.9}};
    for (double[] th : thetas) {
      double tg = th[0];
      double te = th[1];
      assertTrue(lanczos.extendUntil(te / tg, 1e-3, N), "converged at θ " + tg + ", " + te);
      assertTrue(lanczos.relativeResidual(r, te / tg) <= 1e-8, "b's run to its own tolerance");
      // Dense: V = θ_gK + θ_eI, x = V⁻¹b, Kx, V⁻¹x, V⁻¹Kx.
      double[] v = new double[N * N];
      for (int i = 0; i < v.length; i++) {
        v[i] = tg * k[i];
      }
      for (int i = 0; i < N; i++) {
        v[i + i * N] += te;
      }
      assertTrue(Blas.dpotrfLower(N, v));
      double[] x = b.clone();
      Blas.dpotrsLower(N, 1, v, x);
      double[] kx = new double[N];
      Blas.dgemv(false, N, N, 1.0, k, x, 0.0, kx);
      double[] vinvX = x.clone();
      Blas.dpotrsLower(N, 1, v, vinvX);
      double[] vinvKx = kx.clone();
      Blas.dpotrsLower(N, 1, v, vinvKx);
      double[] got = lanczos.apply(r, l -> 1 / (tg * l + te));
      double err = 0;
      double norm = 0;
      for (int i = 0; i < N; i++) {
        err += (got[i] - x[i]) * (got[i] - x[i]);
        norm += x[i] * x[i];
      }
      assertTrue(Math.sqrt(err / norm) < 1e-7, "V⁻¹b relative error " + Math.sqrt(err / norm) + " at θ " + tg);
      assertClose(lanczos.quadratic(r, l -> 1 / (tg * l + te)), StochasticReml.dot(b, 0, x, 0, N), 0, 1e-10, "bᵀV⁻¹b");
      assertClose(lanczos.quadratic(r, l -> l / Math.pow(tg * l + te, 2)), StochasticReml.dot(x, 0, kx, 0, N), 0,
          1e-10, "bᵀV⁻¹KV⁻¹b");
      assertClose(lanczos.quadratic(r, l -> l * l / Math.pow(tg * l + te, 3)), StochasticReml.dot(kx, 0, vinvKx, 0, N),
          0, 1e-10, "bᵀV⁻¹KV⁻¹KV⁻¹b");
      assertClose(lanczos.quadratic(r, l -> 1 / Math.pow(tg * l + te, 3)), StochasticReml.dot(x, 0, vinvX, 0, N), 0,
          1e-10, "bᵀV⁻³b");
    }
    System.out.printf("solved column: %d steps to 1e-8, the probes %d and %d to 1e-3%n", lanczos.steps(r),
        lanczos.steps(0), lanczos.steps(1));
    assertTrue(lanczos.steps(0) < lanczos.steps(r), "the probes stop at their own tolerance");
  }

  /** The residual bound is CG's residual on K + σI from z: it falls as steps are added and reaches the tolerance. */
  @Test
  void residualBoundIsCgsResidual() {
    Random rnd = new Random(12);
    double[] k = grm(rnd);
    double[] z = new double[N];
    for (int i = 0; i < N; i++) {
      z[i] = rnd.nextBoolean() ? 1 : -1;
    }
    double sigma = 0.3;
    ProbeLanczos lanczos = new ProbeLanczos(new DenseSymmetricMatrix(N, k.clone()), z, 1);
    double[] shifted = k.clone();
    for (int i = 0; i < N; i++) {
      shifted[i + i * N] += sigma;
    }
    for (int steps = 2; steps <= 8; steps += 3) {
      // Extend to `steps` steps by asking for an unreachable residual with a step cap.
      assertFalse(lanczos.extendUntil(sigma, 1e-300, steps));
      BatchedPcg.Result cg = BatchedPcg.solve(new DenseSymmetricMatrix(N, shifted.clone()), z, 1, null, null, 1e-300,
          steps, true);
      double[] res = new double[N];
      Blas.dgemm(false, false, N, 1, N, 1.0, shifted, N, cg.x(), N, 0.0, res, N);
      double norm = 0;
      for (int i = 0; i < N; i++) {
        norm += (z[i] - res[i]) * (z[i] - res[i]);
      }
      double cgResidual = Math.sqrt(norm / N);
      assertClose(lanczos.relativeResidual(0, sigma), cgResidual, 0, 1e-6, "residual after " + steps + " steps");
    }
  }

  /**
   * {@link ProbeLanczos#bilinear}: {@code (z ⊙ 1_S)ᵀ f(K) z = Σ_i (u_iᵀ(z ⊙ 1_S)) (u_iᵀz) f(λ_i)} from the dense
   * eigendecomposition, for a random quarter S of the samples; over the prefix {@link ProbeLanczos#stepsFor} picks,
   * whose residual is ≤ 1e-7: the error is of the order of that residual times {@code ‖z_S‖ ‖z‖ max f}.
   */
  @Test
  void bilinearFormOnAnIndexSetEqualsTheDenseOne() {
    Random rnd = new Random(13);
    double[] k = grm(rnd);
    int r = 2;
    double[] z = new double[N * r];
    for (int i = 0; i < z.length; i++) {
      z[i] = rnd.nextBoolean() ? 1 : -1;
    }
    int[] mask = java.util.stream.IntStream.range(0, N).filter(i -> i % 4 == 1).toArray();
    double[] lambda = new double[N];
    double[] u = new double[N * N];
    Blas.dsyevr(N, k.clone(), lambda, u);
    ProbeLanczos lanczos = new ProbeLanczos(new DenseSymmetricMatrix(N, k.clone()), z, r, new int[][] {mask});
    double tg = 0.6;
    double te = 0.4;
    // Extend further than needed (1e-10), then read the prefix for 1e-7.
    assertTrue(lanczos.extendUntil(te / tg, 1e-10, N));
    for (int j = 0; j < r; j++) {
      int steps = lanczos.stepsFor(j, te / tg, 1e-7);
      assertTrue(steps < lanczos.steps(j), "prefix " + steps + " of " + lanczos.steps(j));
      double expected = 0;
      for (int i = 0; i < N; i++) {
        double cs = 0;
        double c = 0;
        for (int a : mask) {
          cs += u[a + i * N] * z[a + j * N];
        }
        for (int a = 0; a < N; a++) {
          c += u[a + i * N] * z[a + j * N];
        }
        double l = Math.max(0, lambda[i]);
        expected += cs * c * l / (tg * l + te);
      }
      double scale = Math.sqrt(mask.length * N) / tg;
      assertClose(lanczos.bilinear(j, 0, l -> l / (tg * l + te), steps), expected, 1e-6 * scale, 0,
          "(z ⊙ 1_S)ᵀ V⁻¹K z, probe " + j);
    }
  }
}
