package org.lmmspark.engine.genotype;

import java.io.Serializable;

/**
 * What decoding did with the variants it saw, and how many calls each sample is missing among the
 * kept variants (GCTA's per-pair count needs {@code M − miss_j − miss_k + both_jk}).
 */
public final class VariantFilterCounts implements Serializable {
  private static final long serialVersionUID = 1L;

  public long kept;
  public long monomorphic;
  public long belowMaf;
  public long allMissing;
  /** Missing calls per sample among kept variants. */
  public final int[] missingPerSample;

  public VariantFilterCounts(int n) {
    this.missingPerSample = new int[n];
  }

  public void record(int decodeResult) {
    switch (decodeResult) {
      case BedDecoder.KEPT -> kept++;
      case BedDecoder.MONOMORPHIC -> monomorphic++;
      case BedDecoder.BELOW_MAF -> belowMaf++;
      case BedDecoder.ALL_MISSING -> allMissing++;
      default -> throw new IllegalStateException("decode result " + decodeResult);
    }
  }

  /** Adds the missing calls of the kept variants of {@code block}. */
  public void addMissing(GenotypeBlock block) {
    for (int x = 0; x < block.missingCount(); x++) {
      missingPerSample[block.missingSamples[x]]++;
    }
  }

  public VariantFilterCounts merge(VariantFilterCounts other) {
    kept += other.kept;
    monomorphic += other.monomorphic;
    belowMaf += other.belowMaf;
    allMissing += other.allMissing;
    for (int i = 0; i < missingPerSample.length; i++) {
      missingPerSample[i] += other.missingPerSample[i];
    }
    return this;
  }

  public long seen() {
    return kept + monomorphic + belowMaf + allMissing;
  }

  @Override
  public String toString() {
    return kept + " of " + seen() + " variants used (" + monomorphic + " monomorphic, " + belowMaf
        + " below the MAF threshold, " + allMissing + " with no calls skipped)";
  }
}
