package org.lmmspark.engine.genotype;

/**
 * A block of {@code m} variants over {@code n} samples, standardized as in GCTA's GRM:
 * {@code z_ij = (x_ij − 2p_i) / sqrt(2p_i(1 − p_i))} with {@code x} the count of the {@code .bim}
 * A1 allele and {@code p_i} its frequency among the non-missing calls; a missing call is 0.
 *
 * <p>Layout: column-major {@code n × m} float (column {@code c} is variant {@code c}, contiguous over
 * samples), so a block is the {@code A} of {@code A·Aᵀ} in BLAS terms. Missing calls are also kept
 * as a compressed list per variant ({@code missingStart}, {@code missingSamples}), because the
 * per-pair variant counts need them and missing calls are usually rare. Memory: {@code 4·n·m}
 * bytes plus 4 bytes per missing call.
 */
public final class GenotypeBlock {
  /** Standardized values, {@code n × m} column-major; only the first {@code m} columns are valid. */
  public final float[] values;
  public final int n;
  /** Variants kept in this block (monomorphic and filtered variants are dropped while decoding). */
  public int m;
  /** Index (in the fileset) of each kept variant. */
  public final int[] variantIndex;
  /** A1 allele frequency of each kept variant, among its non-missing calls. */
  public final double[] a1Frequency;
  /**
   * Kept variant {@code c} has its missing samples at {@code missingSamples[missingStart[c] .. missingStart[c+1])},
   * in increasing order (the GRM's pair counting relies on it).
   */
  public final int[] missingStart;
  public int[] missingSamples;

  public GenotypeBlock(int n, int capacity) {
    this.n = n;
    // n floats of padding: dev.ludovic.netlib's bounds check assumes a submatrix at offset k runs to
    // k + lda·cols, past the last real element of a row block that does not start at row 0.
    this.values = new float[Math.addExact(Math.multiplyExact(n, capacity), n)];
    this.variantIndex = new int[capacity];
    this.a1Frequency = new double[capacity];
    this.missingStart = new int[capacity + 1];
    this.missingSamples = new int[16];
  }

  public int capacity() {
    return variantIndex.length;
  }

  /** Number of missing calls in the kept variants. */
  public int missingCount() {
    return missingStart[m];
  }

  public void clear() {
    m = 0;
    missingStart[0] = 0;
  }
}
