package org.lmmspark.engine.glmm;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.commons.math3.exception.TooManyEvaluationsException;
import org.apache.commons.math3.optim.InitialGuess;
import org.apache.commons.math3.optim.MaxEval;
import org.apache.commons.math3.optim.PointValuePair;
import org.apache.commons.math3.optim.SimpleBounds;
import org.apache.commons.math3.optim.nonlinear.scalar.GoalType;
import org.apache.commons.math3.optim.nonlinear.scalar.ObjectiveFunction;
import org.apache.commons.math3.optim.nonlinear.scalar.noderiv.BOBYQAOptimizer;
import org.lmmspark.engine.reml.SmallMatrices;

/**
 * Maximum likelihood for a GLMM by the Laplace approximation, as lme4's {@code glmer} (nAGQ = 1):
 * {@code −2 log L(θ, β) ≈ −2 Σ log f(y | μ(û)) + |û|² + log|ΛZᵀWZΛ + I|}, û the conditional mode from
 * {@link Pirls} at (θ, β) (Bates, Mächler, Bolker &amp; Walker 2015, J Stat Softw 67(1), §5). The
 * deviance is minimized over θ ≥ 0 (each term's standard deviation) and β together by BOBYQA (Powell
 * 2009; lme4's default optimizer for this stage), started from the GLM fit and θ = 1 as lme4 does.
 *
 * <p>Standard errors of β: by default, as lme4 ≥ 1.1-? reports them ({@code use.hessian = TRUE}), from the
 * finite-difference Hessian H of the deviance in (θ, β): {@code Cov(β) = [(H/2)⁻¹]_ββ}; also the
 * conditional ones from the PIRLS system at the fitted θ ({@code vcov(use.hessian = FALSE)}):
 * {@code [XᵀWX XᵀWZΛ; ΛZᵀWX ΛZᵀWZΛ+I]⁻¹_ββ}.
 *
 * <p>Cost: each deviance evaluation is one PIRLS (a few dense {@code (p+q)³/3} factorizations, warm
 * started); BOBYQA takes a few hundred evaluations for a handful of parameters.
 */
public final class LaplaceGlmm {
  /** Final trust-region radius: the estimates are resolved to about this, far inside the peers' 1e-5. */
  static final double STOPPING_RADIUS = 1e-9;
  static final int MAX_EVALUATIONS = 20_000;
  /** Finite-difference step for the Hessian, lme4's {@code deriv12} default. */
  static final double HESSIAN_STEP = 1e-4;

  private LaplaceGlmm() {}

  public static GlmmFit fit(GlmmProblem problem) {
    Pirls pirls = new Pirls(problem);
    int p = problem.p();
    int nt = problem.terms().size();
    double[] glmBeta = pirls.glmStart();
    Deviance deviance = new Deviance(pirls, nt, p);
    double[] start = new double[nt + p];
    for (int t = 0; t < nt; t++) {
      start[t] = 1;
    }
    System.arraycopy(glmBeta, 0, start, nt, p);
    double[] lower = new double[nt + p];
    double[] upper = new double[nt + p];
    for (int j = 0; j < nt + p; j++) {
      lower[j] = j < nt ? 0 : Double.NEGATIVE_INFINITY;
      upper[j] = Double.POSITIVE_INFINITY;
    }
    List<String> notes = new ArrayList<>();
    double[] best;
    boolean converged;
    if (nt + p >= 2) {
      BOBYQAOptimizer bobyqa = new BOBYQAOptimizer(2 * (nt + p) + 1, 0.2, STOPPING_RADIUS);
      try {
        PointValuePair opt = bobyqa.optimize(new MaxEval(MAX_EVALUATIONS), new ObjectiveFunction(deviance::at),
            GoalType.MINIMIZE, new InitialGuess(start), new SimpleBounds(lower, upper));
        best = opt.getPoint();
        converged = true;
      } catch (TooManyEvaluationsException e) {
        best = deviance.bestPoint;
        converged = false;
        notes.add("BOBYQA stopped after " + MAX_EVALUATIONS + " deviance evaluations");
      }
    } else {
      throw new IllegalArgumentException("a GLMM needs at least one random term and one fixed effect");
    }
    double[] theta = java.util.Arrays.copyOf(best, nt);
    double[] beta = java.util.Arrays.copyOfRange(best, nt, nt + p);
    Pirls.Mode mode = pirls.mode(theta, beta, deviance.lastU, false);
    double dev = mode.laplaceDeviance();
    // Conditional SEs: the joint PIRLS system at the fitted (θ, β, û).
    double[] jointInverse = pirls.jointInverse(theta, beta, mode.u());
    double[] seConditional = new double[p];
    int k = p + pirls.randomEffects();
    for (int j = 0; j < p; j++) {
      seConditional[j] = jointInverse == null ? Double.NaN : Math.sqrt(jointInverse[j + j * k]);
    }
    double[] seHessian = hessianSe(deviance, best, nt, p, notes);
    boolean[] boundary = new boolean[nt];
    double[] variances = new double[nt];
    for (int t = 0; t < nt; t++) {
      variances[t] = theta[t] * theta[t];
      boundary[t] = theta[t] <= 1e-6;
      if (boundary[t]) {
        notes.add("boundary (singular) fit: the variance of " + problem.terms().get(t).name() + " is 0");
      }
    }
    String message = String.format(Locale.ROOT, "%s after %d deviance evaluations (BOBYQA, final radius %.0e)",
        converged ? "converged" : "no convergence", deviance.evaluations, STOPPING_RADIUS);
    if (!notes.isEmpty()) {
      message += "; " + String.join("; ", notes);
    }
    List<String> names = new ArrayList<>();
    for (GlmmProblem.Term t : problem.terms()) {
      names.add(t.name());
    }
    return new GlmmFit("laplace", problem.family(), problem.fixedNames(), beta, seHessian, seConditional, names,
        variances, boundary, -dev / 2, problem.n(), mode.u(), theta, mode.mu(), Double.NaN, converged, message, null);
  }

