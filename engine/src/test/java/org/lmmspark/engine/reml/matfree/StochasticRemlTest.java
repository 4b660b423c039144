package org.lmmspark.engine.reml.matfree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.AiReml;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.SpectralReml;
import org.lmmspark.engine.reml.VarianceComponent;

/**
 * Matrix-free REML on a dense operator against the exact REML of the same data (spectral, and dense
 * AI-REML for two components). Simulated: n = 2,000 unrelated samples, 1,500 standardized variants,
 * y = 1 + 0.3·c + Zβ + e with h² = 0.5, β ~ N(0, h²/M), e ~ N(0, 1 − h²); seed fixed.
 */
class StochasticRemlTest {
  static final int N = 2000;
  static final int M = 1500;
  static RemlProblem problem;
  static double[] k;

  @BeforeAll
  static void simulate() {
    Random rnd = new Random(11);
    double[] z = new double[N * M];
    for (int v = 0; v < M; v++) {
      double f = 0.05 + 0.9 * rnd.nextDouble();
      double[] x = new double[N];
      double mean = 0;
      for (int i = 0; i < N; i++) {
        x[i] = (rnd.nextDouble() < f ? 1 : 0) + (rnd.nextDouble() < f ? 1 : 0);
        mean += x[i];
      }
      mean /= N;
      double p = mean / 2;
      double sd = Math.sqrt(2 * p * (1 - p));
      for (int i = 0; i < N; i++) {
        z[i + v * N] = (x[i] - mean) / sd;
      }
    }
    k = new double[N * N];
    Blas.dgemm(false, true, N, N, M, 1.0 / M, z, N, z, N, 0.0, k, N);
    double h2 = 0.5;
    double[] beta = new double[M];
    for (int v = 0; v < M; v++) {
      beta[v] = rnd.nextGaussian() * Math.sqrt(h2 / M);
    }
    double[] y = new double[N];
    Blas.dgemv(false, N, M, 1.0, z, beta, 0.0, y);
    double[] x = new double[2 * N];
    for (int i = 0; i < N; i++) {
      double c = rnd.nextGaussian();
      x[i] = 1;
      x[i + N] = c;
      y[i] += 1 + 0.3 * c + rnd.nextGaussian() * Math.sqrt(1 - h2);
    }
    problem = new RemlProblem(y, x, List.of("intercept", "c"),
        List.of(new VarianceComponent("G", new DenseSymmetricMatrix(N, k))));
  }

  static double h2(RemlFit f) {
    return f.theta()[0] / (f.theta()[0] + f.theta()[1]);
  }

  @Test
  void agreesWithSpectralReml() {
    RemlFit exact = new SpectralReml().fit(problem);
    StochasticReml.Outcome out = StochasticReml.solvingProbes(StochasticReml.Options.defaults())
        .fitWithDiagnostics(problem);
    RemlFit mf = out.fit();
    assertTrue(mf.converged(), mf.message());
    double se = Math.sqrt(exact.covariance()[0]) / (exact.theta()[0] + exact.theta()[1]);
    System.out.printf("n=%d: spectral h2=%.5f (SE %.4f), matrix-free h2=%.5f (SE %.4f, MC SE θg %.4g), logL %.4f vs %.4f; %s%n",
        N, h2(exact), se, h2(mf), Math.sqrt(mf.covariance()[0]) / (mf.theta()[0] + mf.theta()[1]),
        out.diagnostics().monteCarloSe(0), exact.logL(), mf.logL(), mf.message());
    // Issue 6 point 4: h² within 0.01 of the exact REML (the MC error of 40 probes is far below it here).
    assertClose(h2(mf), h2(exact), 0.01, 0, "h² matrix-free vs spectral");
    assertClose(mf.theta()[0] + mf.theta()[1], exact.theta()[0] + exact.theta()[1], 0, 0.01, "Vp");
    // SEs come from the AI matrix at nearly the same θ: within 5%.
    assertClose(mf.se(0), exact.se(0), 0, 0.05, "SE(σ²_g)");
    assertClose(mf.se(1), exact.se(1), 0, 0.05, "SE(σ²_e)");
    // β and the log-likelihood (log|V| by Lanczos quadrature: a few units of MC error at n = 2,000).
    assertClose(mf.beta()[1], exact.beta()[1], 0.005, 0, "β_c");
    assertClose(mf.logL(), exact.logL(), 3 * out.diagnostics().logDetVMonteCarloSe() + 0.5, 0, "logL");
    // One component: besides K·z once, the Ritz passes and V·Py once for β̂, every product is a CG iteration; the
    // warm starts' first residuals and ΠK·Py come from the solves (ΠK X = (B − R − θ_e X)/θ_g).
    int cg = java.util.Arrays.stream(out.diagnostics().cgIterationsPerSolve()).sum();
    assertEquals(1 + out.diagnostics().eigenspace().passes() + cg + 1, out.diagnostics().operatorProducts(),
        "operator products");
  }

