package org.lmmspark.jobs.ldscore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.engine.testing.VcfFixture;
import org.lmmspark.jobs.cli.Lmmspark;
import org.lmmspark.jobs.testing.LmmsparkCli;
import org.lmmspark.jobs.testing.SharedSpark;

/**
 * {@code lmmspark ldscore} on BGEN and VCF panels against the same genotypes' {@code .bed}:
 * {@code ../shared/refdata/regenie-example}'s {@code example_3chr.bgen} holds exactly the hard calls of
 * {@code example_3chr.bed} (BGEN.md: 8-bit probabilities 0 or 255/255, first allele = .bim A1, checked
 * with plink2, zero differences), and the VCF is written here from the {@code .bed} (GT only, ALT = A1).
 * The dosage route (DGEMM on standardized values) and the {@code .bed} route (exact integer SGEMM) then
 * compute the same r from the same numbers, so every LD score (written with 12 decimals) agrees to
 * 1e-9 absolute (double rounding of sums of ~30 terms of size ≤ 1), and the kept variants, M and
 * M_5_50 exactly. Both windows a dosage panel takes ({@code --ld-wind-kb}, {@code --ld-wind-snps}),
 * Spark tasks and the in-process route; {@code --ld-wind-cm} is refused for them.
 */
class LdScoreSourcesTest {
  private static final Configuration CONF = new Configuration();

  @TempDir
  Path tmp;

  @Test
  void bgenAndVcfPanelsEqualTheirBed() throws IOException {
    Path ref = RefData.dir("regenie-example");
    String bfile = ref.resolve("example_3chr").toString();
    Path vcf = tmp.resolve("example_3chr.vcf.gz");
    VcfFixture.bgzipPerLine(vcf, VcfFixture.calls(PlinkFileset.open(bfile, CONF), 1));
    VcfFixture.tabix(vcf);
    SharedSpark.jsc();
    String[][] sources = {
        {"bed", "--bfile", bfile},
        {"bgen", "--bgen", ref.resolve("example_3chr.bgen").toString(), "--sample",
            ref.resolve("example_3chr.sample").toString()},
        {"vcf", "--vcf", vcf.toString()}};
    for (String[] window : new String[][] {{"--ld-wind-kb", "0.03"}, {"--ld-wind-snps", "40", "--spark"}}) {
      for (String[] source : sources) {
        List<String> args = new ArrayList<>(List.of("ldscore"));
        args.addAll(List.of(source).subList(1, source.length));
        args.addAll(List.of(window));
        args.addAll(List.of("--task-memory", "1", "--digits", "12", "--master", "local[2]", "--out",
            tmp.resolve(source[0] + window[0]).toString()));
        assertEquals(0, Lmmspark.run(args.toArray(String[]::new)), String.join(" ", args));
      }
      for (String chr : new String[] {"1", "2", "3"}) {
        String bed = tmp.resolve("bed" + window[0]) + "." + chr;
        List<String[]> expected = LdScoreCommandTest.rows(bed + ".l2.ldscore.gz");
        assertTrue(expected.size() > 40, "chromosome " + chr + " has its variants");
        for (String other : new String[] {"bgen", "vcf"}) {
          String prefix = tmp.resolve(other + window[0]) + "." + chr;
          List<String[]> got = LdScoreCommandTest.rows(prefix + ".l2.ldscore.gz");
          String label = other + " " + window[0] + " chromosome " + chr;
          assertEquals(expected.size(), got.size(), label + ": kept variants");
          double maxDiff = 0;
          for (int k = 1; k < got.size(); k++) {
            assertEquals(expected.get(k)[1], got.get(k)[1], label + ": SNP");
            double e = Double.parseDouble(expected.get(k)[3]);
            double g = Double.parseDouble(got.get(k)[3]);
            assertEquals(e, g, 1e-9, label + ": L2 of " + got.get(k)[1]);
            maxDiff = Math.max(maxDiff, Math.abs(e - g));
          }
          System.out.printf("ldscore %s vs .bed: max |L2 difference| %.3g over %d variants%n", label, maxDiff,
              got.size() - 1);
          for (String suffix : new String[] {".l2.M", ".l2.M_5_50"}) {
            assertEquals(Files.readString(Path.of(bed + suffix)), Files.readString(Path.of(prefix + suffix)),
                label + suffix);
          }
        }
      }
    }
  }

  /**
   * Missing calls and the variants ldsc drops: a random panel (3 % missing calls, every 17th variant
   * monomorphic, variant 4 all heterozygous but for missing calls) as {@code .bed} and as its GT-only
   * VCF, where a missing call is a missing dosage: the same kept variants, M, M_5_50 and, both routes
   * taking DGEMM on mean-imputed standardized values, the same scores to 1e-9.
   */
  @Test
  void missingCallsAndDroppedVariantsMatchTheBed() throws IOException {
    int n = 60;
    int m = 300;
    int[][] g = org.lmmspark.engine.testing.BedFixture.random(n, m, 0.03, 17, 2026);
    java.util.Arrays.fill(g[4], 1);
    g[4][7] = -1;
    int[] chr = new int[m];
    java.util.Arrays.fill(chr, 1);
    String bfile = org.lmmspark.engine.testing.BedFixture.write(tmp, "missing", g, chr);
    Path vcf = tmp.resolve("missing.vcf.gz");
    VcfFixture.writeCalls(PlinkFileset.open(bfile, CONF), vcf);
    SharedSpark.jsc();
    for (String[] source : new String[][] {{"bed", "--bfile", bfile}, {"vcf", "--vcf", vcf.toString()}}) {
      assertEquals(0, Lmmspark.run("ldscore", source[1], source[2], "--ld-wind-snps", "25", "--digits", "12",
          "--master", "local[2]", "--out", tmp.resolve("m" + source[0]).toString()));
    }
    List<String[]> expected = LdScoreCommandTest.rows(tmp.resolve("mbed") + ".1.l2.ldscore.gz");
    List<String[]> got = LdScoreCommandTest.rows(tmp.resolve("mvcf") + ".1.l2.ldscore.gz");
    assertTrue(expected.size() < m, "dropped variants: " + (m + 1 - expected.size()));
    assertEquals(expected.size(), got.size(), "kept variants");
    for (int k = 1; k < got.size(); k++) {
      assertEquals(expected.get(k)[1], got.get(k)[1], "SNP");
      assertEquals(Double.parseDouble(expected.get(k)[3]), Double.parseDouble(got.get(k)[3]), 1e-9,
          "L2 of " + got.get(k)[1]);
    }
    for (String suffix : new String[] {".l2.M", ".l2.M_5_50"}) {
      assertEquals(Files.readString(Path.of(tmp.resolve("mbed") + ".1" + suffix)),
          Files.readString(Path.of(tmp.resolve("mvcf") + ".1" + suffix)), suffix);
    }
  }

  @Test
  void centimorganWindowIsRefusedForDosagePanels() {
    Path ref = RefData.dir("regenie-example");
    String err = LmmsparkCli.run(2, "ldscore", "--bgen", ref.resolve("example_3chr.bgen").toString(), "--sample",
        ref.resolve("example_3chr.sample").toString(), "--ld-wind-cm", "1", "--master", "local[2]", "--out",
        tmp.resolve("cm").toString());
    assertTrue(err.contains("--ld-wind-kb"), err);
    assertTrue(!Files.exists(tmp.resolve("cm.1.l2.ldscore.gz")), "no output after bad input");
  }
}
