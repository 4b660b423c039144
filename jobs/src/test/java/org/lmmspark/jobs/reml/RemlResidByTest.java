package org.lmmspark.jobs.reml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.jobs.cli.Lmmspark;

/**
 * {@code reml --grm G --resid-by env} is the model {@code fit --formula 'y ~ env + (1 | IID:G)' --grm G=…
 * --resid-by env} writes (fit's model frame and the same fitter, checked there against nlme's varIdent in
 * {@code nlme-bodyweight-varident}): same REML logLik and variances to 1e-6, on regenie-example's GRM
 * (500 samples) with a trait simulated from that GRM and two residual variances (see {@link #data}).
 */
class RemlResidByTest extends RegenieExampleGrmFixture {
  /**
   * Simulated from the GRM K itself so that V(G) is well inside the parameter space: y = g + e with
   * g ~ N(0, 1.0·K) (through K's eigendecomposition, negative eigenvalues clipped) and e ~ N(0, 0.5) in
   * "mild", N(0, 2.0) in "harsh" (every third sample). The same records twice: a phenotype file FID IID y env
   * for reml, a table IID y env for fit.
   */
  private Path[] data() throws Exception {
    if (records == null) {
      records = simulate();
    }
    Path p = tmp.resolve("pheno_env.txt");
    Path t = tmp.resolve("table.txt");
    Files.writeString(p, records[0]);
    Files.writeString(t, records[1]);
    return new Path[] {p, t};
  }

  /** The two files' text, simulated once for the class (the eigendecomposition of K takes a second). */
  private static String[] records;

