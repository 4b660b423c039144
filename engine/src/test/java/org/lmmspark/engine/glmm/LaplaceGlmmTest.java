package org.lmmspark.engine.glmm;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.testing.RefData;

/**
 * The Laplace GLMM against lme4's {@code glmer} (and glmmTMB, which agrees) on the reference cases
 * {@code lme4-grouseticks-count} (Poisson, two crossed intercepts) and {@code mass-bacteria-binary}
 * (logistic, one intercept). Values and tolerances are those of each case's EXPECTED.md, which says
 * why: logLik 1e-6 absolute (peers agree to 1e-9), β and variances 1e-5/1e-4 relative (the peers'
 * own spread on a flat likelihood), SE 1e-4 relative (finite-difference Hessian).
 */
class LaplaceGlmmTest {

  /** A CSV with a header, as the reference cases write it: column name → values. */
  static Map<String, List<String>> readCsv(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file);
    String[] header = lines.get(0).split(",");
    Map<String, List<String>> cols = new LinkedHashMap<>();
    for (String h : header) {
      cols.put(h, new ArrayList<>());
    }
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split(",", -1);
      for (int j = 0; j < header.length; j++) {
        cols.get(header[j]).add(f[j]);
      }
    }
    return cols;
  }

  static GlmmProblem.Term grouping(String name, List<String> labels) {
    Map<String, Integer> code = new LinkedHashMap<>();
    int[] level = new int[labels.size()];
    for (int i = 0; i < level.length; i++) {
      level[i] = code.computeIfAbsent(labels.get(i), k -> code.size());
    }
    return new GlmmProblem.Term(name, level, code.size(), null);
  }

  /** The grouseticks design {@code TICKS ~ YEAR + HEIGHT_SCALED} with the given grouping columns as intercepts. */
  static GlmmProblem grouseticks(String... groups) throws IOException {
    Map<String, List<String>> d = readCsv(RefData.dir("lme4-grouseticks-count").resolve("grouseticks.csv"));
    int n = d.get("TICKS").size();
    double[] y = new double[n];
    double[] x = new double[n * 4];
    for (int i = 0; i < n; i++) {
      y[i] = Double.parseDouble(d.get("TICKS").get(i));
      String year = d.get("YEAR").get(i);
      x[i] = 1;
      x[i + n] = year.equals("96") ? 1 : 0;
      x[i + 2 * n] = year.equals("97") ? 1 : 0;
      x[i + 3 * n] = Double.parseDouble(d.get("HEIGHT_SCALED").get(i));
    }
    List<GlmmProblem.Term> terms = new ArrayList<>();
    for (String g : groups) {
      terms.add(grouping(g, d.get(g)));
    }
    return new GlmmProblem(Family.POISSON_LOG, y, null, null, x,
        List.of("(Intercept)", "YEAR96", "YEAR97", "HEIGHT_SCALED"), terms);
  }

  @Test
  void grouseticksPoissonTwoInterceptsMatchesGlmer() throws IOException {
    GlmmFit fit = LaplaceGlmm.fit(grouseticks("BROOD", "LOCATION"));
    assertTrue(fit.converged(), fit.message());
    // EXPECTED.md section A, glmer(TICKS ~ YEAR + HEIGHT_SCALED + (1|BROOD) + (1|LOCATION), poisson,
    // bobyqa, tolPwrss = 1e-14).
    assertClose(fit.logLik(), -987.938153844, 1e-6, 0, "logLik");
    assertClose(fit.aic(), 1987.87630769, 1e-6, 0, "AIC");
    assertClose(fit.bic(), 2011.86992706, 1e-6, 0, "BIC");
    assertClose(fit.beta(), new double[] {0.466864618625, 1.16557852147, -0.977927224279, -0.846634050745}, 2e-5,
        1e-4, "beta");
    assertClose(fit.variances(), new double[] {0.592364647641, 0.329640419321}, 0, 1e-4, "variances");
    assertClose(fit.betaSe(), new double[] {0.19202273497, 0.229788291951, 0.254822578078, 0.124596200442}, 0, 1e-4,
        "SE(beta), Hessian");
    // vcov(m, use.hessian = FALSE): the PIRLS Cholesky at fixed θ.
    assertClose(fit.betaSeConditional(),
        new double[] {0.186759187873, 0.227626449794, 0.254522764966, 0.124025127069}, 0, 1e-4, "SE(beta), conditional");
  }

  @Test
  void grouseticksOtherLaplaceFitsMatchGlmer() throws IOException {
    // EXPECTED.md "Other Laplace fits" C: (1|BROOD) only.
    GlmmFit c = LaplaceGlmm.fit(grouseticks("BROOD"));
    assertClose(c.logLik(), -989.037740526, 1e-6, 0, "C logLik");
    assertClose(c.beta(), new double[] {0.509183039546, 1.13589486426, -1.00113400427, -0.858148927322}, 2e-5, 1e-4,
        "C beta");
    assertClose(c.variances()[0], 0.901921142604, 0, 1e-4, "C var BROOD");
    // E: with an observation-level effect (1|INDEX).
    GlmmFit e = LaplaceGlmm.fit(grouseticks("INDEX", "BROOD", "LOCATION"));
    assertClose(e.logLik(), -890.271330087, 1e-6, 0, "E logLik");
    assertClose(e.variances(), new double[] {0.293231783149, 0.56255076357, 0.279544446151}, 0, 1e-4, "E variances");
    assertClose(e.beta(), new double[] {0.372781800322, 1.1804099964, -0.978695754221, -0.854347144385}, 2e-5, 1e-4,
        "E beta");
  }

  @Test
  void bacteriaLogisticInterceptMatchesGlmer() throws IOException {
    Path dir = RefData.dir("mass-bacteria-binary");
    Map<String, List<String>> d = readCsv(dir.resolve("bacteria.csv"));
    int n = d.get("y").size();
    double[] y = new double[n];
    double[] x = new double[n * 4];
    for (int i = 0; i < n; i++) {
      y[i] = Double.parseDouble(d.get("y").get(i));
      String trt = d.get("trt").get(i);
      x[i] = 1;
      x[i + n] = trt.equals("drug") ? 1 : 0;
      x[i + 2 * n] = trt.equals("drug+") ? 1 : 0;
      x[i + 3 * n] = Double.parseDouble(d.get("week_gt2").get(i));
    }
    GlmmProblem problem = new GlmmProblem(Family.BINOMIAL_LOGIT, y, null, null, x,
        List.of("(Intercept)", "trtdrug", "trtdrug+", "week_gt2"), List.of(grouping("ID", d.get("ID"))));
    GlmmFit fit = LaplaceGlmm.fit(problem);
    assertTrue(fit.converged(), fit.message());
    // EXPECTED.md "Laplace (A: glmer)": glmer(y ~ trt + week_gt2 + (1 | ID), binomial, bobyqa, tolPwrss = 1e-14).
    assertClose(fit.logLik(), -96.130686818, 1e-6, 0, "logLik");
    assertClose(fit.aic(), 202.261373636, 1e-6, 0, "AIC");
    assertClose(fit.bic(), 219.229511368, 1e-6, 0, "BIC");
    assertClose(fit.beta(), new double[] {3.54809343889, -1.36672786257, -0.782711614107, -1.59853341966}, 0, 1e-5,
        "beta");
    assertClose(fit.variances()[0], 1.54359487085, 0, 1e-5, "var ID");
    assertClose(fit.betaSe(), new double[] {0.696171703574, 0.677136323763, 0.68325492771, 0.476009094291}, 0, 1e-4,
        "SE(beta), Hessian");
    assertClose(fit.betaSeConditional(), new double[] {0.590467784923, 0.656565175668, 0.668639981869, 0.461217621254},
        0, 1e-4, "SE(beta), conditional");
  }
}
