package org.lmmspark.engine.ldscore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.Tolerance;

/**
 * LD scores against the definition written plainly: mean-impute, standardize with the population SD,
 * {@code r = zᵢᵀzⱼ/n}, sum {@code r² − (1 − r²)/(n − 2)} times the partner's annotation over the
 * window, pairs decided by the chunk rule spelled out in EXPECTED.md of ldsc-sim (not by
 * {@link LdWindow}). Random panels with missing calls (the double route), without (the exact
 * single-precision route), monomorphic and all-heterozygous variants (dropped), several chunk sizes,
 * two annotations and ranges smaller than the chromosome. Tolerance 1e-10 relative: direct arithmetic.
 */
class LdScoreBruteForceTest {
  private static final Configuration CONF = new Configuration();

  @TempDir
  Path tmp;

  @Test
  void equalsPlainDefinition() {
    SplittableRandom rng = new SplittableRandom(14);
    for (int trial = 0; trial < 6; trial++) {
      int n = 20 + rng.nextInt(60);
      int m = 150 + rng.nextInt(250);
      checkAgainstPlainDefinition(rng, "trial " + trial, n, m, trial % 2 == 0, 5, 30, LdScoreKernel.COLUMN_GROUP + 60);
    }
  }

  /**
   * Windows wider than a column group ({@link LdScoreKernel#COLUMN_GROUP}): every part of a group's
   * products (the rows all its columns need, its own triangle, the staircase slices) is taken, on both
   * routes, with exact and chunked windows.
   */
  @Test
  void windowsWiderThanAGroupEqualPlainDefinition() {
    SplittableRandom rng = new SplittableRandom(41);
    int g = LdScoreKernel.COLUMN_GROUP;
    for (int trial = 0; trial < 2; trial++) {
      checkAgainstPlainDefinition(rng, "wide trial " + trial, 24 + rng.nextInt(20), 3 * g + 400 + rng.nextInt(100),
          trial == 0, g + 40, 100, 3 * g + 400);
    }
  }

  /**
   * One random panel of {@code n × m} (variant 5 monomorphic, 9 all heterozygous), two annotations, a
   * window of {@code minWidth + U[0, spread)} variants, chunk sizes 1, 7 and 50, ranges whose blocks hold
   * about {@code rangeVariants} variants: the kernel against the definition.
   */
  private void checkAgainstPlainDefinition(SplittableRandom rng, String label, int n, int m, boolean withMissing,
      int minWidth, int spread, int rangeVariants) {
    int[][] g = new int[m][n];
    // Correlated neighbours: each variant copies its predecessor's calls with probability 0.7.
    for (int v = 0; v < m; v++) {
      double p = 0.05 + 0.45 * rng.nextDouble();
      for (int s = 0; s < n; s++) {
        if (v > 0 && rng.nextDouble() < 0.7 && g[v - 1][s] >= 0) {
          g[v][s] = g[v - 1][s];
        } else {
          g[v][s] = (rng.nextDouble() < p ? 1 : 0) + (rng.nextDouble() < p ? 1 : 0);
        }
        if (withMissing && rng.nextDouble() < 0.03) {
          g[v][s] = -1;
        }
      }
    }
    g[5] = new int[n]; // monomorphic: dropped
    java.util.Arrays.fill(g[9], 1); // every call heterozygous: dropped
    int[] chr = new int[m];
    java.util.Arrays.fill(chr, 1);
    String prefix = BedFixture.write(tmp, label.replace(' ', '_'), g, chr);

    List<Integer> kept = new ArrayList<>();
    PanelBlock.scanKept(prefix, n, null, 0, 0, m, CONF, (v, keep, maf) -> {
      if (keep) {
        kept.add(v);
      }
    });
    assertEquals(m - 2, kept.size(), "monomorphic and all-het variants dropped");
    int[] keptFile = kept.stream().mapToInt(Integer::intValue).toArray();
    int mk = keptFile.length;
    double[][] z = new double[mk][];
    for (int k = 0; k < mk; k++) {
      z[k] = standardize(g[keptFile[k]]);
    }
    double[] annot = new double[mk * 2];
    for (int k = 0; k < mk; k++) {
      annot[2 * k] = 1;
      annot[2 * k + 1] = rng.nextDouble() < 0.3 ? 1 : 0;
    }
    double width = minWidth + rng.nextInt(spread);
    double[] coords = new double[mk];
    for (int k = 0; k < mk; k++) {
      coords[k] = k;
    }
    for (int chunk : new int[] {1, 7, 50}) {
      int[] bl = plainBlockLefts(coords, width);
      double[] expected = new double[mk * 2];
      for (int j = 0; j < mk; j++) {
        for (int i = 0; i <= j; i++) {
          if (!countedByChunkRule(i, j, bl, chunk)) {
            continue;
          }
          double f = i == j ? 1 : unbiased(dot(z[i], z[j]) / n, n);
          for (int a = 0; a < 2; a++) {
            expected[2 * j + a] += f * annot[2 * i + a];
            if (i != j) {
              expected[2 * i + a] += f * annot[2 * j + a];
            }
          }
        }
      }
      int[] first = LdWindow.firstPartners(LdWindow.blockLefts(coords, width), chunk);
      int[] starts = LdScoreRange.ranges(first, n, 4L * n * rangeVariants, Integer.MAX_VALUE);
      double[] got = LdScoreRange.chromosome(prefix, n, null, keptFile, first, starts, annot, 2, CONF);
      Tolerance.assertClose(got, expected, 1e-12, 1e-10, label + " chunk " + chunk);
    }
  }

