package org.lmmspark.engine.genotype;

import java.io.Serializable;
import java.util.List;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;

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

  /**
   * A relationship matrix from these variants is degenerate (0/0 entries) when no variant was kept or
   * a sample has no call among those kept: either is a {@link BadInputException} naming {@code source}
   * (the genotype files), the scope (e.g. {@code " on chromosome 3"}) and what was filtered.
   */
  public void requireUsable(String source, List<SampleId> samples, String scope) {
    if (kept == 0) {
      throw new BadInputException(source + ": no usable variant" + scope + ": " + this
          + "; lower --maf, or select other chromosomes");
    }
    for (int i = 0; i < missingPerSample.length; i++) {
      if (missingPerSample[i] >= kept) {
        throw new BadInputException(source + ": sample " + samples.get(i) + " has no genotype call among the " + kept
            + " variants used" + scope + "; remove it (e.g. plink --mind 0.99)");
      }
    }
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
