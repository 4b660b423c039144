package org.lmmspark.engine.reml.matfree;

import java.util.Arrays;
import java.util.function.DoubleUnaryOperator;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.SymmetricOperator;

/**
 * Lanczos runs on one symmetric positive semi-definite operator K from R starting vectors (the probes
 * {@code z_r}), kept so that stochastic Lanczos quadrature gives {@code z_rᵀ f(K) z_r ≈ ‖z_r‖² Σ_i u_{1i}² f(μ_i)}
 * ({@code T_r = U diag(μ) Uᵀ} the Lanczos tridiagonal matrix of probe r) for ANY function f, without another
 * product (Golub &amp; Meurant 2010; Ubaru, Chen &amp; Saad 2017, SIAM J Matrix Anal Appl 38:1075).
 *
 * <p>Why it pays in REML with {@code V = θ_g K + θ_e I}: the Krylov space of {@code K + σI} from z is that of K
 * (shift invariance), so one run serves every θ the optimizer visits. The traces {@code tr(V⁻¹K)} are the
 * quadrature of {@code f(λ) = λ/(θ_gλ + θ_e)} and {@code log|V|} that of {@code log(θ_gλ + θ_e)}, where a
 * CG solve of the probes per evaluation ({@link StochasticReml}'s default) carries R more columns through
 * every iteration of every evaluation. The quadrature at θ is as accurate as CG on V from z would be after
 * the same number of steps: CG's iterates are {@code ‖z‖ Q (T + σI)⁻¹ e_1} ({@code σ = θ_e/θ_g}), their relative
 * residual {@code β_{L+1} |e_Lᵀ(T + σI)⁻¹e_1|} ({@link #relativeResidual}), and the error of the quadratic form
 * {@code zᵀ(K + σI)⁻¹z} is {@code rᵀ(K + σI)⁻¹r}, the square of that residual (Gauss quadrature of degree 2L).
 * So the runs are extended only as far as the θ at hand needs ({@link #extendUntil}).
 *
 * <p>Plain three-term recurrence, no reorthogonalization: in finite precision the Lanczos vectors lose
 * orthogonality once Ritz values converge and copies of them appear, but the quadrature stays accurate (the
 * computed T is the exact Lanczos matrix of a nearby problem with a slightly larger spectrum: Greenbaum 1989;
 * Knizhnerman 1996), which is what SLQ relies on.
 *
 * <p>Bilinear forms {@code (z_r ⊙ 1_S)ᵀ f(K) z_r} for index sets S given up front ({@code masks}): the Lanczos
 * approximation {@code f(K) z_r ≈ ‖z_r‖ Q_r f(T_r) e_1} (Q_r the run's Lanczos vectors) dotted with the probe's
 * part on S, {@code ‖z_r‖ gᵀ f(T_r) e_1} with {@code g_l = (z_r ⊙ 1_S)ᵀ q_l} recorded as each step is taken, so
 * that Q is never kept. For {@code f(λ) = 1/(λ + σ)} this is the CG iterate's, whose error is of the order of
 * CG's residual (not its square); in finite precision the approximation stays as good as with orthogonal
 * Lanczos vectors (Musco, Musco &amp; Sidford 2018, SODA, "Stability of the Lanczos method for matrix function
 * approximation"). {@link SharedProbeRuns} uses them as control variates of other traits' probes.
 *
 * <p>A solved column ({@link #withSolved}): one more starting vector b (in REML the trait's y), run beside the
 * probes in the same products but to a stopping tolerance of its own (that of the CG solve it replaces), whose
 * Lanczos vectors are kept, so that besides its quadratic forms {@code bᵀf(K)b} the run gives the vector
 * {@code f(K)b ≈ ‖b‖ Q f(T) e_1} itself ({@link #apply}): for {@code f = 1/(θ_gλ + θ_e)} exactly CG's iterate on
 * {@code θ_gK + θ_eI} from b after the steps taken, at any θ. In finite precision its true residual stays that of
 * the recurrence ({@code β_{L+1}|e_Lᵀ(T + σI)⁻¹e_1|}, {@link #relativeResidual}) up to the products' rounding,
 * orthogonality lost or not (Paige 1976: {@code KQ = QT + β_{L+1}q_{L+1}e_Lᵀ + F} with F of the order of rounding).
 *
 * <p>Cost: one product of K with the columns still being extended per step (one genotype pass for all
 * probes), plus {@code Σ|S|} flops per probe and step for the masks; memory three n×R blocks ({@code K z}, the
 * last two Lanczos vectors) plus O(L) per probe and mask, and n×L for a solved column's L kept vectors.
 */
