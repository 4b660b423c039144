package org.lmmspark.engine.assoc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.matfree.PackedDosages;
import org.lmmspark.engine.matfree.PackedGenotypeBlock;
import org.lmmspark.engine.matfree.PackedGenotypeReader;
import org.lmmspark.engine.stats.ChiSquared;
import org.lmmspark.engine.stats.FisherF;
import org.lmmspark.engine.testing.BedFixture;

/**
 * {@link StackedTraitTests}: four traits with their own analysed samples (different missing phenotypes, one set
 * of 25), covariates (p = 2 or 3) and exact eigenvectors (k = 0, 2, 3), tested together from the cached calls
 * (5% missing calls), against the calibrated statistic computed plainly here for each trait alone: the trait's
 * genotypes gathered and centered over its called samples ({@code x − 2p}, missing 0), its filters (all missing,
 * monomorphic, MAF), and the dense {@code P̃ = Ṽ⁻¹ − Ṽ⁻¹X(XᵀṼ⁻¹X)⁻¹XᵀṼ⁻¹} with
 * {@code Ṽ⁻¹ = γ₀I + U_k(W_k − γ₀)U_kᵀ}: {@code χ² = (xᵀr)²/(γ·xᵀP̃x)}, β̂, SE, and the F test from yᵀPy.
 * Variant 0 is monomorphic among trait 1's samples only, variant 1 has no call among trait 3's, variant 2
 * is below the MAF (0.03) there. Tolerance 1e-6
 * relative: {@code xᵀr}, {@code xᵀx} and the counts are summed in double, {@code U_kᵀx} and {@code Xᵀx} in float
 * (as the per-trait path does), and those enter only the correction terms of {@code xᵀP̃x}.
 */
class StackedTraitTestsTest {
  @TempDir
  Path dir;

