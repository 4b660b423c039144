package org.lmmspark.engine.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;

/**
 * Positioned reads of whole variants from a validated {@code .bed} file: variant {@code v} starts
 * at the exact byte offset {@code 3 + v·ceil(N/4)}, so any contiguous variant range can be read
 * by any task without scanning.
 */
public final class BedReader implements AutoCloseable {
  private final String path;
  private final int bytesPerVariant;
  private final FSDataInputStream in;

  /** Opens {@code prefix.bed} of a fileset with {@code samples} samples (validated by {@link PlinkFileset#open}). */
  public BedReader(String prefix, int samples, Configuration conf) {
    this.path = PlinkFileset.bedPath(prefix);
    this.bytesPerVariant = PlinkFileset.bytesPerVariant(samples);
    try {
      this.in = FileSystems.of(path, conf).open(new Path(path), 1 << 20);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open " + path, e);
    }
  }

  /** Reads variants {@code [first, first + count)} into {@code dst} (at least count·ceil(N/4) bytes). */
  public void read(int first, int count, byte[] dst) {
    int bytes = count * bytesPerVariant;
    if (dst.length < bytes) {
      throw new IllegalArgumentException("buffer of " + dst.length + " bytes, need " + bytes);
    }
    try {
      in.readFully(PlinkFileset.BED_MAGIC.length + (long) first * bytesPerVariant, dst, 0, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException("reading variants " + first + ".." + (first + count - 1) + " of "
          + path, e);
    }
  }

  @Override
  public void close() {
    try {
      in.close();
    } catch (IOException ignored) {
      // Read-only stream: nothing to lose.
    }
  }

  /** Receives one selected variant: its bytes start at {@code raw[offset]}; {@code v} is its index in the fileset. */
  @FunctionalInterface
  public interface VariantVisitor {
    void variant(byte[] raw, int offset, int v);
  }

  /** Variants read per positioned read by {@link #scan}. */
  static final int READ_CHUNK_BYTES = 8 << 20;

  /**
   * Visits variants {@code [first, end)} of {@code prefix.bed} with {@code include[v]} (null: all), in
   * order, reading in chunks of about {@link #READ_CHUNK_BYTES}; the one scan loop of the block readers.
   */
  public static void scan(String prefix, int samples, int first, int end, boolean[] include, Configuration conf,
      VariantVisitor visitor) {
    scan(prefix, samples, first, end, include, null, conf, visitor);
  }

  /**
   * As {@link #scan(String, int, int, int, boolean[], Configuration, VariantVisitor)}, handing on each
   * variant's calls compacted to the kept samples of {@code subset} (null or all: the file's bytes as
   * they are), so that the visitor sees the {@code .bed} layout of a fileset of the kept samples.
   */
  public static void scan(String prefix, int samples, int first, int end, boolean[] include,
      org.lmmspark.engine.genotype.SampleSubset subset, Configuration conf, VariantVisitor visitor) {
    if (subset != null && subset.fileSamples() != samples) {
      throw new IllegalArgumentException("subset of a file of " + subset.fileSamples() + " samples, file has " + samples);
    }
    boolean compact = subset != null && !subset.isAll();
    byte[] compacted = compact ? new byte[subset.compactedBytes()] : null;
    int bpv = PlinkFileset.bytesPerVariant(samples);
    int chunkVariants = Math.max(1, Math.min(end - first, READ_CHUNK_BYTES / bpv));
    byte[] raw = new byte[chunkVariants * bpv];
    try (BedReader bed = new BedReader(prefix, samples, conf)) {
      for (int start = first; start < end; start += chunkVariants) {
        int count = Math.min(chunkVariants, end - start);
        bed.read(start, count, raw);
        for (int k = 0; k < count; k++) {
          int v = start + k;
          if (include == null || include[v]) {
            if (compact) {
              subset.compact(raw, k * bpv, compacted);
              visitor.variant(compacted, 0, v);
            } else {
              visitor.variant(raw, k * bpv, v);
            }
          }
        }
      }
    }
  }
}
