package org.lmmspark.engine.matfree;

import java.io.Serializable;
import java.util.Arrays;

/**
 * A block of variants in a compact cached form for repeated products, one of two:
 * <ul>
 *   <li><b>2-bit hard calls</b> (from a {@code .bed}): PLINK's own bytes, {@code ceil(N/4)} per variant
 *       (0.25 byte per genotype), plus 4 doubles per variant holding the standardized value of each
 *       2-bit code;
 *   <li><b>8-bit dosages</b> (from BGEN/VCF, {@link #dosages}): one byte per genotype,
 *       {@code q = round(127·x)} for a dosage {@code x ∈ [0, 2]} (steps of 1/127, so at most 0.0039 off:
 *       the size of an 8-bit BGEN's own rounding of probabilities) and 255 for a missing sample; the
 *       standardized value is {@code a·q + b} with per-variant {@code a = s/127}, {@code b = −2p·s},
 *       {@code s = 1/sqrt(2p(1 − p))}, kept in the same 4-doubles-per-variant table. Exact for hard calls
 *       given as dosages (0, 1, 2 are 0, 127, 254). Four times the 2-bit size.
 * </ul>
 * Either way a variant is standardized on the fly when it is decoded for a product:
 * {@code z = (x − 2p)/sqrt(2p(1 − p))} with {@code p} the A1 frequency among non-missing calls (as
 * {@link org.lmmspark.engine.genotype.GenotypeBlock} and GCTA), and 0 for a missing call (mean imputation).
 *
 * <p>Memory for N = 100,000 samples and M = 50,000 variants: 1.25 GB packed in 2 bits (5 GB in 8 bits),
 * against 20 GB as float. All variants of a block lie on one chromosome ({@link #chromosome}, an index
 * into the run's chromosome list), so leave-one-chromosome-out products can drop whole blocks.
 */
public final class PackedGenotypeBlock implements Serializable {
  private static final long serialVersionUID = 2L;
  /** The 8-bit code of a missing dosage. */
  static final int MISSING_DOSAGE = 255;
  /** Codes per dosage unit of the 8-bit form. */
  static final double DOSAGE_STEPS = 127;

  /** Samples per variant (the whole fileset). */
  public final int n;
  /** Variants held. */
  public final int m;
  /** Chromosome index of every variant of the block. */
  public final int chromosome;
  /** Whether the block holds 8-bit dosages (else 2-bit hard calls). */
  public final boolean dosages;
  /** {@code m · bytesPerVariant()} bytes, variant after variant ({@code .bed} bytes, or 8-bit dosages). */
  final byte[] packed;
  /**
   * 2-bit form: {@code codeValue[4v + code]}, the standardized value of 2-bit code {@code code} for
   * variant {@code v}. 8-bit form: {@code codeValue[4v] = a}, {@code codeValue[4v + 1] = b}.
   */
  final double[] codeValue;
  /** Index of each variant in the fileset. */
  public final int[] variantIndex;
  /** 8-bit form: each variant's INFO score over all samples of the source (NaN if unknown); null for 2-bit. */
  final double[] info;

  PackedGenotypeBlock(int n, int m, int chromosome, boolean dosages, byte[] packed, double[] codeValue,
      int[] variantIndex, double[] info) {
    int bpv = bytesPerVariant(n, dosages);
    if (packed.length != (long) m * bpv || codeValue.length != 4L * m || variantIndex.length != m
        || (dosages && info.length != m)) {
      throw new IllegalArgumentException("packed block arrays do not match n=" + n + ", m=" + m);
    }
    this.n = n;
    this.m = m;
    this.chromosome = chromosome;
    this.dosages = dosages;
    this.packed = packed;
    this.codeValue = codeValue;
    this.variantIndex = variantIndex;
    this.info = info;
  }

  static int bytesPerVariant(int n, boolean dosages) {
    return dosages ? n : (n + 3) / 4;
  }

  int bytesPerVariant() {
    return bytesPerVariant(n, dosages);
  }

  /** Bytes held in memory by this block (packed calls, code tables and indices). */
  public long bytes() {
    return packed.length + 8L * codeValue.length + 4L * variantIndex.length + (info == null ? 0 : 8L * m) + 64;
  }

  /** Variant {@code v} alone, as a block of one (the calibration sample is fetched this way). */
  public PackedGenotypeBlock slice(int v) {
    if (v < 0 || v >= m) {
      throw new IllegalArgumentException("variant " + v + " of a block of " + m);
    }
    int bpv = bytesPerVariant();
    return new PackedGenotypeBlock(n, 1, chromosome, dosages, Arrays.copyOfRange(packed, v * bpv, (v + 1) * bpv),
        Arrays.copyOfRange(codeValue, 4 * v, 4 * v + 4), new int[] {variantIndex[v]},
        dosages ? new double[] {info[v]} : null);
  }

