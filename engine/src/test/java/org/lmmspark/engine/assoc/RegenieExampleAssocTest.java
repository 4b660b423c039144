package org.lmmspark.engine.assoc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.kinship.GrmKernel;
import org.lmmspark.engine.pheno.SampleTable;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlInputs;
import org.lmmspark.engine.reml.SpectralReml;
import org.lmmspark.engine.stats.FisherF;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.RefData;

/**
 * Per-variant tests on ../shared/refdata/regenie-example, Y2 with covariates V1 V2 V3 (EXPECTED.md §3),
 * with the engine's own GRM (GCTA definition, {@link GrmKernel#computeLocal}) and null fit
 * ({@link SpectralReml}, checked against GEMMA in RegenieExampleRemlTest).
 */
class RegenieExampleAssocTest {
  static Path dir;
  static NullModel model;
  static String prefix;
  static RemlFit fit;

  @BeforeAll
  static void load() {
    dir = RefData.dir("regenie-example");
    Configuration conf = new Configuration();
    prefix = dir.resolve("example").toString();
    PlinkFileset fs = PlinkFileset.open(prefix, conf);
    Grm grm = GrmKernel.computeLocal(BedFixture.source(prefix), null, 0, 256, 256, conf);
    SampleTable pheno = SampleTable.read(dir.resolve("phenotype.txt").toString(), conf);
    SampleTable covars = SampleTable.read(dir.resolve("covariates.txt").toString(), conf);
    RemlInputs.Assembled a = RemlInputs.assemble(new RemlInputs.Spec(
        List.of(new RemlInputs.Relationship("G", "engine GRM", grm, true)), false, pheno, "Y2", null, covars, List.of()));
    SpectralReml.Eigen eigen = SpectralReml.decompose(a.problem().components().get(0).covariance());
    fit = new SpectralReml().fit(a.problem(), eigen);
    model = NullModel.of(a.problem(), eigen, fit.theta()[0], fit.theta()[1], GenotypeRows.of(a.samples(), fs), "all");
  }

  /** Blocks of 96 variants: 11 SGEMMs, the last one partial. */
  static AssocResults run(boolean exact) {
    return run(exact ? LmmTest.WALD : LmmTest.MLMA);
  }

  static AssocResults run(LmmTest test) {
    VariantFilterCounts counts = new VariantFilterCounts(500);
    AssocResults r = Mlma.testRange(model, BedFixture.source(prefix).reader(), 0, 1000,
        BedFixture.source(prefix).position(0), null, 0, 96, test, new Configuration(), counts);
    assertEquals(1000, counts.kept);
    assertEquals(1000, r.size());
    return r;
  }

  /**
   * expected/emmax_Y2_covar.ps (EMMAX: variant, beta, p; EMMAX counts A2, so its beta is −ours).
   * EMMAX fixes the variance RATIO δ at its REML null, then re-estimates the residual scale with the
   * variant in the model and uses a t test on n − p − 1 df; GCTA's MLMA (ours) fixes both components
   * and uses χ²₁. So:
   * <ul>
   *   <li>β̂ depends only on the ratio: equal to EMMAX's to 1e-4 relative or 1e-5 absolute (2e-4 of an SE; measured 1.1e-6 absolute, the two REML optima of δ differing in the 5th digit;
   *       our rotation is float), i.e. EMMAX's REML ratio is ours;
   *   <li>our χ² turned into EMMAX's statistic, {@code F = χ²(n−p−1)/(yᵀPy − χ²)}, gives EMMAX's p to
   *       2e-5 absolute (measured 1.3e-5): the whole of xᵀPx and xᵀPy is checked;
   *   <li>our own χ²₁ p-values differ from EMMAX's by the scale treatment alone, up to ~6e-4 absolute at
   *       n = 500 (measured 5.6e-4, shrinking as 1/n): asserted within 1e-3, and within 5 % relative (measured 3.2 %)
   *       wherever p &lt; 0.01.
   * </ul>
   */
  @Test
  void fixedNullMatchesEmmax() throws Exception {
    AssocResults r = run(false);
    List<String> lines = Files.readAllLines(dir.resolve("expected/emmax_Y2_covar.ps"));
    assertEquals(1000, lines.size());
    int n = model.n();
    double df = n - model.p() - 1;
    for (int k = 0; k < r.size(); k++) {
      String[] f = lines.get(k).split("\t");
      assertEquals(Integer.toString(r.variant(k) + 1), f[0], "variant order");
      double emmaxBeta = -Double.parseDouble(f[1]);
      double emmaxP = Double.parseDouble(f[2]);
      assertClose(r.beta(k), emmaxBeta, 1e-5, 1e-4, "beta of variant " + f[0]);
      double chi2 = r.statistic(k);
      assertClose(chi2, r.beta(k) * r.beta(k) / (r.se(k) * r.se(k)), 0, 1e-12, "chi2 = (beta/se)^2");
      double fEmmax = chi2 * df / (model.yPy() - chi2);
      assertClose(Math.exp(FisherF.logUpperTail(fEmmax, 1, df)), emmaxP, 2e-5, 0, "EMMAX-scaled p of variant " + f[0]);
      double p = Math.exp(r.logP(k));
      assertClose(p, emmaxP, 1e-3, 0, "chi2 p of variant " + f[0]);
      if (emmaxP < 0.01) {
        assertClose(p, emmaxP, 0, 0.05, "small chi2 p of variant " + f[0]);
      }
    }
  }

