package org.lmmspark.engine.reml;

import java.util.List;
import org.lmmspark.engine.linalg.Blas;

/**
 * REML or ML log-likelihood, score and average information of {@code y ~ N(Xβ, V(θ))} with
 * {@code V(θ) = Σ_j θ_j D_j} linear in θ, when V is block diagonal: records fall into independent
 * blocks (the subjects of {@code (1 + t | subject)}, the connected components of all grouping
 * factors; a single block when a relationship matrix links everyone, which is the dense route).
 *
 * <p>Per block b: {@code V_b = Σ_j θ_j D_jb}, Cholesky (dpotrf), {@code log|V| = Σ_b log|V_b|},
 * {@code V_b⁻¹} (dpotri). Across blocks: {@code C = Σ_b X_bᵀV_b⁻¹X_b}, {@code β = C⁻¹Σ_b X_bᵀV_b⁻¹y_b},
 * {@code Py = V⁻¹(y − Xβ)}; P is never formed: {@code P u = V⁻¹u − V⁻¹X C⁻¹ (V⁻¹X)ᵀu}.
 * <ul>
 *   <li>REML: {@code ℓ = −½(log|V| + log|C| + yᵀPy)}, {@code ∂ℓ/∂θ_j = −½(tr(PD_j) − yᵀPD_jPy)} with
 *       {@code tr(PD_j) = Σ_b tr(V_b⁻¹D_jb) − tr(C⁻¹ Σ_b (V⁻¹X)_bᵀD_jb(V⁻¹X)_b)},
 *       {@code AI_jk = ½ (D_jPy)ᵀ P (D_kPy)} (Gilmour, Thompson &amp; Cullis 1995);</li>
 *   <li>ML: {@code ℓ = −½(log|V| + yᵀPy)} (yᵀPy is the GLS residual quadratic form),
 *       {@code ∂ℓ/∂θ_j = −½(tr(V⁻¹D_j) − yᵀPD_jPy)}, {@code AI_jk = ½ (D_jPy)ᵀ V⁻¹ (D_kPy)}.</li>
 * </ul>
 * GCTA's constants (no 2π): the full-constant forms R prints are in {@link #fullLogL}.
 * Cost per evaluation {@code Σ_b (n_b³ + m n_b² p)}: linear in the number of subjects for
 * longitudinal data, {@code n³} for one dense block; memory {@code m Σ_b n_b²} doubles.
 */
public final class BlockedDenseLikelihood implements RemlLikelihood {

  /** The model's covariance derivatives: {@code D_j(r, s)} for records r, s of the same block. */
  public interface Structure {
    /** Number of parameters m. */
    int parameters();

    /**
     * Fills {@code out} (n_b×n_b column-major over the block's records {@code rows}) with D_j; returns
     * false (and leaves {@code out} undefined) when D_j is zero on this block.
     */
    boolean fill(int j, int[] rows, double[] out);
  }

  private final int n;
  private final int p;
  private final double[] y;
  private final double[] x;
  private final boolean reml;
  private final int m;
  private final int[][] blocks;
  /** Block of each record and its position there. */
  private final int[] blockOf;
  private final int[] positionInBlock;
  /** d[b][j]: D_j on block b (n_b² column-major), or null when zero. */
  private final double[][][] d;
  private final double[][] yb;
  private final double[][] xb;
  private State last;

  /**
   * @param y      response (n)
   * @param x      fixed-effect design, n×p column-major, full column rank
   * @param blocks the records of each independent block (a partition of 0..n−1)
   * @param reml   REML (true) or ML
   */
  public BlockedDenseLikelihood(double[] y, double[] x, int p, int[][] blocks, Structure structure, boolean reml) {
    this.n = y.length;
    this.p = p;
    this.y = y;
    this.x = x;
    this.reml = reml;
    this.m = structure.parameters();
    this.blocks = blocks;
    this.blockOf = new int[y.length];
    this.positionInBlock = new int[y.length];
    for (int b = 0; b < blocks.length; b++) {
      for (int i = 0; i < blocks[b].length; i++) {
        blockOf[blocks[b][i]] = b;
        positionInBlock[blocks[b][i]] = i;
      }
    }
    this.d = new double[blocks.length][m][];
    this.yb = new double[blocks.length][];
    this.xb = new double[blocks.length][];
    int covered = 0;
    for (int b = 0; b < blocks.length; b++) {
      int[] rows = blocks[b];
      int nb = rows.length;
      covered += nb;
      for (int j = 0; j < m; j++) {
        double[] a = new double[nb * nb];
        if (structure.fill(j, rows, a)) {
          d[b][j] = a;
        }
      }
      yb[b] = new double[nb];
      xb[b] = new double[nb * p];
      for (int i = 0; i < nb; i++) {
        yb[b][i] = y[rows[i]];
        for (int c = 0; c < p; c++) {
          xb[b][i + c * nb] = x[rows[i] + c * n];
        }
      }
    }
    if (covered != n) {
      throw new IllegalArgumentException("blocks cover " + covered + " records of " + n);
    }
  }

