package org.lmmspark.engine.reml;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.pheno.SampleTable;

class RemlBadInputTest {

  static Grm identityGrm(List<SampleId> ids) {
    int n = ids.size();
    float[] lower = new float[n * (n + 1) / 2];
    for (int i = 0; i < n; i++) {
      lower[(int) Grm.packedIndex(i, i)] = 1;
    }
    return new Grm(ids, lower, null);
  }

  static SampleTable pheno(int n, String prefix, Random rnd) throws Exception {
    StringBuilder sb = new StringBuilder("FID IID Y\n");
    for (int i = 0; i < n; i++) {
      sb.append(prefix).append(i).append(' ').append(prefix).append(i).append(' ').append(rnd.nextGaussian()).append('\n');
    }
    return SampleTable.parse("pheno.txt", new BufferedReader(new StringReader(sb.toString())));
  }

  static List<SampleId> ids(int n, String prefix) {
    List<SampleId> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(new SampleId(prefix + i, prefix + i));
    }
    return ids;
  }

  @Test
  void grmNotCoveringThePhenotypedSamplesNamesThem() throws Exception {
    SampleTable p = pheno(20, "s", new Random(1));
    // The GRM's IDs are spelled differently: nothing in common.
    Grm grm = identityGrm(ids(20, "S"));
    BadInputException e = assertThrows(BadInputException.class, () -> RemlInputs.assemble(new RemlInputs.Spec(
        List.of(new RemlInputs.Relationship("G", "my.grm", grm, true)), false, p, null, null, null, List.of())));
    assertTrue(e.getMessage().contains("relationship matrix G (my.grm) lacks 20 of the phenotyped samples, e.g. s0 s0, s1 s1"),
        e.getMessage());
  }

  @Test
  void partialCoverageIsLoggedNotFatal() throws Exception {
    SampleTable p = pheno(30, "s", new Random(2));
    Grm grm = identityGrm(ids(25, "s"));
    RemlInputs.Assembled a = RemlInputs.assemble(new RemlInputs.Spec(
        List.of(new RemlInputs.Relationship("G", "my.grm", grm, true)), false, p, "Y", null, null, List.of()));
    assertTrue(a.samples().size() == 25);
    assertTrue(String.join("\n", a.notes()).contains("lacks 5 of the phenotyped samples, e.g. s25 s25"), a.notes().toString());
    assertTrue(String.join("\n", a.notes()).contains("5 absent from relationship matrix G"), a.notes().toString());
  }

  @Test
  void unknownColumnsAreNamed() throws Exception {
    SampleTable p = pheno(10, "s", new Random(3));
    Grm grm = identityGrm(ids(10, "s"));
    BadInputException e = assertThrows(BadInputException.class, () -> RemlInputs.assemble(new RemlInputs.Spec(
        List.of(new RemlInputs.Relationship("G", "g", grm, true)), false, p, "Y7", null, null, List.of())));
    assertTrue(e.getMessage().contains("--pheno-name column 'Y7' not found"), e.getMessage());
  }

  @Test
  void fewerSamplesThanParameters() {
    double[] y = {1, 2, 3};
    double[] x = {1, 1, 1, 0, 1, 0};
    assertThrows(BadInputException.class, () -> new RemlProblem(y, x, List.of("intercept", "v"),
        List.of(new VarianceComponent("G", new DenseSymmetricMatrix(3, new double[] {1, 0, 0, 0, 1, 0, 0, 0, 1})))));
  }

  @Test
  void nonConvergenceIsReportedWithTheLastIterate() {
    RemlProblem prob = SpectralVsDenseTest.problem(11, 0.8, 0.6);
    RemlFit fit = new AiReml("dense-ai", DenseRemlLikelihood::new, 1, 2).fit(prob);
    assertFalse(fit.converged());
    assertTrue(fit.message().startsWith("no convergence after 2 iterations") && fit.message().contains("last iterate θ = ("),
        fit.message());
  }
}
