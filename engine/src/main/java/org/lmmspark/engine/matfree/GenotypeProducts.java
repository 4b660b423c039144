package org.lmmspark.engine.matfree;

/**
 * Standardized genotypes {@code Z} (N samples × M kept variants, split by chromosome) known through
 * weighted products {@code out_j = Σ_c w_cj Z_c Z_cᵀ v_j}, where {@code Z_c} holds chromosome c's
 * variants. Implemented in this JVM ({@link LocalGenotypeProducts}) or as one Spark pass over cached
 * packed blocks (the jobs module). Either way a call is one pass over the genotypes for all k columns.
 */
public interface GenotypeProducts {

  /** N, samples of the fileset (products are over all of them). */
  int samples();

  /** Number of chromosomes C; chromosome indices are 0..C−1. */
  int chromosomeCount();

  /** Kept variants per chromosome, {@code M_c}. */
  long[] variantsPerChromosome();

  /** {@code Σ_{v on c} z_iv²} per chromosome c and sample i: C arrays of N (the diagonal of {@code Z_c Z_cᵀ}). */
  double[][] squareSumsPerChromosome();

  /**
   * {@code out(N×k) = Σ_c Z_c Z_cᵀ V ∘ w}: column j of the result is {@code Σ_c w[c + C·j] Z_c Z_cᵀ v_j}.
   * {@code out} is overwritten.
   *
   * @param weights C×k column-major
   */
  void multiply(double[] v, int k, double[] weights, double[] out);

  /** Number of {@link #multiply} calls so far (passes over the genotypes). */
  long passes();
}
