package org.lmmspark.engine.glmm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.model.MixedModel;
import org.lmmspark.engine.model.MixedModelFitter;
import org.lmmspark.engine.model.RandomEffectTerm;

/**
 * Fits a GLMM given as a {@code fit} model frame (its response the successes or counts, trials from
 * {@code cbind()}, an {@code offset()}), by the Laplace approximation ({@link LaplaceGlmm}, lme4's
 * {@code glmer} default) or by PQL ({@link PqlGlmm}: glmmPQL, GMMAT, SAIGE), and reports both in one
 * form. The one switch that decides the route is {@link #route}.
 */
public final class GlmmFitter {
  /** How: {@code AUTO} takes Laplace when the model allows it (scalar terms, no relationship matrix), else PQL. */
  public enum Route { AUTO, LAPLACE, PQL }

  /**
   * @param route           Laplace or PQL
   * @param workingMethod   PQL's working model: REML (GMMAT/SAIGE) or ML (glmmPQL)
   * @param fixDispersion   PQL: dispersion held at 1 (the GLMM's own) rather than estimated (glmmPQL's default)
   * @param tolerance       PQL's outer stopping constant
   */
  public record Options(Route route, MixedModelFitter.Method workingMethod, boolean fixDispersion, double tolerance) {
    public static Options defaults() {
      return new Options(Route.AUTO, MixedModelFitter.Method.REML, true, 1e-10);
    }
  }

  private GlmmFitter() {}

  /** The route {@code AUTO} resolves to for this model, and why (for the log). */
  public static Route route(MixedModel model, Route asked, List<String> why) {
    String blocker = laplaceBlocker(model);
    if (asked == Route.LAPLACE && blocker != null) {
      throw new BadInputException("--glmm laplace: " + blocker + "; use --glmm pql");
    }
    if (asked != Route.AUTO) {
      why.add("--glmm " + asked.name().toLowerCase(java.util.Locale.ROOT) + " as asked");
      return asked;
    }
    if (blocker == null) {
      why.add("Laplace approximation (lme4 glmer's default): every random term is a scalar effect of a grouping factor");
      return Route.LAPLACE;
    }
    why.add("PQL: " + blocker);
    return Route.PQL;
  }

  public static GlmmFit fit(MixedModel model, Family family, Options options, List<String> log) {
    checkResponses(model, family);
    Route r = route(model, options.route(), log);
    if (r == Route.LAPLACE) {
      return LaplaceGlmm.fit(toProblem(model, family));
    }
    PqlGlmm.Fit f = PqlGlmm.fit(model, family, model.trials(), model.offset(), options.workingMethod(),
        options.fixDispersion(), options.tolerance());
    int nv = model.firstResidualParameter();
    double[] values = Arrays.copyOf(f.working().theta(), nv);
    boolean[] boundary = Arrays.copyOf(f.working().boundary(), nv);
    double[] all = f.working().thetaCovariance();
    double[] cov = null;
    if (all != null) {
      int m = f.working().theta().length;
      cov = new double[nv * nv];
      for (int i = 0; i < nv; i++) {
        for (int j = 0; j < nv; j++) {
          cov[i + j * nv] = all[i + j * m];
        }
      }
    }
    return new GlmmFit("pql", family, model.fixedNames(), f.beta(), f.betaSe(), null,
        new ArrayList<>(model.parameterNames().subList(0, nv)), values, boundary, Double.NaN, model.n(), null, null,
        f.mu(), f.dispersion(), f.converged(), f.message(), cov);
  }

  /**
   * Every record's response (and binomial trials) valid for the family, on either route; a bad one is
   * named by the model's record origin (the table's file and line for {@code fit}).
   */
  static void checkResponses(MixedModel model, Family family) {
    double[] y = model.y();
    double[] trials = model.trials();
    for (int i = 0; i < y.length; i++) {
      String why = family.invalidResponse(y[i], trials == null ? 1 : trials[i]);
      if (why != null) {
        throw model.recordError(i, why + " (family " + family + ")");
      }
    }
  }

  /** Why Laplace cannot take this model (null when it can). */
  static String laplaceBlocker(MixedModel model) {
    for (RandomEffectTerm t : model.terms()) {
      if (t.dimension() > 1) {
        return "term (" + String.join(" + ", t.effects()) + " | " + t.group() + ") has correlated effects";
      }
      if (t.relationship() != null) {
        return "term " + t.group() + " has a relationship matrix (dense random effects)";
      }
    }
    if (model.residualGroupNames().size() > 1) {
      return "a GLMM has no residual variance per group";
    }
    return null;
  }

  /** The Laplace problem of a model frame whose terms are all scalar grouping effects. */
  static GlmmProblem toProblem(MixedModel model, Family family) {
    List<GlmmProblem.Term> terms = new ArrayList<>();
    for (RandomEffectTerm t : model.terms()) {
      double[] z = t.z()[0];
      boolean ones = Arrays.stream(z).allMatch(v -> v == 1);
      terms.add(new GlmmProblem.Term(t.group() + ":" + t.effects().get(0), t.level(), t.levelCount(), ones ? null : z));
    }
    return new GlmmProblem(family, model.y(), model.trials(), model.offset(), model.x(), model.fixedNames(), terms);
  }
}
