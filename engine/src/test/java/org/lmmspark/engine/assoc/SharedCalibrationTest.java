package org.lmmspark.engine.assoc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.testing.PlainGls;

/**
 * {@link Calibration#transfer} against simulated truth, by dense computation written out here: two traits over mostly
 * the same samples of a structured population (two subpopulations), different h² and missingness; each variant's
 * exact ratio {@code xᵀPx / x̃ᵀx̃} from the dense {@code P}; γ of the second trait as the mean ratio over a pool of 240
 * variants not in K. Draws of a 30-variant reference sample and 6 shared variants give the carried-over γ; its error
 * over the draws must match the relative SE the estimator reports, and be about that of the trait's own 30.
 */
class SharedCalibrationTest {

  @Test
  void carriedOverGammaIsUnbiasedWithTheStandardErrorItReports() {
    Random rnd = new Random(11);
    int n = 600;
    int m = 600;
    int pool = 240;
    double[][] z = new double[n][m];
    double[][] x = new double[n][pool];
    int[] population = new int[n];
    for (int i = 0; i < n; i++) {
      population[i] = i < n / 2 ? 0 : 1;
    }
    for (int j = 0; j < m + pool; j++) {
      double p0 = 0.05 + 0.45 * rnd.nextDouble();
      double[] p = new double[2];
      for (int k = 0; k < 2; k++) {
        p[k] = Math.min(0.95, Math.max(0.02, p0 + 0.08 * rnd.nextGaussian()));
      }
      double[] g = new double[n];
      for (int i = 0; i < n; i++) {
        g[i] = (rnd.nextDouble() < p[population[i]] ? 1 : 0) + (rnd.nextDouble() < p[population[i]] ? 1 : 0);
      }
      for (int i = 0; i < n; i++) {
        if (j < m) {
          z[i][j] = g[i];
        } else {
          x[i][j - m] = g[i];
        }
      }
    }
    standardize(z, n, m);
    double[][] k = new double[n][n];
    for (int a = 0; a < n; a++) {
      for (int b = 0; b <= a; b++) {
        double s = 0;
        for (int j = 0; j < m; j++) {
          s += z[a][j] * z[b][j];
        }
        k[a][b] = s / m;
        k[b][a] = s / m;
      }
    }
    double[] reference = ratios(k, x, mask(rnd, n, 0.03), 0.45);
    double[] other = ratios(k, x, mask(rnd, n, 0.15), 0.20);
    double truth = mean(other, 0, pool);

    int draws = 60;
    double[] carriedError = new double[draws];
    double[] ownError = new double[draws];
    double reportedSe = 0;
    for (int d = 0; d < draws; d++) {
      int[] sample = rnd.ints(0, pool).distinct().limit(30).toArray();
      double[] refSample = new double[30];
      double[] ownSample = new double[30];
      for (int j = 0; j < 30; j++) {
        refSample[j] = reference[sample[j]];
        ownSample[j] = other[sample[j]];
      }
      double[] refShared = new double[6];
      double[] ownShared = new double[6];
      for (int i = 0; i < 6; i++) {
        int j = (int) ((i + 0.5) * 30 / 6);
        refShared[i] = refSample[j];
        ownShared[i] = ownSample[j];
      }
      Calibration.Transfer t = Calibration.transfer(Calibration.summarize(refSample, 30), refShared, ownShared);
      assertEquals(6, t.shared());
      carriedError[d] = t.gamma().mean() / truth - 1;
      ownError[d] = Calibration.summarize(ownSample, 30).mean() / truth - 1;
      reportedSe += t.relativeSe() / draws;
    }
    double carriedRms = rms(carriedError);
    double ownRms = rms(ownError);
    System.out.printf("SharedCalibrationTest: γ %.5f (reference %.5f); carried-over relative error RMS %.4f (reported SE"
        + " %.4f, mean %.5f), own 30: RMS %.4f%n", truth, mean(reference, 0, pool), carriedRms, reportedSe,
        mean(carriedError, 0, draws), ownRms);
    // The traits' γ differ (h² 0.45 against 0.20), so carrying over is more than copying.
    assertTrue(Math.abs(mean(reference, 0, pool) / truth - 1) > 0.02, "the two traits' γ hardly differ");
    // Unbiased within its sampling error (draws overlap in a pool of 240: a conservative 4 SE), with the SE it reports
    // (within a factor 1.6 either way over 60 draws) and about the precision of the trait's own 30.
    assertTrue(Math.abs(mean(carriedError, 0, draws)) < 4 * carriedRms / Math.sqrt(draws) + 5e-4,
        "carried-over γ biased: mean relative error " + mean(carriedError, 0, draws));
    assertTrue(carriedRms < 1.6 * reportedSe && carriedRms > reportedSe / 1.6,
        "RMS error " + carriedRms + " against the reported SE " + reportedSe);
    assertTrue(carriedRms < 2 * ownRms, "carried over " + carriedRms + " against own 30 " + ownRms);
  }

