package org.lmmspark.engine.ldscore;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.engine.testing.Tolerance;

/**
 * LD scores against ldsc 1.0.1 itself on {@code ../shared/refdata/ldsc-sim} (400 panel samples,
 * 4,000 + 3,000 variants, 0.2 % missing calls, MAF down to 0.0025). Reference commands (EXPECTED.md):
 * <pre>
 * ldsc.py --bfile panel/sim.C --l2 --ld-wind-cm 1 --out ldscores/sim_cm1.C
 * ldsc.py --bfile panel/sim.C --l2 --ld-wind-snps 100 --out ldscores/sim_snps100.C
 * ldsc.py --bfile panel/sim.C --l2 --ld-wind-cm 1 --chunk-size 1 --out ldscores/sim_cm1_chunk1.C
 * </pre>
 * Every variant's L2 is compared with {@code ldscores/l2_fullprec.tsv.gz} (ldsc's own values at 12
 * significant digits) at relative 1e-8 (EXPECTED.md: ldsc and an independent implementation agree to
 * 1e-13; the slack covers other summation orders), the MAF at absolute 1e-12; M and M_5_50 exactly.
 * Ranges smaller than the chromosome (as the Spark tasks get them) are used throughout.
 */
class LdScoreRefDataTest {
  private static final Configuration CONF = new Configuration();

  record Expected(double maf, double cm1, double snps100, double cm1Chunk1) {}

  @Test
  void matchesLdscOnBothChromosomesForThreeWindowSettings() throws IOException {
    Path dir = RefData.dir("ldsc-sim");
    Map<String, Expected> expected = readFullPrecision(dir.resolve("ldscores/l2_fullprec.tsv.gz"));
    // .l2.M / .l2.M_5_50 from ldsc: 4000 / 3673 (chr 1), 3000 / 2754 (chr 2).
    int[][] mCounts = {{4000, 3673}, {3000, 2754}};
    for (int chr = 1; chr <= 2; chr++) {
      String prefix = dir.resolve("panel/sim." + chr).toString();
      PlinkFileset fs = PlinkFileset.open(prefix, CONF);
      int n = fs.sampleCount();
      List<Integer> kept = new ArrayList<>();
      List<Double> mafs = new ArrayList<>();
      PanelBlock.scanKept(prefix, n, null, 0, 0, fs.variantCount(), CONF, (v, keep, maf) -> {
        if (keep) {
          kept.add(v);
          mafs.add(maf);
        }
      });
      int[] keptFile = kept.stream().mapToInt(Integer::intValue).toArray();
      assertEquals(mCounts[chr - 1][0], keptFile.length, "M chr" + chr);
      assertEquals(mCounts[chr - 1][1], mafs.stream().filter(f -> f > 0.05).count(), "M_5_50 chr" + chr);
      for (int k = 0; k < keptFile.length; k++) {
        Tolerance.assertClose(mafs.get(k), expected.get(fs.variants().get(keptFile[k]).id()).maf(), 1e-12, 0, "MAF");
      }
      WindowSpec[] specs = {
        new WindowSpec(WindowSpec.Unit.CM, 1, 50, false),
        new WindowSpec(WindowSpec.Unit.SNPS, 100, 50, false),
        new WindowSpec(WindowSpec.Unit.CM, 1, 1, false),
      };
      for (int s = 0; s < specs.length; s++) {
        int[] first = specs[s].firstPartners(String.valueOf(chr), fs.variants(), keptFile);
        // Ranges of a few hundred variants: 400 samples × 4 bytes × ~700 columns.
        int[] starts = LdScoreRange.ranges(first, n, 400L * 4 * 700, Integer.MAX_VALUE);
        double[] l2 = LdScoreRange.chromosome(prefix, n, null, keptFile, first, starts, null, 1, CONF);
        for (int k = 0; k < keptFile.length; k++) {
          String id = fs.variants().get(keptFile[k]).id();
          Expected e = expected.get(id);
          double want = s == 0 ? e.cm1() : s == 1 ? e.snps100() : e.cm1Chunk1();
          Tolerance.assertClose(l2[k], want, 0, 1e-8, specs[s].describe() + " chunk " + specs[s].chunk() + " " + id);
        }
      }
    }
  }

  @Test
  void singleVariantsFromExpectedMd() throws IOException {
    Path dir = RefData.dir("ldsc-sim");
    String prefix = dir.resolve("panel/sim.1").toString();
    PlinkFileset fs = PlinkFileset.open(prefix, CONF);
    int[] keptFile = new int[fs.variantCount()];
    for (int v = 0; v < keptFile.length; v++) {
      keptFile[v] = v; // every chr 1 variant is kept (M = 4,000)
    }
    int[] first = new WindowSpec(WindowSpec.Unit.CM, 1, 50, false).firstPartners("1", fs.variants(), keptFile);
    double[] l2 = LdScoreRange.chromosome(prefix, fs.sampleCount(), null, keptFile, first,
        new int[] {0, keptFile.length}, null, 1, CONF);
    // EXPECTED.md: snp1_0001 13.0025037569, snp1_2000 4.18888421816 (--ld-wind-cm 1); mean 10.4275920289.
    Tolerance.assertClose(l2[0], 13.0025037569, 0, 1e-9, "snp1_0001");
    Tolerance.assertClose(l2[1999], 4.18888421816, 0, 1e-9, "snp1_2000");
    double sum = 0;
    for (double x : l2) {
      sum += x;
    }
    Tolerance.assertClose(sum, 41710.3681154, 0, 1e-10, "sum L2 chr1");
  }

  static Map<String, Expected> readFullPrecision(Path file) throws IOException {
    Map<String, Expected> out = new HashMap<>();
    try (BufferedReader r = FileSystems.openText(file.toString(), CONF)) {
      String[] header = r.readLine().split("\t");
      Map<String, Integer> col = new HashMap<>();
      for (int i = 0; i < header.length; i++) {
        col.put(header[i], i);
      }
      String line;
      while ((line = r.readLine()) != null) {
        String[] f = line.split("\t");
        out.put(f[col.get("SNP")], new Expected(Double.parseDouble(f[col.get("MAF")]),
            Double.parseDouble(f[col.get("L2_cm1")]), Double.parseDouble(f[col.get("L2_snps100")]),
            Double.parseDouble(f[col.get("L2_cm1_chunk1")])));
      }
    }
    return out;
  }
}
