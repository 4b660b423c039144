package org.lmmspark.jobs.reml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.LUDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.jobs.cli.Lmmspark;

/** The real entry point on ../shared/refdata/regenie-example (GEMMA values from its EXPECTED.md §2). */
class RemlCommandTest extends RegenieExampleGrmFixture {
  static Map<String, String[]> readHsq(Path p) throws Exception {
    Map<String, String[]> rows = new HashMap<>();
    List<String> lines = Files.readAllLines(p);
    assertEquals("Source\tVariance\tSE\tSE_observed_information", lines.get(0));
    for (String l : lines.subList(1, lines.size())) {
      String[] f = l.split("\t");
      rows.put(f[0], f);
    }
    return rows;
  }

  @Test
  void y2WithCovariatesMatchesGemma() throws Exception {
    String out = tmp.resolve("y2").toString();
    int rc = Lmmspark.run("reml", "--grm", grm, "--pheno", dir.resolve("phenotype.txt").toString(), "--pheno-name", "Y2",
        "--qcovar", dir.resolve("covariates.txt").toString(), "--blup", "--out", out);
    assertEquals(0, rc);
    Map<String, String[]> h = readHsq(Path.of(out + ".hsq"));
    // GEMMA 0.98.5 -lmm 1, Y2 with V1 V2 V3: vg = 0.0278827, ve = 0.350056 (EXPECTED.md §2; 1e-3 relative).
    assertClose(Double.parseDouble(h.get("V(G)")[1]), 0.0278827, 0, 1e-3, "V(G)");
    assertClose(Double.parseDouble(h.get("V(e)")[1]), 0.350056, 0, 1e-3, "V(e)");
    assertEquals("1", h.get("df")[1]);
    assertEquals("500", h.get("n")[1]);
    for (String row : List.of("Vp", "V(G)/Vp", "logL", "logL0", "LRT", "Pval")) {
      assertTrue(h.containsKey(row), row);
    }
    // The observed-information SE column is GEMMA's se(pve) = 0.0971837 (same table) once GEMMA's pve
    // scaling is undone: pve = cλ/(cλ + 1), h² = λ/(λ + 1), λ = V(G)/V(e), c = tr(K)/n, so by the delta
    // method se(pve) = se(h²)·c(λ + 1)²/(cλ + 1)². 1e-3 relative (GEMMA's 6 digits, two optimizers).
    double lambda = Double.parseDouble(h.get("V(G)")[1]) / Double.parseDouble(h.get("V(e)")[1]);
    org.lmmspark.engine.kinship.Grm k = org.lmmspark.engine.io.GctaGrmFiles.read(grm, new Configuration());
    double c = 0;
    for (int i = 0; i < k.size(); i++) {
      c += k.get(i, i) / k.size();
    }
    double seObs = Double.parseDouble(h.get("V(G)/Vp")[3]);
    assertClose(seObs * c * (lambda + 1) * (lambda + 1) / ((c * lambda + 1) * (c * lambda + 1)), 0.0971837, 0, 1e-3,
        "observed-information SE vs GEMMA se(pve)");
    String json = Files.readString(Path.of(out + ".json"));
    assertTrue(json.contains("\"se_observed_information\"") && json.contains("\"se_method\""), json);
    assertTrue(json.contains("\"solver\": \"spectral\"") && json.contains("\"converged\": true"), json);
    assertTrue(json.contains("\"name\": \"V3\""), json);
    List<String> blup = Files.readAllLines(Path.of(out + ".blup.txt"));
    assertEquals("FID\tIID\tBLUP_G\tresidual", blup.get(0));
    assertEquals(501, blup.size());
    String log = Files.readString(Path.of(out + ".log"));
    assertTrue(log.contains("command: lmmspark reml --grm") && log.contains("500 used, 0 dropped"), log);
  }

