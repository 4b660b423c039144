package org.lmmspark.engine.reml.matfree;

import java.util.Arrays;
import org.lmmspark.engine.reml.SymmetricOperator;

/**
 * Preconditioned conjugate gradients for {@code A X = B} with a symmetric positive definite A known
 * through products, for r right-hand sides at once (Hestenes &amp; Stiefel 1952; Saad, <i>Iterative
 * Methods for Sparse Linear Systems</i>, alg. 9.1). Every column runs its own CG recurrence, but the
 * products of one iteration are taken together, {@code A·[p_1 … p_a]} over the a columns still
 * unconverged, so one iteration is one product call, i.e. one pass over the genotypes for all
 * right-hand sides. A column stops when {@code ‖b − A x‖ ≤ tol·‖b‖} (the recurrence residual).
 *
 * <p>The preconditioner ({@link Preconditioner}) is applied to all stepped columns together: diagonal
 * (Jacobi, {@link Preconditioner#diagonal}), the deflation preconditioner of a GRM's leading
 * eigenpairs ({@link SpectralPreconditioner}), or none. With none, the CG
 * coefficients also give the Lanczos tridiagonal matrix of each column
 * ({@code T_jj = 1/α_j + β_{j−1}/α_{j−1}}, {@code T_{j,j+1} = sqrt(β_j)/α_j}), from which
 * {@link LanczosQuadrature} estimates {@code bᵀ log(A) b} for the log-determinant.
 *
 * <p>Each column may have its own matrix: {@link ColumnOperator} is told which columns of the batch
 * it is applied to, so {@code A_j = σ²_g K_{−c_j} + σ²_e I} with column j's own left-out chromosome
 * ({@link org.lmmspark.engine.matfree.GenomicRelationshipOperator#applyLoco}) still costs one pass per
 * iteration for all chromosomes' right-hand sides together (leave-one-chromosome-out residuals,
 * {@link org.lmmspark.engine.assoc.LocoResiduals}). The Jacobi diagonal may likewise be given per column.
 *
 * <p>Memory: five n×r arrays (x, r, z, p, A·p; x and r are the caller's x0 and A·x0 when it knows that product),
 * and once some columns have converged the active ones' directions gathered; no n×n matrix. Cost per iteration:
 * one product with the active columns plus {@code O(n·r)}.
 */
public final class BatchedPcg {
  private BatchedPcg() {}

  /**
   * A block of symmetric positive definite operators, one per column of the batch: {@code out_s =
   * A_{columns[s]} in_s} for {@code s < k}, where {@code columns[s]} is the index (in the whole batch of
   * r right-hand sides) of the column that {@code in_s} belongs to. {@link #solve} passes only the
   * still-unconverged columns, in increasing order; {@code in} is read only (while every column is active it is
   * the solver's own block of search directions).
   */
  @FunctionalInterface
  public interface ColumnOperator {
    void apply(double[] in, int k, int[] columns, double[] out);
  }

  /** {@code M⁻¹} of a symmetric positive definite preconditioner M, applied to a set of columns at once. */
  @FunctionalInterface
  public interface Preconditioner {
    /**
     * {@code z_j = M⁻¹ r_j} for the columns {@code j = columns[0 … count)} of the n×r column-major
     * blocks r and z (other columns untouched).
     */
    void apply(double[] r, double[] z, int n, int[] columns, int count);

    /**
     * Jacobi, {@code M = diag(d)}: d (positive) shared by all columns (n entries) or per column (n×r,
     * column-major).
     */
    static Preconditioner diagonal(double[] d) {
      return (r, z, n, columns, count) -> {
        if (d.length % n != 0) {
          throw new IllegalArgumentException("preconditioner diagonal has " + d.length + " entries for n = " + n
              + " (shared) or n×r (per column)");
        }
        for (int s = 0; s < count; s++) {
          int o = columns[s] * n;
          int dOff = d.length == n ? 0 : o;
          for (int i = 0; i < n; i++) {
            z[o + i] = r[o + i] / d[dOff + i];
          }
        }
      };
    }
  }

  /**
   * @param x          n×r solutions
   * @param residual   n×r, the recurrence residual {@code b − A x} (the true one up to rounding)
   * @param iterations per column, iterations taken
   * @param converged  per column
   * @param relResidual per column, final {@code ‖r‖/‖b‖}
   * @param products   number of product calls (passes)
   * @param alphas     per column, the CG step lengths α_j (only when recorded)
   * @param betas      per column, the CG β_j (only when recorded)
   */
  public record Result(double[] x, double[] residual, int[] iterations, boolean[] converged, double[] relResidual,
      int products, double[][] alphas, double[][] betas) {
    public boolean allConverged() {
      for (boolean c : converged) {
        if (!c) {
          return false;
        }
      }
      return true;
    }

    public int maxIterations() {
      int m = 0;
      for (int i : iterations) {
        m = Math.max(m, i);
      }
      return m;
    }
  }