  @Override
  public int parameters() {
    return m;
  }

  @Override
  public int samples() {
    return n;
  }

  public boolean isReml() {
    return reml;
  }

  public int blockCount() {
    return blocks.length;
  }

  public int largestBlock() {
    int max = 0;
    for (int[] b : blocks) {
      max = Math.max(max, b.length);
    }
    return max;
  }

  /** Everything the evaluation at one θ computed, kept for the conditional AIC and the BLUPs. */
  public final class State {
    final double[] theta;
    /** V_b⁻¹ per block (full). */
    final double[][] vinv;
    /** V_b⁻¹X_b per block. */
    final double[][] vx;
    final double[] cinv;
    final double[] beta;
    final double logDetV;
    final double logDetC;
    final double yPy;
    /** P y over all records (n). */
    final double[] py;

    State(double[] theta, double[][] vinv, double[][] vx, double[] cinv, double[] beta, double logDetV, double logDetC,
        double yPy, double[] py) {
      this.theta = theta;
      this.vinv = vinv;
      this.vx = vx;
      this.cinv = cinv;
      this.beta = beta;
      this.logDetV = logDetV;
      this.logDetC = logDetC;
      this.yPy = yPy;
      this.py = py;
    }

    public double[] py() {
      return py.clone();
    }

    /** {@code log|V|}. */
    public double logDetV() {
      return logDetV;
    }

    /** {@code log|XᵀV⁻¹X|}. */
    public double logDetC() {
      return logDetC;
    }

    public double yPy() {
      return yPy;
    }

    /** {@code P u} for u over all records (n). */
    public double[] applyP(double[] u) {
      return apply(u, true);
    }

    /** {@code V⁻¹ u}. */
    public double[] applyVinv(double[] u) {
      return apply(u, false);
    }

    private double[] apply(double[] u, boolean project) {
      double[] out = new double[n];
      double[] xtv = new double[p];
      for (int b = 0; b < blocks.length; b++) {
        int[] rows = blocks[b];
        int nb = rows.length;
        double[] ub = gather(u, rows);
        double[] ob = new double[nb];
        Small.dgemv(false, nb, nb, 1.0, vinv[b], ub, 0.0, ob);
        scatter(ob, rows, out);
        if (project) {
          for (int c = 0; c < p; c++) {
            double s = 0;
            for (int i = 0; i < nb; i++) {
              s += vx[b][i + c * nb] * ub[i];
            }
            xtv[c] += s;
          }
        }
      }
      if (project) {
        double[] w = new double[p];
        Small.dgemv(false, p, p, 1.0, cinv, xtv, 0.0, w);
        for (int b = 0; b < blocks.length; b++) {
          int[] rows = blocks[b];
          int nb = rows.length;
          for (int i = 0; i < nb; i++) {
            double s = 0;
            for (int c = 0; c < p; c++) {
              s += vx[b][i + c * nb] * w[c];
            }
            out[rows[i]] -= s;
          }
        }
      }
      return out;
    }

    /** {@code D_j u} for u over all records. */
    public double[] applyD(int j, double[] u) {
      double[] out = new double[n];
      for (int b = 0; b < blocks.length; b++) {
        double[] dj = d[b][j];
        if (dj == null) {
          continue;
        }
        int[] rows = blocks[b];
        int nb = rows.length;
        double[] ob = new double[nb];
        Small.dgemv(false, nb, nb, 1.0, dj, gather(u, rows), 0.0, ob);
        scatter(ob, rows, out);
      }
      return out;
    }

