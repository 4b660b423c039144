package org.lmmspark.engine.assoc;

import java.io.Serializable;
import org.lmmspark.engine.linalg.Blas;

/**
 * What the calibrated association test ({@link CalibratedTest}) needs of a fitted null model, in the
 * original sample basis: the projected residual {@code r = Py}
 * ({@code P = V⁻¹ − V⁻¹X(XᵀV⁻¹X)⁻¹XᵀV⁻¹}), the covariates X (n×p, with an intercept), an approximation
 * {@code P̃} of P that costs {@code O(n·(k + p))} per variant, and the calibration factor
 * {@code γ = mean of xᵀPx / xᵀP̃x} over sampled variants with its spread ({@link Calibration.Gamma}).
 *
 * <p>The approximation: {@code V⁻¹ ≈ Ṽ⁻¹ = γ₀ I + U_k (W_k − γ₀ I) U_kᵀ}, exact on the span of the k
 * leading eigenvectors {@code U_k} of K (weights {@code W_k = diag(1/(σ²_g d_i + σ²_e))}) and a
 * constant {@code γ₀} (the mean weight of the other eigenvectors) elsewhere, and
 * {@code P̃ = Ṽ⁻¹ − Ṽ⁻¹X(XᵀṼ⁻¹X)⁻¹XᵀṼ⁻¹}. With {@code k = 0} and {@code γ₀ = 1},
 * {@code xᵀP̃x = x̃ᵀx̃}, {@code x̃ = (I − X(XᵀX)⁻¹Xᵀ)x}: the plain BOLT-LMM-inf / GRAMMAR-γ calibration.
 * The k leading eigenvectors carry population structure and close relatedness, where the per-variant
 * ratio {@code xᵀPx/x̃ᵀx̃} varies most (a variant whose frequency differs between populations has much
 * of its length along them, where V⁻¹ is small); treating them exactly is what makes the calibration
 * hold under structure (tested), at the cost of k more dot products per variant.
 *
 * <p>Per variant, with {@code a = U_kᵀx}, {@code b = Xᵀx}, {@code t = (W_k − γ₀)a}:
 * {@code xᵀṼ⁻¹x = γ₀ xᵀx + aᵀt}, {@code XᵀṼ⁻¹x = γ₀ b + (XᵀU_k) t},
 * {@code xᵀP̃x = xᵀṼ⁻¹x − (XᵀṼ⁻¹x)ᵀ (XᵀṼ⁻¹X)⁻¹ (XᵀṼ⁻¹x)}.
 *
 * <p>This is what a Spark job broadcasts for the calibrated test: {@code 8n·(1 + k + p)} bytes
 * (residual, eigenvectors kept, covariates; and the latter two in float), against {@code 4n²} for the exact test.
 * With LOCO there is one such model per chromosome, all but the residual shared when the fit is ({@link
 * #withResidual}; Java serialization and Kryo write a shared array once).
 */
public final class CalibratedModel implements Serializable {
  private static final long serialVersionUID = 1L;

  final int n;
  final int p;
  final int k;
  /** {@code r = Py}, length n. */
  final double[] residual;
  /**
   * {@code [U_k | X]}, n×(k + p) column-major: the same for every model of one fit (LOCO's per-chromosome models, a
   * model with another γ), so shared by them ({@link #withResidual}) rather than copied: 22 copies per trait are
   * {@code 22·n·(k + p)·12} bytes (with the float copy), 0.35 GB for 20 traits at n ≈ 17,500 with p = 4, 2.6 GB per
   * trait at n = 500,000 with k + p = 20.
   */
  final double[] basis;
  /**
   * {@code [U_k | X]} as float, n×(k + p): one SGEMM with a block gives {@code U_kᵀx} and {@code Xᵀx},
   * which only enter the small correction terms of {@code xᵀP̃x} (float's 1e-7 relative error is far
   * below the approximation's); {@code xᵀr} and {@code xᵀx} are summed in double. Shared as {@link #basis}.
   */
  final float[] projF;
  final double gamma0;
  /** {@code W_k − γ₀}, length k. */
  final double[] wk;
  /** {@code XᵀU_k}, p×k. */
  final double[] xu;
  /** {@code (XᵀṼ⁻¹X)⁻¹}, p×p. */
  final double[] cinv;
  final Calibration.Gamma gamma;
  final int[] famRows;
  final String label;

