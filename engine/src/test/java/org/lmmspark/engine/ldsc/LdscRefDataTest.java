package org.lmmspark.engine.ldsc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.engine.testing.Tolerance;

/**
 * LD score regression against ldsc 1.0.1 itself on {@code ../shared/refdata/ldsc-sim}, reading ldsc's
 * stored 3-decimal LD scores ({@code R="--ref-ld-chr ldscores/sim_cm1. --w-ld-chr ldscores/sim_cm1."}).
 * Expected values: the full-precision block of {@code EXPECTED.raw.txt} (ldsc's own Python objects
 * printed with %.12g). Tolerances from EXPECTED.md: relative 1e-6 for h², intercepts, gencov, rg,
 * their SEs, mean χ², λGC and z (same inputs, deterministic linear algebra; 1e-6 allows another
 * least-squares solver and summation order); ratio absolute 1e-6; p relative 1e-5.
 */
class LdscRefDataTest {
  private static final Configuration CONF = new Configuration();
  private static final double REL = 1e-6;

  private static LdscAnalysis.Options defaults() {
    return new LdscAnalysis.Options(200, null, null, null, null);
  }

  private static LdscAnalysis.Merged merged(Path dir, String trait) {
    String ld = dir.resolve("ldscores/sim_cm1.").toString();
    LdScoreTable ref = LdScoreTable.read(ld, true, false, CONF);
    Sumstats s = Sumstats.read(dir.resolve("sumstats/" + trait + ".sumstats.gz").toString(), false, true, CONF);
    return LdscAnalysis.merge(s, null, ref, ref, trait, null);
  }

  @Test
  void h2Trait1() {
    Path dir = RefData.dir("ldsc-sim");
    // ldsc.py --h2 sumstats/trait1.sumstats.gz $R
    // h2=0.325572023177 h2_se=0.0513897222445 intercept=1.03014717747 intercept_se=0.0868333914764
    // ratio=0.0209654951769 ratio_se=0.0603872469285 mean_chisq=2.43794254405 lambda_gc=2.01423583951
    // M=6427 n_blocks=200 twostep_filtered=3; 7000 SNPs after merging.
    LdscAnalysis.H2Result r = LdscAnalysis.h2(merged(dir, "trait1"), defaults());
    assertEquals(7000, r.data().rows());
    assertEquals(6427, r.data().m()[0]);
    assertEquals(3, r.fit().fit().twostepFiltered);
    checkH2(r.fit(), 0.325572023177, 0.0513897222445, 1.03014717747, 0.0868333914764, 0.0209654951769,
        0.0603872469285, 2.43794254405, 2.01423583951);
  }

