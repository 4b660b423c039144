package org.lmmspark.engine.matfree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.DosageDecoder;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.testing.BedFixture;

/**
 * {@link PackedDosages#readTogether}: the cached calls unpacked once and gathered for several sample sets
 * (the traits of one association run) give each set exactly what {@link PackedDosages#read} gives it alone —
 * the same block boundaries, variants, frequencies, call counts, filter counts and float values — and those
 * values are the plain definition {@code x − 2p} (p over the set's called samples, missing calls 0),
 * written out here from the genotype matrix.
 */
class PackedDosagesTogetherTest {
  @TempDir
  Path dir;

  @Test
  void eachSampleSetGetsWhatItsOwnDecoderGivesAlone() {
    int n = 203;
    int m = 157;
    int[][] g = BedFixture.random(n, m, 0.05, 13, 41);
    int[] chr = new int[m];
    Arrays.fill(chr, 1);
    PlinkFileset fs = BedFixture.source(BedFixture.write(dir, "g", g, chr));
    List<PackedGenotypeBlock> cache = new ArrayList<>();
    new PackedGenotypeReader(fs.reader(), 0, 40).read(0, m, fs.position(0), null, null, new Configuration(),
        new VariantFilterCounts(0), cache::add);
    Random rnd = new Random(3);
    List<int[]> sets = List.of(identity(n), shuffledSubset(n, 150, rnd), shuffledSubset(n, 7, rnd));
    double maf = 0.02;
    int blockVariants = 16;
    List<List<DosageBlock>> together = new ArrayList<>();
    List<VariantFilterCounts> counts = new ArrayList<>();
    List<DosageDecoder> decoders = new ArrayList<>();
    List<Consumer<DosageBlock>> sinks = new ArrayList<>();
    for (int[] rows : sets) {
      List<DosageBlock> blocks = new ArrayList<>();
      together.add(blocks);
      counts.add(new VariantFilterCounts(0));
      decoders.add(new DosageDecoder(rows, maf));
      sinks.add(b -> blocks.add(copy(b)));
    }
    PackedDosages.readTogether(cache, decoders, blockVariants, counts, sinks);
    for (int s = 0; s < sets.size(); s++) {
      int[] rows = sets.get(s);
      List<DosageBlock> alone = new ArrayList<>();
      VariantFilterCounts c = new VariantFilterCounts(0);
      PackedDosages.read(cache, new DosageDecoder(rows, maf), blockVariants, c, b -> alone.add(copy(b)));
      assertEquals(alone.size(), together.get(s).size(), "blocks of set " + s);
      assertEquals(c.kept, counts.get(s).kept);
      assertEquals(c.monomorphic, counts.get(s).monomorphic);
      assertEquals(c.belowMaf, counts.get(s).belowMaf);
      assertEquals(c.allMissing, counts.get(s).allMissing);
      for (int k = 0; k < alone.size(); k++) {
        DosageBlock a = alone.get(k);
        DosageBlock t = together.get(s).get(k);
        assertEquals(a.m, t.m);
        assertArrayEquals(Arrays.copyOf(a.variantIndex, a.m), Arrays.copyOf(t.variantIndex, t.m));
        assertArrayEquals(Arrays.copyOf(a.called, a.m), Arrays.copyOf(t.called, t.m));
        assertArrayEquals(Arrays.copyOf(a.a1Frequency, a.m), Arrays.copyOf(t.a1Frequency, t.m));
        assertArrayEquals(Arrays.copyOf(a.values, a.n * a.m), Arrays.copyOf(t.values, t.n * t.m), "set " + s);
        for (int col = 0; col < t.m; col++) {
          int[] x = g[t.variantIndex[col]];
          double sum = 0;
          int called = 0;
          for (int r : rows) {
            if (x[r] >= 0) {
              sum += x[r];
              called++;
            }
          }
          double p = sum / (2.0 * called);
          assertEquals(called, t.called[col]);
          for (int i = 0; i < rows.length; i++) {
            float expected = x[rows[i]] < 0 ? 0f : (float) (x[rows[i]] - 2 * p);
            assertEquals(expected, t.values[col * t.n + i], 1e-6f, "set " + s + " variant " + t.variantIndex[col]);
          }
        }
      }
    }
    // The small set drops variants the large ones keep (monomorphic or rare among 7 samples).
    assertEquals(true, counts.get(2).kept < counts.get(0).kept);
  }

  static int[] identity(int n) {
    int[] r = new int[n];
    for (int i = 0; i < n; i++) {
      r[i] = i;
    }
    return r;
  }

  static int[] shuffledSubset(int n, int k, Random rnd) {
    List<Integer> all = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      all.add(i);
    }
    java.util.Collections.shuffle(all, rnd);
    return all.subList(0, k).stream().mapToInt(Integer::intValue).toArray();
  }

  static DosageBlock copy(DosageBlock b) {
    DosageBlock c = new DosageBlock(b.n, Math.max(1, b.m));
    System.arraycopy(b.values, 0, c.values, 0, b.n * b.m);
    System.arraycopy(b.variantIndex, 0, c.variantIndex, 0, b.m);
    System.arraycopy(b.a1Frequency, 0, c.a1Frequency, 0, b.m);
    System.arraycopy(b.called, 0, c.called, 0, b.m);
    System.arraycopy(b.info, 0, c.info, 0, b.m);
    c.m = b.m;
    return c;
  }
}
