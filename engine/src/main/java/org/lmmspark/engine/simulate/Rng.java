package org.lmmspark.engine.simulate;

import java.util.SplittableRandom;

/**
 * The simulator's random numbers: independent {@link SplittableRandom} streams keyed by (seed,
 * purpose, index), and the few distributions it needs written out here, so that the output
 * depends only on the seed. {@code SplittableRandom}'s SplitMix64 sequence is specified by its
 * documentation and {@code StrictMath} is bit-reproducible, whereas {@code Math} intrinsics and
 * the JDK's default {@code nextGaussian} algorithm are free to change between JDKs and machines.
 */
final class Rng {
  /** Purposes, each its own family of streams. */
  static final long LAYOUT = 1;
  static final long SAMPLES = 2;
  static final long VARIANT = 3;
  static final long EFFECTS = 4;
  static final long NOISE = 5;
  static final long MISSING_PHENO = 6;
  static final long LD = 7;
  static final long CROSSOVER = 8;

  private Rng() {}

  /** A stream for (seed, purpose, index); streams of different keys are statistically independent. */
  static SplittableRandom stream(long seed, long purpose, long index) {
    return new SplittableRandom(mix(mix(seed ^ mix(purpose * 0x9e3779b97f4a7c15L)) + index));
  }

  /** SplitMix64's finalizer (Steele, Lea & Flood 2014): a bijective 64-bit mixer. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /** A standard normal draw by the Box–Muller transform (one of the pair is used). */
  static double normal(SplittableRandom r) {
    double u1 = 1.0 - r.nextDouble(); // in (0, 1], so the log is finite
    double u2 = r.nextDouble();
    return StrictMath.sqrt(-2.0 * StrictMath.log(u1)) * StrictMath.cos(2.0 * Math.PI * u2);
  }

  /**
   * A Gamma(shape, 1) draw by Marsaglia & Tsang (2000), "A simple method for generating gamma
   * variables"; for shape < 1, Gamma(shape + 1)·U^(1/shape).
   */
  static double gamma(SplittableRandom r, double shape) {
    if (shape < 1) {
      double u = 1.0 - r.nextDouble();
      return gamma(r, shape + 1) * StrictMath.pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / StrictMath.sqrt(9.0 * d);
    while (true) {
      double x;
      double v;
      do {
        x = normal(r);
        v = 1.0 + c * x;
      } while (v <= 0);
      v = v * v * v;
      double u = 1.0 - r.nextDouble();
      if (u < 1.0 - 0.0331 * x * x * x * x || StrictMath.log(u) < 0.5 * x * x + d * (1.0 - v + StrictMath.log(v))) {
        return d * v;
      }
    }
  }

  /** A Poisson(mean) draw by inversion (for small means: the crossovers of one meiosis on one chromosome). */
  static int poisson(SplittableRandom r, double mean) {
    double u = r.nextDouble();
    double term = StrictMath.exp(-mean);
    double cumulative = term;
    int k = 0;
    while (u > cumulative && k < 1000) {
      k++;
      term *= mean / k;
      cumulative += term;
    }
    return k;
  }

  /** A Beta(a, b) draw as X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b). */
  static double beta(SplittableRandom r, double a, double b) {
    double x = gamma(r, a);
    double y = gamma(r, b);
    return x / (x + y);
  }
}
