package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.model.MixedModelFitter.Method;
import org.lmmspark.engine.testing.RefData;

/**
 * {@code ../shared/refdata/lme4-arabidopsis-gxe}: genotype reaction norms on a numeric environment
 * (nutrient 1 or 8), uncorrelated and correlated, REML and ML, against lme4 1.1-31 with bobyqa at
 * rhoend 1e-12 (and nlme 3.1-162) as {@code peer_script.R} ran them; amd's reference level is
 * "unclipped" ({@code --ref-level amd=unclipped}), rack a factor. Tolerances as EXPECTED.md states:
 * logLik/AIC 1e-6 absolute; β 1e-6 relative; SE(β) 1e-5; variance components 1e-5 (2e-5 for the
 * correlated model C); the ML correlated fit E is on the boundary: logLik 1e-6, |corr| ≥ 0.9999.
 */
class ArabidopsisGxeTest {

  static MixedModelFit fit(String random, Method method) {
    Path dir = RefData.dir("lme4-arabidopsis-gxe");
    DataTable table = DataTable.read(dir.resolve("arabidopsis.csv").toString(), new Configuration());
    ModelFrame.Options o = new ModelFrame.Options(Map.of("amd", "unclipped"), Set.of("rack"), null, null, Map.of());
    MixedModel model = ModelFrame.build(table, Formula.parse("y ~ nutrient + amd + rack + " + random), o);
    MixedModelFit f = MixedModelFitter.fit(model, method, Map.of(), MixedModelFitter.DEFAULT_MAX_ITERATIONS);
    System.out.println("arabidopsis " + random + " " + method + ": " + java.util.Arrays.toString(f.theta())
        + " logLik " + f.logLik() + " singular " + f.singularTerms() + "; " + f.message());
    assertTrue(f.converged(), f.message());
    assertTrue(f.fixedNames().equals(java.util.List.of("(Intercept)", "nutrient", "amdclipped", "rack2")),
        f.fixedNames().toString());
    return f;
  }

  @Test
  void uncorrelatedReactionNormReml() {
    // A: lmer(y ~ nutrient + amd + rack + (1 | gen) + (0 + nutrient | gen)), REML
    MixedModelFit f = fit("(1 | gen) + (0 + nutrient | gen)", Method.REML);
    assertClose(f.beta(), new double[] {2.17852400832, 0.190580760593, -0.32128640344, -0.747007227004}, 0, 1e-6,
        "beta");
    assertClose(f.betaSe(), new double[] {0.159476617435, 0.0191428369973, 0.097223314932, 0.0974936965909}, 0, 1e-5,
        "SE(beta)");
    assertClose(f.parameter("gen:(Intercept)"), 0.336821605385, 0, 1e-5, "σ²_a");
    assertClose(f.parameter("gen:nutrient"), 0.00375156041337, 0, 1e-5, "σ²_b");
    assertClose(f.parameter("residual"), 1.46648194788, 0, 1e-5, "σ²_e");
    // logLik −1041.92101167 (REML criterion 2083.84202334), AIC 2097.84202334, BIC 2128.90628489 (lme4, n)
    assertClose(f.logLik(), -1041.92101167, 1e-6, 0, "REML logLik");
    assertClose(f.aic(), 2097.84202334, 1e-6, 0, "AIC");
    assertClose(f.bic(), 2128.90628489, 1e-6, 0, "BIC (lme4)");
    assertClose(f.bicNlme(), 2128.86134091, 1e-6, 0, "BIC (nlme, n − p)");
  }

  @Test
  void uncorrelatedReactionNormMl() {
    MixedModelFit f = fit("(1 | gen) + (0 + nutrient | gen)", Method.ML);
    assertClose(f.beta(), new double[] {2.17902970812, 0.19036390374, -0.321450857852, -0.747059457655}, 0, 1e-6,
        "beta");
    assertClose(f.betaSe(), new double[] {0.157341786577, 0.0188635542412, 0.09701153801, 0.0972778316842}, 0, 1e-5,
        "SE(beta)");
    assertClose(f.parameter("gen:(Intercept)"), 0.322125441389, 0, 1e-5, "σ²_a");
    assertClose(f.parameter("gen:nutrient"), 0.00353221046255, 0, 1e-5, "σ²_b");
    assertClose(f.parameter("residual"), 1.46022168041, 0, 1e-5, "σ²_e");
    assertClose(f.logLik(), -1034.97323336, 1e-6, 0, "ML logLik");
    assertClose(f.aic(), 2083.94646672, 1e-6, 0, "AIC");
    assertClose(f.bic(), 2115.01072827, 1e-6, 0, "BIC");
  }

  @Test
  void correlatedReactionNormReml() {
    // C: (1 + nutrient | gen), REML: corr 0.918 (interior)
    MixedModelFit f = fit("(1 + nutrient | gen)", Method.REML);
    assertClose(f.beta(), new double[] {2.19188685809, 0.188954915679, -0.325258079757, -0.747131945841}, 0, 1e-6,
        "beta");
    assertClose(f.parameter("gen:(Intercept)"), 0.239780015797, 0, 2e-5, "σ²_a");
    assertClose(f.parameter("gen:nutrient"), 0.00203524254811, 0, 2e-5, "σ²_b");
    assertClose(f.parameter("gen:(Intercept),nutrient"), 0.0202817500123, 0, 2e-5, "cov");
    assertClose(f.parameter("residual"), 1.47802334715, 0, 2e-5, "σ²_e");
    assertClose(f.logLik(), -1040.603019, 1e-6, 0, "REML logLik");
    assertFalse(f.isSingular(), "interior optimum reported as singular");
  }

  @Test
  void correlatedReactionNormMlIsABoundaryFit() {
    // E: lme4 corr = 1 (rank-1 G, isSingular TRUE), logLik −1033.46657764
    MixedModelFit f = fit("(1 + nutrient | gen)", Method.ML);
    assertClose(f.logLik(), -1033.46657764, 1e-6, 0, "ML logLik at the boundary");
    double corr = f.parameter("gen:(Intercept),nutrient")
        / Math.sqrt(f.parameter("gen:(Intercept)") * f.parameter("gen:nutrient"));
    assertTrue(Math.abs(corr) >= 0.9999, "corr " + corr);
    assertTrue(f.singularTerms().contains("gen"), "singular terms " + f.singularTerms());
  }

  @Test
  void interceptOnlyAndSlopeVarianceLrt() {
    // F: (1 | gen), REML: σ²_gen 0.481134510193, σ²_e 1.50803071685, logLik −1046.07510678
    MixedModelFit f = fit("(1 | gen)", Method.REML);
    assertClose(f.parameter("gen:(Intercept)"), 0.481134510193, 0, 1e-5, "σ²_gen");
    assertClose(f.parameter("residual"), 1.50803071685, 0, 1e-5, "σ²_e");
    assertClose(f.logLik(), -1046.07510678, 1e-6, 0, "REML logLik");
    // REML LRT for σ²_b (A vs F): 2Δ = 8.30819022, one variance at its boundary: ½χ²₀ + ½χ²₁
    MixedModelFit a = fit("(1 | gen) + (0 + nutrient | gen)", Method.REML);
    LikelihoodRatioTest lrt = LikelihoodRatioTest.compare(LikelihoodRatioTest.Model.of(f),
        LikelihoodRatioTest.Model.of(a));
    assertClose(lrt.chiSquared(), 8.30819022, 2e-6, 0, "2Δ");
    assertClose(lrt.boundaryPValue(), 0.5 * lrt.pValue(), 0, 1e-12, "mixture p = ½ P(χ²₁ > 2Δ)");
  }
}
