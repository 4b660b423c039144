package org.lmmspark.engine.reml;

import java.util.List;
import java.util.Locale;
import org.lmmspark.engine.linalg.BandReduction;
import org.lmmspark.engine.linalg.BandedInverse;
import org.lmmspark.engine.linalg.Blas;

/**
 * REML for one relationship matrix, {@code V = σ²_g K + σ²_e I}, in a basis where K is cheap
 * (FaST-LMM, Lippert et al. 2011; GEMMA, Zhou &amp; Stephens 2012).
 *
 * <p>The data are rotated once into a basis where {@code K = Q B Qᵀ} has B banded: {@code ỹ = Qᵀy},
 * {@code X̃ = QᵀX}, and V becomes {@code σ²_e H}, {@code H = λB + I}, {@code λ = σ²_g/σ²_e}. Two such
 * bases are used:
 * <ul>
 *   <li>{@link #fit(RemlProblem)}: a two-stage-style reduction to band form ({@link BandReduction}, half-bandwidth
 *       {@value #BANDWIDTH}; all level-3 BLAS, {@code 4n³/3} flops), and nothing more of K: REML needs neither
 *       eigenvectors nor eigenvalues. This is ~3× faster than a full eigendecomposition ({@code dsyevd}, whose one-stage
 *       tridiagonalization is memory-bound), and B's eigenvalues ({@code O(n²·kd)} on one thread, a fifth of the
 *       solver's time at n = 10,000 when they were used) are not computed;</li>
 *   <li>{@link #fit(RemlProblem, Eigen)}: the eigenbasis from {@link #decompose} ({@code B = diag(d)}, kd = 0),
 *       for callers that need the eigenvectors anyway (the exact association test rotates every variant).</li>
 * </ul>
 * Profiling out σ²_e, {@code σ̂²_e(λ) = ỹᵀP_Hỹ/(n−p)} and
 * {@code ℓ(λ) = −½((n−p) log σ̂²_e + log|H| + log|X̃ᵀH⁻¹X̃| + (n−p))}; each evaluation is one banded
 * Cholesky of H and solves with {@code [ỹ X̃]}, {@code O(n·kd²+ n·kd·p)}. The profile ℓ(λ) on a grid over
 * {@code log λ} in {@code [1e-5, 1e5]} (GEMMA's range), and at {@code λ = 0}, gives the start; from there this
 * likelihood (score and AI matrix in the same banded algebra) is maximized by the one AI-REML optimizer
 * ({@link AiReml#maximize}), whose active set holds σ²_g at 0 on the boundary. Standard errors come from the
 * average information matrix at the optimum (as the dense solver's), and the observed information is computed too, using
 * {@code P̃ = V⁻¹ − G C⁻¹ Gᵀ}, {@code G = V⁻¹X̃}. Traces of functions of B ({@code tr(V⁻¹B)} in the score,
 * {@code tr(V⁻¹BV⁻¹B)} and the like in the observed information) come from the band of {@code V⁻¹} by selected
 * inversion of V's banded Cholesky factor and its derivatives ({@link BandedInverse}, {@code O(n·kd²)}); λ's upper
 * bound when K has eigenvalues below 0 from K's smallest eigenvalue, bracketed by banded Cholesky factorizations and
 * inverse iteration ({@link #lambdaMax}).
 */
public final class SpectralReml implements RemlSolver {
  static final double LAMBDA_MIN = 1e-5;
  static final double LAMBDA_MAX = 1e5;
  static final int GRID = 51;
  /** Half-bandwidth of the band form: wide enough for DSYMM/DSYR2K to run near the GEMM rate, narrow enough for O(n·kd²) banded Cholesky per λ. */
  static final int BANDWIDTH = 64;

  /** {@code K = U diag(values) Uᵀ}; {@code vectors} n×n column-major. */
  public record Eigen(int n, double[] values, double[] vectors) {}

  @Override
  public String name() {
    return "spectral";
  }

