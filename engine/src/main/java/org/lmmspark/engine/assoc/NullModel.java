package org.lmmspark.engine.assoc;

import java.io.Serializable;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.SpectralReml;

/**
 * The fitted null model of a mixed-model association scan, in the spectral basis of the relationship
 * matrix: {@code y = Xβ + g + e}, {@code g ~ N(0, σ²_g K)}, {@code e ~ N(0, σ²_e I)}, with
 * {@code K = U diag(d) Uᵀ}. In the rotated basis {@code V = σ²_g K + σ²_e I} is diagonal,
 * {@code W = Ũ V⁻¹ = diag(w)}, {@code w_i = 1/(σ²_g d_i + σ²_e)}, and
 * {@code P = V⁻¹ − V⁻¹X(XᵀV⁻¹X)⁻¹XᵀV⁻¹} becomes {@code P̃ = W − G C⁻¹ Gᵀ} with {@code X̃ = UᵀX},
 * {@code G = W X̃}, {@code C = X̃ᵀWX̃}.
 *
 * <p>This object is what a Spark job broadcasts: {@code U} as float ({@code 4n²} bytes, the operand
 * of one SGEMM per genotype block), {@code d}, {@code w}, the rotated phenotype {@code ỹ = Uᵀy}, the
 * rotated covariates {@code X̃}, {@code G}, {@code C⁻¹} and the projected residual {@code r = P̃ỹ}
 * ({@code O(n p)} doubles). Building it costs one DGEMM ({@code O(n² p)}) after the eigendecomposition.
 */
public final class NullModel implements Serializable {
  private static final long serialVersionUID = 1L;

  final int n;
  final int p;
  final float[] u;
  final double[] d;
  final double sigmaG;
  final double sigmaE;
  final double[] w;
  final double[] yRot;
  final double[] xRot;
  final double[] g;
  final double[] cinv;
  final double[] r;
  final int[] famRows;
  final String label;
  final double yPy;

