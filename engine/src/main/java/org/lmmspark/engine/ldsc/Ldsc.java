package org.lmmspark.engine.ldsc;

import java.util.Arrays;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.lmmspark.engine.stats.ChiSquared;

/**
 * The three analyses of ldsc 1.0.1 on merged summary statistics and LD scores: heritability
 * ({@code --h2}, ldsc's {@code Hsq}), genetic covariance ({@code Gencov}) and genetic correlation
 * ({@code --rg}, {@code RG}), each an {@link LdscRegression} with its own weights.
 */
public final class Ldsc {
  private Ldsc() {}

  /** λGC's denominator, the median of χ²₁ as ldsc rounds it. */
  public static final double CHI2_MEDIAN = 0.4549;

  /**
   * h² on the observed scale with ldsc's summaries.
   *
   * @param ratio {@code (intercept − 1)/(mean χ² − 1)}, NaN when the intercept is fixed or mean χ² ≤ 1
   */
  public record Heritability(LdscRegression fit, double meanChisq, double lambdaGc, double ratio, double ratioSe) {}

  /** Genetic covariance with its z and p (from its jackknife SE) and the mean of z₁z₂. */
  public record Covariance(LdscRegression fit, double z, double p, double meanZ1Z2) {}

  /**
   * Genetic correlation {@code ρ_g/√(h₁²h₂²)}, SE from the ratio jackknife of the delete values,
   * two-sided normal p; NaN when an h² is not positive (ldsc prints NA).
   */
  public record Correlation(Heritability h1, Heritability h2, Covariance gencov, double rg, double se, double z,
      double p, double jackknifeEstimate) {}

  /**
   * {@code --h2}: regression of {@code χ²} on the LD scores.
   *
   * @param twostep cutoff of the two-step estimator ({@code χ² < cutoff} in step 1), or null
   */
  public static Heritability heritability(double[] chisq, double[] ld, double[] wLd, double[] n, double[] m,
      int nBlocks, Double intercept, Double twostep, boolean oldWeights) {
    boolean[] step1 = null;
    if (twostep != null) {
      step1 = new boolean[chisq.length];
      for (int r = 0; r < chisq.length; r++) {
        step1[r] = chisq[r] < twostep;
      }
    }
    LdscRegression fit = new LdscRegression(chisq, ld, wLd, n, m, nBlocks, intercept, step1, oldWeights,
        hsqWeights(n));
    double mean = LdscRegression.mean(chisq);
    double lambda = median(chisq) / CHI2_MEDIAN;
    double ratio = Double.NaN;
    double ratioSe = Double.NaN;
    if (!fit.constrainedIntercept && mean > 1) {
      ratio = (fit.intercept - 1) / (mean - 1);
      ratioSe = fit.interceptSe / (mean - 1);
    }
    return new Heritability(fit, mean, lambda, ratio, ratioSe);
  }

  /** ldsc's {@code Hsq.weights}: {@code 1/(2(b + h²Nℓ/M)²) · 1/ℓ_w}, ℓ and ℓ_w floored at 1, h² in [0, 1]. */
  static LdscRegression.WeightModel hsqWeights(double[] n) {
    return new LdscRegression.WeightModel() {
      @Override
      public double nullIntercept() {
        return 1;
      }

      @Override
      public double[] weights(double[] ld, double[] wLd, int[] rows, double m, double hsq, double intercept) {
        double h = Math.min(Math.max(hsq, 0), 1);
        double[] w = new double[ld.length];
        for (int k = 0; k < w.length; k++) {
          double nk = n[rows == null ? k : rows[k]];
          double l = Math.max(ld[k], 1);
          double het = intercept + h * nk / m * l;
          w[k] = 1 / (2 * het * het) / Math.max(wLd[k], 1);
        }
        return w;
      }
    };
  }

