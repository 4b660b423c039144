package org.lmmspark.jobs.reml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.kinship.GrmKernel;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.jobs.cli.Lmmspark;

/**
 * {@code lmmspark reml --family binomial} (the null GLMM with a GRM by PQL) and {@code reml --prevalence}
 * (GCTA's liability-scale rows) on {@code saige-family}: 1,000 samples, 98 cases, the GCTA GRM of its
 * 10,000 variants, covariates x1 and x2.
 */
class RemlGlmmCommandTest {
  private static Path dir;
  private static String grm;
  private static Path pheno;
  private static Path qcovar;
  private static int cases;
  private static Path keep400;

  @BeforeAll
  static void inputs(@TempDir Path tmp) throws IOException {
    Configuration conf = new Configuration();
    Path ref = RefData.dir("saige-family");
    dir = tmp;
    grm = tmp.resolve("saige10k").toString();
    GctaGrmFiles.write(grm, GrmKernel.computeLocal(PlinkFileset.open(ref + "/plinkforGRM_1000samples_10kMarkers",
        conf), null, 0.0, 256, 500, conf), conf);
    // pheno_both.txt: y_quantitative y_binary x1 x2 IID ...; the .fam's FID equals the IID.
    List<String> lines = Files.readAllLines(ref.resolve("pheno_both.txt"));
    StringBuilder p = new StringBuilder("FID IID y_binary y_quantitative\n");
    StringBuilder q = new StringBuilder("FID IID x1 x2\n");
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.trim().split("\\s+");
      p.append(f[4]).append(' ').append(f[4]).append(' ').append(f[1]).append(' ').append(f[0]).append('\n');
      q.append(f[4]).append(' ').append(f[4]).append(' ').append(f[2]).append(' ').append(f[3]).append('\n');
      cases += Integer.parseInt(f[1]);
    }
    pheno = tmp.resolve("pheno.txt");
    qcovar = tmp.resolve("qcovar.txt");
    Files.writeString(pheno, p.toString());
    Files.writeString(qcovar, q.toString());
    // GLMM.md's 400-sample subset (K[keep, keep] of the 1,000-sample GRM): the .fam's FID equals the IID.
    StringBuilder k = new StringBuilder();
    for (String iid : Files.readAllLines(ref.resolve("subset400_iids.txt"))) {
      k.append(iid.trim()).append(' ').append(iid.trim()).append('\n');
    }
    keep400 = tmp.resolve("keep400.txt");
    Files.writeString(keep400, k.toString());
  }

  private static Map<String, String[]> hsqRows(String out) throws IOException {
    Map<String, String[]> rows = new HashMap<>();
    for (String line : Files.readAllLines(Path.of(out + ".hsq"))) {
      String[] f = line.split("\t");
      rows.put(f[0], f);
    }
    return rows;
  }

  private static double value(Map<String, String[]> rows, String name, int column) {
    return Double.parseDouble(rows.get(name)[column]);
  }

  /**
   * GLMM.md section 2, the 400-sample subset (seconds instead of a minute for all 1,000): glmmPQL (ML working
   * model, dispersion fixed at 1, fixed point) gives τ 0.138174433802, β −3.07502949793, 0.606424853066,
   * 1.10754243094 (tolerances of GLMM.md: τ 1e-4, β 1e-5 relative). The
   * latent h² and its SE are checked against their definitions written here: τ/(τ + π²/3) and, by the delta
   * method, SE(τ)·(π²/3)/(τ + π²/3)².
   *
   * <p>Not here: the probit link on these data (its outer iteration needs the relaxed update; checked against
   * the plain fixed-point equations in PqlGlmmTest), and the REML working model, whose peer value (GLMM.md's
   * "REML" row) is nlme's fixed-σ REML, not textbook REML (see PqlGlmmTest).
   */
  @Test
  void logisticGlmmWithGrmMatchesGlmmPql() throws IOException {
    String out = dir.resolve("pql").toString();
    assertEquals(0, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno.toString(), "--pheno-name", "y_binary",
        "--qcovar", qcovar.toString(), "--keep", keep400.toString(), "--family", "binomial", "--glmm", "pql",
        "--pql-working-model", "ml", "--out", out));
    Map<String, String[]> rows = hsqRows(out);
    double tau = value(rows, "V(G)", 1);
    double tauSe = value(rows, "V(G)", 2);
    assertClose(tau, 0.138174433802, 0, 1e-4, "tau");
    double latent = Math.PI * Math.PI / 3;
    assertClose(value(rows, "V(e)", 1), latent, 1e-5, 0, "V(e) = pi^2/3");
    assertClose(value(rows, "V(G)/Vp", 1), tau / (tau + latent), 1e-5, 0, "latent h2");
    assertTrue(tauSe > 0 && tauSe < 1, "SE(tau) " + tauSe);
    assertClose(value(rows, "V(G)/Vp", 2), tauSe * latent / ((tau + latent) * (tau + latent)), 1e-5, 1e-4,
        "SE(latent h2)");
    assertEquals("binomial", rows.get("family")[1]);
    assertEquals("logit", rows.get("link")[1]);
    assertTrue(rows.get("scale")[1].startsWith("link"));
    assertEquals("400", rows.get("n")[1]);
    JsonNode j = new ObjectMapper().readTree(Files.readString(Path.of(out + ".json")));
    assertClose(new double[] {j.get("fixed").get(0).get("estimate").asDouble(),
        j.get("fixed").get(1).get("estimate").asDouble(), j.get("fixed").get(2).get("estimate").asDouble()},
        new double[] {-3.07502949793, 0.606424853066, 1.10754243094}, 0, 1e-5, "beta");
    assertEquals("G", j.get("random").get(0).get("name").asText());
    assertClose(j.get("random").get(0).get("latent_share_se").asDouble(), value(rows, "V(G)/Vp", 2), 1e-6, 1e-5,
        "json latent SE");

  }

  /**
   * The same GLMM from genotypes ({@code --bfile}: the GRM computed in memory on Spark, then the same fit)
   * equals the {@code --grm} route on the GRM file {@code lmmspark grm} writes for the same kept samples (with
   * {@code --keep} both take allele frequencies over the 400 kept samples, unlike GLMM.md's K[keep, keep] of
   * the 1,000-sample GRM, so τ is 0.1392 here, not 0.1382): τ and β to 1e-5 relative, the GRM file being
   * float32 (GLMM.md: float32 against double moves τ by ~1e-6). {@code --solver matrix-free} with glmmPQL's ML working
   * model is refused (the matrix-free working model is REML, dispersion 1).
   */
  @Test
  void bfileRouteMatchesGlmmPql() throws IOException {
    String bfile = RefData.dir("saige-family").resolve("plinkforGRM_1000samples_10kMarkers").toString();
    String out = dir.resolve("bfile").toString();
    assertEquals(0, Lmmspark.run("reml", "--bfile", bfile, "--pheno", pheno.toString(), "--pheno-name", "y_binary",
        "--qcovar", qcovar.toString(), "--keep", keep400.toString(), "--family", "binomial", "--glmm", "pql",
        "--pql-working-model", "ml", "--master", "local[2]", "--out", out));
    String grm400 = dir.resolve("grm400").toString();
    assertEquals(0, Lmmspark.run("grm", "--bfile", bfile, "--keep", keep400.toString(), "--out", grm400));
    String viaGrm = dir.resolve("viagrm").toString();
    assertEquals(0, Lmmspark.run("reml", "--grm", grm400, "--pheno", pheno.toString(), "--pheno-name", "y_binary",
        "--qcovar", qcovar.toString(), "--family", "binomial", "--glmm", "pql", "--pql-working-model", "ml", "--out",
        viaGrm));
    assertClose(value(hsqRows(out), "V(G)", 1), value(hsqRows(viaGrm), "V(G)", 1), 0, 1e-5, "tau: --bfile vs --grm");
    JsonNode a = new ObjectMapper().readTree(Files.readString(Path.of(out + ".json")));
    JsonNode b = new ObjectMapper().readTree(Files.readString(Path.of(viaGrm + ".json")));
    for (int j = 0; j < 3; j++) {
      assertClose(a.get("fixed").get(j).get("estimate").asDouble(), b.get("fixed").get(j).get("estimate").asDouble(),
          0, 1e-5, "beta " + j + ": --bfile vs --grm");
    }
    // The matrix-free working model is REML with the dispersion fixed (SAIGE): glmmPQL's ML one is refused there.
    assertEquals(2, Lmmspark.run("reml", "--bfile", bfile, "--pheno", pheno.toString(), "--pheno-name", "y_binary",
        "--family", "binomial", "--pql-working-model", "ml", "--solver", "matrix-free", "--master", "local[2]", "--out",
        dir.resolve("mf").toString()));
  }

  /**
   * {@code reml --bfile --family binomial --solver auto} above {@code --matrix-free-above} (= {@code --solver
   * matrix-free}: PQL whose REML working model is fitted by
   * stochastic AI-REML over the distributed genotype operator, no n×n matrix) against the dense PQL
   * ({@code --solver dense}: the GRM in memory, dense AI-REML per outer iteration) on the same 400 samples
   * and the same K (no missing calls in these genotypes, so the matrix-free mean-imputed K is GCTA's).
   * Tolerance on τ: 3 Monte Carlo SEs of τ̂ as the final working fit estimates them from the spread of its
   * 60 probes, plus 1e-3·τ for CG (1e-6) and the float GRM: both fits see the same data, so the statistical
   * SE (~0.1) is the wrong yardstick and the probes' error the right one (several seeds and their mean:
   * the engine's {@code MatrixFreePqlTest}, without Spark). β moves with τ only (β̂ is the GLS estimate given τ): tolerance 3 MC SEs of τ times
   * |∂β̂/∂τ|, bounded here by the dense fit's SE(β)/SE(τ) (the regression of β̂ on τ̂ across
   * resamples), plus 1e-4 absolute.
   */
  @Test
  void matrixFreePqlAgreesWithDensePqlWithinMonteCarloError() throws IOException {
    String bfile = RefData.dir("saige-family").resolve("plinkforGRM_1000samples_10kMarkers").toString();
    String dense = dir.resolve("pqldense").toString();
    assertEquals(0, Lmmspark.run("reml", "--bfile", bfile, "--pheno", pheno.toString(), "--pheno-name", "y_binary",
        "--qcovar", qcovar.toString(), "--keep", keep400.toString(), "--family", "binomial", "--solver", "dense",
        "--master", "local[2]", "--out", dense));
    double tauDense = value(hsqRows(dense), "V(G)", 1);
    double tauSeDense = value(hsqRows(dense), "V(G)", 2);
    JsonNode d = new ObjectMapper().readTree(Files.readString(Path.of(dense + ".json")));
    for (String seed : List.of("7")) {
      String mf = dir.resolve("pqlmf" + seed).toString();
      long t0 = System.nanoTime();
      assertEquals(0, Lmmspark.run("reml", "--bfile", bfile, "--pheno", pheno.toString(), "--pheno-name", "y_binary",
          "--qcovar", qcovar.toString(), "--keep", keep400.toString(), "--family", "binomial",
          "--matrix-free-above", "300", "--probes", "60", "--seed", seed, "--partitions", "2", "--master", "local[2]", "--out", mf));
      double seconds = (System.nanoTime() - t0) / 1e9;
      Map<String, String[]> rows = hsqRows(mf);
      double tau = value(rows, "V(G)", 1);
      JsonNode j = new ObjectMapper().readTree(Files.readString(Path.of(mf + ".json")));
      double mcSe = j.get("matrix_free").get("monte_carlo_se").get(0).asDouble();
      double tol = 3 * mcSe + 1e-3 * tauDense;
      System.out.printf(Locale.ROOT, "PQL matrix-free (seed %s): tau %.5f vs dense %.5f (diff %.2e, MC SE %.2e, "
          + "tolerance %.2e); SE %.4f vs %.4f; %d outer iterations, %d passes, %.1f s%n", seed, tau, tauDense,
          tau - tauDense, mcSe, tol, value(rows, "V(G)", 2), tauSeDense,
          j.get("matrix_free").get("outer_iterations").asInt(), j.get("matrix_free").get("passes").asLong(), seconds);
      assertTrue(mcSe > 0 && mcSe < 0.2 * tauDense, "MC SE " + mcSe);
      assertClose(tau, tauDense, tol, 0, "tau matrix-free vs dense PQL (seed " + seed + ")");
      assertClose(value(rows, "V(G)", 2), tauSeDense, 0, 0.05, "SE(tau) matrix-free vs dense");
      for (int k = 0; k < 3; k++) {
        double b = j.get("fixed").get(k).get("estimate").asDouble();
        double bDense = d.get("fixed").get(k).get("estimate").asDouble();
        double bTol = 3 * mcSe * d.get("fixed").get(k).get("se").asDouble() / tauSeDense + 1e-4;
        System.out.printf(Locale.ROOT, "  beta %d: %.6f vs dense %.6f (diff %.2e, tolerance %.2e)%n", k, b, bDense,
            b - bDense, bTol);
        assertClose(b, bDense, bTol, 0, "beta " + k + " matrix-free vs dense PQL");
      }
      assertTrue(j.get("converged").asBoolean(), "converged");
      String log = Files.readString(Path.of(mf + ".log"));
      assertTrue(log.contains("route: matrix-free (--matrix-free-above 300") && log.contains("PQL (REML working model "
          + "fitted matrix-free") && log.contains("passes over the genotypes"), log);
    }
  }

  /**
   * {@code --prevalence K} adds GCTA's {@code V(G)/Vp_L}: GCTA's {@code transform_hsq_L(P, K, h2)}
   * ({@code est_hsq.cpp}: {@code t = qnorm(1 − K)}, {@code z = dnorm(t)},
   * {@code C = (K(1−K)/z²)(K(1−K)/(P(1−P)))}, value and SE both times C), P the sample's case proportion,
   * written out here from the case count. The 1/2 coding gives the same rows; a quantitative trait, or
   * {@code --prevalence} with {@code --family}, is bad input (exit 2).
   */
  @Test
  void prevalenceAddsGctaLiabilityRows() throws IOException {
    String out = dir.resolve("lin").toString();
    double k = 0.05;
    assertEquals(0, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno.toString(), "--pheno-name", "y_binary",
        "--qcovar", qcovar.toString(), "--prevalence", String.valueOf(k), "--out", out));
    Map<String, String[]> rows = hsqRows(out);
    double p = cases / 1000.0;
    assertEquals(98, cases);
    NormalDistribution normal = new NormalDistribution(null, 0, 1);
    double t = normal.inverseCumulativeProbability(1 - k);
    double z = Math.exp(-t * t / 2) / Math.sqrt(2 * Math.PI);
    double c = (k * (1 - k) / (z * z)) * (k * (1 - k) / (p * (1 - p)));
    double h2 = value(rows, "V(G)/Vp", 1);
    assertClose(value(rows, "V(G)/Vp_L", 1), c * h2, 1e-6, 1e-5, "h2_L");
    assertClose(value(rows, "V(G)/Vp_L", 2), c * value(rows, "V(G)/Vp", 2), 1e-6, 1e-5, "SE h2_L");
    assertTrue(Files.readString(Path.of(out + ".hsq")).contains("Proportion of cases in the sample = 0.098000"));
    JsonNode j = new ObjectMapper().readTree(Files.readString(Path.of(out + ".json")));
    assertClose(j.get("liability_scale").get("factor").asDouble(), c, 0, 1e-9, "factor");

    // PLINK's 1/2 coding of the same trait: the same rows.
    Path pheno12 = dir.resolve("pheno12.txt");
    StringBuilder sb = new StringBuilder("FID IID y_binary\n");
    for (String line : Files.readAllLines(pheno).subList(1, 1001)) {
      String[] f = line.split(" ");
      sb.append(f[0]).append(' ').append(f[1]).append(' ').append(Integer.parseInt(f[2]) + 1).append('\n');
    }
    Files.writeString(pheno12, sb.toString());
    String out12 = dir.resolve("lin12").toString();
    assertEquals(0, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno12.toString(), "--qcovar", qcovar.toString(),
        "--prevalence", String.valueOf(k), "--out", out12));
    assertClose(value(hsqRows(out12), "V(G)/Vp_L", 1), value(rows, "V(G)/Vp_L", 1), 1e-8, 0, "1/2 coding");

    String bad = dir.resolve("bad").toString();
    assertEquals(2, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno.toString(), "--pheno-name",
        "y_quantitative", "--prevalence", "0.1", "--out", bad));
    assertEquals(2, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno.toString(), "--pheno-name", "y_binary",
        "--family", "binomial", "--prevalence", "0.1", "--out", bad));
    assertEquals(2, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno.toString(), "--pheno-name", "y_binary",
        "--prevalence", "1.5", "--out", bad));
    assertEquals(2, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno.toString(), "--pheno-name", "y_binary",
        "--glmm", "pql", "--out", bad));
    assertFalse(Files.exists(Path.of(bad + ".hsq")));
  }

  /**
   * SAIGE's own table, as SAIGE reads it ({@code --sampleIDColinphenoFile=IID}): {@code --pheno-id-col IID}
   * reads {@code pheno_both.txt} (IID in its 5th column, covariates x1, x2 beside the traits) to the same
   * samples, trait and covariates as the FID/IID tables written from it above, so the fit is the same to
   * the last printed digit.
   */
  @Test
  void saigeTableKeyedByItsIidColumnFitsAsTheRewrittenTables() throws IOException {
    Path ref = RefData.dir("saige-family");
    String rewritten = dir.resolve("rewritten").toString();
    assertEquals(0, Lmmspark.run("reml", "--grm", grm, "--pheno", pheno.toString(), "--pheno-name", "y_quantitative",
        "--qcovar", qcovar.toString(), "--keep", keep400.toString(), "--out", rewritten));
    String saige = dir.resolve("saige").toString();
    assertEquals(0, Lmmspark.run("reml", "--grm", grm, "--pheno", ref.resolve("pheno_both.txt").toString(),
        "--pheno-id-col", "IID", "--pheno-name", "y_quantitative", "--qcovar-names", "x1,x2", "--keep",
        keep400.toString(), "--out", saige));
    assertEquals(Files.readString(Path.of(rewritten + ".hsq")), Files.readString(Path.of(saige + ".hsq")));
    // Without the option the table is refused as an ambiguous header, with the option named.
    assertEquals(2, Lmmspark.run("reml", "--grm", grm, "--pheno", ref.resolve("pheno_both.txt").toString(),
        "--pheno-name", "y_quantitative", "--out", dir.resolve("refused").toString()));
  }
}
