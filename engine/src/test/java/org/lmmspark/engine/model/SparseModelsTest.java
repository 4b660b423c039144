package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.BufferedReader;
import java.io.StringReader;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.pedigree.Pedigree;
import org.lmmspark.engine.pheno.SampleTable;
import org.lmmspark.engine.reml.DenseRemlLikelihood;
import org.lmmspark.engine.reml.RemlInputs;
import org.lmmspark.engine.reml.RemlLikelihood;

/**
 * The conversion of an assembled {@code reml} model (repeated records, a pedigree, a per-record herd
 * group, the permanent environment) to the mixed-model equations gives the likelihood of the dense
 * route on the same assembled problem: logL, score, AI, β and Py to 1e-8 relative at several θ.
 */
class SparseModelsTest {

  static RemlInputs.Assembled assemble(RemlInputs.Relationship rel, SampleTable pheno) {
    return RemlInputs.assemble(new RemlInputs.Spec(List.of(rel), false, pheno, "y", null, null, List.of("herd"),
        List.of(), List.of("x"), true, true));
  }

  @Test
  void repeatedRecordsWithPedigreeHerdAndPermanentEnvironmentEqualTheDenseRoute() throws Exception {
    SplittableRandom rng = new SplittableRandom(17);
    Pedigree ped = MmeLikelihoodTest.pedigree(40, rng);
    NumeratorRelationship nr = NumeratorRelationship.of(ped);
    StringBuilder sb = new StringBuilder("FID IID y x herd\n");
    for (int r = 0; r < 90; r++) {
      int animal = 10 + rng.nextInt(30); // animals 0..9 are ancestors without records
      sb.append("f a").append(animal).append(' ').append(rng.nextGaussian() + 0.1 * (animal % 4)).append(' ')
          .append(rng.nextGaussian()).append(" h").append(rng.nextInt(6)).append('\n');
    }
    sb.append("f stranger 1.0 0.0 h1\n"); // not in the pedigree: dropped by the sample matching
    SampleTable pheno = SampleTable.parse("p.txt", new BufferedReader(new StringReader(sb.toString())), true);
    RemlInputs.Relationship rel = RemlInputs.Relationship.ofPedigree("A", "random.ped", nr, pheno.ids());
    RemlInputs.Assembled in = assemble(rel, pheno);
    assertEquals(90, in.problem().n());
    SparseModels.Conversion conv = SparseModels.of(List.of(rel), in);
    assertNotNull(conv.model(), conv.reason());
    MixedModel mm = conv.model();
    assertEquals(List.of("A", "herd", "pe"), mm.terms().stream().map(RandomEffectTerm::group).toList());
    assertTrue(mm.terms().get(2).levelNames().get(0).startsWith("a"), "pe levels are named by individual");
    MmeLikelihood mme = new MmeLikelihood(mm);
    // Every animal of the pedigree is a level of the equations: p + 40 animals + herds + individuals.
    assertEquals(mm.p() + 40 + mm.terms().get(1).levelCount() + mm.terms().get(2).levelCount(), mme.unknowns());
    DenseRemlLikelihood dense = new DenseRemlLikelihood(in.problem());
    for (double[] theta : new double[][] {{0.3, 0.2, 0.1, 0.9}, {1.2, 0.05, 0.4, 0.5}}) {
      RemlLikelihood.Evaluation e1 = dense.evaluate(theta);
      RemlLikelihood.Evaluation e2 = mme.evaluate(theta);
      String what = java.util.Arrays.toString(theta);
      assertClose(e2.logL(), e1.logL(), 0, 1e-8, what + " logL");
      assertClose(e2.score(), e1.score(), 1e-8 * MmeLikelihoodTest.norm(e1.score()), 1e-8, what + " score");
      assertClose(e2.ai(), e1.ai(), 1e-8 * MmeLikelihoodTest.norm(e1.ai()), 1e-8, what + " AI");
      assertClose(e2.beta(), e1.beta(), 1e-10, 1e-8, what + " beta");
      assertClose(e2.py(), e1.py(), 1e-10, 1e-8, what + " Py");
    }
  }

  @Test
  void aGrmStaysOnTheDenseRoute() throws Exception {
    SampleTable pheno = SampleTable.parse("p.txt", new BufferedReader(new StringReader(
        "FID IID y x herd\nf a 1 0.1 h1\nf b 2 0.3 h1\nf c 0.5 -1 h2\nf d 1.5 0.2 h2\nf e 0.1 0.9 h1\nf g 3 0.4 h2\n")),
        true);
    List<SampleId> ids = pheno.ids();
    float[] lower = new float[ids.size() * (ids.size() + 1) / 2];
    for (int i = 0, k = 0; i < ids.size(); i++) {
      for (int j = 0; j <= i; j++) {
        lower[k++] = i == j ? 1f : 0.1f;
      }
    }
    RemlInputs.Relationship grm = new RemlInputs.Relationship("G", "g", new Grm(ids, lower, null), true);
    RemlInputs.Assembled in = RemlInputs.assemble(new RemlInputs.Spec(List.of(grm), false, pheno, "y", null, null,
        List.of("herd"), List.of(), List.of("x"), false, false));
    SparseModels.Conversion conv = SparseModels.of(List.of(grm), in);
    assertNull(conv.model());
    assertTrue(conv.reason().contains("component G is a dense relationship matrix"), conv.reason());
  }
}