  /**
   * Solves {@code A X = B}.
   *
   * @param b        n×r right-hand sides, column-major (not modified)
   * @param x0       starting guess n×r (warm start), or null for 0; with a warm start one extra product
   *                 forms the first residual (none when {@code A·x0} is given, see the overload below)
   * @param pre      the preconditioner, or null for none
   * @param record   keep α and β per column (for Lanczos quadrature; needs x0 == null and no preconditioner
   *                 to mean {@code bᵀ f(A) b})
   */
  public static Result solve(SymmetricOperator a, double[] b, int r, double[] x0, Preconditioner pre, double tol,
      int maxIterations, boolean record) {
    return solve(a.size(), (in, k, columns, out) -> a.apply(in, k, out), b, r, x0, null, pre, tol, maxIterations,
        record);
  }

  /**
   * Solves {@code A X = B} from a warm start whose product {@code A·x0} the caller already knows, so the
   * first residual costs no product (e.g. {@code A = θ_g K + θ_e I} at a new θ when {@code K·x0} is known).
   * The solve takes both arrays over instead of copying them (two n×r blocks fewer while it runs): {@code x0}
   * becomes the result's {@link Result#x}, {@code ax0} its {@link Result#residual}.
   *
   * @param ax0 {@code A·x0}, n×r
   */
  public static Result solve(SymmetricOperator a, double[] b, int r, double[] x0, double[] ax0, Preconditioner pre,
      double tol, int maxIterations) {
    if (x0 == null || ax0 == null) {
      throw new IllegalArgumentException("a warm start with a known product needs both x0 and A·x0");
    }
    return solve(a.size(), (in, k, columns, out) -> a.apply(in, k, out), b, r, x0, ax0, pre, tol, maxIterations,
        false);
  }

  /**
   * Solves {@code A_j x_j = b_j} for every column j, each with its own operator (see {@link ColumnOperator}).
   *
   * @param n   rows of every system
   * @param pre the preconditioner (the same M for every column, or per column as the operator is), or
   *            null for none
   */
  public static Result solve(int n, ColumnOperator a, double[] b, int r, double[] x0, Preconditioner pre, double tol,
      int maxIterations, boolean record) {
    return solve(n, a, b, r, x0, null, pre, tol, maxIterations, record);
  }

  /**
   * As above with a tolerance per column, {@code tol[j]} for column j: a column whose use needs less
   * accuracy (e.g. one that only enters a quadratic form {@code bᵀA⁻¹b}, whose error is second order in
   * the residual) leaves the batch, and the passes' width, sooner.
   */
  public static Result solve(int n, ColumnOperator a, double[] b, int r, double[] x0, Preconditioner pre, double[] tol,
      int maxIterations, boolean record) {
    if (tol.length != r) {
      throw new IllegalArgumentException(tol.length + " tolerances for " + r + " columns");
    }
    return solveColumns(n, a, b, r, x0, null, pre, tol, maxIterations, record);
  }

  /**
   * As above (a tolerance per column) from a warm start whose product {@code A·x0} the caller already knows
   * (e.g. formed for some columns only, the others starting from zero with {@code A·0 = 0}). As with one
   * tolerance, {@code x0} becomes the result's {@link Result#x} and {@code ax0} its {@link Result#residual}.
   *
   * @param ax0 {@code A·x0}, n×r
   */
  public static Result solve(int n, ColumnOperator a, double[] b, int r, double[] x0, double[] ax0, Preconditioner pre,
      double[] tol, int maxIterations) {
    if (x0 == null || ax0 == null) {
      throw new IllegalArgumentException("a warm start with a known product needs both x0 and A·x0");
    }
    if (tol.length != r) {
      throw new IllegalArgumentException(tol.length + " tolerances for " + r + " columns");
    }
    return solveColumns(n, a, b, r, x0, ax0, pre, tol, maxIterations, false);
  }

  private static Result solve(int n, ColumnOperator a, double[] b, int r, double[] x0, double[] ax0,
      Preconditioner pre, double tol, int maxIterations, boolean record) {
    double[] tols = new double[r];
    Arrays.fill(tols, tol);
    return solveColumns(n, a, b, r, x0, ax0, pre, tols, maxIterations, record);
  }