  /**
   * One LAPACK eigendecomposition of the component's dense matrix (dsyevd: on OpenBLAS it beat
   * dsyevr several-fold, see {@link Blas#dsyevd}). Eigenvalues within 1e-10·max|d| of 0 are set to 0.
   */
  public static Eigen decompose(SymmetricOperator k) {
    int n = k.size();
    double[] z = k.toDense();
    double[] w = new double[n];
    Blas.dsyevd(n, z, w);
    double max = 0;
    for (double d : w) {
      max = Math.max(max, Math.abs(d));
    }
    for (int i = 0; i < n; i++) {
      if (Math.abs(w[i]) < 1e-10 * max) {
        w[i] = 0;
      }
    }
    return new Eigen(n, w, z);
  }

  /**
   * K in band form, {@code K = Q B Qᵀ} ({@link BandReduction}), for more fits in the same basis and for callers that
   * need more than the fit there (the calibrated association null); {@code timing} says for the log how long the
   * reduction took, on how many threads.
   */
  public record Band(BandReduction reduction, String timing) {
    public int n() {
      return reduction.size();
    }
  }

  /**
   * One reduction of the component's dense matrix to band form: {@code 4n³/3} level-3 flops on the driver's threads
   * ({@link Blas#driverThreads()}). The same bits for any thread count: the reduction's tiles are fixed
   * ({@link BandReduction#reduce(int, double[], int, int)}) and every other BLAS call of the band route runs on one
   * OpenBLAS thread. The reduction overwrites one copy of K, made straight into its padded array for a dense K (at
   * n = 10,000 a second 800 MB copy cost ~2 CPU-s and as much memory).
   */
  public static Band reduce(SymmetricOperator k) {
    return reduce(k, Blas.driverThreads());
  }

  /** {@link #reduce(SymmetricOperator)} on {@code threads} threads. */
  public static Band reduce(SymmetricOperator k, int threads) {
    long t0 = System.nanoTime();
    BandReduction reduction = toBand(k, threads);
    return new Band(reduction, timing(System.nanoTime() - t0, threads));
  }

  /** K reduced to band form on {@code threads} threads, in one padded copy of K. */
  private static BandReduction toBand(SymmetricOperator k, int threads) {
    int n = k.size();
    double[] a = k instanceof DenseSymmetricMatrix dense ? dense.copyOf(BandReduction.paddedLength(n))
        : java.util.Arrays.copyOf(k.toDense(), BandReduction.paddedLength(n));
    return BandReduction.reduce(n, a, Math.max(1, Math.min(BANDWIDTH, n - 1)), threads);
  }

  private static String timing(long reductionNanos, int threads) {
    return String.format(Locale.ROOT, "reduction %.1f s on %d thread(s)", reductionNanos / 1e9, threads);
  }

  @Override
  public RemlFit fit(RemlProblem problem) {
    return fitReducing(problem).fit();
  }

  /** A fit and the band form of K it was made in, for more fits with the same K ({@link #fit(RemlProblem, Band)}). */
  public record Fitted(Band band, RemlFit fit) {}

  /** {@link #fitReducing(RemlProblem, int)} on the driver's threads ({@link Blas#driverThreads()}). */
  public Fitted fitReducing(RemlProblem problem) {
    return fitReducing(problem, Blas.driverThreads());
  }