  /**
   * trait1 with its first 50 rows written again at the end, Z changed: ldsc's {@code _read_sumstats} keeps the
   * first row of a SNP ({@code drop_duplicates(subset='SNP')}) and logs "Dropped 50 SNPs with duplicated rs
   * numbers.", so the fit is ldsc's h2Trait1 above (same values, same tolerance) and the log counts the 50.
   */
  @Test
  void duplicatedSnpsKeepTheirFirstRowAndAreCounted(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
    Path dir = RefData.dir("ldsc-sim");
    java.util.List<String> lines = new java.util.ArrayList<>();
    try (java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(
        new java.util.zip.GZIPInputStream(java.nio.file.Files.newInputStream(dir.resolve("sumstats/trait1.sumstats.gz"))),
        java.nio.charset.StandardCharsets.UTF_8))) {
      in.lines().forEach(lines::add);
    }
    for (String l : new java.util.ArrayList<>(lines.subList(1, 51))) {
      lines.add(l.substring(0, l.lastIndexOf('\t')) + "\t9.5");
    }
    Path file = tmp.resolve("dup.sumstats");
    java.nio.file.Files.write(file, lines);
    Sumstats s = Sumstats.read(file.toString(), false, true, CONF);
    assertEquals(50, s.duplicatesDropped());
    LdScoreTable ref = LdScoreTable.read(dir.resolve("ldscores/sim_cm1.").toString(), true, false, CONF);
    LdscAnalysis.Merged m = LdscAnalysis.merge(s, null, ref, ref, "dup", null);
    org.junit.jupiter.api.Assertions.assertTrue(m.log().contains("Dropped 50 SNPs with duplicated rs numbers from dup."),
        String.join("\n", m.log()));
    LdscAnalysis.H2Result r = LdscAnalysis.h2(m, defaults());
    assertEquals(7000, r.data().rows());
    checkH2(r.fit(), 0.325572023177, 0.0513897222445, 1.03014717747, 0.0868333914764, 0.0209654951769,
        0.0603872469285, 2.43794254405, 2.01423583951);
  }

  @Test
  void h2Trait2() {
    Path dir = RefData.dir("ldsc-sim");
    // ldsc.py --h2 sumstats/trait2.sumstats.gz $R  (per-SNP N 2,400-2,600; 6,774 SNPs)
    // h2=0.19389111136 h2_se=0.0432029769945 intercept=1.08363922809 intercept_se=0.0683061615145
    // ratio=0.133034562564 ratio_se=0.108646152355 mean_chisq=1.62870299623 lambda_gc=1.5651460558
    LdscAnalysis.H2Result r = LdscAnalysis.h2(merged(dir, "trait2"), defaults());
    assertEquals(6774, r.data().rows());
    assertEquals(1, r.fit().fit().twostepFiltered);
    checkH2(r.fit(), 0.19389111136, 0.0432029769945, 1.08363922809, 0.0683061615145, 0.133034562564,
        0.108646152355, 1.62870299623, 1.5651460558);
  }

  @Test
  void h2Trait1InterceptFixed() {
    Path dir = RefData.dir("ldsc-sim");
    // ldsc.py --h2 sumstats/trait1.sumstats.gz $R --intercept-h2 1
    // h2=0.341581572432 h2_se=0.0369170559361 intercept=1 (fixed) mean_chisq=2.43794254405 lambda_gc=2.01423583951
    LdscAnalysis.H2Result r = LdscAnalysis.h2(merged(dir, "trait1"),
        new LdscAnalysis.Options(200, new Double[] {1.0}, null, null, null));
    Ldsc.Heritability h = r.fit();
    Tolerance.assertClose(h.fit().tot, 0.341581572432, 0, REL, "h2");
    Tolerance.assertClose(h.fit().totSe, 0.0369170559361, 0, REL, "h2 se");
    assertEquals(1.0, h.fit().intercept);
    Tolerance.assertClose(h.meanChisq(), 2.43794254405, 0, REL, "mean chi2");
    Tolerance.assertClose(h.lambdaGc(), 2.01423583951, 0, REL, "lambda GC");
  }

  @Test
  void rgTrait1Trait2() {
    Path dir = RefData.dir("ldsc-sim");
    // ldsc.py --rg sumstats/trait1.sumstats.gz,sumstats/trait2.sumstats.gz $R  (6,774 SNPs after alignment:
    // 674 swapped, 370 strand-flipped)
    // rg=0.508370332693 rg_se=0.113557862215 z=4.47675152365 p=7.57873685527e-06
    // gencov=0.127639604214 gencov_se=0.0350252164749 gcov_int=0.378453277871 gcov_int_se=0.0604888542615
    // mean_z1z2=0.754799448843
    // trait1: h2=0.334537182315 h2_se=0.0514357076081 intercept=1.01773149275 intercept_se=0.0874147407558
    //   mean_chisq=2.45047259347 lambda_gc=2.024476099
    // trait2: h2=0.188436967529 h2_se=0.0433633777717 intercept=1.09384056672 intercept_se=0.0703233672986
    //   ratio=0.14926056863 ratio_se=0.111854671793
    String ld = dir.resolve("ldscores/sim_cm1.").toString();
    LdScoreTable ref = LdScoreTable.read(ld, true, false, CONF);
    Sumstats s1 = Sumstats.read(dir.resolve("sumstats/trait1.sumstats.gz").toString(), true, true, CONF);
    Sumstats s2 = Sumstats.read(dir.resolve("sumstats/trait2.sumstats.gz").toString(), true, false, CONF);
    LdscAnalysis.Merged d = LdscAnalysis.merge(s1, s2, ref, ref, "trait1", "trait2");
    assertEquals(6774, d.rows());
    Ldsc.Correlation c = LdscAnalysis.rg(d, defaults()).fit();
    Tolerance.assertClose(c.rg(), 0.508370332693, 0, REL, "rg");
    Tolerance.assertClose(c.se(), 0.113557862215, 0, REL, "rg se");
    Tolerance.assertClose(c.z(), 4.47675152365, 0, REL, "z");
    Tolerance.assertClose(c.p(), 7.57873685527e-06, 0, 1e-5, "p");
    Tolerance.assertClose(c.gencov().fit().tot, 0.127639604214, 0, REL, "gencov");
    Tolerance.assertClose(c.gencov().fit().totSe, 0.0350252164749, 0, REL, "gencov se");
    Tolerance.assertClose(c.gencov().fit().intercept, 0.378453277871, 0, REL, "gencov intercept");
    Tolerance.assertClose(c.gencov().fit().interceptSe, 0.0604888542615, 0, REL, "gencov intercept se");
    Tolerance.assertClose(c.gencov().meanZ1Z2(), 0.754799448843, 0, REL, "mean z1z2");
    Tolerance.assertClose(c.h1().fit().tot, 0.334537182315, 0, REL, "h2 trait1");
    Tolerance.assertClose(c.h1().fit().totSe, 0.0514357076081, 0, REL, "h2 se trait1");
    Tolerance.assertClose(c.h1().fit().intercept, 1.01773149275, 0, REL, "intercept trait1");
    Tolerance.assertClose(c.h1().fit().interceptSe, 0.0874147407558, 0, REL, "intercept se trait1");
    Tolerance.assertClose(c.h1().meanChisq(), 2.45047259347, 0, REL, "mean chi2 trait1");
    Tolerance.assertClose(c.h1().lambdaGc(), 2.024476099, 0, REL, "lambda GC trait1");
    Tolerance.assertClose(c.h2().fit().tot, 0.188436967529, 0, REL, "h2 trait2");
    Tolerance.assertClose(c.h2().fit().totSe, 0.0433633777717, 0, REL, "h2 se trait2");
    Tolerance.assertClose(c.h2().fit().intercept, 1.09384056672, 0, REL, "intercept trait2");
    Tolerance.assertClose(c.h2().fit().interceptSe, 0.0703233672986, 0, REL, "intercept se trait2");
    Tolerance.assertClose(c.h2().ratio(), 0.14926056863, 1e-6, 0, "ratio trait2");
    Tolerance.assertClose(c.h2().ratioSe(), 0.111854671793, 0, REL, "ratio se trait2");
  }

  private static void checkH2(Ldsc.Heritability h, double h2, double h2Se, double icpt, double icptSe, double ratio,
      double ratioSe, double meanChisq, double lambda) {
    Tolerance.assertClose(h.fit().tot, h2, 0, REL, "h2");
    Tolerance.assertClose(h.fit().totSe, h2Se, 0, REL, "h2 se");
    Tolerance.assertClose(h.fit().intercept, icpt, 0, REL, "intercept");
    Tolerance.assertClose(h.fit().interceptSe, icptSe, 0, REL, "intercept se");
    Tolerance.assertClose(h.ratio(), ratio, 1e-6, 0, "ratio");
    Tolerance.assertClose(h.ratioSe(), ratioSe, 0, REL, "ratio se");
    Tolerance.assertClose(h.meanChisq(), meanChisq, 0, REL, "mean chi2");
    Tolerance.assertClose(h.lambdaGc(), lambda, 0, REL, "lambda GC");
  }
}
