package org.lmmspark.engine.glmm;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.lmmspark.engine.stats.ChiSquared;

/**
 * The readable summary (like lme4's {@code summary(glmer)}) and the JSON map of a {@link GlmmFit}, with
 * each variance also on the latent scale: {@code σ²_t / (Σ_s σ²_s + σ²_latent)}, σ²_latent the link's
 * residual variance ({@link Family#latentResidualVariance}: π²/3 logit, 1 probit, log(1 + 1/λ) Poisson with
 * λ the mean count) — for a relationship term (GRM, pedigree A) this is the heritability on the liability
 * (link) scale.
 */
public final class GlmmReport {
  private GlmmReport() {}

  /** Latent-scale proportion of each variance (a covariance's entry is NaN). */
  public static double[] latentProportions(GlmmFit fit, double meanCount) {
    double total = fit.family().latentResidualVariance(meanCount);
    for (int k = 0; k < fit.variances().length; k++) {
      if (isVariance(fit.termNames().get(k))) {
        total += fit.variances()[k];
      }
    }
    double[] out = new double[fit.variances().length];
    for (int k = 0; k < out.length; k++) {
      out[k] = isVariance(fit.termNames().get(k)) ? fit.variances()[k] / total : Double.NaN;
    }
    return out;
  }

  /**
   * SE of each latent share {@code h_k = σ²_k / T}, {@code T = Σ_s σ²_s + σ²_latent}, by the delta method
   * over the variances' sampling covariance ({@link GlmmFit#varianceCovariance()}):
   * {@code ∂h_k/∂σ²_j = (δ_kj T − σ²_k)/T²}; σ²_latent is a constant of the link (for the Poisson, of the
   * observed mean count, taken as known). NaN where there is no covariance or for a covariance entry.
   */
  public static double[] latentProportionSe(GlmmFit fit, double meanCount) {
    double[] out = new double[fit.variances().length];
    for (int k = 0; k < out.length; k++) {
      boolean[] pick = new boolean[out.length];
      pick[k] = true;
      out[k] = isVariance(fit.termNames().get(k)) ? latentSum(fit, meanCount, pick)[1] : Double.NaN;
    }
    return out;
  }

