package org.lmmspark.jobs.reml;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.model.MixedModel;
import org.lmmspark.engine.model.MixedModelFit;
import org.lmmspark.engine.model.MixedModelFitter;
import org.lmmspark.engine.model.ModelFrame;
import org.lmmspark.engine.model.ResidualLevelShares;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.HsqFile;
import org.lmmspark.engine.reml.RemlInputs;
import org.lmmspark.engine.reml.RemlProblem;

/**
 * {@code lmmspark reml --resid-by COLUMN}: {@code reml}'s components (GRMs, {@code K∘K}, a pedigree's A,
 * groups, GxE) with a residual variance per level of a categorical column (nlme's {@code varIdent},
 * ASReml's {@code at(env)} residuals):
 * <pre>  y = Xβ + Σ_k u_k + e,   u_k ~ N(0, σ²_k C_k),   e_i ~ N(0, σ²_{e,g(i)})</pre>
 * with g(i) the level of record i (levels in sorted order). Each {@code C_k} over the analysed records is a
 * term of a {@link MixedModel} ({@link ModelFrame#ofCovariances}, as {@link GlmmRemlJob} does) fitted by
 * REML with the one {@link MixedModelFitter} on its dense route (blocks of V: O(n²) memory per component,
 * O(n³) per AI-REML iteration), so the fit is {@code lmmspark fit … --resid-by COLUMN}'s.
 *
 * <p>Reported per level L (as ASReml reports per-environment heritabilities):
 * {@code Vp_L = Σ_k σ²_k + σ²_{e,L}} and {@code V(k)/Vp_L = σ²_k / Vp_L}, with SEs by the delta method from
 * the inverse average information. No {@code logL0}/LRT: the null model would be another heteroscedastic fit.
 */
final class ResidByRemlJob {
  private ResidByRemlJob() {}

  /** Fits and writes OUT.hsq, OUT.json, OUT.log; {@code log} holds the input lines so far. */
  static RemlJob.Result run(RemlJob.Options o, RemlJob.TraitScale scale, RemlInputs.Assembled in, List<String> log,
      long t0, Configuration conf) {
    String column = o.residBy();
    String solver = o.solver() == null ? "auto" : o.solver();
    if (!solver.equals("auto") && !solver.equals("dense")) {
      throw new BadInputException("--resid-by " + column + " is fitted by dense AI-REML (--solver auto or dense), not '"
          + solver + "'");
    }
    if (scale.prevalence() != null || o.blup()) {
      throw new BadInputException("--resid-by " + column + ": " + (o.blup() ? "--blup" : "--prevalence")
          + " is not available with a residual variance per level (use 'lmmspark fit --resid-by' for BLUPs)");
    }
    String[] labels = in.residualLabels();
    List<String> levels = new ArrayList<>(new TreeSet<>(java.util.Arrays.asList(labels)));
    if (levels.size() < 2) {
      throw new BadInputException("--resid-by " + column + " has a single level (" + levels + ") among the "
          + labels.length + " analysed records: one residual variance is the default");
    }
    int[] group = new int[labels.length];
    int[] count = new int[levels.size()];
    for (int i = 0; i < labels.length; i++) {
      group[i] = java.util.Collections.binarySearch(levels, labels[i]);
      count[group[i]]++;
    }
    RemlProblem prob = in.problem();
    Map<String, DenseSymmetricMatrix> covariances = GlmmRemlJob.denseCovariances(prob);
    MixedModel model = ModelFrame.ofCovariances(in.design().trait(), prob.y(), prob.x(), prob.fixedNames(),
        covariances, column, levels, group);
    List<String> names = new ArrayList<>(covariances.keySet());
    Map<String, Double> fixed = new LinkedHashMap<>();
    for (Map.Entry<String, Double> e : o.knownVariances().entrySet()) {
      if (!names.contains(e.getKey())) {
        throw new BadInputException("--fix " + e.getKey() + ": with --resid-by " + column + " only the components "
            + names + " can be fixed (the residual has a variance per level)");
      }
      fixed.put(model.parameterNames().get(names.indexOf(e.getKey())), e.getValue());
    }
    long tFit = System.nanoTime();
    MixedModelFit fit = MixedModelFitter.fit(model, MixedModelFitter.Method.REML, fixed, o.maxIterations(),
        MixedModelFitter.Solver.DENSE);
    double seconds = (System.nanoTime() - tFit) / 1e9;
    log.add("--resid-by " + column + ": a residual variance per level; records per level: " + perLevel(levels, count));
    log.add("route: " + fit.route());
    log.add(String.format(Locale.ROOT, "REML (dense, residual per level): %s (%.3f s)", fit.message(), seconds));
    RemlJob.checkConvergence("REML", fit.converged(), fit.message(), o.out(), o.allowNonconvergence(), log,
        conf);
    List<ResidualLevelShares.Row> rows = ResidualLevelShares.rows(fit, names, levels);
    String hsq = hsq(rows, fit, levels, count);
    log.add(String.format(Locale.ROOT, "total time %.3f s", (System.nanoTime() - t0) / 1e9));
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("trait", in.design().trait());
    doc.put("solver", "dense");
    doc.put("route", fit.route());
    doc.put("converged", fit.converged());
    doc.put("iterations", fit.iterations());
    doc.put("message", fit.message());
    doc.put("fit_seconds", seconds);
    doc.put("n", fit.n());
    doc.put("resid_by", column);
    doc.put("records_per_level", perLevel(levels, count));
    List<Object> list = new ArrayList<>();
    for (ResidualLevelShares.Row r : rows) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", r.source());
      m.put("value", r.value());
      m.put("se", r.se());
      list.add(m);
    }
    doc.put("rows", list);
    doc.put("definitions", DEFINITIONS);
    doc.put("fixed_effects", fit.fixedNames());
    doc.put("beta", fit.beta());
    doc.put("beta_se", fit.betaSe());
    doc.put("logL", fit.logL());
    doc.put("logLik", fit.logLik());
    doc.put("command", o.commandLine());
    doc.put("version", RemlJob.version());
    RemlJob.writeFit(conf, o.out(), hsq, doc, log);
    return new RemlJob.Result(null, null, in, log, null, hsq, null);
  }

  static final String DEFINITIONS = "V(e_L): residual variance of level L; Vp_L = sum of the components' variances "
      + "+ V(e_L); V(k)/Vp_L = V(k) / Vp_L (per-level heritability, as ASReml reports per environment); SEs from the "
      + "inverse average information, ratios and sums by the delta method";

  static String hsq(List<ResidualLevelShares.Row> rows, MixedModelFit fit, List<String> levels, int[] count) {
    StringBuilder sb = new StringBuilder("Source\tVariance\tSE\n");
    for (ResidualLevelShares.Row r : rows) {
      sb.append(r.source()).append('\t').append(HsqFile.num(r.value())).append('\t').append(HsqFile.num(r.se()))
          .append('\n');
    }
    sb.append("logL\t").append(String.format(Locale.ROOT, "%.3f", fit.logL())).append('\n');
    sb.append("n\t").append(fit.n()).append('\n');
    for (int l = 0; l < levels.size(); l++) {
      sb.append("n_").append(levels.get(l)).append('\t').append(count[l]).append('\n');
    }
    return sb.toString();
  }

  private static Map<String, Integer> perLevel(List<String> levels, int[] count) {
    Map<String, Integer> m = new LinkedHashMap<>();
    for (int l = 0; l < levels.size(); l++) {
      m.put(levels.get(l), count[l]);
    }
    return m;
  }
}