  /**
   * The association run's settings (MatrixFreeAssocJob: 15 probes, CG to 1e-4, step tolerance 1e-3, the first
   * step an AI step from a thin solve whose solutions warm-start the next evaluation): h² within 4 Monte Carlo
   * SEs of the exact REML, and fewer products than the defaults.
   */
  @Test
  void aiFirstStepWithFewProbesAgreesWithinMonteCarloError() {
    RemlFit exact = new SpectralReml().fit(problem);
    StochasticReml.Options d = StochasticReml.Options.defaults();
    StochasticReml.Options quick = new StochasticReml.Options(15, d.seed(), 1e-4, d.maxCgIterations(),
        d.maxIterations(), 1e-3, 0, d.deflationRank(), true);
    StochasticReml.Outcome out = StochasticReml.solvingProbes(quick).fitWithDiagnostics(problem);
    StochasticReml.Outcome full = StochasticReml.solvingProbes(d).fitWithDiagnostics(problem);
    assertTrue(out.fit().converged(), out.fit().message());
    double vp = exact.theta()[0] + exact.theta()[1];
    double mcSe = out.diagnostics().monteCarloSe(0) / vp;
    System.out.printf("15 probes, AI first: h2 %.5f vs exact %.5f (MC SE of h2 ~%.4f), %d products vs %d with the "
        + "defaults%n", h2(out.fit()), h2(exact), mcSe, out.diagnostics().operatorProducts(),
        full.diagnostics().operatorProducts());
    assertClose(h2(out.fit()), h2(exact), 4 * mcSe + 1e-3, 0, "h² (15 probes) vs spectral");
    assertTrue(out.diagnostics().operatorProducts() < full.diagnostics().operatorProducts(), "fewer passes");
  }

  /** The MC error that the run reports covers the actual difference from the exact optimum. */
  @Test
  void fewProbesStillAgreeWithinReportedMonteCarloError() {
    RemlFit exact = new SpectralReml().fit(problem);
    StochasticReml.Outcome out = StochasticReml.solvingProbes(StochasticReml.Options.defaults().withProbes(8))
        .fitWithDiagnostics(problem);
    double mcSe = out.diagnostics().monteCarloSe(0);
    double diff = Math.abs(out.fit().theta()[0] - exact.theta()[0]);
    System.out.printf("8 probes: σ²_g %.5f vs exact %.5f, MC SE %.4g%n", out.fit().theta()[0], exact.theta()[0], mcSe);
    assertTrue(mcSe > 0, "MC SE reported");
    assertTrue(diff < 4 * mcSe + 1e-4, "difference " + diff + " within 4 MC SE " + mcSe);
  }

