package org.lmmspark.engine.linalg;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.JavaBLAS;
import dev.ludovic.netlib.lapack.JavaLAPACK;
import dev.ludovic.netlib.lapack.LAPACK;
import org.netlib.util.intW;

/**
 * The project's one door to BLAS and LAPACK, through {@code dev.ludovic.netlib} (what Spark uses).
 *
 * <p>Level 3 calls go to a native library: by default the OpenBLAS the build carries
 * ({@code org.bytedeco:openblas}, extracted by JavaCPP at first use; see {@link BlasLibrary} for the
 * choice and the {@code lmmspark.blas} switch), else the system's {@code libblas.so.3}, else the
 * vectorized Java fallback. Level 1 calls on short vectors always use the Java implementation, where
 * the JNI crossing would cost more than the work. Matrices are column-major {@code double[]}/{@code float[]}
 * with explicit dimensions, as in Fortran BLAS. Run one BLAS thread per Spark task
 * ({@code OPENBLAS_NUM_THREADS=1}): parallelism comes from tasks.
 */
public final class Blas {
  /**
   * Chosen in the static initialiser, so in every JVM (driver, executors) before the first netlib
   * call: netlib reads its library properties once, when it initialises.
   */
  private static final BlasLibrary LIBRARY = BlasLibrary.choose();

  private Blas() {}

  /** Level 3 and LAPACK-backed work: native when available. */
  public static BLAS level3() {
    return LIBRARY.source == BlasLibrary.Source.JAVA ? JavaBLAS.getInstance() : BLAS.getInstance();
  }

  /** Level 1/2 work on short vectors: always the Java implementation. */
  public static BLAS level1() {
    return JavaBLAS.getInstance();
  }

  public static LAPACK lapack() {
    return LIBRARY.source == BlasLibrary.Source.JAVA ? JavaLAPACK.getInstance() : LAPACK.getInstance();
  }

  /**
   * Whether level-3 calls go to the bundled OpenBLAS on an x86-64 CPU with AVX-512 (the {@code avx512f} flag of
   * Linux's {@code /proc/cpuinfo}). There OpenBLAS (0.3.x, its SKYLAKEX-family kernels, which it picks for such
   * CPUs) runs SGEMMs of {@code m·n·k ≤ 10⁶} in small-matrix kernels that read the operands in place instead of
   * copying them into packed panels, so cutting a product into such calls saves the copies; with another library
   * or CPU each call copies its operands, and cutting would only copy the shared operand more often.
   */
  public static boolean smallMatrixKernels() {
    return SmallMatrixKernels.PRESENT;
  }

  /** Decided at first use (reads {@code /proc/cpuinfo} once per JVM). */
  private static final class SmallMatrixKernels {
    static final boolean PRESENT = LIBRARY.source == BlasLibrary.Source.BUNDLED && isNative() && cpuHasAvx512();

