package org.lmmspark.engine.ldscore;

import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.io.BedReader;

/**
 * Consecutive kept variants of a reference panel in memory: allele counts (a missing call as NaN) as an
 * {@code n × m} column-major float matrix, with each variant's mean, standard deviation and number of
 * missing calls ({@link PanelDecoder}). Memory {@code 4·n·m} bytes (plus {@code 8·n·m} while a
 * standardized double copy exists, see {@link LdScoreKernel}).
 */
public final class PanelBlock {
  public final int n;
  public final int m;
  public final float[] counts;
  public final double[] mean;
  public final double[] sd;
  public final int[] missing;
  /**
   * Whether the values are dosages ({@link DosagePanel}) rather than integer allele counts: never exact
   * in the kernel's single-precision integer route.
   */
  public boolean fractional;

  public PanelBlock(int n, int m) {
    this.n = n;
    this.m = m;
    this.counts = new float[Math.multiplyExact(n, m)];
    this.mean = new double[m];
    this.sd = new double[m];
    this.missing = new int[m];
  }

  /**
   * Whether any call of columns {@code [from, to)} is missing, or the block holds dosages: either way the
   * values are not all exact integers.
   */
  public boolean anyMissing(int from, int to) {
    if (fractional) {
      return true;
    }
    for (int c = from; c < to; c++) {
      if (missing[c] > 0) {
        return true;
      }
    }
    return false;
  }

  /**
   * Reads the fileset variants {@code fileIndex[0..m)} (ascending, each one ldsc keeps) from
   * {@code prefix.bed}. A variant that the decoder would not keep is an {@link IllegalStateException}:
   * the caller chose them from the same decoder's first pass.
   */
  public static PanelBlock read(String prefix, int fileSamples, int[] rows, int[] fileIndex, Configuration conf) {
    PanelDecoder decoder = new PanelDecoder(rows, fileSamples, 0);
    int n = decoder.samples();
    PanelBlock block = new PanelBlock(n, fileIndex.length);
    if (fileIndex.length == 0) {
      return block;
    }
    int first = fileIndex[0];
    int end = fileIndex[fileIndex.length - 1] + 1;
    boolean[] include = new boolean[end];
    for (int v : fileIndex) {
      include[v] = true;
    }
    int[] col = {0};
    BedReader.scan(prefix, fileSamples, first, end, include, conf, (raw, offset, v) -> {
      int c = col[0]++;
      if (!decoder.decode(raw, offset, block.counts, c * n)) {
        throw new IllegalStateException("variant " + v + " of " + prefix + " is not kept by the LD-score filter");
      }
      block.mean[c] = decoder.mean;
      block.sd[c] = decoder.sd;
      block.missing[c] = decoder.missing;
    });
    return block;
  }

  /** Visits, for each variant of {@code [first, end)} of {@code prefix.bed}, whether ldsc keeps it (and its MAF). */
  public static void scanKept(String prefix, int fileSamples, int[] rows, double minMaf, int first, int end,
      Configuration conf, KeptVisitor visitor) {
    PanelDecoder decoder = new PanelDecoder(rows, fileSamples, minMaf);
    BedReader.scan(prefix, fileSamples, first, end, null, conf,
        (raw, offset, v) -> visitor.variant(v, decoder.decode(raw, offset, null, 0), decoder.maf));
  }

  /** One variant of a {@link #scanKept} pass. */
  @FunctionalInterface
  public interface KeptVisitor {
    void variant(int fileIndex, boolean kept, double maf);
  }
}
