package org.lmmspark.engine.matfree;

import java.io.Serializable;

/**
 * A block of variants kept in PLINK's own 2-bit form, the compact cached form of the genotypes for
 * repeated products: {@code ceil(N/4)} bytes per variant (0.25 byte per genotype) plus 4 doubles per
 * variant holding the standardized value of each 2-bit code, so a variant is standardized on the fly
 * when it is decoded for a product: {@code z = (x − 2p)/sqrt(2p(1 − p))} with {@code p} the A1 frequency
 * among non-missing calls (as {@link org.lmmspark.engine.genotype.GenotypeBlock} and GCTA), and 0 for a
 * missing call (mean imputation).
 *
 * <p>Memory for N = 100,000 samples and M = 50,000 variants: 1.25 GB packed, against 20 GB as float.
 * All variants of a block lie on one chromosome ({@link #chromosome}, an index into the run's
 * chromosome list), so leave-one-chromosome-out products can drop whole blocks.
 */
public final class PackedGenotypeBlock implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Samples per variant (the whole fileset). */
  public final int n;
  /** Variants held. */
  public final int m;
  /** Chromosome index of every variant of the block. */
  public final int chromosome;
  /** {@code m · ceil(n/4)} bytes, variant after variant, exactly as in the {@code .bed}. */
  final byte[] packed;
  /** {@code codeValue[4v + code]}: the standardized value of 2-bit code {@code code} for variant {@code v}. */
  final double[] codeValue;
  /** Index of each variant in the fileset. */
  public final int[] variantIndex;

  PackedGenotypeBlock(int n, int m, int chromosome, byte[] packed, double[] codeValue, int[] variantIndex) {
    int bpv = (n + 3) / 4;
    if (packed.length != (long) m * bpv || codeValue.length != 4L * m || variantIndex.length != m) {
      throw new IllegalArgumentException("packed block arrays do not match n=" + n + ", m=" + m);
    }
    this.n = n;
    this.m = m;
    this.chromosome = chromosome;
    this.packed = packed;
    this.codeValue = codeValue;
    this.variantIndex = variantIndex;
  }

  /** Bytes held in memory by this block (packed calls, code tables and indices). */
  public long bytes() {
    return packed.length + 8L * codeValue.length + 4L * variantIndex.length + 64;
  }

  /**
   * Writes the standardized values of variants {@code [from, from + count)} into {@code out} as an
   * {@code n × count} column-major matrix (leading dimension n), rounded to single precision for the
   * SGEMMs of {@link GenotypeProductKernel}. Cost O(n·count): one table look-up per byte.
   */
  public void decode(int from, int count, float[] out) {
    if (from < 0 || count < 0 || from + count > m || out.length < (long) n * count) {
      throw new IllegalArgumentException("decode [" + from + ", " + (from + count) + ") of " + m
          + " variants into " + out.length + " values");
    }
    int bpv = (n + 3) / 4;
    int whole = n / 4;
    // Per variant a 256-entry table of the four values a byte decodes to (as BedDecoder does): one
    // look-up per byte and no branch per call, which random genotype codes would mispredict.
    float[] table = new float[256 * 4];
    for (int c = 0; c < count; c++) {
      int v = from + c;
      int in = v * bpv;
      int o = c * n;
      int t = 4 * v;
      for (int b = 0; b < 256; b++) {
        for (int k = 0; k < 4; k++) {
          table[4 * b + k] = (float) codeValue[t + ((b >>> (2 * k)) & 3)];
        }
      }
      for (int i = 0; i < whole; i++, o += 4) {
        int e = 4 * (packed[in + i] & 0xff);
        out[o] = table[e];
        out[o + 1] = table[e + 1];
        out[o + 2] = table[e + 2];
        out[o + 3] = table[e + 3];
      }
      for (int j = 4 * whole; j < n; j++, o++) {
        out[o] = (float) codeValue[t + ((packed[in + j / 4] >>> (2 * (j % 4))) & 3)];
      }
    }
  }

  /** The standardized value of sample {@code i} at variant {@code v} of this block, in double (tests, checks). */
  public double value(int v, int i) {
    int bpv = (n + 3) / 4;
    return codeValue[4 * v + ((packed[v * bpv + i / 4] >>> (2 * (i % 4))) & 3)];
  }


  /**
   * The A1 frequency p of variant {@code v} (among its non-missing calls), recovered from its code
   * values: code 00 (two A1) is {@code (2 − 2p)·s} and code 11 (no A1) is {@code −2p·s}.
   */
  public double a1Frequency(int v) {
    double two = codeValue[4 * v];
    double none = codeValue[4 * v + 3];
    return -none / (two - none);
  }

  /** Adds {@code Σ_v z_iv²} over this block's variants to {@code acc[i]} (the diagonal of {@code Z Zᵀ}). */
  public void addSquares(double[] acc) {
    int bpv = (n + 3) / 4;
    for (int v = 0; v < m; v++) {
      int in = v * bpv;
      for (int j = 0; j < n; j++) {
        double z = codeValue[4 * v + ((packed[in + j / 4] >>> (2 * (j % 4))) & 3)];
        acc[j] += z * z;
      }
    }
  }
}
