package org.lmmspark.engine.reml;

import java.util.List;
import org.lmmspark.engine.linalg.Blas;

/**
 * The REML likelihood, gradient and average information by dense linear algebra on the driver.
 *
 * <p>At θ: {@code V = Σ_k θ_k V_k + θ_e I}; Cholesky {@code V = LLᵀ} (dpotrf) gives
 * {@code log|V| = 2Σ log L_ii} and {@code V⁻¹} (dpotri); with {@code C = XᵀV⁻¹X},
 * {@code P = V⁻¹ − V⁻¹X C⁻¹ XᵀV⁻¹}; then {@code ℓ = −½(log|V| + log|C| + yᵀPy)},
 * {@code tr(PV_k) = Σ_ij P_ij (V_k)_ij}, and {@code AI_kl = ½ (V_kPy)ᵀ P (V_lPy)}.
 * Cost per evaluation: {@code n³} flops for the factorization and inverse, {@code O(n²(p + K))} for
 * the rest; memory {@code (K + 2) n²} doubles. Formulas as in Gilmour, Thompson &amp; Cullis (1995)
 * and GCTA (Yang et al. 2011).
 */
public final class DenseRemlLikelihood implements RemlLikelihood {
  private final int n;
  private final int p;
  private final double[] y;
  private final double[] x;
  private final double[][] v;
  private final SymmetricOperator[] ops;

  public DenseRemlLikelihood(RemlProblem problem) {
    this.n = problem.n();
    this.p = problem.p();
    this.y = problem.y();
    this.x = problem.x();
    List<VarianceComponent> comps = problem.components();
    this.v = new double[comps.size()][];
    this.ops = new SymmetricOperator[comps.size()];
    for (int k = 0; k < comps.size(); k++) {
      ops[k] = comps.get(k).covariance();
      v[k] = ops[k].toDense();
    }
  }

  @Override
  public int parameters() {
    return v.length + 1;
  }

  @Override
  public int samples() {
    return n;
  }

  /** P at θ (n×n), with log|V| + log|C| in {@code logDets[0]}, β and C⁻¹ in the given arrays; null if V or C is not PD. */
  private double[] projection(double[] theta, double[] logDets, double[] beta, double[] cInvOut) {
    int kk = v.length;
    double[] vinv = new double[n * n];
    for (int i = 0; i < n; i++) {
      vinv[i + i * n] = theta[kk];
    }
    for (int k = 0; k < kk; k++) {
      double t = theta[k];
      if (t != 0) {
        double[] vk = v[k];
        // Lower triangle only: dpotrf reads nothing else.
        for (int c = 0; c < n; c++) {
          int off = c * n;
          for (int r = c; r < n; r++) {
            vinv[off + r] += t * vk[off + r];
          }
        }
      }
    }
    if (!Blas.dpotrfLower(n, vinv)) {
      return null;
    }
    double logDetV = 0;
    for (int i = 0; i < n; i++) {
      logDetV += 2 * Math.log(vinv[i + i * n]);
    }
    Blas.dpotriLowerFull(n, vinv);
    double[] vx = new double[n * p];
    Blas.dgemm(false, false, n, p, n, 1.0, vinv, n, x, n, 0.0, vx, n);
    double[] c = new double[p * p];
    Blas.dgemm(true, false, p, p, n, 1.0, x, n, vx, n, 0.0, c, p);
    if (!Blas.dpotrfLower(p, c)) {
      return null;
    }
    double logDetC = 0;
    for (int i = 0; i < p; i++) {
      logDetC += 2 * Math.log(c[i + i * p]);
    }
    // C⁻¹ and T = V⁻¹X C⁻¹, then P = V⁻¹ − T (V⁻¹X)ᵀ.
    double[] cinv = c.clone();
    Blas.dpotriLowerFull(p, cinv);
    double[] t = new double[n * p];
    Blas.dgemm(false, false, n, p, p, 1.0, vx, n, cinv, p, 0.0, t, n);
    Blas.dgemm(false, true, n, n, p, -1.0, t, n, vx, n, 1.0, vinv, n);
    // β = C⁻¹ XᵀV⁻¹ y = Tᵀ y.
    Blas.dgemv(true, n, p, 1.0, t, y, 0.0, beta);
    System.arraycopy(cinv, 0, cInvOut, 0, p * p);
    logDets[0] = logDetV + logDetC;
    return vinv;
  }

