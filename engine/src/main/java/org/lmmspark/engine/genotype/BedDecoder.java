package org.lmmspark.engine.genotype;

/**
 * Decodes PLINK {@code .bed} variants (2 bits per call, 4 calls per byte, low bits first; codes
 * 00 = two copies of A1, 01 = missing, 10 = heterozygous, 11 = no copy of A1) into a standardized
 * {@link GenotypeBlock} (by default GCTA's standardization; any {@link GenotypeScaling}), dropping
 * variants that carry no information.
 *
 * <p>Per variant: one pass counts the codes (a 256-entry table of per-byte counts), giving the
 * A1 frequency {@code p} over non-missing calls; then a second pass writes four standardized values
 * per byte from a 256-entry table built for that variant. Cost O(N) per variant, no branches per call.
 */
public final class BedDecoder {
  /** Why a variant was dropped, or {@link #KEPT}. */
  public static final int KEPT = 0;
  public static final int MONOMORPHIC = 1;
  public static final int BELOW_MAF = 2;
  public static final int ALL_MISSING = 3;

  // For each byte: counts of codes 00, 01, 10, 11 among its 4 calls, packed 8 bits each.
  private static final int[] CODE_COUNTS = new int[256];

  static {
    for (int b = 0; b < 256; b++) {
      int packed = 0;
      for (int k = 0; k < 4; k++) {
        int code = (b >>> (2 * k)) & 3;
        packed += 1 << (8 * code);
      }
      CODE_COUNTS[b] = packed;
    }
  }

  private final int n;
  private final int bytesPerVariant;
  private final double minMaf;
  private final GenotypeScaling scaling;
  private final float[] table = new float[256 * 4];
  private final float[] codeValue = new float[4];
  private final double[] codes = new double[4];

  /**
   * @param n samples per variant
   * @param minMaf variants with minor allele frequency below this are dropped (0 keeps all
   *     polymorphic variants); monomorphic variants are always dropped
   */
  public BedDecoder(int n, double minMaf) {
    this(n, minMaf, GenotypeScaling.GCTA);
  }

  /** As {@link #BedDecoder(int, double)}, with the GRM definition's scaling of each variant. */
  public BedDecoder(int n, double minMaf, GenotypeScaling scaling) {
    this.n = n;
    this.bytesPerVariant = (n + 3) / 4;
    this.minMaf = minMaf;
    this.scaling = scaling;
  }

  /**
   * The values of codes 00, 01 (missing), 10, 11 for the variant last kept by {@link #decodeInto}
   * (in double precision, before rounding to float), or for {@link #decodeDosages} the scaled values of
   * dosages 2, 1, 0 at [0], [2], [3] (the map is linear); a view, overwritten by the next call.
   */
  public double[] lastCodeValues() {
    return codes;
  }

  /**
   * The one filter of every decoder, from the sum of counted-allele copies (or dosages) over the
   * {@code called} samples: {@link #ALL_MISSING} without calls, {@link #MONOMORPHIC} when every call
   * has 0 copies or every one 2 (sum 0 or {@code 2·called}), {@link #BELOW_MAF} when
   * {@code min(p, 1 − p) < minMaf} with {@code p = sum/2·called}, else {@link #KEPT}.
   */
  public static int verdict(double alleleSum, int called, double minMaf) {
    if (called == 0) {
      return ALL_MISSING;
    }
    if (alleleSum <= 0 || alleleSum >= 2.0 * called) {
      return MONOMORPHIC;
    }
    double p = alleleSum / (2.0 * called);
    return Math.min(p, 1 - p) < minMaf ? BELOW_MAF : KEPT;
  }

  /**
   * Scales a variant given as dosages (BGEN, VCF) and appends it to {@code block} when kept: the
   * decoder's {@link GenotypeScaling} with {@code x} the expected count, {@code p = Σx/2n} over the
   * non-missing samples (GCTA: {@code z = (x − 2p)/sqrt(2p(1 − p))}), a missing sample 0 (mean-imputed)
   * and listed as missing. A
   * variant whose non-missing dosages are all 0 or all 2 is monomorphic. Returns {@link #KEPT} or why it
   * was dropped.
   */
  public int decodeDosages(VariantDosages d, int variantIndex, GenotypeBlock block) {
    if (block.n != n || d.samples() != n) {
      throw new IllegalArgumentException("block has " + block.n + " samples, dosages " + d.samples() + ", decoder " + n);
    }
    double[] x = d.dosage;
    double sum = 0;
    int called = 0;
    for (int i = 0; i < n; i++) {
      double v = x[i];
      if (v == v) {
        sum += v;
        called++;
      }
    }
    int verdict = verdict(sum, called, minMaf);
    if (verdict != KEPT) {
      return verdict;
    }
    double p = sum / (2.0 * called);
    int col = block.m;
    if (col >= block.capacity()) {
      throw new IllegalStateException("block is full");
    }
    double mean = 2 * p;
    double squaredDeviations = 0;
    for (int i = 0; i < n; i++) {
      double v = x[i];
      if (v == v) {
        squaredDeviations += (v - mean) * (v - mean);
      }
    }
    double scale = scaling.scale(mean, squaredDeviations, n);
    // The line x ↦ (x − mean)·scale at the hard-call values, as for a .bed variant.
    codes[0] = (2 - mean) * scale;
    codes[1] = 0;
    codes[2] = (1 - mean) * scale;
    codes[3] = (0 - mean) * scale;
    float[] out = block.values;
    int base = col * n;
    int missing = n - called;
    int start = block.missingStart[col];
    if (missing > 0 && block.missingSamples.length < start + missing) {
      block.missingSamples = java.util.Arrays.copyOf(block.missingSamples,
          Math.max(2 * block.missingSamples.length, start + missing));
    }
    int w = start;
    for (int i = 0; i < n; i++) {
      double v = x[i];
      if (v == v) {
        out[base + i] = (float) ((v - mean) * scale);
      } else {
        out[base + i] = 0f;
        block.missingSamples[w++] = i;
      }
    }
    return keep(block, col, start + missing, variantIndex, p);
  }

