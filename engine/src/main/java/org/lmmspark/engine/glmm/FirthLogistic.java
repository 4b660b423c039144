package org.lmmspark.engine.glmm;

import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.SmallMatrices;
import org.lmmspark.engine.stats.ChiSquared;

/**
 * Firth's bias-reduced logistic regression (Firth 1993; Heinze &amp; Schemper 2002), as R's
 * {@code logistf}: maximizes the penalized log-likelihood
 * {@code ℓ*(β) = Σ_i [y_i log μ_i + (1 − y_i) log(1 − μ_i)] + ½ log|XᵀWX|}, {@code W = diag(μ(1 − μ))},
 * whose estimates stay finite under complete or quasi-complete separation — the case of a rare variant
 * carried only by cases, where the score test's and the Wald test's p-values break down. Newton steps
 * on the modified score {@code U* = Xᵀ(y − μ + h ∘ (½ − μ))} (the gradient of ℓ*), h the diagonal of
 * the hat matrix {@code W^{½}X(XᵀWX)⁻¹XᵀW^{½}}, at most {@value #MAX_STEP} per coordinate and halved
 * while ℓ* falls (logistf's safeguards); converged when the step and U* are below {@value #TOLERANCE}
 * (logistf stops at 1e-4/1e-5: its estimates are this one's to about that). The test of one coefficient is logistf's penalized likelihood-ratio test:
 * {@code 2(ℓ*(β̂) − ℓ*(β̂₀))} against χ²₁, β̂₀ the fit with that coefficient held at 0 and the penalty
 * still over the full design (profile penalized likelihood). Cost per Newton step: {@code O(n p³)} (the
 * analytic Hessian; {@code O(n p²)} per step-halving trial).
 */
public final class FirthLogistic {
  static final double MAX_STEP = 5;
  static final int MAX_ITERATIONS = 100;
  /** Convergence on the largest Newton step and the largest modified score, logistf's xconv/gconv. */
  static final double TOLERANCE = 1e-8;

  private FirthLogistic() {}

  /** A fit: coefficients, the penalized log-likelihood, SEs from {@code (XᵀWX)⁻¹}, and iterations. */
  public record Fit(double[] beta, double penalizedLogLik, double[] se, int iterations, boolean converged) {}

  /** The test of one coefficient: estimate, its SE, the penalized LRT χ² and log p-value. */
  public record Test(double beta, double se, double chiSquared, double logP, boolean converged) {}

  /**
   * Fits {@code y ~ X} (0/1 responses, X n×p column-major with its intercept) with the coefficients
   * flagged in {@code held} fixed at 0 (null: none), starting from {@code start} (null: 0).
   */
  public static Fit fit(double[] x, int n, int p, double[] y, double[] offset, boolean[] held, double[] start) {
    double[] beta = start == null ? new double[p] : start.clone();
    if (held != null) {
      for (int j = 0; j < p; j++) {
        if (held[j]) {
          beta[j] = 0;
        }
      }
    }
    State s = new State(x, n, p, y, offset, beta);
    int it = 0;
    boolean converged = false;
    for (; it < MAX_ITERATIONS; it++) {
      double[] inv = s.inverseInformation();
      if (inv == null) {
        break;
      }
      double[] q = s.leverages(inv);
      double[] score = s.modifiedScore(q);
      double[] dir = newtonDirection(s, score, s.negativeHessian(inv, q), held);
      if (dir == null) {
        dir = s.solveInformation(score, held);
      }
      if (dir == null) {
        break;
      }
      double maxDir = 0;
      for (double d : dir) {
        maxDir = Math.max(maxDir, Math.abs(d));
      }
      double maxScore = 0;
      for (int j = 0; j < p; j++) {
        if (held == null || !held[j]) {
          maxScore = Math.max(maxScore, Math.abs(score[j]));
        }
      }
      if (maxDir < TOLERANCE && maxScore < TOLERANCE) {
        converged = true;
        break;
      }
      double scale = maxDir > MAX_STEP ? MAX_STEP / maxDir : 1;
      State next = null;
      for (int h = 0; h < 30; h++, scale /= 2) {
        double[] cand = s.beta.clone();
        for (int j = 0; j < p; j++) {
          cand[j] += scale * dir[j];
        }
        State c = new State(x, n, p, y, offset, cand);
        if (c.ok && c.penalizedLogLik >= s.penalizedLogLik - 1e-12 * Math.abs(s.penalizedLogLik)) {
          next = c;
          break;
        }
      }
      if (next == null) {
        converged = maxDir < Math.sqrt(TOLERANCE);
        break;
      }
      s = next;
    }
    double[] se = new double[p];
    double[] inv = s.inverseInformation();
    for (int j = 0; j < p; j++) {
      se[j] = inv == null ? Double.NaN : Math.sqrt(inv[j + j * p]);
    }
    return new Fit(s.beta, s.penalizedLogLik, se, it, converged);
  }

