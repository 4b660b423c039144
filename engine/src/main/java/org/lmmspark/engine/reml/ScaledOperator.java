package org.lmmspark.engine.reml;

/**
 * {@code S A S} with {@code S = diag(s)}: a symmetric operator A seen through a diagonal scaling on both
 * sides, applied as {@code s ∘ A(s ∘ v)} — one product of A, two O(n·k) scalings, nothing formed. PQL's
 * working model {@code V = τK + W⁻¹} becomes {@code W^½VW^½ = τ W^½KW^½ + I} this way (s = √w), so a
 * solver of {@code θ_g K̃ + θ_e I} fits it on the same distributed K.
 */
public final class ScaledOperator implements SymmetricOperator {
  private final SymmetricOperator inner;
  private final double[] s;

  /** @param scale s, n values (the caller keeps it unchanged while the operator is in use) */
  public ScaledOperator(SymmetricOperator inner, double[] scale) {
    if (scale.length != inner.size()) {
      throw new IllegalArgumentException("scaling of " + scale.length + " values for an operator of size " + inner.size());
    }
    this.inner = inner;
    this.s = scale;
  }

  @Override
  public int size() {
    return s.length;
  }

  @Override
  public void apply(double[] in, int k, double[] out) {
    int n = s.length;
    double[] scaled = new double[n * k];
    for (int j = 0; j < k; j++) {
      for (int i = 0; i < n; i++) {
        scaled[i + j * n] = s[i] * in[i + j * n];
      }
    }
    inner.apply(scaled, k, out);
    for (int j = 0; j < k; j++) {
      for (int i = 0; i < n; i++) {
        out[i + j * n] *= s[i];
      }
    }
  }

  /** {@code s_i² A_ii} from A's own diagonal. */
  @Override
  public double[] diagonal() {
    double[] d = inner.diagonal().clone();
    for (int i = 0; i < d.length; i++) {
      d[i] *= s[i] * s[i];
    }
    return d;
  }
}