  /** {@code --keep}: a subset of samples (every other one, plus the last) equals the plain definition on that subset. */
  @Test
  void sampleSubsetEqualsPlainDefinitionOnTheSubset() {
    SplittableRandom rng = new SplittableRandom(3);
    int n = 47;
    int m = 90;
    int[][] g = new int[m][n];
    for (int v = 0; v < m; v++) {
      for (int s = 0; s < n; s++) {
        g[v][s] = v > 0 && rng.nextDouble() < 0.6 ? g[v - 1][s] : rng.nextInt(3);
        if (rng.nextDouble() < 0.02) {
          g[v][s] = -1;
        }
      }
    }
    int[] chr = new int[m];
    java.util.Arrays.fill(chr, 1);
    String prefix = BedFixture.write(tmp, "keep", g, chr);
    int[] rows = java.util.stream.IntStream.range(0, n).filter(s -> s % 2 == 0 || s == n - 1).toArray();
    int[] keptFile = java.util.stream.IntStream.range(0, m).toArray();
    int[] first = LdWindow.firstPartners(LdWindow.blockLefts(java.util.stream.IntStream.range(0, m).asDoubleStream().toArray(), 10), 1);
    double[] got = LdScoreRange.chromosome(prefix, n, rows, keptFile, first, new int[] {0, m}, null, 1, CONF);
    double[][] z = new double[m][];
    for (int v = 0; v < m; v++) {
      int[] sub = new int[rows.length];
      for (int k = 0; k < rows.length; k++) {
        sub[k] = g[v][rows[k]];
      }
      z[v] = standardize(sub);
    }
    for (int j = 0; j < m; j++) {
      double want = 0;
      for (int i = Math.max(0, j - 10); i <= Math.min(m - 1, j + 10); i++) {
        want += i == j ? 1 : unbiased(dot(z[i], z[j]) / rows.length, rows.length);
      }
      Tolerance.assertClose(got[j], want, 1e-12, 1e-10, "variant " + j);
    }
  }

  /** A window that reaches the first variant from the last is refused unless allowed (ldsc's --yes-really). */
  @Test
  void windowWiderThanTheChromosomeIsBadInput() {
    java.util.List<org.lmmspark.engine.io.Variant> variants = new java.util.ArrayList<>();
    for (int v = 0; v < 50; v++) {
      variants.add(new org.lmmspark.engine.io.Variant("3", "rs" + v, v * 0.01, 1000L * (v + 1), "A", "C"));
    }
    int[] kept = java.util.stream.IntStream.range(0, 50).toArray();
    org.lmmspark.engine.BadInputException e = org.junit.jupiter.api.Assertions.assertThrows(
        org.lmmspark.engine.BadInputException.class,
        () -> new WindowSpec(WindowSpec.Unit.KB, 50, 1, false).firstPartners("3", variants, kept));
    org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("larger than the chromosome"), e.getMessage());
    assertArrayEquals(new int[50], new WindowSpec(WindowSpec.Unit.KB, 50, 1, true).firstPartners("3", variants, kept));
    // 49 kb apart at most: a 48 kb window is not the whole chromosome.
    assertEquals(1, new WindowSpec(WindowSpec.Unit.KB, 48, 1, false).firstPartners("3", variants, kept)[49]);
  }

  @Test
  void exactWindowsAreTheBlockLefts() {
    int[] bl = {0, 0, 0, 1, 2, 2, 4, 6};
    assertArrayEquals(bl, LdWindow.firstPartners(bl, 1));
    // b0 = 3 rounded up to 4; from j = 4 on: c·⌊bl(l)/c⌋ with l = 4 (bl 2 → 2) and l = 6 (bl 4 → 4).
    assertArrayEquals(new int[] {0, 0, 0, 0, 2, 2, 4, 4}, LdWindow.firstPartners(bl, 2));
  }

  /** The chunk rule as EXPECTED.md states it. */
  private static boolean countedByChunkRule(int i, int j, int[] bl, int c) {
    int m = bl.length;
    int b0 = m;
    for (int k = 0; k < m; k++) {
      if (bl[k] > 0) {
        b0 = k;
        break;
      }
    }
    b0 = Math.min(m, (int) Math.ceil(b0 / (double) c) * c);
    if (j < b0) {
      return true;
    }
    int l = c * (j / c);
    return i >= l - (int) Math.ceil((l - bl[l]) / (double) c) * c;
  }

  private static int[] plainBlockLefts(double[] coords, double w) {
    int[] bl = new int[coords.length];
    for (int i = 0; i < coords.length; i++) {
      int j = 0;
      while (Math.abs(coords[j] - coords[i]) > w) {
        j++;
      }
      bl[i] = j;
    }
    return bl;
  }

  private static double[] standardize(int[] calls) {
    int n = calls.length;
    double sum = 0;
    int called = 0;
    for (int x : calls) {
      if (x >= 0) {
        sum += x;
        called++;
      }
    }
    double mu = sum / called;
    double[] z = new double[n];
    double ss = 0;
    for (int s = 0; s < n; s++) {
      z[s] = calls[s] >= 0 ? calls[s] - mu : 0;
      ss += z[s] * z[s];
    }
    double sd = Math.sqrt(ss / n);
    for (int s = 0; s < n; s++) {
      z[s] /= sd;
    }
    return z;
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  private static double unbiased(double r, int n) {
    return r * r - (1 - r * r) / (n - 2);
  }
}