  private NullModel(int n, int p, float[] u, double[] d, double sigmaG, double sigmaE, double[] w, double[] yRot,
      double[] xRot, double[] g, double[] cinv, double[] r, int[] famRows, String label) {
    this.n = n;
    this.p = p;
    this.u = u;
    this.d = d;
    this.sigmaG = sigmaG;
    this.sigmaE = sigmaE;
    this.w = w;
    this.yRot = yRot;
    this.xRot = xRot;
    this.g = g;
    this.cinv = cinv;
    this.r = r;
    this.famRows = famRows;
    this.label = label;
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += yRot[i] * r[i];
    }
    this.yPy = s;
  }

  /**
   * The null model with variance components {@code (σ²_g, σ²_e)} (normally the REML estimates).
   *
   * @param problem y and X over the analysed samples (X must contain an intercept: dosages are centered)
   * @param eigen spectral decomposition of the relationship matrix over the same samples, same order
   * @param famRows {@code .fam} row of each analysed sample (where its genotypes are)
   * @param label what this null is, for logs ("all chromosomes", "LOCO chromosome 3")
   */
  public static NullModel of(RemlProblem problem, SpectralReml.Eigen eigen, double sigmaG, double sigmaE, int[] famRows,
      String label) {
    return of(problem, eigen, sigmaG, sigmaE, famRows, label, null);
  }

  /**
   * As above; with {@code sameEigen} (a model built from the same {@code eigen}, e.g. another trait over the same
   * samples) its float eigenvectors are shared rather than copied, so the models of several traits broadcast
   * U once and a scan rotates each block once for all of them ({@link Mlma#testRange(java.util.List,
   * org.lmmspark.engine.genotype.GenotypeReader, int, int, long, boolean[], double, int, LmmTest,
   * org.apache.hadoop.conf.Configuration, org.lmmspark.engine.genotype.VariantFilterCounts)}).
   */
  public static NullModel of(RemlProblem problem, SpectralReml.Eigen eigen, double sigmaG, double sigmaE, int[] famRows,
      String label, NullModel sameEigen) {
    int n = problem.n();
    int p = problem.p();
    if (eigen.n() != n || famRows.length != n) {
      throw new IllegalArgumentException("eigendecomposition of size " + eigen.n() + " and " + famRows.length
          + " genotype rows for n = " + n);
    }
    if (!hasIntercept(problem.x(), n, p)) {
      throw new IllegalArgumentException("the covariates must include an intercept (genotypes are centered)");
    }
    if (!(sigmaE >= 0 && sigmaG >= 0)) {
      throw new IllegalArgumentException("variance components must be ≥ 0: σ²_g=" + sigmaG + ", σ²_e=" + sigmaE);
    }
    double[] yx = new double[n * (p + 1)];
    System.arraycopy(problem.y(), 0, yx, 0, n);
    System.arraycopy(problem.x(), 0, yx, n, n * p);
    double[] rot = new double[n * (p + 1)];
    // [ỹ X̃] = Uᵀ [y X]
    Blas.dgemm(true, false, n, p + 1, n, 1.0, eigen.vectors(), n, yx, n, 0.0, rot, n);
    double[] yRot = java.util.Arrays.copyOfRange(rot, 0, n);
    double[] xRot = java.util.Arrays.copyOfRange(rot, n, n * (p + 1));
    double[] d = eigen.values().clone();
    double[] w = new double[n];
    for (int i = 0; i < n; i++) {
      double v = sigmaG * d[i] + sigmaE;
      if (!(v > 0)) {
        throw new IllegalArgumentException("V is not positive definite: σ²_g·d_" + i + " + σ²_e = " + v);
      }
      w[i] = 1 / v;
    }
    double[] g = new double[n * p];
    for (int j = 0; j < p; j++) {
      for (int i = 0; i < n; i++) {
        g[i + j * n] = w[i] * xRot[i + j * n];
      }
    }
    double[] c = new double[p * p];
    Blas.dgemm(true, false, p, p, n, 1.0, xRot, n, g, n, 0.0, c, p);
    if (!Blas.dpotrfLower(p, c)) {
      throw new IllegalStateException("XᵀV⁻¹X is not positive definite (collinear covariates should have been caught)");
    }
    Blas.dpotriLowerFull(p, c);
    double[] r = applyP(w, g, c, yRot, n, p);
    float[] u;
    if (sameEigen != null) {
      if (sameEigen.n != n) {
        throw new IllegalArgumentException("eigenvectors of n = " + sameEigen.n + " shared with a model of n = " + n);
      }
      u = sameEigen.u;
    } else {
      double[] vectors = eigen.vectors();
      u = new float[n * n + n];
      for (int i = 0; i < n * n; i++) {
        u[i] = (float) vectors[i];
      }
    }
    return new NullModel(n, p, u, d, sigmaG, sigmaE, w, yRot, xRot, g, c, r, famRows.clone(), label);
  }

  /** {@code P̃ v = W v − G C⁻¹ Gᵀ v}: the REML solver's projection ({@link SpectralReml#applyP}). */
  static double[] applyP(double[] w, double[] g, double[] cinv, double[] v, int n, int p) {
    return SpectralReml.applyP(w, g, cinv, v, n, p);
  }

  static boolean hasIntercept(double[] x, int n, int p) {
    for (int j = 0; j < p; j++) {
      double first = x[j * n];
      if (first == 0) {
        continue;
      }
      boolean constant = true;
      for (int i = 1; i < n && constant; i++) {
        constant = x[i + j * n] == first;
      }
      if (constant) {
        return true;
      }
    }
    return false;
  }

  public int n() {
    return n;
  }

  public int p() {
    return p;
  }

  public double sigmaG() {
    return sigmaG;
  }

  public double sigmaE() {
    return sigmaE;
  }

  /** {@code .fam} row of each analysed sample (not a copy). */
  public int[] famRows() {
    return famRows;
  }

  /** {@code yᵀPy} at the null (≈ n − p at the REML optimum, since σ̂²_e = yᵀP_Hy/(n − p)). */
  public double yPy() {
    return yPy;
  }

  public String label() {
    return label;
  }

  /**
   * The projected residual in the original sample basis, {@code Py = U P̃ ỹ} (what the calibrated test
   * broadcasts instead of U). {@code O(n²)}, from the float eigenvectors (relative error ~1e-7).
   */
  public double[] sampleResidual() {
    double[] out = new double[n];
    for (int k = 0; k < n; k++) {
      double rk = r[k];
      int off = k * n;
      for (int i = 0; i < n; i++) {
        out[i] += u[off + i] * rk;
      }
    }
    return out;
  }

  /** Bytes this model takes when broadcast (dominated by the float eigenvectors). */
  public long approximateBytes() {
    return 4L * u.length + 8L * ((long) n * (5 + 2L * p) + (long) p * p);
  }
}
