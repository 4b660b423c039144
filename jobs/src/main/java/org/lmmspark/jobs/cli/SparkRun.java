package org.lmmspark.jobs.cli;

import java.util.Locale;
import java.util.function.Supplier;
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
