package org.lmmspark.engine.io.vcf;

import htsjdk.samtools.Bin;
import htsjdk.samtools.BinningIndexContent;
import htsjdk.samtools.CSIIndex;
import htsjdk.samtools.Chunk;
import htsjdk.samtools.GenomicIndexUtil;
import htsjdk.samtools.util.BlockCompressedInputStream;
import htsjdk.tribble.index.tabix.TabixIndex;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.FileSystems;

/**
 * The record starts a tabix ({@code .tbi}, {@code tabix -p vcf}) or CSI ({@code .csi},
 * {@code bcftools index}) index of a bgzipped VCF knows, read through htsjdk: the start of every chunk
 * of every bin (a chunk begins at a record's BGZF virtual offset) and, for tabix, every linear-index
 * entry (the first record overlapping each 16 kb window). They are the places a listing task may start
 * reading ({@link VcfFile#plan}); the index's genomic bins are not otherwise used, so sites that no bin
 * lists (unplaced records) are still read, by the task whose range holds them.
 *
 * <p>Not trusted blindly: tasks check that each range ends exactly where the next begins
 * ({@link VcfFile#assemble}), so an index that does not match the file is reported, never a record lost.
 */
final class VcfIndex {
  /** tabix stores its per-reference metadata (offset span, record counts) as a pseudo-bin with this number. */
  private static final int TABIX_PSEUDO_BIN = GenomicIndexUtil.MAX_BINS;

  private VcfIndex() {}

  /** The index beside {@code vcf} ({@code vcf + ".tbi"}, else {@code vcf + ".csi"}), or null when there is none. */
  static String find(String vcf, Configuration conf) {
    for (String suffix : new String[] {".tbi", ".csi"}) {
      if (FileSystems.exists(vcf + suffix, conf)) {
        return vcf + suffix;
      }
    }
    return null;
  }

  /**
   * A warning when {@code index} is older than {@code vcf} (the file may have changed after it was
   * indexed; htslib warns the same way), else null. Only a warning: a copy or a checkout can reorder
   * the times, and a real mismatch is caught when the chunks are joined ({@link VcfFile#assemble}).
   */
  static String staleness(String vcf, String index, Configuration conf) {
    try {
      long vcfTime = FileSystems.of(vcf, conf).getFileStatus(new Path(vcf)).getModificationTime();
      long indexTime = FileSystems.of(index, conf).getFileStatus(new Path(index)).getModificationTime();
      return indexTime < vcfTime ? index + " is older than " + vcf
          + " (re-index if the file changed: tabix -f -p vcf, or bcftools index -f)"
          : null;
    } catch (IOException e) {
      throw BadInputException.inFile(index, "cannot read: " + e.getMessage());
    }
  }

  /** The record-start virtual offsets listed by {@code index}, sorted and distinct. */
  static long[] recordStarts(String index, Configuration conf) {
    BinningIndexContent[] references = index.endsWith(".tbi") ? tabix(index, conf) : csi(index, conf);
    long[] starts = new long[64];
    int n = 0;
    for (BinningIndexContent reference : references) {
      if (reference == null) {
        continue;
      }
      for (Bin bin : reference.getBins()) {
        if (bin == null || bin.getBinNumber() >= TABIX_PSEUDO_BIN && index.endsWith(".tbi")) {
          continue;
        }
        for (Chunk chunk : bin.getChunkList()) {
          starts = add(starts, n++, chunk.getChunkStart());
        }
      }
      if (reference.getLinearIndex() != null) {
        for (long entry : reference.getLinearIndex().getIndexEntries()) {
          if (entry != 0) {
            starts = add(starts, n++, entry);
          }
        }
      }
    }
    return Arrays.stream(starts, 0, n).sorted().distinct().toArray();
  }

  private static long[] add(long[] a, int at, long value) {
    long[] out = at == a.length ? Arrays.copyOf(a, 2 * a.length) : a;
    out[at] = value;
    return out;
  }

  private static BinningIndexContent[] tabix(String index, Configuration conf) {
    try (InputStream in = new BlockCompressedInputStream(FileSystems.open(index, conf))) {
      return new TabixIndex(in).getIndices();
    } catch (IOException | RuntimeException e) {
      throw BadInputException.inFile(index, "not a readable tabix index: " + e.getMessage());
    }
  }

  private static BinningIndexContent[] csi(String index, Configuration conf) {
    try (HadoopSeekableStream in = new HadoopSeekableStream(index, conf)) {
      CSIIndex csi = new CSIIndex(in, null);
      BinningIndexContent[] out = new BinningIndexContent[csi.getNumberOfReferences()];
      for (int r = 0; r < out.length; r++) {
        // htsjdk leaves out CSI's pseudo-bin (reference metadata) here.
        out[r] = csi.getQueryResults(r);
      }
      return out;
    } catch (IOException | RuntimeException e) {
      throw BadInputException.inFile(index, "not a readable CSI index: " + e.getMessage());
    }
  }
}
