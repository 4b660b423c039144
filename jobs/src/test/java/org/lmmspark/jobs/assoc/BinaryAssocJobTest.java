package org.lmmspark.jobs.assoc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.glmm.GrmPql;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.Correlation;
import org.lmmspark.engine.testing.PlainKinship;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.jobs.testing.SharedSpark;

/**
 * The binary-trait Spark scan ({@code assoc --family binomial}) against a plain computation on the driver,
 * its output columns, and its bad input.
 */
class BinaryAssocJobTest {

  /**
   * LOCO on refdata/regenie-example/example_3chr (500 samples; 50, 400, 50 variants on chromosomes 1–3),
   * the 0/1 trait Y1 of phenotype_bin.txt (121 cases) with V1 V2 V3. Checked against a computation written
   * here: genotypes decoded from the .bed bytes, K_{−c} = (1/M_{−c}) Σ z zᵀ over the OTHER chromosomes'
   * variants, the PQL null on it ({@link GrmPql}, the engine's, its P tested against Gauss–Jordan in
   * BinaryScoreTestTest), then for every variant of chromosome c T = Σ x_i (y_i − μ̂_i) and Var(T) = xᵀPx
   * with x the raw allele counts (P1 = 0, so centering does not matter): β = T/Var(T) within 1e-4
   * relative (the job's P and genotypes are float), and the case/control A1 frequencies exactly.
   */
  @Test
  void locoScoresMatchThePlainComputation(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    String bfile = ref.resolve("example_3chr").toString();
    String out = dir.resolve("bin").toString();
    AssocJob.Options assoc = new AssocJob.Options(GenotypeInput.bfile(bfile), ref.resolve("phenotype_bin.txt").toString(),
        "Y1", null, ref.resolve("covariates.txt").toString(), null, out, true, 0, false, AssocJob.Test.AUTO, 5, 32);
    BinaryAssocJob.Result r = BinaryAssocJob.run(SharedSpark.jsc(), new BinaryAssocJob.Options(assoc, 0.01,
        BinaryAssocJob.Variance.EXACT));
    assertEquals(500, r.samples());
    assertEquals(121, r.cases());
    assertEquals(3, r.nullFits().size());
    assertEquals(500, r.table().size());

    int n = 500;
    List<String> bim = Files.readAllLines(Path.of(bfile + ".bim"));
    int m = bim.size();
    int[][] g = BedFixture.read(bfile, n, m);
    double[][] x = BedFixture.asDoubles(g);
    int[] chr = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = Integer.parseInt(bim.get(v).split("\\s+")[0]);
    }
    // Samples are in .fam order in both tables here (checked: same IIDs, same order).
    List<String> pheno = Files.readAllLines(ref.resolve("phenotype_bin.txt"));
    List<String> cov = Files.readAllLines(ref.resolve("covariates.txt"));
    double[] y = new double[n];
    double[] design = new double[4 * n];
    for (int i = 0; i < n; i++) {
      String[] pf = pheno.get(i + 1).trim().split("\\s+");
      String[] cf = cov.get(i + 1).trim().split("\\s+");
      assertEquals(pf[1], cf[1]);
      y[i] = Double.parseDouble(pf[2]);
      design[i] = 1;
      for (int j = 0; j < 3; j++) {
        design[i + (j + 1) * n] = Double.parseDouble(cf[2 + j]);
      }
    }
    for (String c : List.of("1", "2", "3")) {
      double[] k = PlainKinship.k(g, chr, Integer.parseInt(c));
      GrmPql.Fit fit = GrmPql.fit("c" + c, y, design, List.of("intercept", "V1", "V2", "V3"), k, Double.NaN,
          GrmPql.TOLERANCE);
      BinaryAssocJob.NullFit jobFit = r.nullFits().stream().filter(f -> f.scope().equals("LOCO chromosome " + c))
          .findFirst().orElseThrow();
      assertClose(jobFit.tau(), fit.tau(), 1e-6, 1e-4, "tau, chromosome " + c);
      double[] pmat = fit.projection();
      int checked = 0;
      for (int row = 0; row < r.table().size(); row++) {
        int v = r.table().variantIndex(row);
        if (chr[v] != Integer.parseInt(c)) {
          continue;
        }
        double t = 0;
        double var = 0;
        double caseSum = 0;
        double controlSum = 0;
        for (int i = 0; i < n; i++) {
          t += x[v][i] * (y[i] - fit.mu()[i]);
          double px = 0;
          for (int j = 0; j < n; j++) {
            px += pmat[i + j * n] * x[v][j];
          }
          var += x[v][i] * px;
          if (y[i] == 1) {
            caseSum += x[v][i];
          } else {
            controlSum += x[v][i];
          }
        }
        String method = r.table().extraText(row, 4);
        if (!method.equals("FIRTH")) {
          assertClose(r.table().beta(row), t / var, 1e-6, 1e-4, "beta of variant " + v);
        }
        if (method.equals("NORMAL")) {
          assertClose(r.table().se(row), 1 / Math.sqrt(var), 0, 1e-4, "SE of variant " + v);
        }
        assertClose(r.table().extraNumber(row, 2), caseSum / 242, 1e-6, 0, "A1 frequency in cases, variant " + v);
        assertClose(r.table().extraNumber(row, 3), controlSum / 758, 1e-6, 0, "A1 frequency in controls, variant " + v);
        checked++;
      }
      assertEquals(c.equals("2") ? 400 : 50, checked);
    }

