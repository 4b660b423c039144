package org.lmmspark.engine.linalg;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.lapack.LAPACK;
import org.netlib.util.intW;

/**
 * Orthogonal reduction of a dense symmetric matrix to band form, {@code A = Q B Qᵀ}, with B symmetric
 * of half-bandwidth {@code kd} and Q a product of blocked Householder reflectors — the first stage of
 * the two-stage symmetric eigensolvers (Bischof, Lang &amp; Sun 2000; LAPACK's {@code dsytrd_sy2sb},
 * ELPA, MAGMA).
 *
 * <p>Why: a REML likelihood with one relationship matrix needs {@code log|λA + I|} and solves with
 * {@code λA + I} for many λ, and the data rotated once. In the basis of Q these are a banded
 * Cholesky ({@code O(n·kd²)} per λ) instead of a diagonal, and the reduction itself is all level-3
 * BLAS ({@code 4n³/3} flops in DSYMM/DSYR2K, near the GEMM rate). LAPACK's one-stage {@code dsytrd}
 * (the first step of {@code dsyevd}) spends half its flops in DSYMV, reading the whole trailing
 * matrix from memory once per column: at n = 10,000 that is ~1.3 TB of memory traffic, which is what
 * makes an eigendecomposition of a GRM cost minutes rather than seconds. REML needs no eigenvalues (traces through
 * the band of the inverse, {@link BandedInverse}); when they are needed (the calibrated association null's exact
 * eigenvectors), they come from B in {@code O(n²·kd)} ({@link Blas#bandEigenvalues}: LAPACK's second stage,
 * {@code dsbev_2stage}).
 *
 * <p>Algorithm, for panels of {@code kd} columns {@code j₀ = 0, kd, 2kd, …}: QR of the block below
 * the band, {@code A[j₀+kd:, j₀:j₀+kd] = Q_j R} ({@code dgeqrf}, {@code Q_j = I − V T Vᵀ} from
 * {@code dlarft}); then the two-sided update of the trailing matrix {@code A₂₂ ← Q_jᵀ A₂₂ Q_j} as
 * {@code A₂₂ − V Wᵀ − W Vᵀ} with {@code X = A₂₂ V T}, {@code W = X − ½ V (Tᵀ Vᵀ X)} (the DSYMM and the
 * DSYR2K cut into tiles that run on several threads with the same bits for any count, {@link #reduce(int, double[],
 * int, int)}; small GEMMs). Memory: the input array is overwritten by the reflectors (n² doubles) and the
 * band is {@code (kd+1)·n} doubles more. Only the lower triangle of the input is read.
 */
public final class BandReduction {
  private final int n;
  private final int kd;
  /** The input, overwritten: reflectors of panel j below row j₀+kd of its columns. */
  private final double[] reflectors;
  /** Per panel: the upper triangular T of {@code Q_j = I − V T Vᵀ} (k×k), k = reflectors in it. */
  private final double[][] tFactors;
  private final int[] panelRows;
  /** B in LAPACK lower band storage: {@code B(i, j)} at {@code band[(i − j) + j·(kd+1)]}, i − j ≤ kd. */
  private final double[] band;

  private BandReduction(int n, int kd, double[] reflectors, double[][] tFactors, int[] panelRows, double[] band) {
    this.n = n;
    this.kd = kd;
    this.reflectors = reflectors;
    this.tFactors = tFactors;
    this.panelRows = panelRows;
    this.band = band;
  }

  /**
   * Rows of {@code X = A₂₂V} and columns of the trailing update per tile of the parallel steps. Fixed, so that every
   * entry is computed by the same BLAS calls on the same shapes whatever the thread count; 512 keeps the repacking of
   * V per tile (O(m·kd) for O(m·512·kd) flops) below a few per cent and leaves ~20 tiles at m = 10,000 to balance
   * (at n = 4,000, kd = 64: 2.47–2.59 CPU-s with tiles of 512, 2.46–2.56 with 1,024, 2.64–2.81 with 256; load 8–9).
   */
  static final int TILE = 512;

  /** {@link #reduce(int, double[], int, int)} on one thread. */
  public static BandReduction reduce(int n, double[] a, int kd) {
    return reduce(n, a, kd, 1);
  }

