package org.lmmspark.engine.genotype;

import java.io.Serializable;
import java.util.Arrays;

/**
 * The samples of a genotype file that a run keeps ({@code --keep/--remove}), as ascending rows of its
 * sample list ({@code .fam} order is kept, as PLINK keeps it), and the compaction of a variant's 2-bit
 * calls to those samples: the kept calls packed again four per byte, low bits first, the last byte
 * padded with code 00, exactly the {@code .bed} layout of a fileset holding only the kept samples
 * (what PLINK 2's {@code CopyNyparrNonemptySubset} does). Every block reader decodes the compacted
 * bytes, so allele frequencies, standardization and products are over the kept samples only, as if the
 * fileset had been subset by {@code plink --keep --make-bed} first.
 *
 * <p>Cost O(kept) per variant (one shift and mask per call); nothing when all samples are kept. Dosage
 * sources (BGEN, VCF) are restricted the same way by {@link #restrict}.
 */
public final class SampleSubset implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int fileSamples;
  /** Kept rows, ascending; null when all are kept. */
  private final int[] rows;

  private SampleSubset(int fileSamples, int[] rows) {
    this.fileSamples = fileSamples;
    this.rows = rows;
  }

  /** Every sample of a file of {@code fileSamples}. */
  public static SampleSubset all(int fileSamples) {
    return new SampleSubset(fileSamples, null);
  }

  /** The rows {@code rows} (strictly ascending, each in {@code [0, fileSamples)}) of a file of {@code fileSamples}. */
  public static SampleSubset of(int fileSamples, int[] rows) {
    for (int i = 0; i < rows.length; i++) {
      if (rows[i] < 0 || rows[i] >= fileSamples || (i > 0 && rows[i] <= rows[i - 1])) {
        throw new IllegalArgumentException("kept rows must be strictly ascending in [0, " + fileSamples + "), got "
            + Arrays.toString(Arrays.copyOf(rows, Math.min(rows.length, 10))));
      }
    }
    return rows.length == fileSamples ? all(fileSamples) : new SampleSubset(fileSamples, rows.clone());
  }

  /** Samples in the file (fixes the bytes per variant there). */
  public int fileSamples() {
    return fileSamples;
  }

  /** Samples kept. */
  public int size() {
    return rows == null ? fileSamples : rows.length;
  }

  public boolean isAll() {
    return rows == null;
  }

  /** The file row of kept sample {@code i}. */
  public int row(int i) {
    return rows == null ? i : rows[i];
  }

  /** Bytes per variant after compaction: {@code ceil(kept/4)}. */
  public int compactedBytes() {
    return (size() + 3) / 4;
  }

  /**
   * Writes the 2-bit calls of the kept samples of the variant at {@code src[offset..]} (a file variant
   * of {@code ceil(fileSamples/4)} bytes) to {@code dst[0 .. compactedBytes())}, padding with 00.
   */
  public void compact(byte[] src, int offset, byte[] dst) {
    if (rows == null) {
      System.arraycopy(src, offset, dst, 0, compactedBytes());
      return;
    }
    int n = size();
    int whole = n >>> 2;
    for (int b = 0; b < whole; b++) {
      int i = 4 * b;
      dst[b] = (byte) (call(src, offset, rows[i]) | call(src, offset, rows[i + 1]) << 2
          | call(src, offset, rows[i + 2]) << 4 | call(src, offset, rows[i + 3]) << 6);
    }
    if ((n & 3) != 0) {
      int last = 0;
      for (int i = 4 * whole; i < n; i++) {
        last |= call(src, offset, rows[i]) << (2 * (i & 3));
      }
      dst[whole] = (byte) last;
    }
  }

  /**
   * {@code inner} seeing only the kept samples: 2-bit calls compacted ({@link #compact}), dosages copied
   * for the kept rows; {@code inner} itself when all samples are kept. One per scan (holds buffers).
   */
  public GenotypeVisitor restrict(GenotypeVisitor inner) {
    if (rows == null) {
      return inner;
    }
    byte[] compacted = new byte[compactedBytes()];
    VariantDosages kept = new VariantDosages(size());
    return new GenotypeVisitor() {
      @Override
      public void hardCalls(byte[] raw, int offset, int v) {
        compact(raw, offset, compacted);
        inner.hardCalls(compacted, 0, v);
      }

      @Override
      public void dosages(VariantDosages d, int v) {
        for (int i = 0; i < rows.length; i++) {
          kept.dosage[i] = d.dosage[rows[i]];
          kept.variance[i] = d.variance[rows[i]];
        }
        kept.probabilitiesKnown = d.probabilitiesKnown;
        inner.dosages(kept, v);
      }
    };
  }

  private static int call(byte[] src, int offset, int r) {
    return (src[offset + (r >>> 2)] >>> ((r & 3) << 1)) & 3;
  }
}
