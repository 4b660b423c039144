package org.lmmspark.engine.glmm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.model.MixedModel;
import org.lmmspark.engine.model.MixedModelFit;
import org.lmmspark.engine.model.MixedModelFitter;
import org.lmmspark.engine.model.RandomEffectTerm;

/**
 * A GLMM by penalized quasi-likelihood (Breslow &amp; Clayton 1993), as {@code MASS::glmmPQL} and, with a
 * REML working model and the dispersion fixed at 1, as GMMAT and SAIGE fit their null models: from the
 * GLM fit, repeat
 * <pre>  z = η + (y/n − μ)/μ'(η) − o,   w = n μ'(η)²/V(μ)
 *   fit the linear mixed model z ~ X + random terms with residual variance φ/w   (ML or REML)
 *   η ← Xβ̂ + Zb̂ + o                                                               (BLUPs)</pre>
 * until {@code Σ(η − η_old)² < tolerance · Ση²} (glmmPQL's rule; its tolerance 1e-6 is
 * {@link #GLMMPQL_TOLERANCE}, the fixed point is reached with ~1e-15). The working model is any model
 * of the {@code fit} frame — grouping factors, slopes, relationship matrices — fitted by
 * {@link MixedModelFitter} on the one AI-REML optimizer; the dispersion φ is the working model's
 * residual variance, estimated (glmmPQL's default) or fixed at 1 ({@code lmeControl(sigma = 1)},
 * GMMAT, SAIGE). SE(β) are nlme's for the working model (for ML scaled by √(n/(n − p))); no
 * log-likelihood is defined.
 * Cost: one working-model fit per outer iteration (typically 5–15).
 */
public final class PqlGlmm {
  /** glmmPQL's outer stopping constant. */
  public static final double GLMMPQL_TOLERANCE = 1e-6;
  static final int MAX_OUTER = 200;
  /** Smallest relaxation of the outer update (after repeated halvings on a residual that does not shrink). */
  static final double MIN_RELAXATION = 1.0 / 16;

  private PqlGlmm() {}

  /**
   * A PQL fit: the final working-model fit, SE(β) as nlme reports them for it, the dispersion, the outer
   * iterations, and η, μ at the end.
   */
  public record Fit(MixedModelFit working, Family family, double[] betaSe, double dispersion, double[] eta,
      double[] mu, int outerIterations, boolean converged, String message) {
    public double[] beta() {
      return working.beta();
    }
  }

  /**
   * Fits the GLMM whose response, fixed effects and random terms are {@code frame}'s (its response the
   * successes or counts), with {@code trials} (null: 1) and {@code offset} (null: 0).
   *
   * @param fixDispersion  hold φ at 1 (GMMAT/SAIGE, {@code lmeControl(sigma = 1)}) instead of estimating it
   */
  public static Fit fit(MixedModel frame, Family family, double[] trials, double[] offset,
      MixedModelFitter.Method method, boolean fixDispersion, double tolerance) {
    int n = frame.n();
    int p = frame.p();
    GlmmProblem glm = new GlmmProblem(family, frame.y(), trials, offset, frame.x(), frame.fixedNames(), List.of());
    if (frame.parameterNames().size() != frame.firstResidualParameter() + 1) {
      throw new IllegalArgumentException("a GLMM's working model has one residual variance (the dispersion)");
    }
    String residual = frame.parameterNames().get(frame.firstResidualParameter());
    Map<String, Double> fixed = fixDispersion ? Map.of(residual, 1.0) : Map.of();
    Outer<MixedModelFit> outer = iterate(glm, new WorkingModel<>() {
      @Override
      public MixedModelFit fit(double[] z, double[] w, int iteration) {
        return MixedModelFitter.fit(frame.withResponse(z, w), method, fixed, MixedModelFitter.DEFAULT_MAX_ITERATIONS);
      }

      @Override
      public double[] conditionalFitted(MixedModelFit fit) {
        return PqlGlmm.conditionalFitted(frame, fit);
      }
    }, tolerance);
    MixedModelFit fit = outer.working();
    double[] eta = outer.eta();
    int it = outer.iterations();
    boolean converged = outer.converged();
    double change = outer.change();
    double[] mu = new double[n];
    for (int i = 0; i < n; i++) {
      mu[i] = family.mean(eta[i]);
    }
    double dispersion = fit.theta()[frame.firstResidualParameter()];
    String message = String.format(Locale.ROOT, "PQL (%s working model, dispersion %s) %s after %d outer iterations "
        + "(Σ(Δη)²/Ση² = %.2e, tolerance %.0e); last working fit: %s", method == MixedModelFitter.Method.REML ? "REML"
        : "ML", fixDispersion ? "fixed at 1" : "estimated", converged ? "converged" : "did not converge", it, change,
        tolerance, fit.message());
    // nlme's summary() of an ML fit scales Cov(β̂) by n/(n − p) (the REML denominator), with σ estimated or
    // fixed alike: glmmPQL's SEs are those (checked on both reference cases).
    double scale = method == MixedModelFitter.Method.ML ? Math.sqrt((double) n / (n - p)) : 1;
    double[] se = fit.betaSe().clone();
    for (int j = 0; j < se.length; j++) {
      se[j] *= scale;
    }
    return new Fit(fit, family, se, dispersion, eta, mu, it, converged && fit.converged(), message);
  }

