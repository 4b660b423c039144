package org.lmmspark.engine.matfree;

import java.lang.reflect.Field;
import java.nio.ByteOrder;

/**
 * Decodes {@code .bed} bytes into centred allele counts {@code d = x − r} in float, {@code r} ∈ {0, 1, 2} per
 * variant, from one table shared by every variant: for each of the 256 bytes and each r the four counts, as two
 * 8-byte pairs of floats (12 KB, in L1 whatever the number of variants). Codes: 00 (two A1) {@code 2 − r}, 10 (het)
 * {@code 1 − r}, 11 (no A1) {@code −r}, 01 (missing) 0 (the caller patches missing calls).
 *
 * <p>Where {@code sun.misc.Unsafe} is at hand and the platform little-endian (x86, ARM), a step reads four bytes at
 * once and writes sixteen floats in eight 8-byte stores, with no bounds check per table read: 4.2–4.4 Gvalues/s per
 * CPU-s in a scratch test on 512 × 512 tiles (Zen 4), against 1.5–1.6 for the per-variant nibble tables of
 * {@link PackedGenotypeBlock#decodeRows} and 1.8–2.1 for this table read and written float by float; the
 * per-variant choice of r costs 15–20 % of that (3.3–3.6). Elsewhere the same table is read float by float.
 * Bounds are the caller's to check ({@link PackedGenotypeBlock#decodeRaw} does).
 */
final class RawDecode {
  /** {@code PAIRS[512·r + 2·b + h]}: the floats of samples {@code 2h, 2h + 1} of byte b, low sample in the low half. */
  private static final long[] PAIRS = new long[3 * 512];
  /** {@code VALUES[1024·r + 4·b + q]}: the count of sample q of byte b (the portable path and partial bytes). */
  private static final float[] VALUES = new float[3 * 1024];

  static {
    for (int r = 0; r < 3; r++) {
      float[] code = {2 - r, 0, 1 - r, -r};
      for (int b = 0; b < 256; b++) {
        for (int q = 0; q < 4; q++) {
          VALUES[1024 * r + 4 * b + q] = code[(b >>> (2 * q)) & 3];
        }
        for (int h = 0; h < 2; h++) {
          long low = Float.floatToRawIntBits(code[(b >>> (4 * h)) & 3]) & 0xffffffffL;
          long high = Float.floatToRawIntBits(code[(b >>> (4 * h + 2)) & 3]) & 0xffffffffL;
          PAIRS[512 * r + 2 * b + h] = low | (high << 32);
        }
      }
    }
  }

  private static final sun.misc.Unsafe UNSAFE = unsafe();
  private static final long BYTES = UNSAFE == null ? 0 : UNSAFE.arrayBaseOffset(byte[].class);
  private static final long FLOATS = UNSAFE == null ? 0 : UNSAFE.arrayBaseOffset(float[].class);
  private static final long LONGS = UNSAFE == null ? 0 : UNSAFE.arrayBaseOffset(long[].class);

  private static sun.misc.Unsafe unsafe() {
    if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
      return null;
    }
    try {
      Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
      f.setAccessible(true);
      sun.misc.Unsafe u = (sun.misc.Unsafe) f.get(null);
      return u.arrayIndexScale(float[].class) == 4 && u.arrayIndexScale(long[].class) == 8 ? u : null;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  private RawDecode() {}

  /**
   * Writes the centred counts of samples {@code 0 .. rows} of the bytes from {@code packed[in]} (sample 4j + q in bits
   * 2q of byte j) at {@code out[o ..]}. The caller has checked that the bytes and {@code out[o .. o + rows)} exist.
   */
  static void decode(byte[] packed, int in, int rows, int r, float[] out, int o) {
    int words = UNSAFE == null ? 0 : rows / 16;
    if (words > 0) {
      long src = BYTES + in;
      long dst = FLOATS + 4L * o;
      long table = LONGS + 8L * 512 * r;
      for (int w = 0; w < words; w++, src += 4, dst += 64) {
        int x = UNSAFE.getInt(packed, src);
        long t0 = table + ((x & 0xff) << 4);
        long t1 = table + ((x >>> 4) & 0xff0);
        long t2 = table + ((x >>> 12) & 0xff0);
        long t3 = table + ((x >>> 20) & 0xff0);
        UNSAFE.putLong(out, dst, UNSAFE.getLong(PAIRS, t0));
        UNSAFE.putLong(out, dst + 8, UNSAFE.getLong(PAIRS, t0 + 8));
        UNSAFE.putLong(out, dst + 16, UNSAFE.getLong(PAIRS, t1));
        UNSAFE.putLong(out, dst + 24, UNSAFE.getLong(PAIRS, t1 + 8));
        UNSAFE.putLong(out, dst + 32, UNSAFE.getLong(PAIRS, t2));
        UNSAFE.putLong(out, dst + 40, UNSAFE.getLong(PAIRS, t2 + 8));
        UNSAFE.putLong(out, dst + 48, UNSAFE.getLong(PAIRS, t3));
        UNSAFE.putLong(out, dst + 56, UNSAFE.getLong(PAIRS, t3 + 8));
      }
    }
    int base = 1024 * r;
    int whole = rows / 4;
    int dst = o + 16 * words;
    for (int j = 4 * words; j < whole; j++, dst += 4) {
      int t = base + ((packed[in + j] & 0xff) << 2);
      out[dst] = VALUES[t];
      out[dst + 1] = VALUES[t + 1];
      out[dst + 2] = VALUES[t + 2];
      out[dst + 3] = VALUES[t + 3];
    }
    // The last byte of a tile ending at n (padding calls beyond n are not written).
    if (whole * 4 < rows) {
      int t = base + ((packed[in + whole] & 0xff) << 2);
      for (int q = 0; q < rows - 4 * whole; q++) {
        out[dst + q] = VALUES[t + q];
      }
    }
  }
}
