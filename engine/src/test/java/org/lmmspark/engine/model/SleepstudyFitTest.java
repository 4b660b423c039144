package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.model.MixedModelFitter.Method;
import org.lmmspark.engine.testing.RefData;

/**
 * {@code ../shared/refdata/lme4-sleepstudy}: every row of its EXPECTED.md (R 4.2.2, lme4 1.1-31,
 * cAIC4 1.0), at 1e-5 relative as it states, except the variance parameters of the correlated model:
 * there lme4's own estimates are off the optimum by up to 6.8e-5 relative (its optimizer stops on a
 * flat surface: the criterion agrees to 1e-9). Sleepstudy is balanced (10 days per subject, Days in
 * both X and Z), so the REML and ML optima have a closed form from per-subject least squares
 * (written plainly in {@link #closedForm}); against it the estimates are checked at 1e-8, and against
 * lme4 at 1e-4.
 */
class SleepstudyFitTest {
  static final double REL = 1e-5;
  /** lme4's variance estimates of the correlated model: its optimizer's precision (see the class doc). */
  static final double LME4_THETA = 1e-4;

  /**
   * Balanced random-coefficient model: with b_i the per-subject OLS coefficients and S their sample
   * covariance, σ̂² = pooled within-subject RSS/(n − 2L) under REML and ML alike, and
   * Σ̂ = S·(L−1)/L^[ML] − σ̂²(X_iᵀX_i)⁻¹ (interior optimum). Returns {Σ11, Σ21, Σ22, σ²}.
   */
  static double[] closedForm(boolean ml) {
    Path dir = RefData.dir("lme4-sleepstudy");
    DataTable t = DataTable.read(dir.resolve("sleepstudy.csv").toString(), new Configuration());
    double[] days = t.numeric("Days");
    double[] y = t.numeric("Reaction");
    String[] subject = t.raw("Subject");
    java.util.Map<String, java.util.List<Integer>> rows = new java.util.LinkedHashMap<>();
    for (int i = 0; i < y.length; i++) {
      rows.computeIfAbsent(subject[i], k -> new java.util.ArrayList<>()).add(i);
    }
    int l = rows.size();
    double[][] b = new double[l][];
    double rss = 0;
    double sxx = 0;
    double sx = 0;
    double m = 0;
    int s = 0;
    for (java.util.List<Integer> r : rows.values()) {
      sx = 0;
      sxx = 0;
      double sy = 0;
      double sxy = 0;
      m = r.size();
      for (int i : r) {
        sx += days[i];
        sxx += days[i] * days[i];
        sy += y[i];
        sxy += days[i] * y[i];
      }
      double slope = (sxy - sx * sy / m) / (sxx - sx * sx / m);
      double icpt = (sy - slope * sx) / m;
      for (int i : r) {
        double e = y[i] - icpt - slope * days[i];
        rss += e * e;
      }
      b[s++] = new double[] {icpt, slope};
    }
    double s2 = rss / (y.length - 2 * l);
    double[] mean = new double[2];
    for (double[] bi : b) {
      mean[0] += bi[0] / l;
      mean[1] += bi[1] / l;
    }
    double[] cov = new double[3];
    for (double[] bi : b) {
      cov[0] += (bi[0] - mean[0]) * (bi[0] - mean[0]);
      cov[1] += (bi[1] - mean[1]) * (bi[0] - mean[0]);
      cov[2] += (bi[1] - mean[1]) * (bi[1] - mean[1]);
    }
    double div = ml ? l : l - 1;
    // (X_iᵀX_i)⁻¹ = [sxx, −sx; −sx, m] / (m sxx − sx²), the same for every subject (same days).
    double det = m * sxx - sx * sx;
    return new double[] {cov[0] / div - s2 * sxx / det, cov[1] / div + s2 * sx / det, cov[2] / div - s2 * m / det, s2};
  }

  static void assertTheta(MixedModelFit f, double[] expected, double rel, String what) {
    assertClose(new double[] {f.parameter("Subject:(Intercept)"), f.parameter("Subject:(Intercept),Days"),
        f.parameter("Subject:Days"), f.parameter("residual")}, expected, 0, rel, what);
  }

  static MixedModelFit fit(String formula, Method method) {
    Path dir = RefData.dir("lme4-sleepstudy");
    DataTable table = DataTable.read(dir.resolve("sleepstudy.csv").toString(), new Configuration());
    MixedModel model = ModelFrame.build(table, Formula.parse(formula), ModelFrame.Options.defaults());
    MixedModelFit fit = MixedModelFitter.fit(model, method, Map.of(), MixedModelFitter.DEFAULT_MAX_ITERATIONS);
    System.out.println(formula + " " + method + ": " + java.util.Arrays.toString(fit.theta()) + " logLik "
        + fit.logLik() + " cAIC " + fit.caic() + "; " + fit.message());
    assertTrue(fit.converged(), fit.message());
    return fit;
  }

