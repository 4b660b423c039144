package org.lmmspark.engine.assoc;

import java.io.Serializable;
import java.util.Arrays;
import org.lmmspark.engine.genotype.DosageBlock;

/**
 * Per-variant association results of one unit of work (a variant range), in columns:
 * the fileset variant index, A1 frequency, number of called samples and INFO score among the analysed ones,
 * {@code β̂} (per copy of A1), its standard error, the test statistic, the natural log of the p-value
 * (never underflows), and for exact tests the per-variant {@code λ̂ = σ²_g/σ²_e} (NaN otherwise).
 * A variant whose genotypes are (numerically) a combination of the covariates has NaN statistics.
 */
public final class AssocResults implements Serializable {
  private static final long serialVersionUID = 1L;

  private int size;
  private int[] variant = new int[16];
  private double[] af = new double[16];
  private int[] called = new int[16];
  private double[] info = new double[16];
  private double[] beta = new double[16];
  private double[] se = new double[16];
  private double[] stat = new double[16];
  private double[] logP = new double[16];
  private double[] lambda = new double[16];

  /** Appends a row; {@code infoScore} is the variant's INFO (NaN for hard calls, see {@link DosageBlock#info}). */
  public void add(int variantIndex, double a1Frequency, int calledSamples, double infoScore, double b, double s,
      double statistic, double lnP, double lam) {
    if (size == variant.length) {
      int c = 2 * size;
      variant = Arrays.copyOf(variant, c);
      af = Arrays.copyOf(af, c);
      called = Arrays.copyOf(called, c);
      info = Arrays.copyOf(info, c);
      beta = Arrays.copyOf(beta, c);
      se = Arrays.copyOf(se, c);
      stat = Arrays.copyOf(stat, c);
      logP = Arrays.copyOf(logP, c);
      lambda = Arrays.copyOf(lambda, c);
    }
    variant[size] = variantIndex;
    af[size] = a1Frequency;
    called[size] = calledSamples;
    info[size] = infoScore;
    beta[size] = b;
    se[size] = s;
    stat[size] = statistic;
    logP[size] = lnP;
    lambda[size] = lam;
    size++;
  }

  /** Appends all rows of {@code other}. */
  public AssocResults addAll(AssocResults other) {
    for (int k = 0; k < other.size; k++) {
      add(other.variant[k], other.af[k], other.called[k], other.info[k], other.beta[k], other.se[k], other.stat[k], other.logP[k],
          other.lambda[k]);
    }
    return this;
  }

  public int size() {
    return size;
  }

  public int variant(int k) {
    return variant[k];
  }

  public double a1Frequency(int k) {
    return af[k];
  }

  public int called(int k) {
    return called[k];
  }

  /** The variant's imputation INFO score among the analysed samples; NaN for hard calls. */
  public double info(int k) {
    return info[k];
  }

  public double beta(int k) {
    return beta[k];
  }

  public double se(int k) {
    return se[k];
  }

  /** χ²₁ = β̂²/SE² for the fixed-null test; Wald F = β̂²/SE² (1, n−p−1 df) for the exact test. */
  public double statistic(int k) {
    return stat[k];
  }

  /** Natural log of the p-value. */
  public double logP(int k) {
    return logP[k];
  }

  public double lambda(int k) {
    return lambda[k];
  }

  /** −log10 p. */
  public double negLog10P(int k) {
    return -logP[k] / Math.log(10);
  }
}
