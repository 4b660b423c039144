package org.lmmspark.engine.reml.matfree;

import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.SymmetricOperator;

/**
 * The covariates projected out of a matrix-free solve (BOLT-LMM's projection): {@code Π = I − QQᵀ}, Q an
 * orthonormal basis of the n×p covariates X, so that REML's projection is {@code P = V⁻¹ − V⁻¹X(XᵀV⁻¹X)⁻¹XᵀV⁻¹
 * = Π(ΠVΠ)⁺Π} exactly. A right-hand side b is then solved as {@code (ΠVΠ) w = Πb} by CG on the complement of X
 * (range Π): right-hand sides, products ({@link #onComplement}) and preconditioned residuals ({@link #compress})
 * all stay there, and {@code w = P b} with no column of X in the batch. Used by the REML's solves
 * ({@link StochasticReml}, its probes' Lanczos runs, {@link ProbeLanczos}) and the LOCO solves
 * ({@code LocoResiduals}).
 */
public final class CovariateProjection {
  private final int n;
  private final int p;
  private final double[] q;
  private final double logDetGram;

  /**
   * @param x the covariates, n×p column-major, of full column rank
   * @throws IllegalArgumentException when XᵀX is not positive definite (collinear covariates)
   */
  public CovariateProjection(double[] x, int n, int p) {
    if (x.length < (long) n * p || p > n) {
      throw new IllegalArgumentException("covariates: need n×p = " + n + "×" + p + " values, p ≤ n");
    }
    this.n = n;
    this.p = p;
    double[] g = new double[p * p];
    if (p > 0) {
      Blas.dgemm(true, false, p, p, n, 1.0, x, n, x, n, 0.0, g, p);
    }
    if (!Blas.dpotrfLower(p, g)) {
      throw new IllegalArgumentException("the " + p + " covariate columns (with the intercept) are collinear over the "
          + n + " analysed samples");
    }
    double ld = 0;
    for (int j = 0; j < p; j++) {
      ld += 2 * Math.log(g[j + j * p]);
    }
    this.logDetGram = ld;
    this.q = java.util.Arrays.copyOf(x, n * p);
    Blas.orthonormalize(n, p, q);
  }

  /** n. */
  public int size() {
    return n;
  }

  /** p. */
  public int columns() {
    return p;
  }

  /** {@code log|XᵀX|}: with it, {@code log|V| + log|XᵀV⁻¹X| = log det(ΠVΠ on range Π) + log|XᵀX|}. */
  public double logDetGram() {
    return logDetGram;
  }

  /**
   * {@code a_j ← (I − QQᵀ) a_j} for the {@code count} columns of the n-row column-major block {@code a} from column
   * {@code first} on.
   */
  public void project(double[] a, int first, int count) {
    if (count == 0 || p == 0) {
      return;
    }
    double[] g = new double[p * count];
    Blas.dgemm(true, false, p, count, n, 1.0, q, 0, n, a, first * n, n, 0.0, g, 0, p);
    Blas.dgemm(false, false, n, count, p, -1.0, q, 0, n, g, 0, p, 1.0, a, first * n, n);
  }

  /** {@code Π a} for the first {@code count} columns of {@code a}, as a new block. */
  public double[] projected(double[] a, int count) {
    return projected(a, count, new double[n * count]);
  }

  /** As {@link #projected(double[], int)}, written into {@code into} (n × at least count; a solve's own buffer). */
  public double[] projected(double[] a, int count, double[] into) {
    System.arraycopy(a, 0, into, 0, n * count);
    project(into, 0, count);
    return into;
  }

  /** {@code ΠAΠ} as an operator: A's products (and their count) with projected input and output. */
  public SymmetricOperator onComplement(SymmetricOperator a) {
    return new SymmetricOperator() {
      @Override
      public int size() {
        return n;
      }

      @Override
      public void apply(double[] in, int k, double[] out) {
        a.apply(projected(in, k), k, out);
        project(out, 0, k);
      }

      @Override
      public double trace() {
        throw new UnsupportedOperationException();
      }
    };
  }

  /**
   * The correction that turns a preconditioner {@code M⁻¹} into its compression to the complement of X,
   * {@code (ΠMΠ)⁺ = M⁻¹ − M⁻¹Q(QᵀM⁻¹Q)⁻¹QᵀM⁻¹} there: since {@code (1−ε)M ≤ V ≤ (1+ε)M} implies the same between
   * ΠMΠ and ΠVΠ, CG keeps M's condition number (ΠM⁻¹Π does not: 11 iterations instead of 8 at N = M = 10,000 in the
   * LOCO solve, where two of the covariates are principal components). Holds M⁻¹Q and the Cholesky factor of
   * QᵀM⁻¹Q ({@code O(n·p)} flops per column applied).
   */
  public final class Compression {
    private final double[] mq;
    private final double[] factor;

    Compression(BatchedPcg.Preconditioner m) {
      mq = new double[n * p];
      if (p > 0) {
        int[] all = new int[p];
        for (int j = 0; j < p; j++) {
          all[j] = j;
        }
        m.apply(q, mq, n, all, p);
      }
      factor = new double[p * p];
      if (p > 0) {
        Blas.dgemm(true, false, p, p, n, 1.0, q, n, mq, n, 0.0, factor, p);
      }
      org.lmmspark.engine.reml.SmallMatrices.symmetrize(factor, p);
      if (!Blas.dpotrfLower(p, factor)) {
        throw new IllegalStateException("QᵀM⁻¹Q of the covariates is not positive definite");
      }
    }

    /** {@code z_col ← z_col − M⁻¹Q (QᵀM⁻¹Q)⁻¹ Qᵀ z_col} for {@code z_col = M⁻¹r_col}: then {@code Qᵀz_col = 0}. */
    public void correct(double[] z, int col) {
      if (p == 0) {
        return;
      }
      double[] g = new double[p];
      Blas.dgemm(true, false, p, 1, n, 1.0, q, 0, n, z, col * n, n, 0.0, g, 0, p);
      Blas.dpotrsLower(p, 1, factor, g);
      Blas.dgemm(false, false, n, 1, p, -1.0, mq, 0, n, g, 0, p, 1.0, z, col * n, n);
    }
  }

  /** The compression of M ({@link Compression}): M⁻¹Q and its factor, for M applied column by column. */
  public Compression compression(BatchedPcg.Preconditioner m) {
    return new Compression(m);
  }

  /** {@code (ΠMΠ)⁺} on the complement of X from {@code M⁻¹} ({@link Compression}); null stays null (no preconditioner). */
  public BatchedPcg.Preconditioner compress(BatchedPcg.Preconditioner m) {
    if (m == null || p == 0) {
      return m;
    }
    Compression c = new Compression(m);
    return (r, z, nn, columns, count) -> {
      m.apply(r, z, nn, columns, count);
      for (int t = 0; t < count; t++) {
        c.correct(z, columns[t]);
      }
    };
  }
}