  @Test
  void everyTraitGetsItsPlainDenseStatistic() {
    int n = 160;
    int m = 70;
    Random rnd = new Random(5);
    int[][] g = BedFixture.random(n, m, 0.05, 0, 29);
    List<int[]> sets = List.of(subset(n, 140, rnd), subset(n, 100, rnd), identity(n), subset(n, 25, rnd));
    boolean[] inSet1 = new boolean[n];
    for (int r : sets.get(1)) {
      inSet1[r] = true;
    }
    boolean[] inSet3 = new boolean[n];
    for (int r : sets.get(3)) {
      inSet3[r] = true;
    }
    for (int i = 0; i < n; i++) {
      g[0][i] = inSet1[i] ? 2 : (i % 3 == 0 ? 1 : 2); // polymorphic overall, monomorphic among trait 1's samples
      if (inSet3[i]) {
        g[1][i] = -1; // no call among trait 3's samples
      }
    }
    int[] set3 = sets.get(3);
    for (int j = 0; j < set3.length; j++) {
      g[2][set3[j]] = j == 0 ? 1 : 0; // one copy in 50 among trait 3's samples: below its MAF
    }
    int[] chr = new int[m];
    Arrays.fill(chr, 1);
    PlinkFileset fs = BedFixture.source(BedFixture.write(dir, "g", g, chr));
    List<PackedGenotypeBlock> cache = new ArrayList<>();
    new PackedGenotypeReader(fs.reader(), 0, 40).read(0, m, fs.position(0), null, null, new Configuration(),
        new VariantFilterCounts(0), cache::add);

    int[] ps = {2, 3, 2, 2};
    int[] ks = {0, 2, 3, 0};
    double[] gamma0s = {1.0, 0.7, 1.3, 1.0};
    double maf = 0.03;
    List<CalibratedModel> models = new ArrayList<>();
    List<double[][]> dense = new ArrayList<>(); // per trait: {r, P̃ (n_t × n_t)}
    double[] yPy = new double[sets.size()];
    for (int t = 0; t < sets.size(); t++) {
      int nt = sets.get(t).length;
      int p = ps[t];
      int k = ks[t];
      double[] r = normal(nt, rnd);
      double[] x = new double[nt * p];
      for (int i = 0; i < nt; i++) {
        x[i] = 1;
        for (int j = 1; j < p; j++) {
          x[i + j * nt] = j == 1 ? 50 + 10 * rnd.nextGaussian() : rnd.nextGaussian(); // an age-like one far from 0
        }
      }
      double[] uk = normal(nt * k, rnd);
      if (k > 0) {
        Blas.orthonormalize(nt, k, uk);
      }
      double[] wk = new double[k];
      for (int j = 0; j < k; j++) {
        wk[j] = 0.2 + 2 * rnd.nextDouble();
      }
      Calibration.Gamma gamma = new Calibration.Gamma(1.1 + 0.1 * t, 0.05, 50, 1, 2);
      models.add(CalibratedModel.of(r, x, nt, p, uk, wk, k, gamma0s[t], gamma, sets.get(t), "trait " + t));
      dense.add(new double[][] {r, plainPTilde(nt, p, k, x, uk, wk, gamma0s[t])});
      yPy[t] = 50 + 10 * t;
    }

    for (LmmTest statistic : List.of(LmmTest.MLMA, LmmTest.F)) {
      double[] fromDense = {0};
      List<AssocResults> out = new ArrayList<>();
      List<VariantFilterCounts> counts = new ArrayList<>();
      for (int t = 0; t < sets.size(); t++) {
        out.add(new AssocResults());
        counts.add(new VariantFilterCounts(0));
      }
      StackedTraitTests stacked = new StackedTraitTests(models, statistic, yPy, n, maf);
      PackedDosages.readCounts(cache, 16, block -> stacked.test(block, out, counts)); // blocks across cache blocks
      for (int t = 0; t < sets.size(); t++) {
        int[] rows = sets.get(t);
        int nt = rows.length;
        double[] r = dense.get(t)[0];
        double[] pt = dense.get(t)[1];
        CalibratedModel model = models.get(t);
        AssocResults res = out.get(t);
        VariantFilterCounts c = counts.get(t);
        long kept = 0;
        long mono = 0;
        long rare = 0;
        long none = 0;
        int k = 0;
        for (int v = 0; v < m; v++) {
          int called = 0;
          double sum = 0;
          for (int row : rows) {
            if (g[v][row] >= 0) {
              called++;
              sum += g[v][row];
            }
          }
          if (called == 0) {
            none++;
            continue;
          }
          if (sum == 0 || sum == 2.0 * called) {
            mono++;
            continue;
          }
          double af = sum / (2.0 * called);
          if (Math.min(af, 1 - af) < maf) {
            rare++;
            continue;
          }
          kept++;
          double[] xv = new double[nt];
          for (int i = 0; i < nt; i++) {
            xv[i] = g[v][rows[i]] < 0 ? 0 : g[v][rows[i]] - 2 * af;
          }
          double xr = 0;
          double xpx = 0;
          for (int i = 0; i < nt; i++) {
            xr += xv[i] * r[i];
            for (int j = 0; j < nt; j++) {
              xpx += xv[i] * pt[i + j * nt] * xv[j];
            }
          }
          double d = model.gamma().mean() * xpx;
          double chi2 = xr * xr / d;
          double beta = xr / d;
          double se = 1 / Math.sqrt(d);
          double stat = chi2;
          double logP = ChiSquared.logUpperTail(chi2, 1);
          if (statistic == LmmTest.F) {
            double df = nt - model.p() - 1;
            double rss = yPy[t] - chi2;
            stat = chi2 * df / rss;
            se = se * Math.sqrt(rss / df);
            logP = FisherF.logUpperTail(stat, 1, df);
          }
          String what = statistic + " trait " + t + " variant " + v;
          assertEquals(v, res.variant(k), what);
          assertEquals(called, res.called(k), what);
          assertEquals(af, res.a1Frequency(k), 1e-15, what);
          assertEquals(beta, res.beta(k), 1e-6 * Math.abs(beta), what);
          assertEquals(se, res.se(k), 1e-6 * se, what);
          assertEquals(stat, res.statistic(k), 1e-6 * stat + 1e-12, what);
          assertEquals(logP, res.logP(k), 1e-6 * Math.abs(logP) + 1e-12, what);
          fromDense[0] = Math.max(fromDense[0], Math.abs(res.statistic(k) - stat) / stat);
          assertTrue(Double.isNaN(res.info(k)), what);
          k++;
        }
        assertEquals(k, res.size(), "rows of trait " + t);
        assertEquals(kept, c.kept, "kept, trait " + t);
        assertEquals(mono, c.monomorphic, "monomorphic, trait " + t);
        assertEquals(rare, c.belowMaf, "below MAF, trait " + t);
        assertEquals(none, c.allMissing, "all missing, trait " + t);
      }
      // The per-trait path (float centered values, float U_kᵀx and Xᵀx): the same rows to its rounding.
      double worst = 0;
      for (int t = 0; t < sets.size(); t++) {
        AssocResults alone = new AssocResults();
        CalibratedTest.Kernel kernel = new CalibratedTest.Kernel(models.get(t), 16, statistic,
            statistic == LmmTest.F ? yPy[t] : Double.NaN);
        PackedDosages.read(cache, new org.lmmspark.engine.genotype.DosageDecoder(sets.get(t), maf), 16,
            new VariantFilterCounts(0), block -> kernel.test(block, alone));
        assertEquals(alone.size(), out.get(t).size());
        for (int k = 0; k < alone.size(); k++) {
          assertEquals(alone.variant(k), out.get(t).variant(k));
          double a = alone.statistic(k);
          worst = Math.max(worst, Math.abs(a - out.get(t).statistic(k)) / Math.max(a, 1e-3));
        }
      }
      System.out.printf("StackedTraitTestsTest %s: largest relative difference of the statistic from the dense"
          + " definition %.2e, from the per-trait path %.2e%n", statistic, fromDense[0], worst);
      assertTrue(worst < 1e-5, "per-trait path within its float rounding: " + worst);
      assertTrue(counts.get(1).monomorphic > 0 && counts.get(3).allMissing > 0 && counts.get(3).belowMaf > 0,
          "the set-specific filters were exercised");
    }
  }

