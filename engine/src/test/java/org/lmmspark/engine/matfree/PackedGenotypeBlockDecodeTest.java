package org.lmmspark.engine.matfree;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.testing.BedFixture;

/**
 * The table decode of packed blocks ({@link PackedGenotypeBlock#decode}, what every matrix-free pass
 * runs) writes exactly {@code (float)} of the per-call value read plainly from the 2-bit code
 * ({@link PackedGenotypeBlock#value}): every sample count modulo 4 (the last byte's padding), missing
 * calls, sub-ranges of a block at an offset, and tiles of samples at an offset ({@link PackedGenotypeBlock#decodeRows},
 * what {@link GenotypeProductKernel} decodes), for 2-bit calls and 8-bit dosages.
 */
class PackedGenotypeBlockDecodeTest {
  @Test
  void tableDecodeEqualsThePlainValueOfEveryCall(@TempDir Path dir) {
    for (int n : new int[] {4, 5, 6, 7, 41, 64, 203}) {
      int m = 37;
      int[][] g = BedFixture.random(n, m, 0.05, 0, 100 + n);
      int[] chr = new int[m];
      java.util.Arrays.fill(chr, 1);
      String prefix = BedFixture.write(dir, "d" + n, g, chr);
      List<PackedGenotypeBlock> blocks = new ArrayList<>();
      new PackedGenotypeReader(BedFixture.source(prefix).reader(), 0, 16).read(0, m,
          BedFixture.source(prefix).position(0), null, null, new Configuration(), new VariantFilterCounts(0),
          blocks::add);
      for (PackedGenotypeBlock b : blocks) {
        float[] all = new float[b.n * b.m];
        b.decode(0, b.m, all);
        int from = b.m / 3;
        int count = b.m - from - 1;
        float[] part = new float[b.n * count];
        b.decode(from, count, part);
        for (int v = 0; v < b.m; v++) {
          for (int i = 0; i < b.n; i++) {
            float expected = (float) b.value(v, i);
            assertEquals(expected, all[v * b.n + i], "n=" + n + " variant " + v + " sample " + i);
            if (v >= from && v < from + count) {
              assertEquals(expected, part[(v - from) * b.n + i], "n=" + n + " sub-range variant " + v + " sample " + i);
            }
          }
        }
        assertTilesEqualValues(b);
      }
    }
  }

  /** 8-bit blocks: {@code (float)(a·q + b)}, 0 for the missing code 255 (built directly: every code occurs). */
  @Test
  void dosageTilesEqualThePlainValueOfEveryCall() {
    java.util.Random rnd = new java.util.Random(9);
    for (int n : new int[] {1, 5, 203, 600}) {
      int m = 7;
      byte[] q = new byte[n * m];
      rnd.nextBytes(q);
      double[] codeValue = new double[4 * m];
      for (int v = 0; v < m; v++) {
        double p = 0.05 + 0.9 * rnd.nextDouble();
        double scale = 1 / Math.sqrt(2 * p * (1 - p));
        codeValue[4 * v] = scale / PackedGenotypeBlock.DOSAGE_STEPS;
        codeValue[4 * v + 1] = -2 * p * scale;
      }
      double[] info = new double[m];
      PackedGenotypeBlock b = new PackedGenotypeBlock(n, m, 0, true, q, codeValue, new int[m], info);
      assertTilesEqualValues(b);
    }
  }

  /**
   * Every tile of {@code rows} samples (a multiple of 4, the last one shorter) at every offset, over a
   * sub-range of variants, equals the plain values.
   */
  private static void assertTilesEqualValues(PackedGenotypeBlock b) {
    int from = b.m / 4;
    int count = b.m - from;
    float[] tables = b.decodeTables(from, count, null);
    for (int rows : new int[] {4, 8, 12, 64}) {
      float[] tile = new float[rows * count];
      for (int row = 0; row < b.n; row += rows) {
        int r = Math.min(rows, b.n - row);
        b.decodeRows(from, count, row, r, tables, tile);
        for (int c = 0; c < count; c++) {
          for (int i = 0; i < r; i++) {
            assertEquals((float) b.value(from + c, row + i), tile[c * r + i],
                "n=" + b.n + " tile at " + row + " of " + rows + ", variant " + (from + c) + " sample " + (row + i));
          }
        }
      }
    }
  }
}
