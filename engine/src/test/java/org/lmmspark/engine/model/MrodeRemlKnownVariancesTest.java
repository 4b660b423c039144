package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.BufferedReader;
import java.io.StringReader;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.pedigree.Pedigree;
import org.lmmspark.engine.pheno.SampleTable;
import org.lmmspark.engine.reml.KnownVariances;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlInputs;
import org.lmmspark.engine.testing.RefData;

/**
 * Mrode (2005) Example 3.1 (../shared/refdata/mrode-pedigree/EXPECTED.md): pre-weaning gain of calves
 * 4–8, sex fixed, animal model with σ²_a = 20, σ²_e = 40 known. The BLUPs of all eight animals —
 * ancestors 1–3 have no record — and the sex solutions must equal the book's printed values
 * (3 decimals; EXPECTED.md tolerance 1e-3). PEVs are checked against the textbook MME written densely
 * here: {@code C = [XᵀX XᵀZ; ZᵀX ZᵀZ + A⁻¹ α]}, α = σ²_e/σ²_a, {@code PEV = σ²_e (C⁻¹)_uu}.
 */
class MrodeRemlKnownVariancesTest {

  @Test
  void example31SolutionsWithKnownVariances() throws Exception {
    Path dir = RefData.dir("mrode-pedigree");
    Pedigree ped = Pedigree.read(dir.resolve("example3_1.txt").toString(), new Configuration());
    assertEquals(8, ped.size());
    StringBuilder sb = new StringBuilder("FID IID wwg sex\n");
    String[] sex = {"M", "F", "F", "M", "M"};
    double[] gain = {4.5, 2.9, 3.9, 3.5, 5.0};
    for (int i = 0; i < 5; i++) {
      sb.append("x ").append(i + 4).append(' ').append(gain[i]).append(' ').append(sex[i]).append('\n');
    }
    SampleTable pheno = SampleTable.parse("calves.txt", new BufferedReader(new StringReader(sb.toString())));
    NumeratorRelationship nr = NumeratorRelationship.of(ped);
    RemlInputs.Relationship rel = RemlInputs.Relationship.ofPedigree("A", "example3_1.txt", nr, pheno.ids());
    RemlInputs.Assembled in = RemlInputs.assemble(new RemlInputs.Spec(List.of(rel), false, pheno, "wwg", null, null,
        List.of(), List.of("sex"), List.of(), false, false));
    SparseModels.Conversion conv = SparseModels.of(List.of(rel), in);
    assertNotNull(conv.model(), conv.reason());
    MmeLikelihood mme = new MmeLikelihood(conv.model());
    assertEquals(2 + 8, mme.unknowns()); // intercept, sex=M (F is the reference), 8 animals

    // The optimizer's all-known path gives the same β̂ and Py as the solutions.
    RemlFit fit = new KnownVariances("sparse-mme", p -> mme, new double[] {20, 40}, 3, 10).fit(in.problem());
    assertTrue(fit.converged());
    assertEquals(0, fit.iterations());
    assertEquals(0.0, fit.se(0));
    MmeLikelihood.Solutions s = mme.solutions(new double[] {20, 40});
    assertClose(fit.beta(), s.beta(), 1e-12, 1e-12, "beta");
    assertEquals(List.of("intercept", "sex=M"), in.problem().fixedNames());

    // Mrode Example 3.1: sex solutions male 4.359 (book 4.358), female 3.404; animals 1..8.
    double female = s.beta()[0];
    double male = s.beta()[0] + s.beta()[1];
    assertClose(male, 4.359, 1e-3, 0, "male");
    assertClose(female, 3.404, 1e-3, 0, "female");
    MmeLikelihood.TermSolution a = s.terms().get(0);
    double[] book = {0.098, -0.019, -0.041, -0.009, -0.186, 0.177, -0.249, 0.183};
    for (int k = 0; k < 8; k++) {
      int idx = ped.indexOfIid(Integer.toString(k + 1));
      assertEquals(Integer.toString(k + 1), a.term().levelNames().get(idx));
      assertClose(a.blup()[0][idx], book[k], 1e-3, 0, "BLUP animal " + (k + 1));
    }

    // PEV from the textbook MME in dense form (Mrode eq. 3.4), unknowns: intercept, sex=M, animals.
    int q = 10;
    double alpha = 40.0 / 20.0;
    double[] c = new double[q * q];
    double[] ainv = nr.inverse().toDense();
    for (int i = 0; i < 8; i++) {
      for (int j = 0; j < 8; j++) {
        c[(2 + i) + (2 + j) * q] = alpha * ainv[i + j * 8];
      }
    }
    for (int r = 0; r < 5; r++) {
      int[] cols = {0, sex[r].equals("M") ? 1 : -1, 2 + ped.indexOfIid(Integer.toString(r + 4))};
      for (int u : cols) {
        for (int v : cols) {
          if (u >= 0 && v >= 0) {
            c[u + v * q] += 1;
          }
        }
      }
    }
    assertTrue(Blas.dpotrfLower(q, c));
    Blas.dpotriLowerFull(q, c);
    for (int i = 0; i < 8; i++) {
      double pev = 40 * c[(2 + i) + (2 + i) * q];
      assertClose(a.pev()[0][i], pev, 1e-12, 1e-10, "PEV animal " + a.term().levelNames().get(i));
      double f = nr.inbreeding()[i];
      assertClose(a.reliability()[0][i], 1 - pev / (20 * (1 + f)), 1e-12, 1e-10, "reliability");
    }
    // Cov(β̂) = σ²_e (C⁻¹)_ββ.
    assertClose(s.betaCovariance(), new double[] {40 * c[0], 40 * c[1], 40 * c[q], 40 * c[1 + q]}, 1e-12, 1e-10,
        "Cov(beta)");
  }
}
