package org.lmmspark.engine.glmm;

import java.util.List;
import java.util.Locale;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.AiReml;
import org.lmmspark.engine.reml.DenseRemlLikelihood;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.ParameterSpace;
import org.lmmspark.engine.reml.RemlLikelihood;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.VarianceComponent;

/**
 * The null model of a binary-trait scan: the logistic GLMM {@code logit μ = Xβ + b}, {@code b ~ N(0, τK)}
 * with one relationship matrix K, by penalized quasi-likelihood with AI-REML on the working model and
 * the dispersion fixed at 1, as SAIGE (Zhou et al. 2018) and GMMAT (Chen et al. 2016) fit theirs:
 * from the logistic regression without random effects, repeat
 * <pre>  w = μ(1 − μ),  z = η + (y − μ)/w
 *   REML fit of z ~ X with V = τK + W⁻¹ (dispersion 1), by AI-REML started at the previous τ
 *   η ← Xβ̂ + b̂,  b̂ = τK P z</pre>
 * until {@code Σ(Δη)²/Ση² <} the tolerance. The working model is fitted on the {@code W^½}-scaled problem
 * ({@code W^½z}, {@code W^½X}, {@code W^½KW^½}, residual variance held at 1), whose REML likelihood differs
 * from the weighted one by the constant {@code log|W|}, so {@link DenseRemlLikelihood} and the one
 * AI-REML optimizer serve unchanged. At the fixed point {@code y − μ̂ = Pz}, so the score of a variant
 * g is {@code gᵀ(y − μ̂) = gᵀPz} with variance {@code gᵀPg} (GMMAT's score test).
 *
 * <p>Dense, on the driver: each working-model evaluation is a Cholesky of an n×n matrix ({@code n³/3}
 * flops), a few per outer iteration, 5–15 outer iterations; the final P is formed once ({@code n³}).
 * For N of a few thousand; see {@link BinaryNull} for the matrix-free alternative.
 */
public final class GrmPql {
  /** Outer stopping constant on {@code Σ(Δη)²/Ση²} (glmmPQL uses 1e-6; the score needs the fixed point). */
  public static final double TOLERANCE = 1e-8;
  static final int MAX_OUTER = 100;
  /** Where τ starts when no earlier fit gives a start (SAIGE starts its binary fits at τ = 0.5·… ; any small positive value works). */
  public static final double DEFAULT_TAU_START = 0.1;

  private GrmPql() {}

  /** A dense PQL null fit. */
  public record Fit(String scope, double tau, double[] beta, double[] mu, double[] randomPrediction, double[] projection,
      int outerIterations, boolean converged, String message) implements BinaryNull {
    @Override
    public int n() {
      return mu.length;
    }

    @Override
    public void applyProjection(double[] v, int k, double[] out) {
      int n = n();
      Blas.dgemm(false, false, n, k, n, 1.0, projection, n, v, n, 0.0, out, n);
    }

    @Override
    public float[] denseProjection() {
      float[] f = new float[projection.length];
      for (int i = 0; i < f.length; i++) {
        f[i] = (float) projection[i];
      }
      return f;
    }
  }

  /**
   * Fits the null model of 0/1 responses {@code y} (n), covariates {@code x} (n×p column-major, an intercept
   * among them) and relationship matrix {@code k} (n×n, rows in the order of y).
   *
   * @param tauStart where τ starts (e.g. the whole-genome τ for a LOCO refit), NaN for the default
   */
  public static Fit fit(String scope, double[] y, double[] x, List<String> fixedNames, double[] k, double tauStart,
      double tolerance) {
    return fit(scope, y, x, fixedNames, k, tauStart, null, tolerance);
  }

  /**
   * As {@link #fit(String, double[], double[], List, double[], double, double)}, warm-started from an earlier
   * fit of the same samples and covariates with another K (a LOCO refit from the previous chromosome's or the
   * whole genome's fit): τ and the linear predictor {@code η = Xβ̂ + b̂} start where that fit ended and the
   * EM steps of the first working fit are skipped. The fixed point is the same; the outer iterations (each
   * {@code O(n³)}) fewer, the leave-one-chromosome-out K being close to the whole one.
   */
  public static Fit fit(String scope, double[] y, double[] x, List<String> fixedNames, double[] k, Fit warm,
      double tolerance) {
    return fit(scope, y, x, fixedNames, k, warm.tau(), warm, tolerance);
  }