  /**
   * Reduces the symmetric n×n column-major {@code a} (lower triangle read) to band form with
   * half-bandwidth {@code kd ≥ 1}, on {@code threads} threads. {@code a} is overwritten when it has {@code n}
   * doubles of padding after its n² entries (see {@link #paddedLength}) and copied otherwise: dev.ludovic.netlib
   * checks a trailing submatrix's bounds as if it had {@code lda} rows, i.e. up to n entries past the array.
   *
   * <p>The two O(m²·kd) steps of each panel are cut into tiles of {@link #TILE} rows or columns ({@link Tiles}), each
   * tile a few single-threaded BLAS calls; the rest of a panel (its QR and W, O(m·kd²)) is sequential, the QR done by
   * the thread that finishes the previous panel's first update tile while the others update the rest. So the result is
   * the same to the last bit for any {@code threads} (OpenBLAS's own threads split a call differently for each
   * count, and its edge kernels round differently), and a thread the OS deschedules delays only its tile.
   */
  public static BandReduction reduce(int n, double[] a, int kd, int threads) {
    return reduce(n, a, kd, threads, TILE);
  }

  /** {@link #reduce(int, double[], int, int)} with tiles of {@code tile} rows or columns (tests use small ones). */
  static BandReduction reduce(int n, double[] a, int kd, int threads, int tile) {
    if (kd < 1) {
      throw new IllegalArgumentException("kd must be >= 1, got " + kd);
    }
    if (a.length < (long) n * n) {
      throw new IllegalArgumentException("a needs n*n = " + (long) n * n + " entries");
    }
    double[] padded = a.length < paddedLength(n) ? java.util.Arrays.copyOf(a, paddedLength(n)) : a;
    try (Tiles tiles = new Tiles(threads, "lmmspark-band-reduction")) {
      // Every BLAS call single-threaded: the parallelism is the tiles'.
      return Blas.withThreads(1, () -> reduceInPlace(n, padded, kd, tiles, tile));
    }
  }

  private static BandReduction reduceInPlace(int n, double[] a, int kd, Tiles tiles, int tile) {
    BLAS blas = Blas.level3();
    int panels = n > kd + 1 ? (n - 2) / kd : 0;
    Panels qr = new Panels(n, a, kd, panels);
    double[] y = new double[kd * kd];
    // Whether panel p's QR was done during panel p − 1's update (the lookahead below).
    boolean factored = false;
    for (int p = 0; p < panels; p++) {
      int j0 = p * kd;
      int r0 = j0 + kd;
      int m = n - r0;
      int k = Math.min(m, kd);
      if (m < 2) {
        qr.tFactors[p] = new double[0];
        qr.panelRows[p] = r0;
        continue;
      }
      if (!factored) {
        qr.factor(p);
      }
      double[] t = qr.tFactors[p];
      double[] w = qr.buffer(p);
      int x = m * k;
      int a22 = r0 + r0 * n;
      int count = (int) ((m + (long) tile - 1) / tile);
      // X = A₂₂ V T by row tiles I (A₂₂ stored lower): X_I = A₂₂[I,I]·V_I + A₂₂[I,<I]·V_<I + A₂₂[>I,I]ᵀ·V_>I, then X_I T.
      tiles.run(count, b -> {
        int i0 = b * tile;
        int rows = Math.min(tile, m - i0);
        int i1 = i0 + rows;
        blas.dsymm("L", "L", rows, k, 1.0, a, a22 + i0 + i0 * n, n, w, i0, m, 0.0, w, x + i0, m);
        if (i0 > 0) {
          blas.dgemm("N", "N", rows, k, i0, 1.0, a, a22 + i0, n, w, 0, m, 1.0, w, x + i0, m);
        }
        if (i1 < m) {
          blas.dgemm("T", "N", rows, k, m - i1, 1.0, a, a22 + i1 + i0 * n, n, w, i1, m, 1.0, w, x + i0, m);
        }
        blas.dtrmm("R", "U", "N", "N", rows, k, 1.0, t, 0, k, w, x + i0, m);
      });
      // W = X − ½ V (Tᵀ (Vᵀ X)): O(m·k²), sequential.
      blas.dgemm("T", "N", k, k, m, 1.0, w, 0, m, w, x, m, 0.0, y, 0, k);
      blas.dtrmm("L", "U", "T", "N", k, k, 1.0, t, 0, k, y, 0, k);
      blas.dgemm("N", "N", m, k, k, -0.5, w, 0, m, y, 0, k, 1.0, w, x, m);
      // A₂₂ −= V Wᵀ + W Vᵀ = [V W]·[W V]ᵀ on the lower triangle, by column tiles J: the diagonal block by DSYR2K,
      // the rows below it by one DGEMM with inner dimension 2k. Lookahead: the next panel's columns are the first kd
      // of A₂₂, all in tile 0 (tile ≥ kd), which later tiles do not touch; so the thread that updates tile 0 does the
      // next panel's QR right after it while the others update the rest, instead of all but one waiting for it at the
      // top of the next panel. The same calls on the same data whatever the order, so the same bits.
      int next = p + 1;
      boolean ahead = next < panels && m - kd >= 2 && tile >= kd;
      tiles.run(count, b -> {
        int c0 = b * tile;
        int cols = Math.min(tile, m - c0);
        int c1 = c0 + cols;
        blas.dsyr2k("L", "N", cols, k, -1.0, w, c0, m, w, x + c0, m, 1.0, a, a22 + c0 + c0 * n, n);
        if (c1 < m) {
          blas.dgemm("N", "T", m - c1, cols, 2 * k, -1.0, w, c1, m, w, x + c0, m, 1.0, a, a22 + c1 + c0 * n, n);
        }
        if (b == 0 && ahead) {
          qr.factor(next);
        }
      });
      factored = ahead;
    }
    int ld = kd + 1;
    double[] band = new double[ld * n];
    // Column j's band window, rows j..j+kd, holds the diagonal block and R of its panel (row r₀ + i of
    // column j₀ + c with i ≤ c): dgeqrf's reflectors lie strictly below it.
    for (int j = 0; j < n; j++) {
      int rows = Math.min(ld, n - j);
      System.arraycopy(a, j + j * n, band, j * ld, rows);
    }
    return new BandReduction(n, kd, a, qr.tFactors, qr.panelRows, band);
  }