public final class ProbeLanczos {
  /** β below this times the largest α seen: the Krylov space is invariant and the quadrature exact. */
  static final double BREAKDOWN = 1e-12;

  private final SymmetricOperator k;
  private final int n;
  private final int r;
  private final double[] norm2;
  private final double[] kz;
  private double[] previous;
  private double[] current;
  private final double[][] alpha;
  private final double[][] beta;
  private final int[] steps;
  private final boolean[] exhausted;
  private final double[] scale;
  private int products;
  private final double[][] ritzValues;
  private final double[][] firstComponents;
  private final int[] decomposedAt;
  private final double[][] eigenvectors;
  private final double[] z;
  /** The covariates projected out of the runs (runs on ΠKΠ from Πz), or null. */
  private final CovariateProjection projection;
  private final int[][] masks;
  /** {@code projections[j][s][l] = (z_j ⊙ 1_{masks[s]})ᵀ q_l}. */
  private final double[][][] projections;
  /** Per column, its own stopping tolerance ({@link #pending}), or NaN: the caller's. */
  private final double[] tolerance;
  /** Per column, its Lanczos vectors q_1 … q_L when kept ({@link #withSolved}), else null. */
  private final java.util.List<java.util.List<double[]>> basis;

  /**
   * Takes the first step of every probe (one product {@code K·[z_1 … z_R]}, which also gives {@link #kz}).
   *
   * @param z n×R probes, column-major, none zero
   */
  public ProbeLanczos(SymmetricOperator k, double[] z, int r) {
    this(k, z, r, new int[0][], null);
  }

  /**
   * Runs on {@code ΠKΠ} from the projected probes {@code Πz_r} ({@link CovariateProjection}): every product K·q is
   * followed by Π (the Lanczos vectors stay in range Π, where {@code ΠKΠ + σΠ} is the projected {@code K + σI}),
   * so that {@code (Πz_r)ᵀ f(ΠKΠ) Πz_r} has expectation {@code Σ f(μ_i)} over the eigenvalues μ_i of ΠKΠ on range Π
   * (Rademacher z: {@code E[zzᵀ] = I}). The products are K's ({@link #advance} projects what the caller took).
   */
  public ProbeLanczos(SymmetricOperator k, double[] z, int r, CovariateProjection projection) {
    this(k, z, r, new int[0][], projection);
  }

  /**
   * As {@link #ProbeLanczos(SymmetricOperator, double[], int)}, recording for {@link #bilinear} each probe's part on
   * each index set of {@code masks} (indices into 0 … n−1) against every Lanczos vector.
   */
  public ProbeLanczos(SymmetricOperator k, double[] z, int r, int[][] masks) {
    this(k, z, r, masks, null);
  }

  private ProbeLanczos(SymmetricOperator k, double[] z0, int r, int[][] masks, CovariateProjection projection) {
    this(k, z0, r, masks, projection, -1, Double.NaN);
  }

  /**
   * Runs on {@code ΠKΠ} ({@code projection}, or on K when null) from the R probes and, as column R, from {@code b}
   * (projected as the probes): a solved column, whose run stops where CG on {@code K + σI} from b reaches relative
   * residual {@code tolerance} (whatever tolerance the extension asks of the probes) and whose Lanczos vectors are
   * kept for {@link #apply}. Every product carries the probes still short of their tolerance and b while it is.
   *
   * @param z n×R probes, column-major, none zero
   * @param b n values, not zero (after the projection)
   */
  public static ProbeLanczos withSolved(SymmetricOperator k, double[] z, int r, CovariateProjection projection,
      double[] b, double tolerance) {
    int n = k.size();
    if (b.length != n) {
      throw new IllegalArgumentException("solved column: need " + n + " values, got " + b.length);
    }
    double[] all = Arrays.copyOf(z, n * (r + 1));
    System.arraycopy(b, 0, all, n * r, n);
    return new ProbeLanczos(k, all, r + 1, new int[0][], projection, r, tolerance);
  }

