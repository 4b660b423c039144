package org.lmmspark.engine.reml.matfree;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;

/**
 * The control-variate estimator of {@link SharedProbeRuns} against the exact trace from a dense eigendecomposition
 * written plainly here: {@code tr f(K_t) = Σ_i f(λ_i(K_t))} for a GRM-like {@code K = WWᵀ/m} over a union of n = 240
 * samples (m = 300 standardized 0/1/2 genotypes), a trait missing 15% of them (so {@code R_t = ⌈40·0.15⌉ = 6}
 * probes of its own against R_U = 1.5·40 = 60 shared; with assoc's R = 15, {@link SharedProbeRuns#MIN_PAIRED} = 3
 * against 23; and missing 3%, 3 against 60), {@code f(λ) = λ/(θ_gλ + θ_e)} (the REML trace) and
 * {@code log(θ_gλ + θ_e)} (log|V|). Over 60 independent probe sets (seeds): the estimate is unbiased (the mean of
 * its errors in units of its reported SE is within 3/√60 of 0), the reported SE is honest (the errors' RMS in those
 * units within [0.7, 1.35]), and its variance is at most 1.5× that of the plain estimator with R probes of the
 * trait's own, {@code 2 Σ_{i≠j} F_ij² / R} (measured 0.71× and 0.56× at R = 40, 0.73× and 0.54× at R = 15, 0.70× and
 * 0.60× at 3% missing; 0.91× and 0.83× with 12 of its own against 40 shared, at the same cost to this trait alone;
 * 60 draws estimate a variance to ±18%; the reported SE's RMS error 0.90–1.28 SE).
 */
class SharedProbeRunsTest {
  static final int N = 240;
  static final int M = 300;