  /** {@code P̃} as the dense definition, with the p×p inverse by Gauss–Jordan elimination. */
  static double[] plainPTilde(int n, int p, int k, double[] x, double[] uk, double[] wk, double gamma0) {
    double[] vt = new double[n * n];
    for (int i = 0; i < n; i++) {
      vt[i + i * n] = gamma0;
      for (int j = 0; j < n; j++) {
        for (int l = 0; l < k; l++) {
          vt[i + j * n] += uk[i + l * n] * (wk[l] - gamma0) * uk[j + l * n];
        }
      }
    }
    double[] vx = new double[n * p]; // Ṽ⁻¹X
    for (int i = 0; i < n; i++) {
      for (int a = 0; a < p; a++) {
        for (int j = 0; j < n; j++) {
          vx[i + a * n] += vt[i + j * n] * x[j + a * n];
        }
      }
    }
    double[][] c = new double[p][2 * p]; // [XᵀṼ⁻¹X | I] → [I | (XᵀṼ⁻¹X)⁻¹]
    for (int a = 0; a < p; a++) {
      for (int b = 0; b < p; b++) {
        for (int i = 0; i < n; i++) {
          c[a][b] += x[i + a * n] * vx[i + b * n];
        }
      }
      c[a][p + a] = 1;
    }
    for (int col = 0; col < p; col++) {
      double piv = c[col][col];
      for (int j = 0; j < 2 * p; j++) {
        c[col][j] /= piv;
      }
      for (int row = 0; row < p; row++) {
        if (row != col) {
          double f = c[row][col];
          for (int j = 0; j < 2 * p; j++) {
            c[row][j] -= f * c[col][j];
          }
        }
      }
    }
    double[] pt = vt.clone();
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int a = 0; a < p; a++) {
          for (int b = 0; b < p; b++) {
            s += vx[i + a * n] * c[a][p + b] * vx[j + b * n];
          }
        }
        pt[i + j * n] -= s;
      }
    }
    return pt;
  }

  static double[] normal(int len, Random rnd) {
    double[] a = new double[len];
    for (int i = 0; i < len; i++) {
      a[i] = rnd.nextGaussian();
    }
    return a;
  }

  static int[] identity(int n) {
    int[] r = new int[n];
    for (int i = 0; i < n; i++) {
      r[i] = i;
    }
    return r;
  }

  /** {@code k} of the {@code n} samples in a random order. */
  static int[] subset(int n, int k, Random rnd) {
    List<Integer> all = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      all.add(i);
    }
    java.util.Collections.shuffle(all, rnd);
    return all.subList(0, k).stream().mapToInt(Integer::intValue).toArray();
  }
}
