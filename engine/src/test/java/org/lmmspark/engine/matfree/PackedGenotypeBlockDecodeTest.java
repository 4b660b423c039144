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
 * calls, and sub-ranges of a block at an offset.
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
      }
    }
  }
}
