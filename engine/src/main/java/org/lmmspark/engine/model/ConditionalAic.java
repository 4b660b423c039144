package org.lmmspark.engine.model;

import java.util.ArrayList;
import java.util.List;
import org.lmmspark.engine.reml.BlockedDenseLikelihood;
import org.lmmspark.engine.reml.SmallMatrices;

/**
 * Conditional AIC of a Gaussian linear mixed model (Vaida &amp; Blanchard 2005) with the Greven &amp;
 * Kneib (2010) correction for estimated covariance parameters, computed as the R package cAIC4
 * ({@code calculateGaussianBc}, analytic version) computes it:
 * <pre>  cAIC = −2 log f(y | β̂, û) + 2ρ,   ρ = n − tr(R A) + Σ_j Λ_j · (R A W_j e) + s</pre>
 * with {@code V₀ = V/σ²} (σ² the reference residual variance), {@code A = σ²P}, {@code R} the
 * residual covariance over σ² (weights, {@code --resid-by} ratios), {@code W_j = ∂V₀/∂τ_j = D_j} for
 * the estimated random-effect parameters {@code τ = θ/σ²}, {@code e = y − Xβ̂ − Zû = R_abs P y},
 * {@code Λ = B⁻¹C},
 * <pre>  B_jk = −(yᵀe) tr(W_kA W_jA)/(2(n − p)) − (eᵀW_je)(eᵀW_ke)/(2yᵀe) + eᵀW_kAW_je
 *  C_j = eᵀW_jA − (eᵀW_je) eᵀ/(2yᵀe)</pre>
 * (ML: {@code n} for {@code n − p} and {@code W_jV₀⁻¹} in the trace) and {@code s} the number of
 * estimated residual variances (cAIC4's {@code sigma.penalty}, 1 by default). Parameters held fixed
 * or at a variance of zero are left out of the W_j, as cAIC4 drops zero components
 * ({@code deleteZeroComponents}). The conditional log-likelihood is
 * {@code Σ_r log φ(y_r; ŷ_r, σ²_r)} with {@code ŷ = Xβ̂ + Zû}. Cost: block-wise, over the blocks of V or,
 * cheaper, in the space of the random effects ({@link LevelBlocks}).
 */
public record ConditionalAic(double caic, double df, double conditionalLogLik) {

  /**
   * What the correction needs of V at θ̂: Py, Pu, D_ju, diag(P) and {@code tr(D_jMD_kM)} (M = P for REML,
   * V⁻¹ for ML) over the estimated parameters. Given by the blocks of V ({@link #of}) or, cheaper when
   * blocks have fewer random effects than records, by {@link LevelBlocks}.
   */
  interface Operators {
    double[] py();

    boolean isReml();

    double[] applyP(double[] u);

    double[] applyD(int j, double[] u);

    double[] diagonalP();

    double[] traceProducts(boolean project, int[] params);
  }

  /** The operators of the blocks of V. */
  static Operators of(BlockedDenseLikelihood lik, BlockedDenseLikelihood.State st) {
    return new Operators() {
      @Override
      public double[] py() {
        return st.py();
      }

      @Override
      public boolean isReml() {
        return lik.isReml();
      }

      @Override
      public double[] applyP(double[] u) {
        return st.applyP(u);
      }

      @Override
      public double[] applyD(int j, double[] u) {
        return st.applyD(j, u);
      }

      @Override
      public double[] diagonalP() {
        return st.diagonalP();
      }

      @Override
      public double[] traceProducts(boolean project, int[] params) {
        return st.traceProducts(project, params);
      }
    };
  }

  static ConditionalAic compute(MixedModel model, BlockedDenseLikelihood lik, BlockedDenseLikelihood.State st,
      double[] theta, boolean[] fixed, boolean[] boundary) {
    return compute(model, of(lik, st), theta, fixed, boundary);
  }

  static ConditionalAic compute(MixedModel model, Operators st, double[] theta, boolean[] fixed, boolean[] boundary) {
    return compute(model, st, theta, fixed, boundary, null);
  }

