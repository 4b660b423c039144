package org.lmmspark.engine.assoc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.PlainGls.dot;
import static org.lmmspark.engine.testing.PlainGls.projection;
import static org.lmmspark.engine.testing.PlainGls.times;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.commons.math3.distribution.FDistribution;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.SpectralReml;
import org.lmmspark.engine.reml.VarianceComponent;
import org.lmmspark.engine.stats.ChiSquared;
import org.lmmspark.engine.stats.FisherF;
import org.lmmspark.engine.testing.BedFixture;

/**
 * The association kernels against the definitions written plainly: random genotypes with missing
 * calls and monomorphic variants, 70 of 90 .fam samples analysed in a shuffled order, 3 covariates,
 * a random relationship matrix, given variance components. Float rotation: 1e-5 relative.
 */
class MlmaBruteForceTest {
  static final int FAM = 90;
  static final int N = 70;
  static final int M = 45;
  static final int P = 3;

  @Test
  void fixedNullEqualsDenseDefinition(@TempDir Path dir) {
    Setup s = new Setup(dir);
    double sg = 0.7;
    double se = 0.4;
    NullModel model = NullModel.of(s.problem, SpectralReml.decompose(s.k), sg, se, s.rows, "test");
    VariantFilterCounts counts = new VariantFilterCounts(N);
    AssocResults r = Mlma.testRange(model, BedFixture.source(s.prefix).reader(), 0, M,
        BedFixture.source(s.prefix).position(0), null, 0, 8, false, new Configuration(), counts);
    assertEquals(r.size(), counts.kept);
    assertTrue(counts.monomorphic >= 4, "monomorphic variants dropped: " + counts);
    double[] pm = projection(s.k.toDense(), sg, se, s.x, N, P);
    double[] py = times(pm, s.y);
    for (int k = 0; k < r.size(); k++) {
      int v = r.variant(k);
      double[] x = s.dosage(v);
      double[] px = times(pm, x);
      double xPx = dot(x, px);
      double xPy = dot(x, py);
      assertClose(r.beta(k), xPy / xPx, 1e-6, 1e-5, "beta " + v);
      assertClose(r.se(k), 1 / Math.sqrt(xPx), 0, 1e-5, "se " + v);
      assertClose(r.statistic(k), xPy * xPy / xPx, 1e-7, 1e-5, "chi2 " + v);
      assertClose(r.logP(k), ChiSquared.logUpperTail(xPy * xPy / xPx, 1), 1e-5, 1e-5, "log p " + v);
      assertClose(r.a1Frequency(k), s.freq(v), 1e-12, 0, "A1 frequency " + v);
      assertEquals(s.called(v), r.called(k), "called " + v);
    }
  }

  /**
   * The exact test equals a full REML fit (the engine's spectral REML solver, fitted from scratch) with
   * the variant added to the covariates: λ̂ = σ̂²_g/σ̂²_e, β̂ and its SE from (XᵀV̂⁻¹X)⁻¹; p from F(1, n−p−1).
   */
  @Test
  void exactEqualsRemlWithVariantAsCovariate(@TempDir Path dir) {
    Setup s = new Setup(dir);
    SpectralReml.Eigen eigen = SpectralReml.decompose(s.k);
    NullModel model = NullModel.of(s.problem, eigen, 0.5, 0.5, s.rows, "test");
    AssocResults r = Mlma.testRange(model, BedFixture.source(s.prefix).reader(), 0, M,
        BedFixture.source(s.prefix).position(0), null, 0, 16, true, new Configuration(),
        new VariantFilterCounts(N));
    int checked = 0;
    for (int k = 0; k < r.size(); k++) {
      int v = r.variant(k);
      double[] xa = new double[N * (P + 1)];
      System.arraycopy(s.x, 0, xa, 0, N * P);
      System.arraycopy(s.dosage(v), 0, xa, N * P, N);
      RemlProblem withX = new RemlProblem(s.y.clone(), xa, List.of("c0", "c1", "c2", "x"),
          List.of(new VarianceComponent("K", s.k)));
      RemlFit fit = new SpectralReml().fit(withX, eigen);
      double lambda = fit.theta()[0] / fit.theta()[1];
      if (lambda < 1e-4 || lambda > 1e4) {
        continue; // on GEMMA's λ range limits the two optimizers stop at different places
      }
      checked++;
      assertClose(r.lambda(k), lambda, 0, 1e-4, "lambda " + v);
      assertClose(r.beta(k), fit.beta()[P], 1e-6, 1e-4, "beta " + v);
      assertClose(r.se(k), fit.betaSe(P), 0, 1e-4, "se " + v);
      double f = r.beta(k) * r.beta(k) / (r.se(k) * r.se(k));
      assertClose(r.statistic(k), f, 0, 1e-12, "F " + v);
      assertClose(Math.exp(r.logP(k)), 1 - new FDistribution(1, N - P - 1).cumulativeProbability(f), 1e-9, 1e-6, "p " + v);
    }
    assertTrue(checked >= 20, "variants checked away from the λ limits: " + checked);
  }

