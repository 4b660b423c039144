package org.lmmspark.engine.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A fit in words and in a structure: {@link #text} reads like lme4's {@code summary()} (random
 * effects with variances, SDs and correlations; residual SD per group; fixed effects with SE, t and
 * p; logLik, AIC, BIC, cAIC and its df; convergence); {@link #toMap} is the same for JSON.
 */
public final class FitReport {
  private FitReport() {}

  /** One row of the random-effects table: a term's effect, or a residual group. */
  private record VarRow(String group, String name, double variance, double sd, List<Double> corr, boolean fixed) {}

  private static List<VarRow> varRows(MixedModelFit f, MixedModel model) {
    List<VarRow> rows = new ArrayList<>();
    int j = 0;
    for (RandomEffectTerm t : model.terms()) {
      int d = t.dimension();
      double[][] s = new double[d][d];
      boolean[] fixed = new boolean[d];
      for (int b = 0; b < d; b++) {
        for (int a = b; a < d; a++) {
          s[a][b] = f.theta()[j];
          s[b][a] = f.theta()[j];
          fixed[a] |= f.fixed()[j];
          j++;
        }
      }
      for (int a = 0; a < d; a++) {
        List<Double> corr = new ArrayList<>();
        for (int b = 0; b < a; b++) {
          double den = Math.sqrt(s[a][a] * s[b][b]);
          corr.add(den > 0 ? s[a][b] / den : Double.NaN);
        }
        rows.add(new VarRow(a == 0 ? t.group() : "", t.effects().get(a), s[a][a], Math.sqrt(s[a][a]), corr,
            fixed[a]));
      }
    }
    for (int g = 0; g < model.residualGroupNames().size(); g++, j++) {
      String name = model.residualFactor() == null ? "" : model.residualFactor() + "=" + model.residualGroupNames().get(g);
      rows.add(new VarRow(g == 0 ? "Residual" : "", name, f.theta()[j], Math.sqrt(f.theta()[j]), List.of(),
          f.fixed()[j]));
    }
    return rows;
  }

  public static String text(MixedModelFit f, MixedModel model, String data) {
    StringBuilder sb = new StringBuilder();
    boolean reml = f.method() == MixedModelFitter.Method.REML;
    sb.append("Linear mixed model fit by ").append(reml ? "REML" : "maximum likelihood").append(" (lmmspark fit, AI-")
        .append(reml ? "REML" : "ML").append(")\n");
    sb.append("  Route: ").append(f.route()).append('\n');
    sb.append("Formula: ").append(f.formula()).append('\n');
    sb.append("   Data: ").append(data).append('\n');
    sb.append('\n');
    if (reml) {
      sb.append(String.format(Locale.ROOT, "REML criterion at convergence: %.4f%n%n", f.deviance()));
    }
    String[] head = {"AIC", "BIC", "logLik", reml ? "REMLcrit" : "deviance", "cAIC", "cAIC df", "logL (GCTA)"};
    double[] vals = {f.aic(), f.bic(), f.logLik(), f.deviance(), f.caic().caic(), f.caic().df(), f.logL()};
    for (String h : head) {
      sb.append(String.format(Locale.ROOT, "%13s", h));
    }
    sb.append('\n');
    for (double v : vals) {
      sb.append(String.format(Locale.ROOT, "%13.4f", v));
    }
    sb.append("\n");
    if (reml) {
      sb.append("(REML AIC/BIC compare only fits with the same fixed effects; nlme's REML BIC uses n - p: ")
          .append(String.format(Locale.ROOT, "%.4f", f.bicNlme())).append(")\n");
    }
    sb.append("\nRandom effects:\n");
    List<VarRow> rows = varRows(f, model);
    int gw = "Groups".length();
    int nw = "Name".length();
    for (VarRow r : rows) {
      gw = Math.max(gw, r.group().length());
      nw = Math.max(nw, r.name().length());
    }
    String fmt = "  %-" + gw + "s %-" + nw + "s %12s %10s";
    sb.append(String.format(Locale.ROOT, fmt, "Groups", "Name", "Variance", "Std.Dev.")).append("  Corr\n");
    for (VarRow r : rows) {
      sb.append(String.format(Locale.ROOT, fmt, r.group(), r.name(), num(r.variance()), num(r.sd())));
      for (double c : r.corr()) {
        sb.append(String.format(Locale.ROOT, " %6.3f", c));
      }
      if (r.fixed()) {
        sb.append("  (fixed)");
      }
      sb.append('\n');
    }
    sb.append("Number of obs: ").append(f.n()).append(", groups: ");
    List<String> g = new ArrayList<>();
    for (Map.Entry<String, Integer> e : f.groupLevels().entrySet()) {
      g.add(e.getKey() + ", " + e.getValue());
    }
    sb.append(String.join("; ", g)).append("\n\nFixed effects:\n");
    int fw = 0;
    for (String nm : f.fixedNames()) {
      fw = Math.max(fw, nm.length());
    }
    String ff = "%-" + fw + "s %12s %12s %9s %10s%n";
    sb.append(String.format(Locale.ROOT, ff, "", "Estimate", "Std. Error", "z value", "Pr(>|z|)"));
    for (int k = 0; k < f.p(); k++) {
      sb.append(String.format(Locale.ROOT, ff, f.fixedNames().get(k), num(f.beta()[k]), num(f.betaSe()[k]),
          String.format(Locale.ROOT, "%.3f", f.tValue()[k]), pval(f.pValue()[k])));
    }
    sb.append("(Wald z tests: p from the normal distribution; lme4 prints no p for lmer, nlme uses t on per-level df)\n\n");
    if (!f.singularTerms().isEmpty() || !f.zeroVariances().isEmpty()) {
      sb.append("boundary (singular) fit:");
      for (String t : f.singularTerms()) {
        sb.append(" the covariance matrix of ").append(t).append(" is singular (a correlation of ±1 or a zero variance);");
      }
      if (!f.zeroVariances().isEmpty()) {
        sb.append(" estimated at 0: ").append(String.join(", ", f.zeroVariances()));
      }
      sb.append('\n');
    }
    sb.append(f.converged() ? "Convergence: " : "NOT CONVERGED: ").append(f.message()).append('\n');
    return sb.toString();
  }

  private static String num(double v) {
    double a = Math.abs(v);
    if (a != 0 && (a < 1e-3 || a >= 1e7)) {
      return String.format(Locale.ROOT, "%.4e", v);
    }
    return String.format(Locale.ROOT, "%.6g", v);
  }

  private static String pval(double p) {
    return p < 2e-16 ? "<2e-16" : String.format(Locale.ROOT, "%.3g", p);
  }

  /** The fit as nested maps and lists for a JSON writer (numbers as Double, flags as Boolean). */
  public static Map<String, Object> toMap(MixedModelFit f, MixedModel model, String data) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("formula", f.formula());
    m.put("data", data);
    m.put("response", f.response());
    m.put("method", f.method().name());
    m.put("n", f.n());
    m.put("converged", f.converged());
    m.put("message", f.message());
    m.put("iterations", f.iterations());
    m.put("route", f.route());
    List<Object> fixed = new ArrayList<>();
    for (int k = 0; k < f.p(); k++) {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("name", f.fixedNames().get(k));
      e.put("estimate", f.beta()[k]);
      e.put("se", f.betaSe()[k]);
      e.put("t", f.tValue()[k]);
      e.put("p", f.pValue()[k]);
      fixed.add(e);
    }
    m.put("fixed_effects", fixed);
    List<Object> params = new ArrayList<>();
    for (int j = 0; j < f.theta().length; j++) {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("name", f.parameterNames().get(j));
      e.put("estimate", f.theta()[j]);
      e.put("se", f.se()[j]);
      e.put("fixed", f.fixed()[j]);
      e.put("boundary", f.boundary()[j]);
      params.add(e);
    }
    m.put("variance_parameters", params);
    List<Object> rows = new ArrayList<>();
    String group = null;
    for (VarRow r : varRows(f, model)) {
      group = r.group().isEmpty() ? group : r.group();
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("group", group);
      e.put("name", r.name());
      e.put("variance", r.variance());
      e.put("sd", r.sd());
      if (!r.corr().isEmpty()) {
        e.put("correlations", r.corr().stream().mapToDouble(Double::doubleValue).toArray());
      }
      rows.add(e);
    }
    m.put("random_effects", rows);
    m.put("logLik", f.logLik());
    m.put(f.method() == MixedModelFitter.Method.REML ? "reml_criterion" : "deviance", f.deviance());
    m.put("logL_gcta", f.logL());
    m.put("df", f.df());
    m.put("aic", f.aic());
    m.put("bic", f.bic());
    m.put("bic_nlme", f.bicNlme());
    Map<String, Object> caic = new LinkedHashMap<>();
    caic.put("caic", f.caic().caic());
    caic.put("df", f.caic().df());
    caic.put("conditional_logLik", f.caic().conditionalLogLik());
    m.put("conditional_aic", caic);
    m.put("singular", f.isSingular());
    m.put("singular_terms", f.singularTerms());
    m.put("zero_variances", f.zeroVariances());
    m.put("estimated_parameters", estimated(f));
    m.put("notes", f.notes());
    return m;
  }

  private static List<String> estimated(MixedModelFit f) {
    List<String> out = new ArrayList<>();
    for (int j = 0; j < f.theta().length; j++) {
      if (!f.fixed()[j]) {
        out.add(f.parameterNames().get(j));
      }
    }
    return out;
  }

  /** BLUPs as a table: group, level, effect, BLUP and its prediction error variance. */
  public static String blupTable(MixedModelFit f) {
    StringBuilder sb = new StringBuilder("group\tlevel\teffect\tblup\tpev\n");
    for (MixedModelFit.TermBlups t : f.blups()) {
      for (int l = 0; l < t.levels().size(); l++) {
        for (int a = 0; a < t.effects().size(); a++) {
          sb.append(t.group()).append('\t').append(t.levels().get(l)).append('\t').append(t.effects().get(a))
              .append('\t').append(String.format(Locale.ROOT, "%.10g", t.values()[a][l])).append('\t')
              .append(String.format(Locale.ROOT, "%.10g", t.pev()[a][l])).append('\n');
        }
      }
    }
    return sb.toString();
  }
}