  private static String[] simulate() throws Exception {
    Grm k = GctaGrmFiles.read(grm, new Configuration());
    int n = k.size();
    RealMatrix km = new Array2DRowRealMatrix(n, n);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        km.setEntry(i, j, k.get(i, j));
      }
    }
    EigenDecomposition eig = new EigenDecomposition(km);
    Random rng = new Random(7);
    double[] z = new double[n];
    for (int i = 0; i < n; i++) {
      z[i] = rng.nextGaussian() * Math.sqrt(Math.max(0, eig.getRealEigenvalue(i)));
    }
    double[] g = eig.getV().operate(z);
    StringBuilder pheno = new StringBuilder("FID IID y env\n");
    StringBuilder table = new StringBuilder("IID y env\n");
    for (int i = 0; i < n; i++) {
      SampleId id = k.ids().get(i);
      String env = i % 3 == 0 ? "harsh" : "mild";
      double y = 3 + g[i] + rng.nextGaussian() * Math.sqrt(env.equals("harsh") ? 2.0 : 0.5);
      pheno.append(id.fid()).append(' ').append(id.iid()).append(' ').append(y).append(' ').append(env).append('\n');
      table.append(id.iid()).append(' ').append(y).append(' ').append(env).append('\n');
    }
    return new String[] {pheno.toString(), table.toString()};
  }

  private static double number(String json, String regex) {
    Matcher m = Pattern.compile(regex + "\\s*([-+0-9.eE]+)").matcher(json);
    assertTrue(m.find(), regex + " in " + json);
    return Double.parseDouble(m.group(1));
  }

  @Test
  void equalsFitWithTheSameModel() throws Exception {
    Path[] d = data();
    String out = tmp.resolve("reml").toString();
    assertEquals(0, Lmmspark.run("reml", "--grm", grm, "--pheno", d[0].toString(), "--pheno-name", "y", "--resid-by",
        "env", "--out", out));
    String fitOut = tmp.resolve("fit").toString();
    assertEquals(0, Lmmspark.run("fit", "--data", d[1].toString(), "--formula", "y ~ env + (1 | IID:G)", "--grm",
        "G=" + grm, "--resid-by", "env", "--out", fitOut));
    String reml = Files.readString(Path.of(out + ".json"));
    String fit = Files.readString(Path.of(fitOut + ".json"));
    assertClose(number(reml, "\"logLik\":"), number(fit, "\"logLik\":"), 1e-6, 1e-6, "logLik");
    assertClose(number(reml, "\"name\": \"V\\(G\\)\",\\s*\"value\":"),
        number(fit, "\"name\": \"IID:G:\\(Intercept\\)\",\\s*\"estimate\":"), 1e-6, 1e-6, "V(G)");
    for (String level : List.of("harsh", "mild")) {
      assertClose(number(reml, "\"name\": \"V\\(e_" + level + "\\)\",\\s*\"value\":"),
          number(fit, "\"name\": \"residual:env=" + level + "\",\\s*\"estimate\":"), 1e-6, 1e-6, "V(e_" + level + ")");
    }
    List<String> hsq = Files.readAllLines(Path.of(out + ".hsq"));
    assertEquals("Source\tVariance\tSE", hsq.get(0));
    java.util.Map<String, Double> rows = new java.util.HashMap<>();
    for (String l : hsq.subList(1, hsq.size())) {
      String[] f = l.split("\t");
      rows.put(f[0], Double.parseDouble(f[1]));
    }
    // Simulated truth (V(G) = 1, V(e_harsh) = 2, V(e_mild) = 0.5): within 3 of the reported SEs.
    double[] truth = {1, 2, 0.5};
    String[] names = {"V(G)", "V(e_harsh)", "V(e_mild)"};
    for (int c = 0; c < 3; c++) {
      String[] row = row(hsq, names[c]);
      assertTrue(Math.abs(Double.parseDouble(row[1]) - truth[c]) < 3 * Double.parseDouble(row[2]),
          names[c] + " vs truth " + truth[c] + ": " + hsq);
    }
    for (String level : List.of("harsh", "mild")) {
      double vp = rows.get("V(G)") + rows.get("V(e_" + level + ")");
      assertClose(rows.get("Vp_" + level), vp, 1e-5, 1e-5, "Vp_" + level);
      assertClose(rows.get("V(G)/Vp_" + level), rows.get("V(G)") / vp, 1e-5, 1e-4, "V(G)/Vp_" + level);
    }
    assertEquals(500.0, rows.get("n"));
    assertEquals(500.0, rows.get("n_harsh") + rows.get("n_mild"));
    assertTrue(reml.contains("\"name\": \"env=mild\"") || reml.contains("env=mild"), "env is a fixed effect: " + reml);
  }

  /** GCTA's GxE component with per-environment residuals: {@code fit}'s {@code (1 | env:IID:G)} and --resid-by env. */
  @Test
  void gxeWithResidualsPerEnvironmentEqualsFit() throws Exception {
    Path[] d = data();
    String out = tmp.resolve("gxe").toString();
    assertEquals(0, Lmmspark.run("reml", "--grm", grm, "--pheno", d[0].toString(), "--pheno-name", "y", "--gxe", "env",
        "--resid-by", "env", "--out", out));
    String fitOut = tmp.resolve("fitgxe").toString();
    assertEquals(0, Lmmspark.run("fit", "--data", d[1].toString(), "--formula", "y ~ env + (1 | IID:G) + (1 | env:IID:G)",
        "--grm", "G=" + grm, "--resid-by", "env", "--out", fitOut));
    String reml = Files.readString(Path.of(out + ".json"));
    String fit = Files.readString(Path.of(fitOut + ".json"));
    assertClose(number(reml, "\"logLik\":"), number(fit, "\"logLik\":"), 1e-6, 1e-6, "logLik");
    for (String level : List.of("harsh", "mild")) {
      assertClose(number(reml, "\"name\": \"V\\(e_" + level + "\\)\",\\s*\"value\":"),
          number(fit, "\"name\": \"residual:env=" + level + "\",\\s*\"estimate\":"), 1e-6, 1e-6, "V(e_" + level + ")");
    }
    assertTrue(reml.contains("\"name\": \"V(GxE)/Vp_harsh\""), reml);
  }

  private static String[] row(List<String> hsq, String name) {
    return hsq.stream().filter(l -> l.startsWith(name + "\t")).findFirst().orElseThrow().split("\t");
  }

  @Test
  void refusesWhatItCannotFit() throws Exception {
    Path[] d = data();
    String pheno = d[0].toString();
    String out = tmp.resolve("bad").toString();
    // --fix of the residual: there is one per level.
    assertEquals(2, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno, "--pheno-name", "y", "--resid-by", "env",
        "--fix", "e=1", "--out", out));
    // A component's variance may be held (here at its simulated value), the residuals estimated.
    String fixed = tmp.resolve("fixed").toString();
    assertEquals(0, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno, "--pheno-name", "y", "--resid-by", "env",
        "--fix", "G=1", "--out", fixed));
    assertEquals(1.0, Double.parseDouble(row(Files.readAllLines(Path.of(fixed + ".hsq")), "V(G)")[1]));
    // A GLMM has no residual variance to split.
    assertEquals(2, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno, "--pheno-name", "y", "--resid-by", "env",
        "--family", "poisson", "--out", out));
    // One level: one residual variance is the default.
    Path one = tmp.resolve("one.txt");
    Files.writeString(one, Files.readString(d[0]).replace(" harsh", " mild"));
    assertEquals(2, Lmmspark.run("reml", "--grm", grm, "--pheno", one.toString(), "--pheno-name", "y", "--resid-by",
        "env", "--out", out));
    // No such column.
    assertEquals(2, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno, "--pheno-name", "y", "--resid-by", "nope",
        "--out", out));
    assertTrue(!Files.exists(Path.of(out + ".hsq")), "nothing written");
  }

  /** Refused before Spark starts ({@code auto} choosing matrix-free is refused once the route is known). */
  @Test
  void refusesTheMatrixFreeRoute() {
    Path sample = Path.of(System.getProperty("user.dir")).getParent().resolve("sample-data");
    String out = tmp.resolve("mf").toString();
    assertEquals(2, Lmmspark.run("reml", "--bfile", sample.resolve("sim").toString(), "--pheno",
        sample.resolve("sim.pheno").toString(), "--pheno-name", "y_quant", "--covar",
        sample.resolve("sim.covar").toString(), "--resid-by", "sex", "--solver", "matrix-free", "--out", out));
    assertTrue(!Files.exists(Path.of(out + ".hsq")), "nothing written");
  }
}
