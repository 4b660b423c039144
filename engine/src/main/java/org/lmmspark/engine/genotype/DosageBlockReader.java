package org.lmmspark.engine.genotype;

import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.io.BedReader;

/**
 * Reads a contiguous variant range of a {@code .bed} file and hands it on as {@link DosageBlock}s of
 * centered allele counts of the analysed samples, at most {@code blockVariants} kept variants each.
 * One block buffer is reused: memory {@code 4·n·blockVariants} bytes plus the raw read chunk.
 */
public final class DosageBlockReader {

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
    DosageDecoder decoder = new DosageDecoder(rows, minMaf);
    DosageBlock block = new DosageBlock(rows.length, blockVariants);
    BedReader.scan(prefix, famSamples, first, end, include, conf, (raw, offset, v) -> {
      counts.record(decoder.decodeInto(raw, offset, v, block));
      block.flushTo(sink, false);
    });
    block.flushTo(sink, true);
  }
}