  /**
   * The panels' QR factorizations, in place in {@code a}: panel p's Householder vectors below row {@code r₀ = (p+1)·kd}
   * of its columns, its T, and {@code [V · V]} (the middle block left for X) in one of two buffers, so that panel
   * p + 1 can be factored while panel p's V and W are still being read. One thread at a time.
   */
  private static final class Panels {
    final int n;
    final double[] a;
    final int kd;
    final double[][] tFactors;
    final int[] panelRows;
    /** Per parity of p: [V X V] (m×3k, then m entries of padding for netlib's bound checks); [V X] and [X V] are column ranges of it. */
    private final double[][] buffers = {new double[0], new double[0]};
    private final double[] tau;
    private final double[] t;
    private final double[] work;
    private final intW info = new intW(0);

    Panels(int n, double[] a, int kd, int panels) {
      this.n = n;
      this.a = a;
      this.kd = kd;
      this.tFactors = new double[panels][];
      this.panelRows = new int[panels];
      this.tau = new double[kd];
      this.t = new double[kd * kd];
      double[] query = new double[1];
      Blas.lapack().dgeqrf(n, kd, a, 0, n, tau, 0, query, 0, -1, info);
      this.work = new double[Math.max(1, (int) query[0])];
    }

    /** QR of panel p's m×kd block below the band (m ≥ 2), its T, and V into {@link #buffer}. */
    void factor(int p) {
      LAPACK lapack = Blas.lapack();
      int j0 = p * kd;
      int r0 = j0 + kd;
      int m = n - r0;
      int k = Math.min(m, kd);
      lapack.dgeqrf(m, kd, a, r0 + j0 * n, n, tau, 0, work, 0, work.length, info);
      check(info, "dgeqrf");
      java.util.Arrays.fill(t, 0);
      lapack.dlarft("F", "C", m, k, a, r0 + j0 * n, n, tau, 0, t, 0, k);
      tFactors[p] = java.util.Arrays.copyOf(t, k * k);
      panelRows[p] = r0;
      if (buffers[p % 2].length < 3 * m * k + m) {
        buffers[p % 2] = new double[3 * m * k + m];
      }
      double[] w = buffers[p % 2];
      int x = m * k;
      explicitReflectors(a, n, r0, j0, m, k, w);
      System.arraycopy(w, 0, w, 2 * x, x);
    }

    double[] buffer(int p) {
      return buffers[p % 2];
    }
  }

