package org.lmmspark.engine.matfree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.DosageBlockReader;
import org.lmmspark.engine.genotype.DosageDecoder;
import org.lmmspark.engine.genotype.GenotypeBlock;
import org.lmmspark.engine.genotype.GenotypeBlockReader;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.io.bgen.BgenFile;
import org.lmmspark.engine.testing.RefData;

/**
 * The matrix-free route's cache of dosage sources: 8-bit quantized dosages ({@link PackedGenotypeBlock},
 * {@code q = round(127x)}). Hard calls must come out exactly as from the 2-bit {@code .bed} cache; real
 * fractional dosages within the quantization step, against the exact values decoded from the file.
 */
class PackedDosageCacheTest {
  private static final Configuration CONF = new Configuration();

  static List<PackedGenotypeBlock> pack(GenotypeSource s, int blockVariants) {
    List<PackedGenotypeBlock> blocks = new ArrayList<>();
    new PackedGenotypeReader(s.reader(), 0, blockVariants).read(0, s.variantCount(), s.position(0), null, null, CONF,
        new VariantFilterCounts(0), blocks::add);
    return blocks;
  }

  /**
   * regenie-example's BGEN and {@code .bed} (same hard calls, BGEN.md): every cached standardized value
   * equal to 1e-12 (both are {@code (x − 2p)/sqrt(2p(1 − p))} in double from the same p), and so the
   * diagonal sums of {@code ZZᵀ}.
   */
  @Test
  void hardCallsFromBgenCacheEqualTheBedCache() {
    Path dir = RefData.dir("regenie-example");
    PlinkFileset bed = PlinkFileset.open(dir.resolve("example").toString(), CONF);
    BgenFile bgen = BgenFile.open(dir.resolve("example.bgen").toString(), dir.resolve("example_3chr.sample").toString(),
        CONF);
    List<PackedGenotypeBlock> a = pack(bgen, 300);
    List<PackedGenotypeBlock> b = pack(bed, 300);
    assertEquals(b.size(), a.size());
    int n = bed.sampleCount();
    double[] da = new double[n];
    double[] db = new double[n];
    for (int k = 0; k < a.size(); k++) {
      assertEquals(true, a.get(k).dosages);
      assertEquals(b.get(k).m, a.get(k).m);
      for (int v = 0; v < a.get(k).m; v++) {
        for (int i = 0; i < n; i++) {
          assertClose(a.get(k).value(v, i), b.get(k).value(v, i), 1e-12, 1e-12, "block " + k + " variant " + v);
        }
      }
      a.get(k).addSquares(da);
      b.get(k).addSquares(db);
    }
    assertClose(da, db, 1e-9, 1e-12, "diagonal of ZZ'");
  }

  /**
   * bgen-example 8 bits (fractional dosages, 2 missing calls): the cached standardized values within
   * half a quantization step ({@code 0.5/127} dosage, times the variant's scale) of the exact ones the
   * GRM reader decodes from the file, missing calls 0 in both; the dosages handed to the test from the
   * cache ({@link PackedDosages}) within {@code 0.5/127} of the file's, with the file's INFO score.
   */
  @Test
  void fractionalDosagesWithinQuantizationStep() {
    Path dir = RefData.dir("bgen-example");
    BgenFile bgen = BgenFile.open(dir.resolve("example.8bits.bgen").toString(), null, CONF);
    int n = bgen.sampleCount();
    int m = bgen.variantCount();
    List<PackedGenotypeBlock> cache = pack(bgen, 64);
    double[][] exact = new double[m][];
    double[] scale = new double[m];
    new GenotypeBlockReader(bgen.reader(), 0, m).read(0, m, bgen.position(0), null, CONF, new VariantFilterCounts(n),
        (GenotypeBlock g) -> {
          for (int c = 0; c < g.m; c++) {
            double p = g.a1Frequency[c];
            scale[g.variantIndex[c]] = 1 / Math.sqrt(2 * p * (1 - p));
            exact[g.variantIndex[c]] = new double[n];
            for (int i = 0; i < n; i++) {
              exact[g.variantIndex[c]][i] = g.values[c * n + i];
            }
          }
        });
    int checked = 0;
    for (PackedGenotypeBlock b : cache) {
      for (int v = 0; v < b.m; v++) {
        int variant = b.variantIndex[v];
        for (int i = 0; i < n; i++) {
          assertClose(b.value(v, i), exact[variant][i], 0.5 / 127 * scale[variant] + 1e-5, 0,
              "variant " + variant + " sample " + i);
        }
        checked++;
      }
    }
    assertEquals(m, checked);

    int[] rows = new int[n];
    for (int i = 0; i < n; i++) {
      rows[i] = i;
    }
    DosageBlock fromFile = new DosageBlock(n, m);
    new DosageBlockReader(bgen.reader(), rows, 0, m).read(0, m, bgen.position(0), null, CONF,
        new VariantFilterCounts(n), b -> copy(b, fromFile));
    DosageBlock fromCache = new DosageBlock(n, m);
    PackedDosages.read(cache, new DosageDecoder(rows, 0), m, new VariantFilterCounts(n), b -> copy(b, fromCache));
    assertEquals(m, fromCache.m);
    for (int c = 0; c < m; c++) {
      assertEquals(fromFile.variantIndex[c], fromCache.variantIndex[c]);
      assertClose(fromCache.info[c], fromFile.info[c], 1e-12, 0, "INFO of variant " + c);
      for (int i = 0; i < n; i++) {
        double x = fromFile.values[c * n + i] + 2 * fromFile.a1Frequency[c];
        double y = fromCache.values[c * n + i] + 2 * fromCache.a1Frequency[c];
        assertClose(y, x, 0.5 / 127 + 1e-5, 0, "dosage of variant " + c + " sample " + i);
      }
    }
  }

  private static void copy(DosageBlock from, DosageBlock to) {
    System.arraycopy(from.values, 0, to.values, to.m * from.n, from.m * from.n);
    for (int c = 0; c < from.m; c++) {
      to.variantIndex[to.m + c] = from.variantIndex[c];
      to.a1Frequency[to.m + c] = from.a1Frequency[c];
      to.info[to.m + c] = from.info[c];
    }
    to.m += from.m;
  }
}
