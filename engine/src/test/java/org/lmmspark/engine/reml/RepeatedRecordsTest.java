package org.lmmspark.engine.reml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

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

/** Z K Zᵀ by index arrays against the plain dense product, and the assembly of repeated-record models. */
class RepeatedRecordsTest {

  /** Z K Zᵀ written out: Z the n×m 0/1 incidence matrix, three plain loops. */
  static double[] plainZkz(double[] k, int m, int[] z) {
    int n = z.length;
    double[] zm = new double[n * m];
    for (int r = 0; r < n; r++) {
      zm[r + z[r] * n] = 1;
    }
    double[] out = new double[n * n];
    for (int r = 0; r < n; r++) {
      for (int s = 0; s < n; s++) {
        double v = 0;
        for (int a = 0; a < m; a++) {
          for (int b = 0; b < m; b++) {
            v += zm[r + a * n] * k[a + b * m] * zm[s + b * n];
          }
        }
        out[r + s * n] = v;
      }
    }
    return out;
  }

  @Test
  void incidenceOperatorEqualsPlainProduct() {
    Random rnd = new Random(11);
    for (int trial = 0; trial < 5; trial++) {
      int m = 1 + rnd.nextInt(7);
      int n = m + rnd.nextInt(12);
      double[] g = new double[m * m];
      for (int i = 0; i < g.length; i++) {
        g[i] = rnd.nextGaussian();
      }
      double[] k = new double[m * m]; // K = G Gᵀ, symmetric
      for (int a = 0; a < m; a++) {
        for (int b = 0; b < m; b++) {
          for (int c = 0; c < m; c++) {
            k[a + b * m] += g[a + c * m] * g[b + c * m];
          }
        }
      }
      int[] z = new int[n];
      for (int r = 0; r < n; r++) {
        z[r] = r < m ? r : rnd.nextInt(m);
      }
      IncidenceOperator op = new IncidenceOperator(new DenseSymmetricMatrix(m, k), z);
      double[] want = plainZkz(k, m, z);
      assertClose(op.toDense(), want, 1e-12, 0, "toDense");
      double tr = 0;
      for (int r = 0; r < n; r++) {
        tr += want[r + r * n];
        assertClose(op.diagonal()[r], want[r + r * n], 1e-12, 0, "diagonal");
      }
      assertClose(op.trace(), tr, 1e-12, 0, "trace");
      int cols = 3;
      double[] v = new double[n * cols];
      for (int i = 0; i < v.length; i++) {
        v[i] = rnd.nextGaussian();
      }
      double[] got = new double[n * cols];
      op.apply(v, cols, got);
      double[] exp = new double[n * cols];
      for (int c = 0; c < cols; c++) {
        for (int r = 0; r < n; r++) {
          for (int s = 0; s < n; s++) {
            exp[r + c * n] += want[r + s * n] * v[s + c * n];
          }
        }
      }
      assertClose(got, exp, 1e-12, 0, "apply");
    }
  }

  static SampleTable table(String text, boolean repeated) throws Exception {
    return SampleTable.parse("p.txt", new BufferedReader(new StringReader(text)), repeated);
  }

  /** A 4-individual relationship matrix (ids a..d) with distinct entries. */
  static Grm grm() {
    List<SampleId> ids = new ArrayList<>();
    for (String s : List.of("a", "b", "c", "d")) {
      ids.add(new SampleId("f", s));
    }
    float[] lower = {1.0f, 0.5f, 1.1f, 0.25f, 0.125f, 1.2f, 0.0f, 0.375f, 0.0625f, 1.3f};
    return new Grm(ids, lower, null);
  }