  /** Length of an n×n matrix array that {@link #reduce} can work in place: {@code n² + n}. */
  public static int paddedLength(int n) {
    long len = (long) n * n + n;
    if (len > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("n = " + n + " is too large for one dense array");
    }
    return (int) len;
  }

  public int size() {
    return n;
  }

  public int bandwidth() {
    return kd;
  }

  /** B in LAPACK lower band storage ({@code (kd+1)×n}, {@code B(i, j)} at {@code (i − j) + j·(kd+1)}); not a copy. */
  public double[] band() {
    return band;
  }

  /** {@code c ← Qᵀ c} for c n×cols column-major: the data in B's basis. */
  public void applyQt(double[] c, int cols) {
    Scratch scratch = new Scratch(cols);
    for (int p = 0; p < tFactors.length; p++) {
      applyPanel(p, c, cols, true, scratch);
    }
  }

  /** {@code c ← Q c} for c n×cols column-major: back from B's basis. */
  public void applyQ(double[] c, int cols) {
    Scratch scratch = new Scratch(cols);
    for (int p = tFactors.length - 1; p >= 0; p--) {
      applyPanel(p, c, cols, false, scratch);
    }
  }

  /**
   * Work arrays of {@link #applyPanel}, sized for the first panel (the tallest) and reused by all: a panel's V alone is
   * m×kd doubles, and allocating it afresh for each of the n/kd panels zeroed as much memory as the reflectors hold.
   */
  private final class Scratch {
    final double[] v;
    final double[] sub;
    final double[] y;

    Scratch(int cols) {
      int m = panelRows.length == 0 ? 0 : n - panelRows[0];
      this.v = new double[m * kd];
      this.sub = new double[m * cols];
      this.y = new double[kd * cols];
    }
  }

  /** {@code c[r₀:, :] ← (I − V op(T) Vᵀ) c[r₀:, :]}, op(T) = Tᵀ for Q_jᵀ. */
  private void applyPanel(int p, double[] c, int cols, boolean transpose, Scratch scratch) {
    int k = (int) Math.round(Math.sqrt(tFactors[p].length));
    if (k == 0 || cols == 0) {
      return;
    }
    int r0 = panelRows[p];
    int m = n - r0;
    int j0 = r0 - kd;
    double[] v = scratch.v;
    explicitReflectors(reflectors, n, r0, j0, m, k, v);
    // The rows r₀.. of c, compact (BLAS bound checks forbid a submatrix ending before its lda).
    double[] sub = scratch.sub;
    for (int j = 0; j < cols; j++) {
      System.arraycopy(c, r0 + j * n, sub, j * m, m);
    }
    BLAS blas = Blas.level3();
    double[] y = scratch.y;
    blas.dgemm("T", "N", k, cols, m, 1.0, v, 0, m, sub, 0, m, 0.0, y, 0, k);
    blas.dtrmm("L", "U", transpose ? "T" : "N", "N", k, cols, 1.0, tFactors[p], 0, k, y, 0, k);
    blas.dgemm("N", "N", m, cols, k, -1.0, v, 0, m, y, 0, k, 1.0, sub, 0, m);
    for (int j = 0; j < cols; j++) {
      System.arraycopy(sub, j * m, c, r0 + j * n, m);
    }
  }

  /** The unit lower trapezoidal V (m×k) of a panel, from dgeqrf's storage below the diagonal. */
  private static void explicitReflectors(double[] a, int n, int r0, int j0, int m, int k, double[] v) {
    for (int c = 0; c < k; c++) {
      int off = c * m;
      for (int r = 0; r < c; r++) {
        v[off + r] = 0;
      }
      v[off + c] = 1;
      System.arraycopy(a, r0 + c + 1 + (j0 + c) * n, v, off + c + 1, m - c - 1);
    }
  }

  /** The eigenvalues of B (= of A), ascending ({@link Blas#bandEigenvalues}, {@code O(n²·kd)}); B is not modified. */
  public double[] eigenvalues() {
    return Blas.bandEigenvalues(n, kd, band);
  }