  /**
   * Reduces the single component to band form on {@code threads} threads ({@link #reduce(SymmetricOperator, int)})
   * and fits in it. With two or more threads, λ's upper bound ({@link #lambdaMax}: one banded Cholesky when K has no
   * eigenvalue below {@code −1e-5}, a few more and some solves when it has) is found on a thread of its own beside the
   * rotation {@code Qᵀ[y X]}, which does not need it. The result is the same bits as
   * {@code fit(problem, reduce(k, threads))} on any thread count: the same calls on the same data, some at the same
   * time.
   */
  public Fitted fitReducing(RemlProblem problem, int threads) {
    if (problem.components().size() != 1) {
      throw new IllegalArgumentException("the spectral solver handles exactly one variance component, got "
          + problem.components().size());
    }
    long t0 = System.nanoTime();
    BandReduction reduction = toBand(problem.components().get(0).covariance(), threads);
    Band band = new Band(reduction, timing(System.nanoTime() - t0, threads));
    return Blas.withThreads(1, () -> {
      // Started inside withThreads(1) and joined before it ends: OpenBLAS's thread count is global, and the bound's
      // LAPACK calls must run on one thread as fit(problem, band)'s do (same bits).
      java.util.concurrent.FutureTask<Bound> bound = new java.util.concurrent.FutureTask<>(() -> Bound.of(reduction));
      boolean beside = threads > 1;
      if (beside) {
        Thread t = new Thread(bound, "lmmspark-lambda-bound");
        t.setDaemon(true);
        t.start();
      } else {
        bound.run();
      }
      Rotated rot = rotate(problem, reduction);
      Bound b = org.lmmspark.engine.TaskFailures.join(bound, "λ's upper bound");
      return new Fitted(band, fitInBand(problem, band, rot, b, beside ? ", beside the rotation" : ""));
    });
  }

  /**
   * Fits in a precomputed band form of the single component; its BLAS calls (the rotation by Q, the banded solves)
   * on one OpenBLAS thread, so that the fit is the same bits whatever the driver's thread count.
   */
  public RemlFit fit(RemlProblem problem, Band band) {
    return Blas.withThreads(1, () -> fitInBand(problem, band, rotate(problem, band.reduction()),
        Bound.of(band.reduction()), ""));
  }

  /** {@code [ỹ X̃] = Qᵀ[y X]}. */
  private static Rotated rotate(RemlProblem problem, BandReduction reduction) {
    int p = problem.p();
    if (reduction.size() != problem.n()) {
      throw new IllegalArgumentException("band form of size " + reduction.size() + " for n = " + problem.n());
    }
    double[] yx = stack(problem);
    reduction.applyQt(yx, p + 1);
    return new Rotated(problem.n(), p, reduction.bandwidth(), reduction.band(), yx);
  }

  private RemlFit fitInBand(RemlProblem problem, Band band, Rotated rot, Bound bound, String boundNote) {
    BandReduction reduction = band.reduction();
    return fit(problem, rot, bound.lamMax(), pyRot -> {
      double[] py = pyRot.clone();
      reduction.applyQ(py, 1);
      return py;
    }, String.format(Locale.ROOT, "band form (half-bandwidth %d; %s, λ bound %.2f s%s)", reduction.bandwidth(),
        band.timing(), bound.nanos() / 1e9, boundNote));
  }

  /** λ's upper bound for K's band form ({@link #lambdaMax}) and how long it took to find. */
  private record Bound(double lamMax, long nanos) {
    static Bound of(BandReduction reduction) {
      long t0 = System.nanoTime();
      double lamMax = lambdaMax(reduction.band(), reduction.size(), reduction.bandwidth());
      return new Bound(lamMax, System.nanoTime() - t0);
    }
  }

  /**
   * The upper end of λ: {@code H = λB + I} must stay positive definite when K has negative eigenvalues, so
   * {@code λ < 1/|d_min|}; {@code min(LAMBDA_MAX, 0.999/|d_min|)} when {@code d_min < 0}, else {@code LAMBDA_MAX}.
   * For B diagonal (kd = 0, the eigenbasis) d_min is its least entry. For a band B: if {@code B + (0.999/LAMBDA_MAX)·I}
   * has a Cholesky factor, {@code d_min > −0.999/LAMBDA_MAX} and the bound is {@code LAMBDA_MAX} (one {@code dpbtrf},
   * {@code O(n·kd²)}); otherwise d_min comes from {@link #smallestEigenvalue}.
   */
  static double lambdaMax(double[] band, int n, int kd) {
    double shift = 0.999 / LAMBDA_MAX;
    double dMin;
    if (kd == 0) {
      dMin = 0;
      for (int i = 0; i < n; i++) {
        dMin = Math.min(dMin, band[i]);
      }
    } else if (BandReduction.choleskyOfShifted(band, n, kd, 1, shift) != null) {
      return LAMBDA_MAX;
    } else {
      dMin = smallestEigenvalue(band, n, kd, -shift);
    }
    return dMin < 0 ? Math.min(LAMBDA_MAX, 0.999 / -dMin) : LAMBDA_MAX;
  }

