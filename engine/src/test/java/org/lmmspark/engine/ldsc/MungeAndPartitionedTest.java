package org.lmmspark.engine.ldsc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.testing.Tolerance;

/**
 * Munging (GWAS-SSF in, ldsc layout out) and the partitioned regression, each against the
 * definition written plainly here.
 */
class MungeAndPartitionedTest {
  private static final Configuration CONF = new Configuration();

  @TempDir
  Path tmp;

  /**
   * A GWAS-SSF table (as {@code lmmspark assoc} writes it) with known Z: p = 2Φ(−|Z|), beta of Z's
   * sign. Munging recovers Z (relative 1e-9: the normal quantile of commons-math) and drops what
   * munge_sumstats.py drops: a strand-ambiguous SNP (A/T), an indel, a duplicate ID, a p of 0, a row
   * with NA, a SNP with MAF 0.005 and one with N below 90th percentile / 1.5.
   */
  @Test
  void gwasSsfIsMungedToLdscLayout() throws IOException {
    NormalDistribution normal = new NormalDistribution();
    StringBuilder sb = new StringBuilder(
        "chromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\tstandard_error\teffect_allele_frequency\tp_value\tvariant_id\tn\n");
    SplittableRandom rng = new SplittableRandom(5);
    double[] z = new double[40];
    for (int i = 0; i < z.length; i++) {
      z[i] = rng.nextGaussian() * 2;
      double p = 2 * normal.cumulativeProbability(-Math.abs(z[i]));
      sb.append(String.format(Locale.ROOT, "1\t%d\tC\tA\t%.6f\t0.1\t0.3\t%.17g\trs%d\t1000%n", 100 + i, z[i] / 10, p, i));
    }
    sb.append("1\t500\tA\tT\t0.1\t0.1\t0.3\t0.5\trs_ambiguous\t1000\n");
    sb.append("1\t501\tAC\tT\t0.1\t0.1\t0.3\t0.5\trs_indel\t1000\n");
    sb.append("1\t502\tC\tA\t0.1\t0.1\t0.3\t0.5\trs3\t1000\n"); // duplicate of rs3: dropped, first kept
    sb.append("1\t503\tC\tA\t0.1\t0.1\t0.3\t0\trs_p0\t1000\n");
    sb.append("1\t504\tC\tA\tNA\t0.1\t0.3\t0.5\trs_na\t1000\n");
    sb.append("1\t505\tC\tA\t0.1\t0.1\t0.005\t0.5\trs_rare\t1000\n");
    sb.append("1\t506\tC\tA\t0.1\t0.1\t0.3\t0.5\trs_lowN\t600\n");
    Path file = tmp.resolve("t.assoc.tsv");
    Files.writeString(file, sb.toString());
    Munge.Result r = Munge.munge(file.toString(), Munge.Options.defaults(), CONF);
    Sumstats s = r.sumstats();
    assertEquals(40, s.rows(), String.join("\n", r.log()));
    for (int i = 0; i < 40; i++) {
      assertEquals("rs" + i, s.snps().get(i));
      Tolerance.assertClose(s.z()[i], z[i], 1e-9, 1e-9, "Z rs" + i);
      assertEquals(1000, s.n()[i]);
      assertEquals("C", s.a1()[i]);
    }
    // Written and read back in ldsc's layout (Z with 3 decimals, as munge_sumstats.py).
    try (var out = new org.lmmspark.engine.io.AtomicOutputs(CONF)) {
      Munge.write(s, tmp.resolve("m").toString(), out);
      out.commit();
    }
    Sumstats back = Sumstats.read(tmp.resolve("m.sumstats.gz").toString(), true, true, CONF);
    Tolerance.assertClose(back.z(), s.z(), 5e-4 + 1e-12, 0, "written Z");
  }