    /**
     * {@code wᵀPw = wᵀV⁻¹w − (XᵀV⁻¹w)ᵀC⁻¹(XᵀV⁻¹w)} for a vector w given by its non-zero entries
     * ({@code rows}, {@code values}): only the blocks those records are in are touched.
     */
    public double quadraticP(int[] rows, double[] values) {
      java.util.Map<Integer, java.util.List<Integer>> byBlock = new java.util.LinkedHashMap<>();
      for (int i = 0; i < rows.length; i++) {
        byBlock.computeIfAbsent(blockOf[rows[i]], k -> new java.util.ArrayList<>()).add(i);
      }
      double q = 0;
      double[] t = new double[p];
      for (var e : byBlock.entrySet()) {
        int b = e.getKey();
        int nb = blocks[b].length;
        double[] wb = new double[nb];
        for (int i : e.getValue()) {
          wb[positionInBlock[rows[i]]] += values[i];
        }
        double[] vw = new double[nb];
        Small.dgemv(false, nb, nb, 1.0, vinv[b], wb, 0.0, vw);
        q += DenseRemlLikelihood.dot(wb, vw);
        for (int c = 0; c < p; c++) {
          double s = 0;
          for (int i = 0; i < nb; i++) {
            s += vx[b][i + c * nb] * wb[i];
          }
          t[c] += s;
        }
      }
      double[] ct = new double[p];
      Small.dgemv(false, p, p, 1.0, cinv, t, 0.0, ct);
      return q - DenseRemlLikelihood.dot(t, ct);
    }

    /** The diagonal of P (n). */
    public double[] diagonalP() {
      double[] out = new double[n];
      for (int b = 0; b < blocks.length; b++) {
        int[] rows = blocks[b];
        int nb = rows.length;
        for (int i = 0; i < nb; i++) {
          double q = 0;
          for (int c = 0; c < p; c++) {
            for (int e = 0; e < p; e++) {
              q += vx[b][i + c * nb] * cinv[c + e * p] * vx[b][i + e * nb];
            }
          }
          out[rows[i]] = vinv[b][i + i * nb] - q;
        }
      }
      return out;
    }

    /**
     * {@code T_jk = tr(D_{s_j} M D_{s_k} M)} for the parameters {@code s = params} (q×q), with
     * {@code M = P} (REML) or {@code V⁻¹}:
     * {@code tr(D_jV⁻¹D_kV⁻¹) − 2tr(C⁻¹(D_jV⁻¹X)ᵀV⁻¹(D_kV⁻¹X)) + tr(C⁻¹G_jC⁻¹G_k)},
     * {@code G_j = (V⁻¹X)ᵀD_j(V⁻¹X)}, all block by block: {@code O(q n_b³ + q² n_b² p)} per block.
     */
    public double[] traceProducts(boolean project, int[] params) {
      int q = params.length;
      double[] t = new double[q * q];
      double[][] g = new double[q][p * p];
      double[][] h = new double[q * q][p * p];
      double[][] dv = new double[q][];
      double[][] dvx = new double[q][];
      double[] vdk = new double[0];
      double[] blockProduct = new double[p * p];
      for (int b = 0; b < blocks.length; b++) {
        int nb = blocks[b].length;
        for (int j = 0; j < q; j++) {
          double[] dj = d[b][params[j]];
          if (dj == null) {
            dv[j] = null;
            continue;
          }
          dv[j] = new double[nb * nb];
          Small.dgemm(false, false, nb, nb, nb, 1.0, dj, nb, vinv[b], nb, 0.0, dv[j], nb);
          dvx[j] = new double[nb * p];
          Small.dgemm(false, false, nb, p, nb, 1.0, dj, nb, vx[b], nb, 0.0, dvx[j], nb);
          if (project) {
            Small.dgemm(true, false, p, p, nb, 1.0, vx[b], nb, dvx[j], nb, 0.0, blockProduct, p);
            add(g[j], blockProduct);
          }
        }
        if (vdk.length < nb * p) {
          vdk = new double[nb * p];
        }
        for (int k = 0; k < q; k++) {
          if (dv[k] == null) {
            continue;
          }
          if (project) {
            Small.dgemm(false, false, nb, p, nb, 1.0, vinv[b], nb, dvx[k], nb, 0.0, vdk, nb);
          }
          for (int j = k; j < q; j++) {
            if (dv[j] == null) {
              continue;
            }
            double s = 0;
            for (int c = 0; c < nb; c++) {
              for (int r = 0; r < nb; r++) {
                s += dv[j][r + c * nb] * dv[k][c + r * nb];
              }
            }
            t[j + k * q] += s;
            if (project) {
              Small.dgemm(true, false, p, p, nb, 1.0, dvx[j], nb, vdk, nb, 0.0, blockProduct, p);
              add(h[j + k * q], blockProduct);
            }
          }
        }
      }
      for (int k = 0; k < q; k++) {
        for (int j = k; j < q; j++) {
          double v = t[j + k * q];
          if (project) {
            v += -2 * traceOfProduct(cinv, h[j + k * q], p)
                + traceOfProduct(mult(cinv, g[j], p), mult(cinv, g[k], p), p);
          }
          t[j + k * q] = v;
          t[k + j * q] = v;
        }
      }
      return t;
    }
  }

