package org.lmmspark.engine.assoc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.DosageBlockReader;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.kinship.GrmKernel;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.Components;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.SpectralReml;
import org.lmmspark.engine.reml.VarianceComponent;
import org.lmmspark.engine.simulate.SimulationConfig;
import org.lmmspark.engine.simulate.SimulationResult;
import org.lmmspark.engine.simulate.Simulator;
import org.lmmspark.engine.testing.BedFixture;

/**
 * Simulated truth (engine {@link Simulator}): N = 600 samples in 3 populations (Fst 0.1) with 30
 * nuclear families, M = 12,000 variants, free recombination.
 *
 * <p><b>Calibration under confounding.</b> A null trait independent of everything would give λGC ≈ 1
 * for ANY test, so it would prove nothing. Here four null traits are {@code y = s[population] + e}
 * (population means −0.6, 0, +0.6; e ~ N(0,1)): no variant has an effect, but allele frequencies differ
 * between populations, so ordinary least squares is inflated (asserted λ &gt; 1.3: the test has teeth)
 * and only a model that accounts for the structure through K is calibrated. λGC is averaged over the four
 * traits (sharing one eigendecomposition and one rotation): the sampling SD of λGC from M = 12,000
 * tests is about 2.33/√M = 0.021 per trait, ~0.011 for the mean, so ±0.05 is a ~4.5 SD band.
 *
 * <p><b>Power.</b> The simulator's quantitative trait with 4 causal variants (h² = 0.6; a variant explaining a share s of the variance has expected χ² ≈ 1 + N·s, so at N = 600 shares above ~0.06 reach 5e-8) and its
 * covariates: the top hits must be the causal variants (with free recombination there is no "near").
 */
class SimulatedAssocTest {
  static final int N = 600;
  static final int M = 12_000;

