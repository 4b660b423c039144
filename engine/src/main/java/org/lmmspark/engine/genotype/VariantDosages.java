package org.lmmspark.engine.genotype;

import java.util.Arrays;

/**
 * One variant's genotypes as expected allele counts (dosages), as BGEN and VCF sources deliver them:
 * for every sample of the source, in file order, {@code dosage[i] = E[x_i]} (copies of the counted
 * allele, NaN when the sample is missing) and {@code variance[i] = E[x_i²] − E[x_i]²}, the spread of
 * the genotype probabilities behind it (0 for a hard call). The variance is what the IMPUTE2 INFO
 * score needs ({@link #info}); it is known only when the source has probabilities
 * ({@link #probabilitiesKnown}), not for a VCF with only a DS field. The arrays are reused from
 * variant to variant.
 */
public final class VariantDosages {
  public final double[] dosage;
  public final double[] variance;
  /** Whether {@link #variance} comes from genotype probabilities (else it is meaningless). */
  public boolean probabilitiesKnown;

  public VariantDosages(int samples) {
    this.dosage = new double[samples];
    this.variance = new double[samples];
  }

  public int samples() {
    return dosage.length;
  }

  /** Marks every sample missing. */
  public void clear() {
    Arrays.fill(dosage, Double.NaN);
    Arrays.fill(variance, 0);
  }

  /**
   * The IMPUTE2 information measure of a biallelic variant over the given non-missing samples
   * (Marchini &amp; Howie 2010, Nat Rev Genet 11:499, Box 3; what BOLT-LMM, regenie and SAIGE report as
   * INFO): with {@code θ = Σ e_i / 2n} the allele frequency from the dosages {@code e_i},
   * {@code info = 1 − Σ (f_i − e_i²) / (2n θ(1 − θ))}, {@code f_i = E[x_i²]}; 1 for hard calls and,
   * by convention, for a monomorphic variant. NaN when the probabilities are unknown.
   *
   * @param dosageSum {@code Σ e_i} over the {@code called} samples
   * @param varianceSum {@code Σ (f_i − e_i²)} over the same samples
   */
  public static double info(boolean probabilitiesKnown, double dosageSum, double varianceSum, int called) {
    if (!probabilitiesKnown || called == 0) {
      return Double.NaN;
    }
    double theta = dosageSum / (2.0 * called);
    if (theta <= 0 || theta >= 1) {
      return 1;
    }
    return 1 - varianceSum / (2.0 * called * theta * (1 - theta));
  }
}
