package org.lmmspark.engine.assoc;

import java.util.Arrays;

/**
 * Genomic control (Devlin &amp; Roeder 1999): {@code λGC = median(χ²) / median(χ²₁)}, with
 * {@code median(χ²₁) = 0.454936423119572...}. NaN statistics are ignored. O(M log M).
 */
public final class GenomicControl {
  private GenomicControl() {}

  /** The median of the χ² distribution with 1 degree of freedom, {@code (Φ⁻¹(3/4))²}. */
  public static final double CHI2_1_MEDIAN = 0.45493642311957283;

  public static double lambda(double[] chi2) {
    double[] v = Arrays.stream(chi2).filter(x -> !Double.isNaN(x)).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    int h = v.length / 2;
    double median = v.length % 2 == 1 ? v[h] : 0.5 * (v[h - 1] + v[h]);
    return median / CHI2_1_MEDIAN;
  }

  /** λGC of p-values given as natural logs, through the χ²₁ quantile: {@code χ² = Q⁻¹(p)}. */
  public static double lambdaFromLogP(double[] logP) {
    double[] v = Arrays.stream(logP).filter(x -> !Double.isNaN(x)).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    int h = v.length / 2;
    double medianLogP = v.length % 2 == 1 ? v[h] : 0.5 * (v[h - 1] + v[h]);
    double p = Math.exp(medianLogP);
    // χ²₁ upper quantile: (Φ⁻¹(1 − p/2))².
    double z = new org.apache.commons.math3.distribution.NormalDistribution().inverseCumulativeProbability(1 - p / 2);
    return z * z / CHI2_1_MEDIAN;
  }
}