  private CalibratedModel(CalibratedModel shape, double[] residual, Calibration.Gamma gamma, String label) {
    this(shape.n, shape.p, shape.k, residual, shape.basis, shape.projF, shape.gamma0, shape.wk, shape.xu, shape.cinv,
        gamma, shape.famRows, label);
  }

  private CalibratedModel(int n, int p, int k, double[] residual, double[] basis, float[] projF, double gamma0,
      double[] wk, double[] xu, double[] cinv, Calibration.Gamma gamma, int[] famRows, String label) {
    this.n = n;
    this.p = p;
    this.k = k;
    this.residual = residual;
    this.basis = basis;
    this.projF = projF;
    this.gamma0 = gamma0;
    this.wk = wk;
    this.xu = xu;
    this.cinv = cinv;
    this.gamma = gamma;
    this.famRows = famRows;
    this.label = label;
  }

  /**
   * The plain calibrated model ({@code k = 0}): {@code xᵀP̃x = x̃ᵀx̃}.
   *
   * @param residual {@code Py} over the analysed samples (length n)
   * @param x covariates n×p column-major, including an intercept (genotypes are centered)
   * @param gamma the calibration factor, mean of {@code xᵀPx / x̃ᵀx̃} over sampled variants (must be &gt; 0)
   * @param famRows {@code .fam} row of each analysed sample
   */
  public static CalibratedModel of(double[] residual, double[] x, int n, int p, Calibration.Gamma gamma, int[] famRows,
      String label) {
    return of(residual, x, n, p, new double[0], new double[0], 0, 1.0, gamma, famRows, label);
  }

  /**
   * The model with k exact eigenvectors.
   *
   * @param uk the k eigenvectors of K treated exactly, n×k column-major
   * @param wk their weights {@code 1/(σ²_g d_i + σ²_e)}
   * @param gamma0 the weight {@code γ₀} given to the rest of the space (&gt; 0)
   */
  public static CalibratedModel of(double[] residual, double[] x, int n, int p, double[] uk, double[] wk, int k,
      double gamma0, Calibration.Gamma gamma, int[] famRows, String label) {
    if (residual.length != n || x.length != (long) n * p || famRows.length != n || uk.length != (long) n * k
        || wk.length != k) {
      throw new IllegalArgumentException("residual " + residual.length + ", covariates " + x.length + ", rows "
          + famRows.length + ", eigenvectors " + uk.length + ", weights " + wk.length + " for n = " + n + ", p = " + p
          + ", k = " + k);
    }
    if (!NullModel.hasIntercept(x, n, p)) {
      throw new IllegalArgumentException("the covariates must include an intercept (genotypes are centered)");
    }
    if (!(gamma.mean() > 0) || !(gamma0 > 0)) {
      throw new IllegalArgumentException("calibration factors must be > 0, got γ = " + gamma.mean() + ", γ₀ = " + gamma0);
    }
    double[] basis = new double[n * (k + p)];
    System.arraycopy(uk, 0, basis, 0, n * k);
    System.arraycopy(x, 0, basis, n * k, n * p);
    float[] projF = new float[basis.length];
    for (int i = 0; i < basis.length; i++) {
      projF[i] = (float) basis[i];
    }
    double[] w = new double[k];
    for (int j = 0; j < k; j++) {
      w[j] = wk[j] - gamma0;
    }
    double[] xu = new double[p * k];
    if (k > 0) {
      Blas.dgemm(true, false, p, k, n, 1.0, x, n, uk, n, 0.0, xu, p);
    }
    // XᵀṼ⁻¹X = γ₀ XᵀX + (XᵀU_k) diag(W_k − γ₀) (XᵀU_k)ᵀ
    double[] c = new double[p * p];
    Blas.dgemm(true, false, p, p, n, gamma0, x, n, x, n, 0.0, c, p);
    for (int a = 0; a < p; a++) {
      for (int b = 0; b < p; b++) {
        double s = 0;
        for (int j = 0; j < k; j++) {
          s += xu[a + j * p] * w[j] * xu[b + j * p];
        }
        c[a + b * p] += s;
      }
    }
    if (!Blas.dpotrfLower(p, c)) {
      throw new IllegalStateException("XᵀṼ⁻¹X is not positive definite (collinear covariates should have been caught)");
    }
    Blas.dpotriLowerFull(p, c);
    return new CalibratedModel(n, p, k, residual.clone(), basis, projF, gamma0, w, xu, c, gamma, famRows.clone(),
        label);
  }

