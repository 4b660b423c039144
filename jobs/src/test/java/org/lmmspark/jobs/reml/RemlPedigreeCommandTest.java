package org.lmmspark.jobs.reml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.LUDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.jobs.cli.Lmmspark;
import org.lmmspark.jobs.testing.LmmsparkCli;

/**
 * {@code lmmspark reml --pedigree} end to end on Mrode's Example 3.1 (../shared/refdata/mrode-pedigree:
 * pre-weaning gain of calves 4–8, sex fixed, pedigree of animals 1–8). The book's BLUPs assume known
 * variances, which REML does not; so the check is that the reported REML fit is what a plain
 * computation with the pedigree's A gives: its logL equals {@code −½(log|V| + log|XᵀV⁻¹X| + yᵀPy)} at
 * the reported variances with {@code V = σ²_a A + σ²_e I}, A of calves 4–8 from nadiv::makeA(Mrode3)
 * (peer_output.txt of pedigreemm-milk), and no nearby feasible point has a higher likelihood.
 */
class RemlPedigreeCommandTest {
  // nadiv 2.18.0 makeA(Mrode3), rows/columns 4..8 (peer_output.txt, "== Mrode3 ==").
  static final double[][] A48 = {
      {1.000, 0.000, 0.25, 0.50, 0.125},
      {0.000, 1.000, 0.25, 0.50, 0.375},
      {0.250, 0.250, 1.00, 0.25, 0.500},
      {0.500, 0.500, 0.25, 1.00, 0.250},
      {0.125, 0.375, 0.50, 0.25, 1.000}};
  // Example 3.1: animals 4..8, sex M F F M M, gain 4.5 2.9 3.9 3.5 5.0.
  static final double[] Y = {4.5, 2.9, 3.9, 3.5, 5.0};
  static final boolean[] MALE = {true, false, false, true, true};

  static Path dir;
  @TempDir
  Path tmp;

  @BeforeAll
  static void find() {
    dir = RefData.dir("mrode-pedigree");
  }

  /** Phenotype file: FID differs from the pedigree's IDs, so matching must be on IID. */
  Path phenoFile(String extraLines) throws Exception {
    StringBuilder sb = new StringBuilder("FID IID wwg sex\n");
    String[] sex = {"M", "F", "F", "M", "M"};
    for (int i = 0; i < 5; i++) {
      sb.append("herdA ").append(i + 4).append(' ').append(Y[i]).append(' ').append(sex[i]).append('\n');
    }
    Path p = tmp.resolve("calves.txt");
    Files.writeString(p, sb + extraLines);
    return p;
  }

