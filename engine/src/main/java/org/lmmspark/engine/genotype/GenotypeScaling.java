package org.lmmspark.engine.genotype;

import java.util.Locale;

/**
 * How a variant's allele counts {@code x} become the columns {@code z} of {@code K = Z Zᵀ / M}: the
 * three GRM definitions peers use ({@code --kernel} on the command line). Every one is 0 at a missing
 * call (mean imputation) and skips monomorphic variants (they add nothing to Z Zᵀ).
 *
 * <ul>
 *   <li>{@link #GCTA}: {@code z = (x − 2p)/√(2p(1−p))}, {@code p} the A1 frequency among the called
 *       samples; {@code A_jk = Σ z_ij z_ik / M_jk} with {@code M_jk} the variants called in both samples
 *       (GCTA {@code --make-grm}, PLINK 1.9 {@code --make-grm-bin}; Yang et al. 2011).</li>
 *   <li>{@link #STANDARDIZED}: {@code z = (x − x̄)/s} with {@code x̄} the mean over the called samples and
 *       {@code s²} the population variance (divisor N) of the mean-imputed column over all N analysed
 *       samples, so every column has mean 0 and variance 1; {@code K = Z Zᵀ / M}, M the variants used
 *       (GEMMA {@code -gk 2} {@code sXX}, FaST-LMM, Hail's {@code LinearMixedModel}, BOLT-LMM).</li>
 *   <li>{@link #CENTERED}: {@code z = x − x̄}, {@code K = Z Zᵀ / M} (GEMMA {@code -gk 1} {@code cXX}).</li>
 * </ul>
 *
 * <p>GEMMA computes {@code s²} as here ({@code (Σ_called x² + n_miss x̄²)/N − x̄²}) and divides by the
 * number of SNPs it analysed; with {@code -maf 0} it also counts monomorphic SNPs in that number, which
 * scales its K by {@code M_polymorphic/M_all} relative to ours (no effect on h² or tests of a
 * standardized K up to that factor in σ²_g).
 */
public enum GenotypeScaling {
  GCTA("gcta"),
  STANDARDIZED("standardized"),
  CENTERED("centered");

  private final String option;

  GenotypeScaling(String option) {
    this.option = option;
  }

  /** The {@code --kernel} value. */
  public String option() {
    return option;
  }

  /** Whether each pair divides by its own count of variants called in both (GCTA) or all share M. */
  public boolean perPairCounts() {
    return this == GCTA;
  }

  /**
   * The values of codes 00 (two A1), 01 (missing), 10 (het), 11 (no A1) for a variant with these code
   * counts among {@code n} samples ({@code called = c00 + c10 + c11 > 0}, not monomorphic), into
   * {@code out[0..3]}.
   */
  public void codeValues(int c00, int c10, int c11, int n, double[] out) {
    int called = c00 + c10 + c11;
    double mean = (2.0 * c00 + c10) / called; // = 2p
    // Σ over called samples of (x − x̄)²; missing calls sit at x̄ and add 0.
    double ss = c00 * (2 - mean) * (2 - mean) + c10 * (1 - mean) * (1 - mean) + c11 * mean * mean;
    double scale = scale(mean, ss, n);
    out[0] = (2 - mean) * scale;
    out[1] = 0;
    out[2] = (1 - mean) * scale;
    out[3] = (0 - mean) * scale;
  }

  /**
   * The factor multiplying {@code x − x̄} for a variant with called mean {@code mean} (= 2p) and
   * {@code squaredDeviations = Σ_called (x − x̄)²} over {@code n} analysed samples: the same for hard
   * calls and dosages.
   */
  public double scale(double mean, double squaredDeviations, int n) {
    return switch (this) {
      case GCTA -> {
        double p = mean / 2;
        yield 1.0 / Math.sqrt(2 * p * (1 - p));
      }
      // Population variance (divisor N) of the mean-imputed column.
      case STANDARDIZED -> 1.0 / Math.sqrt(squaredDeviations / n);
      case CENTERED -> 1.0;
    };
  }

  /** Parses a {@code --kernel} value: gcta, standardized or centered (any case). */
  public static GenotypeScaling parse(String value) {
    String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
    for (GenotypeScaling s : values()) {
      if (s.option.equals(v)) {
        return s;
      }
    }
    throw new IllegalArgumentException("--kernel must be gcta, standardized or centered, got '" + value + "'");
  }
}
