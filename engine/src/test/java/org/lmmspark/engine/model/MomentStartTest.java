package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.model.MixedModelFitter.Method;
import org.lmmspark.engine.testing.RefData;

/**
 * {@link MomentStart}: on balanced data the per-level least-squares moments are the REML optimum (the
 * closed form of {@link SleepstudyFitTest#closedForm}, written there independently), so the fit from them
 * takes one AI step; on unbalanced data they only start the optimizer, which must reach the same optimum
 * as from the default start with EM steps; boundary fits and models it does not cover get no moment start.
 */
class MomentStartTest {

  private static MixedModel sleepstudy(String formula, double keepFraction) {
    Path dir = RefData.dir("lme4-sleepstudy");
    DataTable t = DataTable.read(dir.resolve("sleepstudy.csv").toString(), new Configuration());
    MixedModel model = ModelFrame.build(t, Formula.parse(formula), ModelFrame.Options.defaults());
    if (keepFraction >= 1) {
      return model;
    }
    // Unbalanced: a seeded random subset of the records, through the table as a user would give it.
    StringBuilder csv = new StringBuilder("Reaction,Days,Subject\n");
    double[] y = t.numeric("Reaction");
    double[] days = t.numeric("Days");
    String[] subject = t.raw("Subject");
    Random rnd = new Random(3);
    for (int i = 0; i < y.length; i++) {
      if (rnd.nextDouble() < keepFraction) {
        csv.append(y[i]).append(',').append(days[i]).append(',').append(subject[i]).append('\n');
      }
    }
    try {
      Path f = java.nio.file.Files.createTempFile("sleepstudy-subset", ".csv");
      java.nio.file.Files.writeString(f, csv);
      f.toFile().deleteOnExit();
      DataTable sub = DataTable.read(f.toString(), new Configuration());
      return ModelFrame.build(sub, Formula.parse(formula), ModelFrame.Options.defaults());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void balancedDataStartAtTheRemlOptimum() {
    MixedModel model = sleepstudy("Reaction ~ Days + (Days | Subject)", 1);
    double[] start = MomentStart.of(model, model.start(MixedModelFitter.olsResidualVariance(model)));
    assertNotNull(start);
    // θ order: Σ11, Σ21, Σ22, σ² (as the model names them); closed form {Σ11, Σ21, Σ22, σ²}.
    assertClose(start, SleepstudyFitTest.closedForm(false), 0, 1e-10, "moments = closed-form REML");
    MixedModelFit fit = MixedModelFitter.fit(model, Method.REML, Map.of(), 200);
    assertTrue(fit.converged() && fit.iterations() <= 1, fit.message());
  }

  @Test
  void unbalancedDataReachTheSameOptimumAsTheDefaultStart() {
    for (String formula : new String[] {"Reaction ~ Days + (Days | Subject)", "Reaction ~ Days + (1 | Subject)"}) {
      MixedModel model = sleepstudy(formula, 0.7);
      assertNotNull(MomentStart.of(model, model.start(MixedModelFitter.olsResidualVariance(model))), formula);
      for (Method m : Method.values()) {
        MixedModelFit fromMoments = MixedModelFitter.fit(model, m, Map.of(), 200, MixedModelFitter.Solver.AUTO, true);
        MixedModelFit fromDefault = MixedModelFitter.fit(model, m, Map.of(), 200, MixedModelFitter.Solver.AUTO, false);
        assertTrue(fromMoments.converged(), fromMoments.message());
        assertTrue(fromMoments.iterations() < fromDefault.iterations(),
            formula + " " + m + ": " + fromMoments.message() + " vs " + fromDefault.message());
        // Both stop at |ΔlogL| < 1e-8 with a Newton decrement gᵀAI⁻¹g < 1e-12, i.e. within about 1e-6 standard
        // errors of the optimum: the covariance (SE ~10, estimate ~14) may differ by a few 1e-5 relative.
        assertClose(fromMoments.theta(), fromDefault.theta(), 0, 1e-4, formula + " " + m + " θ");
        assertClose(fromMoments.beta(), fromDefault.beta(), 0, 1e-6, formula + " " + m + " β");
        assertClose(fromMoments.logLik(), fromDefault.logLik(), 0, 1e-10, formula + " " + m + " logLik");
      }
    }
  }

  @Test
  void otherModelsGetNoMomentStart() {
    // Two terms (|| splits the slope from the intercept): not one grouping term.
    MixedModel twoTerms = sleepstudy("Reaction ~ Days + (Days || Subject)", 1);
    assertNull(MomentStart.of(twoTerms, twoTerms.start(MixedModelFitter.olsResidualVariance(twoTerms))));
  }
}
