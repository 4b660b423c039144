package org.lmmspark.engine.genotype;

/**
 * Decodes PLINK {@code .bed} variants into centered A1 allele counts of a chosen list of samples
 * ({@link DosageBlock}): code 00 → 2 copies of A1, 10 → 1, 11 → 0, 01 → missing, mean-imputed.
 *
 * <p>{@code rows[i]} is the {@code .fam} row of analysed sample {@code i}; the call of sample {@code r}
 * sits in byte {@code r/4} at bits {@code 2(r mod 4)}. Two O(n) passes per variant (count the codes,
 * then write {@code x − 2p}); no allocation. Variants are dropped, with the same reasons as
 * {@link BedDecoder}, when every analysed call is missing, when they are monomorphic among the
 * analysed samples, or when their minor allele frequency is below the threshold.
 */
public final class DosageDecoder {
  private final int[] rows;
  private final double minMaf;
  private final int[] counts = new int[4];
  private final float[] codeValue = new float[4];
  /** A1 frequency of the variant last kept by {@link #judgeCounts}. */
  private double frequency;
  /** Whether {@code rows[i] == i} for all i (all .fam samples in order): then bytes are decoded whole. */
  private final boolean identity;

  /** For each byte, its four 2-bit codes counted in 8-bit lanes: count of code c at bits {@code 8c}. */
  private static final int[] LANE_COUNTS = new int[256];

  static {
    for (int b = 0; b < 256; b++) {
      int v = 0;
      for (int j = 0; j < 4; j++) {
        v += 1 << (8 * ((b >>> (2 * j)) & 3));
      }
      LANE_COUNTS[b] = v;
    }
  }

  /**
   * @param rows {@code .fam} row of each analysed sample, in analysis order
   * @param minMaf variants with minor allele frequency below this are dropped
   */
  public DosageDecoder(int[] rows, double minMaf) {
    this.rows = rows.clone();
    this.minMaf = minMaf;
    boolean id = true;
    for (int i = 0; i < rows.length && id; i++) {
      id = rows[i] == i;
    }
    this.identity = id;
  }

  /**
   * A visitor that decodes each variant it receives into {@code block}, records the outcome in
   * {@code counts} and hands full blocks to {@code sink}: the one glue between a
   * {@link GenotypeReader} and this decoder.
   */
  public GenotypeVisitor into(DosageBlock block, VariantFilterCounts counts, java.util.function.Consumer<DosageBlock> sink) {
    return new GenotypeVisitor() {
      @Override
      public void hardCalls(byte[] raw, int offset, int v) {
        counts.record(decodeInto(raw, offset, v, block));
        block.flushTo(sink, false);
      }

      @Override
      public void dosages(VariantDosages d, int v) {
        counts.record(decodeDosages(d, v, block));
        block.flushTo(sink, false);
      }
    };
  }

  /** The column the next kept variant goes to; checks the block fits this decoder and has room. */
  private int nextColumn(DosageBlock block) {
    if (block.n != rows.length) {
      throw new IllegalArgumentException("block has " + block.n + " samples, decoder " + rows.length);
    }
    if (block.m >= block.capacity()) {
      throw new IllegalStateException("block is full");
    }
    return block.m;
  }

  public int samples() {
    return rows.length;
  }

  /**
   * The verdict on a variant from its code counts ({@link #counts} over the {@code n} analysed samples); when
   * kept, its A1 frequency p into {@link #frequency} and the centered value of each 2-bit code into
   * {@link #codeValue}: 2 − 2p, missing 0 (mean-imputed), 1 − 2p, −2p.
   */
  private int judgeCounts(int n) {
    int[] c = counts;
    int called = n - c[1];
    int verdict = BedDecoder.verdict(2.0 * c[0] + c[2], called, minMaf);
    if (verdict != BedDecoder.KEPT) {
      return verdict;
    }
    double p = (2.0 * c[0] + c[2]) / (2.0 * called);
    frequency = p;
    codeValue[0] = (float) (2 - 2 * p);
    codeValue[1] = 0f;
    codeValue[2] = (float) (1 - 2 * p);
    codeValue[3] = (float) (-2 * p);
    return verdict;
  }

  /** Records the variant decoded into column {@code col} of {@code block}. */
  private static int kept(DosageBlock block, int col, int variantIndex, double p, int called, double info) {
    block.variantIndex[col] = variantIndex;
    block.a1Frequency[col] = p;
    block.called[col] = called;
    block.info[col] = info;
    block.m = col + 1;
    return BedDecoder.KEPT;
  }

