package org.lmmspark.engine.genotype;

import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.io.BedReader;
import org.lmmspark.engine.io.PlinkFileset;

/**
 * Reads a contiguous variant range of a {@code .bed} file and hands it on as {@link DosageBlock}s of
 * centered allele counts of the analysed samples, at most {@code blockVariants} kept variants each.
 * One block buffer is reused: memory {@code 4·n·blockVariants} bytes plus the raw read chunk.
 */
public final class DosageBlockReader {
  private static final int READ_CHUNK_BYTES = 8 << 20;

  private final String prefix;
  private final int famSamples;
  private final int[] rows;
  private final double minMaf;
  private final int blockVariants;

  /**
   * @param famSamples samples in the {@code .fam} (fixes the bytes per variant)
   * @param rows {@code .fam} row of each analysed sample
   */
  public DosageBlockReader(String prefix, int famSamples, int[] rows, double minMaf, int blockVariants) {
    this.prefix = prefix;
    this.famSamples = famSamples;
    this.rows = rows;
    this.minMaf = minMaf;
    this.blockVariants = blockVariants;
  }

  /**
   * Decodes variants {@code [first, end)} with {@code include[v]} (null: all), passing each full block
   * to {@code sink} (reused after the call returns) and recording kept/dropped variants in {@code counts}.
   */
  public void read(int first, int end, boolean[] include, Configuration conf, VariantFilterCounts counts,
      Consumer<DosageBlock> sink) {
    int bpv = PlinkFileset.bytesPerVariant(famSamples);
    int chunkVariants = Math.max(1, Math.min(end - first, READ_CHUNK_BYTES / bpv));
    byte[] raw = new byte[chunkVariants * bpv];
    DosageDecoder decoder = new DosageDecoder(rows, minMaf);
    DosageBlock block = new DosageBlock(rows.length, blockVariants);
    try (BedReader bed = new BedReader(prefix, famSamples, conf)) {
      for (int start = first; start < end; start += chunkVariants) {
        int count = Math.min(chunkVariants, end - start);
        bed.read(start, count, raw);
        for (int k = 0; k < count; k++) {
          int v = start + k;
          if (include != null && !include[v]) {
            continue;
          }
          counts.record(decoder.decodeInto(raw, k * bpv, v, block));
          if (block.m == block.capacity()) {
            sink.accept(block);
            block.clear();
          }
        }
      }
      if (block.m > 0) {
        sink.accept(block);
        block.clear();
      }
    }
  }
}