  /** logistf's penalized likelihood-ratio test of coefficient {@code j}. */
  public static Test test(double[] x, int n, int p, double[] y, double[] offset, int j) {
    return test(x, n, p, y, offset, j, null);
  }

  /** As {@link #test(double[], int, int, double[], double[], int)}, the full fit started at {@code start}. */
  public static Test test(double[] x, int n, int p, double[] y, double[] offset, int j, double[] start) {
    Fit full = fit(x, n, p, y, offset, null, start);
    boolean[] held = new boolean[p];
    held[j] = true;
    double[] restrictedStart = full.beta().clone();
    restrictedStart[j] = 0;
    Fit restricted = fit(x, n, p, y, offset, held, restrictedStart);
    double chi2 = Math.max(0, 2 * (full.penalizedLogLik() - restricted.penalizedLogLik()));
    return new Test(full.beta()[j], full.se()[j], chi2, ChiSquared.logUpperTail(chi2, 1),
        full.converged() && restricted.converged());
  }

  /** {@code U*(β)} (package-private for the test against differences of ℓ*). */
  static double[] modifiedScore(double[] x, int n, int p, double[] y, double[] offset, double[] beta) {
    State s = new State(x, n, p, y, offset, beta);
    return s.modifiedScore(s.leverages(s.inverseInformation()));
  }

  /** {@code −∂²ℓ*(β)} (package-private for the test against differences of U*). */
  static double[] negativeHessian(double[] x, int n, int p, double[] y, double[] offset, double[] beta) {
    State s = new State(x, n, p, y, offset, beta);
    double[] inv = s.inverseInformation();
    return s.negativeHessian(inv, s.leverages(inv));
  }

  /**
   * The Newton direction {@code −H⁻¹U*} over the free coefficients, H the analytic Hessian of ℓ*
   * ({@link State#negativeHessian}); null when −H is not positive definite there. Fisher scoring
   * ({@code (XᵀWX)⁻¹U*}, logistf's step) converges only linearly when the penalty's curvature dominates —
   * under separation, where Firth matters — so the true Hessian is used, Fisher scoring only as fallback.
   */
  private static double[] newtonDirection(State s, double[] score, double[] negH, boolean[] held) {
    return solveOnFree(negH, s.p, score, held);
  }

  /**
   * {@code d_f = A_ff⁻¹ score_f} over the coefficients f not {@code held} (all when {@code held} is null),
   * {@code d = 0} for the held ones, by Cholesky of the free block of the p×p {@code a} (not modified);
   * null when that block is not positive definite.
   */
  private static double[] solveOnFree(double[] a, int p, double[] score, boolean[] held) {
    int f = 0;
    int[] free = new int[p];
    for (int j = 0; j < p; j++) {
      if (held == null || !held[j]) {
        free[f++] = j;
      }
    }
    free = java.util.Arrays.copyOf(free, f);
    double[] sub = SmallMatrices.select(a, p, free);
    double[] rhs = new double[f];
    for (int b = 0; b < f; b++) {
      rhs[b] = score[free[b]];
    }
    if (!Blas.dpotrfLower(f, sub)) {
      return null;
    }
    Blas.dpotrsLower(f, 1, sub, rhs);
    double[] d = new double[p];
    for (int b = 0; b < f; b++) {
      d[free[b]] = rhs[b];
    }
    return d;
  }

