package org.lmmspark.engine.genotype;

import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.io.BedReader;

/**
 * Reads a contiguous variant range of a {@code .bed} file and hands it on as standardized (by a
 * {@link GenotypeScaling}) {@link GenotypeBlock}s of at most {@code blockVariants} kept variants, decoding each variant once.
 * One block buffer is reused, so memory is {@code 4·N·blockVariants} bytes plus the raw bytes.
 */
public final class GenotypeBlockReader {
  private final String prefix;
  private final SampleSubset samples;
  private final double minMaf;
  private final int blockVariants;
  private final GenotypeScaling scaling;

  /** Reads all {@code n} samples of the file. */
  public GenotypeBlockReader(String prefix, int n, double minMaf, int blockVariants) {
    this(prefix, SampleSubset.all(n), minMaf, blockVariants, GenotypeScaling.GCTA);
  }

  /** As above, each variant scaled by the {@code --kernel} definition {@code scaling}. */
  public GenotypeBlockReader(String prefix, int n, double minMaf, int blockVariants, GenotypeScaling scaling) {
    this(prefix, SampleSubset.all(n), minMaf, blockVariants, scaling);
  }

  /**
   * Reads the kept samples of {@code samples} only: blocks have {@code samples.size()} rows, and allele
   * frequencies (so standardization and the MAF filter) are over the kept samples.
   */
  public GenotypeBlockReader(String prefix, SampleSubset samples, double minMaf, int blockVariants) {
    this(prefix, samples, minMaf, blockVariants, GenotypeScaling.GCTA);
  }

  /** As above, each variant scaled by {@code scaling} over the kept samples. */
  public GenotypeBlockReader(String prefix, SampleSubset samples, double minMaf, int blockVariants,
      GenotypeScaling scaling) {
    this.prefix = prefix;
    this.samples = samples;
    this.minMaf = minMaf;
    this.blockVariants = blockVariants;
    this.scaling = scaling;
  }

  /**
   * Block size that keeps a decoded block near {@code targetBytes} (at least 64 and at most 4096
   * variants: fewer makes BLAS calls inefficient, more gains nothing).
   */
  public static int blockVariantsFor(int n, long targetBytes) {
    long v = targetBytes / (4L * n);
    return (int) Math.max(64, Math.min(4096, v));
  }

  /**
   * Decodes variants {@code [first, end)} whose inclusion is given by {@code include} (null for
   * all), passing each full block to {@code sink} (the block is reused after the call returns) and
   * recording what was kept and dropped in {@code counts}.
   */
  public void read(int first, int end, boolean[] include, Configuration conf, VariantFilterCounts counts,
      Consumer<GenotypeBlock> sink) {
    int n = samples.size();
    BedDecoder decoder = new BedDecoder(n, minMaf, scaling);
    GenotypeBlock block = new GenotypeBlock(n, blockVariants);
    BedReader.scan(prefix, samples.fileSamples(), first, end, include, samples, conf, (raw, offset, v) -> {
      counts.record(decoder.decodeInto(raw, offset, v, block));
      if (block.m == block.capacity()) {
        emit(block, counts, sink);
      }
    });
    if (block.m > 0) {
      emit(block, counts, sink);
    }
  }

  private static void emit(GenotypeBlock block, VariantFilterCounts counts, Consumer<GenotypeBlock> sink) {
    counts.addMissing(block);
    sink.accept(block);
    block.clear();
  }
}