  private ProbeLanczos(SymmetricOperator k, double[] z0, int r, int[][] masks, CovariateProjection projection,
      int solved, double solvedTolerance) {
    this.k = k;
    this.projection = projection;
    double[] z = projection == null ? z0 : projection.projected(z0, r);
    this.n = k.size();
    this.r = r;
    if (z.length < (long) n * r || r < 1) {
      throw new IllegalArgumentException("probes: need n×R = " + n + "×" + r + " values, R ≥ 1");
    }
    norm2 = new double[r];
    previous = new double[n * r];
    current = new double[n * r];
    for (int j = 0; j < r; j++) {
      norm2[j] = BatchedPcg.dot(z, z, j * n, n);
      if (!(norm2[j] > 0)) {
        throw new IllegalArgumentException("probe " + j + " is zero");
      }
      double inv = 1 / Math.sqrt(norm2[j]);
      for (int i = 0; i < n; i++) {
        current[j * n + i] = z[j * n + i] * inv;
      }
    }
    alpha = new double[r][8];
    beta = new double[r][8];
    steps = new int[r];
    exhausted = new boolean[r];
    scale = new double[r];
    ritzValues = new double[r][];
    firstComponents = new double[r][];
    decomposedAt = new int[r];
    Arrays.fill(decomposedAt, -1);
    eigenvectors = new double[r][];
    this.z = z;
    this.masks = masks;
    for (int[] mask : masks) {
      for (int i : mask) {
        if (i < 0 || i >= n) {
          throw new IllegalArgumentException("mask index " + i + " outside 0 … " + (n - 1));
        }
      }
    }
    projections = new double[r][masks.length][8];
    tolerance = new double[r];
    Arrays.fill(tolerance, Double.NaN);
    basis = new java.util.ArrayList<>();
    for (int j = 0; j < r; j++) {
      basis.add(j == solved ? new java.util.ArrayList<>() : null);
    }
    if (solved >= 0) {
      if (!(solvedTolerance > 0 && solvedTolerance < 1)) {
        throw new IllegalArgumentException("solved column's tolerance must be in (0, 1), got " + solvedTolerance);
      }
      tolerance[solved] = solvedTolerance;
    }
    int[] all = new int[r];
    for (int j = 0; j < r; j++) {
      all[j] = j;
    }
    double[] w = step(all, r);
    kz = new double[n * r];
    for (int j = 0; j < r; j++) {
      double s = Math.sqrt(norm2[j]);
      for (int i = 0; i < n; i++) {
        kz[j * n + i] = w[j * n + i] * s;
      }
    }
  }

  /** {@code K z_r} for every probe (n×R), from the first step ({@code ΠKΠz_r} with a projection). */
  public double[] kz() {
    return kz;
  }

  /** Products with K taken so far (each one pass over the probes still extended). */
  public int products() {
    return products;
  }

  /** The most Lanczos steps of any probe. */
  public int maxSteps() {
    return Arrays.stream(steps).max().orElse(0);
  }

  /**
   * One Lanczos step of the probes {@code which[0 … count)}: one product of K with their current vectors.
   * Returns the product {@code K q_j} of each stepped probe in its column of an n×R block (before the
   * recurrence's subtractions; the constructor reads K z from it).
   */
  private double[] step(int[] which, int count) {
    double[] out = new double[n * count];
    k.apply(vectors(which, count), count, out);
    return advance(which, count, out);
  }

  /** The probes still short of {@code tolerance} at shift σ ({@link #extendUntil}), and whether some reached {@code maxSteps}. */
  public record Pending(int[] which, boolean stuck) {
    public int count() {
      return which.length;
    }
  }

  /**
   * Which probes {@link #extendUntil} would step next: those short of {@code tolerance} at σ (a solved column, of
   * its own tolerance).
   */
  public Pending pending(double sigma, double tolerance, int maxSteps) {
    if (!(sigma > 0)) {
      throw new IllegalArgumentException("σ must be > 0, got " + sigma);
    }
    int[] which = new int[r];
    int count = 0;
    boolean stuck = false;
    for (int j = 0; j < r; j++) {
      if (relativeResidual(j, sigma) > (Double.isNaN(this.tolerance[j]) ? tolerance : this.tolerance[j])) {
        if (steps[j] >= maxSteps) {
          stuck = true;
        } else {
          which[count++] = j;
        }
      }
    }
    return new Pending(Arrays.copyOf(which, count), stuck);
  }

  /** The current Lanczos vectors of the probes {@code which[0 … count)}, n×count: what the next step multiplies by K. */
  public double[] vectors(int[] which, int count) {
    double[] in = new double[n * count];
    for (int s = 0; s < count; s++) {
      System.arraycopy(current, which[s] * n, in, s * n, n);
    }
    if (projection != null) {
      projection.project(in, 0, count);
    }
    return in;
  }