  /**
   * As above; with a ledger, {@code diag(P)} and the trace products (read-only on operators that allow it,
   * as {@link LevelBlocks}') are worked out on a second thread ({@link SideTask}) while this one applies
   * the D_j and P to e. The same operations on the same values: the result is the same to the last bit.
   */
  static ConditionalAic compute(MixedModel model, Operators st, double[] theta, boolean[] fixed, boolean[] boundary,
      java.util.concurrent.atomic.LongAdder sideCpu) {
    int n = model.n();
    int p = model.p();
    int firstResidual = model.firstResidualParameter();
    List<Integer> params = new ArrayList<>();
    for (int j = 0; j < firstResidual; j++) {
      boolean zeroVariance = boundary[j] && theta[j] <= 0;
      if (!fixed[j] && !zeroVariance) {
        params.add(j);
      }
    }
    int q = params.size();
    boolean reml = st.isReml();
    int[] estimated = params.stream().mapToInt(Integer::intValue).toArray();
    java.util.function.Supplier<double[][]> diagonalAndTraces = () -> new double[][] {st.diagonalP(),
        q > 0 ? st.traceProducts(reml, estimated) : null};
    SideTask<double[][]> side = sideCpu == null ? null
        : SideTask.start("cAIC-traces", sideCpu, diagonalAndTraces::get);
    double sigma2 = theta[firstResidual];
    double[] rAbs = residualVariances(model, theta);
    double[] e = new double[n];
    double[] sums = residuals(rAbs, st.py(), model.y(), e);
    double tye = sums[0];
    double condLogLik = sums[1];
    int residualEstimated = 0;
    for (int j = firstResidual; j < theta.length; j++) {
      residualEstimated += fixed[j] ? 0 : 1;
    }
    double[][] we = new double[q][];
    double[][] awe = new double[q][];
    double[] ewe = new double[q];
    for (int i = 0; i < q; i++) {
      we[i] = st.applyD(estimated[i], e);
      awe[i] = st.applyP(we[i]);
      scale(awe[i], sigma2);
      ewe[i] = dot(e, we[i]);
    }
    double[][] dt = side != null ? side.join() : diagonalAndTraces.get();
    double[] diagP = dt[0];
    double df = minusProducts(n, rAbs, diagP);
    if (q > 0) {
      double[] traces = dt[1];
      double denom = reml ? n - p : n;
      double[] b = new double[q * q];
      for (int i = 0; i < q; i++) {
        for (int k = 0; k < q; k++) {
          double tr = sigma2 * sigma2 * traces[i + k * q];
          b[i + k * q] = -tye * tr / (2 * denom) - ewe[i] * ewe[k] / (2 * tye) + dot(we[k], awe[i]);
        }
      }
      SmallMatrices.symmetrize(b, q);
      // v_j = R A W_j e = R_abs P W_j e; c_kj = C_k · v_j.
      double[][] v = new double[q][];
      for (int j = 0; j < q; j++) {
        v[j] = residualTimes(rAbs, awe[j], sigma2);
      }
      double[] ev = new double[q];
      for (int j = 0; j < q; j++) {
        ev[j] = dot(e, v[j]);
      }
      double[] c = new double[q * q];
      for (int k = 0; k < q; k++) {
        for (int j = 0; j < q; j++) {
          c[k + j * q] = dot(awe[k], v[j]) - ewe[k] * ev[j] / (2 * tye);
        }
      }
      double[] binv = invert(b, q);
      for (int j = 0; j < q; j++) {
        for (int k = 0; k < q; k++) {
          df += binv[j + k * q] * c[k + j * q];
        }
      }
    }
    df += residualEstimated;
    return new ConditionalAic(-2 * condLogLik + 2 * df, df, condLogLik);
  }

  // The loops over the records, each a method of its own: a short fit runs each once, and inside one large method
  // the JIT compiled that whole method again on the stack for each of them.

  /** Each record's residual variance {@code σ²_g(r)/w_r} (R_abs's diagonal). */
  private static double[] residualVariances(MixedModel model, double[] theta) {
    int n = model.n();
    int firstResidual = model.firstResidualParameter();
    double[] rAbs = new double[n];
    int[] group = model.residualGroup();
    double[] w = model.weights();
    for (int r = 0; r < n; r++) {
      rAbs[r] = theta[firstResidual + group[r]] / w[r];
    }
    return rAbs;
  }

  /** {@code e = R_abs P y} into {@code e}; returns {yᵀe, the conditional log-likelihood}. */
  private static double[] residuals(double[] rAbs, double[] py, double[] y, double[] e) {
    double tye = 0;
    double condLogLik = 0;
    for (int r = 0; r < e.length; r++) {
      e[r] = rAbs[r] * py[r];
      tye += y[r] * e[r];
      condLogLik += -0.5 * (Math.log(2 * Math.PI * rAbs[r]) + e[r] * e[r] / rAbs[r]);
    }
    return new double[] {tye, condLogLik};
  }

  private static void scale(double[] a, double factor) {
    for (int r = 0; r < a.length; r++) {
      a[r] *= factor;
    }
  }

  /** {@code start − Σ_r a_r b_r}, subtracted in record order. */
  private static double minusProducts(double start, double[] a, double[] b) {
    double s = start;
    for (int r = 0; r < a.length; r++) {
      s -= a[r] * b[r];
    }
    return s;
  }

  /** {@code R_abs u / σ²} record by record. */
  private static double[] residualTimes(double[] rAbs, double[] u, double sigma2) {
    double[] out = new double[rAbs.length];
    for (int r = 0; r < out.length; r++) {
      out[r] = rAbs[r] * u[r] / sigma2;
    }
    return out;
  }

  /** B is symmetric but not definite in general (cAIC4 uses solve()): Gauss–Jordan with pivoting. */
  static double[] invert(double[] a, int q) {
    double[] m = a.clone();
    double[] inv = new double[q * q];
    for (int i = 0; i < q; i++) {
      inv[i + i * q] = 1;
    }
    for (int col = 0; col < q; col++) {
      int piv = col;
      for (int r = col + 1; r < q; r++) {
        if (Math.abs(m[r + col * q]) > Math.abs(m[piv + col * q])) {
          piv = r;
        }
      }
      if (m[piv + col * q] == 0) {
        throw new IllegalStateException("cAIC: the B matrix is singular");
      }
      for (int k = 0; k < q; k++) {
        double t = m[col + k * q];
        m[col + k * q] = m[piv + k * q];
        m[piv + k * q] = t;
        t = inv[col + k * q];
        inv[col + k * q] = inv[piv + k * q];
        inv[piv + k * q] = t;
      }
      double d = m[col + col * q];
      for (int k = 0; k < q; k++) {
        m[col + k * q] /= d;
        inv[col + k * q] /= d;
      }
      for (int r = 0; r < q; r++) {
        if (r != col) {
          double f = m[r + col * q];
          for (int k = 0; k < q; k++) {
            m[r + k * q] -= f * m[col + k * q];
            inv[r + k * q] -= f * inv[col + k * q];
          }
        }
      }
    }
    return inv;
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }
}
