package org.lmmspark.engine.ldscore;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Decodes reference-panel variants from PLINK {@code .bed} bytes the way ldsc 1.0.1 reads them for
 * {@code --l2} ({@code ldscore.PlinkBEDFile}): allele counts {@code x ∈ {0,1,2}} of the chosen samples,
 * missing calls imputed by the variant's mean {@code μ} over its called samples, and the population
 * standard deviation {@code σ} (ddof 0) of the imputed vector, so that
 * {@code r_ij = Σ_s (x̃_is − μ_i)(x̃_js − μ_j) / (n σ_i σ_j)}.
 *
 * <p>ldsc's filter: a variant is kept when its minor allele frequency among called samples is
 * {@code > minMaf} (0 by default, so monomorphic variants go) and not every call is heterozygous or
 * missing (σ would be 0). Two O(n) passes per variant, no allocation.
 *
 * <p>{@code rows[i]} is the {@code .fam} row of analysed sample {@code i} ({@code --keep}); null means
 * every sample in {@code .fam} order.
 */
public final class PanelDecoder {
  private final int[] rows;
  private final int n;
  private final double minMaf;
  private final int[] counts = new int[4];
  private static final float[] COUNT_OF_CODE = {2f, Float.NaN, 1f, 0f};
  /** For each byte, the allele counts of its four calls (low bits first). */
  private static final float[] BYTE_COUNTS = new float[256 * 4];
  /** The bytes of a {@code .bed} row read eight at a time. */
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  /** The low bit of every 2-bit call. */
  private static final long EVEN_BITS = 0x5555_5555_5555_5555L;
  /** For each byte, the counts of codes 00, 01, 10, 11 among its four calls, 8 bits each. */
  private static final int[] CODE_COUNTS = new int[256];

  static {
    for (int b = 0; b < 256; b++) {
      for (int k = 0; k < 4; k++) {
        int code = (b >>> (2 * k)) & 3;
        BYTE_COUNTS[4 * b + k] = COUNT_OF_CODE[code];
        CODE_COUNTS[b] += 1 << (8 * code);
      }
    }
  }

  /** Per-variant summary of the last call to {@link #decode}. */
  public double mean;
  public double sd;
  public double maf;
  public int missing;

  public PanelDecoder(int[] rows, int fileSamples, double minMaf) {
    this.rows = rows == null ? null : rows.clone();
    this.n = rows == null ? fileSamples : rows.length;
    this.minMaf = minMaf;
  }

  public int samples() {
    return n;
  }

  private int code(byte[] raw, int offset, int i) {
    int r = rows == null ? i : rows[i];
    return (raw[offset + (r >>> 2)] >>> ((r & 3) << 1)) & 3;
  }

  /**
   * Reads the variant whose bytes start at {@code raw[offset]}, sets {@link #mean}, {@link #sd},
   * {@link #maf}, {@link #missing}, and returns whether ldsc keeps it. When kept and {@code out} is not
   * null, writes the n allele counts (a missing call as NaN) to {@code out[outOffset ..]}.
   */
  public boolean decode(byte[] raw, int offset, float[] out, int outOffset) {
    countCodes(raw, offset);
    int hom1 = counts[0];
    int het = counts[2];
    int hom2 = counts[3];
    missing = counts[1];
    int called = n - missing;
    // ldsc's frequency is that of the second .bim allele, and its MAF min(f, 1 − f) in that order: a
    // MAF of exactly 5 % computed as 1 − 0.95 is 0.05000000000000004, which M_5_50 counts.
    double f = called == 0 ? 0 : (2.0 * hom2 + het) / (2.0 * called);
    maf = Math.min(f, 1 - f);
    if (!(maf > minMaf) || het + missing >= n) {
      return false;
    }
    mean = (2.0 * hom1 + het) / called;
    // Σ over the imputed vector of (x̃ − μ)²: imputed calls add nothing.
    double ss = hom1 * (2 - mean) * (2 - mean) + het * (1 - mean) * (1 - mean) + hom2 * mean * mean;
    sd = Math.sqrt(ss / n);
    if (out != null) {
      if (rows == null) {
        // Four calls per byte from a fixed table; the last byte's padding is not written.
        int whole = n / 4;
        for (int b = 0; b < whole; b++) {
          int t = (raw[offset + b] & 0xff) << 2;
          int o = outOffset + 4 * b;
          out[o] = BYTE_COUNTS[t];
          out[o + 1] = BYTE_COUNTS[t + 1];
          out[o + 2] = BYTE_COUNTS[t + 2];
          out[o + 3] = BYTE_COUNTS[t + 3];
        }
        for (int i = 4 * whole; i < n; i++) {
          out[outOffset + i] = COUNT_OF_CODE[code(raw, offset, i)];
        }
      } else {
        for (int i = 0; i < n; i++) {
          out[outOffset + i] = COUNT_OF_CODE[code(raw, offset, i)];
        }
      }
    }
    return true;
  }

  /** Counts of codes 00, 01, 10, 11 over the chosen samples into {@link #counts}. */
  private void countCodes(byte[] raw, int offset) {
    counts[0] = counts[1] = counts[2] = counts[3] = 0;
    if (rows != null) {
      for (int i = 0; i < n; i++) {
        counts[code(raw, offset, i)]++;
      }
      return;
    }
    // 32 calls at a time by popcount on their low and high bits (calls never straddle a byte, so
    // neither a word's byte order nor its boundaries matter), the tail bytes through a table of
    // per-byte code counts (8 bits per code), then the last byte's padding calls taken back out.
    int bytes = (n + 3) / 4;
    int c1 = 0;
    int c2 = 0;
    int c3 = 0;
    int b = 0;
    for (; b + Long.BYTES <= bytes; b += Long.BYTES) {
      long word = (long) LONGS.get(raw, offset + b);
      long low = word & EVEN_BITS;
      long high = (word >>> 1) & EVEN_BITS;
      c1 += Long.bitCount(low & ~high);
      c2 += Long.bitCount(high & ~low);
      c3 += Long.bitCount(low & high);
    }
    int c0 = 4 * b - c1 - c2 - c3;
    for (; b < bytes; b++) {
      int packed = CODE_COUNTS[raw[offset + b] & 0xff];
      c0 += packed & 0xff;
      c1 += (packed >>> 8) & 0xff;
      c2 += (packed >>> 16) & 0xff;
      c3 += packed >>> 24;
    }
    int last = raw[offset + bytes - 1] & 0xff;
    for (int k = n - 4 * (bytes - 1); k < 4; k++) {
      switch ((last >>> (2 * k)) & 3) {
        case 0 -> c0--;
        case 1 -> c1--;
        case 2 -> c2--;
        default -> c3--;
      }
    }
    counts[0] = c0;
    counts[1] = c1;
    counts[2] = c2;
    counts[3] = c3;
  }
}
