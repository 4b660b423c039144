package org.lmmspark.engine.linalg;

import java.util.Locale;
import java.util.Map;

/**
 * Which native BLAS/LAPACK library {@code dev.ludovic.netlib} loads, decided once per JVM before
 * netlib initialises (driver and every executor alike: {@link Blas}'s static initialiser calls
 * {@link #choose()}).
 *
 * <p>netlib's JNI layer {@code dlopen}s the file named by the system property
 * {@code dev.ludovic.netlib.blas.nativeLibPath} (LAPACK: {@code dev.ludovic.netlib.lapack.nativeLibPath})
 * and otherwise the system's {@code libblas.so.3} / {@code liblapack.so.3}, falling back to its Java
 * implementation when that fails. The build carries OpenBLAS itself ({@code org.bytedeco:openblas}
 * with the natives of the build platform, {@code linux-x86_64} by default): its JavaCPP
 * {@code Loader} extracts {@code libopenblas} (full LAPACK included) and its libgfortran to the
 * JavaCPP cache ({@code ~/.javacpp/cache}, or {@code -Dorg.bytedeco.javacpp.cachedir=DIR}, under a
 * file lock so concurrent executors on a node share one copy) and we point both properties at it.
 * So a fresh machine runs at native speed with no root and no package manager.
 *
 * <p>The choice, by the system property {@code lmmspark.blas} or else the environment variable
 * {@code LMMSPARK_BLAS}:
 * <ul>
 *   <li>{@code auto} (default): the bundled OpenBLAS; when this platform has no bundled natives
 *       (or they fail to load), the system's {@code libblas.so.3}; else netlib's Java code. Properties
 *       {@code dev.ludovic.netlib.*.nativeLib[Path]} set by the user are respected as they are.</li>
 *   <li>{@code system}: the system's {@code libblas.so.3}/{@code liblapack.so.3} (e.g. Debian's
 *       {@code libopenblas0}, MKL through the alternatives system), else Java.</li>
 *   <li>{@code java}: netlib's Java implementation only (for comparison; 20–50× slower for level 3).</li>
 * </ul>
 *
 * <p>Threads: OpenBLAS reads {@code OPENBLAS_NUM_THREADS} when it loads, so
 * {@code spark.executorEnv.OPENBLAS_NUM_THREADS=1} stays effective with the bundled library.
 */
final class BlasLibrary {
  /** System property (then environment variable {@link #ENV}) naming the choice: auto, system, java. */
  static final String PROPERTY = "lmmspark.blas";
  static final String ENV = "LMMSPARK_BLAS";

  private static final String BLAS_PATH = "dev.ludovic.netlib.blas.nativeLibPath";
  private static final String BLAS_NAME = "dev.ludovic.netlib.blas.nativeLib";
  private static final String LAPACK_PATH = "dev.ludovic.netlib.lapack.nativeLibPath";
  private static final String LAPACK_NAME = "dev.ludovic.netlib.lapack.nativeLib";

  enum Mode { AUTO, SYSTEM, JAVA }

  /** Where the native library comes from, for {@link Blas#describe()}. */
  enum Source { BUNDLED, SYSTEM, USER, JAVA }

  final Mode mode;
  final Source source;
  /** The library file handed to netlib (bundled) or the name it looks for; null for Java. */
  final String library;
  /** Why the bundled library is not used, when it is not (null when it is, or when not asked for). */
  final String bundledUnavailable;

  /** A misspelt {@code lmmspark.blas} value, reported by {@link Blas#describe()}; null when fine. */
  final String settingProblem;

  private BlasLibrary(Mode mode, Source source, String library, String bundledUnavailable) {
    this(mode, source, library, bundledUnavailable, null);
  }

  private BlasLibrary(Mode mode, Source source, String library, String bundledUnavailable, String settingProblem) {
    this.mode = mode;
    this.source = source;
    this.library = library;
    this.bundledUnavailable = bundledUnavailable;
    this.settingProblem = settingProblem;
  }

  /** Parses the {@code lmmspark.blas} value; {@code null} or blank means auto. */
  static Mode parseMode(String value) {
    if (value == null || value.isBlank()) {
      return Mode.AUTO;
    }
    try {
      return Mode.valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(PROPERTY + " / " + ENV + " must be auto, system or java, got '" + value + "'");
    }
  }

  /** Decides, and for the bundled library sets netlib's properties; call before netlib initialises. */
  static BlasLibrary choose() {
    String configured = System.getProperty(PROPERTY);
    Mode mode;
    try {
      mode = parseMode(configured != null ? configured : System.getenv(ENV));
    } catch (IllegalArgumentException e) {
      // Not thrown from a static initialiser (the class would be unusable); said in every log instead.
      BlasLibrary auto = choose(Mode.AUTO);
      return new BlasLibrary(auto.mode, auto.source, auto.library, auto.bundledUnavailable, e.getMessage() + ": used auto");
    }
    return choose(mode);
  }

