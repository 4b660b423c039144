package org.lmmspark.engine.assoc;

import org.apache.commons.math3.optim.MaxEval;
import org.apache.commons.math3.optim.nonlinear.scalar.GoalType;
import org.apache.commons.math3.optim.univariate.BrentOptimizer;
import org.apache.commons.math3.optim.univariate.SearchInterval;
import org.apache.commons.math3.optim.univariate.UnivariateObjectiveFunction;
import org.apache.commons.math3.optim.univariate.UnivariatePointValuePair;
import org.lmmspark.engine.stats.FisherF;

/**
 * The exact per-variant mixed-model test of GEMMA {@code -lmm 1} (Zhou &amp; Stephens 2012, Nat Genet
 * 44:821): for each variant the variance ratio {@code λ = σ²_g/σ²_e} is re-estimated by REML with the
 * variant among the fixed effects, then β is tested by a Wald test.
 *
 * <p>In the spectral basis of the null model ({@code H = diag(λd_i + 1)}, rotated {@code ỹ, X̃, x̃}),
 * with {@code P_H} the projection of {@code H⁻¹} orthogonal to the covariates X and {@code df = n − p − 1}:
 * {@code ℓ(λ) = −½[df·log(ỹᵀP_{H,x}ỹ/df) + log|H| + log|X̃ᵀH⁻¹X̃| + log(x̃ᵀP_Hx̃) + df]}, where
 * {@code ỹᵀP_{H,x}ỹ = ỹᵀP_Hỹ − (x̃ᵀP_Hỹ)²/x̃ᵀP_Hx̃}. All of it comes from one Cholesky factorization of
 * the {@code (p+2)×(p+2)} weighted Gram matrix of {@code [X̃ x̃ ỹ]} (the last two diagonal entries of the
 * factor are {@code √(x̃ᵀP_Hx̃)} and {@code √(ỹᵀP_{H,x}ỹ)}), so each evaluation is {@code O(n p²)}.
 * ℓ is maximized over {@code log λ ∈ [log 1e-5, log 1e5]} (GEMMA's range) by a 21-point grid and
 * Brent's method around the best point. At {@code λ̂}: {@code β̂ = x̃ᵀP_Hỹ/x̃ᵀP_Hx̃},
 * {@code SE² = (ỹᵀP_{H,x}ỹ/df)/x̃ᵀP_Hx̃}, {@code F = β̂²/SE²} on (1, df) degrees of freedom, as GEMMA's
 * {@code p_wald}. Cost per variant about 50 evaluations, {@code O(50 n p²)}: meant for small studies.
 */
public final class ExactLmm {
  static final double LOG_LAMBDA_MIN = Math.log(1e-5);
  static final double LOG_LAMBDA_MAX = Math.log(1e5);
  static final int GRID = 21;

  /** One variant's result: λ̂, β̂, SE, the Wald F statistic and the natural log of its p-value. */
  public record Wald(double lambda, double beta, double se, double f, double logP) {}

  private final NullModel model;
  private final int n;
  private final int p;
  private final int k;
  private final double[] gram;
  private final double[] x;
  private final double[] out = new double[4];

  public ExactLmm(NullModel model) {
    this.model = model;
    this.n = model.n;
    this.p = model.p;
    this.k = p + 2;
    this.gram = new double[k * k];
    this.x = new double[n];
  }