  /**
   * {@code log(1 + s)} for {@code 0 ≤ s ≤ 1}, to within ~2e-16 absolute: the series to s⁴ below 1e-3 (remainder
   * &lt; s⁵/5), else {@code log(1 + s)}, whose rounding of 1 + s costs ≤ 1.1e-16 absolute, 1e-13 relative. A
   * per-sample term of ℓ*, evaluated per Newton trial: {@link Math#log1p} is a native call that is not
   * intrinsified (a quarter of the Firth fits' time in a scan profile), {@link Math#log} is.
   */
  static double log1pOfSmall(double s) {
    return s < 1e-3 ? s * (1 - s * (0.5 - s * (1.0 / 3 - s * 0.25))) : Math.log(1 + s);
  }

  /** μ, W and the Cholesky factor of XᵀWX at β, with ℓ*. */
  private static final class State {
    final double[] x;
    final int n;
    final int p;
    final double[] y;
    final double[] beta;
    final double[] mu;
    /** XᵀWX and its Cholesky factor (lower). */
    final double[] info;
    final double[] chol;
    final boolean ok;
    final double penalizedLogLik;

    State(double[] x, int n, int p, double[] y, double[] offset, double[] beta) {
      this.x = x;
      this.n = n;
      this.p = p;
      this.y = y;
      this.beta = beta;
      double[] eta = new double[n];
      Blas.dgemv(false, n, p, 1.0, x, beta, 0.0, eta);
      mu = new double[n];
      double ll = 0;
      double[] wx = new double[n * p];
      for (int i = 0; i < n; i++) {
        double e = eta[i] + (offset == null ? 0 : offset[i]);
        // μ, log μ and log(1 − μ) from one exp and one log1p of −|η|: exact where μ rounds to 0 or 1.
        double small = Math.exp(-Math.abs(e));
        double log1p = log1pOfSmall(small);
        mu[i] = Family.clampProbability(e >= 0 ? 1 / (1 + small) : small / (1 + small));
        ll += e >= 0 ? -log1p - (1 - y[i]) * e : y[i] * e - log1p;
        double w = mu[i] * (1 - mu[i]);
        for (int j = 0; j < p; j++) {
          wx[i + j * n] = w * x[i + j * n];
        }
      }
      info = new double[p * p];
      Blas.dgemm(true, false, p, p, n, 1.0, x, n, wx, n, 0.0, info, p);
      chol = info.clone();
      ok = Blas.dpotrfLower(p, chol);
      double logDet = 0;
      for (int j = 0; j < p && ok; j++) {
        logDet += 2 * Math.log(chol[j + j * p]);
      }
      penalizedLogLik = ok ? ll + 0.5 * logDet : Double.NEGATIVE_INFINITY;
    }

    /**
     * {@code x_iᵀ(XᵀWX)⁻¹x_i} for every i (the hat diagonal divided by w_i), given the inverse: {@code B = XA}
     * by one product, then {@code q_i = Σ_j x_ij b_ij} column by column (loops over i that vectorize).
     */
    double[] leverages(double[] inv) {
      double[] xa = new double[n * p];
      Blas.dgemm(false, false, n, p, p, 1.0, x, n, inv, p, 0.0, xa, n);
      double[] q = new double[n];
      for (int j = 0; j < p; j++) {
        int o = j * n;
        for (int i = 0; i < n; i++) {
          q[i] += x[o + i] * xa[o + i];
        }
      }
      return q;
    }