  static double jsonNumber(String json, String key) {
    Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\": (-?[0-9.eE+-]+)").matcher(json);
    assertTrue(m.find(), key + " in " + json);
    return Double.parseDouble(m.group(1));
  }

  /** REML logL without the 2π constant (GCTA's convention, as in the .json). */
  static double plainLogL(double va, double ve) {
    int n = 5;
    RealMatrix v = new Array2DRowRealMatrix(n, n);
    RealMatrix x = new Array2DRowRealMatrix(n, 2);
    RealMatrix y = new Array2DRowRealMatrix(n, 1);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        v.setEntry(i, j, va * A48[i][j] + (i == j ? ve : 0));
      }
      x.setEntry(i, 0, 1);
      x.setEntry(i, 1, MALE[i] ? 1 : 0);
      y.setEntry(i, 0, Y[i]);
    }
    LUDecomposition lu = new LUDecomposition(v);
    RealMatrix vi = lu.getSolver().getInverse();
    RealMatrix c = x.transpose().multiply(vi).multiply(x);
    RealMatrix p = vi.subtract(vi.multiply(x).multiply(new LUDecomposition(c).getSolver().getInverse())
        .multiply(x.transpose()).multiply(vi));
    double yPy = y.transpose().multiply(p).multiply(y).getEntry(0, 0);
    return -0.5 * (Math.log(lu.getDeterminant()) + Math.log(new LUDecomposition(c).getDeterminant()) + yPy);
  }

  @Test
  void mrodeExample31RunsWithPedigreeA() throws Exception {
    String out = tmp.resolve("mrode").toString();
    int rc = Lmmspark.run("reml", "--pedigree", dir.resolve("example3_1.txt").toString(), "--pheno",
        phenoFile("").toString(), "--pheno-name", "wwg", "--covar-names", "sex", "--solver", "dense",
        "--allow-nonconvergence", "--blup", "--out", out);
    assertEquals(0, rc);
    String json = Files.readString(Path.of(out + ".json"));
    assertTrue(json.contains("\"name\": \"A\"") && json.contains("\"name\": \"sex=M\""), json);
    String log = Files.readString(Path.of(out + ".log"));
    assertTrue(log.contains("matched on IID (the pedigree has no family IDs): 5 of the 5 individuals")
        && log.contains("computed with 3 ancestors"), log);
    double va = jsonNumber(json, "variance");
    double ve = jsonNumber(json.substring(json.indexOf("\"name\": \"e\"")), "variance");
    double logL = jsonNumber(json, "logL");
    // The reported logL is the plain REML likelihood with Mrode's A at the reported variances (1e-8:
    // direct linear algebra on 5×5; the JSON prints 10 significant digits).
    assertClose(logL, plainLogL(va, ve), 1e-7, 0, "logL vs plain computation");
    // ... and it is a maximum over nearby feasible points.
    for (double fa : new double[] {0.9, 1.0, 1.1}) {
      for (double fe : new double[] {0.9, 1.0, 1.1}) {
        double a = Math.max(0, va * fa + (va == 0 ? (fa - 1) : 0));
        assertTrue(plainLogL(a, ve * fe) <= logL + 1e-7, "logL at (" + a + ", " + ve * fe + ") exceeds the fit");
      }
    }
    assertEquals(6, Files.readAllLines(Path.of(out + ".blup.txt")).size());
  }

  @Test
  void phenotypedIndividualAbsentFromThePedigreeIsDroppedAndCounted() throws Exception {
    String out = tmp.resolve("absent").toString();
    int rc = Lmmspark.run("reml", "--pedigree", dir.resolve("example3_1.txt").toString(), "--pheno",
        phenoFile("herdA 99 4.1 M\n").toString(), "--pheno-name", "wwg", "--covar-names", "sex", "--solver", "dense",
        "--allow-nonconvergence", "--out", out);
    assertEquals(0, rc);
    String log = Files.readString(Path.of(out + ".log"));
    assertTrue(log.contains("6 samples, 5 used, 1 dropped (1 absent from relationship matrix A")
        && log.contains("lacks 1 of the phenotyped samples, e.g. herdA 99")
        && log.contains("5 of the 6 individuals of the phenotype file found"), log);
    assertEquals(5, (int) jsonNumber(Files.readString(Path.of(out + ".json")), "analysed"));
  }

  @Test
  void repeatedIndividualWithoutTheFlagIsAnErrorNamingFileAndLine() throws Exception {
    String pheno = phenoFile("herdA 5 3.0 F\n").toString();
    String err = LmmsparkCli.run(2, "reml", "--pedigree", dir.resolve("example3_1.txt").toString(), "--pheno", pheno,
        "--pheno-name", "wwg", "--covar-names", "sex", "--out", tmp.resolve("dup").toString());
    assertTrue(err.contains(pheno + ":7") && err.contains("listed twice (first at line 3)")
        && err.contains("--repeated-records"), err);
  }

  @Test
  void permanentEnvironmentNeedsRepeatedRecords() throws Exception {
    String err = LmmsparkCli.run(2, "reml", "--pedigree", dir.resolve("example3_1.txt").toString(), "--pheno",
        phenoFile("").toString(), "--pheno-name", "wwg", "--permanent-environment", "--out",
        tmp.resolve("pe").toString());
    assertTrue(err.contains("--permanent-environment needs --repeated-records"), err);
  }

  /** The rows of a tab-separated output keyed by the given columns joined with '/'. */
  static java.util.Map<String, String[]> rows(Path file, int... keyColumns) throws Exception {
    java.util.Map<String, String[]> out = new java.util.LinkedHashMap<>();
    for (String line : Files.readAllLines(file).subList(1, Files.readAllLines(file).size())) {
      String[] f = line.split("\t");
      StringBuilder key = new StringBuilder();
      for (int c : keyColumns) {
        key.append(key.length() == 0 ? "" : "/").append(f[c]);
      }
      out.put(key.toString(), f);
    }
    return out;
  }

  /**
   * Mrode Example 3.1 with σ²_a = 20 and σ²_e = 40 known (EXPECTED.md): {@code --fix} routes the
   * pedigree model to the mixed-model equations, no optimization; OUT.blue.txt holds the sex
   * solutions and OUT.blup.levels.txt the BLUPs of all 8 animals, ancestors 1–3 without records
   * included, to the book's printed 3 decimals (tolerance 1e-3 as EXPECTED.md states).
   */
  @Test
  void mrodeExample31WithKnownVariances() throws Exception {
    String out = tmp.resolve("known").toString();
    int rc = Lmmspark.run("reml", "--pedigree", dir.resolve("example3_1.txt").toString(), "--pheno",
        phenoFile("").toString(), "--pheno-name", "wwg", "--covar-names", "sex", "--fix", "A=20", "--fix", "V(e)=40",
        "--blup", "--out", out);
    assertEquals(0, rc);
    String json = Files.readString(Path.of(out + ".json"));
    assertTrue(json.contains("\"solver\": \"sparse-mme\"") && json.contains("\"known\": true"), json);
    assertTrue(Files.readString(Path.of(out + ".log")).contains("all variance parameters known (A=20, e=40)"));
    java.util.Map<String, String[]> blue = rows(Path.of(out + ".blue.txt"), 0);
    double female = Double.parseDouble(blue.get("intercept")[1]);
    double male = female + Double.parseDouble(blue.get("sex=M")[1]);
    // Mrode: male 4.359 (the book prints 4.358), female 3.404.
    assertClose(male, 4.359, 1e-3, 0, "male");
    assertClose(female, 3.404, 1e-3, 0, "female");
    java.util.Map<String, String[]> levels = rows(Path.of(out + ".blup.levels.txt"), 0, 1);
    double[] book = {0.098, -0.019, -0.041, -0.009, -0.186, 0.177, -0.249, 0.183};
    assertEquals(8, levels.size());
    for (int k = 0; k < 8; k++) {
      String[] row = levels.get("A/" + (k + 1));
      assertClose(Double.parseDouble(row[3]), book[k], 1e-3, 0, "BLUP animal " + (k + 1));
      double pev = Double.parseDouble(row[4]);
      assertTrue(pev > 0 && pev < 20 * 1.125, "PEV within (0, σ²_a(1+F)]: " + pev);
    }
  }

  /**
   * σ²_e known, σ²_a estimated: the sparse route and the dense route (V built from A of the calves and
   * Cholesky-factored) reach the same estimate (1e-6 relative: both converge to |Δℓ| < 1e-8).
   */
  @Test
  void someVariancesKnownAgreeOnBothRoutes() throws Exception {
    Path fixFile = tmp.resolve("known.txt");
    Files.writeString(fixFile, "# known residual variance\ne 40\n");
    double[] va = new double[2];
    String[] solvers = {"sparse", "dense"};
    for (int r = 0; r < 2; r++) {
      String out = tmp.resolve("partial-" + solvers[r]).toString();
      assertEquals(0, Lmmspark.run("reml", "--pedigree", dir.resolve("example3_1.txt").toString(), "--pheno",
          phenoFile("").toString(), "--pheno-name", "wwg", "--covar-names", "sex", "--fix-file", fixFile.toString(),
          "--solver", solvers[r], "--allow-nonconvergence", "--out", out));
      String json = Files.readString(Path.of(out + ".json"));
      va[r] = jsonNumber(json, "variance");
      assertClose(jsonNumber(json.substring(json.indexOf("\"name\": \"e\"")), "variance"), 40, 0, 0, "e known");
    }
    assertClose(va[0], va[1], 1e-9, 1e-6, "V(A) sparse vs dense");
  }

  @Test
  void unknownFixNameIsAnError() throws Exception {
    String err = LmmsparkCli.run(2, "reml", "--pedigree", dir.resolve("example3_1.txt").toString(), "--pheno",
        phenoFile("").toString(), "--pheno-name", "wwg", "--fix", "Q=1", "--out", tmp.resolve("q").toString());
    assertTrue(err.contains("--fix Q: the model has no variance of that name; its variances are [A, e]"), err);
  }
  /**
   * --keep with a pedigree model: the relationship is subset to the kept samples (the pedigree itself
   * is not: BLUPs still cover all 8 animals); calf 8 is left out, so 4 records remain and the fit is
   * refused as too small — the message shows the selection reached the relationship matrix.
   */
  @Test
  void keepSubsetsAPedigreeRelationship() throws Exception {
    Path keep = tmp.resolve("keep.txt");
    Files.writeString(keep, "herdA 4\nherdA 5\nherdA 6\nherdA 7\n");
    String err = LmmsparkCli.run(2, "reml", "--pedigree", dir.resolve("example3_1.txt").toString(), "--pheno",
        phenoFile("").toString(), "--pheno-name", "wwg", "--keep", keep.toString(), "--fix", "A=20", "--fix", "e=40",
        "--out", tmp.resolve("kept").toString());
    assertTrue(err.contains("lacks 1 of the phenotyped samples, e.g. herdA 8"), err);
    Files.writeString(keep, "herdA 4\nherdA 5\nherdA 6\nherdA 7\nherdA 8\n");
    String out = tmp.resolve("kept5").toString();
    assertEquals(0, Lmmspark.run("reml", "--pedigree", dir.resolve("example3_1.txt").toString(), "--pheno",
        phenoFile("herdA 99 4.1 M\n").toString(), "--pheno-name", "wwg", "--keep", keep.toString(), "--fix", "A=20",
        "--fix", "e=40", "--blup", "--out", out));
    assertEquals(5, (int) jsonNumber(Files.readString(Path.of(out + ".json")), "analysed"));
    assertEquals(9, Files.readAllLines(Path.of(out + ".blup.levels.txt")).size()); // header + all 8 animals
  }
}
