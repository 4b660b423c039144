package org.lmmspark.engine.simulate;

import java.util.List;
import org.lmmspark.engine.io.SampleId;

/**
 * What {@link Simulator} made, in memory (O(N + C)), for the command line's summary and for tests
 * that check the written files against the truth. Arrays are in {@code .fam} order; phenotype
 * arrays hold the simulated values before NA masking and rounding, {@code *Missing} say which were
 * written as NA.
 */
public record SimulationResult(
    SimulationConfig config,
    List<SampleId> ids,
    int[] father,
    int[] mother,
    int[] sex,
    int[] population,
    int[] family,
    int familyMembers,
    int offspring,
    double[] age,
    double[] pc1,
    double[] pc2,
    double[] geneticValue,
    double[] residual,
    double[] liability,
    double[] yQuant,
    int[] yBinary,
    double[] yNull,
    boolean[] quantMissing,
    boolean[] binaryMissing,
    boolean[] nullMissing,
    List<Causal> causal,
    Beta beta,
    double liabilityThreshold,
    List<String> monomorphicIds,
    long missingCalls,
    int[] variantsPerChromosome) {

  /**
   * A causal variant: {@code effectStd} multiplies the standardized genotype {@code (x − 2p)/sqrt(2p(1−p))},
   * {@code effectPerA1} the A1 count (so {@code g = Σ effectPerA1·(x − 2p)}), p the A1 frequency of
   * the true genotypes over all N samples.
   */
  public record Causal(int index, String id, String chr, long bp, double freqA1, double effectStd, double effectPerA1) {}

  /** Fixed effects of the quantitative trait: {@code y = intercept + age·a + female·s + pc1·b1 + pc2·b2 + g + e}. */
  public record Beta(double intercept, double age, double sexFemale, double pc1, double pc2) {}

  public int n() {
    return ids.size();
  }

  /** Sample variance (divisor N) of the genetic value; equals h² by construction. */
  public double varG() {
    return variance(geneticValue);
  }

  /** Sample variance (divisor N) of the residual; {@code (1 − h²)} in expectation. */
  public double varE() {
    return variance(residual);
  }

  /** {@code var(g) / var(g + e)}: the realized heritability of the quantitative trait in this sample. */
  public double realizedH2() {
    double[] ge = new double[n()];
    for (int i = 0; i < ge.length; i++) {
      ge[i] = geneticValue[i] + residual[i];
    }
    return varG() / variance(ge);
  }

  public int cases() {
    int c = 0;
    for (int v : yBinary) {
      c += v;
    }
    return c;
  }

  static double variance(double[] x) {
    double mean = 0;
    for (double v : x) {
      mean += v;
    }
    mean /= x.length;
    double ss = 0;
    for (double v : x) {
      ss += (v - mean) * (v - mean);
    }
    return ss / x.length;
  }
}