  @Test
  void correlatedSlopesReml() {
    // lmer(Reaction ~ Days + (Days | Subject), REML = TRUE)
    MixedModelFit f = fit("Reaction ~ Days + (Days | Subject)", Method.REML);
    // fixef: 251.40510485 10.46728596; SE 6.824596695 1.545789644
    assertClose(f.beta(), new double[] {251.40510485, 10.46728596}, 0, REL, "beta");
    assertClose(f.betaSe(), new double[] {6.824596695, 1.545789644}, 0, REL, "SE(beta)");
    // VarCorr: Subject (Intercept) 612.100158025, Days 35.071714451, cov 9.604408951, Residual 654.940008260
    assertTheta(f, new double[] {612.100158025, 9.604408951, 35.071714451, 654.940008260}, LME4_THETA, "lme4 REML");
    assertTheta(f, closedForm(false), 1e-8, "closed-form REML");
    // REML criterion (-2 logLik_REML): 1743.628272; AIC (REML-based, as lme4 prints): 1755.628272
    assertClose(f.deviance(), 1743.628272, 0, REL, "REML criterion");
    assertClose(f.aic(), 1755.628272, 0, REL, "REML AIC");
    // cAIC4::cAIC: loglikelihood -824.5068911, df 31.30197993, caic 1711.617742
    assertClose(f.caic().conditionalLogLik(), -824.5068911, 0, REL, "conditional logLik");
    assertClose(f.caic().df(), 31.30197993, 0, REL, "cAIC df");
    assertClose(f.caic().caic(), 1711.617742, 0, REL, "cAIC");
  }

  @Test
  void correlatedSlopesMl() {
    // lmer(..., REML = FALSE): logLik -875.9696722, AIC 1763.939344, BIC 1783.097086
    MixedModelFit f = fit("Reaction ~ Days + (Days | Subject)", Method.ML);
    assertClose(f.beta(), new double[] {251.40510485, 10.46728596}, 0, REL, "beta");
    // VarCorr (ML): 565.47696613, 32.68178525, cov 11.05512239, residual 654.94570576
    assertTheta(f, new double[] {565.47696613, 11.05512239, 32.68178525, 654.94570576}, LME4_THETA, "lme4 ML");
    assertTheta(f, closedForm(true), 1e-8, "closed-form ML");
    assertClose(f.logLik(), -875.9696722, 0, REL, "logLik");
    assertClose(f.aic(), 1763.939344, 0, REL, "AIC");
    assertClose(f.bic(), 1783.097086, 0, REL, "BIC");
  }

  @Test
  void interceptOnly() {
    // lmer(Reaction ~ Days + (1 | Subject)): 1378.1785138, residual 960.4565786, REML criterion 1786.465085;
    // cAIC 1767.11826 (df 19.02962967, conditional logLik -864.5295004)
    MixedModelFit f = fit("Reaction ~ Days + (1 | Subject)", Method.REML);
    assertClose(f.parameter("Subject:(Intercept)"), 1378.1785138, 0, REL, "var intercept");
    assertClose(f.parameter("residual"), 960.4565786, 0, REL, "residual");
    assertClose(f.deviance(), 1786.465085, 0, REL, "REML criterion");
    assertClose(f.caic().df(), 19.02962967, 0, REL, "cAIC df");
    assertClose(f.caic().conditionalLogLik(), -864.5295004, 0, REL, "conditional logLik");
    assertClose(f.caic().caic(), 1767.11826, 0, REL, "cAIC");
  }

  @Test
  void uncorrelatedSlopes() {
    // lmer(Reaction ~ Days + (1|Subject) + (0+Days|Subject)): 627.56905084, 35.85837964, 653.58350065,
    // REML criterion 1743.669294. The double-bar form expands to the same two terms.
    for (String formula : new String[] {"Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)",
        "Reaction ~ Days + (Days || Subject)"}) {
      MixedModelFit f = fit(formula, Method.REML);
      assertClose(f.parameter("Subject:(Intercept)"), 627.56905084, 0, REL, "var intercept");
      assertClose(f.parameter("Subject:Days"), 35.85837964, 0, REL, "var slope");
      assertClose(f.parameter("residual"), 653.58350065, 0, REL, "residual");
      assertClose(f.deviance(), 1743.669294, 0, REL, "REML criterion");
    }
  }

  @Test
  void likelihoodRatioOfMlRefits() {
    // anova(m0, m): m0 logLik -897.03932 (4 params), m -875.96967 (6); Chisq 42.1393 on 2 df, p 7.0724e-10
    MixedModelFit big = fit("Reaction ~ Days + (Days | Subject)", Method.ML);
    MixedModelFit small = fit("Reaction ~ Days + (1 | Subject)", Method.ML);
    assertClose(small.logLik(), -897.03932, 0, REL, "m0 logLik");
    LikelihoodRatioTest lrt = LikelihoodRatioTest.compare(LikelihoodRatioTest.Model.of(small),
        LikelihoodRatioTest.Model.of(big));
    assertClose(lrt.chiSquared(), 42.1393, 0, REL, "Chisq");
    assertTrue(lrt.df() == 2, "df " + lrt.df());
    assertClose(lrt.pValue(), 7.0724e-10, 0, 1e-4, "p (anova, χ² on 2 df; printed to 5 digits)");
    // One variance and one covariance added: the 50:50 mixture of χ²₁ and χ²₂ (Stram & Lee 1994) is smaller.
    assertTrue(lrt.boundaryPValue() < lrt.pValue(), "mixture p " + lrt.boundaryPValue());
  }
}
