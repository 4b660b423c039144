package org.lmmspark.engine.matfree;

import java.util.function.Consumer;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.DosageDecoder;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.genotype.VariantFilterCounts;

/**
 * Association-test genotypes from the cached blocks instead of the file: a {@link PackedGenotypeBlock}
 * keeps every variant in PLINK's own byte layout (or as 8-bit dosages), so the same
 * {@link DosageDecoder} that reads the file turns it into centered A1 counts of the analysed samples
 * ({@link DosageBlock}). This is what lets a matrix-free association run read the genotypes from disk
 * once: the cache built for the REML products also feeds the calibration sample and the test pass.
 * Cost {@code O(n)} per variant, no I/O. From 8-bit blocks the INFO score is the one stored at packing
 * time (over all samples of the source, not only the analysed ones).
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
    VariantDosages scratch = null;
    for (PackedGenotypeBlock b : blocks) {
      if (b.dosages && scratch == null) {
        scratch = new VariantDosages(b.n);
      }
      for (int v = 0; v < b.m; v++) {
        counts.record(decodeInto(b, v, decoder, block, scratch));
        block.flushTo(sink, false);
      }
    }
    block.flushTo(sink, true);
  }

  /**
   * Decodes variant {@code v} of {@code b} into the next column of {@code block} when the decoder keeps
   * it; returns the decoder's verdict. {@code scratch}: dosages of {@code b.n} samples (8-bit blocks only).
   */
  public static int decodeInto(PackedGenotypeBlock b, int v, DosageDecoder decoder, DosageBlock block,
      VariantDosages scratch) {
    if (!b.dosages) {
      return decoder.decodeInto(b.packed, v * b.bytesPerVariant(), b.variantIndex[v], block);
    }
    for (int i = 0; i < b.n; i++) {
      scratch.dosage[i] = b.dosage(v, i);
    }
    scratch.probabilitiesKnown = false;
    int col = block.m;
    int result = decoder.decodeDosages(scratch, b.variantIndex[v], block);
    if (block.m > col) {
      block.info[col] = b.info[v];
    }
    return result;
  }
}