  @Override
  public Evaluation evaluate(double[] theta) {
    int kk = v.length;
    int m = kk + 1;
    double[] logDets = new double[1];
    double[] beta = new double[p];
    double[] cinv = new double[p * p];
    double[] pm = projection(theta, logDets, beta, cinv);
    if (pm == null) {
      return Evaluation.notPositiveDefinite();
    }
    double[] py = new double[n];
    Blas.dgemv(false, n, n, 1.0, pm, y, 0.0, py);
    double yPy = dot(y, py);
    double logL = -0.5 * (logDets[0] + yPy);
    // u_k = V_k P y (residual: P y itself), the working vectors of the AI matrix.
    double[] u = new double[n * m];
    double[] score = new double[m];
    double[] yPVPy = new double[m];
    for (int k = 0; k < m; k++) {
      double tr;
      if (k < kk) {
        double[] uk = new double[n];
        Blas.dgemv(false, n, n, 1.0, v[k], py, 0.0, uk);
        System.arraycopy(uk, 0, u, k * n, n);
        tr = dot(pm, v[k]);
      } else {
        System.arraycopy(py, 0, u, k * n, n);
        tr = 0;
        for (int i = 0; i < n; i++) {
          tr += pm[i + i * n];
        }
      }
      double q = 0;
      for (int i = 0; i < n; i++) {
        q += py[i] * u[k * n + i];
      }
      yPVPy[k] = q;
      score[k] = -0.5 * (tr - q);
    }
    double[] pu = new double[n * m];
    Blas.dgemm(false, false, n, m, n, 1.0, pm, n, u, n, 0.0, pu, n);
    double[] ai = new double[m * m];
    Blas.dgemm(true, false, m, m, n, 0.5, u, n, pu, n, 0.0, ai, m);
    SmallMatrices.symmetrize(ai, m);
    return new Evaluation(true, logL, score, ai, yPVPy, py, beta, cinv);
  }

  @Override
  public double[] observedInformation(double[] theta) {
    int kk = v.length;
    int m = kk + 1;
    double[] pm = projection(theta, new double[1], new double[p], new double[p * p]);
    if (pm == null) {
      return null;
    }
    // B_k = V_k P = (P V_k)ᵀ (n×n), by the operator's own product: a grouping or a Z K Zᵀ costs far
    // less than a dense n³ multiply. tr(P V_k P V_l) = tr(B_k B_l) = Σ_ij (B_k)_ij (B_l)_ji; residual B = P.
    double[][] b = new double[m][];
    for (int k = 0; k < kk; k++) {
      b[k] = new double[n * n];
      ops[k].apply(pm, n, b[k]);
    }
    b[kk] = pm;
    double[] py = new double[n];
    Blas.dgemv(false, n, n, 1.0, pm, y, 0.0, py);
    double[] u = new double[n * m];
    for (int k = 0; k < m; k++) {
      double[] uk = new double[n];
      if (k < kk) {
        Blas.dgemv(false, n, n, 1.0, v[k], py, 0.0, uk);
      } else {
        uk = py.clone();
      }
      System.arraycopy(uk, 0, u, k * n, n);
    }
    double[] pu = new double[n * m];
    Blas.dgemm(false, false, n, m, n, 1.0, pm, n, u, n, 0.0, pu, n);
    double[] info = new double[m * m];
    for (int k = 0; k < m; k++) {
      for (int l = 0; l <= k; l++) {
        double tr = 0;
        double[] bk = b[k];
        double[] bl = b[l];
        for (int j = 0; j < n; j++) {
          for (int i = 0; i < n; i++) {
            tr += bk[i + j * n] * bl[j + i * n];
          }
        }
        double q = 0;
        for (int i = 0; i < n; i++) {
          q += u[k * n + i] * pu[l * n + i];
        }
        info[k + l * m] = q - 0.5 * tr;
        info[l + k * m] = info[k + l * m];
      }
    }
    return info;
  }

  static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

}