  /**
   * expected/gemma_lmm1_Y2_covar.assoc.txt (GEMMA 0.98.5 -lmm 1; beta counts the .bim A1 like ours).
   * GEMMA prints 7 significant digits: beta, se and p_wald to 1e-4 relative (beta also 1e-6 absolute,
   * for betas near 0 where the float rotation's ~2e-8 absolute error is a large fraction), l_remle
   * (the per-variant λ̂) to 1e-4 relative. Measured: se 2e-7, p 2e-6, λ 1e-5 relative.
   */
  @Test
  void exactMatchesGemmaLmm1() throws Exception {
    AssocResults r = run(true);
    List<String> lines = Files.readAllLines(dir.resolve("expected/gemma_lmm1_Y2_covar.assoc.txt"));
    assertEquals(1001, lines.size());
    for (int k = 0; k < r.size(); k++) {
      String[] f = lines.get(k + 1).split("\t");
      String what = " of variant " + f[1];
      assertEquals(Integer.toString(r.variant(k) + 1), f[1], "variant order");
      assertClose(r.beta(k), Double.parseDouble(f[7]), 1e-6, 1e-4, "beta" + what);
      assertClose(r.se(k), Double.parseDouble(f[8]), 0, 1e-4, "se" + what);
      assertClose(r.lambda(k), Double.parseDouble(f[10]), 0, 1e-4, "l_remle" + what);
      assertClose(Math.exp(r.logP(k)), Double.parseDouble(f[11]), 0, 1e-4, "p_wald" + what);
      assertClose(r.a1Frequency(k), Double.parseDouble(f[6]), 5e-4, 0, "af" + what);
    }
  }

  /**
   * {@code --test f} is EMMAX's statistic itself (the ratio fixed at the REML null, the scale re-estimated
   * with the variant, F on (1, n − p − 1) df): expected/emmax_Y2_covar.ps p to 2e-5 absolute (EMMAX's
   * REML ratio and ours agree to the 5th digit; EMMAX prints 6-7 digits), β to 1e-5 absolute / 1e-4
   * relative (EMMAX counts A2: its β is −ours).
   */
  @Test
  void fixedRatioFTestMatchesEmmax() throws Exception {
    AssocResults r = run(LmmTest.F);
    List<String> lines = Files.readAllLines(dir.resolve("expected/emmax_Y2_covar.ps"));
    double worst = 0;
    for (int k = 0; k < r.size(); k++) {
      String[] f = lines.get(k).split("\t");
      assertEquals(Integer.toString(r.variant(k) + 1), f[0], "variant order");
      assertClose(r.beta(k), -Double.parseDouble(f[1]), 1e-5, 1e-4, "beta of variant " + f[0]);
      double p = Math.exp(r.logP(k));
      assertClose(p, Double.parseDouble(f[2]), 2e-5, 0, "F-test p of variant " + f[0]);
      assertClose(r.lambda(k), fit.theta()[0] / fit.theta()[1], 0, 1e-12, "lambda is the null's");
      worst = Math.max(worst, Math.abs(p - Double.parseDouble(f[2])));
    }
    System.out.printf("--test f vs EMMAX: max |p - p_EMMAX| = %.2g over %d variants%n", worst, r.size());
  }

  /**
   * {@code --test lrt} and {@code --test score} against GEMMA 0.98.5 {@code -lmm 4}
   * (expected/gemma_lmm4_Y2_covar.assoc.txt: p_lrt, l_mle, p_score; 7 significant digits).
   * p_lrt and p_score to 1e-4 relative (or 1e-6 absolute for p near 1, where the statistic is near 0 and
   * the 7 printed digits of λ̂ move it most), l_mle (the per-variant ML λ̂) to 1e-3 relative (flat
   * likelihood in λ: the optimum moves in the 4th digit with the float rotation). Measured: 2.1e-6 and 1.9e-6
   * relative for p_lrt and p_score.
   */
  @Test
  void lrtAndScoreMatchGemmaLmm4() throws Exception {
    AssocResults lrt = run(LmmTest.LRT);
    AssocResults score = run(LmmTest.SCORE);
    List<String> lines = Files.readAllLines(dir.resolve("expected/gemma_lmm4_Y2_covar.assoc.txt"));
    assertEquals(1001, lines.size());
    ExactLmm e = new ExactLmm(model);
    double worstLrt = 0;
    double worstScore = 0;
    for (int k = 0; k < lrt.size(); k++) {
      String[] f = lines.get(k + 1).split("\t");
      String what = " of variant " + f[1];
      assertEquals(Integer.toString(lrt.variant(k) + 1), f[1], "variant order");
      double pLrt = Math.exp(lrt.logP(k));
      double pScore = Math.exp(score.logP(k));
      assertClose(pLrt, Double.parseDouble(f[13]), 1e-6, 1e-4, "p_lrt" + what);
      assertClose(pScore, Double.parseDouble(f[14]), 1e-6, 1e-4, "p_score" + what);
      assertClose(lrt.lambda(k), Double.parseDouble(f[11]), 0, 1e-3, "l_mle" + what);
      worstLrt = Math.max(worstLrt, Math.abs(pLrt / Double.parseDouble(f[13]) - 1));
      worstScore = Math.max(worstScore, Math.abs(pScore / Double.parseDouble(f[14]) - 1));
    }
    System.out.printf("--test lrt / score vs GEMMA -lmm 4: max relative p difference %.2g / %.2g; null ML lambda %.6g, logL %.6f%n",
        worstLrt, worstScore, e.nullMl()[0], e.nullMl()[1]);
  }
}