  /**
   * {@code --test f}, {@code lrt} and {@code score} against dense generalized least squares written
   * plainly with {@code H = λK + I} (commons-math LU, independent of the spectral Cholesky trick):
   * F: β̂ and {@code (X'ᵀH⁻¹X')⁻¹} with X' = [X x] at the null λ, {@code σ̂² = rᵀH⁻¹r/(n−p−1)};
   * LRT: the Gaussian ML log-likelihood {@code −½(n log(2πσ̂²) + log|H| + n)} ({@code σ̂² = rᵀH⁻¹r/n})
   * maximized over log λ by Brent in the test, with and without x; score:
   * {@code n(xᵀPy)²/(yᵀPy·xᵀPx)} with the dense projection at the null ML λ̂₀. Tolerances: 1e-5 relative
   * (float rotation of the genotypes), 1e-4 for the per-variant λ̂ (a flat optimum).
   */
  @Test
  void fLrtAndScoreEqualDenseDefinitions(@TempDir Path dir) {
    Setup s = new Setup(dir);
    double sg = 0.6;
    double se = 0.5;
    NullModel model = NullModel.of(s.problem, SpectralReml.decompose(s.k), sg, se, s.rows, "test");
    AssocResults f = Mlma.testRange(model, BedFixture.source(s.prefix).reader(), 0, M,
        BedFixture.source(s.prefix).position(0), null, 0, 16, LmmTest.F, new Configuration(),
        new VariantFilterCounts(N));
    AssocResults lrt = Mlma.testRange(model, BedFixture.source(s.prefix).reader(), 0, M,
        BedFixture.source(s.prefix).position(0), null, 0, 16, LmmTest.LRT, new Configuration(),
        new VariantFilterCounts(N));
    AssocResults score = Mlma.testRange(model, BedFixture.source(s.prefix).reader(), 0, M,
        BedFixture.source(s.prefix).position(0), null, 0, 16, LmmTest.SCORE, new Configuration(),
        new VariantFilterCounts(N));
    double[] kd = s.k.toDense();
    double lambda0 = sg / se;
    double[] null0 = maximizeMl(kd, s.x, P, s.y);
    double df = N - P - 1;
    int checkedLrt = 0;
    for (int k = 0; k < f.size(); k++) {
      int v = f.variant(k);
      double[] xa = new double[N * (P + 1)];
      System.arraycopy(s.x, 0, xa, 0, N * P);
      System.arraycopy(s.dosage(v), 0, xa, N * P, N);
      // F at the null ratio.
      Gls g = Gls.fit(kd, lambda0, xa, P + 1, s.y);
      double sigma2 = g.rHr / df;
      double seX = Math.sqrt(sigma2 * g.cov[P][P]);
      double fStat = g.beta[P] * g.beta[P] / (seX * seX);
      assertClose(f.beta(k), g.beta[P], 1e-6, 1e-5, "F beta " + v);
      assertClose(f.se(k), seX, 0, 1e-5, "F se " + v);
      assertClose(f.statistic(k), fStat, 1e-7, 1e-5, "F " + v);
      assertClose(Math.exp(f.logP(k)), 1 - new FDistribution(1, df).cumulativeProbability(fStat), 1e-8, 1e-5, "F p " + v);
      // Score at the null ML ratio.
      double[] pm = projection(kd, null0[0], 1, s.x, N, P);
      double[] x = s.dosage(v);
      double xPx = dot(x, times(pm, x));
      double xPy = dot(x, times(pm, s.y));
      double yPy = dot(s.y, times(pm, s.y));
      double sc = N * xPy * xPy / (yPy * xPx);
      assertClose(score.statistic(k), sc, 1e-7, 1e-5, "score " + v);
      assertClose(score.lambda(k), null0[0], 0, 1e-4, "score lambda " + v);
      // LRT: both ML fits from scratch.
      double[] alt = maximizeMl(kd, xa, P + 1, s.y);
      if (alt[0] < 1e-4 || alt[0] > 1e4 || null0[0] < 1e-4) {
        continue; // at GEMMA's λ range limits the two optimizers stop at different places
      }
      checkedLrt++;
      double stat = Math.max(0, 2 * (alt[1] - null0[1]));
      assertClose(lrt.statistic(k), stat, 1e-6, 1e-5, "LRT " + v);
      assertClose(lrt.lambda(k), alt[0], 0, 1e-4, "ML lambda " + v);
      assertClose(lrt.logP(k), ChiSquared.logUpperTail(stat, 1), 1e-6, 1e-5, "LRT log p " + v);
    }
    assertTrue(checkedLrt >= 20, "LRT variants checked away from the λ limits: " + checkedLrt);
  }