  private static void add(double[] acc, double[] v) {
    for (int i = 0; i < acc.length; i++) {
      acc[i] += v[i];
    }
  }

  private static double[] mult(double[] a, double[] b, int p) {
    double[] c = new double[p * p];
    Small.dgemm(false, false, p, p, p, 1.0, a, p, b, p, 0.0, c, p);
    return c;
  }

  /** {@code tr(A B)} of p×p matrices. */
  private static double traceOfProduct(double[] a, double[] b, int p) {
    double s = 0;
    for (int i = 0; i < p; i++) {
      for (int k = 0; k < p; k++) {
        s += a[i + k * p] * b[k + i * p];
      }
    }
    return s;
  }

  private static double[] gather(double[] u, int[] rows) {
    double[] out = new double[rows.length];
    for (int i = 0; i < rows.length; i++) {
      out[i] = u[rows[i]];
    }
    return out;
  }

  private static void scatter(double[] v, int[] rows, double[] out) {
    for (int i = 0; i < rows.length; i++) {
      out[rows[i]] = v[i];
    }
  }

  /** The state of the last successful {@link #evaluate}, or a fresh factorization at θ (no score, no AI). */
  public State state(double[] theta) {
    if (last != null && java.util.Arrays.equals(last.theta, theta)) {
      return last;
    }
    State st = factor(theta);
    if (st == null) {
      throw new IllegalStateException("V is not positive definite at θ");
    }
    last = st;
    return st;
  }

  @Override
  public Evaluation evaluate(double[] theta) {
    State st = factor(theta);
    if (st == null) {
      return Evaluation.notPositiveDefinite();
    }
    int nblocks = blocks.length;
    double[][] vinv = st.vinv;
    double[][] vx = st.vx;
    double[] cinv = st.cinv;
    double[] py = st.py;
    double logL = reml ? -0.5 * (st.logDetV + st.logDetC + st.yPy) : -0.5 * (st.logDetV + st.yPy);
    double[] score = new double[m];
    double[] yPVPy = new double[m];
    double[][] u = new double[m][];
    for (int j = 0; j < m; j++) {
      double tr = 0;
      double[] g = new double[p * p];
      for (int b = 0; b < nblocks; b++) {
        double[] dj = d[b][j];
        if (dj == null) {
          continue;
        }
        int nb = blocks[b].length;
        tr += DenseRemlLikelihood.dot(vinv[b], dj);
        if (reml) {
          double[] dvx = new double[nb * p];
          Small.dgemm(false, false, nb, p, nb, 1.0, dj, nb, vx[b], nb, 0.0, dvx, nb);
          double[] gb = new double[p * p];
          Small.dgemm(true, false, p, p, nb, 1.0, vx[b], nb, dvx, nb, 0.0, gb, p);
          add(g, gb);
        }
      }
      if (reml) {
        tr -= traceOfProduct(cinv, g, p);
      }
      u[j] = st.applyD(j, py);
      yPVPy[j] = DenseRemlLikelihood.dot(py, u[j]);
      score[j] = -0.5 * (tr - yPVPy[j]);
    }
    double[] ai = new double[m * m];
    for (int k = 0; k < m; k++) {
      double[] mu = reml ? st.applyP(u[k]) : st.applyVinv(u[k]);
      for (int j = 0; j <= k; j++) {
        double a = 0.5 * DenseRemlLikelihood.dot(u[j], mu);
        ai[j + k * m] = a;
        ai[k + j * m] = a;
      }
    }
    last = st;
    return new Evaluation(true, logL, score, ai, yPVPy, py, st.beta, cinv.clone());
  }

