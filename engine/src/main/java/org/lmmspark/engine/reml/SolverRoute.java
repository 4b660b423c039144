package org.lmmspark.engine.reml;

import java.util.Locale;

/**
 * THE place where {@code reml} on genotypes, {@code assoc} and {@code run} decide between the two routes
 * from genotypes to a fitted null model (as Spark's {@code RowMatrix.computeSVD} picks local or distributed
 * work in one {@code mode} match):
 * <ul>
 *   <li><b>spectral</b>: the GRM {@code K} ({@code N²M} flops as Spark tasks, written as files with LOCO
 *       parts), then on the driver per null model (one, or one per LOCO chromosome, each re-estimating σ²
 *       on {@code K_{−c}}) one {@code O(N³)} reduction of K (band form; a full eigendecomposition for the
 *       exact per-variant tests), then the scan ({@code 2N²} flops per variant for the exact rotation, O(N)
 *       calibrated). Driver memory ≈ {@link #DENSE_BYTES_PER_SAMPLE_SQUARED}{@code ·N²} bytes.</li>
 *   <li><b>matrix-free</b>: no GRM; the genotypes cached once (2 bits per call) and every product with K one
 *       pass over them ({@code 4·N·M·k} flops for k columns, spread over the executors): REML (≈
 *       {@link #remlPasses} passes of {@code 1 + R} columns per trait: the Lanczos runs of y and the probes, the
 *       covariates projected out), then the LOCO residuals of
 *       all chromosomes in ONE batched solve (≈ {@link #LOCO_SOLVE_ITERATIONS} passes of
 *       {@code C + S} columns: y per chromosome and the sampled variants, the covariates projected out), then one
 *       test pass. Driver memory O(N·k).</li>
 * </ul>
 *
 * <p>{@code auto} takes the route with the smaller predicted wall time, {@link Costs}, unless a hard limit
 * decides first: a GRM given ({@code --grm}: spectral, the matrix-free route never reads one), a test only the
 * spectral route computes (spectral), or a spectral driver footprint above {@link #DRIVER_MEMORY_FRACTION} of
 * the driver heap (matrix-free). {@code --matrix-free-above N} replaces the cost model by a sample threshold
 * (the rule before the model). The decision carries a one-line reason with both predictions, logged by
 * every command.
 *
 * <p>The constants are calibrated on measurements of this project on a 2-core machine (docs/scaling.md,
 * docs/benchmarks.md; each constant's source is at its declaration); the predictions are coarse (±50 %)
 * but the routes differ by large factors where it matters: at N = 5,000 × M = 100,000 with LOCO the
 * spectral route measured 230 s (22 band reductions) against 45 s matrix-free; without LOCO at
 * N = 5,000 the spectral route's single reduction wins.
 */
public final class SolverRoute {
  private SolverRoute() {}

  /** The two routes. */
  public enum Route {
    SPECTRAL("spectral"), MATRIX_FREE("matrix-free");

    private final String option;

    Route(String option) {
      this.option = option;
    }

    /** The {@code --solver} value. */
    public String option() {
      return option;
    }
  }

  /** Sample threshold meaning "no threshold: use the cost model" ({@code --matrix-free-above} not given). */
  public static final int COST_MODEL = -1;

  // ---- Constants, each with its source. Wall seconds on the measured machine (2 cores, AVX2, no AVX-512).