  /**
   * INFO as {@code lmmspark assoc} writes it: NA throughout for hard calls, where munge_sumstats.py would drop every row
   * (NaN ≥ 0.9 is false), so the column is not filtered on; among numbers, an NA row is dropped as ldsc drops it, and
   * a duplicate of a dropped row is then the first of its ID.
   */
  @Test
  void infoNaThroughoutIsNotFilteredOn() throws IOException {
    String header = "variant_id\teffect_allele\tother_allele\tbeta\tp_value\tn\tinfo\n";
    Path hardCalls = tmp.resolve("hard.tsv");
    Files.writeString(hardCalls, header + "rs1\tC\tA\t0.1\t0.5\t1000\tNA\nrs2\tC\tA\t-0.1\t0.01\t1000\tNA\n");
    Munge.Result r = Munge.munge(hardCalls.toString(), Munge.Options.defaults(), CONF);
    assertEquals(2, r.sumstats().rows(), String.join("\n", r.log()));
    assertTrue(r.log().contains("INFO is NA in every row (hard-call genotypes): not filtered on INFO."), r.log().toString());

    Path mixed = tmp.resolve("mixed.tsv");
    Files.writeString(mixed, header + "rs1\tC\tA\t0.1\t0.5\t1000\t0.95\nrs2\tC\tA\t-0.1\t0.01\t1000\tNA\n"
        + "rs3\tC\tA\t0.1\t0.2\t1000\t0.5\nrs2\tG\tA\t-0.2\t0.3\t1000\t0.99\n");
    Munge.Result m = Munge.munge(mixed.toString(), Munge.Options.defaults(), CONF);
    assertEquals(java.util.List.of("rs1", "rs2"), m.sumstats().snps(), String.join("\n", m.log()));
    assertEquals("G", m.sumstats().a1()[1]);
    assertTrue(m.log().contains("Removed 2 SNPs with INFO <= 0.9."), m.log().toString());
    assertTrue(m.log().contains("Removed 0 SNPs with duplicated rs numbers (2 SNPs remain)."), m.log().toString());
  }

  @Test
  void missingSampleSizeAsksForN() throws IOException {
    Path file = tmp.resolve("non.txt");
    Files.writeString(file, "SNP A1 A2 BETA P\nrs1 C A 0.1 0.5\nrs2 C A -0.2 0.01\n");
    BadInputException e = assertThrows(BadInputException.class,
        () -> Munge.munge(file.toString(), Munge.Options.defaults(), CONF));
    assertTrue(e.getMessage().contains("--N"), e.getMessage());
    Munge.Options withN = new Munge.Options(5000.0, null, null, 0.9, 0.01, null, null, null, false, null);
    assertEquals(5000, Munge.munge(file.toString(), withN, CONF).sumstats().n()[0]);
    // ldsc's .sumstats without Z: missing column named.
    Path ld = tmp.resolve("noz.sumstats");
    Files.writeString(ld, "SNP A1 A2 N\nrs1 C A 10\n");
    BadInputException e2 = assertThrows(BadInputException.class, () -> Sumstats.read(ld.toString(), true, true, CONF));
    assertTrue(e2.getMessage().contains("missing column Z"), e2.getMessage());
  }

  /**
   * Cases and controls: ldsc's {@code process_n} sets {@code N = (N_CAS + N_CON)·P / mean P} over the
   * rows of largest total, P the case fraction; here every total is 1,000 and P = 0.1, 0.2, 0.15, so
   * N = 666.7, 1,333.3, 1,000; then the N filter (90th percentile 1,266.7 / 1.5 = 844.4) drops the first.
   */
  @Test
  void casesAndControlsAsProcessN() throws IOException {
    Path file = tmp.resolve("cc.txt");
    Files.writeString(file, "SNP A1 A2 OR P N_CAS N_CON\nrs1 C A 1.1 0.5 100 900\nrs2 C A 0.9 0.2 200 800\n"
        + "rs3 G A 1.0 0.9 150 850\n");
    Sumstats s = Munge.munge(file.toString(), Munge.Options.defaults(), CONF).sumstats();
    assertEquals(java.util.List.of("rs2", "rs3"), s.snps());
    Tolerance.assertClose(s.n()[0], 1000 * 0.2 / 0.15, 0, 1e-12, "N rs2");
    Tolerance.assertClose(s.n()[1], 1000, 0, 1e-12, "N rs3");
    assertTrue(s.z()[0] < 0, "OR below 1: negative Z");
  }

  @Test
  void alleleAlignmentAsLdsc() {
    assertEquals(0, Sumstats.alignment("A", "C", "A", "C"));
    assertEquals(0, Sumstats.alignment("A", "C", "T", "G")); // other strand
    assertEquals(1, Sumstats.alignment("A", "C", "C", "A")); // swapped
    assertEquals(1, Sumstats.alignment("A", "C", "G", "T")); // swapped, other strand
    assertEquals(-1, Sumstats.alignment("A", "C", "A", "G")); // matches neither way
    assertEquals(-1, Sumstats.alignment("A", "T", "A", "T")); // strand-ambiguous
  }