  /** Decodes the variant at {@code packed[offset..]} into the next column of {@code block}; returns {@link BedDecoder#KEPT} or why it was dropped. */
  public int decodeInto(byte[] packed, int offset, int variantIndex, DosageBlock block) {
    int n = rows.length;
    int col = nextColumn(block);
    int[] c = counts;
    c[0] = c[1] = c[2] = c[3] = 0;
    int full = identity ? n >>> 2 : 0;
    // Whole bytes (identity rows): four codes per table look-up, 8-bit lanes flushed before they can overflow.
    for (int b = 0; b < full; b += 63) {
      int lanes = 0;
      int stop = Math.min(full, b + 63);
      for (int j = b; j < stop; j++) {
        lanes += LANE_COUNTS[packed[offset + j] & 0xff];
      }
      c[0] += lanes & 0xff;
      c[1] += (lanes >>> 8) & 0xff;
      c[2] += (lanes >>> 16) & 0xff;
      c[3] += lanes >>> 24;
    }
    for (int i = 4 * full; i < n; i++) {
      int r = rows[i];
      c[(packed[offset + (r >>> 2)] >>> ((r & 3) << 1)) & 3]++;
    }
    int verdict = judgeCounts(n);
    if (verdict != BedDecoder.KEPT) {
      return verdict;
    }
    float[] out = block.values;
    int base = col * n;
    float[] cv = codeValue;
    for (int j = 0; j < full; j++) {
      int v = packed[offset + j];
      int o = base + 4 * j;
      out[o] = cv[v & 3];
      out[o + 1] = cv[(v >>> 2) & 3];
      out[o + 2] = cv[(v >>> 4) & 3];
      out[o + 3] = cv[(v >>> 6) & 3];
    }
    for (int i = 4 * full; i < n; i++) {
      int r = rows[i];
      out[base + i] = codeValue[(packed[offset + (r >>> 2)] >>> ((r & 3) << 1)) & 3];
    }
    return kept(block, col, variantIndex, frequency, n - c[1], Double.NaN);
  }

  /**
   * The 2-bit codes of the first {@code n} samples of the variant at {@code packed[offset..]}, one byte per
   * sample into {@code codes}: what several decoders over different samples ({@link #decodeCodes}) read
   * so that the packed bytes of a variant are unpacked once, whatever the number of sample sets.
   */
  public static void unpackCodes(byte[] packed, int offset, int n, byte[] codes) {
    int full = n >>> 2;
    for (int j = 0; j < full; j++) {
      int v = packed[offset + j];
      int o = 4 * j;
      codes[o] = (byte) (v & 3);
      codes[o + 1] = (byte) ((v >>> 2) & 3);
      codes[o + 2] = (byte) ((v >>> 4) & 3);
      codes[o + 3] = (byte) ((v >>> 6) & 3);
    }
    for (int i = 4 * full; i < n; i++) {
      codes[i] = (byte) ((packed[offset + (i >>> 2)] >>> ((i & 3) << 1)) & 3);
    }
  }

  /**
   * As {@link #decodeInto} from codes already unpacked ({@link #unpackCodes}, one per sample of the file):
   * the same counts, filters and float values, gathered at this decoder's rows.
   */
  public int decodeCodes(byte[] codes, int variantIndex, DosageBlock block) {
    int n = rows.length;
    int col = nextColumn(block);
    int[] c = counts;
    c[0] = c[1] = c[2] = c[3] = 0;
    for (int i = 0; i < n; i++) {
      c[codes[rows[i]]]++;
    }
    int verdict = judgeCounts(n);
    if (verdict != BedDecoder.KEPT) {
      return verdict;
    }
    float[] out = block.values;
    int base = col * n;
    for (int i = 0; i < n; i++) {
      out[base + i] = codeValue[codes[rows[i]]];
    }
    return kept(block, col, variantIndex, frequency, n - c[1], Double.NaN);
  }

  /**
   * Decodes a variant given as dosages (BGEN, VCF: {@code d} over all samples of the source, NaN
   * missing) into centered counts of the analysed samples, with the same filters as the 2-bit form
   * (monomorphic: all non-missing dosages 0 or all 2) and the variant's INFO score among them.
   */
  public int decodeDosages(VariantDosages d, int variantIndex, DosageBlock block) {
    int n = rows.length;
    int col = nextColumn(block);
    double[] x = d.dosage;
    double[] var = d.variance;
    double sum = 0;
    double varSum = 0;
    int called = 0;
    for (int i = 0; i < n; i++) {
      int r = rows[i];
      double v = x[r];
      if (v == v) {
        sum += v;
        varSum += var[r];
        called++;
      }
    }
    int verdict = BedDecoder.verdict(sum, called, minMaf);
    if (verdict != BedDecoder.KEPT) {
      return verdict;
    }
    double p = sum / (2.0 * called);
    double mean = 2 * p;
    float[] out = block.values;
    int base = col * n;
    for (int i = 0; i < n; i++) {
      double v = x[rows[i]];
      out[base + i] = v == v ? (float) (v - mean) : 0f; // missing: mean-imputed
    }
    return kept(block, col, variantIndex, p, called, VariantDosages.info(d.probabilitiesKnown, sum, varSum, called));
  }
}