  /**
   * The quadrature mode ({@code lanczosTraces}, one component: the probes' traces and y's quadratic forms and AI
   * matrix from Lanczos runs on ΠKΠ kept for the fit, no solve per evaluation) against the same estimator computed
   * densely here: at θ, P = V⁻¹ − V⁻¹X(XᵀV⁻¹X)⁻¹XᵀV⁻¹ from V's inverse, each probe's trace term (Pz_j)ᵀKΠz_j, the
   * score −½(tr(PV_k) − yᵀPV_kPy) (tr(P) from tr(PV) = n − p per probe) and the AI matrix ½(V_kPy)ᵀP(V_lPy),
   * iterated by Newton to the root of that score. With the same probes (seeded as the solver's), both find the
   * root of the same estimated score: θ̂ equal up to the quadratures' error (the probes' runs to relative residual
   * 1e-4, their quadratic forms to ~1e-8; y's run to CG's 1e-6), asserted to 1e-6 of Vp, far below the probes'
   * Monte Carlo error (~1e-2 of Vp), measured 1.6e-8; and the solved mode (probes and y by CG at every θ, its AI matrix
   * lagged: its steps stall at ~1e-6 of Σθ, so stopped at 3e-6) to the same root within 5e-6 of Vp. Py (from
   * y's run, CG's iterate to 1e-6) to 1e-5 relative (κ(V) ≈ 5), the AI matrix at θ̂ (exact at θ, not lagged) to
   * 1e-6 relative, and the reported operator products are the products taken.
   */
  @Test
  void quadratureModeFindsTheDenseRootOfTheSameEstimatedScore() {
    int n = 600;
    double[] kSub = new double[n * n];
    for (int b = 0; b < n; b++) {
      System.arraycopy(k, b * N, kSub, b * n, n);
    }
    int p = 2;
    double[] x = new double[n * p];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      x[i + n] = problem.x()[i + N];
      y[i] = problem.y()[i];
    }
    DenseSymmetricMatrix dense = new DenseSymmetricMatrix(n, kSub);
    int[] products = new int[1];
    org.lmmspark.engine.reml.SymmetricOperator counted = new org.lmmspark.engine.reml.SymmetricOperator() {
      @Override
      public int size() {
        return n;
      }

      @Override
      public void apply(double[] in, int cols, double[] out) {
        products[0]++;
        dense.apply(in, cols, out);
      }

      @Override
      public double trace() {
        return dense.trace();
      }
    };
    RemlProblem sub = new RemlProblem(y, x, List.of("intercept", "c"), List.of(new VarianceComponent("G", counted)));
    StochasticReml.Options d = StochasticReml.Options.defaults();
    int r = 20;
    // The optimizer's step tolerance far below the solves' so that both fits stop at the score's root.
    StochasticReml.Options opts = new StochasticReml.Options(r, d.seed(), d.cgTolerance(), d.maxCgIterations(),
        d.maxIterations(), 1e-9, d.emSteps(), d.deflationRank(), true);
    List<String> lines = new java.util.ArrayList<>();
    StochasticReml.Outcome quad = new StochasticReml(opts, lines::add, true).fitWithDiagnostics(sub);
    int quadProducts = products[0];
    // The solved mode's lagged AI matrix and CG-solved score (to 1e-6) stall its steps at ~1e-6 of Σθ.
    StochasticReml.Outcome solved = StochasticReml.solvingProbes(new StochasticReml.Options(r, d.seed(),
        d.cgTolerance(), d.maxCgIterations(), d.maxIterations(), 3e-6, d.emSteps(), d.deflationRank(), true))
        .fitWithDiagnostics(sub);
    assertTrue(quad.fit().converged() && solved.fit().converged(), quad.fit().message() + " / " + solved.fit().message());

