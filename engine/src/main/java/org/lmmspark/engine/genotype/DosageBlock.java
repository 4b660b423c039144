package org.lmmspark.engine.genotype;

/**
 * A block of {@code m} variants over {@code n} analysed samples holding RAW allele counts for
 * association tests, centered: {@code x_ij − 2p_i}, with {@code x} the number of copies (or,
 * from BGEN/VCF, the expected number) of the counted allele A1 (0 to 2) and {@code p_i} its frequency among the analysed samples' non-missing
 * calls. A missing call is mean-imputed ({@code x = 2p_i}, centered value 0). Centering does not change
 * a test whose covariates include an intercept ({@code P1 = 0}) and avoids the cancellation of
 * {@code xᵀPx} for common A1 alleles; {@code 2p_i} is kept so callers can recover the raw count.
 *
 * <p>Unlike {@link GenotypeBlock} (standardized, all samples of the {@code .fam}, for the GRM), the rows
 * are the analysed samples in the analysis order, a subset of the {@code .fam} in any order. Layout:
 * column-major {@code n × m} float, plus {@code n} floats of padding (see {@link GenotypeBlock}).
 */
public final class DosageBlock {
  /** Centered allele counts, {@code n × m} column-major; only the first {@code m} columns are valid. */
  public final float[] values;
  public final int n;
  public int m;
  /** Index (in the fileset) of each kept variant. */
  public final int[] variantIndex;
  /** A1 frequency among the analysed samples' non-missing calls. */
  public final double[] a1Frequency;
  /** Number of analysed samples with a call (the others were mean-imputed). */
  public final int[] called;
  /**
   * IMPUTE2 INFO score among the analysed samples ({@link VariantDosages#info}); NaN for hard calls
   * and for dosages without probabilities.
   */
  public final double[] info;

  public DosageBlock(int n, int capacity) {
    this.n = n;
    this.values = new float[Math.addExact(Math.multiplyExact(n, capacity), n)];
    this.variantIndex = new int[capacity];
    this.a1Frequency = new double[capacity];
    this.called = new int[capacity];
    this.info = new double[capacity];
  }

  public int capacity() {
    return variantIndex.length;
  }

  /** A new block of the variants (columns) {@code j < m} with {@code keep[j]}, in their order. */
  public DosageBlock columns(boolean[] keep) {
    int count = 0;
    for (int j = 0; j < m; j++) {
      count += keep[j] ? 1 : 0;
    }
    DosageBlock b = new DosageBlock(n, count);
    for (int j = 0; j < m; j++) {
      if (keep[j]) {
        System.arraycopy(values, j * n, b.values, b.m * n, n);
        b.variantIndex[b.m] = variantIndex[j];
        b.a1Frequency[b.m] = a1Frequency[j];
        b.called[b.m] = called[j];
        b.info[b.m] = info[j];
        b.m++;
      }
    }
    return b;
  }

  public void clear() {
    m = 0;
  }

  /**
   * Hands this block to {@code sink} and empties it when it is full, or, with {@code partial} (the end
   * of a stream), when it holds any variant: the one batching rule of the block readers.
   */
  public void flushTo(java.util.function.Consumer<DosageBlock> sink, boolean partial) {
    if (m == capacity() || (partial && m > 0)) {
      sink.accept(this);
      clear();
    }
  }
}
