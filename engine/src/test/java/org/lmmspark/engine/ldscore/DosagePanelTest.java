package org.lmmspark.engine.ldscore;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeVisitor;
import org.lmmspark.engine.genotype.VariantDosages;

/**
 * LD scores of a dosage panel ({@link DosagePanel}, the BGEN/VCF route) against the definition written
 * plainly in this test: over the chosen samples, impute a missing dosage by the mean of the called ones,
 * standardize with the population SD, {@code r = zᵢᵀzⱼ/n}, sum {@code r² − (1 − r²)/(n − 2)} over an
 * exact window of {@code w} kept variants. Fractional dosages are multiples of 1/64 (exact in float, so
 * the only differences are double rounding): tolerance 1e-10 relative. Variants that must be dropped: a
 * monomorphic one, one with every called dosage 1 (ldsc's all-heterozygous drop), one with every called
 * dosage 0.75 (its fractional analogue).
 */
class DosagePanelTest {
  private static final Configuration CONF = new Configuration();
  /** Fake seek positions: the reader checks that each range starts its read at its first variant's. */
  private static final long POSITION_BASE = 1_000_000;

  /** An in-memory dosage source: {@code dosage[v][s]}, NaN for missing. */
  record MemoryReader(double[][] dosage) implements GenotypeReader {
    @Override
    public int sampleCount() {
      return dosage[0].length;
    }

    @Override
    public GenotypeReader qualified(Configuration conf) {
      return this;
    }

    @Override
    public boolean dosages() {
      return true;
    }

    @Override
    public void scan(int first, int end, long position, boolean[] include, Configuration conf, GenotypeVisitor visitor) {
      assertEquals(POSITION_BASE + 7L * first, position, "seek position of variant " + first);
      VariantDosages d = new VariantDosages(sampleCount());
      for (int v = first; v < end; v++) {
        if (include == null || include[v]) {
          System.arraycopy(dosage[v], 0, d.dosage, 0, sampleCount());
          visitor.dosages(d, v);
        }
      }
    }
  }

  @Test
  void fractionalDosagesEqualPlainDefinition() {
    SplittableRandom rng = new SplittableRandom(2026);
    for (int trial = 0; trial < 4; trial++) {
      int fileSamples = 30 + rng.nextInt(40);
      int m = 120 + rng.nextInt(200);
      double[][] d = new double[m][fileSamples];
      for (int v = 0; v < m; v++) {
        double p = 0.05 + 0.45 * rng.nextDouble();
        for (int s = 0; s < fileSamples; s++) {
          if (v > 0 && rng.nextDouble() < 0.6 && !Double.isNaN(d[v - 1][s])) {
            d[v][s] = d[v - 1][s]; // correlated neighbours
          } else {
            // Uniform on [0, 4p] capped at 2 (mean near 2p), rounded to 1/64: fractional, exact in float.
            d[v][s] = Math.min(2, Math.rint(64 * 4 * p * rng.nextDouble()) / 64);
          }
          if (rng.nextDouble() < 0.03) {
            d[v][s] = Double.NaN;
          }
        }
      }
      Arrays.fill(d[3], 0); // monomorphic
      Arrays.fill(d[8], 1); // every call "heterozygous"
      d[8][2] = Double.NaN;
      Arrays.fill(d[11], 0.75); // constant fractional dosage
      // Every sample, then a --keep subset in another order than the file's.
      int[] subset = null;
      if (trial % 2 == 1) {
        List<Integer> chosen = new ArrayList<>();
        for (int s = fileSamples - 1; s >= 0; s -= 1 + rng.nextInt(2)) {
          chosen.add(s);
        }
        subset = chosen.stream().mapToInt(Integer::intValue).toArray();
      }
      check("trial " + trial, d, subset, 3 + rng.nextInt(40), 200 + rng.nextInt(2000));
    }
  }

  private static void check(String label, double[][] d, int[] rows, int width, long taskBytes) {
    int m = d.length;
    DosagePanel panel = new DosagePanel(new MemoryReader(d), rows);
    int n = panel.samples();
    List<Integer> kept = new ArrayList<>();
    panel.scanKept(0, 0, m, POSITION_BASE, CONF, (v, keep, maf) -> {
      if (keep) {
        kept.add(v);
      }
    });
    int[] keptFile = kept.stream().mapToInt(Integer::intValue).toArray();
    int mk = keptFile.length;
    assertEquals(false, kept.contains(3) || kept.contains(8) || kept.contains(11), label + ": constant variants dropped");
    // The definition, plainly.
    double[][] z = new double[mk][n];
    for (int k = 0; k < mk; k++) {
      double[] x = new double[n];
      double sum = 0;
      int called = 0;
      for (int i = 0; i < n; i++) {
        x[i] = d[keptFile[k]][rows == null ? i : rows[i]];
        if (!Double.isNaN(x[i])) {
          sum += x[i];
          called++;
        }
      }
      double mean = sum / called;
      double ss = 0;
      for (int i = 0; i < n; i++) {
        x[i] = Double.isNaN(x[i]) ? mean : x[i];
        ss += (x[i] - mean) * (x[i] - mean);
      }
      double sd = Math.sqrt(ss / n);
      for (int i = 0; i < n; i++) {
        z[k][i] = (x[i] - mean) / sd;
      }
    }
    double[] expected = new double[mk];
    for (int j = 0; j < mk; j++) {
      for (int k = Math.max(0, j - width); k <= Math.min(mk - 1, j + width); k++) {
        double r = 0;
        for (int i = 0; i < n; i++) {
          r += z[j][i] * z[k][i];
        }
        r /= n;
        expected[j] += k == j ? 1 : r * r - (1 - r * r) / (n - 2);
      }
    }
    // The distributed route: windows, ranges of a few variants, partial scores added.
    int[] first = new int[mk];
    long[] keptPosition = new long[mk];
    for (int k = 0; k < mk; k++) {
      first[k] = Math.max(0, k - width);
      keptPosition[k] = POSITION_BASE + 7L * keptFile[k];
    }
    int[] starts = LdScoreRange.ranges(first, n, taskBytes, LdScoreKernel.COLUMN_GROUP);
    double[] l2 = new double[mk];
    for (int r = 0; r + 1 < starts.length; r++) {
      double[] part = LdScoreRange.scores(panel, keptFile, keptPosition, first, starts[r], starts[r + 1], null, 1, CONF);
      LdScoreRange.addInto(l2, first[starts[r]], 1, part);
    }
    for (int j = 0; j < mk; j++) {
      assertEquals(expected[j], l2[j], 1e-10 * Math.abs(expected[j]), label + ": L2 of kept variant " + j);
    }
  }
}
