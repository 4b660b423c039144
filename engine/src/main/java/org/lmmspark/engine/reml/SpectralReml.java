package org.lmmspark.engine.reml;

import java.util.List;
import java.util.Locale;
import org.apache.commons.math3.optim.MaxEval;
import org.apache.commons.math3.optim.nonlinear.scalar.GoalType;
import org.apache.commons.math3.optim.univariate.BrentOptimizer;
import org.apache.commons.math3.optim.univariate.SearchInterval;
import org.apache.commons.math3.optim.univariate.UnivariateObjectiveFunction;
import org.apache.commons.math3.optim.univariate.UnivariatePointValuePair;
import org.lmmspark.engine.linalg.Blas;

/**
 * REML for one relationship matrix, {@code V = σ²_g K + σ²_e I}, by eigendecomposition (FaST-LMM,
 * Lippert et al. 2011; GEMMA, Zhou &amp; Stephens 2012).
 *
 * <p>With {@code K = U D Uᵀ} (one LAPACK symmetric eigendecomposition, {@code O(n³)}) and the data rotated once,
 * {@code ỹ = Uᵀy}, {@code X̃ = UᵀX} (one DGEMM, {@code O(n² p)}), V is diagonal in the rotated basis:
 * {@code σ²_e H}, {@code H = diag(λ d_i + 1)}, {@code λ = σ²_g/σ²_e}. Profiling out σ²_e,
 * {@code σ̂²_e(λ) = ỹᵀP_Hỹ/(n−p)} and
 * {@code ℓ(λ) = −½((n−p) log σ̂²_e + Σ log(λd_i + 1) + log|X̃ᵀH⁻¹X̃| + (n−p))}, each evaluation
 * {@code O(n p²)}. ℓ is maximized over {@code log λ} by a grid on {@code [1e-5, 1e5]} (GEMMA's range)
 * then Brent's method in the best bracket; {@code λ = 0} (σ²_g on its boundary) is compared
 * explicitly. Standard errors come from the average information matrix at the optimum (as the dense
 * solver's), and the observed information is computed too; both in {@code O(n p²)} using
 * {@code P̃ = W − G C⁻¹ Gᵀ}, {@code W = diag(1/(σ²_g d_i + σ²_e))}, {@code G = W X̃}.
 */
public final class SpectralReml implements RemlSolver {
  static final double LAMBDA_MIN = 1e-5;
  static final double LAMBDA_MAX = 1e5;
  static final int GRID = 51;

  /** {@code K = U diag(values) Uᵀ}; {@code vectors} n×n column-major. */
  public record Eigen(int n, double[] values, double[] vectors) {}

  @Override
  public String name() {
    return "spectral";
  }

  /**
   * One LAPACK eigendecomposition of the component's dense matrix (dsyevd: on OpenBLAS it beat
   * dsyevr several-fold, see {@link Blas#dsyevd}). Eigenvalues within 1e-10·max|d| of 0 are set to 0.
   */
  public static Eigen decompose(SymmetricOperator k) {
    int n = k.size();
    double[] z = k.toDense();
    double[] w = new double[n];
    Blas.dsyevd(n, z, w);
    double max = 0;
    for (double d : w) {
      max = Math.max(max, Math.abs(d));
    }
    for (int i = 0; i < n; i++) {
      if (Math.abs(w[i]) < 1e-10 * max) {
        w[i] = 0;
      }
    }
    return new Eigen(n, w, z);
  }

  @Override
  public RemlFit fit(RemlProblem problem) {
    if (problem.components().size() != 1) {
      throw new IllegalArgumentException("the spectral solver handles exactly one variance component, got "
          + problem.components().size());
    }
    return fit(problem, decompose(problem.components().get(0).covariance()));
  }