  /** {λ̂, ℓ_ML(λ̂)}: the Gaussian ML log-likelihood, β and σ² profiled out, maximized over log λ ∈ [log 1e-5, log 1e5]. */
  static double[] maximizeMl(double[] kd, double[] xd, int p, double[] y) {
    java.util.function.DoubleUnaryOperator ml = t -> {
      Gls g = Gls.fit(kd, Math.exp(t), xd, p, y);
      int n = y.length;
      return -0.5 * (n * Math.log(2 * Math.PI * g.rHr / n) + g.logDetH + n);
    };
    double best = Double.NEGATIVE_INFINITY;
    double bestT = 0;
    for (int i = 0; i <= 100; i++) {
      double t = Math.log(1e-5) + i * (Math.log(1e5) - Math.log(1e-5)) / 100;
      double v = ml.applyAsDouble(t);
      if (v > best) {
        best = v;
        bestT = t;
      }
    }
    double step = (Math.log(1e5) - Math.log(1e-5)) / 100;
    org.apache.commons.math3.optim.univariate.UnivariatePointValuePair opt =
        new org.apache.commons.math3.optim.univariate.BrentOptimizer(1e-12, 1e-14).optimize(
            new org.apache.commons.math3.optim.MaxEval(500), org.apache.commons.math3.optim.nonlinear.scalar.GoalType.MAXIMIZE,
            new org.apache.commons.math3.optim.univariate.SearchInterval(Math.max(Math.log(1e-5), bestT - step),
                Math.min(Math.log(1e5), bestT + step), bestT),
            new org.apache.commons.math3.optim.univariate.UnivariateObjectiveFunction(ml::applyAsDouble));
    return opt.getValue() > best ? new double[] {Math.exp(opt.getPoint()), opt.getValue()} : new double[] {Math.exp(bestT), best};
  }