  /** {@code Gencov}: regression of {@code z₁z₂} on the LD scores with regressors scaled by √(N₁N₂). */
  public static Covariance covariance(double[] z1, double[] z2, double[] ld, double[] wLd, double[] n1, double[] n2,
      double[] m, int nBlocks, Heritability h1, Heritability h2, Double intercept, Double twostep) {
    int rows = z1.length;
    double[] y = new double[rows];
    double[] sqrtN = new double[rows];
    boolean[] step1 = twostep == null ? null : new boolean[rows];
    for (int r = 0; r < rows; r++) {
      y[r] = z1[r] * z2[r];
      sqrtN[r] = Math.sqrt(n1[r] * n2[r]);
      if (step1 != null) {
        step1[r] = z1[r] * z1[r] < twostep && z2[r] * z2[r] < twostep;
      }
    }
    double hsq1 = h1.fit().tot;
    double hsq2 = h2.fit().tot;
    double int1 = h1.fit().intercept;
    double int2 = h2.fit().intercept;
    LdscRegression.WeightModel model = new LdscRegression.WeightModel() {
      @Override
      public double nullIntercept() {
        return 0;
      }

      // ldsc's Gencov.weights: 1/((N₁h₁ℓ/M + b₁)(N₂h₂ℓ/M + b₂) + (√(N₁N₂)ρℓ/M + b)²) · 1/ℓ_w.
      @Override
      public double[] weights(double[] ldr, double[] wLdr, int[] idx, double mTot, double rho, double icpt) {
        double a1 = Math.min(Math.max(hsq1, 0), 1);
        double a2 = Math.min(Math.max(hsq2, 0), 1);
        double rg = Math.min(Math.max(rho, -1), 1);
        double[] w = new double[ldr.length];
        for (int k = 0; k < w.length; k++) {
          int r = idx == null ? k : idx[k];
          double l = Math.max(ldr[k], 1);
          double a = n1[r] * a1 * l / mTot + int1;
          double b = n2[r] * a2 * l / mTot + int2;
          double c = Math.sqrt(n1[r] * n2[r]) * rg * l / mTot + icpt;
          w[k] = 1 / (a * b + c * c) / Math.max(wLdr[k], 1);
        }
        return w;
      }
    };
    LdscRegression fit = new LdscRegression(y, ld, wLd, sqrtN, m, nBlocks, intercept, step1, false, model);
    double z = fit.tot / fit.totSe;
    return new Covariance(fit, z, pTwoSided(z), LdscRegression.mean(y));
  }

  /** {@code --rg}: h² of both traits, their genetic covariance and correlation, on the same rows. */
  public static Correlation correlation(double[] z1, double[] z2, double[] ld, double[] wLd, double[] n1, double[] n2,
      double[] m, int nBlocks, Double intercept1, Double intercept2, Double interceptGencov, Double twostep) {
    Heritability h1 = heritability(square(z1), ld, wLd, n1, m, nBlocks, intercept1, twostep, false);
    Heritability h2 = heritability(square(z2), ld, wLd, n2, m, nBlocks, intercept2, twostep, false);
    Covariance g = covariance(z1, z2, ld, wLd, n1, n2, m, nBlocks, h1, h2, interceptGencov, twostep);
    if (h1.fit().tot <= 0 || h2.fit().tot <= 0) {
      return new Correlation(h1, h2, g, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }
    double rg = g.fit().tot / Math.sqrt(h1.fit().tot * h2.fit().tot);
    double[] d1 = h1.fit().totDeleteValues;
    double[] d2 = h2.fit().totDeleteValues;
    double[] denom = new double[d1.length];
    for (int b = 0; b < d1.length; b++) {
      denom[b] = Math.sqrt(d1[b] * d2[b]);
    }
    BlockJackknife jk = BlockJackknife.ratio(new double[] {rg}, g.fit().totDeleteValues, denom, 1);
    double se = jk.se(0);
    double z = rg / se;
    return new Correlation(h1, h2, g, rg, se, z, pTwoSided(z), jk.jackknifeEstimate()[0]);
  }

  /**
   * ldsc's {@code h2_obs_to_liab} factor: {@code K²(1 − K)² / (P(1 − P) φ(Φ⁻¹(1 − K))²)} for sample
   * prevalence P and population prevalence K (Lee et al. 2011, AJHG 88:294).
   */
  public static double liabilityFactor(double sampPrev, double popPrev) {
    if (!(popPrev > 0 && popPrev < 1) || !(sampPrev > 0 && sampPrev < 1)) {
      throw new IllegalArgumentException("prevalences must be in (0, 1): --samp-prev " + sampPrev + ", --pop-prev " + popPrev);
    }
    NormalDistribution normal = new NormalDistribution();
    double t = -normal.inverseCumulativeProbability(popPrev); // Φ⁻¹(1 − K), accurate for small K
    double phi = normal.density(t);
    return popPrev * popPrev * (1 - popPrev) * (1 - popPrev) / (sampPrev * (1 - sampPrev) * phi * phi);
  }

  /** Two-sided normal p of z, as ldsc ({@code chi2.sf(z², 1)}). */
  public static double pTwoSided(double z) {
    return ChiSquared.upperTail(z * z, 1);
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    int n = s.length;
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }

  private static double[] square(double[] z) {
    double[] out = new double[z.length];
    for (int i = 0; i < z.length; i++) {
      out[i] = z[i] * z[i];
    }
    return out;
  }
}
