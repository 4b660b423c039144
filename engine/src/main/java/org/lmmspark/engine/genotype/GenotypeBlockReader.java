package org.lmmspark.engine.genotype;

import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;

/**
 * Reads a contiguous variant range of a genotype source and hands it on as {@link GenotypeBlock}s
 * scaled by a {@link GenotypeScaling} (GCTA's standardization by default), of at most
 * {@code blockVariants} kept variants, decoding each variant once (2-bit calls by
 * {@link BedDecoder#decodeInto}, dosages by {@link BedDecoder#decodeDosages}). One block buffer is
 * reused, so memory is {@code 4·N·blockVariants} bytes plus the raw bytes.
 */
public final class GenotypeBlockReader {
  private final GenotypeReader reader;
  private final SampleSubset samples;
  private final double minMaf;
  private final int blockVariants;
  private final GenotypeScaling scaling;

  /** Reads all samples of the source. */
  public GenotypeBlockReader(GenotypeReader reader, double minMaf, int blockVariants) {
    this(reader, SampleSubset.all(reader.sampleCount()), minMaf, blockVariants, GenotypeScaling.GCTA);
  }

  /** As above, each variant scaled by the {@code --kernel} definition {@code scaling}. */
  public GenotypeBlockReader(GenotypeReader reader, double minMaf, int blockVariants, GenotypeScaling scaling) {
    this(reader, SampleSubset.all(reader.sampleCount()), minMaf, blockVariants, scaling);
  }

  /**
   * Reads the kept samples of {@code samples} only: blocks have {@code samples.size()} rows, and allele
   * frequencies (so standardization and the MAF filter) are over the kept samples.
   */
  public GenotypeBlockReader(GenotypeReader reader, SampleSubset samples, double minMaf, int blockVariants) {
    this(reader, samples, minMaf, blockVariants, GenotypeScaling.GCTA);
  }

  /** As above, each variant scaled by {@code scaling} over the kept samples. */
  public GenotypeBlockReader(GenotypeReader reader, SampleSubset samples, double minMaf, int blockVariants,
      GenotypeScaling scaling) {
    this.reader = reader;
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
   * Decodes variants {@code [first, end)} (the first at seek position {@code position}) whose inclusion
   * is given by {@code include} (null for all), passing each full block to {@code sink} (the block is
   * reused after the call returns) and recording what was kept and dropped in {@code counts}.
   */
  public void read(int first, int end, long position, boolean[] include, Configuration conf,
      VariantFilterCounts counts, Consumer<GenotypeBlock> sink) {
    int n = samples.size();
    BedDecoder decoder = new BedDecoder(n, minMaf, scaling);
    GenotypeBlock block = new GenotypeBlock(n, blockVariants);
    reader.scan(first, end, position, include, conf, samples.restrict(new GenotypeVisitor() {
      @Override
      public void hardCalls(byte[] raw, int offset, int v) {
        counts.record(decoder.decodeInto(raw, offset, v, block));
        emitIfFull();
      }

      @Override
      public void dosages(VariantDosages d, int v) {
        counts.record(decoder.decodeDosages(d, v, block));
        emitIfFull();
      }

      private void emitIfFull() {
        if (block.m == block.capacity()) {
          emit(block, counts, sink);
        }
      }
    }));
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
