package org.lmmspark.engine.matfree;

import java.util.Arrays;
import java.util.function.Consumer;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.DosageDecoder;
import org.lmmspark.engine.genotype.VariantFilterCounts;

/**
 * Association-test genotypes from the cached 2-bit blocks instead of the {@code .bed}: a
 * {@link PackedGenotypeBlock} keeps every variant in PLINK's own byte layout, so the same
 * {@link DosageDecoder} that reads the file turns it into centered A1 counts of the analysed samples
 * ({@link DosageBlock}). This is what lets a matrix-free association run read the genotypes from disk
 * once: the cache built for the REML products also feeds the calibration sample and the test pass.
 * Cost {@code O(n)} per variant, no I/O.
 */
public final class PackedDosages {
  private PackedDosages() {}

  /**
   * Decodes every variant of {@code blocks} into blocks of at most {@code blockVariants} kept variants,
   * handing each full block to {@code sink} (the buffer is reused after the call returns) and recording
   * what the decoder kept and dropped (the analysed samples' own filters: monomorphic, MAF) in
   * {@code counts}.
   */
  public static void read(Iterable<PackedGenotypeBlock> blocks, DosageDecoder decoder, int blockVariants,
      VariantFilterCounts counts, Consumer<DosageBlock> sink) {
    DosageBlock block = new DosageBlock(decoder.samples(), Math.max(1, blockVariants));
    for (PackedGenotypeBlock b : blocks) {
      int bpv = (b.n + 3) / 4;
      for (int v = 0; v < b.m; v++) {
        counts.record(decoder.decodeInto(b.packed, v * bpv, b.variantIndex[v], block));
        block.flushTo(sink, false);
      }
    }
    block.flushTo(sink, true);
  }

  /** The raw {@code .bed} bytes of variant {@code v} of block {@code b}: {@code ceil(N/4)} bytes. */
  public static byte[] raw(PackedGenotypeBlock b, int v) {
    if (v < 0 || v >= b.m) {
      throw new IllegalArgumentException("variant " + v + " of a block of " + b.m);
    }
    int bpv = (b.n + 3) / 4;
    return Arrays.copyOfRange(b.packed, v * bpv, (v + 1) * bpv);
  }
}
