package org.lmmspark.engine.simulate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Genotypes with linkage disequilibrium: phased haplotypes that are correlated along each chromosome,
 * generated variant after variant through one LD segment.
 *
 * <p><b>Founders.</b> Each founder haplotype h carries a latent uniform {@code U_h} in [0, 1) that moves
 * along the chromosome as a Markov chain: at the next variant it is kept with probability ρ and drawn
 * afresh otherwise, so {@code U_h} stays uniform and {@code corr(U_{h,v}, U_{h,v+d}) = ρ^d} (an AR(1)
 * autocorrelation). The allele at variant v is A1 when {@code U_{h,v} < p_{k,v}} (p of the founder's
 * population k), so each variant keeps its Hardy–Weinberg frequency exactly, and two variants d apart
 * with frequencies p, p' have {@code P(A1, A1) = ρ^d·min(p, p') + (1 − ρ^d)·p p'}: haplotype
 * {@code D = ρ^d (min(p, p') − p p')} and {@code r = D/√(p(1−p)p'(1−p'))}, which is ρ^d for equal
 * frequencies and less otherwise. Founders' two haplotypes are independent, so the genotype (A1 count)
 * correlation between the two variants is the same r.
 *
 * <p><b>Children</b> inherit one haplotype from each parent with crossovers: per meiosis and chromosome
 * of length L bp, a Poisson number of crossovers with mean {@code L/10⁸} (1 cM per Mb, the simulator's
 * map) at uniform positions, and a fair coin for the parental haplotype at the chromosome's start;
 * each crossover switches haplotype. So the LD of the parents passes to the children, broken by
 * recombination as in a real pedigree.
 *
 * <p><b>Segments.</b> The chain restarts (fresh latent uniforms) every {@value #SEGMENT} variants of a
 * chromosome, at its start included: LD blocks with free recombination between them. Each segment
 * draws from its own random stream (seed, first variant), so segments are generated in parallel and
 * the output does not depend on the thread count. With ρ ≤ 0.99 the correlation across a boundary
 * would be ρ^1000 ≤ 4·10⁻⁵ anyway. Memory: {@code 10·N} bytes of state plus the crossovers.
 */
final class LinkedHaplotypes {
  /** Variants per LD segment (the chain restarts at each segment and at each chromosome). */
  static final int SEGMENT = SimulationConfig.LD_SEGMENT;

  private final long seed;
  private final Cohort cohort;
  private final Genome genome;
  /** ρ·2³²: a latent uniform is kept when a 32-bit uniform falls below it. */
  private final long keep;
  /** Latent uniforms (32-bit) of founder haplotypes 2j and 2j+1. */
  private final long[] latent;
  /** Alleles (1 = A1) of haplotypes 2j (paternal) and 2j+1 (maternal) at the current variant. */
  private final byte[] hap;
  /** Per child and parent (index 2j + q): the sorted crossover positions on the current chromosome. */
  private final long[][] crossovers;
  /** Per child and parent: the parental haplotype (0, 1) at the chromosome's start. */
  private final int[] startPhase;
  /** Per child and parent: crossovers at or before the current position. */
  private final int[] passed;
  private SplittableRandom stream;
  private int previous = -2;

  LinkedHaplotypes(SimulationConfig c, Cohort cohort, Genome genome) {
    this.seed = c.seed();
    this.cohort = cohort;
    this.genome = genome;
    this.keep = (long) StrictMath.floor(c.ldRho() * 4294967296.0);
    int n = cohort.n;
    this.latent = new long[2 * n];
    this.hap = new byte[2 * n];
    this.crossovers = new long[2 * n][];
    this.startPhase = new int[2 * n];
    this.passed = new int[2 * n];
  }

  /** True when variant v starts an LD segment (every {@value #SEGMENT} variants of a chromosome). */
  static boolean startsSegment(Genome genome, int v) {
    return genome.indexInChr[v] % SEGMENT == 0;
  }

  /**
   * Fills {@code genotypes} (A1 counts) of variant v at position {@code bp}, with {@code threshold[k]}
   * = {@code floor(p_k·2³²)} per population. Variants must come in order from a segment's start.
   */
  void next(int v, long bp, long[] threshold, byte[] genotypes) {
    boolean fresh = startsSegment(genome, v);
    if (!fresh && v != previous + 1) {
      throw new IllegalStateException("linked variants must be generated in order from a segment start: " + v
          + " after " + previous);
    }
    if (fresh) {
      stream = Rng.stream(seed, Rng.LD, v);
      startChromosome(genome.chr[v] - 1, bp);
    }
    previous = v;
    int n = cohort.n;
    for (int j = 0; j < n; j++) {
      int fa = cohort.father[j];
      if (fa < 0) {
        long t = threshold[cohort.population[j]];
        for (int h = 2 * j; h <= 2 * j + 1; h++) {
          long x = stream.nextLong();
          if (fresh || (x >>> 32) >= keep) {
            latent[h] = x & 0xffffffffL;
          }
          hap[h] = (byte) (latent[h] < t ? 1 : 0);
        }
      } else {
        hap[2 * j] = hap[2 * fa + phase(2 * j, bp)];
        hap[2 * j + 1] = hap[2 * cohort.mother[j] + phase(2 * j + 1, bp)];
      }
      genotypes[j] = (byte) (hap[2 * j] + hap[2 * j + 1]);
    }
  }

  /** The parental haplotype (0 or 1) meiosis {@code m} passes on at {@code bp}. */
  private int phase(int m, long bp) {
    long[] xo = crossovers[m];
    while (passed[m] < xo.length && xo[passed[m]] <= bp) {
      passed[m]++;
    }
    return startPhase[m] ^ (passed[m] & 1);
  }

  /** Draws every child's crossovers on chromosome {@code c} (0-based) and positions them at {@code bp}. */
  private void startChromosome(int c, long bp) {
    long length = Genome.LENGTHS[c];
    double morgans = length / 1e8;
    for (int j = 0; j < cohort.n; j++) {
      if (cohort.father[j] < 0) {
        continue;
      }
      for (int q = 0; q < 2; q++) {
        int m = 2 * j + q;
        SplittableRandom r = Rng.stream(seed, Rng.CROSSOVER, ((long) j * SimulationConfig.CHROMOSOMES + c) * 2 + q);
        startPhase[m] = r.nextInt(2);
        long[] xo = new long[Rng.poisson(r, morgans)];
        for (int i = 0; i < xo.length; i++) {
          xo[i] = 1 + (long) (r.nextDouble() * length);
        }
        Arrays.sort(xo);
        crossovers[m] = xo;
        passed[m] = 0;
        phase(m, bp);
      }
    }
  }
}
