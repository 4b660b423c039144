package org.lmmspark.engine.pedigree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.linalg.SparseSymmetric;
import org.lmmspark.engine.testing.RefData;

/**
 * A, A⁻¹ and F against Mrode's textbook examples (refdata/mrode-pedigree, values printed by nadiv
 * 2.18.0 / pedigreemm 0.3-5 in refdata/pedigreemm-milk/peer_output.txt), the pedigreemm cow
 * pedigree's inbreeding summary, Mrode's Example 3.1 BLUP, and the definition of A written plainly
 * over a random shuffled pedigree.
 */
class NumeratorRelationshipTest {
  // Entries of A and A⁻¹ are exact dyadic/rational values printed to ≥ 4 exact decimals (A) or 15
  // significant digits (A⁻¹): the computation is a few exact-ish additions, so 1e-10 absolute.
  private static final double EXACT = 1e-10;

  private static Pedigree read(String refCase, String file) {
    Path dir = RefData.dir(refCase);
    return Pedigree.read(dir.resolve(file).toString(), new Configuration());
  }

  /** A (or A⁻¹) of the named individuals, in the given order, from a dense column-major matrix. */
  private static double[] byIds(Pedigree p, double[] dense, String[] ids) {
    int n = p.size();
    int r = ids.length;
    double[] out = new double[r * r];
    for (int i = 0; i < r; i++) {
      for (int j = 0; j < r; j++) {
        int a = p.indexOf(new SampleId(ids[i], ids[i]));
        int b = p.indexOf(new SampleId(ids[j], ids[j]));
        out[i + j * r] = dense[a + b * n];
      }
    }
    return out;
  }

  @Test
  void mrodeExample21() throws IOException {
    Pedigree p = read("mrode-pedigree", "pedigree.txt");
    NumeratorRelationship nr = NumeratorRelationship.of(p);
    // A_expected.txt (EXPECTED.md: Mrode Example 2.1; = nadiv::makeA(Mrode2) in peer_output.txt).
    double[] expected = new double[36];
    List<String> lines = Files.readAllLines(RefData.dir("mrode-pedigree").resolve("A_expected.txt"));
    for (int i = 0; i < 6; i++) {
      String[] f = lines.get(i).trim().split("\\s+");
      for (int j = 0; j < 6; j++) {
        expected[i + 6 * j] = Double.parseDouble(f[j]);
      }
    }
    String[] ids = {"1", "2", "3", "4", "5", "6"};
    assertClose(byIds(p, nr.dense(), ids), expected, EXACT, 0, "A (Mrode 2.1)");
    // nadiv::makeAinv(Mrode2)$f: 0 0 0 0 0.125 0.125
    assertClose(nr.inbreeding(), new double[] {0, 0, 0, 0, 0.125, 0.125}, EXACT, 0, "F");
    // nadiv::makeAinv(Mrode2)$Ainv (peer_output.txt, 15 digits); EXPECTED.md rows 5 and 6.
    double t = 1.0 / 3;
    double[][] ainv = {
        {1 + 5 * t / 2, 0.5, -1, -2 * t, 0, 0},
        {0.5, 2 + t / 10, -1, 0, 0.533333333333333, -1.06666666666667},
        {-1, -1, 2.5, 0.5, -1, 0},
        {-2 * t, 0, 0.5, 1 + 5 * t / 2, -1, 0},
        {0, 0.533333333333333, -1, -1, 2.533333333333333, -1.06666666666667},
        {0, -1.06666666666667, 0, 0, -1.06666666666667, 2.13333333333333}};
    assertClose(byIds(p, nr.inverse().toDense(), ids), colMajor(ainv), 1e-13, 0, "A⁻¹ (Mrode 2.1)");
  }

