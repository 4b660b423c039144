package org.lmmspark.engine.genotype;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The whole-byte path (all samples, in .fam order) against the per-sample path and a plain decode:
 * random codes (missing included) for sizes that do and do not fill the last byte, and long enough
 * (n = 1,001) to cross the 63-byte lane flush several times.
 */
class DosageDecoderTest {
  @Test
  void wholeBytePathEqualsPerSamplePath() {
    SplittableRandom rng = new SplittableRandom(5);
    for (int n : new int[] {1, 3, 4, 5, 252, 253, 1001}) {
      int bpv = (n + 3) / 4;
      byte[] packed = new byte[bpv];
      int[] codes = new int[n];
      for (int i = 0; i < n; i++) {
        codes[i] = rng.nextInt(10) == 0 ? 1 : new int[] {0, 2, 3}[rng.nextInt(3)];
        packed[i / 4] |= (byte) (codes[i] << (2 * (i % 4)));
      }
      codes[0] = 0; // polymorphic for sure
      packed[0] &= (byte) ~3;
      if (n > 1) {
        codes[n - 1] = 3;
        packed[(n - 1) / 4] |= (byte) (3 << (2 * ((n - 1) % 4)));
      }
      int[] identity = new int[n];
      int[] reversed = new int[n];
      for (int i = 0; i < n; i++) {
        identity[i] = i;
        reversed[i] = n - 1 - i;
      }
      DosageBlock a = new DosageBlock(n, 1);
      DosageBlock b = new DosageBlock(n, 1);
      int ka = new DosageDecoder(identity, 0).decodeInto(packed, 0, 7, a);
      int kb = new DosageDecoder(reversed, 0).decodeInto(packed, 0, 7, b);
      assertEquals(ka, kb, "n = " + n);
      if (n == 1) {
        assertEquals(BedDecoder.MONOMORPHIC, ka);
        continue;
      }
      assertEquals(BedDecoder.KEPT, ka, "n = " + n);
      // Plain: x = 2, 1, 0 for codes 00, 10, 11; missing (01) → mean.
      int called = 0;
      double sum = 0;
      for (int c : codes) {
        if (c != 1) {
          called++;
          sum += c == 0 ? 2 : c == 2 ? 1 : 0;
        }
      }
      double mean = sum / called;
      assertEquals(called, a.called[0]);
      assertEquals(mean / 2, a.a1Frequency[0], 1e-12);
      assertEquals(a.a1Frequency[0], b.a1Frequency[0], 0);
      for (int i = 0; i < n; i++) {
        double x = codes[i] == 1 ? 0 : (codes[i] == 0 ? 2 : codes[i] == 2 ? 1 : 0) - mean;
        assertEquals(x, a.values[i], 1e-6, "n = " + n + " sample " + i);
        assertEquals(a.values[i], b.values[n - 1 - i], 0, "n = " + n + " sample " + i);
      }
    }
  }
}
