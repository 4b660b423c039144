package org.lmmspark.engine.io.bgen;

import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.VariantDosages;

/**
 * Dosages of the first allele of a biallelic BGEN variant, computed straight from its uncompressed
 * genotype block: for an unphased sample of ploidy Z with genotype probabilities {@code P_j}
 * ({@code j} copies of the second allele), {@code e = Σ_j (Z − j) P_j} and
 * {@code f = Σ_j (Z − j)² P_j}; for a phased sample with haplotype probabilities {@code q_h} of the
 * first allele, {@code e = Σ_h q_h} and {@code f − e² = Σ_h q_h(1 − q_h)}. For the common case
 * (diploid, unphased, 8 or 16 bits: UK Biobank's imputed data) {@code e = 2P(AA) + P(AB)} is read
 * directly from the packed bytes, O(N) with no allocation.
 *
 * <p>The counted allele is the BGEN's first allele, as plink2 {@code --bgen … ref-first} counts REF,
 * and as plink2's default import (first allele ALT = PLINK 1 A1) and regenie count it.
 */
public final class BgenDosages {
  private BgenDosages() {}

  /**
   * Fills {@code out} from a layout-2 block. Layout-2 values are exact multiples of
   * {@code 1/(2^B − 1)} and sum to 1 by construction.
   */
  public static void layout2(byte[] data, int length, VariantDosages out, String where) {
    if (diploid8or16(data, length, out, where)) {
      return;
    }
    BgenProbabilities.Layout2Header h;
    try {
      h = BgenProbabilities.Layout2Header.read(data, length);
    } catch (IllegalArgumentException e) {
      throw new BadInputException(where + ": " + e.getMessage());
    }
    checkSamplesAndAlleles(h.samples, h.alleles, out, where);
    out.probabilitiesKnown = true;
    double[] e = out.dosage;
    double[] v = out.variance;
    BgenProbabilities.BitReader bits = new BgenProbabilities.BitReader(data, h.dataStart, length);
    double scale = 1.0 / ((1L << h.bits) - 1);
    try {
      for (int i = 0; i < h.samples; i++) {
        int z = h.ploidy[i];
        double d = 0;
        double var = 0;
        if (h.phased) {
          for (int hap = 0; hap < z; hap++) {
            double q = bits.next(h.bits) * scale;
            d += q;
            var += q * (1 - q);
          }
        } else {
          double second = 0;
          for (int j = 0; j < z; j++) { // the last genotype (Z copies of the second allele) adds 0 copies
            double p = bits.next(h.bits) * scale;
            d += (z - j) * p;
            second += (double) (z - j) * (z - j) * p;
          }
          var = second - d * d;
        }
        e[i] = h.missing[i] ? Double.NaN : d;
        v[i] = h.missing[i] ? 0 : var;
      }
    } catch (IllegalArgumentException ex) {
      throw new BadInputException(where + ": " + ex.getMessage());
    }
  }

  /** {@code k / 255} for every 8-bit value k: the same doubles as {@code k * (1.0 / 255)}, looked up. */
  private static final double[] EIGHT_BIT = new double[256];

  static {
    double scale = 1.0 / 255;
    for (int k = 0; k < 256; k++) {
      EIGHT_BIT[k] = k * scale;
    }
  }

  /**
   * The common case, diploid and unphased at 8 or 16 bits (UK Biobank's imputed data), read straight
   * from the block: the missing flag from each ploidy byte, {@code P(AA), P(AB)} from the packed values,
   * with no per-variant allocation. Returns false, having read nothing, for any other block.
   */
  private static boolean diploid8or16(byte[] data, int length, VariantDosages out, String where) {
    if (length < 10) {
      return false;
    }
    long n = BgenProbabilities.u32(data, 0);
    if (n != out.samples() || (data[6] & 0xff) != 2 || (data[7] & 0xff) != 2 || length < 10 + n) {
      return false;
    }
    int samples = (int) n;
    int flags = 8 + samples;
    int bits = data[flags + 1] & 0xff;
    if (data[flags] != 0 || (bits != 8 && bits != 16)) {
      return false;
    }
    checkSamplesAndAlleles(samples, BgenProbabilities.u16(data, 4), out, where);
    int step = bits / 8;
    int o = flags + 2;
    if (length < o + 2 * step * samples) {
      throw new BadInputException(where + ": probability block too short for " + samples + " samples");
    }
    out.probabilitiesKnown = true;
    double[] e = out.dosage;
    double[] v = out.variance;
    double scale = 1.0 / ((1 << bits) - 1);
    for (int i = 0; i < samples; i++, o += 2 * step) {
      if (data[8 + i] < 0) { // ploidy byte with its top bit set: missing
        e[i] = Double.NaN;
        v[i] = 0;
        continue;
      }
      double aa;
      double ab;
      if (step == 1) {
        aa = EIGHT_BIT[data[o] & 0xff];
        ab = EIGHT_BIT[data[o + 1] & 0xff];
      } else {
        aa = BgenProbabilities.u16(data, o) * scale;
        ab = BgenProbabilities.u16(data, o + 2) * scale;
      }
      double d = 2 * aa + ab;
      e[i] = d;
      v[i] = 4 * aa + ab - d * d;
    }
    return true;
  }

  private static void checkSamplesAndAlleles(int samples, int alleles, VariantDosages out, String where) {
    if (samples != out.samples()) {
      throw new BadInputException(where + ": genotype block for " + samples + " samples, the file has "
          + out.samples());
    }
    if (alleles != 2) {
      throw new BadInputException(where + ": " + alleles + " alleles; only biallelic variants can be used "
          + "(split multi-allelic variants first, e.g. bcftools norm -m- then qctool)");
    }
  }

  /**
   * Fills {@code out} from a layout-1 block ({@code 6N} bytes of uint16 {@code P(AA), P(AB), P(BB)}
   * ×32768). Layout-1 triples need not sum to 1 (they were rounded separately): the dosage is taken
   * from the triple renormalised to sum 1, as plink2 does on import; all three zero is missing.
   */
  public static void layout1(byte[] data, int samples, VariantDosages out) {
    out.probabilitiesKnown = true;
    double[] e = out.dosage;
    double[] v = out.variance;
    for (int i = 0; i < samples; i++) {
      int o = 6 * i;
      int aa = BgenProbabilities.u16(data, o);
      int ab = BgenProbabilities.u16(data, o + 2);
      int bb = BgenProbabilities.u16(data, o + 4);
      int sum = aa + ab + bb;
      if (sum == 0) {
        e[i] = Double.NaN;
        v[i] = 0;
        continue;
      }
      double d = (2.0 * aa + ab) / sum;
      e[i] = d;
      v[i] = (4.0 * aa + ab) / sum - d * d;
    }
  }
}