  /**
   * Writes the standardized values of variants {@code [from, from + count)} into {@code out} as an
   * {@code n × count} column-major matrix (leading dimension n), rounded to single precision:
   * {@link #decodeRows} over all samples.
   */
  public void decode(int from, int count, float[] out) {
    decodeRows(from, count, 0, n, decodeTables(from, count, null), out);
  }

  /** Floats per variant of {@link #decodeTables}. */
  static final int TABLE_FLOATS = 32;

  /**
   * The decode tables of variants {@code [from, from + count)} for {@link #decodeRows}, into {@code reuse}
   * when it holds {@code 32·count} floats (else a new array): per 2-bit variant, the 16 nibbles' (two
   * calls') values, {@code table[32c + 2·nibble] = (float) codeValue[low 2 bits]} and
   * {@code [32c + 2·nibble + 1]} the high 2 bits'. Built once per variant and pass, read for every row
   * chunk: 128 bytes per variant, so the tables of a 512-variant chunk (64 KB) stay in cache beside
   * the decoded floats. 8-bit blocks need none (their value is computed per call) and get {@code reuse}.
   */
  public float[] decodeTables(int from, int count, float[] reuse) {
    if (dosages) {
      return reuse;
    }
    float[] table = reuse != null && reuse.length >= TABLE_FLOATS * count ? reuse : new float[TABLE_FLOATS * count];
    for (int c = 0; c < count; c++) {
      int t = 4 * (from + c);
      int o = TABLE_FLOATS * c;
      for (int nibble = 0; nibble < 16; nibble++) {
        table[o + 2 * nibble] = (float) codeValue[t + (nibble & 3)];
        table[o + 2 * nibble + 1] = (float) codeValue[t + (nibble >>> 2)];
      }
    }
    return table;
  }

  /**
   * Writes the standardized values of variants {@code [from, from + count)} at samples
   * {@code [row, row + rows)} into {@code out} as a {@code rows × count} column-major matrix (leading
   * dimension {@code rows}), rounded to single precision for the SGEMMs of {@link GenotypeProductKernel};
   * {@code tables} from {@link #decodeTables} for the same variants. For 2-bit blocks {@code row} must be
   * a multiple of 4 (a byte boundary). Cost O(rows·count): two table look-ups per {@code .bed} byte (four
   * calls), no branch per call (random genotype codes would mispredict it). 8-bit: {@code (float)(a·q + b)}
   * per call, 0 for the missing code. The values are {@code (float)} of {@link #value} either way.
   */
  public void decodeRows(int from, int count, int row, int rows, float[] tables, float[] out) {
    if (from < 0 || count < 0 || from + count > m || row < 0 || rows < 0 || row + rows > n
        || out.length < (long) rows * count || (!dosages && (row % 4 != 0 || tables.length < TABLE_FLOATS * count))) {
      throw new IllegalArgumentException("decode variants [" + from + ", " + (from + count) + ") of " + m
          + ", samples [" + row + ", " + (row + rows) + ") of " + n + " into " + out.length + " values");
    }
    int bpv = bytesPerVariant();
    // The variant's table is copied into a local array of 32: indices (b & 15) << 1 and (b >>> 3) & 30 then
    // stay in [0, 31] and the loop runs at the speed of the single-table decode (~2 Gvalues/s per CPU-s,
    // against ~1.3 indexing the shared tables at an offset; bench-pass).
    float[] table = new float[TABLE_FLOATS];
    for (int c = 0; c < count; c++) {
      int v = from + c;
      int o = c * rows;
      if (dosages) {
        double a = codeValue[4 * v];
        double b = codeValue[4 * v + 1];
        int in = v * bpv + row;
        for (int i = 0; i < rows; i++) {
          int q = packed[in + i] & 0xff;
          out[o + i] = q == MISSING_DOSAGE ? 0f : (float) (a * q + b);
        }
        continue;
      }
      int in = v * bpv + row / 4;
      System.arraycopy(tables, TABLE_FLOATS * c, table, 0, TABLE_FLOATS);
      int whole = rows / 4;
      for (int i = 0; i < whole; i++, o += 4) {
        int b = packed[in + i];
        int lo = (b & 15) << 1;
        int hi = (b >>> 3) & 30;
        out[o] = table[lo];
        out[o + 1] = table[lo + 1];
        out[o + 2] = table[hi];
        out[o + 3] = table[hi + 1];
      }
      // The last byte of a chunk ending at n (padding calls beyond n are not written).
      for (int j = 4 * whole; j < rows; j++, o++) {
        out[o] = table[2 * ((packed[in + j / 4] >>> (2 * (j % 4))) & 3)];
      }
    }
  }

