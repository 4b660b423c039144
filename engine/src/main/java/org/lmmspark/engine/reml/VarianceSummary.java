package org.lmmspark.engine.reml;

import java.util.ArrayList;
import java.util.List;
import org.lmmspark.engine.stats.ChiSquared;

/**
 * The derived quantities of a REML fit, as GCTA's {@code .hsq} reports them: each σ²_k and σ²_e
 * with SE, {@code Vp = Σ θ}, each {@code σ²_k/Vp} (and their sum when K &gt; 1) with SE by the delta
 * method, and the likelihood-ratio test against the model without random components.
 *
 * <p>Two SEs: the printed one ({@link Row#se}) from the inverse average information (GCTA's), and
 * the observed-information one ({@link #observedRatioSe}, {@link #observedVarianceSe}) that GEMMA,
 * FaST-LMM and Hail report; they agree asymptotically and differ in small samples (e.g. 0.149 vs
 * 0.138 for h² on refdata/hail-fastlmm).
 *
 * <p>Delta method with {@code Σ = cov(θ̂)}: {@code var(f(θ̂)) ≈ ∇fᵀ Σ ∇f}; for {@code h_k = θ_k/Vp},
 * {@code ∂h_k/∂θ_j = (δ_kj Vp − θ_k)/Vp²}. LRT {@code = 2(ℓ − ℓ0)} with {@code df = K}; its p-value
 * is {@code P(½χ²₀ + ½χ²₁ ≥ LRT)} for one component (the boundary mixture, Self &amp; Liang 1987) and
 * {@code P(χ²_K ≥ LRT)} otherwise, held in log form so it never underflows to 0.
 */
public final class VarianceSummary {
  /** One row: label, estimate, SE. */
  public record Row(String source, double value, double se) {}

  private final List<Row> variances = new ArrayList<>();
  private final List<Row> ratios = new ArrayList<>();
  private final double logL;
  private final double logL0;
  private final double lrt;
  private final int df;
  private final double logP;
  private final int n;
  private final double[] observedSe;
  private final double[] observedVarianceSe;

  public VarianceSummary(RemlFit fit, double logL0, int n) {
    int m = fit.parameters();
    int k = m - 1;
    double[] t = fit.theta();
    double[] cov = fit.covariance();
    for (int i = 0; i < k; i++) {
      variances.add(new Row("V(" + fit.componentNames().get(i) + ")", t[i], fit.se(i)));
    }
    variances.add(new Row("V(e)", t[k], fit.se(k)));
    double vp = 0;
    for (double v : t) {
      vp += v;
    }
    double[] ones = SmallMatrices.filled(m, 1.0);
    variances.add(new Row("Vp", vp, Math.sqrt(quad(ones, cov, m))));
    double[] obs = fit.observedCovariance();
    observedVarianceSe = new double[m + 1];
    for (int i = 0; i < m; i++) {
      double[] unit = new double[m];
      unit[i] = 1;
      observedVarianceSe[i] = observed(unit, obs, m);
    }
    observedVarianceSe[m] = observed(ones, obs, m);
    observedSe = new double[k + 1];
    for (int i = 0; i < k; i++) {
      ratios.add(ratio(fit, i));
      observedSe[i] = observed(ratioGradient(t, vp, i), obs, m);
    }
    if (k > 1) {
      double sum = 0;
      double[] g = new double[m];
      for (int i = 0; i < k; i++) {
        sum += t[i];
      }
      for (int j = 0; j < m; j++) {
        g[j] = ((j < k ? vp : 0) - sum) / (vp * vp);
      }
      ratios.add(new Row("Sum of V(G)/Vp", sum / vp, Math.sqrt(quad(g, cov, m))));
      observedSe[k] = observed(g, obs, m);
    }
    this.logL = fit.logL();
    this.logL0 = logL0;
    this.lrt = Math.max(0, 2 * (fit.logL() - logL0));
    this.df = k;
    this.logP = k == 1 ? ChiSquared.logUpperTailBoundaryMixture(lrt) : ChiSquared.logUpperTail(lrt, k);
    this.n = n;
  }

  /**
   * {@code σ²_k/Vp} of a fit with its SE by the delta method from the AI covariance (the {@code .hsq}'s
   * {@code V(·)/Vp} row; h² with one component).
   */
  public static Row ratio(RemlFit fit, int k) {
    double[] t = fit.theta();
    double vp = SmallMatrices.sum(t);
    double[] g = ratioGradient(t, vp, k);
    return new Row("V(" + fit.componentNames().get(k) + ")/Vp", t[k] / vp,
        Math.sqrt(quad(g, fit.covariance(), t.length)));
  }

  static double[] ratioGradient(double[] t, double vp, int i) {
    double[] g = new double[t.length];
    for (int j = 0; j < t.length; j++) {
      g[j] = ((i == j ? vp : 0) - t[i]) / (vp * vp);
    }
    return g;
  }

  /** Delta-method SE {@code √(gᵀ Σ g)} from the observed-information covariance; NaN when there is none. */
  private static double observed(double[] g, double[] observedCovariance, int m) {
    return observedCovariance == null ? Double.NaN : Math.sqrt(quad(g, observedCovariance, m));
  }

  static double quad(double[] g, double[] cov, int m) {
    double s = 0;
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < m; j++) {
        s += g[i] * cov[i + j * m] * g[j];
      }
    }
    return s;
  }

  /** V(·) rows for each component, V(e) and Vp. */
  public List<Row> variances() {
    return variances;
  }

  /** V(·)/Vp rows (and "Sum of V(G)/Vp" when K &gt; 1). */
  public List<Row> ratios() {
    return ratios;
  }

  /**
   * SE of each row of {@link #ratios()} (V(·)/Vp, and the sum when K &gt; 1) from the observed information
   * {@code −∂²ℓ/∂θ∂θᵀ} instead of AI (GEMMA's {@code se(pve)}, FaST-LMM's and Hail's h² SE; NaN when
   * unavailable, e.g. matrix-free fits).
   */
  public double observedRatioSe(int k) {
    return observedSe[k];
  }

  /** SE of each row of {@link #variances()} (V(·), V(e), Vp) from the observed information (NaN when unavailable). */
  public double observedVarianceSe(int i) {
    return observedVarianceSe[i];
  }

  public double logL() {
    return logL;
  }

  public double logL0() {
    return logL0;
  }

  /** {@code 2(ℓ − ℓ0)}, floored at 0 (it is ≥ 0 at the true optimum; tiny negatives are rounding). */
  public double lrt() {
    return lrt;
  }

  public int df() {
    return df;
  }

  /** Natural log of the LRT p-value. */
  public double logP() {
    return logP;
  }

  public double p() {
    return Math.exp(logP);
  }

  public int n() {
    return n;
  }
}
