package org.lmmspark.engine.reml;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where the AI-REML optimizer may move, and in which coordinates. The model's parameters θ enter
 * {@code V(θ) = Σ_j θ_j D_j} linearly (variances, covariances, residual variances per group), which
 * is what the likelihood evaluators take. The optimizer works in coordinates φ with {@code θ = g(φ)}:
 * <ul>
 *   <li>a scalar variance or residual variance is its own coordinate, {@code φ_j = θ_j ≥ lower_j};</li>
 *   <li>an unstructured d×d covariance Σ of a random term (lme4 {@code (1 + t | g)}) is parameterized
 *       by its lower Cholesky factor L, {@code Σ = L Lᵀ} with {@code L_ii ≥ 0} (lme4's relative
 *       covariance factor θ, Bates et al. 2015 §2.2): positive semi-definiteness becomes a box
 *       constraint, so a step never leaves the parameter space and a singular Σ (correlation ±1) is
 *       an ordinary bound {@code L_ii = 0}, reported as a boundary fit.</li>
 * </ul>
 * The score and AI matrix in φ are {@code Jᵀ∇_θℓ} and {@code Jᵀ AI_θ J} with {@code J = ∂θ/∂φ}
 * (Gauss–Newton: the term {@code Σ_j ∂ℓ/∂θ_j ∂²θ_j/∂φ∂φ} vanishes at an interior optimum).
 * Fixed parameters ({@code --fix}) are held at their start values.
 *
 * <p>{@link #identity} is the plain space of the GREML problems ({@code θ ≥ 0}, residual floor), with
 * which {@link AiReml} reproduces its historical iterates exactly.
 */
public final class ParameterSpace {

  /** What a parameter is: EM steps move variances; covariances follow their block's correlation. */
  public enum Kind { VARIANCE, COVARIANCE, RESIDUAL }

  private final List<String> names;
  private final Kind[] kinds;
  private final double[] lower;
  private final boolean[] fixed;
  private final double[] emDivisor;
  /** θ indices of each Cholesky-mapped d×d block, lower triangle in column-major order. */
  private final List<int[]> blocks;
  private final int[] blockDims;

  private ParameterSpace(List<String> names, Kind[] kinds, double[] lower, boolean[] fixed, double[] emDivisor,
      List<int[]> blocks) {
    int m = names.size();
    if (kinds.length != m || lower.length != m || fixed.length != m || emDivisor.length != m) {
      throw new IllegalArgumentException("parameter arrays of different lengths");
    }
    this.names = List.copyOf(names);
    this.kinds = kinds.clone();
    this.lower = lower.clone();
    this.fixed = fixed.clone();
    this.emDivisor = emDivisor.clone();
    this.blocks = List.copyOf(blocks);
    this.blockDims = new int[blocks.size()];
    for (int b = 0; b < blocks.size(); b++) {
      int len = blocks.get(b).length;
      int d = (int) Math.round((Math.sqrt(8.0 * len + 1) - 1) / 2);
      if (d * (d + 1) / 2 != len) {
        throw new IllegalArgumentException("block of " + len + " entries is not a lower triangle");
      }
      blockDims[b] = d;
      for (int j = 0; j < len; j++) {
        int k = blocks.get(b)[j];
        // Cholesky coordinates: diagonal entries of L are ≥ 0, the others free.
        this.lower[k] = isDiagonal(j, d) ? 0 : Double.NEGATIVE_INFINITY;
      }
    }
  }

  /**
   * The GREML space: m parameters, all variances {@code ≥ 0} except the last (the residual) which
   * stays above {@code residualFloor}; EM steps divide by n for every parameter (GCTA).
   */
  public static ParameterSpace identity(List<String> names, int n, double residualFloor) {
    int m = names.size();
    Kind[] kinds = new Kind[m];
    Arrays.fill(kinds, Kind.VARIANCE);
    kinds[m - 1] = Kind.RESIDUAL;
    double[] lower = new double[m];
    lower[m - 1] = residualFloor;
    double[] div = new double[m];
    Arrays.fill(div, n);
    return new ParameterSpace(names, kinds, lower, new boolean[m], div, List.of());
  }

  /** Builds a general space parameter by parameter. */
  public static Builder builder() {
    return new Builder();
  }

  /** Accumulates parameters in θ order. */
  public static final class Builder {
    private final List<String> names = new ArrayList<>();
    private final List<Kind> kinds = new ArrayList<>();
    private final List<Double> lower = new ArrayList<>();
    private final List<Double> div = new ArrayList<>();
    private final List<int[]> blocks = new ArrayList<>();

    /**
     * Adds one parameter.
     *
     * @param lowerBound its lower bound (ignored inside a Cholesky block)
     * @param emDivisor  the rank of its derivative matrix (levels of a term, records of a residual group)
     */
    public int add(String name, Kind kind, double lowerBound, double emDivisor) {
      names.add(name);
      kinds.add(kind);
      lower.add(lowerBound);
      div.add(emDivisor);
      return names.size() - 1;
    }

    /** Declares the parameters {@code idx} (lower triangle of a d×d Σ, column-major) as one Cholesky block. */
    public void choleskyBlock(int[] idx) {
      blocks.add(idx.clone());
    }

    public int size() {
      return names.size();
    }

    /** The space, with the parameters of {@code fixedMask} held at their start values. */
    public ParameterSpace build(boolean[] fixedMask) {
      int m = names.size();
      double[] lo = new double[m];
      double[] dv = new double[m];
      for (int k = 0; k < m; k++) {
        lo[k] = lower.get(k);
        dv[k] = div.get(k);
      }
      return new ParameterSpace(names, kinds.toArray(new Kind[0]), lo, fixedMask, dv, blocks);
    }
  }

  public int size() {
    return names.size();
  }

  public List<String> names() {
    return names;
  }

  public Kind kind(int k) {
    return kinds[k];
  }

  public boolean isFixed(int k) {
    return fixed[k];
  }

  /** Lower bound of coordinate φ_k. */
  double[] lower() {
    return lower;
  }

  double emDivisor(int k) {
    return emDivisor[k];
  }

  /** True when θ = φ (no Cholesky blocks): the optimizer then skips the Jacobian altogether. */
  boolean isIdentity() {
    return blocks.isEmpty();
  }

  /** The θ indices of each Cholesky block and their dimension. */
  public List<int[]> blocks() {
    return blocks;
  }

  public int blockDimension(int b) {
    return blockDims[b];
  }

  private static boolean isDiagonal(int j, int d) {
    // Column-major lower triangle: column c holds rows c..d-1; its first entry is the diagonal.
    int start = 0;
    for (int c = 0; c < d; c++) {
      if (j == start) {
        return true;
      }
      start += d - c;
    }
    return false;
  }

  /** {@code θ = g(φ)}. */
  double[] theta(double[] phi) {
    double[] theta = phi.clone();
    for (int b = 0; b < blocks.size(); b++) {
      int d = blockDims[b];
      int[] idx = blocks.get(b);
      double[] l = unpack(phi, idx, d);
      double[] s = new double[d * d];
      for (int i = 0; i < d; i++) {
        for (int j = 0; j <= i; j++) {
          double v = 0;
          for (int k = 0; k <= j; k++) {
            v += l[i + k * d] * l[j + k * d];
          }
          s[i + j * d] = v;
        }
      }
      pack(s, idx, d, theta);
    }
    return theta;
  }

  /**
   * {@code φ = g⁻¹(θ)}: the Cholesky factor of each block (a positive semi-definite Σ whose pivot
   * vanishes gets a zero column below it), or null when a block is not positive semi-definite.
   */
  double[] phi(double[] theta) {
    double[] phi = theta.clone();
    for (int b = 0; b < blocks.size(); b++) {
      int d = blockDims[b];
      int[] idx = blocks.get(b);
      double[] s = unpack(theta, idx, d);
      double[] l = new double[d * d];
      for (int j = 0; j < d; j++) {
        double diag = s[j + j * d];
        for (int k = 0; k < j; k++) {
          diag -= l[j + k * d] * l[j + k * d];
        }
        double scale = Math.max(Math.abs(s[j + j * d]), 1e-300);
        if (diag < -1e-10 * scale) {
          return null;
        }
        double ljj = Math.sqrt(Math.max(diag, 0));
        l[j + j * d] = ljj;
        for (int i = j + 1; i < d; i++) {
          double v = s[i + j * d];
          for (int k = 0; k < j; k++) {
            v -= l[i + k * d] * l[j + k * d];
          }
          if (ljj > 0) {
            l[i + j * d] = v / ljj;
          } else if (Math.abs(v) > 1e-10 * Math.sqrt(scale * Math.max(Math.abs(s[i + i * d]), 1e-300))) {
            return null;
          }
        }
      }
      pack(l, idx, d, phi);
    }
    return phi;
  }

  /** {@code J = ∂θ/∂φ}, m×m column-major. */
  double[] jacobian(double[] phi) {
    int m = phi.length;
    double[] jac = new double[m * m];
    boolean[] inBlock = new boolean[m];
    for (int b = 0; b < blocks.size(); b++) {
      int d = blockDims[b];
      int[] idx = blocks.get(b);
      double[] l = unpack(phi, idx, d);
      // Σ_ij = Σ_k L_ik L_jk, so ∂Σ_ij/∂L_ab = δ_ai L_jb + δ_aj L_ib (i ≥ j, a ≥ b).
      for (int i = 0; i < d; i++) {
        for (int j = 0; j <= i; j++) {
          int row = idx[position(i, j, d)];
          inBlock[row] = true;
          for (int a = 0; a < d; a++) {
            for (int bb = 0; bb <= a; bb++) {
              double v = (a == i ? l[j + bb * d] : 0) + (a == j ? l[i + bb * d] : 0);
              if (v != 0) {
                jac[row + idx[position(a, bb, d)] * m] += v;
              }
            }
          }
        }
      }
    }
    for (int k = 0; k < m; k++) {
      if (!inBlock[k]) {
        jac[k + k * m] = 1;
      }
    }
    return jac;
  }

  /**
   * An EM-REML step in θ (Searle et al. 1992): each free variance
   * {@code θ_k ← θ_k + θ_k²·2(∂ℓ/∂θ_k)/r_k} with {@code r_k} the rank of its derivative matrix, kept
   * at or above its bound; in a Cholesky block the covariances are rescaled so that the correlations
   * stay as they were (the block stays positive semi-definite). Returns φ.
   */
  double[] emStep(double[] phi, double[] theta, double[] score) {
    if (isIdentity()) {
      double[] next = new double[theta.length];
      for (int k = 0; k < theta.length; k++) {
        // tr(PV_k) − yᵀPV_kPy = −2 score_k.
        next[k] = fixed[k] ? theta[k] : Math.max(lower[k], theta[k] + theta[k] * theta[k] * 2 * score[k] / emDivisor[k]);
      }
      return next;
    }
    double[] next = theta.clone();
    for (int k = 0; k < theta.length; k++) {
      if (!fixed[k] && kinds[k] != Kind.COVARIANCE) {
        double lo = Double.isFinite(lower[k]) ? Math.max(lower[k], 0) : 0;
        next[k] = Math.max(lo, theta[k] + theta[k] * theta[k] * 2 * score[k] / emDivisor[k]);
      }
    }
    for (int b = 0; b < blocks.size(); b++) {
      int d = blockDims[b];
      int[] idx = blocks.get(b);
      for (int i = 0; i < d; i++) {
        for (int j = 0; j < i; j++) {
          int k = idx[position(i, j, d)];
          double before = Math.sqrt(theta[idx[position(i, i, d)]] * theta[idx[position(j, j, d)]]);
          double after = Math.sqrt(next[idx[position(i, i, d)]] * next[idx[position(j, j, d)]]);
          next[k] = before > 0 ? theta[k] * after / before : 0;
        }
      }
    }
    double[] p = phi(next);
    return p != null ? p : phi.clone();
  }

  /** Index within a column-major lower triangle of the entry (i, j), i ≥ j. */
  static int position(int i, int j, int d) {
    return j * d - j * (j - 1) / 2 + (i - j);
  }

  private static double[] unpack(double[] v, int[] idx, int d) {
    double[] a = new double[d * d];
    for (int i = 0; i < d; i++) {
      for (int j = 0; j <= i; j++) {
        a[i + j * d] = v[idx[position(i, j, d)]];
      }
    }
    return a;
  }

  private static void pack(double[] a, int[] idx, int d, double[] out) {
    for (int i = 0; i < d; i++) {
      for (int j = 0; j <= i; j++) {
        out[idx[position(i, j, d)]] = a[i + j * d];
      }
    }
  }

  /**
   * For each Cholesky block whose factor has a zero pivot at φ, the block index: Σ is singular there
   * (a correlation of ±1, or a variance at 0), lme4's "boundary (singular) fit".
   */
  List<Integer> singularBlocks(double[] phi) {
    List<Integer> out = new ArrayList<>();
    for (int b = 0; b < blocks.size(); b++) {
      int d = blockDims[b];
      for (int i = 0; i < d; i++) {
        if (phi[blocks.get(b)[position(i, i, d)]] <= 0) {
          out.add(b);
          break;
        }
      }
    }
    return out;
  }
}
