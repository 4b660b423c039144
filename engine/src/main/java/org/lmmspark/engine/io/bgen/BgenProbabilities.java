package org.lmmspark.engine.io.bgen;

import java.util.Arrays;

/**
 * The genotype probabilities of one BGEN variant, decoded from its uncompressed genotype data block in
 * full generality: any number of alleles K, any ploidy per sample, phased or not, any bit depth B
 * (1–32). Layout 2 stores, per sample, all but the last probability of its distribution as B-bit
 * integers {@code k/(2^B − 1)}, packed least significant bit first; the last is {@code 1 − Σ others}.
 * Unphased: one probability per genotype, genotypes (allele-count vectors) in colex order, so for K = 2
 * and ploidy Z genotype {@code j} has {@code Z − j} copies of the first allele. Phased: for each of
 * the Z haplotypes a distribution over the K alleles. A sample whose ploidy byte has its top bit set is
 * missing. Layout 1 (BGEN v1.0/1.1) stores three uint16 {@code P(AA), P(AB), P(BB)} per sample as
 * {@code k/32768}; all zero means missing.
 *
 * <p>This general form is for checks and for the rare variant that is not diploid and biallelic;
 * {@link BgenDosages} computes allele dosages directly from the packed bits.
 */
public final class BgenProbabilities {
  public final int samples;
  public final int alleles;
  public final boolean phased;
  /** Bits per stored probability (16 for layout 1, which stores k/32768). */
  public final int bits;
  public final int[] ploidy;
  public final boolean[] missing;
  /** {@code probabilities[i]}: sample i's full distribution, the implied last value included. */
  public final double[][] probabilities;

  private BgenProbabilities(int samples, int alleles, boolean phased, int bits, int[] ploidy, boolean[] missing,
      double[][] probabilities) {
    this.samples = samples;
    this.alleles = alleles;
    this.phased = phased;
    this.bits = bits;
    this.ploidy = ploidy;
    this.missing = missing;
    this.probabilities = probabilities;
  }

  /** Number of unphased genotypes of ploidy {@code z} over {@code k} alleles: {@code C(z + k − 1, k − 1)}. */
  public static int genotypeCount(int z, int k) {
    long c = 1;
    for (int i = 1; i < k; i++) {
      c = c * (z + i) / i;
    }
    return Math.toIntExact(c);
  }

  /** Decodes a layout-2 genotype data block (uncompressed) of {@code length} bytes. */
  public static BgenProbabilities layout2(byte[] data, int length) {
    Layout2Header h = Layout2Header.read(data, length);
    double scale = 1.0 / ((1L << h.bits) - 1);
    BitReader bits = new BitReader(data, h.dataStart, length);
    double[][] probs = new double[h.samples][];
    for (int i = 0; i < h.samples; i++) {
      int z = h.ploidy[i];
      int perSample = h.phased ? z * (h.alleles - 1) : genotypeCount(z, h.alleles) - 1;
      int full = h.phased ? z * h.alleles : perSample + 1;
      double[] p = new double[full];
      if (h.phased) {
        for (int hap = 0; hap < z; hap++) {
          double sum = 0;
          for (int a = 0; a < h.alleles - 1; a++) {
            double v = bits.next(h.bits) * scale;
            p[hap * h.alleles + a] = v;
            sum += v;
          }
          p[hap * h.alleles + h.alleles - 1] = 1 - sum;
        }
      } else {
        double sum = 0;
        for (int g = 0; g < perSample; g++) {
          p[g] = bits.next(h.bits) * scale;
          sum += p[g];
        }
        p[perSample] = 1 - sum;
      }
      if (h.missing[i]) {
        Arrays.fill(p, Double.NaN);
      }
      probs[i] = p;
    }
    return new BgenProbabilities(h.samples, h.alleles, h.phased, h.bits, h.ploidy, h.missing, probs);
  }

  /** Decodes a layout-1 genotype block (uncompressed, {@code 6N} bytes). */
  public static BgenProbabilities layout1(byte[] data, int samples) {
    int[] ploidy = new int[samples];
    Arrays.fill(ploidy, 2);
    boolean[] missing = new boolean[samples];
    double[][] probs = new double[samples][];
    for (int i = 0; i < samples; i++) {
      int o = 6 * i;
      int aa = u16(data, o);
      int ab = u16(data, o + 2);
      int bb = u16(data, o + 4);
      missing[i] = aa == 0 && ab == 0 && bb == 0;
      probs[i] = missing[i] ? new double[] {Double.NaN, Double.NaN, Double.NaN}
          : new double[] {aa / 32768.0, ab / 32768.0, bb / 32768.0};
    }
    return new BgenProbabilities(samples, 2, false, 16, ploidy, missing, probs);
  }

  static int u16(byte[] b, int o) {
    return (b[o] & 0xff) | (b[o + 1] & 0xff) << 8;
  }

  static long u32(byte[] b, int o) {
    return (b[o] & 0xffL) | (b[o + 1] & 0xffL) << 8 | (b[o + 2] & 0xffL) << 16 | (b[o + 3] & 0xffL) << 24;
  }

  /** The fixed part of a layout-2 probability block: counts, ploidies, phasing, bit depth. */
  static final class Layout2Header {
    int samples;
    int alleles;
    int minPloidy;
    int maxPloidy;
    int[] ploidy;
    boolean[] missing;
    boolean phased;
    int bits;
    int dataStart;

    static Layout2Header read(byte[] data, int length) {
      Layout2Header h = new Layout2Header();
      if (length < 10) {
        throw new IllegalArgumentException("probability block of " + length + " bytes");
      }
      h.samples = Math.toIntExact(u32(data, 0));
      h.alleles = u16(data, 4);
      h.minPloidy = data[6] & 0xff;
      h.maxPloidy = data[7] & 0xff;
      int o = 8;
      if (length < o + h.samples + 2) {
        throw new IllegalArgumentException("probability block of " + length + " bytes for " + h.samples + " samples");
      }
      h.ploidy = new int[h.samples];
      h.missing = new boolean[h.samples];
      for (int i = 0; i < h.samples; i++) {
        int b = data[o + i] & 0xff;
        h.ploidy[i] = b & 0x3f;
        h.missing[i] = (b & 0x80) != 0;
      }
      o += h.samples;
      h.phased = data[o] == 1;
      h.bits = data[o + 1] & 0xff;
      if (h.bits < 1 || h.bits > 32) {
        throw new IllegalArgumentException(h.bits + " bits per probability (BGEN allows 1 to 32)");
      }
      h.dataStart = o + 2;
      return h;
    }
  }

  /** Reads B-bit unsigned integers packed least significant bit first. */
  static final class BitReader {
    private final byte[] data;
    private final int end;
    private int byteIndex;
    private long window;
    private int windowBits;

    BitReader(byte[] data, int start, int end) {
      this.data = data;
      this.byteIndex = start;
      this.end = end;
    }

    long next(int bits) {
      while (windowBits < bits) {
        if (byteIndex >= end) {
          throw new IllegalArgumentException("probability block ends inside a value");
        }
        window |= (data[byteIndex++] & 0xffL) << windowBits;
        windowBits += 8;
      }
      long v = window & ((1L << bits) - 1);
      window >>>= bits;
      windowBits -= bits;
      return v;
    }
  }
}