  private static Result solveColumns(int n, ColumnOperator a, double[] b, int r, double[] x0, double[] ax0,
      Preconditioner pre, double[] tol, int maxIterations, boolean record) {
    if (b.length < (long) n * r || (x0 != null && x0.length < (long) n * r)
        || (ax0 != null && ax0.length < (long) n * r)) {
      throw new IllegalArgumentException("B, X0 and A·X0 must hold n×r = " + n + "×" + r + " values");
    }
    double[] x;
    double[] res;
    int products = 0;
    int[] all = new int[r];
    for (int j = 0; j < r; j++) {
      all[j] = j;
    }
    if (ax0 != null) {
      // A known A·x0 (the public overloads require x0 with it): both taken over, the iterate and, b − A·x0 in place,
      // the residual.
      x = x0;
      res = ax0;
      for (int i = 0; i < n * r; i++) {
        res[i] = b[i] - res[i];
      }
    } else {
      x = x0 == null ? new double[n * r] : Arrays.copyOf(x0, n * r);
      res = Arrays.copyOf(b, n * r);
      if (x0 != null) {
        double[] ax = new double[n * r];
        a.apply(x, r, all, ax);
        products++;
        for (int i = 0; i < n * r; i++) {
          res[i] -= ax[i];
        }
      }
    }
    double[] z = new double[n * r];
    double[] p = new double[n * r];
    double[] bNorm = new double[r];
    double[] rz = new double[r];
    double[] rel = new double[r];
    int[] its = new int[r];
    boolean[] done = new boolean[r];
    double[][] alphas = record ? new double[r][] : null;
    double[][] betas = record ? new double[r][] : null;
    double[][] alphaBuf = new double[r][];
    double[][] betaBuf = new double[r][];
    precondition(pre, res, z, n, all, r);
    for (int j = 0; j < r; j++) {
      bNorm[j] = norm(b, j * n, n);
      System.arraycopy(z, j * n, p, j * n, n);
      rz[j] = dot(res, z, j * n, n);
      rel[j] = bNorm[j] == 0 ? 0 : norm(res, j * n, n) / bNorm[j];
      done[j] = bNorm[j] == 0 || rel[j] <= tol[j];
      if (bNorm[j] == 0) {
        Arrays.fill(x, j * n, (j + 1) * n, 0.0);
      }
      if (record) {
        alphaBuf[j] = new double[16];
        betaBuf[j] = new double[16];
      }
    }
    int[] active = new int[r];
    double[] pa = new double[0];
    double[] qa = new double[0];
    for (int it = 0; it < maxIterations; it++) {
      int na = 0;
      for (int j = 0; j < r; j++) {
        if (!done[j]) {
          active[na++] = j;
        }
      }
      if (na == 0) {
        break;
      }
      if (qa.length < n * na) {
        qa = new double[n * na];
      }
      // While every column is active the directions are p as it is; later the active ones are gathered.
      double[] in = p;
      if (na < r) {
        if (pa.length < n * na) {
          pa = new double[n * na];
        }
        for (int s = 0; s < na; s++) {
          System.arraycopy(p, active[s] * n, pa, s * n, n);
        }
        in = pa;
      }
      a.apply(in, na, active, qa);
      products++;
      // Step every active column, precondition the stepped ones together, then their new directions.
      int stepped = 0;
      for (int s = 0; s < na; s++) {
        int j = active[s];
        int o = j * n;
        int q = s * n;
        double pq = 0;
        for (int i = 0; i < n; i++) {
          pq += p[o + i] * qa[q + i];
        }
        if (!(pq > 0)) {
          // Loss of positive definiteness (or breakdown): stop this column, reported as not converged.
          done[j] = true;
          continue;
        }
        double alpha = rz[j] / pq;
        for (int i = 0; i < n; i++) {
          x[o + i] += alpha * p[o + i];
          res[o + i] -= alpha * qa[q + i];
        }
        its[j]++;
        if (record) {
          int t = its[j] - 1;
          if (t >= alphaBuf[j].length) {
            alphaBuf[j] = Arrays.copyOf(alphaBuf[j], 2 * t);
            betaBuf[j] = Arrays.copyOf(betaBuf[j], 2 * t);
          }
          alphaBuf[j][t] = alpha;
        }
        active[stepped++] = j;
      }
      precondition(pre, res, z, n, active, stepped);
      for (int s = 0; s < stepped; s++) {
        int j = active[s];
        int o = j * n;
        double rzNew = dot(res, z, o, n);
        double beta = rzNew / rz[j];
        rz[j] = rzNew;
        for (int i = 0; i < n; i++) {
          p[o + i] = z[o + i] + beta * p[o + i];
        }
        if (record) {
          betaBuf[j][its[j] - 1] = beta;
        }
        rel[j] = norm(res, o, n) / bNorm[j];
        if (rel[j] <= tol[j]) {
          done[j] = true;
        }
      }
    }
    boolean[] converged = new boolean[r];
    for (int j = 0; j < r; j++) {
      converged[j] = rel[j] <= tol[j];
      if (record) {
        alphas[j] = Arrays.copyOf(alphaBuf[j], its[j]);
        betas[j] = Arrays.copyOf(betaBuf[j], its[j]);
      }
    }
    return new Result(x, res, its, converged, rel, products, alphas, betas);
  }

  private static void precondition(Preconditioner pre, double[] r, double[] z, int n, int[] columns, int count) {
    if (pre == null) {
      for (int s = 0; s < count; s++) {
        System.arraycopy(r, columns[s] * n, z, columns[s] * n, n);
      }
    } else {
      pre.apply(r, z, n, columns, count);
    }
  }

  static double dot(double[] a, double[] b, int off, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += a[off + i] * b[off + i];
    }
    return s;
  }

  static double norm(double[] a, int off, int n) {
    return Math.sqrt(dot(a, a, off, n));
  }
}