  /**
   * {@code --gxe COLUMN} wired through the command (the likelihood is checked against a brute-force
   * maximum and simulated truth in the engine's {@code RemlGxeTest}): GCTA's rows V(GxE) and
   * V(GxE)/Vp, the environment a fixed effect, Vp the sum of the three variances.
   */
  @Test
  void gxeAddsTheGctaComponentAndTheEnvironmentAsAFixedEffect() throws Exception {
    List<String> lines = Files.readAllLines(dir.resolve("phenotype.txt"));
    StringBuilder sb = new StringBuilder(lines.get(0).trim() + " env\n");
    for (int i = 1; i < lines.size(); i++) {
      sb.append(lines.get(i).trim()).append(i % 2 == 0 ? " a" : " b").append('\n');
    }
    Path pheno = tmp.resolve("pheno_env.txt");
    Files.writeString(pheno, sb.toString());
    String out = tmp.resolve("gxe").toString();
    assertEquals(0, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno.toString(), "--pheno-name", "Y1", "--gxe", "env",
        "--out", out));
    Map<String, String[]> h = readHsq(Path.of(out + ".hsq"));
    double vg = Double.parseDouble(h.get("V(G)")[1]);
    double vgxe = Double.parseDouble(h.get("V(GxE)")[1]);
    double ve = Double.parseDouble(h.get("V(e)")[1]);
    assertClose(Double.parseDouble(h.get("Vp")[1]), vg + vgxe + ve, 1e-5, 1e-5, "Vp");
    assertClose(Double.parseDouble(h.get("V(GxE)/Vp")[1]), vgxe / (vg + vgxe + ve), 1e-5, 1e-4, "V(GxE)/Vp");
    assertEquals("500", h.get("n")[1]);
    String json = Files.readString(Path.of(out + ".json"));
    assertTrue(json.contains("env=b"), "the environment is a fixed effect: " + json);
    assertEquals(2, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno.toString(), "--pheno-name", "Y1", "--gxe", "nope",
        "--out", tmp.resolve("bad").toString()));
  }

  @Test
  void blupsEqualThePlainFormula() {
    String out = tmp.resolve("b").toString();
    RemlJob.Result r = RemlJob.run(new RemlJob.Options(List.of(grm), false, List.of(), List.of(),
        dir.resolve("phenotype.txt").toString(), "Y1", null, null, true, "auto", false, 100, out, "test"),
        new Configuration());
    RemlProblem p = r.inputs().problem();
    int n = p.n();
    double vg = r.fit().theta()[0];
    double ve = r.fit().theta()[1];
    // û = σ²_g K V⁻¹ (y − Xβ̂) with V = σ²_g K + σ²_e I, β̂ = GLS, written plainly with commons-math3.
    double[] kd = p.components().get(0).covariance().toDense();
    RealMatrix k = new Array2DRowRealMatrix(n, n);
    RealMatrix v = new Array2DRowRealMatrix(n, n);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        k.setEntry(i, j, kd[i + j * n]);
        v.setEntry(i, j, vg * kd[i + j * n] + (i == j ? ve : 0));
      }
    }
    RealMatrix vi = new LUDecomposition(v).getSolver().getInverse();
    RealMatrix x = new Array2DRowRealMatrix(n, 1);
    RealMatrix y = new Array2DRowRealMatrix(n, 1);
    for (int i = 0; i < n; i++) {
      x.setEntry(i, 0, 1);
      y.setEntry(i, 0, p.y()[i]);
    }
    RealMatrix beta = new LUDecomposition(x.transpose().multiply(vi).multiply(x)).getSolver().getInverse()
        .multiply(x.transpose()).multiply(vi).multiply(y);
    RealMatrix u = k.multiply(vi).multiply(y.subtract(x.multiply(beta))).scalarMultiply(vg);
    double[][] b = r.fit().blups(p);
    for (int i = 0; i < n; i++) {
      assertClose(b[0][i], u.getEntry(i, 0), 1e-10, 1e-8, "BLUP " + i);
    }
  }

  @Test
  void additiveEpistaticAndGroupComponents() throws Exception {
    // A batch column (10 batches by sample order) in a categorical covariate file.
    List<String> fam = Files.readAllLines(dir.resolve("example.fam"));
    StringBuilder sb = new StringBuilder("FID IID batch\n");
    for (int i = 0; i < fam.size(); i++) {
      String[] f = fam.get(i).trim().split("\\s+");
      sb.append(f[0]).append(' ').append(f[1]).append(" b").append(i % 10).append('\n');
    }
    Path cov = tmp.resolve("batch.txt");
    Files.writeString(cov, sb.toString());
    String out = tmp.resolve("multi").toString();
    int rc = Lmmspark.run("reml", "--grm", grm, "--epistatic", "--group", "batch", "--covar", cov.toString(), "--pheno",
        dir.resolve("phenotype.txt").toString(), "--pheno-name", "Y2", "--out", out);
    assertEquals(0, rc);
    Map<String, String[]> h = readHsq(Path.of(out + ".hsq"));
    for (String row : List.of("V(G)", "V(GxG)", "V(batch)", "V(e)", "Vp", "V(G)/Vp", "V(GxG)/Vp", "V(batch)/Vp",
        "Sum of V(G)/Vp")) {
      assertTrue(h.containsKey(row), row + " in " + h.keySet());
    }
    assertEquals("3", h.get("df")[1]);
    assertTrue(Files.readString(Path.of(out + ".json")).contains("\"solver\": \"dense-ai\""));
  }

  @Test
  void badInputExitsTwoAndWritesNothing() throws Exception {
    Path pheno = tmp.resolve("const.txt");
    Files.writeString(pheno, "FID IID Y\n" + String.join("", Files.readAllLines(dir.resolve("example.fam")).stream()
        .map(l -> l.trim().split("\\s+")).map(f -> f[0] + " " + f[1] + " 3\n").toList()));
    String out = tmp.resolve("c").toString();
    assertEquals(2, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno.toString(), "--out", out));
    assertFalse(Files.exists(Path.of(out + ".hsq")));
    assertEquals(2, Lmmspark.run("reml", "--grm", grm, "--grm", grm, "--solver", "spectral", "--pheno",
        dir.resolve("phenotype.txt").toString(), "--out", out));
  }

  @Test
  void nonConvergenceFailsUnlessAllowed() throws Exception {
    String out = tmp.resolve("nc").toString();
    String[] args = {"reml", "--grm", grm, "--pheno", dir.resolve("phenotype.txt").toString(), "--solver", "dense",
        "--max-iterations", "2", "--out", out};
    assertEquals(2, Lmmspark.run(args));
    assertFalse(Files.exists(Path.of(out + ".hsq")));
    assertTrue(Files.readString(Path.of(out + ".log")).contains("did not converge"));
    // The failed run left its log (it says why): replacing it takes --overwrite, as for any output.
    String[] allowed = java.util.Arrays.copyOf(args, args.length + 2);
    allowed[args.length] = "--allow-nonconvergence";
    allowed[args.length + 1] = "--overwrite";
    assertEquals(0, Lmmspark.run(allowed));
    assertTrue(Files.readString(Path.of(out + ".json")).contains("\"converged\": false"));
  }
}
