package org.lmmspark.engine.simulate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Where the simulated variants sit and which are special. Variants are spread over the 22
 * autosomes in proportion to their GRCh37 lengths (at least one each, largest remainders for the
 * rest), in order chromosome 1..22. Within a chromosome of length L holding m variants, variant i
 * sits in the slot {@code [i·s, (i+1)·s)} with {@code s = floor(L/m)} at a uniform offset, so
 * positions strictly increase; genetic position is {@code cM = bp/1e6} (1 cM per Mb).
 *
 * <p>A few variants are made monomorphic on purpose and C distinct others are causal, chosen by a
 * partial Fisher–Yates shuffle of the M indices (O(M) memory; never O(N·M)).
 */
final class Genome {
  /** GRCh37 autosome lengths in bp (chromosomes 1..22). */
  static final long[] LENGTHS = {
    249250621L, 243199373L, 198022430L, 191154276L, 180915260L, 171115067L, 159138663L, 146364022L,
    141213431L, 135534747L, 135006516L, 133851895L, 115169878L, 107349540L, 102531392L, 90354753L,
    81195210L, 78077248L, 59128983L, 63025520L, 48129895L, 51304566L
  };

  final int m;
  /** Chromosome (1..22) of each variant. */
  final byte[] chr;
  /** Index of each variant within its chromosome. */
  final int[] indexInChr;
  /** Slot width in bp of each chromosome. */
  final long[] slot;
  final int[] perChromosome;
  final boolean[] monomorphic;
  /** Causal variant indices, increasing. */
  final int[] causal;

  Genome(SimulationConfig c) {
    this.m = c.variants();
    int k = SimulationConfig.CHROMOSOMES;
    perChromosome = allocate(m, LENGTHS);
    chr = new byte[m];
    indexInChr = new int[m];
    slot = new long[k];
    int v = 0;
    for (int ch = 0; ch < k; ch++) {
      slot[ch] = LENGTHS[ch] / perChromosome[ch];
      if (slot[ch] < 1) {
        throw new IllegalArgumentException("too many variants: chromosome " + (ch + 1) + " would hold "
            + perChromosome[ch] + " variants in " + LENGTHS[ch] + " bp");
      }
      for (int i = 0; i < perChromosome[ch]; i++, v++) {
        chr[v] = (byte) (ch + 1);
        indexInChr[v] = i;
      }
    }
    SplittableRandom r = Rng.stream(c.seed(), Rng.LAYOUT, 0);
    int[] perm = new int[m];
    for (int i = 0; i < m; i++) {
      perm[i] = i;
    }
    int picks = c.monomorphic() + c.causal();
    for (int i = 0; i < picks; i++) {
      int j = i + r.nextInt(m - i);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    monomorphic = new boolean[m];
    for (int i = 0; i < c.monomorphic(); i++) {
      monomorphic[perm[i]] = true;
    }
    causal = Arrays.copyOfRange(perm, c.monomorphic(), picks);
    Arrays.sort(causal);
  }

  /** bp position of variant v given a uniform offset u in [0, 1) within its slot. */
  long position(int v, double u) {
    long s = slot[chr[v] - 1];
    return 1 + indexInChr[v] * s + (long) (u * s);
  }

  /** One variant per part, then the rest in proportion to the weights by largest remainders. */
  static int[] allocate(int total, long[] weights) {
    int k = weights.length;
    long sum = 0;
    for (long w : weights) {
      sum += w;
    }
    int rest = total - k;
    int[] out = new int[k];
    long[] remainder = new long[k];
    int given = 0;
    for (int i = 0; i < k; i++) {
      long num = (long) rest * weights[i];
      out[i] = 1 + (int) (num / sum);
      remainder[i] = num % sum;
      given += out[i] - 1;
    }
    for (int left = rest - given; left > 0; left--) {
      int best = 0;
      for (int i = 1; i < k; i++) {
        if (remainder[i] > remainder[best]) {
          best = i;
        }
      }
      out[best]++;
      remainder[best] = -1;
    }
    return out;
  }
}