  /**
   * The eigenvectors of A for its {@code k} largest eigenvalues, n×k column-major in A's own basis
   * (column j for {@code eigenvalues[n − k + j]}), by inverse iteration on B: for each eigenvalue d, a
   * banded LU of {@code B − σI} with {@code σ = d + 1e-10·‖B‖} ({@code dgbtrf}, {@code O(n·kd²)}), three solves
   * from a seeded start, each followed by Gram–Schmidt against the vectors already found (which keeps
   * clustered eigenvalues' vectors orthogonal, as {@code dstein} does), then Q applied ({@code O(n²k)}).
   *
   * @param eigenvalues all eigenvalues of A, ascending ({@link #eigenvalues()})
   */
  public double[] leadingEigenvectors(double[] eigenvalues, int k) {
    if (k < 0 || k > n || eigenvalues.length != n) {
      throw new IllegalArgumentException("k = " + k + " leading eigenvectors of n = " + n + " with "
          + eigenvalues.length + " eigenvalues");
    }
    double[] z = new double[n * k];
    if (k == 0) {
      return z;
    }
    int ld = 3 * kd + 1;
    double scale = Math.max(Math.abs(eigenvalues[0]), Math.abs(eigenvalues[n - 1]));
    java.util.SplittableRandom rng = new java.util.SplittableRandom(20251125L);
    int[] pivots = new int[n];
    intW info = new intW(0);
    for (int j = 0; j < k; j++) {
      double sigma = eigenvalues[n - k + j] + 1e-10 * scale;
      // B − σI in LAPACK general band storage (kl = ku = kd): A(i, c) at (2kd + i − c) + c·ld.
      double[] lu = new double[ld * n];
      for (int c = 0; c < n; c++) {
        for (int i = c; i < Math.min(n, c + kd + 1); i++) {
          double v = band[(i - c) + c * (kd + 1)] - (i == c ? sigma : 0);
          lu[(2 * kd + i - c) + c * ld] = v;
          lu[(2 * kd + c - i) + i * ld] = v;
        }
      }
      Blas.lapack().dgbtrf(n, n, kd, kd, lu, 0, ld, pivots, 0, info);
      if (info.val < 0) {
        throw new IllegalStateException("dgbtrf failed, info=" + info.val);
      }
      if (info.val > 0) {
        lu[(2 * kd) + (info.val - 1) * ld] = 1e-14 * scale; // an exactly singular pivot: the vector is still fine
      }
      double[] v = new double[n];
      for (int i = 0; i < n; i++) {
        v[i] = rng.nextDouble() - 0.5;
      }
      for (int iteration = 0; iteration < 3; iteration++) {
        Blas.lapack().dgbtrs("N", n, kd, kd, 1, lu, 0, ld, pivots, 0, v, 0, n, info);
        check(info, "dgbtrs");
        for (int prev = 0; prev < j; prev++) {
          double dot = 0;
          for (int i = 0; i < n; i++) {
            dot += z[i + prev * n] * v[i];
          }
          for (int i = 0; i < n; i++) {
            v[i] -= dot * z[i + prev * n];
          }
        }
        double norm = 0;
        for (double e : v) {
          norm += e * e;
        }
        norm = Math.sqrt(norm);
        for (int i = 0; i < n; i++) {
          v[i] /= norm;
        }
      }
      System.arraycopy(v, 0, z, j * n, n);
    }
    applyQ(z, k);
    return z;
  }

  /**
   * The banded Cholesky factor ({@code dpbtrf}, lower) of {@code a·B + b·I} for a symmetric B of
   * half-bandwidth kd in lower band storage ({@code (kd+1)×n}); null when it is not positive definite.
   * {@code O(n·kd²)}.
   */
  public static double[] choleskyOfShifted(double[] band, int n, int kd, double a, double b) {
    int ld = kd + 1;
    double[] ab = new double[ld * n];
    for (int i = 0; i < ab.length; i++) {
      ab[i] = a * band[i];
    }
    for (int j = 0; j < n; j++) {
      ab[j * ld] += b;
    }
    intW info = new intW(0);
    Blas.lapack().dpbtrf("L", n, kd, ab, ld, info);
    return info.val == 0 ? ab : null;
  }

  /** Solves with a factor from {@link #choleskyOfShifted} for {@code rhs} n×cols, in a new array ({@code dpbtrs}). */
  public static double[] solveCholesky(double[] factor, int n, int kd, double[] rhs, int cols) {
    double[] out = rhs.clone();
    intW info = new intW(0);
    Blas.lapack().dpbtrs("L", n, kd, cols, factor, kd + 1, out, n, info);
    check(info, "dpbtrs");
    return out;
  }

  private static void check(intW info, String routine) {
    if (info.val != 0) {
      throw new IllegalStateException(routine + " failed, info=" + info.val);
    }
  }
}
