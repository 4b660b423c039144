package org.lmmspark.engine.kinship;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.testing.BedFixture;

class GrmKernelTest {
  private final Configuration conf = new Configuration();

  /**
   * GCTA's definition written out plainly: p over non-missing calls, z = (x − 2p)/sqrt(2p(1−p)),
   * missing contributes 0, monomorphic variants skipped, A_jk = Σ z z / (variants called in both).
   */
  static double[][][] bruteForce(int[][] g, double minMaf) {
    int n = g[0].length;
    double[][] sum = new double[n][n];
    double[][] count = new double[n][n];
    for (int[] variant : g) {
      double total = 0;
      int called = 0;
      for (int x : variant) {
        if (x >= 0) {
          total += x;
          called++;
        }
      }
      if (called == 0) {
        continue;
      }
      double p = total / (2.0 * called);
      if (p == 0 || p == 1 || Math.min(p, 1 - p) < minMaf) {
        continue;
      }
      double sd = Math.sqrt(2 * p * (1 - p));
      for (int j = 0; j < n; j++) {
        for (int k = 0; k <= j; k++) {
          if (variant[j] >= 0 && variant[k] >= 0) {
            sum[j][k] += (variant[j] - 2 * p) / sd * ((variant[k] - 2 * p) / sd);
            count[j][k]++;
          }
        }
      }
    }
    double[][] a = new double[n][n];
    for (int j = 0; j < n; j++) {
      for (int k = 0; k <= j; k++) {
        a[j][k] = sum[j][k] / count[j][k];
      }
    }
    return new double[][][] {a, count};
  }

  /**
   * Several tilings and block sizes (blocks smaller than the data, tiles that do not divide N),
   * sparse missing calls (pair lists) and dense ones (indicator GEMM), monomorphic variants.
   * Tolerance 2e-6 relative: float32 output and float products within a block.
   */
  @ParameterizedTest
  @CsvSource({
    "37, 200, 0.0, 0, 37, 4096",
    "53, 300, 0.02, 7, 16, 64",
    "61, 257, 0.02, 5, 20, 100",
    "45, 180, 0.35, 9, 11, 64",
    "45, 180, 0.35, 9, 64, 4096",
  })
  void matchesBruteForce(int n, int m, double missing, int monoEvery, int tileSize, int blockVariants,
      @TempDir Path dir) {
    int[][] g = BedFixture.random(n, m, missing, monoEvery, 42L + n + m);
    int[] chr = new int[m];
    Arrays.fill(chr, 1);
    String prefix = BedFixture.write(dir, "t", g, chr);
    PlinkFileset fs = PlinkFileset.open(prefix, conf);
    Grm grm = GrmKernel.computeLocal(BedFixture.source(prefix), null, 0.0, tileSize, blockVariants, conf);
    double[][][] expected = bruteForce(g, 0.0);
    for (int j = 0; j < n; j++) {
      for (int k = 0; k <= j; k++) {
        assertClose(grm.get(j, k), expected[0][j][k], 2e-6, 2e-6, "A(" + j + "," + k + ")");
        assertEquals(expected[1][j][k], grm.count(j, k), "count(" + j + "," + k + ")");
      }
    }
  }

  @Test
  void mafFilterAndVariantSelection(@TempDir Path dir) {
    int n = 40;
    int m = 150;
    int[][] g = BedFixture.random(n, m, 0.01, 0, 7);
    int[] chr = new int[m];
    Arrays.fill(chr, 2);
    String prefix = BedFixture.write(dir, "t", g, chr);
    boolean[] include = new boolean[m];
    int[][] selected = new int[m / 2][];
    for (int v = 0, s = 0; v < m; v++) {
      include[v] = v % 2 == 0;
      if (include[v]) {
        selected[s++] = g[v];
      }
    }
    PlinkFileset fs = PlinkFileset.open(prefix, conf);
    Grm grm = GrmKernel.computeLocal(BedFixture.source(prefix), include, 0.2, 16, 32, conf);
    double[][][] expected = bruteForce(selected, 0.2);
    for (int j = 0; j < n; j++) {
      for (int k = 0; k <= j; k++) {
        assertClose(grm.get(j, k), expected[0][j][k], 2e-6, 2e-6, "A(" + j + "," + k + ")");
        assertEquals(expected[1][j][k], grm.count(j, k));
      }
    }
  }

  @Test
  void tilingGroupsRespectBudgetAndCoverEveryTile() {
    GrmTiling tiling = new GrmTiling(10_000, 4096);
    assertEquals(3, tiling.blocks());
    assertEquals(6, tiling.tileCount());
    long budget = 3L * 4096 * 4096 * GrmTiling.BYTES_PER_ENTRY;
    boolean[] seen = new boolean[6];
    for (int[] group : tiling.groups(budget)) {
      long bytes = 0;
      for (int t : group) {
        seen[t] = true;
        bytes += tiling.tileBytes(t);
        assertEquals(t, tiling.tileIndex(tiling.rowBlockOf(t), tiling.colBlockOf(t)));
      }
      assert bytes <= budget;
    }
    for (boolean s : seen) {
      assert s;
    }
  }

  /**
   * {@code --kernel standardized} and {@code centered} written plainly: missing calls at the mean of the
   * called ones (z = 0), the standardized SD the population SD (divisor N) of that mean-imputed column,
   * K = Σ z zᵀ / M with M the polymorphic variants, the same M for every pair. Tiles and blocks smaller
   * than the data; 1e-6 relative (float32 output, float products).
   */
  @ParameterizedTest
  @CsvSource({"STANDARDIZED, 0.03", "CENTERED, 0.03", "STANDARDIZED, 0.3"})
  void standardizedAndCenteredMatchTheirDefinitions(org.lmmspark.engine.genotype.GenotypeScaling scaling, double missing,
      @TempDir Path dir) {
    int n = 41;
    int m = 130;
    int[][] g = BedFixture.random(n, m, missing, 6, 99);
    int[] chr = new int[m];
    Arrays.fill(chr, 1);
    String prefix = BedFixture.write(dir, "t", g, chr);
    PlinkFileset fs = PlinkFileset.open(prefix, conf);
    Grm grm = GrmKernel.computeLocal(org.lmmspark.engine.testing.BedFixture.source(prefix), null, 0.0, 16, 32, scaling, conf);
    double[] k = new double[n * n];
    int used = 0;
    for (int[] v : g) {
      double sum = 0;
      int called = 0;
      for (int x : v) {
        if (x >= 0) {
          sum += x;
          called++;
        }
      }
      double mean = sum / called;
      double[] z = new double[n];
      double ss = 0;
      for (int j = 0; j < n; j++) {
        z[j] = v[j] < 0 ? 0 : v[j] - mean;
        ss += z[j] * z[j];
      }
      if (ss == 0) {
        continue; // monomorphic
      }
      used++;
      double sd = scaling == org.lmmspark.engine.genotype.GenotypeScaling.STANDARDIZED ? Math.sqrt(ss / n) : 1;
      for (int a = 0; a < n; a++) {
        for (int b = 0; b < n; b++) {
          k[a + b * n] += z[a] * z[b] / (sd * sd);
        }
      }
    }
    for (int a = 0; a < n; a++) {
      for (int b = 0; b <= a; b++) {
        assertClose(grm.get(a, b), k[a + b * n] / used, 1e-6, 1e-6, scaling + " K(" + a + "," + b + ")");
        assertEquals(used, grm.count(a, b), "M for every pair");
      }
    }
  }
}