  @Test
  void calibratedUnderStructureAndFindsCausalVariants(@TempDir Path dir) {
    Configuration conf = new Configuration();
    String prefix = dir.resolve("sim").toString();
    SimulationConfig cfg = SimulationConfig.defaults(N, M).withCausal(4).withH2(0.6).withPopulations(3, 0.1)
        .withFamilies(30).withSeed(7);
    SimulationResult truth = Simulator.run(cfg, prefix, conf, null);
    PlinkFileset fs = PlinkFileset.open(prefix, conf);
    Grm grm = GrmKernel.computeLocal(BedFixture.source(prefix), null, 0, 1024, 512, conf);
    int[] all = new int[N];
    for (int i = 0; i < N; i++) {
      all[i] = i;
    }
    VarianceComponent k = new VarianceComponent("G", Components.relationship(grm, all));
    SpectralReml.Eigen eigen = SpectralReml.decompose(k.covariance());

    // Traits: 4 confounded nulls, then the causal trait with its covariates.
    SplittableRandom rng = new SplittableRandom(2024);
    double[] shift = {-0.6, 0, 0.6};
    List<NullModel> lmm = new ArrayList<>();
    List<NullModel> ols = new ArrayList<>();
    double[] ones = new double[N];
    Arrays.fill(ones, 1);
    for (int t = 0; t < 4; t++) {
      double[] y = new double[N];
      for (int i = 0; i < N; i++) {
        y[i] = shift[truth.population()[i] % 3] + gaussian(rng);
      }
      RemlProblem problem = new RemlProblem(y, ones.clone(), List.of("intercept"), List.of(k));
      RemlFit fit = new SpectralReml().fit(problem, eigen);
      lmm.add(NullModel.of(problem, eigen, fit.theta()[0], fit.theta()[1], all, "null " + t));
      double[] s2 = new double[1];
      problem.nullLogL(s2);
      ols.add(NullModel.of(problem, eigen, 0, s2[0], all, "OLS " + t));
    }
    double[] xq = new double[N * 5];
    for (int i = 0; i < N; i++) {
      xq[i] = 1;
      xq[i + N] = truth.age()[i];
      xq[i + 2 * N] = truth.sex()[i] == 2 ? 1 : 0;
      xq[i + 3 * N] = truth.pc1()[i];
      xq[i + 4 * N] = truth.pc2()[i];
    }
    RemlProblem quant = new RemlProblem(truth.yQuant().clone(), xq, List.of("intercept", "age", "female", "pc1", "pc2"),
        List.of(k));
    RemlFit qfit = new SpectralReml().fit(quant, eigen);
    NullModel qModel = NullModel.of(quant, eigen, qfit.theta()[0], qfit.theta()[1], all, "y_quant");

    List<NullModel> models = new ArrayList<>(lmm);
    models.addAll(ols);
    models.add(qModel);
    List<AssocResults> results = new ArrayList<>();
    for (int t = 0; t < models.size(); t++) {
      results.add(new AssocResults());
    }
    float[] rotated = new float[N * 512 + N];
    new DosageBlockReader(BedFixture.source(prefix).reader(), all, 0, 512).read(0, M,
        BedFixture.source(prefix).position(0), null, conf, new VariantFilterCounts(N), block -> {
      Blas.sgemm(true, false, N, block.m, N, 1f, lmm.get(0).u, 0, N, block.values, 0, N, 0f, rotated, 0, N);
      for (int t = 0; t < models.size(); t++) {
        Mlma.testRotated(models.get(t), block, rotated, null, results.get(t));
      }
    });

    Set<Integer> causal = new HashSet<>();
    Map<Integer, Double> share = new HashMap<>();
    for (SimulationResult.Causal c : truth.causal()) {
      causal.add(c.index());
      share.put(c.index(), c.effectStd() * c.effectStd());
    }
    double meanLmm = 0;
    StringBuilder lambdas = new StringBuilder();
    for (int t = 0; t < 4; t++) {
      double lLmm = lambdaNonCausal(results.get(t), causal);
      double lOls = lambdaNonCausal(results.get(4 + t), causal);
      lambdas.append(String.format(" [LMM %.4f, OLS %.3f]", lLmm, lOls));
      meanLmm += lLmm / 4;
      assertTrue(lOls > 1.3, "ordinary least squares must be inflated by the structure:" + lambdas);
      assertTrue(Math.abs(lLmm - 1) < 0.08, "each null trait's λGC near 1:" + lambdas);
    }
    System.out.printf("SimulatedAssocTest: λGC per null trait%s, mean LMM %.4f%n", lambdas, meanLmm);
    assertTrue(Math.abs(meanLmm - 1) < 0.05, "mean λGC of the confounded null traits " + meanLmm + lambdas);

    AssocResults q = results.get(8);
    Integer[] order = new Integer[q.size()];
    for (int r = 0; r < order.length; r++) {
      order[r] = r;
    }
    Arrays.sort(order, (a, b) -> Double.compare(q.logP(a), q.logP(b)));
    StringBuilder top = new StringBuilder();
    int causalInTop = 0;
    for (int r = 0; r < 10; r++) {
      int v = q.variant(order[r]);
      boolean isCausal = causal.contains(v);
      causalInTop += isCausal ? 1 : 0;
      top.append(String.format(" %d%s(p=%.2g)", v, isCausal ? "*" : "", Math.exp(q.logP(order[r]))));
    }
    StringBuilder shares = new StringBuilder();
    truth.causal().forEach(c -> shares.append(String.format(" %d:%.3f", c.index(), c.effectStd() * c.effectStd())));
    top.append("; causal variance shares").append(shares);
    System.out.printf("SimulatedAssocTest: top 10 of y_quant (* causal):%s; h2 %.3f%n", top,
        qfit.theta()[0] / (qfit.theta()[0] + qfit.theta()[1]));
    // Genome-wide significant hits (p < 5e-8) are all causal (no false positive), every causal variant with
    // a share ≥ 0.08 (expected χ² ≥ 49) reaches it, and the top 3 hits are causal.
    int causalSignificant = 0;
    for (int r = 0; r < q.size(); r++) {
      int v = q.variant(r);
      if (q.negLog10P(r) > 7.3) {
        assertTrue(causal.contains(v), "non-causal variant " + v + " is genome-wide significant; top:" + top);
        causalSignificant++;
      }
    }
    int strong = 0;
    for (int r = 0; r < q.size(); r++) {
      int v = q.variant(r);
      if (causal.contains(v) && share.get(v) >= 0.08) {
        strong++;
        assertTrue(q.negLog10P(r) > 7.3, "causal variant " + v + " not found; top:" + top);
      }
    }
    assertTrue(strong >= 2 && causalSignificant >= strong, causalSignificant + " causal at p < 5e-8; top:" + top);
    for (int r = 0; r < 3; r++) {
      assertTrue(causal.contains(q.variant(order[r])), "top 3 hits are causal:" + top);
    }
  }

  private static double lambdaNonCausal(AssocResults r, Set<Integer> causal) {
    double[] chi2 = new double[r.size()];
    for (int k = 0; k < r.size(); k++) {
      chi2[k] = causal.contains(r.variant(k)) ? Double.NaN : r.statistic(k);
    }
    return GenomicControl.lambda(chi2);
  }

  private static double gaussian(SplittableRandom rng) {
    double u1 = rng.nextDouble();
    double u2 = rng.nextDouble();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }
}
