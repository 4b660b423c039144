package org.lmmspark.engine.glmm;

import java.util.Arrays;

import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.ScaledOperator;
import org.lmmspark.engine.reml.SmallMatrices;
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
 * ({@link BatchedPcg}, by {@link #project}, which also serves the LOCO null models of {@link MatrixFreeBinaryLoco}),
 * preconditioned by the leading eigenpairs of K̃ ({@link SpectralPreconditioner},
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
    Projected pr = project((in, m, leftOut, o) -> k.apply(in, m, o), tau(), x, p, new double[][] {s}, new int[] {-1},
        new double[][] {v}, new int[] {cols}, preconditioner(), options, scope);
    System.arraycopy(pr.pv()[0], 0, out, 0, n() * cols);
    cgIterations = pr.iterations();
  }

  /**
   * The deflation preconditioner of {@code τK̃ + I} from the leading eigenpairs of {@code K̃ = SKS} at this fit's
   * weights ({@link StochasticReml#DEFLATION_PASSES} products, once); it also serves the LOCO systems
   * ({@link MatrixFreeBinaryLoco}), whose {@code K̃_{−c}} share K's leading structure.
   */
  SpectralPreconditioner preconditioner() {
    if (preconditioner == null) {
      int rank = Math.min(options.deflationRank(), n() - 1);
      preconditioner = new SpectralPreconditioner(LeadingEigenspace.compute(new ScaledOperator(k, s), rank,
          StochasticReml.DEFLATION_PASSES, options.seed()), tau(), 1.0);
    }
    return preconditioner;
  }

  MatrixFreePql.Fit fit() {
    return fit;
  }

  double[] covariates() {
    return x;
  }

  StochasticReml.Options options() {
    return options;
  }

  /** Products with K_{−c_j} for each column j ({@code c_j = −1}: all of K), in one pass. */
  @FunctionalInterface
  interface LocoProducts {
    void apply(double[] in, int k, int[] leftOut, double[] out);
  }

  /**
   * {@link #project}'s outcome per group: {@code P_g v} (n×cols) and the GLS coefficients
   * {@code (X̃ᵀṼ_g⁻¹X̃)⁻¹X̃ᵀṼ_g⁻¹(S_g v)} (p×cols); CG iterations of the slowest column; products of K (passes).
   */
  record Projected(double[][] pv, double[][] coefficients, int iterations, int passes) {}

  /**
   * {@code P_g v = S_g P̃_g (S_g v)} for groups g of columns, each with its own weights {@code s_g = √w_g} and left-out
   * chromosome {@code c_g}: {@code Ṽ_g = τ S_g K_{−c_g} S_g + I}, {@code P̃_g u = Ṽ_g⁻¹u − Ṽ_g⁻¹X̃_g C_g⁻¹X̃_gᵀṼ_g⁻¹u},
   * {@code C_g = X̃_gᵀṼ_g⁻¹X̃_g}, {@code X̃_g = S_g X}. Every group's {@code [S_g v | S_g X]} is a set of columns of ONE
   * batched preconditioned CG, each iteration one product pass ({@code k}) in which every column leaves out its own
   * chromosome — as {@code LocoResiduals} solves the linear LOCO systems. Then per group, in O(n·p·(p + cols)),
   * the projection. Columns beyond {@link #maxColumns} go in further solves (whole groups each). Throws when a
   * column's CG does not reach the tolerance.
   */
  static Projected project(LocoProducts k, double tau, double[] x, int p, double[][] scale, int[] leftOut,
      double[][] v, int[] cols, BatchedPcg.Preconditioner pre, StochasticReml.Options options, String what) {
    return project(k, tau, x, p, scale, leftOut, v, cols, pre, options, what, maxColumns(scale[0].length));
  }

  /** {@link #project} with at most {@code cap} columns per batched solve. */
  static Projected project(LocoProducts k, double tau, double[] x, int p, double[][] scale, int[] leftOut,
      double[][] v, int[] cols, BatchedPcg.Preconditioner pre, StochasticReml.Options options, String what, int cap) {
    int groups = scale.length;
    double[][] pv = new double[groups][];
    double[][] coefficients = new double[groups][];
    int iterations = 0;
    int passes = 0;
    // Consecutive groups while their columns fit the cap (a group is never split: its P needs its X̃ columns).
    for (int first = 0; first < groups; ) {
      int end = first + 1;
      int width = cols[first] + p;
      while (end < groups && width + cols[end] + p <= cap) {
        width += cols[end] + p;
        end++;
      }
      Projected part = projectBatch(k, tau, x, p, Arrays.copyOfRange(scale, first, end),
          Arrays.copyOfRange(leftOut, first, end), Arrays.copyOfRange(v, first, end), Arrays.copyOfRange(cols, first, end),
          pre, options, what);
      System.arraycopy(part.pv(), 0, pv, first, end - first);
      System.arraycopy(part.coefficients(), 0, coefficients, first, end - first);
      iterations = Math.max(iterations, part.iterations());
      passes += part.passes();
      first = end;
    }
    return new Projected(pv, coefficients, iterations, passes);
  }

  /**
   * Driver memory one batched solve may take (BatchedPcg's ~10 n-vectors per column, 80 bytes per sample and column),
   * as the quantitative LOCO solve bounds its own: columns beyond it go in further solves (more passes).
   */
  static final long SOLVE_BYTES = 1L << 30;

  /** Columns solved together at most for n samples: {@link #SOLVE_BYTES} / (80 n), within [16, 4096]. */
  static int maxColumns(int n) {
    return (int) Math.max(16, Math.min(4096, SOLVE_BYTES / (80L * n)));
  }

  /** One batched solve of {@link #project} (all groups' columns together). */
  private static Projected projectBatch(LocoProducts k, double tau, double[] x, int p, double[][] scale, int[] leftOut,
      double[][] v, int[] cols, BatchedPcg.Preconditioner pre, StochasticReml.Options options, String what) {
    int groups = scale.length;
    int n = scale[0].length;
    int[] offset = new int[groups + 1];
    for (int g = 0; g < groups; g++) {
      offset[g + 1] = offset[g] + cols[g] + p;
    }
    int r = offset[groups];
    int[] groupOf = new int[r];
    double[] rhs = new double[Math.multiplyExact(n, r)];
    for (int g = 0; g < groups; g++) {
      double[] sg = scale[g];
      for (int c = 0; c < cols[g] + p; c++) {
        int col = offset[g] + c;
        groupOf[col] = g;
        double[] src = c < cols[g] ? v[g] : x;
        int from = (c < cols[g] ? c : c - cols[g]) * n;
        for (int i = 0; i < n; i++) {
          rhs[i + col * n] = sg[i] * src[from + i];
        }
      }
    }
    BatchedPcg.Result solved = BatchedPcg.solve(n, (in, m, columns, o) -> {
      double[] scaled = new double[n * m];
      int[] left = new int[m];
      for (int t = 0; t < m; t++) {
        double[] sg = scale[groupOf[columns[t]]];
        left[t] = leftOut[groupOf[columns[t]]];
        for (int i = 0; i < n; i++) {
          scaled[i + t * n] = sg[i] * in[i + t * n];
        }
      }
      k.apply(scaled, m, left, o);
      for (int t = 0; t < m; t++) {
        double[] sg = scale[groupOf[columns[t]]];
        for (int i = 0; i < n; i++) {
          o[i + t * n] = tau * sg[i] * o[i + t * n] + in[i + t * n];
        }
      }
    }, rhs, r, null, pre, options.cgTolerance(), options.maxCgIterations(), false);
    if (!solved.allConverged()) {
      throw new IllegalStateException("P·v (" + what + "): CG did not reach " + options.cgTolerance() + " in "
          + options.maxCgIterations() + " iterations");
    }
    double[] z = solved.x();
    double[][] pv = new double[groups][];
    double[][] coefficients = new double[groups][];
    for (int g = 0; g < groups; g++) {
      int m = cols[g];
      int base = offset[g] * n;
      double[] zg = java.util.Arrays.copyOfRange(z, base, base + m * n); // Ṽ⁻¹Sv
      double[] xt = java.util.Arrays.copyOfRange(rhs, base + m * n, base + (m + p) * n); // X̃
      double[] vx = java.util.Arrays.copyOfRange(z, base + m * n, base + (m + p) * n); // Ṽ⁻¹X̃
      // C = X̃ᵀṼ⁻¹X̃ (p×p), then P̃u = Ṽ⁻¹u − (Ṽ⁻¹X̃) C⁻¹ (X̃ᵀṼ⁻¹u), and P v = S P̃u.
      double[] c = new double[p * p];
      Blas.dgemm(true, false, p, p, n, 1.0, xt, n, vx, n, 0.0, c, p);
      SmallMatrices.symmetrize(c, p);
      if (!Blas.dpotrfLower(p, c)) {
        throw new IllegalStateException("XᵀΣ⁻¹X is singular: the covariates are collinear");
      }
      Blas.dpotriLowerFull(p, c);
      double[] xtz = new double[p * m];
      Blas.dgemm(true, false, p, m, n, 1.0, xt, n, zg, n, 0.0, xtz, p);
      double[] coef = new double[p * m];
      Blas.dgemm(false, false, p, m, p, 1.0, c, p, xtz, p, 0.0, coef, p);
      double[] out = zg;
      Blas.dgemm(false, false, n, m, p, -1.0, vx, n, coef, p, 1.0, out, n);
      double[] sg = scale[g];
      for (int col = 0; col < m; col++) {
        for (int i = 0; i < n; i++) {
          out[i + col * n] *= sg[i];
        }
      }
      pv[g] = out;
      coefficients[g] = coef;
    }
    return new Projected(pv, coefficients, solved.maxIterations(), solved.products());
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
