package org.lmmspark.engine.reml.matfree;

import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.SymmetricOperator;

/**
 * A deflation ("spectral") preconditioner for {@code V = a·K + b·I}: exact on K's leading Ritz
 * pairs {@code (U, Λ)} ({@link LeadingEigenspace}) and a scalar on their complement,
 * <pre>
 *   M = U diag(a·λ_i + b) Uᵀ + (a·λ̄ + b)(I − U Uᵀ),    λ̄ = mean eigenvalue of K beyond U,
 *   M^e = U diag((a·λ_i + b)^e − (a·λ̄ + b)^e) Uᵀ + (a·λ̄ + b)^e I,
 * </pre>
 * (Frank &amp; Vuik 2001, SIAM J Sci Comput 23:442 for deflation; the same low-rank-plus-shift form as the
 * spectral preconditioners of Gaussian-process solvers). Why: in a structured cohort K's few leading
 * eigenvalues are of order {@code N·F_ST} against a bulk of order 1, so V's condition number grows with
 * N and a diagonal (Jacobi) preconditioner, K's diagonal being ≈ 1 everywhere, cannot touch it. With
 * the leading eigenpairs taken out, {@code M^{-1/2} V M^{-1/2}} has the bulk's condition number,
 * {@code (a·λ_max,bulk + b)/(a·λ_min,bulk + b)}, whatever N; CG's iteration count follows its square
 * root.
 *
 * <p>Because U is orthonormal, any {@code M^e} is as cheap as M⁻¹: two n×k×c GEMMs for c columns, so
 * {@link #logDet} and {@code M^{-1/2}} give log|V| by Lanczos quadrature on the well-conditioned
 * {@code M^{-1/2} V M^{-1/2}} ({@link StochasticReml}). For leave-one-chromosome-out systems
 * {@code a·K_{−c} + b·I} the whole-genome pairs serve every column: population axes run through every
 * chromosome, so {@code K_{−c}} has nearly the same leading eigenpairs.
 */
public final class SpectralPreconditioner implements BatchedPcg.Preconditioner {
  private final LeadingEigenspace e;
  private final double[] leading;
  private final double rest;
  /**
   * The columns being transformed (n × their count), kept from call to call: CG applies M⁻¹ once per iteration to
   * every column of its batch, and a new block each time (4.5 MB for 28 columns at n = 20,000, per trait) fed the
   * collector large short-lived arrays. Hence {@link #power} is synchronized.
   */
  private double[] block = new double[0];

  /**
   * @param e the leading Ritz pairs of K
   * @param a K's coefficient (≥ 0)
   * @param b the identity's coefficient (&gt; 0)
   */
  public SpectralPreconditioner(LeadingEigenspace e, double a, double b) {
    if (!(a >= 0) || !(b > 0)) {
      throw new IllegalArgumentException("need a ≥ 0 and b > 0, got " + a + ", " + b);
    }
    this.e = e;
    this.leading = new double[e.rank()];
    for (int i = 0; i < e.rank(); i++) {
      leading[i] = a * e.values()[i] + b;
    }
    this.rest = a * e.restMean() + b;
  }

  /** {@code log|M|}. */
  public double logDet() {
    double s = (e.n() - e.rank()) * Math.log(rest);
    for (double l : leading) {
      s += Math.log(l);
    }
    return s;
  }

  /**
   * {@code M^{-1/2} V M^{-1/2}} as an operator (one product with V per call): well conditioned when M
   * fits V, so Lanczos quadrature on it converges in few steps ({@code log|V| = log|M| + log|this|}).
   */
  public SymmetricOperator whiten(SymmetricOperator v) {
    int n = e.n();
    return new SymmetricOperator() {
      @Override
      public int size() {
        return n;
      }

      @Override
      public void apply(double[] in, int k, double[] out) {
        int[] columns = new int[k];
        for (int j = 0; j < k; j++) {
          columns[j] = j;
        }
        double[] t = new double[n * k];
        power(-0.5, in, t, n, columns, k);
        v.apply(t, k, out);
        power(-0.5, out, out, n, columns, k);
      }

      @Override
      public double trace() {
        throw new UnsupportedOperationException("the trace of M^{-1/2} V M^{-1/2} is what the quadrature estimates");
      }
    };
  }

  @Override
  public void apply(double[] r, double[] z, int n, int[] columns, int count) {
    power(-1, r, z, n, columns, count);
  }

  /**
   * {@code out_j = M^{exponent} in_j} for the listed columns of the n×r blocks {@code in} and
   * {@code out} (which may be the same array).
   */
  public synchronized void power(double exponent, double[] in, double[] out, int n, int[] columns, int count) {
    if (n != e.n()) {
      throw new IllegalArgumentException("preconditioner for n = " + e.n() + " applied to n = " + n);
    }
    if (count == 0) {
      return;
    }
    int k = e.rank();
    if (block.length < n * count) {
      block = new double[n * count];
    }
    for (int s = 0; s < count; s++) {
      System.arraycopy(in, columns[s] * n, block, s * n, n);
    }
    double[] g = new double[k * count];
    Blas.dgemm(true, false, k, count, n, 1.0, e.vectors(), n, block, n, 0.0, g, k);
    double restPower = Math.pow(rest, exponent);
    for (int i = 0; i < k; i++) {
      double d = Math.pow(leading[i], exponent) - restPower;
      for (int s = 0; s < count; s++) {
        g[i + s * k] *= d;
      }
    }
    for (int i = 0; i < n * count; i++) {
      block[i] *= restPower;
    }
    Blas.dgemm(false, false, n, count, k, 1.0, e.vectors(), n, g, k, 1.0, block, n);
    for (int s = 0; s < count; s++) {
      System.arraycopy(block, s * n, out, columns[s] * n, n);
    }
  }
}