  /**
   * The factorization at θ without the score and AI: V_b⁻¹ and V_b⁻¹X_b per block, C⁻¹ = (XᵀV⁻¹X)⁻¹,
   * β̂ and Py. Null when a V_b or XᵀV⁻¹X is not positive definite.
   */
  private State factor(double[] theta) {
    int nblocks = blocks.length;
    double[][] vinv = new double[nblocks][];
    double[][] vx = new double[nblocks][];
    double[][] vy = new double[nblocks][];
    double logDetV = 0;
    double[] c = new double[p * p];
    double[] xvy = new double[p];
    for (int b = 0; b < nblocks; b++) {
      int nb = blocks[b].length;
      double[] v = new double[nb * nb];
      for (int j = 0; j < m; j++) {
        double[] dj = d[b][j];
        if (dj != null && theta[j] != 0) {
          double t = theta[j];
          for (int i = 0; i < v.length; i++) {
            v[i] += t * dj[i];
          }
        }
      }
      if (!Small.dpotrfLower(nb, v)) {
        return null;
      }
      for (int i = 0; i < nb; i++) {
        logDetV += 2 * Math.log(v[i + i * nb]);
      }
      Small.dpotriLowerFull(nb, v);
      vinv[b] = v;
      vx[b] = new double[nb * p];
      Small.dgemm(false, false, nb, p, nb, 1.0, v, nb, xb[b], nb, 0.0, vx[b], nb);
      vy[b] = new double[nb];
      Small.dgemv(false, nb, nb, 1.0, v, yb[b], 0.0, vy[b]);
      double[] cb = new double[p * p];
      Small.dgemm(true, false, p, p, nb, 1.0, xb[b], nb, vx[b], nb, 0.0, cb, p);
      add(c, cb);
      double[] xvyb = new double[p];
      Small.dgemv(true, nb, p, 1.0, xb[b], vy[b], 0.0, xvyb);
      add(xvy, xvyb);
    }
    SmallMatrices.symmetrize(c, p);
    double[] cl = c.clone();
    if (!Small.dpotrfLower(p, cl)) {
      return null;
    }
    double logDetC = 0;
    for (int i = 0; i < p; i++) {
      logDetC += 2 * Math.log(cl[i + i * p]);
    }
    double[] beta = xvy.clone();
    Blas.dpotrsLower(p, 1, cl, beta);
    double[] cinv = cl;
    Small.dpotriLowerFull(p, cinv);
    double[] py = new double[n];
    for (int b = 0; b < nblocks; b++) {
      int[] rows = blocks[b];
      int nb = rows.length;
      for (int i = 0; i < nb; i++) {
        double s = vy[b][i];
        for (int k = 0; k < p; k++) {
          s -= vx[b][i + k * nb] * beta[k];
        }
        py[rows[i]] = s;
      }
    }
    double yPy = DenseRemlLikelihood.dot(y, py);
    return new State(theta.clone(), vinv, vx, cinv, beta, logDetV, logDetC, yPy, py);
  }

  @Override
  public double[] observedInformation(double[] theta) {
    return null;
  }

  /**
   * The log-likelihood with the constants R uses: ML {@code −½(n log 2π + log|V| + yᵀPy)}; REML
   * {@code −½((n−p) log 2π + log|V| + log|XᵀV⁻¹X| + yᵀPy)}, lme4's {@code −REMLcrit/2}, which is also
   * what nlme 3.1 reports as the {@code logLik} of a REML fit. GCTA's form is {@link Evaluation#logL()}.
   */
  public double fullLogL(double[] theta) {
    State st = state(theta);
    double log2pi = Math.log(2 * Math.PI);
    if (!reml) {
      return -0.5 * (n * log2pi + st.logDetV + st.yPy);
    }
    return -0.5 * ((n - p) * log2pi + st.logDetV + st.logDetC + st.yPy);
  }

  /** The records of each block (not copies). */
  public List<int[]> blocks() {
    return List.of(blocks);
  }

  /**
   * The dense kernels of this class, in plain Java for the small blocks of longitudinal data (a
   * subject's 10 records): there one JNI call into BLAS costs more than the arithmetic, and an
   * evaluation makes a few per block. Work above {@value #SMALL} multiply-adds goes to {@link Blas}.
   */
  static final class Small {
    static final int SMALL = 16_384;

    private Small() {}