  private static BlasLibrary choose(Mode mode) {
    if (mode == Mode.JAVA) {
      return new BlasLibrary(mode, Source.JAVA, null, null);
    }
    String userBlas = firstNonNull(System.getProperty(BLAS_PATH), System.getProperty(BLAS_NAME));
    if (userBlas != null) {
      return new BlasLibrary(mode, Source.USER, userBlas, null);
    }
    if (mode == Mode.SYSTEM) {
      return new BlasLibrary(mode, Source.SYSTEM, "libblas.so.3", null);
    }
    String bundled;
    try {
      bundled = extractBundled();
    } catch (Throwable e) { // UnsatisfiedLinkError (no natives for this platform), NoClassDefFoundError (no JavaCPP)
      return new BlasLibrary(mode, Source.SYSTEM, "libblas.so.3",
          e.getClass().getSimpleName() + ": " + firstLine(String.valueOf(e.getMessage())));
    }
    System.setProperty(BLAS_PATH, bundled);
    if (System.getProperty(LAPACK_PATH) == null && System.getProperty(LAPACK_NAME) == null) {
      System.setProperty(LAPACK_PATH, bundled);
    }
    return new BlasLibrary(mode, Source.BUNDLED, bundled, null);
  }

  /**
   * Extracts and loads the bundled OpenBLAS through JavaCPP and returns its path. Loading the
   * {@code openblas_nolapack} preset brings {@code libopenblas} (which holds LAPACK too: the preset
   * only maps fewer functions) and its Fortran runtime into the process.
   */
  private static String extractBundled() {
    String platform = org.bytedeco.javacpp.Loader.getPlatform();
    if (BlasLibrary.class.getClassLoader().getResource("org/bytedeco/openblas/" + platform + "/") == null) {
      throw new UnsatisfiedLinkError("the build carries no org.bytedeco:openblas natives for " + platform);
    }
    org.bytedeco.javacpp.Loader.load(org.bytedeco.openblas.global.openblas_nolapack.class);
    for (Map.Entry<String, String> e : org.bytedeco.javacpp.Loader.getLoadedLibraries().entrySet()) {
      if (e.getKey().startsWith("openblas") && e.getValue() != null) {
        return e.getValue();
      }
    }
    throw new UnsatisfiedLinkError("JavaCPP loaded no openblas library for " + platform);
  }

  /** Whether {@link #bindFullLapack} succeeded (null: not tried yet), and why not when it did not. */
  private Boolean fullLapackBound;
  private String fullLapackProblem;

  /**
   * Makes the LAPACK routines that {@code dev.ludovic.netlib} has no binding for (LAPACK 3.7's two-stage band
   * eigensolver {@code dsbev_2stage}) callable through the JavaCPP preset of the full OpenBLAS,
   * {@code org.bytedeco.openblas.global.openblas}, bound to the ONE OpenBLAS this process has loaded; false when
   * the bundled library is not the one in use or the binding fails ({@link #fullLapackProblem} says why).
   *
   * <p>Loading that preset the usual way would extract the library again as {@code libopenblas.so.0} and load it
   * beside {@code libopenblas_nolapack.so.0}: a second OpenBLAS, with its own thread count that
   * {@link Blas#withThreads} would not set (seen in {@code /proc/self/maps}). Both files are the same library,
   * soname {@code libopenblas.so.0}, so instead only the preset's JNI library is loaded: the dynamic linker
   * resolves its {@code DT_NEEDED libopenblas.so.0} to the library already loaded, by soname; then the preset's
   * class is initialised with JavaCPP's library loading switched off for that moment (its static initialiser would
   * otherwise do the extraction and loading above).
   */
  synchronized boolean bindFullLapack() {
    if (fullLapackBound != null) {
      return fullLapackBound;
    }
    fullLapackBound = false;
    if (source != Source.BUNDLED) {
      fullLapackProblem = "not the bundled OpenBLAS";
      return false;
    }
    String property = "org.bytedeco.javacpp.loadLibraries";
    String before = System.getProperty(property);
    try {
      java.io.File jni = org.bytedeco.javacpp.Loader.cacheResource(org.bytedeco.openblas.global.openblas_nolapack.class,
          "/org/bytedeco/openblas/" + org.bytedeco.javacpp.Loader.getPlatform() + "/libjniopenblas.so");
      if (jni == null) {
        fullLapackProblem = "the build carries no libjniopenblas.so for this platform";
        return false;
      }
      System.load(jni.getAbsolutePath());
      System.setProperty(property, "false");
      Class.forName("org.bytedeco.openblas.global.openblas", true, BlasLibrary.class.getClassLoader());
      fullLapackBound = true;
    } catch (Throwable e) { // UnsatisfiedLinkError, IOException, ClassNotFoundException, ExceptionInInitializerError
      fullLapackProblem = e.getClass().getSimpleName() + ": " + firstLine(String.valueOf(e.getMessage()));
    } finally {
      if (before == null) {
        System.clearProperty(property);
      } else {
        System.setProperty(property, before);
      }
    }
    return fullLapackBound;
  }

  /** Why {@link #bindFullLapack} returned false (null when it bound or was not tried). */
  synchronized String fullLapackProblem() {
    return fullLapackProblem;
  }

  /** The bundled OpenBLAS version (e.g. 0.3.31), from the preset's constant. */
  static String bundledVersion() {
    return org.bytedeco.openblas.global.openblas_nolapack.OPENBLAS_VERSION.replace("OpenBLAS", "").trim();
  }

  private static String firstNonNull(String a, String b) {
    return a != null ? a : b;
  }

  private static String firstLine(String s) {
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
