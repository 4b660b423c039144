package org.lmmspark.engine.genotype;

import java.util.Arrays;

/**
 * A block of {@code m} variants over ALL {@code n} samples of the source, as raw A1 allele counts in double
 * (0, 1, 2, or from BGEN/VCF the expected count), a missing call 0 and listed in {@link #missingSamples}:
 * neither centered nor filtered, so that one decode serves every analysed sample set (the traits of one
 * association run, each with its own missing phenotypes), each set centering and filtering by its own sums
 * ({@code org.lmmspark.engine.assoc.StackedTraitTests}). Layout: {@code n × m} column-major.
 */
public final class A1CountBlock {
  /** A1 counts, {@code n × m} column-major (missing calls 0); only the first {@code m} columns are valid. */
  public final double[] values;
  public final int n;
  public int m;
  /** Index (in the fileset) of each variant. */
  public final int[] variantIndex;
  /** The INFO score kept with the variant (8-bit cached dosages), NaN for hard calls. */
  public final double[] info;
  /** The missing samples of column {@code c}: {@code missingSamples[missingStart[c] .. missingStart[c + 1])}. */
  public final int[] missingStart;
  public int[] missingSamples = new int[64];

  public A1CountBlock(int n, int capacity) {
    this.n = n;
    this.values = new double[Math.multiplyExact(n, capacity)];
    this.variantIndex = new int[capacity];
    this.info = new double[capacity];
    this.missingStart = new int[capacity + 1];
  }

  public int capacity() {
    return variantIndex.length;
  }

  /** Lists sample {@code i} as missing in the column being filled ({@code m}, not yet closed by {@link #close}). */
  public void addMissing(int i) {
    int at = missingStart[m + 1];
    if (at == missingSamples.length) {
      missingSamples = Arrays.copyOf(missingSamples, 2 * at);
    }
    missingSamples[at] = i;
    missingStart[m + 1] = at + 1;
  }

  /** Starts column {@code m}: no missing sample listed yet. */
  public void open() {
    missingStart[m + 1] = missingStart[m];
  }

  /** Closes column {@code m} as variant {@code variantIndex}. */
  public void close(int variantIndex, double infoScore) {
    this.variantIndex[m] = variantIndex;
    this.info[m] = infoScore;
    m++;
  }

  /** Hands this block to {@code sink} and empties it when full, or, with {@code partial}, when it holds any variant. */
  public void flushTo(java.util.function.Consumer<A1CountBlock> sink, boolean partial) {
    if (m == capacity() || (partial && m > 0)) {
      sink.accept(this);
      m = 0;
    }
  }
}