    static void dgemm(boolean ta, boolean tb, int m, int n, int k, double alpha, double[] a, int lda, double[] b,
        int ldb, double beta, double[] c, int ldc) {
      if ((long) m * n * k > SMALL) {
        Blas.dgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
      }
      // Loop orders that read both operands contiguously (column-major): axpy columns for A·B,
      // dot products of columns for Aᵀ·B; the rare other cases element by element.
      for (int j = 0; j < n; j++) {
        int cj = j * ldc;
        if (!ta && !tb) {
          for (int i = 0; i < m; i++) {
            c[cj + i] = beta == 0 ? 0 : beta * c[cj + i];
          }
          for (int l = 0; l < k; l++) {
            double bv = alpha * b[l + j * ldb];
            int al = l * lda;
            for (int i = 0; i < m; i++) {
              c[cj + i] += a[al + i] * bv;
            }
          }
        } else if (ta && !tb) {
          int bj = j * ldb;
          for (int i = 0; i < m; i++) {
            int ai = i * lda;
            double s = 0;
            for (int l = 0; l < k; l++) {
              s += a[ai + l] * b[bj + l];
            }
            c[cj + i] = alpha * s + (beta == 0 ? 0 : beta * c[cj + i]);
          }
        } else {
          for (int i = 0; i < m; i++) {
            double s = 0;
            for (int l = 0; l < k; l++) {
              s += (ta ? a[l + i * lda] : a[i + l * lda]) * (tb ? b[j + l * ldb] : b[l + j * ldb]);
            }
            c[cj + i] = alpha * s + (beta == 0 ? 0 : beta * c[cj + i]);
          }
        }
      }
    }

    static void dgemv(boolean trans, int m, int n, double alpha, double[] a, double[] x, double beta, double[] y) {
      if ((long) m * n > SMALL) {
        Blas.dgemv(trans, m, n, alpha, a, x, beta, y);
        return;
      }
      if (trans) {
        for (int i = 0; i < n; i++) {
          int ai = i * m;
          double s = 0;
          for (int l = 0; l < m; l++) {
            s += a[ai + l] * x[l];
          }
          y[i] = alpha * s + (beta == 0 ? 0 : beta * y[i]);
        }
        return;
      }
      for (int i = 0; i < m; i++) {
        y[i] = beta == 0 ? 0 : beta * y[i];
      }
      for (int l = 0; l < n; l++) {
        double xv = alpha * x[l];
        int al = l * m;
        for (int i = 0; i < m; i++) {
          y[i] += a[al + i] * xv;
        }
      }
    }

    /** Lower Cholesky in place (the strict upper triangle untouched); false when not positive definite. */
    static boolean dpotrfLower(int n, double[] a) {
      if ((long) n * n * n > 3L * SMALL) {
        return Blas.dpotrfLower(n, a);
      }
      for (int j = 0; j < n; j++) {
        double d = a[j + j * n];
        for (int k = 0; k < j; k++) {
          d -= a[j + k * n] * a[j + k * n];
        }
        if (!(d > 0)) {
          return false;
        }
        double l = Math.sqrt(d);
        a[j + j * n] = l;
        for (int i = j + 1; i < n; i++) {
          double v = a[i + j * n];
          for (int k = 0; k < j; k++) {
            v -= a[i + k * n] * a[j + k * n];
          }
          a[i + j * n] = v / l;
        }
      }
      return true;
    }

    /** {@code A⁻¹} (full, symmetric) from the lower Cholesky factor left by {@link #dpotrfLower}. */
    static void dpotriLowerFull(int n, double[] a) {
      if ((long) n * n * n > 3L * SMALL) {
        Blas.dpotriLowerFull(n, a);
        return;
      }
      // W = L⁻¹ (lower), then A⁻¹ = Wᵀ W.
      double[] w = new double[n * n];
      for (int j = 0; j < n; j++) {
        w[j + j * n] = 1 / a[j + j * n];
        for (int i = j + 1; i < n; i++) {
          double s = 0;
          for (int k = j; k < i; k++) {
            s -= a[i + k * n] * w[k + j * n];
          }
          w[i + j * n] = s / a[i + i * n];
        }
      }
      for (int j = 0; j < n; j++) {
        for (int i = j; i < n; i++) {
          double s = 0;
          for (int k = i; k < n; k++) {
            s += w[k + i * n] * w[k + j * n];
          }
          a[i + j * n] = s;
          a[j + i * n] = s;
        }
      }
    }
  }
}