  /**
   * {@code Σ_{k picked} σ²_k / T} and its delta-method SE ({@code ∂/∂σ²_j = (1{j picked} T − S)/T²}):
   * one share, or the sum of several (GCTA's {@code Sum of V(G)/Vp}).
   */
  public static double[] latentSum(GlmmFit fit, double meanCount, boolean[] picked) {
    double[] v = fit.variances();
    int m = v.length;
    double total = fit.family().latentResidualVariance(meanCount);
    double sum = 0;
    for (int k = 0; k < m; k++) {
      if (isVariance(fit.termNames().get(k))) {
        total += v[k];
        sum += picked[k] ? v[k] : 0;
      }
    }
    double se = Double.NaN;
    double[] cov = fit.varianceCovariance();
    if (cov != null) {
      double var = 0;
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < m; j++) {
          double gi = isVariance(fit.termNames().get(i)) ? ((picked[i] ? total : 0) - sum) / (total * total) : 0;
          double gj = isVariance(fit.termNames().get(j)) ? ((picked[j] ? total : 0) - sum) / (total * total) : 0;
          var += gi * cov[i + j * m] * gj;
        }
      }
      se = Math.sqrt(var);
    }
    return new double[] {sum / total, se};
  }

  /** Covariance parameters are named {@code GROUP:EFFECT1,EFFECT2}. */
  static boolean isVariance(String name) {
    return !name.substring(name.lastIndexOf(':') + 1).contains(",");
  }

  public static String text(GlmmFit fit, String formula, String data, double meanCount) {
    StringBuilder sb = new StringBuilder();
    boolean laplace = fit.method().equals("laplace");
    sb.append(laplace ? "Generalized linear mixed model fit by maximum likelihood (Laplace Approximation)"
        : "Generalized linear mixed model fit by penalized quasi-likelihood (PQL)").append('\n');
    sb.append(String.format(Locale.ROOT, " Family: %s  ( %s )%n", fit.family().distribution(), fit.family().link()));
    sb.append("Formula: ").append(formula).append('\n');
    sb.append("   Data: ").append(data).append('\n');
    if (laplace) {
      sb.append(String.format(Locale.ROOT, "%n     AIC      BIC   logLik deviance%n%8.4f %8.4f %8.4f %8.4f%n", fit.aic(),
          fit.bic(), fit.logLik(), -2 * fit.logLik()));
    } else {
      sb.append(String.format(Locale.ROOT, "%nDispersion of the working model: %.6g%s; no likelihood is defined for PQL%n",
          fit.dispersion(), fit.dispersion() == 1 ? " (fixed)" : " (estimated)"));
    }
    double[] latent = latentProportions(fit, meanCount);
    sb.append(String.format(Locale.ROOT, "%nRandom effects (link scale; latent share = variance / (all variances + %s)):%n",
        latentName(fit.family())));
    sb.append(String.format(Locale.ROOT, " %-32s %12s %10s %12s%n", "Parameter", "Variance", "Std.Dev.", "Latent share"));
    for (int k = 0; k < fit.variances().length; k++) {
      double v = fit.variances()[k];
      sb.append(String.format(Locale.ROOT, " %-32s %12.6g %10.6g %12s%s%n", fit.termNames().get(k), v,
          v >= 0 ? Math.sqrt(v) : Double.NaN, Double.isNaN(latent[k]) ? "" : String.format(Locale.ROOT, "%.4f", latent[k]),
          fit.boundary()[k] ? "  (boundary)" : ""));
    }
    sb.append(String.format(Locale.ROOT, "Number of obs: %d%n", fit.n()));
    sb.append(String.format(Locale.ROOT, "%nFixed effects (SE: %s):%n", laplace
        ? "lme4's, from the Hessian of the Laplace deviance in (θ, β)" : "the final working model's, as nlme"));
    sb.append(String.format(Locale.ROOT, " %-24s %12s %12s %9s %12s%n", "", "Estimate", "Std. Error", "z value",
        "Pr(>|z|)"));
    for (int j = 0; j < fit.beta().length; j++) {
      double z = fit.beta()[j] / fit.betaSe()[j];
      sb.append(String.format(Locale.ROOT, " %-24s %12.6g %12.6g %9.3f %12s%n", fit.fixedNames().get(j), fit.beta()[j],
          fit.betaSe()[j], z, ChiSquared.formatLogP(ChiSquared.logUpperTail(z * z, 1))));
    }
    sb.append('\n').append(fit.message()).append('\n');
    return sb.toString();
  }

  public static Map<String, Object> toMap(GlmmFit fit, String formula, String data, double meanCount) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("formula", formula);
    m.put("data", data);
    m.put("family", fit.family().distribution());
    m.put("link", fit.family().link());
    m.put("method", fit.method());
    m.put("n", fit.n());
    m.put("converged", fit.converged());
    m.put("message", fit.message());
    if (fit.method().equals("laplace")) {
      m.put("logLik", fit.logLik());
      m.put("deviance", -2 * fit.logLik());
      m.put("AIC", fit.aic());
      m.put("BIC", fit.bic());
      m.put("df", fit.parameters());
    } else {
      m.put("dispersion", fit.dispersion());
    }
    double[] latent = latentProportions(fit, meanCount);
    m.put("latent_residual_variance", fit.family().latentResidualVariance(meanCount));
    List<Map<String, Object>> re = new ArrayList<>();
    for (int k = 0; k < fit.variances().length; k++) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("name", fit.termNames().get(k));
      r.put("value", fit.variances()[k]);
      r.put("latent_share", Double.isNaN(latent[k]) ? null : latent[k]);
      r.put("boundary", fit.boundary()[k]);
      re.add(r);
    }
    m.put("random", re);
    List<Map<String, Object>> fe = new ArrayList<>();
    for (int j = 0; j < fit.beta().length; j++) {
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("name", fit.fixedNames().get(j));
      f.put("estimate", fit.beta()[j]);
      f.put("se", fit.betaSe()[j]);
      if (fit.betaSeConditional() != null) {
        f.put("se_conditional", fit.betaSeConditional()[j]);
      }
      fe.add(f);
    }
    m.put("fixed", fe);
    return m;
  }

  /** How the latent residual variance is written in reports: π²/3, 1, log(1 + 1/mean count). */
  public static String latentName(Family f) {
    return switch (f) {
      case BINOMIAL_LOGIT -> "π²/3";
      case BINOMIAL_PROBIT -> "1";
      default -> "log(1 + 1/mean count)";
    };
  }
}