  /**
   * The linear mixed model fitted at each outer iteration: {@code z ~ X + random terms} with residual
   * variance {@code φ/w}. Dense ({@link MixedModelFitter} on the model frame, in {@link #fit}) or
   * matrix-free ({@link MatrixFreePql}: stochastic AI-REML over a distributed K); the outer iteration
   * ({@link #iterate}) is the same for both.
   *
   * @param <F> the working fit
   */
  public interface WorkingModel<F> {
    /** Fits the working model to the working response {@code z} with weights {@code w} (outer {@code iteration}, from 1). */
    F fit(double[] z, double[] w, int iteration);

    /** {@code Xβ̂ + Zb̂} of a working fit (the offset excluded): the next linear predictor. */
    double[] conditionalFitted(F fit);
  }

  /** Where the outer iteration ended: the last working fit, η there, and how it stopped. */
  public record Outer<F>(F working, double[] eta, int iterations, boolean converged, double change) {}

  /**
   * The PQL outer iteration: from the GLM fit of {@code glm}, {@code z = η + (y/n − μ)/μ'(η) − o},
   * {@code w = n μ'(η)²/V(μ)}, fit the working model, {@code η ← Xβ̂ + Zb̂ + o}, until
   * {@code Σ(Δη)²/Ση² < tolerance} or {@link #MAX_OUTER} iterations.
   */
  public static <F> Outer<F> iterate(GlmmProblem glm, WorkingModel<F> working, double tolerance) {
    int n = glm.n();
    Family family = glm.family();
    double[] y = glm.y();
    Pirls irls = new Pirls(glm);
    double[] beta = irls.glmStart();
    double[] eta = irls.linearPredictor(new double[0], beta, new double[0]);
    F fit = null;
    boolean converged = false;
    int it = 0;
    double change = Double.NaN;
    double previousChange = Double.POSITIVE_INFINITY;
    double relaxation = 1;
    while (it < MAX_OUTER) {
      it++;
      double[] z = new double[n];
      double[] w = new double[n];
      for (int i = 0; i < n; i++) {
        double mu = family.mean(eta[i]);
        double d = family.meanDerivative(eta[i]);
        double ni = glm.trials(i);
        z[i] = eta[i] + (y[i] / ni - mu) / d - glm.offset(i);
        w[i] = ni * d * d / family.variance(mu);
      }
      fit = working.fit(z, w, it);
      double[] next = working.conditionalFitted(fit);
      for (int i = 0; i < n; i++) {
        next[i] += glm.offset(i);
      }
      double num = 0;
      double den = 0;
      for (int i = 0; i < n; i++) {
        num += (next[i] - eta[i]) * (next[i] - eta[i]);
        den += next[i] * next[i];
      }
      change = num / den;
      if (change < tolerance) {
        eta = next;
        converged = true;
        break;
      }
      // The plain update η ← F(η) can cycle where F's fixed point is unstable (probit on saige-family: τ̂
      // alternates 0.149, 0 — F(η) swings past the fixed point and back). When the residual Σ(F(η) − η)²
      // stops shrinking, relax: η ← η + ω(F(η) − η) with ω halved (to 1/16 at least). A fixed point of the
      // relaxed map is one of F (the stopping rule measures F(η) − η), so the fit is PQL's all the same.
      if (change >= previousChange) {
        relaxation = Math.max(relaxation / 2, MIN_RELAXATION);
      }
      previousChange = change;
      for (int i = 0; i < n; i++) {
        eta[i] += relaxation * (next[i] - eta[i]);
      }
    }
    return new Outer<>(fit, eta, it, converged, change);
  }

  /**
   * {@code Xβ̂ + Σ_t Σ_a z_a ∘ û_a[level]}: the conditional fitted values (lme's {@code fitted(level = max)})
   * from the BLUPs of {@link MixedModelFit#blups()}, which for a term spanning a whole relationship matrix are
   * indexed by the matrix's ids rather than by the term's levels.
   */
  static double[] conditionalFitted(MixedModel model, MixedModelFit fit) {
    int n = model.n();
    double[] out = new double[n];
    Blas.dgemv(false, n, model.p(), 1.0, model.x(), fit.beta(), 0.0, out);
    List<RandomEffectTerm> terms = model.terms();
    for (int t = 0; t < terms.size(); t++) {
      RandomEffectTerm term = terms.get(t);
      double[][] u = fit.blups().get(t).values();
      boolean byIds = u[0].length != term.levelCount()
          || term.relationship() != null && Arrays.stream(term.cross()).allMatch(c -> c == 0);
      for (int a = 0; a < term.dimension(); a++) {
        for (int i = 0; i < n; i++) {
          int l = term.level()[i];
          out[i] += term.z()[a][i] * u[a][byIds ? term.relIndex()[l] : l];
        }
      }
    }
    return out;
  }

  /** The variance parameter names of the working model, for reports. */
  public static List<String> varianceNames(MixedModel frame) {
    return new ArrayList<>(frame.parameterNames().subList(0, frame.firstResidualParameter()));
  }
}