  /** Fits with a precomputed eigendecomposition of the single component. */
  public RemlFit fit(RemlProblem problem, Eigen eigen) {
    int n = problem.n();
    int p = problem.p();
    if (eigen.n() != n) {
      throw new IllegalArgumentException("eigendecomposition of size " + eigen.n() + " for n = " + n);
    }
    // [ỹ X̃] = Uᵀ [y X]: one DGEMM.
    double[] yx = new double[n * (p + 1)];
    System.arraycopy(problem.y(), 0, yx, 0, n);
    System.arraycopy(problem.x(), 0, yx, n, n * p);
    double[] r = new double[n * (p + 1)];
    Blas.dgemm(true, false, n, p + 1, n, 1.0, eigen.vectors(), n, yx, n, 0.0, r, n);
    Rotated rot = new Rotated(n, p, eigen.values(), r);

    double dMin = 0;
    for (double d : eigen.values()) {
      dMin = Math.min(dMin, d);
    }
    // H must stay positive definite when K has negative eigenvalues: λ < 1/|d_min|.
    double lamMax = dMin < 0 ? Math.min(LAMBDA_MAX, 0.999 / -dMin) : LAMBDA_MAX;
    double lo = Math.log(Math.min(LAMBDA_MIN, lamMax / 10));
    double hi = Math.log(lamMax);
    double[] grid = new double[GRID];
    double[] val = new double[GRID];
    int best = 0;
    for (int g = 0; g < GRID; g++) {
      grid[g] = lo + (hi - lo) * g / (GRID - 1);
      val[g] = rot.profile(Math.exp(grid[g]));
      if (val[g] > val[best]) {
        best = g;
      }
    }
    int[] evals = {GRID};
    double a = grid[Math.max(0, best - 1)];
    double b = grid[Math.min(GRID - 1, best + 1)];
    BrentOptimizer brent = new BrentOptimizer(1e-12, 1e-12);
    UnivariatePointValuePair opt = brent.optimize(new MaxEval(500), GoalType.MAXIMIZE,
        new SearchInterval(a, b, grid[best]), new UnivariateObjectiveFunction(t -> {
          evals[0]++;
          return rot.profile(Math.exp(t));
        }));
    double lambda = Math.exp(opt.getPoint());
    double logLBest = opt.getValue();
    if (val[best] > logLBest) {
      lambda = Math.exp(grid[best]);
      logLBest = val[best];
    }
    double atZero = rot.profile(0);
    evals[0]++;
    boolean gBoundary = false;
    if (atZero >= logLBest) {
      lambda = 0;
      gBoundary = true;
    }
    boolean eBoundary = lambda >= lamMax * 0.999;
    double se2 = rot.sigma2(lambda);
    double[] theta = {lambda * se2, se2};
    Full full = rot.full(theta);

    double[] py = new double[n];
    Blas.dgemv(false, n, n, 1.0, eigen.vectors(), full.pyRot, 0.0, py);
    double[] cov = SmallMatrices.invertSpd(full.ai, 2);
    if (cov == null) {
      cov = SmallMatrices.filled(4, Double.NaN);
    }
    double[] obsCov = SmallMatrices.invertSpd(full.observed, 2);
    String message = String.format(Locale.ROOT,
        "maximized over log λ by a %d-point grid on [%.0e, %.0e] and Brent's method (%d evaluations)%s%s", GRID,
        Math.exp(lo), Math.exp(hi), evals[0], gBoundary ? "; σ²_g is on the boundary 0" : "",
        eBoundary ? "; λ at its upper limit, σ²_e near 0" : "");
    return new RemlFit(name(), List.of(problem.components().get(0).name()), theta, cov, obsCov, full.logL, full.score,
        full.beta, full.cinv, py, new boolean[] {gBoundary, eBoundary}, evals[0], true, message);
  }

  /** Quantities at the optimum, in the rotated basis. */
  private record Full(double logL, double[] score, double[] ai, double[] observed, double[] beta, double[] cinv,
      double[] pyRot) {}

  /** The rotated data: d (n), ỹ (n), X̃ (n×p). */
  private static final class Rotated {
    final int n;
    final int p;
    final double[] d;
    final double[] y;
    final double[] x;

    Rotated(int n, int p, double[] d, double[] yx) {
      this.n = n;
      this.p = p;
      this.d = d;
      this.y = java.util.Arrays.copyOfRange(yx, 0, n);
      this.x = java.util.Arrays.copyOfRange(yx, n, n * (p + 1));
    }