    // Dense: Π, the probes, and Newton on the estimated score.
    double[] z = StochasticReml.rademacher(n, r, d.seed());
    // Πz = z − X(XᵀX)⁻¹Xᵀz.
    double[] gram = new double[p * p];
    Blas.dgemm(true, false, p, p, n, 1.0, x, n, x, n, 0.0, gram, p);
    double[] xtz = new double[p * r];
    Blas.dgemm(true, false, p, r, n, 1.0, x, n, z, n, 0.0, xtz, p);
    double[] coef = new double[p * r];
    Blas.dgemm(false, false, p, r, p, 1.0, org.lmmspark.engine.reml.SmallMatrices.invertSpd(gram, p), p, xtz, p, 0.0,
        coef, p);
    double[] piZ = z.clone();
    Blas.dgemm(false, false, n, r, p, -1.0, x, n, coef, p, 1.0, piZ, n);
    double[] kPiZ = new double[n * r];
    Blas.dgemm(false, false, n, r, n, 1.0, kSub, n, piZ, n, 0.0, kPiZ, n);
    double[] theta = quad.fit().theta().clone();
    DenseAt at = null;
    for (int it = 0; it < 50; it++) {
      at = DenseAt.of(kSub, x, y, z, kPiZ, n, p, r, theta);
      double[] inv = org.lmmspark.engine.reml.SmallMatrices.invertSpd(at.ai, 2);
      double[] step = {inv[0] * at.score[0] + inv[2] * at.score[1], inv[1] * at.score[0] + inv[3] * at.score[1]};
      theta[0] += step[0];
      theta[1] += step[1];
      if (Math.abs(step[0]) + Math.abs(step[1]) < 1e-13 * (theta[0] + theta[1])) {
        break;
      }
    }
    at = DenseAt.of(kSub, x, y, z, kPiZ, n, p, r, theta);
    double vp = theta[0] + theta[1];
    System.out.printf("quadrature mode vs dense root of the same estimated score: σ²_g %.10f vs %.10f, σ²_e %.10f vs "
        + "%.10f (solved mode %.10f, %.10f); %d vs %d products; %s%n", quad.fit().theta()[0], theta[0],
        quad.fit().theta()[1], theta[1], solved.fit().theta()[0], solved.fit().theta()[1], quadProducts,
        products[0] - quadProducts, quad.fit().message());
    for (int c = 0; c < 2; c++) {
      assertClose(quad.fit().theta()[c], theta[c], 1e-6 * vp, 0, "θ_" + c + " quadrature vs dense");
      // The solved mode stops once its next step is ≤ 3e-6 of Σθ: within that of the root.
      assertClose(solved.fit().theta()[c], theta[c], 5e-6 * vp, 0, "θ_" + c + " solved vs dense");
    }
    // Py (the fit's, from y's run at θ̂) against the dense P y at the fit's θ̂.
    DenseAt fitted = DenseAt.of(kSub, x, y, z, kPiZ, n, p, r, quad.fit().theta());
    double err = 0;
    double norm = 0;
    for (int i = 0; i < n; i++) {
      err += Math.pow(quad.fit().py()[i] - fitted.py[i], 2);
      norm += fitted.py[i] * fitted.py[i];
    }
    assertTrue(Math.sqrt(err / norm) < 1e-5, "Py relative error " + Math.sqrt(err / norm));
    // The AI matrix at θ̂ (its inverse is the fit's covariance), exact at θ̂.
    double[] inv = org.lmmspark.engine.reml.SmallMatrices.invertSpd(fitted.ai, 2);
    for (int e = 0; e < 4; e++) {
      assertClose(quad.fit().covariance()[e], inv[e], 0, 1e-6, "AI⁻¹ entry " + e);
    }
    // logL at θ̂ against the dense one: within the Monte Carlo error of log det(ΠVΠ) (only its part beyond
    // (n − p)·log θ_e is estimated by the probes) and y's run's tolerance.
    double logLSe = 0.5 * quad.diagnostics().logDetVMonteCarloSe();
    System.out.printf("quadrature logL %.5f vs dense %.5f at θ̂ (MC SE %.4f)%n", quad.fit().logL(), fitted.logL, logLSe);
    assertClose(quad.fit().logL(), fitted.logL, 3 * logLSe + 1e-6 * Math.abs(fitted.logL), 0, "logL at θ̂");
    // β̂ = (XᵀV⁻¹X)⁻¹XᵀV⁻¹y at θ̂.
    for (int j = 0; j < p; j++) {
      assertClose(quad.fit().beta()[j], fitted.beta[j], 1e-6 * Math.abs(fitted.beta[0]), 0, "β_" + j);
    }
    assertEquals(quadProducts, quad.diagnostics().operatorProducts(), "operator products reported");
    assertTrue(quad.fit().message().contains(quadProducts + " operator products in all"), quad.fit().message());
    assertTrue(lines.stream().anyMatch(l -> l.contains("no solve")), "evaluations by quadrature");

