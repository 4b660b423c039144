package org.lmmspark.engine.matfree;

import java.util.function.Consumer;
import org.lmmspark.engine.genotype.A1CountBlock;
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
   * {@link #read} for several sample sets at once (the traits of one run, each over its own analysed samples):
   * each variant's cached bytes are unpacked once (2-bit codes, {@link DosageDecoder#unpackCodes}, or 8-bit
   * dosages) and then gathered at each set's rows by its decoder ({@link DosageDecoder#decodeCodes},
   * {@link DosageDecoder#decodeDosages}), each set's kept variants batched into its own blocks of at most
   * {@code blockVariants} and handed to its sink, with its own filter counts. Each set sees exactly the blocks,
   * values and counts that {@link #read} with its decoder alone gives. Cost per variant: {@code O(N)} to
   * unpack plus {@code O(n_s)} per set.
   */
  public static void readTogether(Iterable<PackedGenotypeBlock> blocks, java.util.List<DosageDecoder> decoders,
      int blockVariants, java.util.List<VariantFilterCounts> counts, java.util.List<Consumer<DosageBlock>> sinks) {
    int sets = decoders.size();
    if (counts.size() != sets || sinks.size() != sets) {
      throw new IllegalArgumentException(sets + " decoders, " + counts.size() + " counts, " + sinks.size() + " sinks");
    }
    DosageBlock[] out = new DosageBlock[sets];
    for (int s = 0; s < sets; s++) {
      out[s] = new DosageBlock(decoders.get(s).samples(), Math.max(1, blockVariants));
    }
    byte[] codes = null;
    VariantDosages scratch = null;
    for (PackedGenotypeBlock b : blocks) {
      if (b.dosages && scratch == null) {
        scratch = new VariantDosages(b.n);
      }
      if (!b.dosages && (codes == null || codes.length < b.n)) {
        codes = new byte[b.n];
      }
      int bpv = b.bytesPerVariant();
      for (int v = 0; v < b.m; v++) {
        if (b.dosages) {
          for (int i = 0; i < b.n; i++) {
            scratch.dosage[i] = b.dosage(v, i);
          }
          scratch.probabilitiesKnown = false;
        } else {
          DosageDecoder.unpackCodes(b.packed, v * bpv, b.n, codes);
        }
        for (int s = 0; s < sets; s++) {
          DosageBlock block = out[s];
          int col = block.m;
          int verdict = b.dosages ? decoders.get(s).decodeDosages(scratch, b.variantIndex[v], block)
              : decoders.get(s).decodeCodes(codes, b.variantIndex[v], block);
          if (b.dosages && block.m > col) {
            block.info[col] = b.info[v];
          }
          counts.get(s).record(verdict);
          block.flushTo(sinks.get(s), false);
        }
      }
    }
    for (int s = 0; s < sets; s++) {
      out[s].flushTo(sinks.get(s), true);
    }
  }

  /** For each {@code .bed} byte, the A1 counts of its four samples (code 00 → 2, 10 → 1, 11 → 0, 01 missing → 0). */
  private static final double[] BYTE_COUNTS = new double[4 * 256];
  /** Whether a {@code .bed} byte holds a missing call (code 01). */
  private static final boolean[] BYTE_MISSING = new boolean[256];
  private static final double[] CODE_COUNT = {2, 0, 1, 0};

  static {
    for (int b = 0; b < 256; b++) {
      for (int j = 0; j < 4; j++) {
        int code = (b >>> (2 * j)) & 3;
        BYTE_COUNTS[4 * b + j] = CODE_COUNT[code];
        BYTE_MISSING[b] |= code == 1;
      }
    }
  }

  /**
   * Every variant of {@code blocks} over all samples, neither centered nor filtered ({@link A1CountBlock}: A1
   * counts, missing calls 0 and listed), in blocks of at most {@code blockVariants} handed to {@code sink} (the
   * buffer is reused after the call returns): what the stacked test of many traits ({@code StackedTraitTests})
   * reads, each trait centering and filtering over its own samples. Cost {@code O(N)} per variant.
   */
  public static void readCounts(Iterable<PackedGenotypeBlock> blocks, int blockVariants,
      Consumer<A1CountBlock> sink) {
    A1CountBlock out = null;
    for (PackedGenotypeBlock b : blocks) {
      if (out == null) {
        out = new A1CountBlock(b.n, Math.max(1, blockVariants));
      } else if (out.n != b.n) {
        throw new IllegalArgumentException("cached blocks of " + out.n + " and " + b.n + " samples");
      }
      int n = b.n;
      int bpv = b.bytesPerVariant();
      for (int v = 0; v < b.m; v++) {
        out.open();
        double[] x = out.values;
        int base = out.m * n;
        if (b.dosages) {
          for (int i = 0; i < n; i++) {
            double d = b.dosage(v, i);
            if (d != d) {
              x[base + i] = 0;
              out.addMissing(i);
            } else {
              x[base + i] = d;
            }
          }
          out.close(b.variantIndex[v], b.info[v]);
        } else {
          int off = v * bpv;
          int full = n >>> 2;
          for (int j = 0; j < full; j++) {
            int y = b.packed[off + j] & 0xff;
            int o = base + 4 * j;
            x[o] = BYTE_COUNTS[4 * y];
            x[o + 1] = BYTE_COUNTS[4 * y + 1];
            x[o + 2] = BYTE_COUNTS[4 * y + 2];
            x[o + 3] = BYTE_COUNTS[4 * y + 3];
            if (BYTE_MISSING[y]) {
              for (int k = 0; k < 4; k++) {
                if (((y >>> (2 * k)) & 3) == 1) {
                  out.addMissing(4 * j + k);
                }
              }
            }
          }
          for (int i = 4 * full; i < n; i++) {
            int code = (b.packed[off + (i >>> 2)] >>> ((i & 3) << 1)) & 3;
            x[base + i] = CODE_COUNT[code];
            if (code == 1) {
              out.addMissing(i);
            }
          }
          out.close(b.variantIndex[v], Double.NaN);
        }
        out.flushTo(sink, false);
      }
    }
    if (out != null) {
      out.flushTo(sink, true);
    }
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