    /** {@code U* = Xᵀ(y − μ + h ∘ (½ − μ))}, h_i = w_i q_i the hat diagonal, q the {@link #leverages}. */
    double[] modifiedScore(double[] q) {
      double[] r = new double[n];
      for (int i = 0; i < n; i++) {
        double w = mu[i] * (1 - mu[i]);
        r[i] = y[i] - mu[i] + w * q[i] * (0.5 - mu[i]);
      }
      double[] score = new double[p];
      Blas.dgemv(true, n, p, 1.0, x, r, 0.0, score);
      return score;
    }

    /**
     * {@code −∂²ℓ*(β)/∂β∂βᵀ} in closed form. With {@code I = XᵀWX}, {@code A = I⁻¹}, {@code q_i = x_iᵀAx_i},
     * {@code w' = dw/dη = w(1 − 2μ)}, {@code w'' = d²w/dη² = w(1 − 6w)} and
     * {@code I_a = ∂I/∂β_a = Xᵀ diag(w' ∘ x_a) X}:
     * <pre>  −H_ab = I_ab − ½ Σ_i w''_i q_i x_ia x_ib + ½ tr(A I_a A I_b)</pre>
     * (the last two terms are −∂²(½ log|I|): {@code ½ tr(A ∂²I/∂a∂b) − ½ tr(A I_a A I_b)}). Cost
     * {@code O(n p³)} (p products {@code Xᵀ diag(·) X}), the same order as one modified score per coefficient
     * and no extra evaluations; {@code inv = (XᵀWX)⁻¹}, q the {@link #leverages}.
     */
    double[] negativeHessian(double[] inv, double[] q) {
      double[] scaled = new double[n * p];
      double[] d = new double[n];
      for (int i = 0; i < n; i++) {
        double w = mu[i] * (1 - mu[i]);
        d[i] = w * (1 - 6 * w) * q[i];
      }
      double[] curvature = crossProduct(d, scaled);
      double[] negH = new double[p * p];
      for (int k = 0; k < p * p; k++) {
        negH[k] = info[k] - 0.5 * curvature[k];
      }
      // M_a = A I_a for each a; then ½ tr(M_a M_b).
      double[][] m = new double[p][];
      for (int a = 0; a < p; a++) {
        for (int i = 0; i < n; i++) {
          double w = mu[i] * (1 - mu[i]);
          d[i] = w * (1 - 2 * mu[i]) * x[i + a * n];
        }
        double[] ia = crossProduct(d, scaled);
        m[a] = new double[p * p];
        Blas.dgemm(false, false, p, p, p, 1.0, inv, p, ia, p, 0.0, m[a], p);
      }
      for (int a = 0; a < p; a++) {
        for (int b = 0; b <= a; b++) {
          double tr = 0;
          for (int r = 0; r < p; r++) {
            for (int c = 0; c < p; c++) {
              tr += m[a][r + c * p] * m[b][c + r * p];
            }
          }
          negH[a + b * p] += 0.5 * tr;
          if (b != a) {
            negH[b + a * p] += 0.5 * tr;
          }
        }
      }
      SmallMatrices.symmetrize(negH, p);
      return negH;
    }

    /** {@code Xᵀ diag(d) X} (p×p), {@code scaled} an n×p scratch buffer. */
    private double[] crossProduct(double[] d, double[] scaled) {
      for (int j = 0; j < p; j++) {
        for (int i = 0; i < n; i++) {
          scaled[i + j * n] = d[i] * x[i + j * n];
        }
      }
      double[] out = new double[p * p];
      Blas.dgemm(true, false, p, p, n, 1.0, x, n, scaled, n, 0.0, out, p);
      return out;
    }

    double[] inverseInformation() {
      if (!ok) {
        return null;
      }
      double[] inv = chol.clone();
      Blas.dpotriLowerFull(p, inv);
      return inv;
    }

    /** {@code (XᵀWX)_ff⁻¹ score_f} over the coefficients not held, zero for the held ones. */
    double[] solveInformation(double[] score, boolean[] held) {
      if (!ok) {
        return null;
      }
      if (held == null) {
        double[] d = score.clone();
        Blas.dpotrsLower(p, 1, chol, d);
        return d;
      }
      return solveOnFree(info, p, score, held);
    }
  }
}
