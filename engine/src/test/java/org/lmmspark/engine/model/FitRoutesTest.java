package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.model.MixedModelFitter.Method;
import org.lmmspark.engine.model.MixedModelFitter.Solver;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.pedigree.Pedigree;
import org.junit.jupiter.api.Assertions;

/**
 * The two routes of {@code fit} — the sparse mixed-model equations and the dense blocks of V — give
 * the same fit of the same model: variance parameters and their SEs, β̂ and SEs, both log-likelihoods,
 * AIC, cAIC, BLUPs and PEVs of every level (ancestors without records included), for REML and ML, on
 * simulated data with crossed factors, correlated slopes, a residual variance per group, known weights
 * and a pedigree. Each route's likelihood is checked against the dense definition elsewhere
 * ({@link MmeLikelihoodTest}, {@code RelationshipTermsBruteForceTest}); this test checks that the
 * summaries built on each agree. Tolerance 1e-6 relative (two iterative fits that stop at
 * {@code |Δℓ| < 1e-8}); BLUPs and PEVs 1e-6 absolute on values of order 1.
 */
class FitRoutesTest {

  /** y = 1 + 0.5 t + u_subject(1, t) + v_site + a_animal + e, e's variance by env, weights known. */
  static DataTable simulate(long seed) {
    return simulate(seed, 40);
  }

  /** As {@link #simulate(long)} with this many subjects (6 records each). */
  static DataTable simulate(long seed, int subjects) {
    SplittableRandom rng = new SplittableRandom(seed);
    List<String[]> rows = new ArrayList<>();
    for (int s = 0; s < subjects; s++) {
      double u0 = rng.nextGaussian();
      double u1 = 0.4 * u0 + 0.3 * rng.nextGaussian();
      int animal = 10 + rng.nextInt(50);
      for (int k = 0; k < 6; k++) {
        double t = k - 2.5;
        int site = rng.nextInt(7);
        int env = rng.nextInt(2);
        double w = 0.5 + rng.nextDouble();
        double y = 1 + 0.5 * t + u0 + u1 * t + 0.3 * (site - 3) + 0.2 * (animal % 5)
            + rng.nextGaussian() * (env == 0 ? 1 : 1.6) / Math.sqrt(w);
        rows.add(new String[] {"s" + s, "site" + site, "e" + env, "a" + animal, Double.toString(t), Double.toString(y),
            Double.toString(w)});
      }
    }
    return DataTable.of("sim", List.of("subject", "site", "env", "animal", "t", "y", "w"), rows);
  }

  static Relationship pedigree(long seed) {
    Pedigree ped = MmeLikelihoodTest.pedigree(60, new SplittableRandom(seed));
    return Relationship.ofPedigree("A", NumeratorRelationship.of(ped));
  }

  static void assertSameFit(MixedModelFit s, MixedModelFit d, String what) {
    assertTrue(s.route().contains("sparse"), s.route());
    assertTrue(d.route().contains("dense"), d.route());
    assertTrue(s.converged() && d.converged(), s.message() + " / " + d.message());
    assertClose(s.logL(), d.logL(), 0, 1e-9, what + " logL");
    assertClose(s.logLik(), d.logLik(), 0, 1e-9, what + " logLik (R's constants)");
    assertClose(s.aic(), d.aic(), 0, 1e-9, what + " AIC");
    assertClose(s.theta(), d.theta(), 1e-6, 1e-5, what + " theta");
    assertClose(s.se(), d.se(), 1e-6, 1e-4, what + " SE(theta)");
    assertClose(s.beta(), d.beta(), 1e-6, 1e-6, what + " beta");
    assertClose(s.betaSe(), d.betaSe(), 1e-6, 1e-5, what + " SE(beta)");
    assertClose(s.caic().caic(), d.caic().caic(), 0, 1e-6, what + " cAIC");
    assertClose(s.caic().df(), d.caic().df(), 1e-5, 0, what + " cAIC df");
    assertEquals(d.blups().size(), s.blups().size());
    for (int t = 0; t < s.blups().size(); t++) {
      MixedModelFit.TermBlups bs = s.blups().get(t);
      MixedModelFit.TermBlups bd = d.blups().get(t);
      assertEquals(bd.levels(), bs.levels(), what + " levels of " + bd.group());
      for (int a = 0; a < bs.values().length; a++) {
        assertClose(bs.values()[a], bd.values()[a], 1e-6, 0, what + " BLUP " + bd.group());
        assertClose(bs.pev()[a], bd.pev()[a], 1e-6, 0, what + " PEV " + bd.group());
      }
    }
  }

  @Test
  void sparseAndDenseRoutesGiveTheSameFit() {
    DataTable table = simulate(3);
    ModelFrame.Options options = new ModelFrame.Options(Map.of(), Set.of(), "env", "w", Map.of("A", pedigree(4)));
    MixedModel model = ModelFrame.build(table, Formula.parse("y ~ t + (1 + t | subject) + (1 | site) + (1 | animal:A)"),
        options);
    for (Method method : Method.values()) {
      MixedModelFit s = MixedModelFitter.fit(model, method, Map.of(), 200, Solver.SPARSE);
      MixedModelFit d = MixedModelFitter.fit(model, method, Map.of(), 200, Solver.DENSE);
      assertSameFit(s, d, method.toString());
      // Every animal of the pedigree gets a BLUP, those without records (ancestors) included.
      assertEquals(60, s.blups().get(2).levels().size());
    }
  }

  @Test
  void knownVariancesGiveTheSameSolutionsOnBothRoutes() {
    DataTable table = simulate(5);
    MixedModel model = ModelFrame.build(table, Formula.parse("y ~ t + (t || subject) + (1 | site)"),
        ModelFrame.Options.defaults());
    Map<String, Double> fixed = Map.of("subject:(Intercept)", 1.0, "subject:t", 0.1, "site:(Intercept)", 0.1,
        "residual", 1.5);
    assertSameFit(MixedModelFitter.fit(model, Method.REML, fixed, 200, Solver.SPARSE),
        MixedModelFitter.fit(model, Method.REML, fixed, 200, Solver.DENSE), "known variances");
  }

  @Test
  void aGrmCannotTakeTheSparseRoute() {
    DataTable table = simulate(7);
    List<String> ids = new ArrayList<>();
    for (int a = 0; a < 60; a++) {
      ids.add("a" + a);
    }
    double[] k = new double[60 * 60];
    for (int i = 0; i < 60; i++) {
      for (int j = 0; j < 60; j++) {
        k[i + j * 60] = i == j ? 1 : 0.05;
      }
    }
    Relationship g = new Relationship("G", ids, new org.lmmspark.engine.reml.DenseSymmetricMatrix(60, k));
    MixedModel model = ModelFrame.build(table, Formula.parse("y ~ t + (1 | animal:G)"),
        new ModelFrame.Options(Map.of(), Set.of(), null, null, Map.of("G", g)));
    BadInputException e = Assertions.assertThrows(BadInputException.class,
        () -> MixedModelFitter.fit(model, Method.REML, Map.of(), 200, Solver.SPARSE));
    assertTrue(e.getMessage().contains("dense relationship matrix G"), e.getMessage());
    assertTrue(MixedModelFitter.fit(model, Method.REML, Map.of(), 200).route().startsWith("auto: term"));
  }
}