  private static Fit fit(String scope, double[] y, double[] x, List<String> fixedNames, double[] k, double tauStart,
      Fit warm, double tolerance) {
    int n = y.length;
    int p = fixedNames.size();
    if (k.length != (long) n * n) {
      throw new IllegalArgumentException("K has " + k.length + " entries for n = " + n);
    }
    GlmmProblem glm = new GlmmProblem(Family.BINOMIAL_LOGIT, y, null, null, x, fixedNames, List.of());
    Pirls irls = new Pirls(glm);
    double[] beta = irls.glmStart(); // bad input on separation by the covariates
    double[] eta = new double[n];
    if (warm != null) {
      if (warm.n() != n || warm.beta().length != p) {
        throw new IllegalArgumentException("warm start from a fit of " + warm.n() + " samples, " + warm.beta().length
            + " covariates, for " + n + " and " + p);
      }
      beta = warm.beta().clone();
      System.arraycopy(warm.randomPrediction(), 0, eta, 0, n);
    }
    Blas.dgemv(false, n, p, 1.0, x, beta, 1.0, eta);
    double tau = Double.isNaN(tauStart) ? DEFAULT_TAU_START : Math.max(tauStart, 1e-4);
    double[] b = new double[n];
    double change = Double.NaN;
    boolean converged = false;
    boolean workingConverged = true;
    int it = 0;
    double[] ks = new double[n * n];
    double[] s = new double[n];
    double[] ys = new double[n];
    double[] xs = new double[n * p];
    while (it < MAX_OUTER) {
      it++;
      for (int i = 0; i < n; i++) {
        double mu = Family.BINOMIAL_LOGIT.mean(eta[i]);
        double w = mu * (1 - mu);
        s[i] = Math.sqrt(w);
        ys[i] = s[i] * (eta[i] + (y[i] - mu) / w);
        for (int j = 0; j < p; j++) {
          xs[i + j * n] = s[i] * x[i + j * n];
        }
      }
      for (int c = 0; c < n; c++) {
        for (int r = 0; r < n; r++) {
          ks[r + c * n] = s[r] * s[c] * k[r + c * n];
        }
      }
      RemlProblem working = new RemlProblem(ys, xs, fixedNames, List.of(new VarianceComponent("G",
          new DenseSymmetricMatrix(n, ks))));
      DenseRemlLikelihood lik = new DenseRemlLikelihood(working);
      ParameterSpace.Builder space = ParameterSpace.builder();
      space.add("G", ParameterSpace.Kind.VARIANCE, 0, n);
      space.add("e", ParameterSpace.Kind.RESIDUAL, 0, n);
      AiReml.Optimum opt = new AiReml("pql-working", q -> lik, it == 1 && warm == null ? AiReml.DEFAULT_EM_STEPS : 0,
          AiReml.DEFAULT_MAX_ITERATIONS).maximize(lik, space.build(new boolean[] {false, true}), new double[] {tau, 1});
      workingConverged = opt.converged();
      tau = opt.theta()[0];
      RemlLikelihood.Evaluation ev = opt.evaluation();
      beta = ev.beta().clone();
      // P z = W^½ P̃ (W^½ z); b̂ = τ K P z.
      double[] pz = ev.py().clone();
      for (int i = 0; i < n; i++) {
        pz[i] *= s[i];
      }
      Blas.dgemv(false, n, n, tau, k, pz, 0.0, b);
      double[] next = new double[n];
      Blas.dgemv(false, n, p, 1.0, x, beta, 0.0, next);
      double num = 0;
      double den = 0;
      for (int i = 0; i < n; i++) {
        next[i] += b[i];
        num += (next[i] - eta[i]) * (next[i] - eta[i]);
        den += next[i] * next[i];
      }
      eta = next;
      change = num / den;
      if (change < tolerance) {
        converged = true;
        break;
      }
    }
    double[] mu = new double[n];
    double[] w = new double[n];
    for (int i = 0; i < n; i++) {
      mu[i] = Family.BINOMIAL_LOGIT.mean(eta[i]);
      w[i] = mu[i] * (1 - mu[i]);
    }
    double[] projection = projection(k, tau, w, x, n, p);
    String message = String.format(Locale.ROOT, "PQL (REML working model, dispersion fixed at 1) %s after %d outer "
        + "iterations (Σ(Δη)²/Ση² = %.2e, tolerance %.0e)%s", converged ? "converged" : "did not converge", it, change,
        tolerance, workingConverged ? "" : "; the last working-model REML did not converge");
    return new Fit(scope, tau, beta, mu, b, projection, it, converged && workingConverged, message);
  }

  /**
   * {@code P = Σ⁻¹ − Σ⁻¹X(XᵀΣ⁻¹X)⁻¹XᵀΣ⁻¹}, {@code Σ = τK + W⁻¹}, dense n×n: one Cholesky and inverse
   * ({@code n³} flops) and {@code O(n²p)}.
   */
  static double[] projection(double[] k, double tau, double[] w, double[] x, int n, int p) {
    double[] sigma = new double[n * n];
    for (int i = 0; i < n * n; i++) {
      sigma[i] = tau * k[i];
    }
    for (int i = 0; i < n; i++) {
      sigma[i + i * n] += 1 / w[i];
    }
    if (!Blas.dpotrfLower(n, sigma)) {
      throw new IllegalStateException("Σ = τK + W⁻¹ is not positive definite at τ = " + tau);
    }
    Blas.dpotriLowerFull(n, sigma);
    double[] sx = new double[n * p];
    Blas.dgemm(false, false, n, p, n, 1.0, sigma, n, x, n, 0.0, sx, n);
    double[] c = new double[p * p];
    Blas.dgemm(true, false, p, p, n, 1.0, x, n, sx, n, 0.0, c, p);
    if (!Blas.dpotrfLower(p, c)) {
      throw new IllegalStateException("XᵀΣ⁻¹X is singular: the covariates are collinear");
    }
    Blas.dpotriLowerFull(p, c);
    double[] t = new double[n * p];
    Blas.dgemm(false, false, n, p, p, 1.0, sx, n, c, p, 0.0, t, n);
    Blas.dgemm(false, true, n, n, p, -1.0, t, n, sx, n, 1.0, sigma, n);
    return sigma;
  }
}
