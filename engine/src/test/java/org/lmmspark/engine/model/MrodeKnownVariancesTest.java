package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.model.MixedModelFitter.Method;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.pedigree.Pedigree;
import org.lmmspark.engine.testing.RefData;

/**
 * Known variances ({@code --fix}) on the dense route: Mrode (2005) Example 3.1 from
 * {@code ../shared/refdata/mrode-pedigree}, {@code wwg ~ 0 + sex + (1 | animal:A)} with σ²_a = 20 and
 * σ²_e = 40 fixed. EXPECTED.md: sex male 4.359, female 3.404; breeding values of animals 1..8
 * 0.098, −0.019, −0.041, −0.009, −0.186, 0.177, −0.249, 0.183 (ancestors 1–3 have no record),
 * tolerance 1e-3 (the printed digits); prediction error variances against Henderson's equations
 * solved plainly in the test (1e-9).
 */
class MrodeKnownVariancesTest {

  @Test
  void blueAndBlupWithFixedVariancesIncludingAncestors() {
    Path dir = RefData.dir("mrode-pedigree");
    String file = dir.resolve("example3_1.txt").toString();
    Configuration conf = new Configuration();
    Relationship a = Relationship.of("A", NumeratorRelationship.of(Pedigree.read(file, conf)).grm());
    MixedModel model = ModelFrame.build(DataTable.read(file, conf), Formula.parse("wwg ~ 0 + sex + (1 | animal:A)"),
        new ModelFrame.Options(Map.of(), Set.of(), null, null, Map.of("A", a)));
    assertEquals(java.util.List.of("sexF", "sexM"), model.fixedNames());
    MixedModelFit f = MixedModelFitter.fit(model, Method.REML, Map.of("animal:A:(Intercept)", 20.0, "residual", 40.0),
        MixedModelFitter.DEFAULT_MAX_ITERATIONS);
    assertTrue(f.converged(), f.message());
    assertClose(f.beta(), new double[] {3.404, 4.359}, 1e-3, 0, "sex female, male");
    MixedModelFit.TermBlups u = f.blups().get(0);
    double[] expected = {0.098, -0.019, -0.041, -0.009, -0.186, 0.177, -0.249, 0.183};
    for (int i = 0; i < 8; i++) {
      int l = u.levels().indexOf(Integer.toString(i + 1));
      assertTrue(l >= 0, "animal " + (i + 1) + " has a BLUP");
      assertClose(u.values()[0][l], expected[i], 1e-3, 0, "breeding value of animal " + (i + 1));
    }
    assertEquals(2, f.df(), "only the fixed effects are estimated");

    // Prediction error variances against Henderson's mixed-model equations written plainly:
    // C = [XᵀX XᵀZ; ZᵀX ZᵀZ + A⁻¹σ²_e/σ²_a], PEV_i = σ²_e (C⁻¹)_uu,ii, every animal of the pedigree.
    String[] sexOf = {null, null, null, "M", "F", "F", "M", "M"};
    int q = 8;
    double[] ainv = ConditionalAic.invert(a.k().toDense(), q);
    double[] c = new double[(2 + q) * (2 + q)];
    for (int i = 3; i < 8; i++) {
      int s = sexOf[i].equals("F") ? 0 : 1;
      int row = a.ids().indexOf(Integer.toString(i + 1));
      int[] cols = {s, 2 + row};
      for (int x : cols) {
        for (int y : cols) {
          c[x + y * (2 + q)] += 1;
        }
      }
    }
    for (int i = 0; i < q; i++) {
      for (int j = 0; j < q; j++) {
        c[(2 + i) + (2 + j) * (2 + q)] += ainv[i + j * q] * 40.0 / 20.0;
      }
    }
    double[] cinv = ConditionalAic.invert(c, 2 + q);
    for (int i = 0; i < q; i++) {
      int l = u.levels().indexOf(a.ids().get(i));
      assertClose(u.pev()[0][l], 40.0 * cinv[(2 + i) + (2 + i) * (2 + q)], 1e-9, 1e-9, "PEV of animal " + a.ids().get(i));
    }
  }
}
