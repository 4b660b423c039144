package org.lmmspark.jobs.reml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.kinship.GrmKernel;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.SpectralReml;
import org.lmmspark.engine.reml.VarianceComponent;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.jobs.cli.Lmmspark;

/**
 * {@code lmmspark reml --bfile}: genotypes instead of a GRM, through the real entry point. Reference:
 * spectral REML on the GRM of the same genotypes computed here in one thread ({@link GrmKernel}), on
 * simulated data: n = 600, M = 1,500 on 3 chromosomes, no missing calls (so the matrix-free K, which
 * mean-imputes, and GCTA's GRM are the same matrix), h² = 0.5, one quantitative covariate.
 */
class RemlGenotypesCommandTest {
  static final int N = 600;
  static final int M = 1500;
  @TempDir
  static Path dir;
  static String prefix;
  static String pheno;
  static String qcovar;
  static RemlFit exact;

  @BeforeAll
  static void simulate() throws Exception {
    int[][] g = BedFixture.random(N, M, 0, 0, 91);
    int[] chr = new int[M];
    for (int v = 0; v < M; v++) {
      chr[v] = 1 + v * 3 / M;
    }
    prefix = BedFixture.write(dir, "g", g, chr);
    Random rnd = new Random(92);
    double[] y = BedFixture.additiveValues(g, 0.5, rnd);
    double[] c = new double[N];
    StringBuilder ph = new StringBuilder("FID\tIID\ty\n");
    StringBuilder qc = new StringBuilder("FID\tIID\tc\n");
    for (int j = 0; j < N; j++) {
      c[j] = rnd.nextGaussian();
      y[j] += 1 + 0.4 * c[j] + rnd.nextGaussian() * Math.sqrt(0.5);
      ph.append('F').append(j).append("\tI").append(j).append('\t').append(y[j]).append('\n');
      qc.append('F').append(j).append("\tI").append(j).append('\t').append(c[j]).append('\n');
    }
    pheno = dir.resolve("g.pheno").toString();
    qcovar = dir.resolve("g.qcovar").toString();
    Files.writeString(Path.of(pheno), ph);
    Files.writeString(Path.of(qcovar), qc);

    List<SampleId> fam = PlinkFileset.open(prefix, new Configuration()).samples();
    Grm grm = GrmKernel.computeLocal(BedFixture.source(prefix), null, 0, 256, 200, new Configuration());
    double[] x = new double[2 * N];
    for (int i = 0; i < N; i++) {
      x[i] = 1;
      x[i + N] = c[i];
    }
    exact = new SpectralReml().fit(new RemlProblem(y, x, List.of("intercept", "c"),
        List.of(new VarianceComponent("G", new DenseSymmetricMatrix(N, grm.toDense())))));
  }

  static double h2(RemlFit f) {
    return f.theta()[0] / (f.theta()[0] + f.theta()[1]);
  }

  static Map<String, String[]> hsq(String out) throws Exception {
    return RemlCommandTest.readHsq(Path.of(out + ".hsq"));
  }

  @Test
  void matrixFreeAgreesWithSpectralOnTheGrmWithinMonteCarloError() throws Exception {
    String out = dir.resolve("mf").toString();
    int rc = Lmmspark.run("reml", "--bfile", prefix, "--pheno", pheno, "--qcovar", qcovar, "--solver", "matrix-free",
        "--probes", "40", "--seed", "5", "--partitions", "3", "--master", "local[2]", "--out", out);
    assertEquals(0, rc);
    Map<String, String[]> h = hsq(out);
    double h2 = Double.parseDouble(h.get("V(G)/Vp")[1]);
    double vp = Double.parseDouble(h.get("Vp")[1]);
    assertEquals(String.valueOf(N), h.get("n")[1]);
    for (String row : List.of("V(G)", "V(e)", "logL", "logL0", "LRT", "df", "Pval")) {
      assertTrue(h.containsKey(row), row);
    }
    String json = Files.readString(Path.of(out + ".json"));
    assertTrue(json.contains("\"solver\": \"matrix-free\"") && json.contains("\"converged\": true"), json);
    assertTrue(json.contains("\"probes\": 40") && json.contains("\"passes\"") && json.contains("\"spark_jobs\"")
        && json.contains("\"cache_seconds\"") && json.contains("\"reml_seconds\""), json);
    Matcher mc = Pattern.compile("\"monte_carlo_se\": \\[([^,]+),").matcher(json);
    assertTrue(mc.find(), json);
    double mcSeG = Double.parseDouble(mc.group(1));
    // Tolerance from the run's own Monte Carlo SE of V(G) (40 probes; ~0.015 at n = 600), in h² units:
    // 3 MC SEs, plus 1e-3 for CG (1e-6) and the float products. The statistical SE (~0.08 here) is the
    // wrong yardstick: both fits see the same data. The guard on tol keeps a broken MC SE from passing.
    double tol = 3 * mcSeG / vp + 1e-3;
    System.out.printf("reml --bfile --solver matrix-free: h2 %.5f vs spectral on the GRM %.5f (MC SE of V(G) %.4g,"
        + " tolerance %.4f)%n", h2, h2(exact), mcSeG, tol);
    assertTrue(mcSeG > 0 && tol < 0.06, "MC SE " + mcSeG);
    assertClose(h2, h2(exact), tol, 0, "h² matrix-free vs spectral on the GRM");
    String log = Files.readString(Path.of(out + ".log"));
    assertTrue(log.contains("command: lmmspark reml --bfile") && log.contains("passes over the genotypes"), log);
  }

  /**
   * At N = 600 the cost model finds the GRM route cheaper (one band reduction against ~56 passes): auto computes
   * the GRM in memory and runs the spectral solver, the reference exactly, and logs why.
   */
  @Test
  void autoBelowThresholdIsSpectralOnTheGrmInMemory() throws Exception {
    String out = dir.resolve("auto").toString();
    int rc = Lmmspark.run("reml", "--bfile", prefix, "--pheno", pheno, "--qcovar", qcovar, "--master", "local[2]",
        "--out", out);
    assertEquals(0, rc);
    String json = Files.readString(Path.of(out + ".json"));
    assertTrue(json.contains("\"solver\": \"spectral\""), json);
    // Same GRM (float, both from GrmKernel's tiles) and solver: rounding only.
    assertClose(Double.parseDouble(hsq(out).get("V(G)/Vp")[1]), h2(exact), 1e-5, 0, "h² auto (GRM in memory)");
    String log = Files.readString(Path.of(out + ".log"));
    assertTrue(log.contains("route: spectral (N=600, M=1,500;") && log.contains("--solver auto takes the cheaper")
        && log.contains("GRM computed in memory, then the spectral solver"), log);
  }

  @Test
  void badCombinationsAreRefused() {
    String out = dir.resolve("bad").toString();
    assertEquals(2, Lmmspark.run("reml", "--bfile", prefix, "--grm", prefix, "--pheno", pheno, "--out", out));
    assertEquals(2, Lmmspark.run("reml", "--bfile", prefix, "--pedigree", pheno, "--pheno", pheno, "--out", out));
    assertEquals(2, Lmmspark.run("reml", "--grm", prefix, "--probes", "10", "--pheno", pheno, "--out", out));
    assertEquals(2, Lmmspark.run("reml", "--pheno", pheno, "--out", out));
    assertFalse(Files.exists(Path.of(out + ".hsq")));
  }
}