    /** ỹᵀP_Hỹ, log|H| and log|X̃ᵀH⁻¹X̃| at λ, into out[0..2]; false if X̃ᵀH⁻¹X̃ is not PD. */
    boolean parts(double lambda, double[] out) {
      double[] c = new double[p * p];
      double[] bv = new double[p];
      double yy = 0;
      double logH = 0;
      for (int i = 0; i < n; i++) {
        double h = lambda * d[i] + 1;
        logH += Math.log(h);
        double w = 1 / h;
        double yi = y[i];
        yy += w * yi * yi;
        for (int j = 0; j < p; j++) {
          double xj = x[i + j * n] * w;
          bv[j] += xj * yi;
          for (int l = 0; l <= j; l++) {
            c[j + l * p] += xj * x[i + l * n];
          }
        }
      }
      if (!Blas.dpotrfLower(p, c)) {
        return false;
      }
      double logC = 0;
      for (int j = 0; j < p; j++) {
        logC += 2 * Math.log(c[j + j * p]);
      }
      double[] sol = bv.clone();
      Blas.dpotrsLower(p, 1, c, sol);
      double q = 0;
      for (int j = 0; j < p; j++) {
        q += bv[j] * sol[j];
      }
      out[0] = yy - q;
      out[1] = logH;
      out[2] = logC;
      return true;
    }

    double profile(double lambda) {
      double[] o = new double[3];
      if (!parts(lambda, o) || !(o[0] > 0)) {
        return Double.NEGATIVE_INFINITY;
      }
      int df = n - p;
      return -0.5 * (df * Math.log(o[0] / df) + o[1] + o[2] + df);
    }

    double sigma2(double lambda) {
      double[] o = new double[3];
      if (!parts(lambda, o)) {
        throw new IllegalStateException("XᵀH⁻¹X not positive definite at λ = " + lambda);
      }
      return o[0] / (n - p);
    }

