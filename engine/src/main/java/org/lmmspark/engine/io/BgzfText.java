package org.lmmspark.engine.io;

import htsjdk.samtools.util.BlockCompressedOutputStream;
import java.io.BufferedWriter;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.Deflater;

/**
 * The writer of the project's compressed text tables ({@code .assoc.tsv.gz}, {@code .sumstats.gz},
 * {@code .l2.ldscore.gz}): UTF-8 into BGZF, the blocked gzip of {@code bgzip} (htsjdk's writer). Any gzip reader reads
 * it ({@code zcat}, Python's {@code gzip} as ldsc uses it, R, Java's {@code GZIPInputStream}: it is a series of gzip
 * members), and a table sorted by position can be indexed as it is ({@code tabix -s1 -b2 -e2 -S1 FILE} for the
 * association tables) for region queries (LocusZoom, {@code tabix}).
 *
 * <p>Deflate at its fastest level ({@link Deflater#BEST_SPEED}): association tables are mostly digits that compress
 * little better at higher levels, and the default level 6 was the largest part of writing one. Measured on a
 * 1,000,000-row association table (87 MB of text), one thread: level 1 0.75 s and 37.5 MB; level 6 4.3 s and
 * 33.5 MB; the writer before, Java's gzip at level 6, 5.1 s and 32.7 MB. For 100 traits of a million variants:
 * 1.3 CPU-minutes of compression instead of 8.5, for files 15% larger (docs/benchmarks.md).
 */
public final class BgzfText {
  private BgzfText() {}

  /** A writer of UTF-8 text into {@code out} as BGZF; closing it ends the stream (BGZF's end block) and closes out. */
  public static Writer writer(OutputStream out) {
    return new BufferedWriter(new OutputStreamWriter(
        new BlockCompressedOutputStream(out, (Path) null, Deflater.BEST_SPEED), StandardCharsets.UTF_8), 1 << 16);
  }
}
