package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.model.MixedModelFitter.Method;
import org.lmmspark.engine.reml.BlockedDenseLikelihood;
import org.lmmspark.engine.testing.RefData;

/**
 * The conditional AIC from the random-effect space ({@link LevelBlocks}, used after a sparse fit) equals
 * the one from the blocks of V ({@link BlockedDenseLikelihood}, written plainly over V_b⁻¹), which the
 * sleepstudy test checks against cAIC4: same cAIC, effective df and conditional log-likelihood to 1e-8
 * relative (both are direct, non-iterative computations at the same θ; the difference is rounding),
 * REML and ML, on simulated crossed factors with a residual variance per group and known weights, on
 * sleepstudy, and at a singular Σ (correlation 1, where G⁻¹ does not exist).
 */
class LevelBlocksTest {

  static void assertSameCaic(MixedModel model, Method method, double[] theta, String what) {
    int m = model.parameters();
    boolean[] none = new boolean[m];
    boolean reml = method == Method.REML;
    LevelBlocks level = LevelBlocks.of(model, theta, reml);
    assertNotNull(level, what + ": no level-space blocks");
    ConditionalAic a = ConditionalAic.compute(model, level, theta, none, none);
    BlockedDenseLikelihood lik = new BlockedDenseLikelihood(model.y(), model.x(), model.p(), model.blocks(), model,
        reml);
    ConditionalAic b = ConditionalAic.compute(model, lik, lik.state(theta), theta, none, none);
    assertClose(a.caic(), b.caic(), 0, 1e-8, what + " cAIC");
    assertClose(a.df(), b.df(), 0, 1e-8, what + " df");
    assertClose(a.conditionalLogLik(), b.conditionalLogLik(), 0, 1e-8, what + " conditional logLik");
  }

  @Test
  void crossedFactorsWithResidualGroupsAndWeights() {
    DataTable table = FitRoutesTest.simulate(7);
    ModelFrame.Options options = new ModelFrame.Options(Map.of(), Set.of(), "env", "w", Map.of());
    MixedModel model = ModelFrame.build(table, Formula.parse("y ~ t + (1 + t | subject) + (1 | site)"), options);
    for (Method method : Method.values()) {
      MixedModelFit fit = MixedModelFitter.fit(model, method, Map.of(), MixedModelFitter.DEFAULT_MAX_ITERATIONS);
      assertSameCaic(model, method, fit.theta(), "crossed " + method);
    }
  }

  @Test
  void sleepstudyAndASingularCovariance() {
    Path dir = RefData.dir("lme4-sleepstudy");
    DataTable table = DataTable.read(dir.resolve("sleepstudy.csv").toString(), new Configuration());
    for (String formula : new String[] {"Reaction ~ Days + (Days | Subject)", "Reaction ~ Days + (Days || Subject)"}) {
      MixedModel model = ModelFrame.build(table, Formula.parse(formula), ModelFrame.Options.defaults());
      for (Method method : Method.values()) {
        MixedModelFit fit = MixedModelFitter.fit(model, method, Map.of(), MixedModelFitter.DEFAULT_MAX_ITERATIONS);
        assertSameCaic(model, method, fit.theta(), formula + " " + method);
      }
    }
    MixedModel model = ModelFrame.build(table, Formula.parse("Reaction ~ Days + (Days | Subject)"),
        ModelFrame.Options.defaults());
    // Σ = [[600, 60], [60, 6]]: correlation 1, rank 1.
    assertSameCaic(model, Method.REML, new double[] {600, 60, 6, 650}, "singular Σ");
  }
}