    // Without β̂'s covariance (as the association runs fit): no V⁻¹X solve, the same θ̂, β̂ and REML logL (which by
    // quadrature never needs log|C|: it cancels), C⁻¹ and log|V| alone not estimated.
    int before = products[0];
    StochasticReml.Outcome bare = new StochasticReml(opts.withoutFixedEffectCovariance(), s -> { }, true)
        .fitWithDiagnostics(sub);
    int bareProducts = products[0] - before;
    assertArrayEquals(quad.fit().theta(), bare.fit().theta(), 0, "θ̂ without β̂'s covariance");
    assertArrayEquals(quad.fit().beta(), bare.fit().beta(), 0, "β̂ without its covariance");
    assertClose(bare.fit().logL(), quad.fit().logL(), 1e-12 * Math.abs(quad.fit().logL()), 0,
        "logL without β̂'s covariance");
    assertTrue(Double.isNaN(bare.fit().betaSe(0)) && Double.isNaN(bare.diagnostics().logDetV()),
        "β̂'s SE and log|V| not estimated");
    assertTrue(quad.fit().betaSe(0) > 0 && quad.diagnostics().logDetV() == quad.diagnostics().logDetV(),
        "β̂'s SE and log|V| with the covariance");
    int solveIterations = lines.stream().filter(l -> l.startsWith("fixed effects at"))
        .mapToInt(l -> Integer.parseInt(l.replaceAll(".*: (\\d+) CG iterations.*", "$1"))).sum();
    assertTrue(solveIterations > 0, "the covariance's solve is logged: " + lines);
    assertEquals(quadProducts - solveIterations, bareProducts, "products saved: the V⁻¹X solve's iterations");
  }

  /** The estimated score, AI matrix, Py and β̂ at θ from dense V⁻¹ (written out plainly). */
  record DenseAt(double[] score, double[] ai, double[] py, double[] beta, double logL) {
    static DenseAt of(double[] k, double[] x, double[] y, double[] z, double[] kPiZ, int n, int p, int r,
        double[] theta) {
      double[] v = new double[n * n];
      for (int i = 0; i < n * n; i++) {
        v[i] = theta[0] * k[i];
      }
      for (int i = 0; i < n; i++) {
        v[i + i * n] += theta[1];
      }
      assertTrue(Blas.dpotrfLower(n, v), "V positive definite");
      double logDetV = 0;
      for (int i = 0; i < n; i++) {
        logDetV += 2 * Math.log(v[i + i * n]);
      }
      Blas.dpotriLowerFull(n, v);
      double[] vinvX = new double[n * p];
      Blas.dgemm(false, false, n, p, n, 1.0, v, n, x, n, 0.0, vinvX, n);
      double[] c = new double[p * p];
      Blas.dgemm(true, false, p, p, n, 1.0, x, n, vinvX, n, 0.0, c, p);
      double[] cinv = org.lmmspark.engine.reml.SmallMatrices.invertSpd(c, p);
      double[] cl = c.clone();
      assertTrue(Blas.dpotrfLower(p, cl), "XᵀV⁻¹X positive definite");
      double logDetC = 0;
      for (int j = 0; j < p; j++) {
        logDetC += 2 * Math.log(cl[j + j * p]);
      }
      // P = V⁻¹ − V⁻¹X C⁻¹ XᵀV⁻¹.
      double[] tmp = new double[n * p];
      Blas.dgemm(false, false, n, p, p, 1.0, vinvX, n, cinv, p, 0.0, tmp, n);
      double[] pm = v.clone();
      Blas.dgemm(false, true, n, n, p, -1.0, tmp, n, vinvX, n, 1.0, pm, n);
      double[] py = new double[n];
      Blas.dgemv(false, n, n, 1.0, pm, y, 0.0, py);
      double[] kpy = new double[n];
      Blas.dgemv(false, n, n, 1.0, k, py, 0.0, kpy);
      double[] pkpy = new double[n];
      Blas.dgemv(false, n, n, 1.0, pm, kpy, 0.0, pkpy);
      double[] ppy = new double[n];
      Blas.dgemv(false, n, n, 1.0, pm, py, 0.0, ppy);
      double[] pz = new double[n * r];
      Blas.dgemm(false, false, n, r, n, 1.0, pm, n, z, n, 0.0, pz, n);
      double trG = 0;
      double trE = 0;
      for (int j = 0; j < r; j++) {
        double t = StochasticReml.dot(pz, j * n, kPiZ, j * n, n);
        trG += t / r;
        trE += (n - p - theta[0] * t) / theta[1] / r;
      }
      double[] score = {-0.5 * (trG - StochasticReml.dot(py, 0, kpy, 0, n)),
          -0.5 * (trE - StochasticReml.dot(py, 0, py, 0, n))};
      double[] ai = {0.5 * StochasticReml.dot(kpy, 0, pkpy, 0, n), 0.5 * StochasticReml.dot(kpy, 0, ppy, 0, n), 0, 0};
      ai[2] = ai[1];
      ai[3] = 0.5 * StochasticReml.dot(py, 0, ppy, 0, n);
      double[] beta = new double[p];
      Blas.dgemv(true, n, p, 1.0, vinvX, y, 0.0, beta);
      double[] b = new double[p];
      for (int a = 0; a < p; a++) {
        for (int e = 0; e < p; e++) {
          b[a] += cinv[a + e * p] * beta[e];
        }
      }
      // REML logL as the fits report it: −½(log|V| + log|XᵀV⁻¹X| + yᵀPy), no 2π term.
      double logL = -0.5 * (logDetV + logDetC + StochasticReml.dot(y, 0, py, 0, n));
      return new DenseAt(score, ai, py, b, logL);
    }
  }

  /** Two components (G and an independent grouping-like dense matrix) against dense AI-REML on a subset. */
  @Test
  void twoComponentsAgreeWithDenseAiReml() {
    int n = 600;
    int[] rows = new int[n];
    for (int i = 0; i < n; i++) {
      rows[i] = i;
    }
    double[] kSub = new double[n * n];
    for (int b = 0; b < n; b++) {
      System.arraycopy(k, b * N, kSub, b * n, n);
    }
    // Second component: 60 groups of 10, Z Zᵀ.
    double[] grp = new double[n * n];
    for (int a = 0; a < n; a++) {
      for (int b = 0; b < n; b++) {
        grp[a + b * n] = a / 10 == b / 10 ? 1 : 0;
      }
    }
    Random rnd = new Random(21);
    double[] y = new double[n];
    double[] ge = new double[60];
    for (int g = 0; g < 60; g++) {
      ge[g] = rnd.nextGaussian() * Math.sqrt(0.3);
    }
    for (int i = 0; i < n; i++) {
      y[i] = problem.y()[i] + ge[i / 10];
    }
    double[] x = new double[n];
    java.util.Arrays.fill(x, 1);
    RemlProblem two = new RemlProblem(y, x, List.of("intercept"), List.of(
        new VarianceComponent("G", new DenseSymmetricMatrix(n, kSub)),
        new VarianceComponent("group", new DenseSymmetricMatrix(n, grp))));
    RemlFit exact = new AiReml().fit(two);
    RemlFit mf = StochasticReml.solvingProbes(StochasticReml.Options.defaults().withProbes(60)).fit(two);
    assertTrue(mf.converged(), mf.message());
    assertEquals(3, mf.parameters());
    double vp = exact.theta()[0] + exact.theta()[1] + exact.theta()[2];
    System.out.printf("two components: exact %s, matrix-free %s%n", java.util.Arrays.toString(exact.theta()),
        java.util.Arrays.toString(mf.theta()));
    for (int c = 0; c < 3; c++) {
      // n = 600 with 60 probes: MC error of each θ/Vp is ~0.01; allow 0.03 (SEs are ~0.1 here).
      assertClose(mf.theta()[c] / vp, exact.theta()[c] / vp, 0.03, 0, "θ_" + c + "/Vp");
    }
  }

  /**
   * The single-precision genotype kernel changes the fit by rounding only: the same genotypes as a
   * packed operator (SGEMM products, {@code GenotypeProductKernel}) and as a dense double K built
   * here from the same standardized values, same probes and seed. Differences come from the
   * products' ~3e-7 relative error through CG (κ(V) of tens): 1e-4 of Vp is a wide margin over
   * ~1e-5 expected, and far below the MC error (~1e-2) that the probes cause anyway.
   */
  @Test
  void singlePrecisionProductsChangeTheFitByRoundingOnly(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    int n = 500;
    int m = 800;
    int[][] g = org.lmmspark.engine.testing.BedFixture.random(n, m, 0.01, 0, 41);
    int[] chr = new int[m];
    java.util.Arrays.fill(chr, 1);
    String prefix = org.lmmspark.engine.testing.BedFixture.write(dir, "f", g, chr);
    java.util.List<org.lmmspark.engine.matfree.PackedGenotypeBlock> blocks = new java.util.ArrayList<>();
    org.lmmspark.engine.genotype.VariantFilterCounts counts = new org.lmmspark.engine.genotype.VariantFilterCounts(0);
    org.lmmspark.engine.io.PlinkFileset fs = org.lmmspark.engine.testing.BedFixture.source(prefix);
    new org.lmmspark.engine.matfree.PackedGenotypeReader(fs.reader(), 0, 256).read(0, m, fs.position(0), null, null,
        new org.apache.hadoop.conf.Configuration(), counts, blocks::add);
    org.lmmspark.engine.matfree.LocalGenotypeProducts prod =
        new org.lmmspark.engine.matfree.LocalGenotypeProducts(n, 1, blocks, counts);
    int[] rows = new int[n];
    for (int i = 0; i < n; i++) {
      rows[i] = i;
    }
    org.lmmspark.engine.matfree.GenomicRelationshipOperator op =
        new org.lmmspark.engine.matfree.GenomicRelationshipOperator(prod, rows, -1);
    // Dense double K = Z Zᵀ / M from the blocks' own standardized values, and y = Zβ + e.
    long used = counts.kept;
    double[] zAll = new double[(int) (n * used)];
    int col = 0;
    for (org.lmmspark.engine.matfree.PackedGenotypeBlock b : blocks) {
      for (int v = 0; v < b.m; v++, col++) {
        for (int i = 0; i < n; i++) {
          zAll[i + col * n] = b.value(v, i);
        }
      }
    }
    double[] kd = new double[n * n];
    Blas.dgemm(false, true, n, n, (int) used, 1.0 / used, zAll, n, zAll, n, 0.0, kd, n);
    Random rnd = new Random(42);
    double[] beta = new double[(int) used];
    for (int v = 0; v < used; v++) {
      beta[v] = rnd.nextGaussian() * Math.sqrt(0.6 / used);
    }
    double[] y = new double[n];
    Blas.dgemv(false, n, (int) used, 1.0, zAll, beta, 0.0, y);
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      y[i] += 3 + rnd.nextGaussian() * Math.sqrt(0.4);
    }
    StochasticReml solver = StochasticReml.solvingProbes(StochasticReml.Options.defaults().withProbes(20));
    RemlFit single = solver.fit(new RemlProblem(y, x, List.of("intercept"), List.of(new VarianceComponent("G", op))));
    RemlFit dbl = solver.fit(new RemlProblem(y, x, List.of("intercept"),
        List.of(new VarianceComponent("G", new DenseSymmetricMatrix(n, kd)))));
    assertTrue(single.converged() && dbl.converged(), single.message() + " / " + dbl.message());
    double vp = dbl.theta()[0] + dbl.theta()[1];
    System.out.printf("float kernel vs double K: σ²_g %.7f vs %.7f, σ²_e %.7f vs %.7f%n", single.theta()[0],
        dbl.theta()[0], single.theta()[1], dbl.theta()[1]);
    assertClose(single.theta()[0], dbl.theta()[0], 1e-4 * vp, 0, "σ²_g float kernel vs double");
    assertClose(single.theta()[1], dbl.theta()[1], 1e-4 * vp, 0, "σ²_e float kernel vs double");
  }
}