  /** Tests one variant given its rotated, centered genotypes {@code x̃} (n). */
  public Wald test(double[] xRot) {
    System.arraycopy(xRot, 0, x, 0, n);
    double df = n - p - 1;
    double[] grid = new double[GRID];
    double[] val = new double[GRID];
    int best = -1;
    for (int i = 0; i < GRID; i++) {
      grid[i] = LOG_LAMBDA_MIN + (LOG_LAMBDA_MAX - LOG_LAMBDA_MIN) * i / (GRID - 1);
      val[i] = logL(Math.exp(grid[i]));
      if (best < 0 || val[i] > val[best]) {
        best = i;
      }
    }
    if (val[best] == Double.NEGATIVE_INFINITY) {
      // x is (numerically) a combination of the covariates: no test.
      return new Wald(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }
    double t = grid[best];
    double a = grid[Math.max(0, best - 1)];
    double b = grid[Math.min(GRID - 1, best + 1)];
    UnivariatePointValuePair opt = new BrentOptimizer(1e-10, 1e-12).optimize(new MaxEval(200), GoalType.MAXIMIZE,
        new SearchInterval(a, b, t), new UnivariateObjectiveFunction(this::logLAtLog));
    if (opt.getValue() > val[best]) {
      t = opt.getPoint();
    }
    double lambda = Math.exp(t);
    evaluate(lambda);
    double pxx = out[0];
    double pxy = out[1];
    double pyyX = out[2];
    double beta = pxy / pxx;
    double se = Math.sqrt(pyyX / df / pxx);
    double f = beta * beta / (se * se);
    return new Wald(lambda, beta, se, f, FisherF.logUpperTail(f, 1, df));
  }

  private double logLAtLog(double t) {
    return logL(Math.exp(t));
  }

  /** REML log-likelihood at λ (constants dropped), −∞ where undefined. */
  double logL(double lambda) {
    if (!evaluate(lambda)) {
      return Double.NEGATIVE_INFINITY;
    }
    double df = n - p - 1;
    return -0.5 * (df * Math.log(out[2] / df) + out[3] + Math.log(out[0]) + df);
  }

  /**
   * At λ: out = {x̃ᵀP_Hx̃, x̃ᵀP_Hỹ, ỹᵀP_{H,x}ỹ, log|H| + log|X̃ᵀH⁻¹X̃|}; false when a pivot is not positive.
   */
  boolean evaluate(double lambda) {
    double[] d = model.d;
    double[] xr = model.xRot;
    double[] yr = model.yRot;
    java.util.Arrays.fill(gram, 0);
    double logH = 0;
    double[] col = new double[k];
    for (int i = 0; i < n; i++) {
      double h = lambda * d[i] + 1;
      if (!(h > 0)) {
        return false;
      }
      logH += Math.log(h);
      double wi = 1 / h;
      for (int j = 0; j < p; j++) {
        col[j] = xr[i + j * n];
      }
      col[p] = x[i];
      col[p + 1] = yr[i];
      // Lower triangle of Σ w_i c_i c_iᵀ.
      for (int j = 0; j < k; j++) {
        double cj = wi * col[j];
        int off = j * k;
        for (int l = 0; l <= j; l++) {
          gram[off + l] += cj * col[l];
        }
      }
    }
    // In-place Cholesky, row-major lower triangle: gram[j*k + l], l ≤ j.
    double logC = 0;
    for (int j = 0; j < k; j++) {
      for (int l = 0; l <= j; l++) {
        double s = gram[j * k + l];
        for (int q = 0; q < l; q++) {
          s -= gram[j * k + q] * gram[l * k + q];
        }
        if (l == j) {
          if (!(s > 0)) {
            return false;
          }
          gram[j * k + j] = Math.sqrt(s);
        } else {
          gram[j * k + l] = s / gram[l * k + l];
        }
      }
      if (j < p) {
        logC += 2 * Math.log(gram[j * k + j]);
      }
    }
    double lxx = gram[p * k + p];
    double lyx = gram[(p + 1) * k + p];
    double lyy = gram[(p + 1) * k + p + 1];
    if (lxx * lxx <= 1e-8 * gramDiagonalX(lambda)) {
      return false;
    }
    out[0] = lxx * lxx;
    out[1] = lyx * lxx;
    out[2] = lyy * lyy;
    out[3] = logH + logC;
    return true;
  }

  /** {@code x̃ᵀH⁻¹x̃}, to tell a variant collinear with the covariates. */
  private double gramDiagonalX(double lambda) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += x[i] * x[i] / (lambda * model.d[i] + 1);
    }
    return s;
  }
}