  /**
   * GRM kernel rate, flop/s per core ({@code N²M} flops): 29 s for N = 5,000 × M = 100,000 on 2 cores
   * (issue 17: 86 GFLOP/s); the kernel runs at 65–75 GFLOP/s per CPU-second (docs/benchmarks.md), the rest is
   * reading, reducing and writing.
   */
  static final double GRM_FLOPS_PER_CORE = 43e9;
  /** Writing and reading back the per-chromosome GRM parts of LOCO (2 float triangles of 2N² bytes each), bytes/s. */
  static final double GRM_PART_BYTES_PER_SECOND = 400e6;
  /**
   * One band-form null model on the driver: the reduction of K to band form (4N³/3 flops, level-3 BLAS, so
   * it runs on every driver thread), seconds at N = 10,000 on one thread, scaled as N³: 57 s measured
   * (docs/benchmarks.md), less since; with {@link #BAND_SEQUENTIAL_SECONDS_AT_10K} it gives ≈ 9 s per LOCO
   * chromosome at N = 5,000 on one thread, as measured ((230 s − 29 s of GRM) / 22, issue 17).
   */
  static final double BAND_REDUCTION_SECONDS_AT_10K = 40;
  /**
   * The sequential rest of a band-form null of {@code assoc} (the calibration, with B's eigenvalues by
   * {@code dsbev_2stage}, O(N²·kd), for its {@code --calibration-eigenvectors} k &gt; 0, the default; REML, which needs
   * no eigenvalues), seconds at N = 10,000, scaled as N²: eigenvalues 7.8–8.5 CPU-s (23–25 by {@code dsbtrd} before),
   * the rest of the calibration 8.9 s under load (docs/benchmarks.md), REML's grid and AI steps ~1–2 s.
   */
  static final double BAND_SEQUENTIAL_SECONDS_AT_10K = 15;
  /** One full eigendecomposition ({@code dsyevd}, for the exact tests) on one driver thread at N = 10,000: 251 s measured. */
  static final double EIGEN_NULL_SECONDS_AT_10K = 251;
  /**
   * Parallel efficiency of each driver thread beyond the first on the O(N³) step (the band reduction's level-3
   * tiles; the eigenvalues of the band are sequential): 2 threads ≈ 1.6× one, measured at N = 10,000 on an idle
   * 2-core machine (reduction 39.4–39.8 s on one thread, 24.0–26.5 s on two, docs/benchmarks.md). The threads are
   * {@code Blas.driverThreads()}, from settings only, so the route does not depend on the load of the moment.
   */
  static final double DRIVER_PARALLEL_EFFICIENCY = 0.6;
  /** Exact-rotation scan rate (SGEMM, {@code 2N²} flops per variant), flop/s per core (docs/benchmarks.md: 2,870 variants/s at N = 2,000 under load). */
  static final double SCAN_FLOPS_PER_CORE = 30e9;
  /**
   * Matrix-free pass, CPU seconds per core and genotype value: a pass of k columns over N·M values costs
   * {@code N·M·(a + b·k)} CPU-s ({@code GenotypeProductKernel}: two decodes and the SGEMMs' fixed part per value,
   * {@code 4k} flops per value). Before the small-matrix SGEMM calls: a ≈ 1.76 ns, b ≈ 0.052 ns idle at
   * N = 100,000 (passes of 4.4 s + 0.13 s per column on 2 cores); the change measured interleaved at N = 20,000
   * under load (docs/benchmarks.md) cut a by a third and left b (least squares over k = 4–154: a 2.41 → 1.59 ns,
   * b 0.049 → 0.054 ns), so a = 1.2 ns, b = 0.057 ns idle (a flat 35 GFLOP/s before, which put the small-k passes
   * too cheap and the LOCO passes too dear). The centred-count decode of 2-bit blocks (one shared table, 8-byte
   * stores) then cut a by 30 % again and left b (interleaved, two runs: a 1.02 → 0.70 and 0.94 → 0.66 ns, b 0.047–0.049
   * → 0.049–0.050 ns), so a = 0.83 ns: 40 GFLOP/s per core at k = 19, 53 at k = 44, 64 at k = 154.
   */
  static final double PASS_SECONDS_PER_VALUE = 0.83e-9;
  /** The per-column part b of {@link #PASS_SECONDS_PER_VALUE}'s model, CPU seconds per core, value and column. */
  static final double PASS_SECONDS_PER_VALUE_COLUMN = 0.057e-9;
  /** Fixed cost of one pass (one Spark job: broadcast, schedule, reduce), s: 0.2–0.5 s measured idle, up to 1 s under load (docs/scaling.md). */
  static final double PASS_OVERHEAD_SECONDS = 0.4;
  /** Iterations of the batched LOCO solve at BOLT's tolerance 5·10⁻⁴: 8–10 measured from N = 5,000 to 100,000. */
  static final int LOCO_SOLVE_ITERATIONS = 10;
  /** Random probes of the matrix-free REML of {@code reml} (its default). */
  static final int PROBES = 40;
  /**
   * Random probes of the matrix-free REML inside {@code assoc} and {@code run} (their default,
   * {@code MatrixFreeAssocJob.REML_PROBES}: BOLT-LMM's 15).
   */
  static final int ASSOC_PROBES = 15;
  /**
   * The REML passes of {@code assoc} against {@code reml}'s at the same N: 20 / 34 at N = 20,000, 25 / 40 at
   * 100,000 (its Lanczos runs stop at CG tolerance 10⁻⁴ instead of 10⁻⁶, its optimizer at a step of 10⁻³ instead
   * of 10⁻⁵).
   */
  static final double ASSOC_REML_PASS_FRACTION = 0.6;
  /**
   * Sampled variants of the matrix-free route's calibration, in all ({@code --calibration-variants} default there,
   * BOLT-LMM's {@code --numCalibSnps}; at least one per LOCO chromosome).
   */
  static final int CALIBRATION_VARIANTS = 30;
  /** Reading and packing the genotypes once, bytes of {@code .bed} per second (1.25 GB in 20 s, docs/scaling.md). */
  static final double CACHE_BYTES_PER_SECOND = 60e6;
  /**
   * Driver bytes per N² of the spectral route: the GRM as float while read (4), as a double matrix (8) and the
   * reduction's work space (≈ 8), plus the LOCO part (4): ≈ 24 (documented since issue 6).
   */
  public static final double DENSE_BYTES_PER_SAMPLE_SQUARED = 24;
  /** The spectral route is ruled out when its driver footprint exceeds this fraction of the driver heap. */
  static final double DRIVER_MEMORY_FRACTION = 0.7;