  /**
   * The 2-bit block in the form {@link GenotypeProductKernel} multiplies without decoding standardized values:
   * {@code z = s_v·d + β_v} with {@code d} the centred allele count {@code x − r_v} (exact small integers in float,
   * {@code r_v = round(2p)} ∈ {0, 1, 2}, so |d| ≤ 2 and the float sums over d carry no large common offset), read
   * from one shared table of all 256 {@code .bed} bytes ({@link RawDecode}), and the missing calls patched in
   * afterwards to {@code (z_missing − β_v)/s_v}; null for 8-bit blocks and for code values that are not affine in
   * the allele count or constant non-zero (none of {@link org.lmmspark.engine.genotype.GenotypeScaling}'s), which
   * keep {@link #decodeRows}. Built once per block and JVM (the missing calls are found by one scan of the bytes),
   * kept beside the block (not serialized): 24 bytes per variant and 4 per missing call.
   */
  public static final class RawCoding {
    /** {@code s_v}, the factor of the centred count (0 for a variant that is 0 everywhere). */
    final double[] scale;
    /** {@code β_v ≈ z(x = r_v)}: what a centred count of 0 stands for (see {@link #missingValue}). */
    final double[] offset;
    /** {@code r_v}: the count subtracted by the table. */
    final byte[] center;
    /**
     * The float written at a missing call ({@code δ = 2p − r} for mean imputation), with {@code β_v} chosen so that
     * {@code s_v·d + β_v} is the missing call's value exactly.
     */
    final float[] missingValue;
    /** Variant v's missing samples are {@code missingSamples[missingStart[v] .. missingStart[v + 1])}, increasing. */
    final int[] missingStart;
    final int[] missingSamples;
    /** {@code Σ_i d_iv} over all n samples, exact (from the code counts): {@code Z_cᵀV} with V centred needs it. */
    final double[] countSum;

    RawCoding(double[] scale, double[] offset, byte[] center, float[] missingValue, int[] missingStart,
        int[] missingSamples, double[] countSum) {
      this.scale = scale;
      this.offset = offset;
      this.center = center;
      this.missingValue = missingValue;
      this.missingStart = missingStart;
      this.missingSamples = missingSamples;
      this.countSum = countSum;
    }
  }

  /** {@link #rawCoding()}, once built; a block without one holds {@link #NO_RAW_CODING}. */
  private transient volatile Object rawCoding;
  private static final Object NO_RAW_CODING = new Object();

  /** The raw form of this block ({@link RawCoding}), or null when it has none (8-bit, or code values not affine). */
  public RawCoding rawCoding() {
    Object c = rawCoding;
    if (c == null) {
      c = buildRawCoding();
      rawCoding = c;
    }
    return c == NO_RAW_CODING ? null : (RawCoding) c;
  }

  private Object buildRawCoding() {
    if (dosages) {
      return NO_RAW_CODING;
    }
    double[] scale = new double[m];
    double[] offset = new double[m];
    byte[] center = new byte[m];
    float[] missingValue = new float[m];
    for (int v = 0; v < m; v++) {
      double two = codeValue[4 * v];
      double one = codeValue[4 * v + 2];
      double none = codeValue[4 * v + 3];
      double s = (two - none) / 2;
      double size = Math.max(Math.abs(two), Math.abs(none));
      // The three called codes must lie on one line in x (within double rounding of the standardization).
      if (Math.abs(one - (none + s)) > 1e-12 * size) {
        return NO_RAW_CODING;
      }
      if (s == 0) {
        if (none != 0 || codeValue[4 * v + 1] != 0) {
          return NO_RAW_CODING;
        }
        continue;
      }
      int r = (int) Math.max(0, Math.min(2, Math.rint(-none / s)));
      scale[v] = s;
      center[v] = (byte) r;
      // The missing calls' d is δ = 2p − r rounded to float, and β is taken from that float so that a missing call
      // is exactly its code value (0): with β = −s·δ unrounded, every missing call would carry the same error
      // s·(float(δ) − δ), which adds up over a variant of mostly missing calls against a V column with a mean
      // (1.2e-6 of Zᵀv's norm in GenotypeProductKernelTest). The called values then move by s·|float(δ) − δ|
      // ≤ 3e-8·s, less than rounding z to float did.
      missingValue[v] = (float) ((codeValue[4 * v + 1] - (none + r * s)) / s);
      offset[v] = codeValue[4 * v + 1] - s * missingValue[v];
    }
    int[] start = new int[m + 1];
    int[] samples = new int[16];
    double[] countSum = new double[m];
    int count = 0;
    int bpv = bytesPerVariant();
    for (int v = 0; v < m; v++) {
      int in = v * bpv;
      // Σ_i x_i over the called samples (codes 00: 2, 10: 1); the last byte's padding calls are not counted.
      long alleles = 0;
      for (int j = 0; j < n / 4; j++) {
        alleles += A1_COUNT[packed[in + j] & 0xff];
      }
      for (int i = n / 4 * 4; i < n; i++) {
        int code = (packed[in + i / 4] >>> (2 * (i % 4))) & 3;
        alleles += code == 0 ? 2 : code == 2 ? 1 : 0;
      }
      int before = count;
      for (int j = 0; j < bpv; j++) {
        int b = packed[in + j];
        // A 01 pair: low bit set, high bit clear.
        if ((b & ~(b >>> 1) & 0x55) == 0) {
          continue;
        }
        for (int q = 0; q < 4; q++) {
          int i = 4 * j + q;
          if (i < n && ((b >>> (2 * q)) & 3) == 1) {
            if (count == samples.length) {
              samples = Arrays.copyOf(samples, 2 * count);
            }
            samples[count++] = i;
          }
        }
      }
      start[v + 1] = count;
      int missing = count - before;
      countSum[v] = alleles - (double) center[v] * (n - missing) + (double) missingValue[v] * missing;
    }
    return new RawCoding(scale, offset, center, missingValue, start, Arrays.copyOf(samples, count), countSum);
  }