  /** Records kept column {@code col} (its missing samples end at {@code missingEnd}); returns {@link #KEPT}. */
  private static int keep(GenotypeBlock block, int col, int missingEnd, int variantIndex, double p) {
    block.missingStart[col + 1] = missingEnd;
    block.variantIndex[col] = variantIndex;
    block.a1Frequency[col] = p;
    block.m = col + 1;
    return KEPT;
  }

  /**
   * Decodes the variant whose bytes start at {@code packed[offset]} and appends it to
   * {@code block} when kept. Returns {@link #KEPT} or the reason it was dropped.
   */
  public int decodeInto(byte[] packed, int offset, int variantIndex, GenotypeBlock block) {
    if (block.n != n) {
      throw new IllegalArgumentException("block has " + block.n + " samples, decoder " + n);
    }
    // Count codes over whole bytes, then remove the padding calls of the last byte (coded 00).
    int c00 = 0, c01 = 0, c10 = 0, c11 = 0;
    for (int i = 0; i < bytesPerVariant; i++) {
      int counts = CODE_COUNTS[packed[offset + i] & 0xff];
      c00 += counts & 0xff;
      c01 += (counts >>> 8) & 0xff;
      c10 += (counts >>> 16) & 0xff;
      c11 += counts >>> 24;
    }
    int padding = bytesPerVariant * 4 - n;
    if (padding > 0) {
      int last = packed[offset + bytesPerVariant - 1] & 0xff;
      for (int k = 4 - padding; k < 4; k++) {
        switch ((last >>> (2 * k)) & 3) {
          case 0 -> c00--;
          case 1 -> c01--;
          case 2 -> c10--;
          default -> c11--;
        }
      }
    }
    int called = n - c01;
    int verdict = verdict(2.0 * c00 + c10, called, minMaf);
    if (verdict != KEPT) {
      return verdict;
    }
    double p = (2.0 * c00 + c10) / (2.0 * called);
    scaling.codeValues(c00, c10, c11, n, codes);
    for (int c = 0; c < 4; c++) {
      codeValue[c] = (float) codes[c];
    }
    for (int b = 0; b < 256; b++) {
      for (int k = 0; k < 4; k++) {
        table[4 * b + k] = codeValue[(b >>> (2 * k)) & 3];
      }
    }

    int col = block.m;
    if (col >= block.capacity()) {
      throw new IllegalStateException("block is full");
    }
    float[] out = block.values;
    int base = col * n;
    int whole = n / 4;
    for (int i = 0; i < whole; i++) {
      int t = 4 * (packed[offset + i] & 0xff);
      int o = base + 4 * i;
      out[o] = table[t];
      out[o + 1] = table[t + 1];
      out[o + 2] = table[t + 2];
      out[o + 3] = table[t + 3];
    }
    for (int j = 4 * whole; j < n; j++) {
      out[base + j] = codeValue[(packed[offset + j / 4] >>> (2 * (j % 4))) & 3];
    }

    int start = block.missingStart[col];
    if (c01 > 0) {
      if (block.missingSamples.length < start + c01) {
        block.missingSamples = java.util.Arrays.copyOf(block.missingSamples, Math.max(2 * block.missingSamples.length, start + c01));
      }
      int w = start;
      for (int i = 0; i < bytesPerVariant; i++) {
        int byt = packed[offset + i] & 0xff;
        if (((CODE_COUNTS[byt] >>> 8) & 0xff) == 0) {
          continue;
        }
        for (int k = 0; k < 4; k++) {
          int j = 4 * i + k;
          if (j < n && ((byt >>> (2 * k)) & 3) == 1) {
            block.missingSamples[w++] = j;
          }
        }
      }
    }
    return keep(block, col, start + c01, variantIndex, p);
  }
}