  /**
   * What decides the route.
   *
   * @param samples         N, the analysed samples (phenotype ∩ covariates ∩ genotypes)
   * @param variants        M, the selected variants
   * @param chromosomes     C, chromosomes among them (LOCO null models)
   * @param fixedEffects    p, columns of X
   * @param traits          traits fitted together (1 for one)
   * @param loco            leave-one-chromosome-out null models
   * @param association     a test pass follows (assoc, run); false for {@code reml}
   * @param exactScan       the spectral route would rotate every variant exactly (N below the calibrated test's
   *                        threshold, or an exact test asked for)
   * @param grmGiven        a GRM file was given ({@code --grm}): only the spectral route reads it
   * @param spectralOnly    why only the spectral route can run the asked test (null: both can)
   * @param driverCores     the driver's threads for its dense work ({@code Blas.driverThreads()}: settings, not the
   *                        load of the moment, so that the route, whose statistics differ slightly from the other's,
   *                        is the same in every run with the same settings)
   * @param clusterCores    cores running Spark tasks (GRM tiles, matrix-free passes)
   * @param driverHeapBytes the driver's maximum heap
   * @param threshold       {@code --matrix-free-above} ({@link #COST_MODEL}: not given)
   */
  public record Request(int samples, long variants, int chromosomes, int fixedEffects, int traits, boolean loco,
      boolean association, boolean exactScan, boolean grmGiven, String spectralOnly, int driverCores,
      int clusterCores, long driverHeapBytes, int threshold) {
    public Request {
      if (samples < 0 || variants < 0 || chromosomes < 0 || fixedEffects < 0 || traits < 1 || driverCores < 1
          || clusterCores < 1 || driverHeapBytes <= 0) {
        throw new IllegalArgumentException("bad route request " + samples + " samples, " + variants + " variants, "
            + chromosomes + " chromosomes, " + traits + " traits, " + driverCores + "/" + clusterCores + " cores");
      }
    }
  }

  /** Predicted wall seconds of each route and the spectral route's driver bytes. */
  public record Costs(double spectralSeconds, double matrixFreeSeconds, double denseBytes, int nullModels,
      double remlPasses, double locoColumns) {}

  /** The route, why, and the predictions behind it. */
  public record Decision(Route route, String why, Costs costs) {}

  /** The predictions of {@code r} ({@link Request}), both routes. */
  public static Costs costs(Request r) {
    double n = r.samples();
    double m = r.variants();
    int nulls = r.loco() ? Math.max(1, r.chromosomes()) : 1;
    double threads = 1 + DRIVER_PARALLEL_EFFICIENCY * (r.driverCores() - 1);
    // Spectral: GRM (+ LOCO parts written and read), per null one O(N³) step, the exact scan.
    double grm = n * n * m / (GRM_FLOPS_PER_CORE * r.clusterCores());
    double parts = r.loco() ? nulls * 2 * (4.0 * n * n) / GRM_PART_BYTES_PER_SECOND : 0;
    double scale = n / 10_000.0;
    double perNull = r.exactScan() ? EIGEN_NULL_SECONDS_AT_10K * scale * scale * scale / threads
        : BAND_REDUCTION_SECONDS_AT_10K * scale * scale * scale / threads + BAND_SEQUENTIAL_SECONDS_AT_10K * scale * scale;
    double scan = r.association() && r.exactScan() ? 2 * n * n * m * r.traits() / (SCAN_FLOPS_PER_CORE * r.clusterCores()) : 0;
    double spectral = (r.grmGiven() ? 0 : grm + parts) + nulls * perNull + scan;
    // Matrix-free: cache, REML passes, the LOCO (or null) solve, the test pass.
    double passes = remlPasses(r.samples(), r.association());
    // The Lanczos runs of y and the probes (the covariates projected out: their p columns are solved once, at the end).
    double remlColumns = (1.0 + (r.association() ? ASSOC_PROBES : PROBES)) * r.traits();
    double locoColumns = r.association()
        ? (nulls + Math.max(CALIBRATION_VARIANTS, nulls)) * r.traits() : 0;
    double matrixFree = n * m / 4 / CACHE_BYTES_PER_SECOND + passes * pass(n, m, remlColumns, r.clusterCores())
        + (r.association() ? LOCO_SOLVE_ITERATIONS * pass(n, m, locoColumns, r.clusterCores())
            + pass(n, m, r.traits(), r.clusterCores()) : 0);
    return new Costs(spectral, matrixFree, DENSE_BYTES_PER_SAMPLE_SQUARED * n * n, nulls, passes, locoColumns);
  }