  /**
   * SE(β) from the Hessian of the deviance in (θ, β) by central differences (lme4's {@code deriv12}),
   * {@code Cov = (H/2)⁻¹}; NaN when H is not positive definite (e.g. θ on the boundary, where the
   * deviance is not differentiable in θ: then the β block alone is used, as at fixed θ).
   */
  static double[] hessianSe(Deviance f, double[] x, int nt, int p, List<String> notes) {
    int d = x.length;
    double[] h = new double[d * d];
    double f0 = f.at(x);
    for (int i = 0; i < d; i++) {
      for (int j = i; j < d; j++) {
        double v;
        if (i == j) {
          v = (f.at(shift(x, i, HESSIAN_STEP, -1, 0)) - 2 * f0 + f.at(shift(x, i, -HESSIAN_STEP, -1, 0)))
              / (HESSIAN_STEP * HESSIAN_STEP);
        } else {
          v = (f.at(shift(x, i, HESSIAN_STEP, j, HESSIAN_STEP)) - f.at(shift(x, i, HESSIAN_STEP, j, -HESSIAN_STEP))
              - f.at(shift(x, i, -HESSIAN_STEP, j, HESSIAN_STEP)) + f.at(shift(x, i, -HESSIAN_STEP, j, -HESSIAN_STEP)))
              / (4 * HESSIAN_STEP * HESSIAN_STEP);
        }
        h[i + j * d] = v / 2;
        h[j + i * d] = v / 2;
      }
    }
    double[] se = new double[p];
    double[] cov = SmallMatrices.invertSpd(h, d);
    int off = nt;
    int dim = d;
    if (cov == null) {
      notes.add("Hessian in (θ, β) not positive definite: SE(β) from the β block at fixed θ");
      double[] hb = new double[p * p];
      for (int j = 0; j < p; j++) {
        for (int i = 0; i < p; i++) {
          hb[i + j * p] = h[nt + i + (nt + j) * d];
        }
      }
      cov = SmallMatrices.invertSpd(hb, p);
      off = 0;
      dim = p;
    }
    for (int j = 0; j < p; j++) {
      se[j] = cov == null ? Double.NaN : Math.sqrt(cov[off + j + (off + j) * dim]);
    }
    return se;
  }

  private static double[] shift(double[] x, int i, double di, int j, double dj) {
    double[] y = x.clone();
    y[i] += di;
    if (j >= 0) {
      y[j] += dj;
    }
    return y;
  }

  /** The Laplace deviance as a function of (θ, β), warm-starting each PIRLS from the last mode. */
  static final class Deviance {
    final Pirls pirls;
    final int nt;
    final int p;
    double[] lastU;
    double[] bestPoint;
    double bestValue = Double.POSITIVE_INFINITY;
    int evaluations;

    Deviance(Pirls pirls, int nt, int p) {
      this.pirls = pirls;
      this.nt = nt;
      this.p = p;
    }

    double at(double[] point) {
      evaluations++;
      double[] theta = new double[nt];
      for (int t = 0; t < nt; t++) {
        // The Hessian's finite differences may step below 0: the deviance is even in θ.
        theta[t] = Math.abs(point[t]);
      }
      double[] beta = java.util.Arrays.copyOfRange(point, nt, nt + p);
      Pirls.Mode m = pirls.mode(theta, beta, lastU, false);
      lastU = m.u();
      double d = m.laplaceDeviance();
      if (d < bestValue) {
        bestValue = d;
        bestPoint = point.clone();
      }
      return d;
    }
  }
}
