package org.lmmspark.engine.reml;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Additive + epistatic + grouping components recovered from data simulated with known variances:
 * y = 1 + u_a + u_aa + u_batch + e with u_a ~ N(0, σ²_a K), u_aa ~ N(0, σ²_aa K∘K), u_batch a random
 * intercept for 40 batches, on a three-generation population (n = 800) so that K and K∘K differ.
 * Each estimate must lie within 3 of its standard errors of the truth (fixed seed).
 */
class SimulatedTruthRemlTest {

  @Test
  void estimatesWithinSamplingErrorOfTheTruth() {
    Random rnd = new Random(7);
    // 100 founders, 200 children, 600 grandchildren in sibships of 6.
    double[] k = Simulated.grm(Simulated.pedigreeGenotypes(100, 4, 6, 2000, rnd));
    int n = (int) Math.round(Math.sqrt(k.length));
    DenseSymmetricMatrix a = new DenseSymmetricMatrix(n, k);
    DenseSymmetricMatrix aa = Components.epistatic(a);
    String[] batch = new String[n];
    for (int i = 0; i < n; i++) {
      batch[i] = "batch" + rnd.nextInt(40);
    }
    GroupingOperator g = Components.grouping(batch);
    double[] truth = {0.4, 0.3, 0.2, 0.5};
    double[] ua = Simulated.draw(k, n, truth[0], rnd);
    double[] uaa = Simulated.draw(aa.toDense(), n, truth[1], rnd);
    double[] ub = Simulated.draw(g.toDense(), n, truth[2], rnd);
    double[] y = new double[n];
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      y[i] = 1 + ua[i] + uaa[i] + ub[i] + Math.sqrt(truth[3]) * rnd.nextGaussian();
    }
    RemlProblem prob = new RemlProblem(y, x, List.of("intercept"), List.of(new VarianceComponent("G", a),
        new VarianceComponent("GxG", aa), new VarianceComponent("batch", g)));
    long t0 = System.nanoTime();
    RemlFit fit = new AiReml().fit(prob);
    System.out.printf("n=%d AI-REML %.2fs %s%n", n, (System.nanoTime() - t0) / 1e9, fit.message());
    assertTrue(fit.converged(), fit.message());
    for (int c = 0; c < truth.length; c++) {
      double z = (fit.theta()[c] - truth[c]) / fit.se(c);
      System.out.printf("  θ_%d = %.4f (SE %.4f), truth %.2f, z = %.2f%n", c, fit.theta()[c], fit.se(c), truth[c], z);
      assertTrue(Math.abs(z) < 3, "component " + c + " estimate " + fit.theta()[c] + " is " + z + " SE from truth " + truth[c]);
      // Guard against a vacuous test: each SE must be below its true value (epistatic variance is the
      // least identifiable, SE ≈ 0.2 here), so a wrong estimate (e.g. a component stuck at 0) can fail.
      assertTrue(fit.se(c) < truth[c], "SE " + fit.se(c) + " of component " + c + " too large to test");
    }
  }
}
