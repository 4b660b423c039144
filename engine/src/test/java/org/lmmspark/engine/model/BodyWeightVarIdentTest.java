package org.lmmspark.engine.model;

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
 * {@code ../shared/refdata/nlme-bodyweight-varident}: random intercept and slope per rat with a
 * residual variance per diet (nlme {@code varIdent(form = ~1 | Diet)}), REML and ML, and the
 * homoscedastic fits, against nlme 3.1-162 ({@code peer_script.R}:
 * {@code lme(weight ~ Time * Diet, random = ~ Time | Rat, weights = varIdent(form = ~ 1 | Diet))}).
 * Tolerances as EXPECTED.md states them: logLik and AIC 1e-6 absolute, β 1e-7 relative, SE(β) and
 * variance parameters 1e-5 relative.
 */
class BodyWeightVarIdentTest {

  static MixedModelFit fit(boolean varIdent, Method method) {
    Path dir = RefData.dir("nlme-bodyweight-varident");
    DataTable table = DataTable.read(dir.resolve("bodyweight.csv").toString(), new Configuration());
    ModelFrame.Options o = new ModelFrame.Options(Map.of(), Set.of("Diet"), varIdent ? "Diet" : null, null, Map.of());
    MixedModel model = ModelFrame.build(table, Formula.parse("weight ~ Time * Diet + (Time | Rat)"), o);
    MixedModelFit f = MixedModelFitter.fit(model, method, Map.of(), MixedModelFitter.DEFAULT_MAX_ITERATIONS);
    System.out.println("bodyweight varIdent=" + varIdent + " " + method + ": " + java.util.Arrays.toString(f.theta())
        + " logLik " + f.logLik() + "; " + f.message());
    assertTrue(f.converged(), f.message());
    return f;
  }

  static final double[] BETA = {251.651651561, 0.359639113344, 200.66548646, 252.071677768, 0.605839157021,
      0.298337519109};

  @Test
  void varIdentReml() {
    MixedModelFit f = fit(true, Method.REML);
    assertTrue(f.fixedNames().equals(java.util.List.of("(Intercept)", "Time", "Diet2", "Diet3", "Time:Diet2",
        "Time:Diet3")), f.fixedNames().toString());
    // A (REML): β, SE(β)
    assertClose(f.beta(), BETA, 0, 1e-7, "beta");
    assertClose(f.betaSe(), new double[] {13.055627596, 0.0888783326101, 22.6229946738, 22.6549934216,
        0.154914263951, 0.15799344177}, 0, 1e-5, "SE(beta)");
    // var intercept 1358.79589881, var slope 0.0600031971428, cov −1.25426314845; residual variance per Diet
    // 13.2860389236, 18.2872252666, 34.3303506465
    assertClose(f.parameter("Rat:(Intercept)"), 1358.79589881, 0, 1e-5, "var intercept");
    assertClose(f.parameter("Rat:Time"), 0.0600031971428, 0, 1e-5, "var slope");
    assertClose(f.parameter("Rat:(Intercept),Time"), -1.25426314845, 0, 1e-5, "cov");
    assertClose(new double[] {f.parameter("residual:Diet=1"), f.parameter("residual:Diet=2"),
        f.parameter("residual:Diet=3")}, new double[] {13.2860389236, 18.2872252666, 34.3303506465}, 0, 1e-5,
        "residual variances");
    // logLik −569.980273521 (REML), AIC 1163.96054704 (12 parameters), BIC 1201.59012829 (nlme: n − p)
    assertClose(f.logLik(), -569.980273521, 1e-6, 0, "logLik (nlme REML)");
    assertTrue(f.df() == 12, "df " + f.df());
    assertClose(-2 * f.logLik() + 2 * f.df(), 1163.96054704, 1e-6, 0, "AIC");
    assertClose(f.bicNlme(), 1201.59012829, 1e-6, 0, "BIC (nlme)");
  }

  @Test
  void varIdentMl() {
    MixedModelFit f = fit(true, Method.ML);
    assertClose(f.beta(), BETA, 0, 1e-7, "beta");
    assertClose(f.betaSe(), new double[] {11.7612705892, 0.0797198310723, 20.3824447069, 20.4178118438,
        0.139185923753, 0.142591476134}, 0, 1e-5, "SE(beta)");
    assertClose(f.parameter("Rat:(Intercept)"), 1101.82898205, 0, 1e-5, "var intercept");
    assertClose(f.parameter("Rat:Time"), 0.0476559918794, 0, 1e-5, "var slope");
    assertClose(f.parameter("Rat:(Intercept),Time"), -0.972499952912, 0, 1e-5, "cov");
    assertClose(new double[] {f.parameter("residual:Diet=1"), f.parameter("residual:Diet=2"),
        f.parameter("residual:Diet=3")}, new double[] {13.2625317216, 18.3738108749, 34.3521513651}, 0, 1e-5,
        "residual variances");
    assertClose(f.logLik(), -577.018921709, 1e-6, 0, "logLik (ML)");
    assertClose(f.aic(), 1178.03784342, 1e-6, 0, "AIC");
    assertClose(f.bic(), 1216.08365136, 1e-6, 0, "BIC");
  }

  @Test
  void homoscedasticAndLrt() {
    // C: REML logLik −575.85987441 (lme4 REML criterion 1151.71974882), var intercept 1364.49506054,
    // var slope 0.0617081841607, cov −1.36791180851, σ 4.44360524042
    MixedModelFit c = fit(false, Method.REML);
    assertClose(c.logLik(), -575.85987441, 1e-6, 0, "logLik (nlme REML)");
    assertClose(c.parameter("Rat:(Intercept)"), 1364.49506054, 0, 1e-5, "var intercept");
    assertClose(c.parameter("Rat:Time"), 0.0617081841607, 0, 1e-5, "var slope");
    assertClose(c.parameter("Rat:(Intercept),Time"), -1.36791180851, 0, 1e-5, "cov");
    assertClose(Math.sqrt(c.parameter("residual")), 4.44360524042, 0, 1e-5, "sigma");
    // D: ML logLik −582.929079965
    MixedModelFit d = fit(false, Method.ML);
    assertClose(d.logLik(), -582.929079965, 1e-6, 0, "logLik (ML)");
    // LRT varIdent vs homoscedastic: REML 2Δ = 11.7592 on 2 df (p 0.0028); ML 11.82032 (p 0.0027)
    LikelihoodRatioTest reml = LikelihoodRatioTest.compare(LikelihoodRatioTest.Model.of(c),
        LikelihoodRatioTest.Model.of(fit(true, Method.REML)));
    assertClose(reml.chiSquared(), 11.7592, 1e-4, 0, "REML L.Ratio");
    assertTrue(reml.df() == 2);
    assertClose(reml.pValue(), 0.0028, 1e-4, 0, "REML p");
    LikelihoodRatioTest ml = LikelihoodRatioTest.compare(LikelihoodRatioTest.Model.of(d),
        LikelihoodRatioTest.Model.of(fit(true, Method.ML)));
    assertClose(ml.chiSquared(), 11.82032, 1e-5, 0, "ML L.Ratio");
    assertClose(ml.pValue(), 0.0027, 1e-4, 0, "ML p");
  }
}
