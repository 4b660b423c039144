package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.model.MixedModelFitter.Method;

/**
 * Simulated truth: a random-regression (reaction-norm) model with a residual variance per
 * environment, {@code y = 1 + 0.5x + a_g + b_g x + e}, {@code (a, b) ~ N(0, Σ)} with
 * {@code Σ = [[1.0, 0.3], [0.3, 0.4]]}, {@code e ~ N(0, σ²_env)} with σ² = 0.5 (env A) and 1.5
 * (env B); 120 groups × 8 records, x on 8 levels in [−1, 1]. Over 40 seeded replicates the mean of
 * each REML estimate must lie within 2 of its standard errors (SD/√R) of the truth; REML is unbiased
 * to first order for these parameters.
 */
class ReactionNormSimulatedTruthTest {

  @Test
  void remlEstimatesAreCentredOnTheTruth() {
    int reps = 40;
    double[] truth = {1.0, 0.3, 0.4, 0.5, 1.5};
    String[] names = {"g:(Intercept)", "g:(Intercept),x", "g:x", "residual:env=A", "residual:env=B"};
    double[][] est = new double[names.length][reps];
    Random rnd = new Random(2024);
    for (int rep = 0; rep < reps; rep++) {
      List<String[]> rows = new ArrayList<>();
      for (int g = 0; g < 120; g++) {
        double a = rnd.nextGaussian();
        // b | a: cov 0.3 with var(a) 1, var(b) 0.4.
        double b = 0.3 * a + Math.sqrt(0.4 - 0.09) * rnd.nextGaussian();
        for (int k = 0; k < 8; k++) {
          double x = -1 + 2.0 * k / 7;
          boolean envB = k % 2 == 1;
          double y = 1 + 0.5 * x + a + b * x + Math.sqrt(envB ? 1.5 : 0.5) * rnd.nextGaussian();
          rows.add(new String[] {"g" + g, envB ? "B" : "A", Double.toString(x), Double.toString(y)});
        }
      }
      DataTable t = DataTable.of("sim", List.of("g", "env", "x", "y"), rows);
      MixedModel model = ModelFrame.build(t, Formula.parse("y ~ x + (1 + x | g)"),
          new ModelFrame.Options(Map.of(), java.util.Set.of(), "env", null, Map.of()));
      MixedModelFit f = MixedModelFitter.fit(model, Method.REML, Map.of(), 200);
      assertTrue(f.converged(), f.message());
      for (int j = 0; j < names.length; j++) {
        est[j][rep] = f.parameter(names[j]);
      }
    }
    for (int j = 0; j < names.length; j++) {
      double mean = 0;
      for (double v : est[j]) {
        mean += v / reps;
      }
      double ss = 0;
      for (double v : est[j]) {
        ss += (v - mean) * (v - mean);
      }
      double se = Math.sqrt(ss / (reps - 1) / reps);
      System.out.printf("%s: truth %.3f, mean of %d estimates %.4f (SE %.4f)%n", names[j], truth[j], reps, mean, se);
      assertTrue(Math.abs(mean - truth[j]) <= 2 * se, names[j] + ": mean " + mean + " vs truth " + truth[j]
          + " (SE " + se + ")");
    }
  }
}