    private static boolean cpuHasAvx512() {
      try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
        return lines.filter(l -> l.startsWith("flags")).findFirst()
            .map(l -> (" " + l.replace('\t', ' ') + " ").contains(" avx512f ")).orElse(false);
      } catch (java.io.IOException | RuntimeException e) {
        return false; // not Linux, or unreadable: assume none
      }
    }
  }

  /**
   * Loads the native library on a daemon thread now, so that a command that reads its inputs first finds it loaded:
   * {@code reml --grm} reads its GRM meanwhile (the loading took 0.4–0.8 s of wall time on a busy 2-core machine).
   * A failure here is left for the first real use to report.
   */
  public static void loadInBackground() {
    Thread t = new Thread(() -> {
      try {
        describe();
      } catch (Throwable e) {
        // left for the first real use, which fails the same way and reports it as the command's error
      }
    }, "lmmspark-blas-load");
    t.setDaemon(true);
    t.start();
  }

  /**
   * A one-line description of the BLAS and LAPACK in use, for logs and summaries: the netlib
   * implementations, and for native ones which library file (bundled OpenBLAS with its version and
   * path, the system's {@code libblas.so.3}, or one named by the user) and the thread setting.
   */
  public static String describe() {
    String threads = System.getenv("OPENBLAS_NUM_THREADS");
    String threadNote = threads == null ? "" : ", OPENBLAS_NUM_THREADS=" + threads;
    String blas = level3().getClass().getSimpleName();
    String lapack = lapack().getClass().getSimpleName();
    String library;
    if (isNative()) {
      library = switch (LIBRARY.source) {
        case BUNDLED -> "native: OpenBLAS " + BlasLibrary.bundledVersion() + " bundled (org.bytedeco:openblas) at " + LIBRARY.library;
        case USER -> "native: " + LIBRARY.library + " as set by dev.ludovic.netlib.blas.nativeLib[Path]";
        default -> "native: the system's libblas.so.3" + (LIBRARY.bundledUnavailable == null ? ""
            : "; bundled OpenBLAS unavailable: " + LIBRARY.bundledUnavailable);
      } + threadNote;
    } else if (LIBRARY.source == BlasLibrary.Source.JAVA) {
      library = "Java, as asked by " + BlasLibrary.PROPERTY + "=java";
    } else {
      library = "Java fallback: " + (LIBRARY.bundledUnavailable == null ? "" : "no bundled OpenBLAS for this platform ("
          + LIBRARY.bundledUnavailable + ") and ") + "no loadable " + LIBRARY.library;
    }
    return "BLAS=" + blas + " (" + library + "), LAPACK=" + lapack
        + (LIBRARY.settingProblem == null ? "" : " [" + LIBRARY.settingProblem + "]");
  }

  /**
   * Runs {@code work} (dense algebra on the driver: a band reduction, an eigendecomposition, a Cholesky of V)
   * with {@code threads} BLAS threads, then restores the previous count. Spark commands run with one BLAS
   * thread per task ({@code OPENBLAS_NUM_THREADS=1}: parallelism comes from the tasks), which left the
   * driver's O(N³) work of {@code assoc} and {@code reml --bfile} on one core while {@code reml --grm} used
   * all; between Spark jobs no task runs in the driver's JVM, so the driver's work may take every core.
   * OpenBLAS's count is process-wide and only the bundled library can change it at run time
   * ({@code openblas_set_num_threads}, through JavaCPP); with another library the count stays what
   * {@code OPENBLAS_NUM_THREADS} set. Serialized: one such section at a time per JVM.
   */
  public static synchronized <T> T withThreads(int threads, java.util.function.Supplier<T> work) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    if (LIBRARY.source != BlasLibrary.Source.BUNDLED || !isNative()) {
      return work.get();
    }
    int before = threads();
    org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(threads);
    try {
      return work.get();
    } finally {
      org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(before);
    }
  }

  /**
   * The BLAS threads level-3 calls use now: the count {@link #withThreads} set on the bundled OpenBLAS, else
   * what it read at load ({@code OPENBLAS_NUM_THREADS}, else every core); 1 for the Java fallback.
   */
  public static int threads() {
    if (!isNative()) {
      return 1;
    }
    if (LIBRARY.source != BlasLibrary.Source.BUNDLED) {
      return threadsAtLoad();
    }
    // JavaCPP remembers the last count it set (−1 before any); before that, OpenBLAS has what it read at load.
    int set = org.bytedeco.openblas.presets.openblas_nolapack.blas_get_num_threads();
    return set >= 1 ? set : threadsAtLoad();
  }

  /** The thread count OpenBLAS takes when it loads: {@code OPENBLAS_NUM_THREADS}, else every core. */
  static int threadsAtLoad() {
    String env = System.getenv("OPENBLAS_NUM_THREADS");
    try {
      if (env != null && Integer.parseInt(env.trim()) >= 1) {
        return Integer.parseInt(env.trim());
      }
    } catch (NumberFormatException e) {
      // OpenBLAS ignores an unparsable value too
    }
    return Runtime.getRuntime().availableProcessors();
  }

  /**
   * {@link #withThreads} with {@link #driverThreads()} threads: the driver's dense work between Spark jobs (no task
   * of this application runs in the driver's JVM meanwhile, so its cores are the work's). The count does not
   * depend on the load of the moment, so two runs with the same settings do the same arithmetic; on a machine
   * other processes keep busy the OpenBLAS threads wait for each other at every panel (at N = 3,000 under a load
   * of ~27 on 2 cores two threads measured 3–6× slower than one, docs/benchmarks.md): set
   * {@code -D}{@value #DRIVER_THREADS_PROPERTY}{@code =1} there.
   */
  public static <T> T onAllCores(java.util.function.Supplier<T> work) {
    return withThreads(driverThreads(), work);
  }

  /** System property giving the driver's threads for its dense work; wins over {@code spark.driver.cores}. */
  public static final String DRIVER_THREADS_PROPERTY = "lmmspark.driver.threads";
  /** Spark's setting of the driver's cores, which {@code spark-submit} passes to the driver as a system property. */
  static final String SPARK_DRIVER_CORES = "spark.driver.cores";

  /**
   * The threads of the driver's dense work (band reduction, eigendecomposition, Cholesky of V), one rule for every
   * command and reproducible: {@code -D}{@value #DRIVER_THREADS_PROPERTY}{@code =T} when set; else
   * {@code spark.driver.cores} when set (as {@code spark-submit --conf} or {@code --driver-cores} passes it),
   * at most the cores the JVM sees; else the cores the JVM sees ({@link Runtime#availableProcessors()}, which
   * follows a container's CPU limit). Never the load average: a count that followed the load made the rounding of
   * a null fit, and so a resumed run's p-values, differ from the clean run's.
   *
   * @throws BadInputException when either property is set to anything but a whole number ≥ 1
   */
  public static int driverThreads() {
    int cores = Runtime.getRuntime().availableProcessors();
    Integer own = positive(DRIVER_THREADS_PROPERTY);
    if (own != null) {
      return own;
    }
    Integer spark = positive(SPARK_DRIVER_CORES);
    return spark != null ? Math.min(spark, cores) : cores;
  }

  /** {@link #driverThreads()} and where it comes from, for logs: e.g. "2 thread(s) (the cores the JVM sees; …)". */
  public static String describeDriverThreads() {
    int threads = driverThreads();
    String source = System.getProperty(DRIVER_THREADS_PROPERTY) != null ? "-D" + DRIVER_THREADS_PROPERTY
        : System.getProperty(SPARK_DRIVER_CORES) != null ? SPARK_DRIVER_CORES + " (at most the cores the JVM sees)"
        : "the cores the JVM sees; -D" + DRIVER_THREADS_PROPERTY + "=T sets them";
    return threads + " thread(s) (" + source + ")";
  }

  private static Integer positive(String property) {
    String value = System.getProperty(property);
    if (value == null) {
      return null;
    }
    try {
      int t = Integer.parseInt(value.trim());
      if (t >= 1) {
        return t;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new org.lmmspark.engine.BadInputException(property + " must be a whole number of threads ≥ 1, not '"
        + value + "'");
  }

  public static boolean isNative() {
    return level3() instanceof dev.ludovic.netlib.blas.NativeBLAS;
  }

  /**
   * {@code C(m×n) = alpha · op(A) · op(B) + beta · C}, single precision, column-major; each matrix
   * starts at its offset in its array, with its leading dimension (row stride).
   */
  public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
      float[] a, int offA, int lda, float[] b, int offB, int ldb, float beta, float[] c, int offC, int ldc) {
    level3().sgemm(transA ? "T" : "N", transB ? "T" : "N", m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
  }

  /**
   * {@code C(n×n) = alpha · A·Aᵀ + beta · C} on the lower triangle (the strict upper triangle of
   * {@code C} is not touched), single precision; {@code A} is {@code n×k} column-major at
   * {@code offA} with leading dimension {@code lda}.
   */
  public static void ssyrkLower(int n, int k, float alpha, float[] a, int offA, int lda, float beta, float[] c, int offC, int ldc) {
    level3().ssyrk("L", "N", n, k, alpha, a, offA, lda, beta, c, offC, ldc);
  }

  /**
   * {@code C(n×n) = alpha · Aᵀ·A + beta · C} on the upper triangle (the strict lower triangle of {@code C}
   * is not touched), single precision; {@code A} is {@code k×n} column-major at {@code offA} with leading
   * dimension {@code lda}: the Gram matrix of {@code n} columns, each pair once.
   */
  public static void ssyrkUpperTransposed(int n, int k, float alpha, float[] a, int offA, int lda, float beta, float[] c,
      int offC, int ldc) {
    level3().ssyrk("U", "T", n, k, alpha, a, offA, lda, beta, c, offC, ldc);
  }

  /** {@link #ssyrkUpperTransposed} in double precision. */
  public static void dsyrkUpperTransposed(int n, int k, double alpha, double[] a, int offA, int lda, double beta,
      double[] c, int offC, int ldc) {
    level3().dsyrk("U", "T", n, k, alpha, a, offA, lda, beta, c, offC, ldc);
  }

  /**
   * {@code C(m×n) = alpha · op(A) · op(B) + beta · C}, double precision, column-major; each matrix
   * starts at its offset in its array, with its leading dimension (row stride).
   */
  public static void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
      double[] a, int offA, int lda, double[] b, int offB, int ldb, double beta, double[] c, int offC, int ldc) {
    level3().dgemm(transA ? "T" : "N", transB ? "T" : "N", m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
  }

  /** {@code C(m×n) = alpha · op(A) · op(B) + beta · C}, double precision, column-major. */
  public static void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
      double[] a, int lda, double[] b, int ldb, double beta, double[] c, int ldc) {
    level3().dgemm(transA ? "T" : "N", transB ? "T" : "N", m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

  /**
   * Symmetric eigendecomposition {@code A = Z·diag(w)·Zᵀ} of an n×n column-major matrix by LAPACK
   * {@code dsyevr} (MRRR; all eigenvalues, ascending). Only the lower triangle of {@code a} is read and
   * {@code a} is destroyed. {@code w} (length n) receives the eigenvalues and {@code z} (n×n) the
   * orthonormal eigenvectors as columns. Cost ~ (4/3 + 2)·n³ flops.
   *
   * @throws IllegalStateException when LAPACK reports a failure (internal error in MRRR)
   */
  public static void dsyevr(int n, double[] a, double[] w, double[] z) {
    if (a.length < (long) n * n || w.length < n || z.length < (long) n * n) {
      throw new IllegalArgumentException("dsyevr: need a, z of n*n=" + (long) n * n + " and w of n=" + n);
    }
    if (n == 0) {
      return;
    }
    intW m = new intW(0);
    intW info = new intW(0);
    int[] isuppz = new int[2 * n];
    double[] workQuery = new double[1];
    int[] iworkQuery = new int[1];
    lapack().dsyevr("V", "A", "L", n, a, n, 0, 0, 0, 0, 0.0, m, w, z, n, isuppz, workQuery, -1, iworkQuery, -1, info);
    if (info.val != 0) {
      throw new IllegalStateException("dsyevr workspace query failed, info=" + info.val);
    }
    // LAPACK's query answers 1 and 1 for n = 1, but netlib's argument check asks for 26·n and 10·n whatever n.
    double[] work = new double[Math.max((int) workQuery[0], 26 * n)];
    int[] iwork = new int[Math.max(iworkQuery[0], 10 * n)];
    lapack().dsyevr("V", "A", "L", n, a, n, 0, 0, 0, 0, 0.0, m, w, z, n, isuppz, work, work.length, iwork,
        iwork.length, info);
    if (info.val != 0 || m.val != n) {
      throw new IllegalStateException("dsyevr failed: info=" + info.val + ", eigenvalues found " + m.val + " of " + n);
    }
  }

  /**
   * The {@code k} largest eigenpairs of a symmetric n×n column-major matrix by LAPACK {@code dsyevr}
   * with {@code RANGE = 'I'} (MRRR on the tridiagonal form, only the wanted eigenvectors
   * back-transformed; what plink2's {@code --pca} does): tridiagonalization ~{@code (4/3)n³} flops, then
   * O(n·k) per pair. Only the lower triangle of {@code a} is read and {@code a} is destroyed. {@code w}
   * (length n, as LAPACK requires) receives the k eigenvalues ascending in its first k entries and
   * {@code z} (n×k) their orthonormal eigenvectors.
   *
   * @throws IllegalStateException when LAPACK reports a failure
   */
  public static void dsyevrTop(int n, int k, double[] a, double[] w, double[] z) {
    if (k < 1 || k > n || a.length < (long) n * n || w.length < n || z.length < (long) n * k) {
      throw new IllegalArgumentException("dsyevrTop: need 1 ≤ k ≤ n, a of n*n=" + (long) n * n + ", w of n=" + n
          + " and z of n*k");
    }
    intW m = new intW(0);
    intW info = new intW(0);
    int[] isuppz = new int[2 * n]; // LAPACK needs 2·max(1, m); netlib-java checks against 2·n
    double[] workQuery = new double[1];
    int[] iworkQuery = new int[1];
    lapack().dsyevr("V", "I", "L", n, a, n, 0, 0, n - k + 1, n, 0.0, m, w, z, n, isuppz, workQuery, -1, iworkQuery, -1,
        info);
    if (info.val != 0) {
      throw new IllegalStateException("dsyevr workspace query failed, info=" + info.val);
    }
    double[] work = new double[Math.max((int) workQuery[0], 26 * n)]; // as in dsyevr above, for n = 1
    int[] iwork = new int[Math.max(iworkQuery[0], 10 * n)];
    lapack().dsyevr("V", "I", "L", n, a, n, 0, 0, n - k + 1, n, 0.0, m, w, z, n, isuppz, work, work.length, iwork,
        iwork.length, info);
    if (info.val != 0 || m.val != k) {
      throw new IllegalStateException("dsyevr failed: info=" + info.val + ", eigenvalues found " + m.val + " of " + k);
    }
  }

  /**
   * Replaces the n×k ({@code k ≤ n}) column-major {@code a} by an orthonormal basis of its column
   * space: the Q of its Householder QR ({@code dgeqrf} + {@code dorgqr}), orthonormal to rounding
   * even when {@code a} is rank deficient (unlike Gram–Schmidt or Cholesky QR).
   */
  public static void orthonormalize(int n, int k, double[] a) {
    if (k > n || a.length < (long) n * k) {
      throw new IllegalArgumentException("orthonormalize: need k ≤ n and n*k = " + (long) n * k + " values");
    }
    if (k == 0) {
      return;
    }
    double[] tau = new double[k];
    intW info = new intW(0);
    double[] query = new double[1];
    lapack().dgeqrf(n, k, a, n, tau, query, -1, info);
    double[] work = new double[Math.max(k, (int) query[0])];
    lapack().dgeqrf(n, k, a, n, tau, work, work.length, info);
    if (info.val != 0) {
      throw new IllegalStateException("dgeqrf failed: info=" + info.val);
    }
    lapack().dorgqr(n, k, k, a, n, tau, query, -1, info);
    if (work.length < (int) query[0]) {
      work = new double[(int) query[0]];
    }
    lapack().dorgqr(n, k, k, a, n, tau, work, work.length, info);
    if (info.val != 0) {
      throw new IllegalStateException("dorgqr failed: info=" + info.val);
    }
  }

  /**
   * The eigenvalues, ascending, of the symmetric n×n band matrix {@code ab} of half-bandwidth {@code kd} in LAPACK
   * lower band storage ({@code (kd+1)×n}, {@code B(i, j)} at {@code (i − j) + j·(kd+1)}), which is not modified;
   * {@code O(n²·kd)}. By LAPACK's two-stage {@code dsbev_2stage} (band to tridiagonal by bulge chasing in cache-sized
   * blocks, {@code dsytrd_sb2st}, then {@code dsterf}) on the bundled OpenBLAS: at n = 10,000, kd = 64 it took
   * 7.8–8.5 CPU-s against 23–24 for {@code dsbtrd} + {@code dsterf} (whose Givens sweeps stream the whole band
   * from memory), the eigenvalues equal to 1.3e-14 (docs/benchmarks.md). Elsewhere (another library, or the
   * binding failed: {@link #bandEigenvaluesRoutine()} says which) {@code dsbtrd} + {@code dsterf}.
   */
  public static double[] bandEigenvalues(int n, int kd, double[] ab) {
    int ld = kd + 1;
    if (n < 0 || kd < 0 || ab.length < (long) ld * n) {
      throw new IllegalArgumentException("band eigenvalues: need ab of (kd+1)*n = " + (long) ld * n + " for n = " + n
          + ", kd = " + kd + ", got " + ab.length);
    }
    double[] d = new double[n];
    if (n == 0) {
      return d;
    }
    if (isNative() && LIBRARY.bindFullLapack()) {
      int info = org.bytedeco.openblas.global.openblas.LAPACKE_dsbev_2stage(
          org.bytedeco.openblas.global.openblas.LAPACK_COL_MAJOR, (byte) 'N', (byte) 'L', n, kd, ab.clone(), ld, d,
          new double[1], 1);
      if (info != 0) {
        throw new IllegalStateException("dsbev_2stage failed, info=" + info);
      }
      return d;
    }
    double[] band = ab.clone();
    double[] e = new double[Math.max(1, n - 1)];
    intW info = new intW(0);
    lapack().dsbtrd("N", "L", n, kd, band, 0, ld, d, 0, e, 0, new double[1], 0, 1, new double[n], 0, info);
    if (info.val != 0) {
      throw new IllegalStateException("dsbtrd failed, info=" + info.val);
    }
    lapack().dsterf(n, d, 0, e, 0, info);
    if (info.val != 0) {
      throw new IllegalStateException("dsterf failed, info=" + info.val);
    }
    return d;
  }

  /** Which routine {@link #bandEigenvalues} uses here, and why not the two-stage one when it does not. */
  public static String bandEigenvaluesRoutine() {
    return isNative() && LIBRARY.bindFullLapack() ? "dsbev_2stage"
        : "dsbtrd + dsterf (" + (isNative() ? LIBRARY.fullLapackProblem() : "no native LAPACK") + ")";
  }

  /**
   * Symmetric eigendecomposition {@code A = Z·diag(w)·Zᵀ} by LAPACK {@code dsyevd} (divide and
   * conquer; all eigenvalues ascending): the lower triangle of the n×n column-major {@code a} is read
   * and {@code a} is overwritten by the orthonormal eigenvectors (columns). Extra work space
   * {@code ≈ 2n²} doubles. On OpenBLAS 0.3.21 this measured ~7× faster than {@link #dsyevr} at
   * n = 2,000 (1.9 s vs 14 s, one thread), the back-transformation being level-3 work.
   *
   * @throws IllegalStateException when LAPACK reports a failure
   */
  public static void dsyevd(int n, double[] a, double[] w) {
    if (a.length < (long) n * n || w.length < n) {
      throw new IllegalArgumentException("dsyevd: need a of n*n=" + (long) n * n + " and w of n=" + n);
    }
    if (n == 0) {
      return;
    }
    intW info = new intW(0);
    double[] workQuery = new double[1];
    int[] iworkQuery = new int[1];
    lapack().dsyevd("V", "L", n, a, n, w, workQuery, -1, iworkQuery, -1, info);
    if (info.val != 0) {
      throw new IllegalStateException("dsyevd workspace query failed, info=" + info.val);
    }
    double[] work = new double[(int) workQuery[0]];
    int[] iwork = new int[iworkQuery[0]];
    lapack().dsyevd("V", "L", n, a, n, w, work, work.length, iwork, iwork.length, info);
    if (info.val != 0) {
      throw new IllegalStateException("dsyevd failed: info=" + info.val);
    }
  }

  /**
   * In-place Cholesky {@code A = L·Lᵀ} of the lower triangle of an n×n column-major matrix (LAPACK
   * {@code dpotrf}); the strict upper triangle is left untouched. Returns false (expected numerical
   * trouble, not an exception) when A is not positive definite; {@code a} is then partly overwritten.
   */
  public static boolean dpotrfLower(int n, double[] a) {
    if (a.length < (long) n * n) {
      throw new IllegalArgumentException("dpotrf: a needs n*n=" + (long) n * n + " entries");
    }
    if (n == 0) {
      return true;
    }
    intW info = new intW(0);
    lapack().dpotrf("L", n, a, n, info);
    if (info.val < 0) {
      throw new IllegalStateException("dpotrf: bad argument " + (-info.val));
    }
    return info.val == 0;
  }

  /**
   * {@code A⁻¹} from the lower Cholesky factor left by {@link #dpotrfLower} (LAPACK {@code dpotri}),
   * written to the full n×n matrix (the upper triangle is filled by symmetry).
   */
  public static void dpotriLowerFull(int n, double[] a) {
    if (n == 0) {
      return;
    }
    intW info = new intW(0);
    lapack().dpotri("L", n, a, n, info);
    if (info.val != 0) {
      throw new IllegalStateException("dpotri failed, info=" + info.val);
    }
    for (int c = 0; c < n; c++) {
      for (int r = c + 1; r < n; r++) {
        a[c + r * n] = a[r + c * n];
      }
    }
  }

  /**
   * Solves {@code A·X = B} in place of {@code b} (n×nrhs, column-major) with the lower Cholesky factor
   * of A left by {@link #dpotrfLower} (LAPACK {@code dpotrs}).
   */
  public static void dpotrsLower(int n, int nrhs, double[] l, double[] b) {
    if (n == 0 || nrhs == 0) {
      return;
    }
    intW info = new intW(0);
    lapack().dpotrs("L", n, nrhs, l, n, b, n, info);
    if (info.val != 0) {
      throw new IllegalStateException("dpotrs failed, info=" + info.val);
    }
  }

  /** {@code y = alpha·A·x + beta·y} for a general m×n column-major A (BLAS dgemv, native door). */
  public static void dgemv(boolean trans, int m, int n, double alpha, double[] a, double[] x, double beta, double[] y) {
    level3().dgemv(trans ? "T" : "N", m, n, alpha, a, Math.max(1, m), x, 1, beta, y, 1);
  }
}