    // The table: the common columns, then the binary ones; every p_method is one of the three.
    List<String> lines = new ArrayList<>();
    try (BufferedReader br = new BufferedReader(new InputStreamReader(new GZIPInputStream(
        Files.newInputStream(Path.of(AssocOutputs.tsvPath(out)))), StandardCharsets.UTF_8))) {
      br.lines().forEach(lines::add);
    }
    assertEquals(501, lines.size());
    assertTrue(lines.get(0).endsWith("info\tn_case\tn_control\teffect_allele_frequency_cases\t"
        + "effect_allele_frequency_controls\tp_method"), lines.get(0));
    long[] methods = r.methodCounts();
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split("\t");
      assertEquals("121", f[13]);
      assertEquals("379", f[14]);
      assertTrue(List.of("NORMAL", "SPA", "FIRTH").contains(f[17]), line);
      assertTrue(!line.contains("NaN"), line);
    }
    assertEquals(500, methods[0] + methods[1] + methods[2]);
    assertTrue(methods[1] > 0, "SPA used beyond |z| = 2");
    assertTrue(Files.exists(Path.of(AssocOutputs.parquetPath(out))));
    assertTrue(Files.readString(Path.of(AssocOutputs.reportPath(out))).contains("λGC"));
  }

  /**
   * {@code --solver matrix-free} against the dense route on refdata/regenie-example/example_3chr (500
   * samples, 500 variants, Y1 with 121 cases, V1–V3), both with SAIGE's variance ratio from the same seeded
   * calibration variants, no LOCO. The two fit the same PQL model, one with exact REML on the dense GRM
   * ({@link GrmPql}), the other with the stochastic REML of {@code MatrixFreePql} (40 probes) and P·g by CG,
   * so they differ by the Monte Carlo error of τ̂ (and CG to 1e-6): τ within 3 of the matrix-free fit's own
   * Monte Carlo SEs, per variant χ², β and SE correlations above 0.999 and χ² within 2 % (relative above
   * χ² = 1, absolute below, where a relative difference of a near-zero score means nothing), λGC within 0.02.
   * Measured (tau 1.0033 vs 0.99843, Monte Carlo SE 0.032): correlations 1 to 6 digits, χ² within 0.3 %.
   */
  @Test
  void matrixFreeScanMatchesTheDenseRoute(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    String bfile = ref.resolve("example_3chr").toString();
    // Y1 has τ̂ = 0 on these genotypes (both routes), which would compare nothing: a trait simulated here
    // instead, logit P(case) = −1 + Σ_v z_v β_v, β_v ~ N(0, 2/M) (τ = 2 on the logit scale), seeded.
    int n = 500;
    int m = 500;
    double[][] x = BedFixture.asDoubles(BedFixture.read(bfile, n, m));
    double[] eta = new double[n];
    java.util.Random rnd = new java.util.Random(15);
    for (int v = 0; v < m; v++) {
      double mean = 0;
      for (int j = 0; j < n; j++) {
        mean += x[v][j] / n;
      }
      double sd = Math.sqrt(mean * (1 - mean / 2));
      double beta = rnd.nextGaussian() * Math.sqrt(2.0 / m);
      for (int j = 0; j < n; j++) {
        eta[j] += sd > 0 ? beta * (x[v][j] - mean) / sd : 0;
      }
    }
    List<String> fam = Files.readAllLines(Path.of(bfile + ".fam"));
    List<String> pheno = new ArrayList<>(List.of("FID IID Y"));
    int simulatedCases = 0;
    for (int j = 0; j < n; j++) {
      String[] f = fam.get(j).trim().split("\\s+");
      int yj = rnd.nextDouble() < 1 / (1 + Math.exp(1 - eta[j])) ? 1 : 0;
      simulatedCases += yj;
      pheno.add(f[0] + " " + f[1] + " " + yj);
    }
    Path phenoFile = dir.resolve("sim.txt");
    Files.write(phenoFile, pheno);
    BinaryAssocJob.Result[] runs = new BinaryAssocJob.Result[2];
    // Both --solver auto: the second with --matrix-free-above 100, so its 500 samples take the matrix-free route
    // (decided before any GRM is computed), the first the dense null.
    int[] matrixFreeAbove = {org.lmmspark.engine.reml.SolverRoute.COST_MODEL, 100};
    for (int s = 0; s < 2; s++) {
      AssocJob.Options assoc = new AssocJob.Options(GenotypeInput.bfile(bfile), phenoFile.toString(), "Y", null, ref.resolve("covariates.txt").toString(), null, dir.resolve("s" + s).toString(), false,
          0, false, AssocJob.Test.AUTO, 100, 5, 0, 32, AssocJob.Solver.AUTO, matrixFreeAbove[s], 0);
      runs[s] = BinaryAssocJob.run(SharedSpark.jsc(), new BinaryAssocJob.Options(assoc, 0, BinaryAssocJob.Variance.RATIO));
    }
    BinaryAssocJob.Result dense = runs[0];
    BinaryAssocJob.Result free = runs[1];
    assertEquals(500, free.samples());
    assertEquals(simulatedCases, free.cases());
    assertEquals(500, free.table().size());
    assertTrue(free.notes().stream().anyMatch(l -> l.startsWith("route: matrix-free (--solver auto: 500 analysed samples, "
        + "above the dense null GLMM's limit of 100 set by --matrix-free-above")), String.valueOf(free.notes()));
    assertTrue(dense.notes().stream().noneMatch(l -> l.startsWith("route: matrix-free")), String.valueOf(dense.notes()));
    assertTrue(dense.grmSeconds() > 0 && free.grmSeconds() == 0, "the matrix-free run computed no GRM");
    BinaryAssocJob.NullFit d = dense.nullFits().get(0);
    BinaryAssocJob.NullFit f = free.nullFits().get(0);
    assertTrue(!f.exact() && !d.exact());
    double[] chiD = new double[500];
    double[] chiF = new double[500];
    double[] betaD = new double[500];
    double[] betaF = new double[500];
    double[] seD = new double[500];
    double[] seF = new double[500];
    for (int pass = 0; pass < 2; pass++) {
      AssocTable t = runs[pass].table();
      for (int row = 0; row < t.size(); row++) {
        int v = t.variantIndex(row);
        double z = t.beta(row) / t.se(row);
        (pass == 0 ? chiD : chiF)[v] = z * z;
        (pass == 0 ? betaD : betaF)[v] = t.beta(row);
        (pass == 0 ? seD : seF)[v] = t.se(row);
      }
    }
    double maxRel = 0;
    for (int v = 0; v < 500; v++) {
      maxRel = Math.max(maxRel, Math.abs(chiF[v] - chiD[v]) / Math.max(chiD[v], 1));
    }
    double rChi = Correlation.pearson(chiD, chiF);
    double rBeta = Correlation.pearson(betaD, betaF);
    double rSe = Correlation.pearson(seD, seF);
    System.out.printf(java.util.Locale.ROOT, "binary matrix-free vs dense: tau %.5g vs %.5g (MC SE in the notes: %s); "
        + "ratio %.5g vs %.5g; corr chi2 %.8f beta %.8f SE %.8f; max chi2 diff (relative above 1) %.4f; lambdaGC %.4f vs %.4f%n",
        f.tau(), d.tau(), free.notes().stream().filter(l -> l.contains("Monte Carlo")).findFirst().orElse("-"),
        f.ratio().mean(), d.ratio().mean(), rChi, rBeta, rSe, maxRel, free.lambdaGc(), dense.lambdaGc());
    assertClose(f.tau(), d.tau(), 3 * 0.032, 0, "τ, matrix-free vs dense (3 Monte Carlo SEs)");
    assertTrue(rChi > 0.999 && rBeta > 0.999 && rSe > 0.999, "correlations " + rChi + ", " + rBeta + ", " + rSe);
    assertTrue(maxRel < 0.02, "max relative χ² difference " + maxRel);
    assertClose(free.lambdaGc(), dense.lambdaGc(), 0.02, 0, "λGC");
    assertTrue(Files.readString(Path.of(AssocOutputs.reportPath(dir.resolve("s1").toString())))
        .contains("none (matrix-free"));
    // No dense P on this route: --score-variance exact is refused before anything runs, saying so.
    AssocJob.Options exact = new AssocJob.Options(GenotypeInput.bfile(bfile), phenoFile.toString(), "Y", null, null, null,
        dir.resolve("l").toString(), true, 0, false, AssocJob.Test.AUTO, 100, 5, 0, 32, AssocJob.Solver.MATRIX_FREE,
        org.lmmspark.engine.reml.SolverRoute.COST_MODEL, 0);
    String msg = org.junit.jupiter.api.Assertions.assertThrows(org.lmmspark.engine.BadInputException.class,
        () -> new BinaryAssocJob.Options(exact, 0, BinaryAssocJob.Variance.EXACT)).getMessage();
    assertTrue(msg.contains("exact") && msg.contains("matrix-free"), msg);
  }

  /**
   * {@code --solver matrix-free --loco} (SAIGE's LOCO: τ from the whole-genome matrix-free fit, β and b̂ re-fitted on
   * K_{−c}, one pooled variance ratio) on simulated data: 500 samples × 1,200 variants on 6 chromosomes of 200 (no
   * missing calls, so the mean-imputed operator and GCTA's GRM are the same K), {@code logit P(case) = −1 + 0.5·q + b},
   * b with τ = 1.5, seeded.
   *
   * <p>Against a brute-force computation for chromosome 3 written in the test: K_{−3} from the genotypes
   * ({@code PlainKinship}), the dense PQL at the job's whole-genome τ̂ ({@code MatrixFreeBinaryLocoTest.Plain}, the
   * BLUP form with Cholesky inverses), then for every variant of chromosome 3 {@code T = g̃ᵀ(y − μ̂_{−3})} and
   * {@code g̃ᵀWg̃}: the job's β = T/(r·g̃ᵀWg̃) with its reported pooled ratio r within 1e-3 relative (CG to 1e-6,
   * genotypes as float) and β̂ of the LOCO null within 1e-4; and r against the mean of {@code gᵀP_{−3}g/g̃ᵀWg̃} over all
   * 200 variants of chromosome 3 computed densely, within 4 SDs of a mean of the 60 sampled ratios (the pooled
   * sample is other variants, on other chromosomes).
   *
   * <p>Against the dense route's LOCO ({@code --solver auto} with the GRM: τ re-estimated on every K_{−c}, its own
   * ratio per chromosome): the two differ by the Monte Carlo error of the matrix-free τ̂ (Monte Carlo SE 0.019 here),
   * by the dense refit of τ on every K_{−c} — at n = 500 those refits scatter (0.46–0.63 around the whole-genome
   * 0.60), which SAIGE's fixed τ avoids — and by the per-chromosome ratios (0.886–0.913 against the pooled 0.890).
   * χ² correlation above 0.999 and λGC within 0.02, as the matrix-free test without LOCO; χ² within 10 % (relative
   * above χ² = 1) rather than its 2 %, for the τ refits (measured: correlation 0.99984, 7.3 %, λGC 1.159 vs 1.170).
   */
  @Test
  void matrixFreeLocoMatchesTheDenseLocoAndThePlainComputation(@TempDir Path dir) throws Exception {
    int n = 500;
    int m = 1200;
    int chromosomes = 6;
    int[][] g = BedFixture.random(n, m, 0, 0, 77);
    int[] chr = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = v / (m / chromosomes) + 1;
    }
    String bfile = BedFixture.write(dir, "sim", g, chr);
    java.util.Random rnd = new java.util.Random(9);
    double[] genetic = BedFixture.additiveValues(g, 1.5, rnd);
    double[] y = new double[n];
    double[] design = new double[2 * n];
    List<String> pheno = new ArrayList<>(List.of("FID IID Y"));
    List<String> qcovar = new ArrayList<>(List.of("FID IID q"));
    for (int i = 0; i < n; i++) {
      double q = rnd.nextGaussian();
      design[i] = 1;
      design[i + n] = q;
      y[i] = rnd.nextDouble() < 1 / (1 + Math.exp(1 - 0.5 * q - genetic[i])) ? 1 : 0;
      pheno.add("F" + i + " I" + i + " " + (int) y[i]);
      qcovar.add("F" + i + " I" + i + " " + q);
    }
    Files.write(dir.resolve("y.txt"), pheno);
    Files.write(dir.resolve("q.txt"), qcovar);
    BinaryAssocJob.Result[] runs = new BinaryAssocJob.Result[2];
    AssocJob.Solver[] solvers = {AssocJob.Solver.AUTO, AssocJob.Solver.MATRIX_FREE};
    for (int s = 0; s < 2; s++) {
      AssocJob.Options assoc = new AssocJob.Options(GenotypeInput.bfile(bfile), dir.resolve("y.txt").toString(), "Y",
          null, dir.resolve("q.txt").toString(), null, dir.resolve("r" + s).toString(), true, 0, false,
          AssocJob.Test.AUTO, 60, 5, 0, 32, solvers[s], org.lmmspark.engine.reml.SolverRoute.COST_MODEL, 0);
      runs[s] = BinaryAssocJob.run(SharedSpark.jsc(), new BinaryAssocJob.Options(assoc, 0, BinaryAssocJob.Variance.RATIO));
    }
    BinaryAssocJob.Result dense = runs[0];
    BinaryAssocJob.Result free = runs[1];
    assertEquals(chromosomes, free.nullFits().size());
    assertEquals(chromosomes, dense.nullFits().size());
    assertEquals(m, free.table().size());
    double tau = free.nullFits().get(0).tau();
    for (BinaryAssocJob.NullFit f : free.nullFits()) {
      assertTrue(f.converged(), f.message());
      assertClose(f.tau(), tau, 0, 0, "τ kept from the whole-genome fit, " + f.scope());
      assertClose(f.ratio().mean(), free.nullFits().get(0).ratio().mean(), 0, 0, "one pooled ratio, " + f.scope());
    }
    assertTrue(Files.readString(Path.of(AssocOutputs.reportPath(dir.resolve("r1").toString()))).contains("SAIGE's LOCO"));

    // Brute force for chromosome 3.
    BinaryAssocJob.NullFit f3 = free.nullFits().stream().filter(f -> f.scope().equals("LOCO chromosome 3")).findFirst()
        .orElseThrow();
    double ratio = f3.ratio().mean();
    double[] k3 = PlainKinship.k(g, chr, 3);
    double[] eta0 = new double[n]; // from the GLM-like start η = logit(mean y): the fixed point does not depend on it
    Arrays.fill(eta0, Math.log(free.cases() / (double) (n - free.cases())));
    org.lmmspark.engine.glmm.MatrixFreeBinaryLocoTest.Plain plain =
        org.lmmspark.engine.glmm.MatrixFreeBinaryLocoTest.Plain.pql(k3, tau, design, 2, y, eta0);
    assertClose(f3.beta(), plain.beta(), 1e-4, 0, "β of the LOCO null, chromosome 3");
    double[] mu = new double[n];
    double[] w = new double[n];
    for (int i = 0; i < n; i++) {
      mu[i] = 1 / (1 + Math.exp(-plain.eta()[i]));
      w[i] = mu[i] * (1 - mu[i]);
    }
    double[] plainRatios = new double[200];
    int checked = 0;
    double maxRel = 0;
    for (int row = 0; row < free.table().size(); row++) {
      int v = free.table().variantIndex(row);
      if (chr[v] != 3) {
        continue;
      }
      double[] gv = new double[n];
      for (int i = 0; i < n; i++) {
        gv[i] = g[v][i];
      }
      double t = org.lmmspark.engine.glmm.MatrixFreeBinaryLocoTest.adjustedScore(gv, design, 2, w, y, mu);
      double indep = adjustedQuadratic(gv, design, w);
      double gpg = 0;
      for (int i = 0; i < n; i++) {
        double pgi = 0;
        for (int j = 0; j < n; j++) {
          pgi += plain.projection()[i + j * n] * gv[j];
        }
        gpg += gv[i] * pgi;
      }
      plainRatios[checked++] = gpg / indep;
      double expected = t / (ratio * indep);
      maxRel = Math.max(maxRel, Math.abs(free.table().beta(row) - expected) / Math.abs(expected));
      assertClose(free.table().beta(row), expected, 1e-6, 1e-3, "β = T/(r·g̃ᵀWg̃), variant " + v);
    }
    assertEquals(200, checked);
    double mean = 0;
    double sd = 0;
    for (double r : plainRatios) {
      mean += r / checked;
    }
    for (double r : plainRatios) {
      sd += (r - mean) * (r - mean) / (checked - 1);
    }
    sd = Math.sqrt(sd);

    // Against the dense route's LOCO.
    double[] chiD = new double[m];
    double[] chiF = new double[m];
    for (int pass = 0; pass < 2; pass++) {
      AssocTable t = runs[pass].table();
      for (int row = 0; row < t.size(); row++) {
        double z = t.beta(row) / t.se(row);
        (pass == 0 ? chiD : chiF)[t.variantIndex(row)] = z * z;
      }
    }
    double maxChi = 0;
    for (int v = 0; v < m; v++) {
      maxChi = Math.max(maxChi, Math.abs(chiF[v] - chiD[v]) / Math.max(chiD[v], 1));
    }
    double rChi = Correlation.pearson(chiD, chiF);
    StringBuilder taus = new StringBuilder();
    for (BinaryAssocJob.NullFit f : dense.nullFits()) {
      taus.append(String.format(java.util.Locale.ROOT, " %.4f/%.4f", f.tau(), f.ratio().mean()));
    }
    System.out.printf(java.util.Locale.ROOT, "binary LOCO matrix-free vs plain (chromosome 3): max relative β diff %.2e; "
        + "pooled ratio %.5f vs chromosome 3's dense mean %.5f (SD %.4f); vs dense LOCO: τ %.4f (notes: %s), dense τ/ratio"
        + " per chromosome%s; corr χ² %.6f, max χ² diff (relative above 1) %.4f; λGC %.4f vs %.4f%n", maxRel, ratio, mean,
        sd, tau, free.notes().stream().filter(l -> l.contains("Monte Carlo")).findFirst().orElse("-"), taus, rChi,
        maxChi, free.lambdaGc(), dense.lambdaGc());
    System.out.printf(java.util.Locale.ROOT, "seconds: dense GRM %.1f null %.1f scan %.1f; matrix-free null %.1f scan %.1f%n",
        dense.grmSeconds(), dense.nullSeconds(), dense.scanSeconds(), free.nullSeconds(), free.scanSeconds());
    assertClose(ratio, mean, 4 * sd / Math.sqrt(60), 0, "pooled ratio vs chromosome 3's dense ratios");
    assertTrue(rChi > 0.999, "χ² correlation with the dense LOCO " + rChi);
    assertTrue(maxChi < 0.10, "max relative χ² difference from the dense LOCO " + maxChi);
    assertClose(free.lambdaGc(), dense.lambdaGc(), 0.02, 0, "λGC");
  }

  /** {@code g̃ᵀWg̃ = gᵀWg − (XᵀWg)ᵀ(XᵀWX)⁻¹(XᵀWg)}, written plainly. */
  static double adjustedQuadratic(double[] g, double[] x, double[] w) {
    int n = g.length;
    int p = x.length / n;
    double[] xwx = new double[p * p];
    double[] xwg = new double[p];
    double gwg = 0;
    for (int i = 0; i < n; i++) {
      gwg += g[i] * w[i] * g[i];
      for (int a = 0; a < p; a++) {
        xwg[a] += x[i + a * n] * w[i] * g[i];
        for (int b = 0; b < p; b++) {
          xwx[a + b * p] += x[i + a * n] * w[i] * x[i + b * n];
        }
      }
    }
    double[] inv = org.lmmspark.engine.reml.SmallMatrices.invertSpd(xwx, p);
    double q = gwg;
    for (int a = 0; a < p; a++) {
      for (int b = 0; b < p; b++) {
        q -= xwg[a] * inv[a + b * p] * xwg[b];
      }
    }
    return q;
  }

  /** Copies of A1 per variant (m×n) decoded from the .bed bytes (SNP-major; no missing calls in these files). */
  /** Values other than 0/1 (or 1/2), all cases, no cases: one line naming the file (and sample), exit 2. */
  @Test
  void badTraitsAreOneLineErrors(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    List<String> pheno = Files.readAllLines(ref.resolve("phenotype_bin.txt"));
    List<String> three = new ArrayList<>(pheno);
    three.set(5, three.get(5).replaceAll(" [01] ([01])$", " 3 $1"));
    List<String> allCases = new ArrayList<>(List.of(pheno.get(0)));
    List<String> oneTwo = new ArrayList<>(List.of(pheno.get(0)));
    for (String l : pheno.subList(1, pheno.size())) {
      String[] f = l.split(" ");
      allCases.add(f[0] + " " + f[1] + " 1 1");
      oneTwo.add(f[0] + " " + f[1] + " " + (Integer.parseInt(f[2]) + 1) + " 1");
    }
    Files.write(dir.resolve("three.txt"), three);
    Files.write(dir.resolve("cases.txt"), allCases);
    String grm = ref.resolve("expected/gcta_grm").toString();
    String bfile = ref.resolve("example").toString();
    String err = AssocJobTest.runCli("assoc", "--family", "binomial", "--bfile", bfile, "--pheno",
        dir.resolve("three.txt").toString(), "--pheno-name", "Y1", "--grm", grm, "--out", dir.resolve("a").toString(),
        "--master", "local[1]");
    assertTrue(err.contains("three.txt:6:") && err.contains("is 3") && err.contains("0/1"), err);
    // One line says it (the rest of stderr is Spark's log).
    assertEquals(1, err.lines().filter(l -> l.contains("is 3")).count(), err);
    err = AssocJobTest.runCli("assoc", "--family", "binomial", "--bfile", bfile, "--pheno",
        dir.resolve("cases.txt").toString(), "--pheno-name", "Y1", "--grm", grm, "--out", dir.resolve("b").toString(),
        "--master", "local[1]");
    assertTrue(err.contains("cases.txt") && err.contains("all cases"), err);
    assertTrue(!Files.exists(dir.resolve("a.assoc.tsv.gz")) && !Files.exists(dir.resolve("b.assoc.tsv.gz")));
    // PLINK's 1/2 is accepted and said so.
    List<String> notes = new ArrayList<>();
    org.lmmspark.engine.reml.RemlInputs.Assembled none = null;
    double[] recoded = BinaryAssocJob.caseControl(new double[] {1, 2, 2, 1}, none, "p.txt", "Y1", notes);
    assertClose(recoded, new double[] {0, 1, 1, 0}, 0, 0, "recoded");
    assertTrue(notes.get(0).contains("1/2"), notes.toString());
  }
}