  /** A1 alleles of the four calls of a {@code .bed} byte (00: 2, 10: 1, 11 and missing 01: 0). */
  private static final byte[] A1_COUNT = new byte[256];

  static {
    for (int b = 0; b < 256; b++) {
      int sum = 0;
      for (int q = 0; q < 4; q++) {
        int code = (b >>> (2 * q)) & 3;
        sum += code == 0 ? 2 : code == 2 ? 1 : 0;
      }
      A1_COUNT[b] = (byte) sum;
    }
  }

  /**
   * Writes the centred counts {@code d} of variants {@code [from, from + count)} at samples {@code [row, row + rows)}
   * into {@code out} ({@code rows × count} column-major), missing calls at {@link RawCoding#missingValue}: the tile
   * whose products {@link GenotypeProductKernel} turns into products with the standardized values by
   * {@code z = s_v·d + β_v}. {@code row} a multiple of 4. Cost: four {@code .bed} bytes per step, 8-byte stores from
   * one 12 KB table ({@link RawDecode}), then a store per missing call.
   *
   * @param cursor null, or where each variant's missing calls resume ({@code count} entries): set at
   *     {@code row = 0}, advanced by each call, so a chunk's tiles taken in increasing rows find their missing calls
   *     without a search (a binary search per variant and tile cost a fifth of the decode at 0.5 % missing)
   */
  public void decodeRaw(int from, int count, int row, int rows, RawCoding coding, float[] out, int[] cursor) {
    if (dosages || from < 0 || count < 0 || from + count > m || row < 0 || rows < 0 || row + rows > n
        || row % 4 != 0 || out.length < (long) rows * count || (cursor != null && cursor.length < count)) {
      throw new IllegalArgumentException("decode variants [" + from + ", " + (from + count) + ") of " + m
          + ", samples [" + row + ", " + (row + rows) + ") of " + n + " into " + out.length + " values");
    }
    int bpv = bytesPerVariant();
    int[] start = coding.missingStart;
    int[] samples = coding.missingSamples;
    int end = row + rows;
    for (int c = 0; c < count; c++) {
      int v = from + c;
      int o = c * rows;
      RawDecode.decode(packed, v * bpv + row / 4, rows, coding.center[v], out, o);
      int hi = start[v + 1];
      int k;
      if (cursor == null) {
        k = Arrays.binarySearch(samples, start[v], hi, row);
        k = k < 0 ? -k - 1 : k;
      } else {
        k = row == 0 ? start[v] : cursor[c];
      }
      if (k < hi && samples[k] < end) {
        float missing = coding.missingValue[v];
        o -= row;
        for (; k < hi && samples[k] < end; k++) {
          out[o + samples[k]] = missing;
        }
      }
      if (cursor != null) {
        cursor[c] = k;
      }
    }
  }

  /** The standardized value of sample {@code i} at variant {@code v} of this block, in double (tests, checks). */
  public double value(int v, int i) {
    if (dosages) {
      int q = packed[v * n + i] & 0xff;
      return q == MISSING_DOSAGE ? 0 : codeValue[4 * v] * q + codeValue[4 * v + 1];
    }
    int bpv = (n + 3) / 4;
    return codeValue[4 * v + ((packed[v * bpv + i / 4] >>> (2 * (i % 4))) & 3)];
  }

  /** The dosage of sample {@code i} at variant {@code v} of an 8-bit block (NaN if missing). */
  double dosage(int v, int i) {
    int q = packed[v * n + i] & 0xff;
    return q == MISSING_DOSAGE ? Double.NaN : q / DOSAGE_STEPS;
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
    for (int v = 0; v < m; v++) {
      for (int j = 0; j < n; j++) {
        double z = value(v, j);
        acc[j] += z * z;
      }
    }
  }
}