  /**
   * @param R               probes of a trait's run alone: 40 ({@code reml}'s default), 15 ({@code assoc}'s)
   * @param missingFraction fraction of the union the trait does not analyse
   * @param expected        R_t, the probes it pairs with the shared runs
   */
  @ParameterizedTest(name = "R = {0}, {1} missing: {2} paired")
  @CsvSource({"40, 0.15, 6", "15, 0.15, 3", "40, 0.03, 3"})
  void controlVariateEstimateIsUnbiasedWithAnHonestSeAndLittleMoreVarianceThanRProbesOfItsOwn(int R,
      double missingFraction, int expected) {
    Random rnd = new Random(21);
    double[] w = new double[N * M];
    for (int v = 0; v < M; v++) {
      double p = 0.05 + 0.45 * rnd.nextDouble();
      double[] g = new double[N];
      double mean = 0;
      for (int i = 0; i < N; i++) {
        g[i] = (rnd.nextDouble() < p ? 1 : 0) + (rnd.nextDouble() < p ? 1 : 0);
        mean += g[i] / N;
      }
      double var = 0;
      for (int i = 0; i < N; i++) {
        var += (g[i] - mean) * (g[i] - mean) / N;
      }
      for (int i = 0; i < N; i++) {
        w[i + v * N] = var > 0 ? (g[i] - mean) / Math.sqrt(var) : 0;
      }
    }
    double[] k = new double[N * N];
    Blas.dgemm(false, true, N, N, M, 1.0 / M, w, N, w, N, 0.0, k, N);
    int[] kept = IntStream.range(0, N).filter(i -> rnd.nextDouble() >= missingFraction).toArray();
    boolean[] in = new boolean[N];
    for (int i : kept) {
      in[i] = true;
    }
    int[] missing = IntStream.range(0, N).filter(i -> !in[i]).toArray();
    int nt = kept.length;
    double[] kt = new double[nt * nt];
    for (int a = 0; a < nt; a++) {
      for (int b = 0; b < nt; b++) {
        kt[a + b * nt] = k[kept[a] + kept[b] * N];
      }
    }
    double tg = 0.5;
    double te = 0.5;
    double sigma = te / tg;
    double tol = 1e-4;
    DoubleUnaryOperator trace = l -> l / (tg * l + te);
    DoubleUnaryOperator log = l -> Math.log(tg * l + te);
    // The exact traces and the plain estimator's variance 2 Σ_{i≠j} F_ij² / R, F = f(K_t) = U f(Λ) Uᵀ.
    double[] lambda = new double[nt];
    double[] u = new double[nt * nt];
    Blas.dsyevr(nt, kt.clone(), lambda, u);
    DoubleUnaryOperator[] fs = {trace, log};
    String[] names = {"tr V⁻¹K", "log|V|"};
    double[] exact = new double[2];
    double[] plainVariance = new double[2];
    for (int c = 0; c < 2; c++) {
      double[] fl = new double[nt];
      for (int i = 0; i < nt; i++) {
        fl[i] = fs[c].applyAsDouble(Math.max(0, lambda[i]));
        exact[c] += fl[i];
      }
      double off = 0;
      for (int a = 0; a < nt; a++) {
        for (int b = 0; b < nt; b++) {
          if (a == b) {
            continue;
          }
          double fab = 0;
          for (int i = 0; i < nt; i++) {
            fab += u[a + i * nt] * u[b + i * nt] * fl[i];
          }
          off += fab * fab;
        }
      }
      plainVariance[c] = 2 * off / R;
    }

    int draws = 60;
    double[][] errors = new double[2][draws];
    double[][] ses = new double[2][draws];
    int paired = 0;
    int sharedRuns = 0;
    for (int d = 0; d < draws; d++) {
      SharedProbeRuns shared = new SharedProbeRuns(new DenseSymmetricMatrix(N, k.clone()), null,
          new int[][] {missing}, R, 1000 + d);
      paired = shared.pairedProbes(0);
      sharedRuns = shared.probes();
      double[] all = shared.probeVectors();
      double[] z = new double[nt * paired];
      for (int j = 0; j < paired; j++) {
        for (int i = 0; i < nt; i++) {
          z[i + j * nt] = all[kept[i] + j * N];
        }
      }
      ProbeLanczos own = new ProbeLanczos(new DenseSymmetricMatrix(nt, kt.clone()), z, paired);
      assertTrue(own.extendUntil(sigma, tol, N) && shared.extendUntil(sigma, tol, N));
      for (int c = 0; c < 2; c++) {
        double[] a = new double[paired];
        for (int j = 0; j < paired; j++) {
          a[j] = own.quadratic(j, fs[c]);
        }
        double[] e = SharedProbeRuns.estimate(a, shared.controls(0, fs[c], sigma, tol), SharedProbeRuns.weight(sigma));
        errors[c][d] = e[0] - exact[c];
        ses[c][d] = Math.sqrt(e[1]);
      }
    }
    assertTrue(paired == expected, "paired probes " + paired);
    for (int c = 0; c < 2; c++) {
      double meanZ = 0;
      double rmsZ = 0;
      double variance = 0;
      for (int d = 0; d < draws; d++) {
        double zd = errors[c][d] / ses[c][d];
        meanZ += zd / draws;
        rmsZ += zd * zd / draws;
        variance += errors[c][d] * errors[c][d] / draws;
      }
      rmsZ = Math.sqrt(rmsZ);
      System.out.printf("%s: exact %.4f; %d draws of %d + %d probes: mean error %.2f SE, RMS %.2f SE; variance %.4g, "
          + "plain with %d own probes %.4g (ratio %.2f)%n", names[c], exact[c], draws, paired, sharedRuns, meanZ,
          rmsZ, variance, R, plainVariance[c], variance / plainVariance[c]);
      assertTrue(Math.abs(meanZ) < 3 / Math.sqrt(draws), names[c] + ": mean error " + meanZ + " SE");
      assertTrue(rmsZ > 0.7 && rmsZ < 1.35, names[c] + ": RMS error " + rmsZ + " SE");
      assertTrue(variance < 1.5 * plainVariance[c], names[c] + ": variance " + variance + " vs plain "
          + plainVariance[c]);
    }
  }
}