  @Test
  void mrodeExample3WithDamFirstColumnsAndGroups() {
    Pedigree p = read("mrode-pedigree", "Mrode3.csv");
    NumeratorRelationship nr = NumeratorRelationship.of(p);
    String[] ids = {"g1", "g2", "1", "2", "3", "4", "5", "6", "7", "8"};
    // nadiv::makeA(Mrode3), peer_output.txt "== Mrode3 ==".
    double[][] a = {
        {1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
        {0, 0, 1.00, 0.00, 0.00, 0.500, 0.000, 0.50, 0.25, 0.250},
        {0, 0, 0.00, 1.00, 0.00, 0.000, 0.500, 0.50, 0.25, 0.250},
        {0, 0, 0.00, 0.00, 1.00, 0.000, 0.500, 0.00, 0.25, 0.500},
        {0, 0, 0.50, 0.00, 0.00, 1.000, 0.000, 0.25, 0.50, 0.125},
        {0, 0, 0.00, 0.50, 0.50, 0.000, 1.000, 0.25, 0.50, 0.375},
        {0, 0, 0.50, 0.50, 0.00, 0.250, 0.250, 1.00, 0.25, 0.500},
        {0, 0, 0.25, 0.25, 0.25, 0.500, 0.500, 0.25, 1.00, 0.250},
        {0, 0, 0.25, 0.25, 0.50, 0.125, 0.375, 0.50, 0.25, 1.000}};
    assertClose(byIds(p, nr.dense(), ids), colMajor(a), EXACT, 0, "A (Mrode3)");
    // nadiv::makeAinv(Mrode3)$Ainv.
    double t = 2.0 / 3;
    double[][] ainv = {
        {1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
        {0, 0, 1 + 5 * t / 4, 0.5, 0.0, -t, 0.0, -1.0, 0, 0},
        {0, 0, 0.5, 2.0, 0.5, 0, -1.0, -1.0, 0, 0},
        {0, 0, 0, 0.5, 2.0, 0, -1.0, 0.5, 0, -1},
        {0, 0, -t, 0.0, 0.0, 1 + 5 * t / 4, 0.5, 0.0, -1, 0},
        {0, 0, 0, -1.0, -1.0, 0.5, 2.5, 0.0, -1, 0},
        {0, 0, -1.0, -1.0, 0.5, 0, 0.0, 2.5, 0, -1},
        {0, 0, 0, 0.0, 0.0, -1.0, -1.0, 0.0, 2, 0},
        {0, 0, 0, 0.0, -1.0, 0, 0.0, -1.0, 0, 2}};
    assertClose(byIds(p, nr.inverse().toDense(), ids), colMajor(ainv), EXACT, 0, "A⁻¹ (Mrode3)");
  }

  @Test
  void mrodeExample9DamFirstWithUnknownSire() {
    Pedigree p = read("mrode-pedigree", "Mrode9.csv");
    NumeratorRelationship nr = NumeratorRelationship.of(p);
    // nadiv::makeA(Mrode9), rows/columns in nadiv's order (peer_output.txt "== Mrode9 ==").
    String[] ids = {"2", "4", "1", "3", "5", "6", "8", "7", "9", "10", "11", "12"};
    double[][] a = {
        {1.000, 0.00, 0.000, 0.00, 0.50, 0.00, 0.25, 0.250, 0.125, 0.125, 0.125, 0.125},
        {0.000, 1.00, 0.000, 0.00, 0.00, 0.50, 0.00, 0.250, 0.000, 0.000, 0.250, 0.250},
        {0.000, 0.00, 1.000, 0.00, 0.50, 0.00, 0.25, 0.250, 0.125, 0.125, 0.125, 0.125},
        {0.000, 0.00, 0.000, 1.00, 0.00, 0.50, 0.00, 0.250, 0.500, 0.500, 0.250, 0.250},
        {0.500, 0.00, 0.500, 0.00, 1.00, 0.00, 0.50, 0.500, 0.250, 0.250, 0.250, 0.250},
        {0.000, 0.50, 0.000, 0.50, 0.00, 1.00, 0.00, 0.500, 0.250, 0.250, 0.500, 0.500},
        {0.250, 0.00, 0.250, 0.00, 0.50, 0.00, 1.00, 0.250, 0.500, 0.500, 0.500, 0.500},
        {0.250, 0.25, 0.250, 0.25, 0.50, 0.50, 0.25, 1.000, 0.250, 0.250, 0.375, 0.375},
        {0.125, 0.00, 0.125, 0.50, 0.25, 0.25, 0.50, 0.250, 1.000, 0.500, 0.375, 0.375},
        {0.125, 0.00, 0.125, 0.50, 0.25, 0.25, 0.50, 0.250, 0.500, 1.000, 0.375, 0.375},
        {0.125, 0.25, 0.125, 0.25, 0.25, 0.50, 0.50, 0.375, 0.375, 0.375, 1.000, 0.500},
        {0.125, 0.25, 0.125, 0.25, 0.25, 0.50, 0.50, 0.375, 0.375, 0.375, 0.500, 1.000}};
    assertClose(byIds(p, nr.dense(), ids), colMajor(a), EXACT, 0, "A (Mrode9)");
    // nadiv::makeAinv(Mrode9)$f: all 0.
    assertClose(nr.inbreeding(), new double[12], EXACT, 0, "F (Mrode9)");
  }

  @Test
  void pedigreemmCowsInbreeding() {
    Pedigree p = read("pedigreemm-milk", "pedCowsR.csv");
    double[] f = NumeratorRelationship.of(p).inbreeding();
    // EXPECTED.md / peer_output.txt "== pedCowsR summary ==" (pedigreemm::inbreeding):
    // n animals 6547; mean 0.000177278834771651; max 0.25; n>0: 31.
    double sum = 0;
    double max = 0;
    int positive = 0;
    for (double v : f) {
      sum += v;
      max = Math.max(max, v);
      positive += v > 0 ? 1 : 0;
    }
    assertEquals(6547, f.length);
    assertClose(sum / f.length, 0.000177278834771651, 0, 1e-12, "mean F");
    assertClose(max, 0.25, EXACT, 0, "max F");
    assertEquals(31, positive, "animals with F > 0");
    // First 10 nonzero F (label, F) in peer_output.txt.
    String[] labels = {"2926", "3019", "3149", "3157", "3781", "3784", "3841", "4029", "4553", "4559"};
    double[] values = {0.0625, 0.25, 0.03125, 0.0625, 0.0078125, 0.03125, 0.03125, 0.0625, 0.01171875, 0.03125};
    for (int k = 0; k < labels.length; k++) {
      assertClose(f[p.indexOf(new SampleId(labels[k], labels[k]))], values[k], EXACT, 0, "F of " + labels[k]);
    }
  }

  @Test
  void mrodeExample31Blup() throws IOException {
    // EXPECTED.md: y = Xb + Za + e, a ~ N(0, 20 A), e ~ N(0, 40 I): Henderson's mixed model
    // equations [X'X X'Z; Z'X Z'Z + λA⁻¹][b; a] = [X'y; Z'y], λ = 40/20, solved plainly here.
    Path file = RefData.dir("mrode-pedigree").resolve("example3_1.txt");
    Pedigree p = Pedigree.read(file.toString(), new Configuration());
    NumeratorRelationship nr = NumeratorRelationship.of(p);
    SparseSymmetric ainv = nr.inverse();
    int q = p.size();
    int dim = 2 + q;
    double[] lhs = new double[dim * dim];
    double[] rhs = new double[dim];
    List<String> lines = Files.readAllLines(file);
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.trim().split("\\s+");
      if (f[4].equals("NA")) {
        continue;
      }
      int sex = f[3].equals("M") ? 0 : 1; // fixed effects: male, female
      int animal = 2 + p.indexOf(new SampleId(f[0], f[0]));
      double y = Double.parseDouble(f[4]);
      int[] cols = {sex, animal};
      for (int r : cols) {
        rhs[r] += y;
        for (int c : cols) {
          lhs[r + c * dim] += 1;
        }
      }
    }
    double lambda = 40.0 / 20.0;
    for (int i = 0; i < q; i++) {
      for (int j = 0; j < q; j++) {
        lhs[(2 + i) + (2 + j) * dim] += lambda * ainv.get(i, j);
      }
    }
    double[] sol = solve(lhs, rhs, dim);
    // EXPECTED.md: male 4.359 (book 4.358), female 3.404; breeding values of animals 1..8:
    // 0.098, −0.019, −0.041, −0.009, −0.186, 0.177, −0.249, 0.183. Tolerance 1e-3 (printed precision).
    assertClose(sol[0], 4.359, 1e-3, 0, "b male");
    assertClose(sol[1], 3.404, 1e-3, 0, "b female");
    double[] bv = {0.098, -0.019, -0.041, -0.009, -0.186, 0.177, -0.249, 0.183};
    for (int k = 0; k < 8; k++) {
      String id = String.valueOf(k + 1);
      assertClose(sol[2 + p.indexOf(new SampleId(id, id))], bv[k], 1e-3, 0, "EBV of animal " + id);
    }
  }

  @Test
  void matchesDefinitionOnRandomShuffledPedigree() {
    Random rnd = new Random(20240611);
    for (int rep = 0; rep < 3; rep++) {
      int n = 60 + rnd.nextInt(80);
      // Generation-ordered animals, parents drawn from a small recent pool (so inbreeding occurs),
      // ~15% unknown parents; sexes fixed up front so roles are consistent.
      String[] sire = new String[n];
      String[] dam = new String[n];
      boolean[] male = new boolean[n];
      List<Integer> males = new ArrayList<>();
      List<Integer> females = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        male[i] = rnd.nextBoolean();
        if (i >= 6) {
          sire[i] = pick(rnd, males, 12);
          dam[i] = pick(rnd, females, 12);
        }
        (male[i] ? males : females).add(i);
      }
      // Drop a few founders from the listing (they must be added back) and shuffle the lines.
      List<String> lines = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        if (i < 6 && i % 3 == 0) {
          continue;
        }
        lines.add("a" + i + "\t" + (sire[i] == null ? "0" : sire[i]) + "\t" + (dam[i] == null ? "NA" : dam[i]));
      }
      Collections.shuffle(lines, rnd);
      Pedigree p = Pedigree.parse("random", new StringReader("id\tsire\tdam\n" + String.join("\n", lines)));
      NumeratorRelationship nr = NumeratorRelationship.of(p);
      int m = p.size();
      double[] a = nr.dense();

      // The definition, recursively over IDs (not the engine's order): expand the younger one.
      Map<String, String[]> parents = new HashMap<>();
      for (int i = 0; i < n; i++) {
        parents.put("a" + i, new String[] {sire[i], dam[i]});
      }
      Definition definition = new Definition(parents);
      double[] f = nr.inbreeding();
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < m; j++) {
          double def = definition.relationship(p.id(i).iid(), p.id(j).iid());
          assertClose(a[i + j * m], def, 1e-12, 0, "A[" + p.id(i).iid() + "," + p.id(j).iid() + "]");
        }
        assertClose(f[i], a[i + i * m] - 1, 1e-12, 0, "F (Meuwissen–Luo) vs diag(A) − 1 of " + p.id(i).iid());
      }

      int inbred = 0;
      for (double v : f) {
        inbred += v > 0 ? 1 : 0;
      }
      assertTrue(inbred > 5, "the random pedigree should exercise inbreeding, has " + inbred + " inbred");
      assertTrue(p.reordered() && p.foundersAdded() > 0, "the shuffled pedigree should need sorting and added founders");

      // A · A⁻¹ = I, and log|A| = Σ log D by a plain Cholesky.
      double[] inv = nr.inverse().toDense();
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < m; j++) {
          double s = 0;
          for (int k = 0; k < m; k++) {
            s += a[i + k * m] * inv[k + j * m];
          }
          assertClose(s, i == j ? 1 : 0, 1e-9, 0, "(A A⁻¹)[" + i + "," + j + "]");
        }
      }
      assertClose(nr.logDeterminant(), choleskyLogDet(a, m), 1e-9, 1e-12, "log|A|");

      // A restricted to some individuals (in a scrambled order) is the sub-matrix of the full A.
      int[] some = {m - 1, 3, m / 2, 0, m - 5};
      double[] sub = nr.dense(some);
      Grm g = nr.grm(some);
      for (int r = 0; r < some.length; r++) {
        for (int c = 0; c < some.length; c++) {
          double full = a[some[r] + some[c] * m];
          assertClose(sub[r + c * some.length], full, 1e-15, 0, "sub-A");
          assertClose(g.get(r, c), full, 0, 1e-7, "Grm (float) sub-A");
        }
        assertEquals(p.id(some[r]), g.ids().get(r));
      }
    }
  }

  @Test
  void sparseAssemblySumsDuplicatesAndMultiplies() {
    // 3×3: triplets in both triangles, duplicates summed.
    SparseSymmetric s = SparseSymmetric.fromTriplets(3, new int[] {0, 1, 0, 2, 2, 1}, new int[] {0, 0, 1, 2, 0, 1},
        new double[] {1, 2, 3, 4, 5, 6}, 6);
    double[] dense = {1, 5, 5, 5, 6, 0, 5, 0, 4};
    assertClose(s.toDense(), dense, 0, 0, "dense");
    assertEquals(5, s.storedEntries());
    double[] y = s.multiply(new double[] {1, 2, 3});
    assertClose(y, new double[] {1 + 10 + 15, 5 + 12, 5 + 12}, 0, 0, "M x");
  }

  private static String pick(Random rnd, List<Integer> pool, int recent) {
    if (pool.isEmpty() || rnd.nextDouble() < 0.15) {
      return null;
    }
    int from = Math.max(0, pool.size() - recent);
    return "a" + pool.get(from + rnd.nextInt(pool.size() - from));
  }

  /** The definition of A written plainly over IDs, memoized: no ordering taken from the engine. */
  private static final class Definition {
    private final Map<String, String[]> parents;
    private final Map<String, Integer> generation = new HashMap<>();
    private final Map<String, Double> memo = new HashMap<>();

    Definition(Map<String, String[]> parents) {
      this.parents = parents;
    }

    /** Founders 0, else one more than the older parent's: an ancestor is always strictly older. */
    int generation(String x) {
      if (x == null) {
        return -1;
      }
      Integer g = generation.get(x);
      if (g == null) {
        String[] p = parents.get(x);
        g = 1 + Math.max(generation(p[0]), generation(p[1]));
        generation.put(x, g);
      }
      return g;
    }

    /** Emik–Terrill recursion: A(x,x) = 1 + ½A(s,d); A(x,y) = ½(A(s_x,y) + A(d_x,y)) for x not older than y. */
    double relationship(String x, String y) {
      if (x == null || y == null) {
        return 0;
      }
      String key = x + "|" + y;
      Double cached = memo.get(key);
      if (cached != null) {
        return cached;
      }
      double v;
      if (x.equals(y)) {
        String[] p = parents.get(x);
        v = 1 + 0.5 * relationship(p[0], p[1]);
      } else if (generation(x) >= generation(y)) {
        String[] p = parents.get(x); // x cannot be an ancestor of y
        v = 0.5 * (relationship(p[0], y) + relationship(p[1], y));
      } else {
        v = relationship(y, x);
      }
      memo.put(key, v);
      return v;
    }
  }

  private static double choleskyLogDet(double[] a, int n) {
    double[] l = a.clone();
    double logDet = 0;
    for (int j = 0; j < n; j++) {
      double d = l[j + j * n];
      for (int k = 0; k < j; k++) {
        d -= l[j + k * n] * l[j + k * n];
      }
      d = Math.sqrt(d);
      l[j + j * n] = d;
      logDet += 2 * Math.log(d);
      for (int i = j + 1; i < n; i++) {
        double s = l[i + j * n];
        for (int k = 0; k < j; k++) {
          s -= l[i + k * n] * l[j + k * n];
        }
        l[i + j * n] = s / d;
      }
    }
    return logDet;
  }

  /** Gaussian elimination with partial pivoting on a column-major dim×dim system. */
  private static double[] solve(double[] a, double[] b, int dim) {
    a = a.clone();
    b = b.clone();
    for (int c = 0; c < dim; c++) {
      int piv = c;
      for (int r = c + 1; r < dim; r++) {
        if (Math.abs(a[r + c * dim]) > Math.abs(a[piv + c * dim])) {
          piv = r;
        }
      }
      for (int k = 0; k < dim; k++) {
        double t = a[c + k * dim];
        a[c + k * dim] = a[piv + k * dim];
        a[piv + k * dim] = t;
      }
      double t = b[c];
      b[c] = b[piv];
      b[piv] = t;
      for (int r = c + 1; r < dim; r++) {
        double factor = a[r + c * dim] / a[c + c * dim];
        for (int k = c; k < dim; k++) {
          a[r + k * dim] -= factor * a[c + k * dim];
        }
        b[r] -= factor * b[c];
      }
    }
    double[] x = new double[dim];
    for (int r = dim - 1; r >= 0; r--) {
      double s = b[r];
      for (int k = r + 1; k < dim; k++) {
        s -= a[r + k * dim] * x[k];
      }
      x[r] = s / a[r + r * dim];
    }
    return x;
  }

  private static double[] colMajor(double[][] rows) {
    int n = rows.length;
    double[] out = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        out[i + j * n] = rows[i][j];
      }
    }
    return out;
  }
}
