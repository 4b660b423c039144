package org.lmmspark.jobs.cli;

import java.util.Locale;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.lmmspark.jobs.spark.ProgressListener;
import org.lmmspark.jobs.spark.SparkSessions;
import org.slf4j.LoggerFactory;

/**
 * The one run template of the commands that do Spark work, as GATK's tools run through {@code onStartup
 * → doWork → onShutdown}: a session of its own, a progress listener logging long stages, the session
 * noted in the run log, named stages timed into it, the log written beside the outputs when the work
 * succeeded, and the session stopped in {@code finally} whatever happened.
 *
 * <p>Small inputs on a local master skip the session ({@link #inProcessThreads}): its start costs seconds
 * of class loading and threads (measured 3–5 CPU-s on this 2-core machine), more than the work of a GRM of
 * 2,000 samples. Kernels run as well on threads of this JVM as in Spark tasks (they know nothing of
 * Spark), and {@link #runInProcess} keeps the same log and timed stages.
 */
final class SparkRun {
  private SparkRun() {}

  /** Times named stages of a run into its log ("stage NAME: S s"). */
  static final class Stages {
    private final RunLog log;

    private Stages(RunLog log) {
      this.log = log;
    }

    <T> T time(String name, Supplier<T> work) {
      long t0 = System.nanoTime();
      T result = work.get();
      log.note(String.format(Locale.ROOT, "stage %s: %.1f s", name, (System.nanoTime() - t0) / 1e9));
      return result;
    }
  }

  /**
   * Largest input run without a session: N·M genotypes (a {@code .bed} of 250 MB). Above it the work
   * takes minutes on a local master and a session's few seconds are noise; a cluster master always gets
   * a session.
   */
  static final long IN_PROCESS_MAX_CELLS = 1_000_000_000L;

  /** Largest N run without a session: the in-process GRM holds every reduced tile, ~12·N²/2 bytes (2.4 GB at 20,000). */
  static final long IN_PROCESS_MAX_SAMPLES = 20_000;


  private static String resolvedMaster(String master) {
    return master != null ? master : System.getProperty("spark.master", "local[*]");
  }

  /** Whether the run's master is local (tasks are this JVM's threads), as {@link #inProcessThreads} reads it. */
  static boolean localMaster(String master) {
    return SparkSessions.LOCAL_MASTER.matcher(resolvedMaster(master)).matches();
  }

  /**
   * The one rule that chooses between a Spark session and this JVM's threads: in-process when the master
   * is local ({@code --master}, else spark-submit's {@code spark.master}, else the embedded
   * {@code local[*]}), {@code N·M ≤ IN_PROCESS_MAX_CELLS}, {@code N ≤ IN_PROCESS_MAX_SAMPLES} and
   * {@code --spark} was not given. Says which and why in the run log.
   *
   * @return threads to run on (the local master's cores), or 0 for a Spark session
   */
  static int inProcessThreads(String master, boolean forceSpark, long samples, long variants, RunLog runLog) {
    String resolved = resolvedMaster(master);
    Matcher local = SparkSessions.LOCAL_MASTER.matcher(resolved);
    long cells = samples * variants;
    String size = String.format(Locale.ROOT, "N×M = %,d × %,d = %.3g", samples, variants, (double) cells);
    if (!local.matches()) {
      return 0;
    }
    if (forceSpark) {
      runLog.say("running on Spark (" + resolved + "): --spark given (" + size + ")");
      return 0;
    }
    if (cells > IN_PROCESS_MAX_CELLS || samples > IN_PROCESS_MAX_SAMPLES) {
      runLog.note(String.format(Locale.ROOT, "running on Spark (%s): %s, above the in-process limits N×M ≤ %.0e, N ≤ %,d",
          resolved, size, (double) IN_PROCESS_MAX_CELLS, IN_PROCESS_MAX_SAMPLES));
      return 0;
    }
    String cores = local.group(1);
    int threads = cores == null ? 1
        : cores.equals("*") ? Runtime.getRuntime().availableProcessors() : Math.max(1, Integer.parseInt(cores));
    runLog.say(String.format(Locale.ROOT, "small input: running in-process without Spark on %d thread(s) (%s ≤ %.0e,"
        + " N ≤ %,d, master %s); --spark forces a session", threads, size, (double) IN_PROCESS_MAX_CELLS,
        IN_PROCESS_MAX_SAMPLES, resolved));
    return threads;
  }

  /**
   * The in-process counterpart of {@link #run}: the work timed in stages and {@code runLog} written to
   * {@code logPath} through {@code conf} when it succeeded, without a session.
   */
  static <T> T runInProcess(RunLog runLog, String logPath, Configuration conf, Function<Stages, T> work) {
    T result = work.apply(new Stages(runLog));
    runLog.write(logPath, conf);
    return result;
  }

  /** The command's work inside the session. */
  @FunctionalInterface
  interface Work<T> {
    T run(JavaSparkContext jsc, Stages stages);
  }

  /**
   * Runs {@code work} in a session named {@code "lmmspark " + command} on {@code master} (null: the default),
   * progress logged under {@code progressLogger}; writes {@code runLog} to {@code logPath} afterwards (null:
   * the work writes its own log).
   */
  static <T> T run(String command, String master, RunLog runLog, Class<?> progressLogger, String logPath, Work<T> work) {
    SparkSession spark = SparkSessions.getOrCreate("lmmspark " + command, master);
    try {
      JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      ProgressListener progress = new ProgressListener(LoggerFactory.getLogger(progressLogger), command);
      jsc.sc().addSparkListener(progress);
      runLog.note("Spark " + spark.version() + ", master " + jsc.master() + ", default parallelism "
          + jsc.defaultParallelism());
      T result = work.run(jsc, new Stages(runLog));
      jsc.sc().removeSparkListener(progress);
      if (logPath != null) {
        runLog.write(logPath, jsc.hadoopConfiguration());
      }
      return result;
    } finally {
      spark.stop();
    }
  }
}