  @Test
  void repeatedRecordsAssembleZkzPermanentEnvironmentAndPerRecordColumns() throws Exception {
    // Records: a×3, b×2 (one with a missing trait), c×1, d×2, e×1 (not in the GRM).
    SampleTable pheno = table("FID IID y age pen\n"
        + "f a 1.0 1 p1\nf b 2.0 2 p1\nf a 1.5 3 p2\nf c 0.3 1 p2\nf b NA 2 p1\n"
        + "f d 2.2 5 p3\nf a 0.7 2 p3\nf e 9 1 p1\nf d 1.9 1 p1\nf b 2.4 4 p2\n", true);
    SampleTable covar = table("FID IID sex\nf a M\nf b F\nf c F\nf d M\nf e F\n", false);
    RemlInputs.Assembled in = RemlInputs.assemble(new RemlInputs.Spec(
        List.of(new RemlInputs.Relationship("A", "ped", grm(), false)), false, pheno, null, covar, null,
        List.of("pen"), List.of(), List.of("age"), true, true));
    RemlProblem p = in.problem();
    // Usable records of a, b, c, d in file order: lines of a,b,a,c,d,a,d,b (b's NA and e dropped).
    assertEquals(8, p.n());
    assertEquals(List.of("y"), List.of(in.design().trait()));
    int[] z = in.individualOfRecord();
    List<String> recIid = in.samples().stream().map(SampleId::iid).toList();
    assertEquals(List.of("a", "b", "a", "c", "d", "a", "d", "b"), recIid);
    assertEquals(List.of("a", "b", "c", "d"), in.individuals().stream().map(SampleId::iid).toList());
    assertArrayEquals(new int[] {0, 1, 0, 2, 3, 0, 3, 1}, z);
    assertArrayEquals(new double[] {1.0, 2.0, 1.5, 0.3, 2.2, 0.7, 1.9, 2.4}, p.y(), 0);
    // X: intercept, age per record, sex=M from the per-individual file broadcast to records.
    assertEquals(List.of("intercept", "age", "sex=M"), p.fixedNames());
    double[] x = p.x();
    assertArrayEquals(new double[] {1, 2, 3, 1, 5, 2, 1, 4}, java.util.Arrays.copyOfRange(x, 8, 16), 0);
    assertArrayEquals(new double[] {1, 0, 1, 0, 1, 1, 1, 0}, java.util.Arrays.copyOfRange(x, 16, 24), 0);
    // Components: A as Z K Zᵀ, pen (per record), pe = Z Zᵀ.
    assertEquals(List.of("A", "pen", "pe"), p.components().stream().map(VarianceComponent::name).toList());
    double[] k = grm().toDense();
    assertClose(p.components().get(0).covariance().toDense(), plainZkz(k, 4, z), 1e-7, 0, "Z A Zᵀ");
    double[] eye = new double[16];
    for (int i = 0; i < 4; i++) {
      eye[i + 4 * i] = 1;
    }
    assertClose(p.components().get(2).covariance().toDense(), plainZkz(eye, 4, z), 0, 0, "Z Zᵀ");
    String[] pen = {"p1", "p1", "p2", "p2", "p3", "p3", "p1", "p2"};
    double[] penDense = p.components().get(1).covariance().toDense();
    for (int r = 0; r < 8; r++) {
      for (int s = 0; s < 8; s++) {
        assertEquals(pen[r].equals(pen[s]) ? 1.0 : 0.0, penDense[r + s * 8], "pen " + r + "," + s);
      }
    }
    String notes = String.join("\n", in.notes());
    assertTrue(notes.contains("10 records of 5 individuals; 8 records of 4 individuals used, 2 dropped (1 missing "
        + "phenotype 'y' or covariate/group value; 1 of individuals dropped"), notes);
    assertTrue(notes.contains("lacks 1 of the phenotyped samples, e.g. f e"), notes);
  }

  @Test
  void withoutRepeatsTheComponentsStayPlainAndPeIsRefused() throws Exception {
    SampleTable pheno = table("FID IID y\nf a 1\nf b 2\nf c 0.5\nf d 3\n", false);
    BadInputException e = assertThrows(BadInputException.class, () -> RemlInputs.assemble(new RemlInputs.Spec(
        List.of(new RemlInputs.Relationship("A", "ped", grm(), false)), false, pheno, null, null, null, List.of(),
        List.of(), List.of(), false, true)));
    assertTrue(e.getMessage().contains("--permanent-environment needs --repeated-records"), e.getMessage());
    BadInputException dup = assertThrows(BadInputException.class, () -> table("FID IID y\nf a 1\nf a 2\n", false));
    assertTrue(dup.getMessage().contains("p.txt:3") && dup.getMessage().contains("--repeated-records"),
        dup.getMessage());
  }
}