  /**
   * The smallest eigenvalue of the band B (lower band storage, half-bandwidth kd ≥ 1), known to be at most
   * {@code hi < 0} (B − hi·I has no Cholesky factor), to {@code 1e-12} relative plus a few ulps of ‖B‖ — as accurate
   * as an eigensolver's {@code ε‖B‖}, for a fraction of its {@code O(n²·kd)}. A bracket {@code lo < d_min ≤ hi} is
   * kept, {@code lo} a shift where the banded Cholesky of {@code B − lo·I} exists ({@code dpbtrf}, {@code O(n·kd²)};
   * it exists if and only if {@code lo < d_min}): found by stepping down by factors of 4 from hi (Gershgorin's bound
   * ends it); then, in rounds, a few steps of inverse iteration with that factor (each a solve, {@code O(n·kd)}),
   * whose Rayleigh quotients are upper bounds of d_min and converge to it, lower hi; a factorization just below hi
   * then confirms it (done) or moves hi down, and one at the bracket's midpoint halves it, giving the next round a
   * closer shift. At n = 10,000, kd = 64 a handful of factorizations.
   */
  static double smallestEigenvalue(double[] band, int n, int kd, double hi) {
    int ld = kd + 1;
    double norm = 0; // Gershgorin: every |eigenvalue| ≤ max_i Σ_j |B_ij|
    double[] rowSum = new double[n];
    for (int j = 0; j < n; j++) {
      rowSum[j] += Math.abs(band[j * ld]);
      for (int q = 1; q <= Math.min(kd, n - 1 - j); q++) {
        double v = Math.abs(band[q + j * ld]);
        rowSum[j] += v;
        rowSum[j + q] += v;
      }
    }
    for (double r : rowSum) {
      norm = Math.max(norm, r);
    }
    double floor = -2 * norm - Double.MIN_NORMAL; // B − floor·I ≥ norm·I: positive definite
    double lo = hi;
    double[] f;
    do {
      hi = lo;
      lo = Math.max(4 * lo, floor);
      f = BandReduction.choleskyOfShifted(band, n, kd, 1, -lo);
    } while (f == null && lo > floor);
    if (f == null) {
      throw new IllegalStateException("no Cholesky factor of B + 2‖B‖·I: B is not finite");
    }
    java.util.SplittableRandom rng = new java.util.SplittableRandom(20261202L);
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = rng.nextDouble() - 0.5;
    }
    double[] bv = new double[n];
    for (int round = 0; round < 200; round++) {
      double tol = 1e-12 * -hi + 16 * Math.ulp(norm);
      if (hi - lo <= tol) {
        break;
      }
      for (int step = 0; step < 8; step++) {
        v = BandReduction.solveCholesky(f, n, kd, v, 1);
        double norm2 = DenseRemlLikelihood.dot(v, v);
        double scale = 1 / Math.sqrt(norm2);
        for (int i = 0; i < n; i++) {
          v[i] *= scale;
        }
        Blas.level3().dsbmv("L", n, kd, 1.0, band, 0, ld, v, 0, 1, 0.0, bv, 0, 1);
        hi = Math.min(hi, DenseRemlLikelihood.dot(v, bv)); // a Rayleigh quotient: ≥ d_min
      }
      tol = 1e-12 * -hi + 16 * Math.ulp(norm);
      if (hi - lo <= tol) {
        break;
      }
      double below = hi - tol;
      double[] fb = BandReduction.choleskyOfShifted(band, n, kd, 1, -below);
      if (fb != null) {
        lo = below;
        break;
      }
      hi = below;
      double mid = 0.5 * (lo + hi);
      double[] fm = BandReduction.choleskyOfShifted(band, n, kd, 1, -mid);
      if (fm != null) {
        lo = mid;
        f = fm;
      } else {
        hi = mid;
      }
    }
    return 0.5 * (lo + hi);
  }

  /** Fits with a precomputed eigendecomposition of the single component (the association null model's basis). */
  public RemlFit fit(RemlProblem problem, Eigen eigen) {
    int n = problem.n();
    int p = problem.p();
    if (eigen.n() != n) {
      throw new IllegalArgumentException("eigendecomposition of size " + eigen.n() + " for n = " + n);
    }
    // [ỹ X̃] = Uᵀ [y X]: one DGEMM.
    double[] r = new double[n * (p + 1)];
    Blas.dgemm(true, false, n, p + 1, n, 1.0, eigen.vectors(), n, stack(problem), n, 0.0, r, n);
    Rotated rot = new Rotated(n, p, 0, eigen.values().clone(), r);
    return fit(problem, rot, lambdaMax(rot.band, n, 0), pyRot -> {
      double[] py = new double[n];
      Blas.dgemv(false, n, n, 1.0, eigen.vectors(), pyRot, 0.0, py);
      return py;
    }, "eigenbasis");
  }

  private static double[] stack(RemlProblem problem) {
    int n = problem.n();
    double[] yx = new double[n * (problem.p() + 1)];
    System.arraycopy(problem.y(), 0, yx, 0, n);
    System.arraycopy(problem.x(), 0, yx, n, n * problem.p());
    return yx;
  }

  /**
   * Where AI-REML starts: the profile likelihood ℓ(λ) on {@value #GRID} points over log λ in
   * {@code [min(LAMBDA_MIN, lamMax/10), lamMax]} and at λ = 0, the best of them ({@code lambda0}) and σ̂²_e there;
   * {@code lamMax} from {@link #lambdaMax}.
   */
  private record Start(double lo, double hi, double lambda0, double s2) {
    static Start on(Rotated rot, double lamMax) {
      double lo = Math.log(Math.min(LAMBDA_MIN, lamMax / 10));
      double hi = Math.log(lamMax);
      double[] grid = new double[GRID];
      double[] val = new double[GRID];
      int best = 0;
      for (int g = 0; g < GRID; g++) {
        grid[g] = lo + (hi - lo) * g / (GRID - 1);
        val[g] = rot.profile(Math.exp(grid[g]));
        if (val[g] > val[best]) {
          best = g;
        }
      }
      double atZero = rot.profile(0);
      boolean startAtZero = atZero >= val[best];
      double lambda0 = startAtZero ? 0 : Math.exp(grid[best]);
      return new Start(lo, hi, lambda0, rot.sigma2(lambda0));
    }
  }

  /** The fit in the rotated basis, λ in {@code [0, lamMax]} ({@link #lambdaMax}). */
  private RemlFit fit(RemlProblem problem, Rotated rot, double lamMax, java.util.function.UnaryOperator<double[]> back,
      String basis) {
    Start start = Start.on(rot, lamMax);
    double lo = start.lo();
    double hi = start.hi();
    double lambda0 = start.lambda0();
    double s2 = start.s2();
    // The grid gives the start (the profile likelihood can have more than one local maximum in λ; the grid
    // finds the global one's basin); the one AI-REML optimizer takes it from there on this O(n) likelihood.
    double[] nullS2 = new double[1];
    problem.nullLogL(nullS2);
    ParameterSpace space = ParameterSpace.identity(List.of(problem.components().get(0).name(), "e"), rot.n,
        AiReml.RESIDUAL_FLOOR * nullS2[0]);
    AiReml.Optimum opt = new AiReml(name(), null, 0, AiReml.DEFAULT_MAX_ITERATIONS)
        .maximize(rot, space, new double[] {lambda0 * s2, s2});
    double[] theta = opt.theta();
    Full full = rot.full(theta);
    double[] py = back.apply(full.pyRot);
    double[] cov = SmallMatrices.invertSpd(full.ai, 2);
    if (cov == null) {
      cov = SmallMatrices.filled(4, Double.NaN);
    }
    double[] obsCov = SmallMatrices.invertSpd(full.observed, 2);
    boolean[] boundary = opt.boundary();
    String message = String.format(Locale.ROOT,
        "%s; started from a %d-point grid over log λ on [%.0e, %.0e] and λ = 0, then AI-REML: %s%s%s", basis, GRID,
        Math.exp(lo), Math.exp(hi), opt.message(), boundary[0] ? "; σ²_g is on the boundary 0" : "",
        boundary[1] ? "; σ²_e at its floor" : "");
    return new RemlFit(name(), List.of(problem.components().get(0).name()), theta, cov, obsCov, full.logL, full.score,
        full.beta, full.cinv, py, boundary, GRID + 1 + opt.iterations(), opt.converged(), message);
  }

  /** Quantities at the optimum, in the rotated basis. */
  private record Full(double logL, double[] score, double[] ai, double[] observed, double[] beta, double[] cinv,
      double[] pyRot) {}

  /**
   * The rotated data: K as the banded B (half-bandwidth kd, LAPACK lower band storage; kd = 0 in the
   * eigenbasis, where B = diag(d)), ỹ (n) and X̃ (n×p). Everything K-shaped is a function of B, so the solves are
   * banded Cholesky and the traces come from the band of V⁻¹ ({@link BandedInverse}).
   */
  private static final class Rotated implements RemlLikelihood {
    final int n;
    final int p;
    final int kd;
    final double[] band;
    final double[] y;
    final double[] x;

    Rotated(int n, int p, int kd, double[] band, double[] yx) {
      this.n = n;
      this.p = p;
      this.kd = kd;
      this.band = band;
      this.y = java.util.Arrays.copyOfRange(yx, 0, n);
      this.x = java.util.Arrays.copyOfRange(yx, n, n * (p + 1));
    }

    /** The banded Cholesky factor of {@code a·B + b·I}, or null when it is not positive definite. */
    double[] factor(double a, double b) {
      return BandReduction.choleskyOfShifted(band, n, kd, a, b);
    }

    /** {@code log|a·B + b·I|} from its factor. */
    double logDet(double[] factor) {
      double s = 0;
      for (int j = 0; j < n; j++) {
        s += 2 * Math.log(factor[j * (kd + 1)]);
      }
      return s;
    }

    /** Solves with the factored matrix, n×cols, returning a new array. */
    double[] solve(double[] factor, double[] rhs, int cols) {
      return BandReduction.solveCholesky(factor, n, kd, rhs, cols);
    }

    /** {@code B·v} for v n×cols. */
    double[] timesB(double[] v, int cols) {
      double[] out = new double[n * cols];
      for (int c = 0; c < cols; c++) {
        Blas.level3().dsbmv("L", n, kd, 1.0, band, 0, kd + 1, v, c * n, 1, 0.0, out, c * n, 1);
      }
      return out;
    }

    /** ỹᵀP_Hỹ, log|H| and log|X̃ᵀH⁻¹X̃| at λ, into out[0..2]; false if H or X̃ᵀH⁻¹X̃ is not PD. */
    boolean parts(double lambda, double[] out) {
      double[] f = factor(lambda, 1);
      if (f == null) {
        return false;
      }
      double[] hy = solve(f, y, 1);
      double[] hx = solve(f, x, p);
      double[] c = new double[p * p];
      Blas.dgemm(true, false, p, p, n, 1.0, x, n, hx, n, 0.0, c, p);
      double[] bv = new double[p];
      Blas.dgemv(true, n, p, 1.0, hx, y, 0.0, bv);
      if (!Blas.dpotrfLower(p, c)) {
        return false;
      }
      double logC = 0;
      for (int j = 0; j < p; j++) {
        logC += 2 * Math.log(c[j + j * p]);
      }
      double[] sol = bv.clone();
      Blas.dpotrsLower(p, 1, c, sol);
      double q = 0;
      for (int j = 0; j < p; j++) {
        q += bv[j] * sol[j];
      }
      out[0] = DenseRemlLikelihood.dot(y, hy) - q;
      out[1] = logDet(f);
      out[2] = logC;
      return true;
    }

    double profile(double lambda) {
      double[] o = new double[3];
      if (!parts(lambda, o) || !(o[0] > 0)) {
        return Double.NEGATIVE_INFINITY;
      }
      int df = n - p;
      return -0.5 * (df * Math.log(o[0] / df) + o[1] + o[2] + df);
    }

    double sigma2(double lambda) {
      double[] o = new double[3];
      if (!parts(lambda, o)) {
        throw new IllegalStateException("XᵀH⁻¹X not positive definite at λ = " + lambda);
      }
      return o[0] / (n - p);
    }

    @Override
    public int parameters() {
      return 2;
    }

    @Override
    public int samples() {
      return n;
    }

    @Override
    public Evaluation evaluate(double[] theta) {
      Full f = full(theta, false);
      return f == null ? Evaluation.notPositiveDefinite()
          : new Evaluation(true, f.logL, f.score, f.ai, null, f.pyRot, f.beta, f.cinv);
    }

    @Override
    public double[] observedInformation(double[] theta) {
      Full f = full(theta, true);
      return f == null ? null : f.observed;
    }

    /** Everything at the optimum θ, which is positive definite. */
    Full full(double[] theta) {
      Full f = full(theta, true);
      if (f == null) {
        throw new IllegalStateException("V or XᵀV⁻¹X not positive definite at the optimum");
      }
      return f;
    }

    /**
     * At θ = (σ²_g, σ²_e): logL, score, AI and (with {@code observed}) the observed information, β,
     * C⁻¹, P̃ỹ; null when V or X̃ᵀV⁻¹X̃ is not positive definite.
     */
    Full full(double[] theta, boolean observed) {
      double[] f = factor(theta[0], theta[1]);
      if (f == null) {
        return null;
      }
      // G = V⁻¹ X̃ (n×p), C = X̃ᵀ G.
      double[] g = solve(f, x, p);
      double[] c = new double[p * p];
      Blas.dgemm(true, false, p, p, n, 1.0, x, n, g, n, 0.0, c, p);
      double[] l = c.clone();
      if (!Blas.dpotrfLower(p, l)) {
        return null;
      }
      double logC = 0;
      for (int j = 0; j < p; j++) {
        logC += 2 * Math.log(l[j + j * p]);
      }
      double[] cinv = l.clone();
      Blas.dpotriLowerFull(p, cinv);
      double[] gty = new double[p];
      Blas.dgemv(true, n, p, 1.0, g, y, 0.0, gty);
      double[] beta = new double[p];
      Blas.dgemv(false, p, p, 1.0, cinv, gty, 0.0, beta);
      double[] py = applyP(f, g, cinv, y);
      double yPy = DenseRemlLikelihood.dot(y, py);
      double logL = -0.5 * (logDet(f) + logC + yPy);
      // V_k in this basis: B for σ²_g, I for σ²_e. Traces of functions of B from the band of V⁻¹ and its derivatives.
      double[][] gk = {timesB(g, p), g};
      BandedInverse.Traces traces = BandedInverse.traces(band, f, n, kd, observed);
      double[] trVInvDk = {traces.zb(), traces.z()};
      // tr(V⁻¹V_kV⁻¹V_m): k, m = 0 is B, 1 is I.
      double[] trVInvDkVInvDm = {traces.zbzb(), traces.z2b(), traces.z2b(), traces.z2()};
      double[] score = new double[2];
      double[][] u = {timesB(py, 1), py};
      double[][] pu = new double[2][];
      for (int k = 0; k < 2; k++) {
        // tr(P̃V_k) = tr(V⁻¹V_k) − tr(C⁻¹ Gᵀ V_k G).
        double tr = trVInvDk[k] - traceOf(cinv, gram(g, gk[k]));
        double q = DenseRemlLikelihood.dot(py, u[k]);
        score[k] = -0.5 * (tr - q);
        pu[k] = applyP(f, g, cinv, u[k]);
      }
      double[] ai = new double[4];
      double[] obs = new double[4];
      for (int k = 0; k < 2; k++) {
        for (int m = 0; m < 2; m++) {
          double a = 0.5 * DenseRemlLikelihood.dot(u[k], pu[m]);
          ai[k + 2 * m] = a;
          // observed = yᵀPV_kPV_lPy − ½ tr(PV_kPV_l) = 2 AI − E.
          obs[k + 2 * m] = observed ? 2 * a - 0.5 * traceProduct(f, g, gk, cinv, trVInvDkVInvDm[k + 2 * m], k, m)
              : Double.NaN;
        }
      }
      SmallMatrices.symmetrize(ai, 2);
      SmallMatrices.symmetrize(obs, 2);
      return new Full(logL, score, ai, obs, beta, cinv, py);
    }

    /** {@code P̃ v = V⁻¹v − G C⁻¹ Gᵀ v}. */
    double[] applyP(double[] f, double[] g, double[] cinv, double[] v) {
      double[] out = solve(f, v, 1);
      double[] gtv = new double[p];
      Blas.dgemv(true, n, p, 1.0, g, v, 0.0, gtv);
      double[] t = new double[p];
      Blas.dgemv(false, p, p, 1.0, cinv, gtv, 0.0, t);
      Blas.dgemv(false, n, p, -1.0, g, t, 1.0, out);
      return out;
    }

    /**
     * {@code tr(P̃ V_k P̃ V_m)} with {@code P̃ = V⁻¹ − G C⁻¹ Gᵀ} and V_k, V_m functions of B (so they
     * commute with V): {@code tr(V⁻¹V_kV⁻¹V_m) − 2 tr(C⁻¹ (V_kG)ᵀ V⁻¹ (V_mG)) + tr(C⁻¹ S_k C⁻¹ S_m)},
     * {@code S_k = GᵀV_kG}; the first term given ({@code t1}, {@link BandedInverse}), the rest in {@code O(n·kd·p)}.
     */
    double traceProduct(double[] f, double[] g, double[][] gk, double[] cinv, double t1, int k, int m) {
      double t2 = traceOf(cinv, gram(gk[k], solve(f, gk[m], p)));
      double[] ca = new double[p * p];
      double[] cb = new double[p * p];
      Blas.dgemm(false, false, p, p, p, 1.0, cinv, p, gram(g, gk[k]), p, 0.0, ca, p);
      Blas.dgemm(false, false, p, p, p, 1.0, cinv, p, gram(g, gk[m]), p, 0.0, cb, p);
      double t3 = 0;
      for (int i = 0; i < p; i++) {
        for (int j = 0; j < p; j++) {
          t3 += ca[i + j * p] * cb[j + i * p];
        }
      }
      return t1 - 2 * t2 + t3;
    }

    /** {@code aᵀ b} for a, b n×p. */
    double[] gram(double[] a, double[] b) {
      double[] out = new double[p * p];
      Blas.dgemm(true, false, p, p, n, 1.0, a, n, b, n, 0.0, out, p);
      return out;
    }

    static double traceOf(double[] cinv, double[] m) {
      double s = 0;
      for (int i = 0; i < cinv.length; i++) {
        s += cinv[i] * m[i];
      }
      return s;
    }

  }

  /**
   * The REML projection in rotated coordinates, {@code P̃ v = W v − G C⁻¹ Gᵀ v}, with {@code W} the
   * diagonal weights {@code 1/(σ²_g λ_i + σ²_e)} ({@code w}, length n), {@code G = W X̃} (n×p) and
   * {@code C⁻¹ = (X̃ᵀ W X̃)⁻¹} (p×p). Cost O(n·p). Shared with the association null model.
   */
  public static double[] applyP(double[] w, double[] g, double[] cinv, double[] v, int n, int p) {
    double[] gtv = new double[p];
    Blas.dgemv(true, n, p, 1.0, g, v, 0.0, gtv);
    double[] t = new double[p];
    Blas.dgemv(false, p, p, 1.0, cinv, gtv, 0.0, t);
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = w[i] * v[i];
    }
    Blas.dgemv(false, n, p, -1.0, g, t, 1.0, out);
    return out;
  }
}