  /**
   * One Lanczos step of the probes {@code which[0 … count)} from {@code out = K·vectors(which)} (n×count, taken by
   * the caller, e.g. in a pass shared with other runs; overwritten). Returns the product of each stepped probe in
   * its column of an n×R block.
   */
  public double[] advance(int[] which, int count, double[] out) {
    products++;
    if (projection != null) {
      projection.project(out, 0, count);
    }
    double[] kq = new double[n * r];
    for (int s = 0; s < count; s++) {
      int j = which[s];
      int o = j * n;
      System.arraycopy(out, s * n, kq, o, n);
      int l = steps[j];
      double b = l == 0 ? 0 : beta[j][l - 1];
      double a = 0;
      for (int i = 0; i < n; i++) {
        a += current[o + i] * out[s * n + i];
      }
      double norm = 0;
      for (int i = 0; i < n; i++) {
        double w = out[s * n + i] - a * current[o + i] - b * previous[o + i];
        out[s * n + i] = w;
        norm += w * w;
      }
      norm = Math.sqrt(norm);
      grow(j, l + 1);
      if (basis.get(j) != null) {
        basis.get(j).add(Arrays.copyOfRange(current, o, o + n));
      }
      for (int s2 = 0; s2 < masks.length; s2++) {
        double g = 0;
        for (int i : masks[s2]) {
          g += z[o + i] * current[o + i];
        }
        projections[j][s2][l] = g;
      }
      alpha[j][l] = a;
      beta[j][l] = norm;
      steps[j] = l + 1;
      scale[j] = Math.max(scale[j], Math.abs(a));
      if (norm <= BREAKDOWN * scale[j]) {
        exhausted[j] = true;
        beta[j][l] = 0;
        continue;
      }
      System.arraycopy(current, o, previous, o, n);
      for (int i = 0; i < n; i++) {
        current[o + i] = out[s * n + i] / norm;
      }
    }
    return kq;
  }

  private void grow(int j, int size) {
    if (alpha[j].length < size) {
      alpha[j] = Arrays.copyOf(alpha[j], 2 * size);
      beta[j] = Arrays.copyOf(beta[j], 2 * size);
    }
    for (int s = 0; s < masks.length; s++) {
      if (projections[j][s].length < size) {
        projections[j][s] = Arrays.copyOf(projections[j][s], 2 * size);
      }
    }
  }

  /**
   * Relative residual {@code ‖z − (K + σI)x_L‖/‖z‖} of CG on {@code (K + σI)x = z_r} after the L steps taken
   * ({@code β_{L+1} |e_Lᵀ(T_L + σI)⁻¹ e_1|}); 0 once the Krylov space is exhausted. {@code σ > 0}.
   */
  public double relativeResidual(int probe, double sigma) {
    return exhausted[probe] ? 0 : residuals(probe, sigma)[steps[probe] - 1];
  }

  /**
   * The relative residual after each prefix of the run: element {@code l − 1} that of the first l steps. The
   * Thomas algorithm's forward sweep on {@code T + σI} (positive definite for σ > 0) gives them all at once: the
   * sweep over the first l rows does not depend on the later ones, and the last unknown, the only one wanted, is
   * the sweep's own {@code d_l}.
   */
  private double[] residuals(int probe, double sigma) {
    int l = steps[probe];
    double[] a = alpha[probe];
    double[] b = beta[probe];
    double[] res = new double[l];
    double diag = a[0] + sigma;
    double c;
    double d = 1 / diag;
    res[0] = b[0] * Math.abs(d);
    for (int i = 1; i < l; i++) {
      c = b[i - 1] / diag;
      diag = a[i] + sigma - b[i - 1] * c;
      d = -b[i - 1] * d / diag;
      res[i] = b[i] * Math.abs(d);
    }
    return res;
  }

  /**
   * The fewest steps of probe's run after which CG on {@code (K + σI)} would have reached relative residual
   * {@code tolerance} (all steps taken when none did): quadratures over that prefix ({@link #quadratic(int,
   * DoubleUnaryOperator, int)}) are as accurate as θ asks and do not depend on how far others extended the run.
   */
  public int stepsFor(int probe, double sigma, double tolerance) {
    if (!(sigma > 0)) {
      return steps[probe];
    }
    double[] res = residuals(probe, sigma);
    for (int l = 0; l < res.length; l++) {
      if (res[l] <= tolerance) {
        return l + 1;
      }
    }
    return steps[probe];
  }

  /**
   * Extends the probes' runs until CG on {@code (K + σI)} from each probe would have reached relative residual
   * {@code tolerance} (every probe still short of it one more step per product), at most {@code maxSteps}
   * steps per probe. Returns whether all reached it.
   */
  public boolean extendUntil(double sigma, double tolerance, int maxSteps) {
    while (true) {
      Pending next = pending(sigma, tolerance, maxSteps);
      if (next.count() == 0) {
        return !next.stuck();
      }
      step(next.which(), next.count());
    }
  }