  /** Generalized least squares with {@code H = λK + I}, in plain dense algebra (commons-math). */
  record Gls(double[] beta, double[][] cov, double rHr, double logDetH) {
    static Gls fit(double[] kd, double lambda, double[] xd, int p, double[] y) {
      int n = y.length;
      org.apache.commons.math3.linear.RealMatrix h = new org.apache.commons.math3.linear.Array2DRowRealMatrix(n, n);
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          h.setEntry(i, j, lambda * kd[i + j * n] + (i == j ? 1 : 0));
        }
      }
      org.apache.commons.math3.linear.LUDecomposition lu = new org.apache.commons.math3.linear.LUDecomposition(h);
      org.apache.commons.math3.linear.RealMatrix hInv = lu.getSolver().getInverse();
      org.apache.commons.math3.linear.RealMatrix x = new org.apache.commons.math3.linear.Array2DRowRealMatrix(n, p);
      for (int j = 0; j < p; j++) {
        for (int i = 0; i < n; i++) {
          x.setEntry(i, j, xd[i + j * n]);
        }
      }
      org.apache.commons.math3.linear.RealVector yv = new org.apache.commons.math3.linear.ArrayRealVector(y);
      org.apache.commons.math3.linear.RealMatrix c = new org.apache.commons.math3.linear.LUDecomposition(
          x.transpose().multiply(hInv).multiply(x)).getSolver().getInverse();
      org.apache.commons.math3.linear.RealVector b = c.operate(x.transpose().operate(hInv.operate(yv)));
      org.apache.commons.math3.linear.RealVector r = yv.subtract(x.operate(b));
      return new Gls(b.toArray(), c.getData(), r.dotProduct(hInv.operate(r)), Math.log(lu.getDeterminant()));
    }
  }

  /** F tails in log space: equal to commons-math where it does not underflow, finite far beyond. */
  @Test
  void fisherFTail() {
    for (double df : new double[] {3, 30, 496, 10_000}) {
      FDistribution dist = new FDistribution(1, df);
      for (double f : new double[] {0.01, 0.5, 1, 4, 10, 30, 100}) {
        double expected = 1 - dist.cumulativeProbability(f);
        assertClose(Math.exp(FisherF.logUpperTail(f, 1, df)), expected, 1e-14, 1e-9, "F(1," + df + ") tail at " + f);
      }
    }
    // t² with 500 df at t = 60: P(F ≥ 3600) is ~1e-220 (the t tail); at F = 1e5 it is far below 1e-308.
    double logP = FisherF.logUpperTail(1e5, 1, 500);
    assertTrue(Double.isFinite(logP) && logP < Math.log(1e-308), "log p " + logP);
    // Large df: F(1, ∞) is χ²₁.
    assertClose(FisherF.logUpperTail(900, 1, 1e9), ChiSquared.logUpperTail(900, 1), 0, 1e-6, "F(1, 1e9) vs chi2_1");
    assertEquals(0.0, FisherF.logUpperTail(0, 1, 10));
  }

  /** Shared random set-up. */
  static final class Setup {
    final String prefix;
    final int[][] g;
    final int[] rows = new int[N];
    final double[] y = new double[N];
    final double[] x = new double[N * P];
    final DenseSymmetricMatrix k;
    final RemlProblem problem;

    Setup(Path dir) {
      SplittableRandom rng = new SplittableRandom(42);
      g = BedFixture.random(FAM, M, 0.05, 9, 7);
      prefix = BedFixture.write(dir, "bf", g, new int[M]);
      // Analysed samples: a shuffled subset of the .fam.
      int[] perm = new int[FAM];
      for (int i = 0; i < FAM; i++) {
        perm[i] = i;
      }
      for (int i = FAM - 1; i > 0; i--) {
        int j = rng.nextInt(i + 1);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
      }
      System.arraycopy(perm, 0, rows, 0, N);
      int q = 40;
      double[] z = new double[N * q];
      for (int i = 0; i < z.length; i++) {
        z[i] = rng.nextGaussian();
      }
      double[] kd = new double[N * N];
      Blas.dgemm(false, true, N, N, q, 1.0 / q, z, N, z, N, 0.0, kd, N);
      k = new DenseSymmetricMatrix(N, kd);
      for (int i = 0; i < N; i++) {
        x[i] = 1;
        x[i + N] = rng.nextGaussian();
        x[i + 2 * N] = rng.nextInt(2);
        y[i] = 0.5 * x[i + N] + rng.nextGaussian();
      }
      problem = new RemlProblem(y, x, List.of("intercept", "c1", "c2"), List.of(new VarianceComponent("K", k)));
    }

    /** A1 counts of analysed samples; missing replaced by the mean of the called ones. */
    double[] dosage(int v) {
      double[] d = new double[N];
      double mean = 2 * freq(v);
      for (int i = 0; i < N; i++) {
        int c = g[v][rows[i]];
        d[i] = c < 0 ? mean : c;
      }
      return d;
    }

    double freq(int v) {
      double sum = 0;
      for (int i = 0; i < N; i++) {
        int c = g[v][rows[i]];
        sum += c < 0 ? 0 : c;
      }
      return sum / (2.0 * called(v));
    }

    int called(int v) {
      int c = 0;
      for (int i = 0; i < N; i++) {
        c += g[v][rows[i]] < 0 ? 0 : 1;
      }
      return c;
    }
  }
}
