package org.lmmspark.engine.simulate;

import java.util.SplittableRandom;
import org.lmmspark.engine.io.PlinkWriter;

/**
 * Generates one variant at a time for all N samples, holding O(N) bytes. Everything about variant
 * {@code v} comes from its own random stream (seed, v), so variants can be generated in any order
 * or in parallel and the output stays the same.
 *
 * <p>Model for one variant: ancestral A1 frequency {@code p ~ U(0.05, 0.95)} (0 or 1 for a
 * variant made monomorphic); population k's frequency {@code p_k ~ Beta(p(1−F)/F, (1−p)(1−F)/F)}
 * (Balding & Nichols 1995, so {@code E p_k = p}, {@code Var p_k = F p(1−p)}); a founder of
 * population k carries two independent A1 draws with probability {@code p_k} (Hardy–Weinberg
 * within the population); a child gets one allele from each parent, a heterozygous parent passing
 * A1 with probability 1/2 (Mendel). Transmissions at different variants are independent: free
 * recombination between all variants, so there is no LD within families beyond what the shared
 * parents imply. With {@code ldRho > 0} founders and children come instead from
 * {@link LinkedHaplotypes} (haplotypes correlated along the chromosome, crossovers in meioses), with
 * the same per-variant frequencies; variants must then be generated in order within each LD segment.
 * Calls are then written as missing independently with the configured rate
 * (measurement missingness; the true genotype still drives the traits).
 */
final class VariantGenerator {
  private static final int[] CODE = {0b11, 0b10, 0b00};
  private static final String[] BASES = {"A", "C", "G", "T"};

  private final SimulationConfig config;
  private final Cohort cohort;
  private final Genome genome;
  private final int n;
  /** True A1 counts of the current variant. */
  final byte[] genotypes;
  private final long[] threshold;
  private final double logKeep;
  /** The LD model's state, or null without LD (independent variants). */
  private final LinkedHaplotypes linked;

  VariantGenerator(SimulationConfig config, Cohort cohort, Genome genome) {
    this.config = config;
    this.cohort = cohort;
    this.genome = genome;
    this.n = cohort.n;
    this.genotypes = new byte[n];
    this.threshold = new long[config.populations()];
    this.logKeep = config.missingRate() > 0 ? StrictMath.log1p(-config.missingRate()) : 0;
    this.linked = config.ldRho() > 0 ? new LinkedHaplotypes(config, cohort, genome) : null;
  }

  /** Result of one variant besides the packed record. */
  record Info(PlinkWriter.Variant variant, int missingCalls) {}

  /**
   * Generates variant {@code v}: true A1 counts into {@link #genotypes}, the {@code .bed} record
   * (with missing calls) into {@code packed} ({@code ceil(N/4)} bytes).
   */
  Info generate(int v, byte[] packed) {
    SplittableRandom r = Rng.stream(config.seed(), Rng.VARIANT, v);
    long bp = genome.position(v, r.nextDouble());
    int a1 = r.nextInt(4);
    int a2 = (a1 + 1 + r.nextInt(3)) % 4;
    double p = genome.monomorphic[v] ? r.nextInt(2) : 0.05 + 0.9 * r.nextDouble();
    double f = config.fst();
    for (int k = 0; k < threshold.length; k++) {
      double pk = (f == 0 || p == 0 || p == 1) ? p : Rng.beta(r, p * (1 - f) / f, (1 - p) * (1 - f) / f);
      // An allele is A1 when a uniform 32-bit integer falls below p_k·2^32.
      threshold[k] = (long) StrictMath.floor(pk * 4294967296.0);
    }
    if (linked != null) {
      linked.next(v, bp, threshold, genotypes);
    } else {
      independentGenotypes(r);
    }
    encode(packed);
    int missing = 0;
    if (config.missingRate() > 0) {
      // Independent missingness with rate q: the gap before the next missing call is geometric,
      // floor(log U / log(1−q)), so the cost is one draw per missing call, not per call.
      long j = gap(r);
      while (j < n) {
        int s = 2 * (int) (j & 3);
        int b = (int) (j >>> 2);
        packed[b] = (byte) ((packed[b] & ~(3 << s)) | (PlinkWriter.CODE_MISSING << s));
        missing++;
        j += 1 + gap(r);
      }
    }
    String id = "v" + (v + 1);
    PlinkWriter.Variant variant =
        new PlinkWriter.Variant(Integer.toString(genome.chr[v]), id, bp / 1e6, bp, BASES[a1], BASES[a2]);
    return new Info(variant, missing);
  }

  /** Founders drawn independently at this variant, children by Mendel with free recombination. */
  private void independentGenotypes(SplittableRandom r) {
    long bits = 0;
    int bitsLeft = 0;
    for (int j = 0; j < n; j++) {
      int fa = cohort.father[j];
      if (fa < 0) {
        long t = threshold[cohort.population[j]];
        long x = r.nextLong();
        genotypes[j] = (byte) (((x >>> 32) < t ? 1 : 0) + ((x & 0xffffffffL) < t ? 1 : 0));
      } else {
        if (bitsLeft < 2) {
          bits = r.nextLong();
          bitsLeft = 64;
        }
        int fromFather = transmit(genotypes[fa], (int) (bits & 1));
        int fromMother = transmit(genotypes[cohort.mother[j]], (int) ((bits >>> 1) & 1));
        bits >>>= 2;
        bitsLeft -= 2;
        genotypes[j] = (byte) (fromFather + fromMother);
      }
    }
  }

  private static int transmit(byte parent, int coin) {
    return parent == 1 ? coin : parent >> 1;
  }

  private long gap(SplittableRandom r) {
    double u = 1.0 - r.nextDouble();
    double g = StrictMath.floor(StrictMath.log(u) / logKeep);
    return g >= n ? n : (long) g;
  }

  private void encode(byte[] packed) {
    int full = n >> 2;
    byte[] g = genotypes;
    for (int b = 0, j = 0; b < full; b++, j += 4) {
      packed[b] = (byte) (CODE[g[j]] | CODE[g[j + 1]] << 2 | CODE[g[j + 2]] << 4 | CODE[g[j + 3]] << 6);
    }
    if ((n & 3) != 0) {
      int x = 0;
      for (int j = full << 2; j < n; j++) {
        x |= CODE[g[j]] << (2 * (j & 3));
      }
      packed[full] = (byte) x;
    }
  }
}
