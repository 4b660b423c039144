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
 *
 * <p>The same factorization serves the other per-variant statistics of {@link LmmTest}: with the
 * columns ordered {@code [X̃ x̃ ỹ]}, the factor also gives the null {@code ỹᵀP_Hỹ = l_yx² + l_yy²}, so the
 * ML log-likelihoods {@code ℓ_ML(λ) = c − ½log|H| − ½n·log(ỹᵀP_Hỹ)} with and without x
 * ({@code c = ½n(log n − log 2π − 1)}, GEMMA's {@code LogL_f}) cost the same. {@link LmmTest#F} fixes λ at
 * the REML null ({@code σ²_g/σ²_e} of the {@link NullModel}); {@link LmmTest#LRT} and {@link LmmTest#SCORE}
 * use the null ML fit λ̂₀ (maximized once per null model, as GEMMA's {@code l_mle_null}). GEMMA
 * centers K over the analysed samples before its eigendecomposition; the ML quantities depend on that
 * (the REML ones do not), so to match it the null model is built from
 * {@link org.lmmspark.engine.reml.DenseSymmetricMatrix#centered} K (as {@code assoc --test lrt|score} does).
 */
public final class ExactLmm {
  static final double LOG_LAMBDA_MIN = Math.log(1e-5);
  static final double LOG_LAMBDA_MAX = Math.log(1e5);
  static final int GRID = 21;

  /**
   * One variant's result: the λ it was computed at (REML per variant for WALD, ML per variant for LRT,
   * the null's for F and SCORE), β̂, SE, the statistic (F for F/WALD/SCORE, the LRT for LRT) and the
   * natural log of its p-value.
   */
  public record Result(double lambda, double beta, double se, double statistic, double logP) {
    static final Result UNDEFINED = new Result(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
  }

  private final NullModel model;
  private final int n;
  private final int p;
  private final double[] gram;
  private final double[] x;
  private final double[] col;
  /** x̃ᵀP_Hx̃, x̃ᵀP_Hỹ, ỹᵀP_{H,x}ỹ, log|H| + log|X̃ᵀH⁻¹X̃|, log|H|, ỹᵀP_Hỹ at the last {@link #evaluate}. */
  private final double[] out = new double[6];
  /** The null ML fit (λ̂₀, ℓ_ML,0), computed on first use; null until then. */
  private double[] nullMl;

  public ExactLmm(NullModel model) {
    this.model = model;
    this.n = model.n;
    this.p = model.p;
    this.gram = new double[(p + 2) * (p + 2)];
    this.x = new double[n];
    this.col = new double[p + 2];
  }

  /** The Wald test of GEMMA {@code -lmm 1} for one variant given its rotated, centered genotypes {@code x̃} (n). */
  public Result test(double[] xRot) {
    return test(xRot, LmmTest.WALD);
  }

  /** The statistic {@code kind} (not {@link LmmTest#MLMA}, which {@link Mlma} computes) for one variant. */
  public Result test(double[] xRot, LmmTest kind) {
    System.arraycopy(xRot, 0, x, 0, n);
    double df = n - p - 1;
    switch (kind) {
      case WALD -> {
        double t = maximize(false, true);
        if (Double.isNaN(t)) {
          return Result.UNDEFINED;
        }
        return wald(Math.exp(t), df);
      }
      case F -> {
        return wald(nullRatio(), df);
      }
      case SCORE -> {
        double lambda = nullMl()[0];
        if (!evaluate(lambda, true)) {
          return Result.UNDEFINED;
        }
        double pxx = out[0];
        double pxy = out[1];
        double pyy = out[5];
        double f = n * pxy * pxy / (pyy * pxx);
        // β̂ and its SE as the Wald form at λ̂₀ (GEMMA -lmm 3 prints these).
        return new Result(lambda, pxy / pxx, Math.sqrt(out[2] / df / pxx), f, logUpperTailF(f, df));
      }
      case LRT -> {
        double t = maximize(true, true);
        if (Double.isNaN(t)) {
          return Result.UNDEFINED;
        }
        double lambda = Math.exp(t);
        double l1 = mlLogL(lambda, true);
        double lrt = Math.max(0, 2 * (l1 - nullMl()[1]));
        evaluate(lambda, true);
        return new Result(lambda, out[1] / out[0], Math.sqrt(out[2] / df / out[0]), lrt,
            org.lmmspark.engine.stats.ChiSquared.logUpperTail(lrt, 1));
      }
      default -> throw new IllegalArgumentException(kind + " is not a per-variant likelihood test");
    }
  }

  /** λ of the REML null model, σ²_g/σ²_e (capped at GEMMA's 1e5 when σ²_e is 0). */
  double nullRatio() {
    return model.sigmaE > 0 ? Math.min(model.sigmaG / model.sigmaE, Math.exp(LOG_LAMBDA_MAX)) : Math.exp(LOG_LAMBDA_MAX);
  }

  /** {@code {λ̂₀, ℓ_ML(λ̂₀)}}: the null model's ML fit (no variant), as GEMMA's {@code l_mle_null}, {@code logl_mle_H0}. */
  double[] nullMl() {
    if (nullMl == null) {
      double t = maximize(true, false);
      if (Double.isNaN(t)) {
        throw new IllegalStateException("the null ML likelihood is undefined over the whole λ range");
      }
      nullMl = new double[] {Math.exp(t), mlLogL(Math.exp(t), false)};
    }
    return nullMl;
  }

  private Result wald(double lambda, double df) {
    if (!evaluate(lambda, true)) {
      return Result.UNDEFINED;
    }
    double pxx = out[0];
    double beta = out[1] / pxx;
    double se = Math.sqrt(out[2] / df / pxx);
    double f = beta * beta / (se * se);
    return new Result(lambda, beta, se, f, logUpperTailF(f, df));
  }

  private static double logUpperTailF(double f, double df) {
    return FisherF.logUpperTail(f, 1, df);
  }

  /**
   * The log λ in [log 1e-5, log 1e5] maximizing the REML ({@code ml} false) or ML log-likelihood, with the
   * variant ({@code withX}) or without: a 21-point grid, then Brent's method around the best point. NaN
   * when the likelihood is undefined everywhere (x collinear with the covariates).
   */
  private double maximize(boolean ml, boolean withX) {
    java.util.function.DoubleUnaryOperator f = t -> ml ? mlLogL(Math.exp(t), withX) : logL(Math.exp(t));
    double[] grid = new double[GRID];
    double[] val = new double[GRID];
    int best = -1;
    for (int i = 0; i < GRID; i++) {
      grid[i] = LOG_LAMBDA_MIN + (LOG_LAMBDA_MAX - LOG_LAMBDA_MIN) * i / (GRID - 1);
      val[i] = f.applyAsDouble(grid[i]);
      if (best < 0 || val[i] > val[best]) {
        best = i;
      }
    }
    if (val[best] == Double.NEGATIVE_INFINITY) {
      return Double.NaN;
    }
    double t = grid[best];
    double a = grid[Math.max(0, best - 1)];
    double b = grid[Math.min(GRID - 1, best + 1)];
    UnivariatePointValuePair opt = new BrentOptimizer(1e-10, 1e-12).optimize(new MaxEval(200), GoalType.MAXIMIZE,
        new SearchInterval(a, b, t), new UnivariateObjectiveFunction(f::applyAsDouble));
    return opt.getValue() > val[best] ? opt.getPoint() : t;
  }

  /** REML log-likelihood at λ with the variant among the fixed effects (constants dropped), −∞ where undefined. */
  double logL(double lambda) {
    if (!evaluate(lambda, true)) {
      return Double.NEGATIVE_INFINITY;
    }
    double df = n - p - 1;
    return -0.5 * (df * Math.log(out[2] / df) + out[3] + Math.log(out[0]) + df);
  }

  /**
   * ML log-likelihood at λ, σ² and β profiled out, with GEMMA's constant:
   * {@code ½n(log n − log 2π − 1) − ½log|H| − ½n·log(ỹᵀP ỹ)}, P projecting out X̃ (and x̃ when {@code withX}).
   */
  double mlLogL(double lambda, boolean withX) {
    if (!evaluate(lambda, withX)) {
      return Double.NEGATIVE_INFINITY;
    }
    double c = 0.5 * n * (Math.log(n) - Math.log(2 * Math.PI) - 1);
    return c - 0.5 * out[4] - 0.5 * n * Math.log(withX ? out[2] : out[5]);
  }

  /**
   * At λ, from the Cholesky factor of the weighted Gram matrix of {@code [X̃ x̃ ỹ]} (of {@code [X̃ ỹ]} when
   * not {@code withX}): out = {x̃ᵀP_Hx̃, x̃ᵀP_Hỹ, ỹᵀP_{H,x}ỹ, log|H| + log|X̃ᵀH⁻¹X̃|, log|H|, ỹᵀP_Hỹ}
   * (the first three NaN without x); false when a pivot is not positive.
   */
  boolean evaluate(double lambda, boolean withX) {
    double[] d = model.d;
    double[] xr = model.xRot;
    double[] yr = model.yRot;
    int k = withX ? p + 2 : p + 1;
    java.util.Arrays.fill(gram, 0);
    double logH = 0;
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
      if (withX) {
        col[p] = x[i];
      }
      col[k - 1] = yr[i];
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
    double lyy = gram[(k - 1) * k + k - 1];
    out[3] = logH + logC;
    out[4] = logH;
    if (!withX) {
      out[0] = out[1] = out[2] = Double.NaN;
      out[5] = lyy * lyy;
      return true;
    }
    double lxx = gram[p * k + p];
    double lyx = gram[(p + 1) * k + p];
    if (lxx * lxx <= 1e-8 * gramDiagonalX(lambda)) {
      return false;
    }
    out[0] = lxx * lxx;
    out[1] = lyx * lxx;
    out[2] = lyy * lyy;
    out[5] = lyx * lyx + lyy * lyy;
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
