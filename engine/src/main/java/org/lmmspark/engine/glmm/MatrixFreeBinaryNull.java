package org.lmmspark.engine.glmm;

import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.ScaledOperator;
import org.lmmspark.engine.reml.SymmetricOperator;
import org.lmmspark.engine.reml.matfree.BatchedPcg;
import org.lmmspark.engine.reml.matfree.LeadingEigenspace;
import org.lmmspark.engine.reml.matfree.SpectralPreconditioner;
import org.lmmspark.engine.reml.matfree.StochasticReml;

/**
 * The null logistic GLMM of a binary scan fitted matrix-free ({@link MatrixFreePql}), as a {@link BinaryNull}:
 * μ̂ and {@code b̂ = η̂ − Xβ̂} from the fit, and the projection of the working model applied by preconditioned
 * CG over the relationship operator, as SAIGE computes {@code gᵀPg} for the variants of its variance ratio.
 * With {@code s = √w}, {@code w = μ̂(1 − μ̂)} and {@code Σ = W⁻¹ + τK = S⁻¹ Ṽ S⁻¹},
 * {@code Ṽ = τK̃ + I}, {@code K̃ = SKS}:
 * <pre>  P v = S P̃ (S v),  P̃ u = Ṽ⁻¹u − Ṽ⁻¹X̃ (X̃ᵀṼ⁻¹X̃)⁻¹ X̃ᵀṼ⁻¹u,  X̃ = SX</pre>
 * The k vectors and the p columns of X̃ are solved together as the k + p columns of one batched CG
 * ({@link BatchedPcg}), preconditioned by the leading eigenpairs of K̃ ({@link SpectralPreconditioner},
 * {@link StochasticReml#DEFLATION_PASSES} products to find them, once per null model).
 *
 * <p>Cost: per {@link #applyProjection} call, (CG iterations) products of K with k + p columns, i.e.
 * passes over the genotypes; no n×n matrix, so {@link #denseProjection} is null and the scan takes the
 * variance ratio.
 */
public final class MatrixFreeBinaryNull implements BinaryNull {
  private final String scope;
  private final MatrixFreePql.Fit fit;
  private final SymmetricOperator k;
  private final double[] x;
  private final int p;
  private final double[] s;
  private final double[] b;
  private final StochasticReml.Options options;
  private SpectralPreconditioner preconditioner;
  private int cgIterations;

  /**
   * @param fit     the matrix-free PQL fit on K
   * @param k       the same relationship operator, n×n
   * @param x       covariates, n×p column-major (as fitted)
   * @param options the CG tolerance, iteration cap, deflation rank and seed (the fit's)
   */
  public MatrixFreeBinaryNull(String scope, MatrixFreePql.Fit fit, SymmetricOperator k, double[] x,
      StochasticReml.Options options) {
    this.scope = scope;
    this.fit = fit;
    this.k = k;
    this.x = x;
    int n = k.size();
    this.p = x.length / n;
    double[] mu = fit.glmm().fitted();
    this.s = new double[n];
    for (int i = 0; i < n; i++) {
      s[i] = Math.sqrt(mu[i] * (1 - mu[i]));
    }
    this.b = fit.eta().clone();
    Blas.dgemv(false, n, p, -1.0, x, fit.glmm().beta(), 1.0, b);
    this.options = options;
  }

  @Override
  public String scope() {
    return scope;
  }

  @Override
  public int n() {
    return s.length;
  }

  @Override
  public double tau() {
    return fit.glmm().variances()[0];
  }

  @Override
  public double[] beta() {
    return fit.glmm().beta();
  }

  @Override
  public double[] mu() {
    return fit.glmm().fitted();
  }

  @Override
  public double[] randomPrediction() {
    return b;
  }

  @Override
  public void applyProjection(double[] v, int cols, double[] out) {
    int n = n();
    int r = cols + p;
    SymmetricOperator kt = new ScaledOperator(k, s);
    double tau = tau();
    if (preconditioner == null) {
      int rank = Math.min(options.deflationRank(), n - 1);
      preconditioner = new SpectralPreconditioner(LeadingEigenspace.compute(kt, rank, StochasticReml.DEFLATION_PASSES,
          options.seed()), tau, 1.0);
    }
    // Right-hand sides [S v | S X]; Ṽ = τK̃ + I applied with one product of K̃ per block.
    double[] rhs = new double[n * r];
    for (int c = 0; c < cols; c++) {
      for (int i = 0; i < n; i++) {
        rhs[i + c * n] = s[i] * v[i + c * n];
      }
    }
    for (int j = 0; j < p; j++) {
      for (int i = 0; i < n; i++) {
        rhs[i + (cols + j) * n] = s[i] * x[i + j * n];
      }
    }
    BatchedPcg.Result solved = BatchedPcg.solve(n, (in, m, columns, o) -> {
      kt.apply(in, m, o);
      for (int i = 0; i < n * m; i++) {
        o[i] = tau * o[i] + in[i];
      }
    }, rhs, r, null, preconditioner, options.cgTolerance(), options.maxCgIterations(), false);
    if (!solved.allConverged()) {
      throw new IllegalStateException("P·g for the variance ratio (" + scope + "): CG did not reach "
          + options.cgTolerance() + " in " + options.maxCgIterations() + " iterations");
    }
    cgIterations = solved.maxIterations();
    double[] z = solved.x(); // [Ṽ⁻¹Sv | Ṽ⁻¹X̃]
    double[] xt = java.util.Arrays.copyOfRange(rhs, cols * n, r * n);
    double[] vx = java.util.Arrays.copyOfRange(z, cols * n, r * n);
    // C = X̃ᵀṼ⁻¹X̃ (p×p), then P̃u = Ṽ⁻¹u − (Ṽ⁻¹X̃) C⁻¹ (X̃ᵀṼ⁻¹u), and P v = S P̃u.
    double[] c = new double[p * p];
    Blas.dgemm(true, false, p, p, n, 1.0, xt, n, vx, n, 0.0, c, p);
    if (!Blas.dpotrfLower(p, c)) {
      throw new IllegalStateException("XᵀΣ⁻¹X is singular: the covariates are collinear");
    }
    Blas.dpotriLowerFull(p, c);
    double[] xtz = new double[p * cols];
    Blas.dgemm(true, false, p, cols, n, 1.0, xt, n, z, n, 0.0, xtz, p);
    double[] coef = new double[p * cols];
    Blas.dgemm(false, false, p, cols, p, 1.0, c, p, xtz, p, 0.0, coef, p);
    System.arraycopy(z, 0, out, 0, n * cols);
    Blas.dgemm(false, false, n, cols, p, -1.0, vx, n, coef, p, 1.0, out, n);
    for (int col = 0; col < cols; col++) {
      for (int i = 0; i < n; i++) {
        out[i + col * n] *= s[i];
      }
    }
  }

  /** CG iterations of the last {@link #applyProjection} (the slowest column). */
  public int cgIterations() {
    return cgIterations;
  }

  @Override
  public float[] denseProjection() {
    return null;
  }

  @Override
  public boolean converged() {
    return fit.glmm().converged();
  }

  @Override
  public String message() {
    return fit.glmm().message();
  }
}