  /**
   * Partitioned h² (two LD-score columns, ldsc's fixed weights): the coefficients equal weighted least
   * squares written plainly with ldsc's weights {@code 1/(2(1 + h̃² N ℓ/M)²)/max(ℓ_w,1)} at the
   * aggregate {@code h̃² = M(mean χ² − 1)/mean(Nℓ)}; h² = Σ M_a τ_a, proportions sum to 1, and the
   * estimates land near the simulated truth (τ = 2e-5 and 6e-5 per variant).
   */
  @Test
  void partitionedEqualsPlainWeightedLeastSquares() {
    SplittableRandom rng = new SplittableRandom(11);
    int n = 20_000;
    double[] ld = new double[n * 2];
    double[] wld = new double[n];
    double[] nn = new double[n];
    double[] chisq = new double[n];
    double[] m = {30_000, 10_000};
    double[] tau = {2e-5, 6e-5};
    for (int r = 0; r < n; r++) {
      ld[2 * r] = 1 + 30 * rng.nextDouble();
      ld[2 * r + 1] = rng.nextDouble() * 10;
      wld[r] = ld[2 * r] + ld[2 * r + 1];
      nn[r] = 5000 + rng.nextInt(1000);
      double mu = 1 + nn[r] * (tau[0] * ld[2 * r] + tau[1] * ld[2 * r + 1]);
      double g = rng.nextGaussian();
      chisq[r] = mu * g * g;
    }
    Ldsc.Heritability h = Ldsc.heritability(chisq, ld, wld, nn, m, 200, null, null, true);
    double mTot = m[0] + m[1];
    double meanNl = 0;
    double meanChi = 0;
    double nBar = 0;
    for (int r = 0; r < n; r++) {
      meanNl += nn[r] * (ld[2 * r] + ld[2 * r + 1]) / n;
      meanChi += chisq[r] / n;
      nBar += nn[r] / n;
    }
    double agg = Math.min(1, Math.max(0, mTot * (meanChi - 1) / meanNl));
    double[] xtx = new double[9];
    double[] xty = new double[3];
    for (int r = 0; r < n; r++) {
      double l = Math.max(ld[2 * r] + ld[2 * r + 1], 1);
      double het = 1 + agg * nn[r] * l / mTot;
      double w = 1 / (2 * het * het) / Math.max(wld[r], 1);
      double[] x = {nn[r] * ld[2 * r] / nBar, nn[r] * ld[2 * r + 1] / nBar, 1};
      for (int i = 0; i < 3; i++) {
        xty[i] += w * x[i] * chisq[r];
        for (int j = 0; j < 3; j++) {
          xtx[3 * i + j] += w * x[i] * x[j];
        }
      }
    }
    double[] beta = BlockJackknife.solve(xtx, xty, 3);
    Tolerance.assertClose(h.fit().coef[0], beta[0] / nBar, 0, 1e-9, "tau 1");
    Tolerance.assertClose(h.fit().coef[1], beta[1] / nBar, 0, 1e-9, "tau 2");
    Tolerance.assertClose(h.fit().intercept, beta[2], 0, 1e-9, "intercept");
    Tolerance.assertClose(h.fit().tot, m[0] * h.fit().coef[0] + m[1] * h.fit().coef[1], 0, 1e-12, "h2 = sum M tau");
    Tolerance.assertClose(h.fit().prop[0] + h.fit().prop[1], 1, 1e-12, 0, "proportions");
    // Truth: h² = 30000·2e-5 + 10000·6e-5 = 1.2; within 4 jackknife SEs.
    Tolerance.assertClose(h.fit().tot, 1.2, 4 * h.fit().totSe, 0, "h2 vs truth");
    Tolerance.assertClose(h.fit().coef[1], tau[1], 4 * Math.sqrt(h.fit().coefCov[3]), 0, "tau 2 vs truth");
  }