    /** Everything at θ = (σ²_g, σ²_e): logL, score, AI and observed information, β, C⁻¹, P̃ỹ. */
    Full full(double[] theta) {
      double[] w = new double[n];
      double logV = 0;
      for (int i = 0; i < n; i++) {
        double v = theta[0] * d[i] + theta[1];
        w[i] = 1 / v;
        logV += Math.log(v);
      }
      // G = W X̃ (n×p), C = X̃ᵀ W X̃.
      double[] g = new double[n * p];
      for (int j = 0; j < p; j++) {
        for (int i = 0; i < n; i++) {
          g[i + j * n] = w[i] * x[i + j * n];
        }
      }
      double[] c = new double[p * p];
      Blas.dgemm(true, false, p, p, n, 1.0, x, n, g, n, 0.0, c, p);
      double[] l = c.clone();
      if (!Blas.dpotrfLower(p, l)) {
        throw new IllegalStateException("XᵀV⁻¹X not positive definite at the optimum");
      }
      double logC = 0;
      for (int j = 0; j < p; j++) {
        logC += 2 * Math.log(l[j + j * p]);
      }
      double[] cinv = l.clone();
      Blas.dpotriLowerFull(p, cinv);
      double[] gty = new double[p];
      Blas.dgemv(true, n, p, 1.0, g, y, 0.0, gty);
      double[] beta = new double[p];
      Blas.dgemv(false, p, p, 1.0, cinv, gty, 0.0, beta);
      double[] py = applyP(w, g, cinv, y);
      double yPy = DenseRemlLikelihood.dot(y, py);
      double logL = -0.5 * (logV + logC + yPy);
      // Diagonal of P̃: w_i − Σ_jl G_ij C⁻¹_jl G_il.
      double[] gc = new double[n * p];
      Blas.dgemm(false, false, n, p, p, 1.0, g, n, cinv, p, 0.0, gc, n);
      double[] pdiag = new double[n];
      for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < p; j++) {
          s += gc[i + j * n] * g[i + j * n];
        }
        pdiag[i] = w[i] - s;
      }
      double[][] dk = {d, SmallMatrices.filled(n, 1.0)};
      double[] score = new double[2];
      double[][] u = new double[2][n];
      double[][] pu = new double[2][];
      for (int k = 0; k < 2; k++) {
        double tr = 0;
        double q = 0;
        for (int i = 0; i < n; i++) {
          tr += pdiag[i] * dk[k][i];
          u[k][i] = dk[k][i] * py[i];
          q += py[i] * u[k][i];
        }
        score[k] = -0.5 * (tr - q);
        pu[k] = applyP(w, g, cinv, u[k]);
      }
      double[] ai = new double[4];
      double[] obs = new double[4];
      for (int k = 0; k < 2; k++) {
        for (int m = 0; m < 2; m++) {
          double a = 0.5 * DenseRemlLikelihood.dot(u[k], pu[m]);
          ai[k + 2 * m] = a;
          // observed = yᵀPV_kPV_lPy − ½ tr(PV_kPV_l) = 2 AI − E.
          obs[k + 2 * m] = 2 * a - 0.5 * traceProduct(w, g, cinv, dk[k], dk[m]);
        }
      }
      DenseRemlLikelihood.symmetrize(ai, 2);
      DenseRemlLikelihood.symmetrize(obs, 2);
      return new Full(logL, score, ai, obs, beta, cinv, py);
    }

    double[] applyP(double[] w, double[] g, double[] cinv, double[] v) {
      return SpectralReml.applyP(w, g, cinv, v, n, p);
    }

    /**
     * {@code tr(P̃ A P̃ B)} for diagonal A, B with {@code P̃ = W − G C⁻¹ Gᵀ}:
     * {@code Σ w²ab − 2 tr(C⁻¹ Gᵀdiag(awb)G) + tr(C⁻¹ GᵀAG C⁻¹ GᵀBG)}, in {@code O(n p²)}.
     */
    double traceProduct(double[] w, double[] g, double[] cinv, double[] a, double[] b) {
      double t1 = 0;
      for (int i = 0; i < n; i++) {
        t1 += w[i] * w[i] * a[i] * b[i];
      }
      double[] awb = new double[n];
      for (int i = 0; i < n; i++) {
        awb[i] = a[i] * w[i] * b[i];
      }
      double[] m1 = weightedGram(g, awb);
      double[] sa = weightedGram(g, a);
      double[] sb = weightedGram(g, b);
      double t2 = 0;
      for (int i = 0; i < p * p; i++) {
        t2 += cinv[i] * m1[i];
      }
      double[] ca = new double[p * p];
      double[] cb = new double[p * p];
      Blas.dgemm(false, false, p, p, p, 1.0, cinv, p, sa, p, 0.0, ca, p);
      Blas.dgemm(false, false, p, p, p, 1.0, cinv, p, sb, p, 0.0, cb, p);
      double t3 = 0;
      for (int i = 0; i < p; i++) {
        for (int j = 0; j < p; j++) {
          t3 += ca[i + j * p] * cb[j + i * p];
        }
      }
      return t1 - 2 * t2 + t3;
    }

    /** Gᵀ diag(s) G (p×p). */
    double[] weightedGram(double[] g, double[] s) {
      double[] gs = new double[n * p];
      for (int j = 0; j < p; j++) {
        for (int i = 0; i < n; i++) {
          gs[i + j * n] = s[i] * g[i + j * n];
        }
      }
      double[] out = new double[p * p];
      Blas.dgemm(true, false, p, p, n, 1.0, g, n, gs, n, 0.0, out, p);
      return out;
    }
  }

  /**
   * The REML projection in rotated coordinates, {@code P̃ v = W v − G C⁻¹ Gᵀ v}, with {@code W} the
   * diagonal weights {@code 1/(σ²_g λ_i + σ²_e)} ({@code w}, length n), {@code G = W X̃} (n×p) and
   * {@code C⁻¹ = (X̃ᵀ W X̃)⁻¹} (p×p). Cost O(n·p). Shared with the association null model.
   */
  public static double[] applyP(double[] w, double[] g, double[] cinv, double[] v, int n, int p) {
    double[] gtv = new double[p];
    Blas.dgemv(true, n, p, 1.0, g, v, 0.0, gtv);
    double[] t = new double[p];
    Blas.dgemv(false, p, p, 1.0, cinv, gtv, 0.0, t);
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = w[i] * v[i];
    }
    Blas.dgemv(false, n, p, -1.0, g, t, 1.0, out);
    return out;
  }
}
