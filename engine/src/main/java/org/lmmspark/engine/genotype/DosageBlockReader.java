package org.lmmspark.engine.genotype;

import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;

/**
 * Reads a contiguous variant range of a genotype source and hands it on as {@link DosageBlock}s of
 * centered allele counts (or dosages) of the analysed samples, at most {@code blockVariants} kept
 * variants each. One block buffer is reused: memory {@code 4·n·blockVariants} bytes plus the raw read
 * chunk.
 */
public final class DosageBlockReader {

  private final GenotypeReader reader;
  private final int[] rows;
  private final double minMaf;
  private final int blockVariants;

  /**
   * @param rows row (sample index in the source) of each analysed sample
   */
  public DosageBlockReader(GenotypeReader reader, int[] rows, double minMaf, int blockVariants) {
    this.reader = reader;
    this.rows = rows;
    this.minMaf = minMaf;
    this.blockVariants = blockVariants;
  }

  /**
   * Decodes variants {@code [first, end)} (the first at seek position {@code position}) with
   * {@code include[v]} (null: all), passing each full block to {@code sink} (reused after the call
   * returns) and recording kept/dropped variants in {@code counts}.
   */
  public void read(int first, int end, long position, boolean[] include, Configuration conf,
      VariantFilterCounts counts, Consumer<DosageBlock> sink) {
    DosageDecoder decoder = new DosageDecoder(rows, minMaf);
    DosageBlock block = new DosageBlock(rows.length, blockVariants);
    reader.scan(first, end, position, include, conf, decoder.into(block, counts, sink));
    block.flushTo(sink, true);
  }
}