  /**
   * ldsc's {@code Enrichment_p} (regressions.py {@code Hsq._overlap_output}) against a plain
   * delete-a-block jackknife written here: three disjoint categories (overlap diag(M)), the weighted
   * least squares refitted without each of ldsc's 200 blocks ({@code floor(linspace(0, n, 201))}) with
   * the weights fixed at the aggregate h² (ldsc's partitioned "old weights"), pseudo-values
   * {@code B·τ̂ − (B−1)·τ̂₋ᵦ}, their covariance / B, then {@code d = τ_i − Σ_{j≠i} M_j τ_j/(M − M_i)}
   * with {@code p = 2·(1 − F_t(|d|/se; B))} from commons-math3's Student t. Tolerance 1e-7 relative: the
   * engine's fast jackknife and log-space F tail against refits and a different tail algorithm.
   * Category 2 is simulated enriched (τ 3× the others): its p is small, category 1's is not.
   */
  @Test
  void enrichmentPEqualsPlainDeleteABlockJackknife() {
    SplittableRandom rng = new SplittableRandom(5);
    int n = 6_000;
    int a = 3;
    double[] m = {20_000, 5_000, 15_000};
    double[] tau = {2e-5, 6e-5, 2e-5};
    double[] ld = new double[n * a];
    double[] wld = new double[n];
    double[] nn = new double[n];
    double[] chisq = new double[n];
    for (int r = 0; r < n; r++) {
      double mu = 1;
      for (int k = 0; k < a; k++) {
        ld[a * r + k] = (k == 0 ? 1 : 0) + 12 * rng.nextDouble() * m[k] / 20_000;
        wld[r] += ld[a * r + k];
      }
      nn[r] = 8000 + rng.nextInt(500);
      for (int k = 0; k < a; k++) {
        mu += nn[r] * tau[k] * ld[a * r + k];
      }
      double g = rng.nextGaussian();
      chisq[r] = mu * g * g;
    }
    LdscRegression fit = Ldsc.heritability(chisq, ld, wld, nn, m, 200, null, null, true).fit();
    double[] p = fit.enrichmentP(LdscRegression.disjointOverlap(m), m, m[0] + m[1] + m[2]);

    // The plain computation.
    double mTot = m[0] + m[1] + m[2];
    double nBar = 0;
    double meanNl = 0;
    double meanChi = 0;
    for (int r = 0; r < n; r++) {
      nBar += nn[r] / n;
      meanNl += nn[r] * wld[r] / n;
      meanChi += chisq[r] / n;
    }
    double agg = Math.min(1, Math.max(0, mTot * (meanChi - 1) / meanNl));
    double[] w = new double[n];
    double[][] x = new double[n][a + 1];
    for (int r = 0; r < n; r++) {
      double het = 1 + agg * nn[r] * Math.max(wld[r], 1) / mTot;
      w[r] = 1 / (2 * het * het) / Math.max(wld[r], 1);
      for (int k = 0; k < a; k++) {
        x[r][k] = nn[r] * ld[a * r + k] / nBar;
      }
      x[r][a] = 1;
    }
    int blocks = 200;
    int[] sep = new int[blocks + 1];
    for (int b = 0; b <= blocks; b++) {
      sep[b] = (int) Math.floor((double) n * b / blocks);
    }
    double[] full = weightedLeastSquares(x, chisq, w, -1, -1);
    double[][] pseudo = new double[blocks][];
    double[] meanPseudo = new double[a];
    for (int b = 0; b < blocks; b++) {
      double[] del = weightedLeastSquares(x, chisq, w, sep[b], sep[b + 1]);
      pseudo[b] = new double[a];
      for (int k = 0; k < a; k++) {
        pseudo[b][k] = (blocks * full[k] - (blocks - 1) * del[k]) / nBar; // per-variant τ
        meanPseudo[k] += pseudo[b][k] / blocks;
      }
    }
    double[][] cov = new double[a][a];
    for (double[] ps : pseudo) {
      for (int j = 0; j < a; j++) {
        for (int k = 0; k < a; k++) {
          cov[j][k] += (ps[j] - meanPseudo[j]) * (ps[k] - meanPseudo[k]) / (blocks - 1) / blocks;
        }
      }
    }
    org.apache.commons.math3.distribution.TDistribution t =
        new org.apache.commons.math3.distribution.TDistribution(blocks);
    for (int i = 0; i < a; i++) {
      double[] d = new double[a];
      for (int j = 0; j < a; j++) {
        d[j] = j == i ? 1 : -m[j] / (mTot - m[i]);
      }
      double est = 0;
      double var = 0;
      for (int j = 0; j < a; j++) {
        est += d[j] * full[j] / nBar;
        for (int k = 0; k < a; k++) {
          var += d[j] * cov[j][k] * d[k];
        }
      }
      double expected = 2 * (1 - t.cumulativeProbability(Math.abs(est) / Math.sqrt(var)));
      Tolerance.assertClose(p[i], expected, 1e-12, 1e-7, "Enrichment_p " + i);
    }
    assertTrue(p[1] < 1e-3, "the enriched category: p " + p[1]);
    assertTrue(p[0] > 1e-3, "category 0: p " + p[0]);
    // A category holding every variant has no outside: ldsc's NA.
    assertTrue(Double.isNaN(fit.enrichmentP(LdscRegression.disjointOverlap(m), m, m[0])[0]));
  }

  /** Weighted least squares of y on the columns of x, rows [skipFrom, skipTo) left out. */
  private static double[] weightedLeastSquares(double[][] x, double[] y, double[] w, int skipFrom, int skipTo) {
    int p = x[0].length;
    double[] xtx = new double[p * p];
    double[] xty = new double[p];
    for (int r = 0; r < y.length; r++) {
      if (r >= skipFrom && r < skipTo) {
        continue;
      }
      for (int i = 0; i < p; i++) {
        xty[i] += w[r] * x[r][i] * y[r];
        for (int j = 0; j < p; j++) {
          xtx[p * i + j] += w[r] * x[r][i] * x[r][j];
        }
      }
    }
    return BlockJackknife.solve(xtx, xty, p);
  }
}