  /** {@code z_rᵀ f(K) z_r ≈ ‖z_r‖² Σ_i u_{1i}² f(μ_i)} over the Ritz values μ of the steps taken. */
  public double quadratic(int probe, DoubleUnaryOperator f) {
    return quadratic(probe, f, steps[probe]);
  }

  /** {@link #quadratic(int, DoubleUnaryOperator)} over the first {@code l} steps of the run. */
  public double quadratic(int probe, DoubleUnaryOperator f, int l) {
    decompose(probe, l);
    double[] mu = ritzValues[probe];
    double[] u1 = firstComponents[probe];
    double s = 0;
    for (int i = 0; i < mu.length; i++) {
      s += u1[i] * u1[i] * f.applyAsDouble(mu[i]);
    }
    return norm2[probe] * s;
  }

  /**
   * {@code (z_r ⊙ 1_S)ᵀ f(K) z_r ≈ ‖z_r‖ Σ_i (gᵀu_i) u_{1i} f(μ_i)} for the index set S = {@code masks[mask]},
   * over the first {@code l} steps ({@code g} the probe's part on S against the Lanczos vectors).
   */
  public double bilinear(int probe, int mask, DoubleUnaryOperator f, int l) {
    decompose(probe, l);
    double[] mu = ritzValues[probe];
    double[] u1 = firstComponents[probe];
    double[] u = eigenvectors[probe];
    double[] g = projections[probe][mask];
    double s = 0;
    for (int i = 0; i < l; i++) {
      double gu = 0;
      for (int a = 0; a < l; a++) {
        gu += g[a] * u[a + i * l];
      }
      s += gu * u1[i] * f.applyAsDouble(mu[i]);
    }
    return Math.sqrt(norm2[probe]) * s;
  }

  /**
   * {@code f(K) b ≈ ‖b‖ Q f(T) e_1 = ‖b‖ Σ_i f(μ_i) u_{1i} Q u_i} for a solved column (its kept Lanczos vectors Q,
   * over every step taken): for {@code f(λ) = 1/(λ + σ)} CG's iterate on {@code K + σI} from b, of relative residual
   * {@link #relativeResidual}. With a projection the result is in range Π up to rounding (the caller projects).
   */
  public double[] apply(int column, DoubleUnaryOperator f) {
    java.util.List<double[]> q = basis.get(column);
    if (q == null) {
      throw new IllegalArgumentException("column " + column + " keeps no Lanczos vectors: not a solved column");
    }
    int l = steps[column];
    decompose(column, l);
    double[] mu = ritzValues[column];
    double[] u1 = firstComponents[column];
    double[] u = eigenvectors[column];
    double[] c = new double[l];
    for (int i = 0; i < l; i++) {
      double w = u1[i] * f.applyAsDouble(mu[i]);
      for (int a = 0; a < l; a++) {
        c[a] += u[a + i * l] * w;
      }
    }
    double norm = Math.sqrt(norm2[column]);
    double[] out = new double[n];
    for (int a = 0; a < l; a++) {
      double ca = norm * c[a];
      double[] qa = q.get(a);
      for (int i = 0; i < n; i++) {
        out[i] += ca * qa[i];
      }
    }
    return out;
  }

  /** Steps taken by the probe's run. */
  public int steps(int probe) {
    return steps[probe];
  }

  private void decompose(int probe, int l) {
    if (l < 1 || l > steps[probe]) {
      throw new IllegalArgumentException("probe " + probe + ": " + l + " steps of " + steps[probe]);
    }
    if (decomposedAt[probe] == l) {
      return;
    }
    double[] t = new double[l * l];
    for (int i = 0; i < l; i++) {
      t[i + i * l] = alpha[probe][i];
      if (i + 1 < l) {
        t[i + 1 + i * l] = beta[probe][i];
        t[i + (i + 1) * l] = beta[probe][i];
      }
    }
    double[] w = new double[l];
    double[] u = new double[l * l];
    Blas.dsyevr(l, t, w, u);
    double[] first = new double[l];
    for (int i = 0; i < l; i++) {
      first[i] = u[i * l];
      // K is positive semi-definite: Ritz values below 0 are rounding (of float products) and are clamped.
      w[i] = Math.max(0, w[i]);
    }
    ritzValues[probe] = w;
    firstComponents[probe] = first;
    eigenvectors[probe] = u;
    decomposedAt[probe] = l;
  }
}
