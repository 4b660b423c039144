package org.lmmspark.engine.reml.mme;

import java.util.ArrayList;
import java.util.List;

/**
 * A linear mixed model in the form Henderson's mixed-model equations need:
 * {@code y = Xβ + Σ_t Z_t u_t + e}, {@code u_t ~ N(0, Σ_t ⊗ K_t)} ({@link RandomTerm}),
 * {@code e ~ N(0, R)} with {@code R = diag(σ²_{e,g(i)} / w_i)}: one residual variance per group
 * {@code g(i)} of records, optional known weights {@code w_i}. So
 * {@code V = Σ_t Z_t (Σ_t ⊗ K_t) Z_tᵀ + R}, linear in the entries of each Σ_t and in each σ²_e,g.
 *
 * <p>Parameters, in this order everywhere: the lower triangle of each Σ_t (term by term, entries
 * (0,0), (1,0), (1,1), …), then the residual variances of the groups (the last is what AI-REML's
 * residual floor applies to).
 *
 * @param y              n records
 * @param x              n×p column-major, full column rank
 * @param fixedNames     p names
 * @param terms          the random terms
 * @param residualGroup  group of each record in {@code 0..G-1}
 * @param residualNames  the G group names ({@code ["e"]} for one residual variance)
 * @param weights        known weights {@code w_i > 0}, or null for all ones
 */
public record MixedModel(double[] y, double[] x, List<String> fixedNames, List<RandomTerm> terms,
    int[] residualGroup, List<String> residualNames, double[] weights) {

  public MixedModel {
    int n = y.length;
    if (x.length != (long) n * fixedNames.size()) {
      throw new IllegalArgumentException("X has " + x.length + " entries for n×p = " + n + "×" + fixedNames.size());
    }
    if (residualGroup.length != n || (weights != null && weights.length != n)) {
      throw new IllegalArgumentException("residual groups or weights are not given for all " + n + " records");
    }
    for (int i = 0; i < n; i++) {
      if (residualGroup[i] < 0 || residualGroup[i] >= residualNames.size()) {
        throw new IllegalArgumentException("record " + i + " is in residual group " + residualGroup[i]);
      }
      if (weights != null && !(weights[i] > 0)) {
        throw new IllegalArgumentException("record " + i + " has weight " + weights[i]);
      }
    }
    for (RandomTerm t : terms) {
      if (t.levelOfRecord().length != n) {
        throw new IllegalArgumentException("term " + t.name() + " has " + t.levelOfRecord().length + " records, not " + n);
      }
    }
  }

  /** One residual variance, unit weights. */
  public static MixedModel homoscedastic(double[] y, double[] x, List<String> fixedNames, List<RandomTerm> terms) {
    return new MixedModel(y, x, fixedNames, terms, new int[y.length], List.of("e"), null);
  }

  public int n() {
    return y.length;
  }

  public int p() {
    return fixedNames.size();
  }

  double weight(int i) {
    return weights == null ? 1.0 : weights[i];
  }

  /** Number of variance parameters: Σ_t d_t(d_t+1)/2 plus the residual groups. */
  public int parameters() {
    int k = residualNames.size();
    for (RandomTerm t : terms) {
      k += t.dimension() * (t.dimension() + 1) / 2;
    }
    return k;
  }

  /** Parameter names in order (see class doc); residual groups named as given. */
  public List<String> parameterNames() {
    List<String> out = new ArrayList<>();
    for (RandomTerm t : terms) {
      out.addAll(t.parameterNames());
    }
    out.addAll(residualNames);
    return out;
  }
}