  @Test
  void planSolvesTheSharedVariantsForAllButTheReference() {
    // Trait 0 (reference) sampled variants 10..19 over two scopes; trait 1 the same but 13 (its filters dropped it);
    // trait 2 only variants the plan does not choose.
    List<List<LocoResiduals.Scope>> sampled = List.of(
        scopes(new int[] {10, 11, 12, 13, 14}, new int[] {15, 16, 17, 18, 19}),
        scopes(new int[] {10, 11, 12, 14}, new int[] {15, 16, 17, 18, 19}),
        scopes(new int[] {10}, new int[] {19}));
    SharedCalibration plan = SharedCalibration.plan(sampled, 0, 4);
    // Evenly spread over the reference's 10: positions 1, 3, 6, 8 → variants 11, 13, 16, 18.
    assertFalse(plan.carried(0));
    assertTrue(plan.carried(1));
    assertFalse(plan.carried(2), "a trait sharing fewer than two of the chosen variants solves its own sample");
    assertArrayEquals(new int[] {11}, indices(plan.solved().get(1).get(0).sample()));
    assertArrayEquals(new int[] {16, 18}, indices(plan.solved().get(1).get(1).sample()));
    assertEquals(sampled.get(0), plan.solved().get(0));
    assertEquals(sampled.get(2), plan.solved().get(2));
    // Its γ from the reference's ratios of the same variants, matched by variant (not by position).
    double[] refRatios = {1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9};
    LocoResiduals.Result ref = result(refRatios, Calibration.summarize(refRatios, 10));
    LocoResiduals.Result own = result(new double[] {2.2, 3.2, 3.6}, null);
    Calibration.Transfer t = plan.transfer(1, ref, own);
    assertEquals(3, t.shared());
    assertEquals(1.45 * (2.2 + 3.2 + 3.6) / (1.1 + 1.6 + 1.8), t.gamma().mean(), 1e-12);
  }

  private static List<LocoResiduals.Scope> scopes(int[] first, int[] second) {
    return List.of(new LocoResiduals.Scope(0, "LOCO chromosome 1", block(first)),
        new LocoResiduals.Scope(1, "LOCO chromosome 2", block(second)));
  }

  private static DosageBlock block(int[] variants) {
    DosageBlock b = new DosageBlock(3, variants.length);
    for (int v : variants) {
      b.variantIndex[b.m++] = v;
    }
    return b;
  }

  private static int[] indices(DosageBlock b) {
    return java.util.Arrays.copyOf(b.variantIndex, b.m);
  }

  private static LocoResiduals.Result result(double[] ratios, Calibration.Gamma pooled) {
    return new LocoResiduals.Result(List.of(), List.of(), pooled, new int[0], 0, 0, 0, 0, 0, ratios);
  }

  /** Each variant's {@code xᵀPx / x̃ᵀx̃} over the kept samples, V = h²K + (1 − h²)I, P for an intercept, dense. */
  private static double[] ratios(double[][] k, double[][] x, boolean[] keep, double h2) {
    List<Integer> rows = new ArrayList<>();
    for (int i = 0; i < keep.length; i++) {
      if (keep[i]) {
        rows.add(i);
      }
    }
    int n = rows.size();
    double[] kt = new double[n * n];
    for (int a = 0; a < n; a++) {
      for (int b = 0; b < n; b++) {
        kt[a + b * n] = k[rows.get(a)][rows.get(b)];
      }
    }
    double[] ones = new double[n];
    java.util.Arrays.fill(ones, 1);
    double[] p = PlainGls.projection(kt, h2, 1 - h2, ones, n, 1);
    double[] out = new double[x[0].length];
    for (int j = 0; j < out.length; j++) {
      double[] xj = new double[n];
      double meanX = 0;
      for (int a = 0; a < n; a++) {
        xj[a] = x[rows.get(a)][j];
        meanX += xj[a] / n;
      }
      double centered = 0;
      for (int a = 0; a < n; a++) {
        centered += (xj[a] - meanX) * (xj[a] - meanX);
      }
      out[j] = PlainGls.dot(xj, PlainGls.times(p, xj)) / centered;
    }
    return out;
  }

  private static void standardize(double[][] z, int n, int m) {
    for (int j = 0; j < m; j++) {
      double mean = 0;
      for (int i = 0; i < n; i++) {
        mean += z[i][j] / n;
      }
      double ss = 0;
      for (int i = 0; i < n; i++) {
        ss += (z[i][j] - mean) * (z[i][j] - mean);
      }
      double sd = Math.sqrt(ss / n);
      for (int i = 0; i < n; i++) {
        z[i][j] = sd > 0 ? (z[i][j] - mean) / sd : 0;
      }
    }
  }

  private static boolean[] mask(Random rnd, int n, double missing) {
    boolean[] keep = new boolean[n];
    for (int i = 0; i < n; i++) {
      keep[i] = rnd.nextDouble() >= missing;
    }
    return keep;
  }

  private static double mean(double[] v, int from, int to) {
    double s = 0;
    for (int i = from; i < to; i++) {
      s += v[i];
    }
    return s / (to - from);
  }

  private static double rms(double[] v) {
    double s = 0;
    for (double e : v) {
      s += e * e;
    }
    return Math.sqrt(s / v.length);
  }
}