  /**
   * REML passes of the matrix-free fit with its traces by Lanczos quadrature (one run per probe and one from y, kept
   * for the whole fit, plus the preconditioner's 4 passes): for {@code reml} (40 probes, CG to 10⁻⁶) 27 measured at
   * N = 5,000, 34 at 20,000, 40 at 100,000 (docs/scaling.md, 2026-12-03), interpolated in log N; for {@code assoc}
   * {@link #ASSOC_REML_PASS_FRACTION} of them. Before the quadrature (a CG solve of every probe at every θ): 56, 95
   * and 106–121.
   */
  static double remlPasses(int n, boolean association) {
    double t = Math.log(Math.max(n, 5_000) / 5_000.0) / Math.log(20);
    double passes = 27 + 13 * Math.min(1, t);
    return association ? ASSOC_REML_PASS_FRACTION * passes : passes;
  }

  private static double pass(double n, double m, double columns, int cores) {
    return PASS_OVERHEAD_SECONDS + n * m * (PASS_SECONDS_PER_VALUE + PASS_SECONDS_PER_VALUE_COLUMN * columns) / cores;
  }

  /**
   * The route for {@code r}: {@code asked} when the user named one ({@code --solver spectral|matrix-free}),
   * else {@code --solver auto}'s choice; with its reason and both predictions.
   */
  public static Decision choose(Route asked, Request r) {
    if (asked == null) {
      return auto(r);
    }
    Costs c = costs(r);
    return new Decision(asked, String.format(Locale.ROOT, "route: %s (--solver %s; the cost model predicts spectral "
        + "~%.0f s, matrix-free ~%.0f s)", asked.option(), asked.option(), c.spectralSeconds(), c.matrixFreeSeconds()), c);
  }

  /** The route for {@code r} under {@code --solver auto}, with its reason. */
  public static Decision auto(Request r) {
    Costs c = costs(r);
    String sizes = String.format(Locale.ROOT, "N=%,d, M=%,d%s%s", r.samples(), r.variants(),
        r.loco() ? ", LOCO over " + c.nullModels() + " chromosomes" : "", r.traits() > 1 ? ", " + r.traits() + " traits" : "");
    String predictions = String.format(Locale.ROOT, "dense GRM would need %s on the driver (heap %s), %d %s ~%.0f s "
        + "in all on the spectral route; matrix-free ~%.0f passes ~%.0f s", gb(c.denseBytes()), gb(r.driverHeapBytes()),
        c.nullModels(), r.exactScan() ? "eigendecomposition(s)" : "band reduction(s)", c.spectralSeconds(),
        c.remlPasses() + (r.association() ? LOCO_SOLVE_ITERATIONS + 1 : 0), c.matrixFreeSeconds());
    if (r.grmGiven()) {
      return new Decision(Route.SPECTRAL, "route: spectral (--grm given: the matrix-free route works from genotypes "
          + "and never reads a GRM)", c);
    }
    if (r.spectralOnly() != null) {
      return new Decision(Route.SPECTRAL, "route: spectral (" + r.spectralOnly() + "; " + sizes + ")", c);
    }
    if (r.threshold() != COST_MODEL) {
      boolean mf = r.samples() > r.threshold();
      return new Decision(mf ? Route.MATRIX_FREE : Route.SPECTRAL, String.format(Locale.ROOT,
          "route: %s (--matrix-free-above %d: %,d analysed samples %s the threshold; the cost model would say: %s)",
          mf ? "matrix-free" : "spectral", r.threshold(), r.samples(), mf ? "above" : "at or below", predictions), c);
    }
    if (c.denseBytes() > DRIVER_MEMORY_FRACTION * r.driverHeapBytes()) {
      return new Decision(Route.MATRIX_FREE, "route: matrix-free (" + sizes + "; " + predictions
          + "; the dense GRM does not fit " + Math.round(DRIVER_MEMORY_FRACTION * 100) + "% of the driver heap)", c);
    }
    boolean mf = c.matrixFreeSeconds() < c.spectralSeconds();
    return new Decision(mf ? Route.MATRIX_FREE : Route.SPECTRAL, "route: " + (mf ? "matrix-free" : "spectral") + " ("
        + sizes + "; " + predictions + "; --solver auto takes the cheaper)", c);
  }

  private static String gb(double bytes) {
    return bytes >= 1e9 ? String.format(Locale.ROOT, "%.1f GB", bytes / 1e9)
        : String.format(Locale.ROOT, "%.0f MB", bytes / 1e6);
  }
}
