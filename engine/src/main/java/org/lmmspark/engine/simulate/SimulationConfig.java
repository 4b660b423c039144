package org.lmmspark.engine.simulate;

/**
 * Parameters of one simulated data set (see {@link Simulator} for the model). The constructor
 * checks every value and throws {@link IllegalArgumentException} naming the parameter.
 *
 * @param samples N, number of samples (family members plus unrelated samples)
 * @param variants M, number of variants, spread over 22 autosomes (at least one each)
 * @param causal C, number of causal variants of the traits (0 only with h2 = 0)
 * @param h2 narrow-sense heritability {@code var(g) / (var(g) + var(e))} of the quantitative trait
 *     and of the liability of the binary trait
 * @param prevalence population prevalence K of the binary trait (liability threshold {@code Φ⁻¹(1−K)})
 * @param seed the seed; everything written depends on it and on these parameters only
 * @param populations number of populations drawn from one ancestral population
 * @param families number of nuclear families (two founder parents and 2 or 3 full sibs)
 * @param fst Balding–Nichols F of each population relative to the ancestral one
 * @param missingRate probability that a genotype call is written as missing
 * @param phenoMissingRate probability that a phenotype value is written as NA (each trait separately)
 * @param monomorphic number of variants made monomorphic on purpose (so downstream code meets them)
 * @param threads worker threads generating variants (the output does not depend on it)
 * @param ldRho linkage disequilibrium between neighbouring variants: the probability ρ that a founder
 *     haplotype keeps its latent uniform from one variant to the next (0: no LD, the variants are
 *     independent; see {@link VariantGenerator} for the model and the r² it implies)
 */
public record SimulationConfig(
    int samples,
    int variants,
    int causal,
    double h2,
    double prevalence,
    long seed,
    int populations,
    int families,
    double fst,
    double missingRate,
    double phenoMissingRate,
    int monomorphic,
    int threads,
    double ldRho) {

  public static final int CHROMOSOMES = 22;
  /** Variants per LD segment: with {@code ldRho > 0} the haplotype chain restarts every this many variants. */
  public static final int LD_SEGMENT = 1000;
  /** The largest family: two parents and three sibs. */
  public static final int MAX_FAMILY_SIZE = 5;

  public SimulationConfig {
    require(samples >= 2, "samples must be at least 2, got " + samples);
    require(variants >= CHROMOSOMES, "variants must be at least " + CHROMOSOMES + " (one per chromosome), got " + variants);
    require(monomorphic >= 0 && monomorphic < variants, "monomorphic must be in [0, variants), got " + monomorphic);
    require(causal >= 0 && causal <= variants - monomorphic,
        "causal must be in [0, variants - monomorphic = " + (variants - monomorphic) + "], got " + causal);
    require(h2 >= 0 && h2 < 1, "h2 must be in [0, 1), got " + h2);
    require(causal > 0 || h2 == 0, "h2 = " + h2 + " needs at least one causal variant");
    require(prevalence > 0 && prevalence < 1, "prevalence must be in (0, 1), got " + prevalence);
    require(populations >= 1, "populations must be at least 1, got " + populations);
    require(families >= 0 && (long) families * MAX_FAMILY_SIZE <= samples,
        "families must be in [0, samples/" + MAX_FAMILY_SIZE + " = " + samples / MAX_FAMILY_SIZE
            + "] (a family has up to " + MAX_FAMILY_SIZE + " members), got " + families);
    require(fst >= 0 && fst <= 0.5, "fst must be in [0, 0.5], got " + fst);
    require(missingRate >= 0 && missingRate < 1, "missing rate must be in [0, 1), got " + missingRate);
    require(phenoMissingRate >= 0 && phenoMissingRate < 1, "phenotype missing rate must be in [0, 1), got " + phenoMissingRate);
    require(threads >= 1, "threads must be at least 1, got " + threads);
    require(ldRho >= 0 && ldRho < 1, "ld-rho must be in [0, 1), got " + ldRho);
  }

  /** Defaults for N samples and M variants: 3 populations (Fst 0.05), N/20 families, h² 0.5, K 0.2. */
  public static SimulationConfig defaults(int samples, int variants) {
    int mono = defaultMonomorphic(variants);
    return new SimulationConfig(samples, variants, Math.min(100, variants - mono), 0.5, 0.2, 1L, 3,
        samples / 20, 0.05, 0.005, 0.01, mono, 1, 0);
  }

  /** One monomorphic variant per 500, at least one. */
  public static int defaultMonomorphic(int variants) {
    return Math.max(1, variants / 500);
  }

  public SimulationConfig withCausal(int c) {
    return new SimulationConfig(samples, variants, c, h2, prevalence, seed, populations, families, fst, missingRate,
        phenoMissingRate, monomorphic, threads, ldRho);
  }

  public SimulationConfig withH2(double h) {
    return new SimulationConfig(samples, variants, causal, h, prevalence, seed, populations, families, fst, missingRate,
        phenoMissingRate, monomorphic, threads, ldRho);
  }

  public SimulationConfig withPrevalence(double k) {
    return new SimulationConfig(samples, variants, causal, h2, k, seed, populations, families, fst, missingRate,
        phenoMissingRate, monomorphic, threads, ldRho);
  }

  public SimulationConfig withSeed(long s) {
    return new SimulationConfig(samples, variants, causal, h2, prevalence, s, populations, families, fst, missingRate,
        phenoMissingRate, monomorphic, threads, ldRho);
  }

  public SimulationConfig withPopulations(int p, double f) {
    return new SimulationConfig(samples, variants, causal, h2, prevalence, seed, p, families, f, missingRate,
        phenoMissingRate, monomorphic, threads, ldRho);
  }

  public SimulationConfig withFamilies(int f) {
    return new SimulationConfig(samples, variants, causal, h2, prevalence, seed, populations, f, fst, missingRate,
        phenoMissingRate, monomorphic, threads, ldRho);
  }

  public SimulationConfig withMissingRates(double genotype, double phenotype) {
    return new SimulationConfig(samples, variants, causal, h2, prevalence, seed, populations, families, fst, genotype,
        phenotype, monomorphic, threads, ldRho);
  }

  public SimulationConfig withThreads(int t) {
    return new SimulationConfig(samples, variants, causal, h2, prevalence, seed, populations, families, fst, missingRate,
        phenoMissingRate, monomorphic, t, ldRho);
  }

  /** The same with linkage disequilibrium ρ between neighbouring variants (0: none). */
  public SimulationConfig withLdRho(double rho) {
    return new SimulationConfig(samples, variants, causal, h2, prevalence, seed, populations, families, fst, missingRate,
        phenoMissingRate, monomorphic, threads, rho);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