  /** The same model with another calibration factor. */
  public CalibratedModel withGamma(Calibration.Gamma g) {
    if (!(g.mean() > 0)) {
      throw new IllegalArgumentException("calibration factor γ must be > 0, got " + g.mean());
    }
    return new CalibratedModel(this, residual, g, label);
  }

  /**
   * The model of another residual {@code Py} of the same fit (the same samples, covariates, eigenvectors and
   * weights: LOCO's model of another chromosome), sharing this one's n×(k + p) basis.
   */
  public CalibratedModel withResidual(double[] py, Calibration.Gamma g, String otherLabel) {
    if (py.length != n) {
      throw new IllegalArgumentException("residual of " + py.length + " values for n = " + n);
    }
    if (!(g.mean() > 0)) {
      throw new IllegalArgumentException("calibration factor γ must be > 0, got " + g.mean());
    }
    return new CalibratedModel(this, py.clone(), g, otherLabel);
  }

  /**
   * {@code xᵀP̃x} from {@code xᵀx} and the products {@code proj = [xᵀr, (U_kᵀx)ᵀ, (Xᵀx)ᵀ]} at
   * {@code proj[off..off+1+k+p)}; NaN when x is (to 1e-8 relative) in the span of the covariates.
   * {@code g} is scratch of length p.
   */
  double approximateQuadratic(double xx, double[] proj, int off, double[] g) {
    double quad = gamma0 * xx;
    for (int j = 0; j < k; j++) {
      double a = proj[off + 1 + j];
      quad += a * wk[j] * a;
    }
    int bo = off + 1 + k;
    for (int l = 0; l < p; l++) {
      double s = gamma0 * proj[bo + l];
      for (int j = 0; j < k; j++) {
        s += xu[l + j * p] * wk[j] * proj[off + 1 + j];
      }
      g[l] = s;
    }
    double corr = 0;
    for (int a = 0; a < p; a++) {
      double s = 0;
      for (int b = 0; b < p; b++) {
        s += cinv[a + b * p] * g[b];
      }
      corr += g[a] * s;
    }
    double q = quad - corr;
    return q > 1e-8 * quad ? q : Double.NaN;
  }

  /** Columns of {@code [r | U_k | X]}: {@code 1 + k + p}. */
  int width() {
    return 1 + k + p;
  }

  public int n() {
    return n;
  }

  public int p() {
    return p;
  }

  /** Eigenvectors of K treated exactly. */
  public int k() {
    return k;
  }

  /** The weight given to the space outside the k eigenvectors. */
  public double gamma0() {
    return gamma0;
  }

  public Calibration.Gamma gamma() {
    return gamma;
  }

  /** {@code .fam} row of each analysed sample (not a copy). */
  public int[] famRows() {
    return famRows;
  }

  /** The projected residual {@code Py} (a copy). */
  public double[] residual() {
    return residual.clone();
  }

  public String label() {
    return label;
  }

  /** Bytes this model takes when broadcast alone (models sharing a basis share its bytes too). */
  public long approximateBytes() {
    return 8L * n * width() + 4L * n * (k + p) + 4L * n + 8L * (p * p + p * k + k);
  }
}
