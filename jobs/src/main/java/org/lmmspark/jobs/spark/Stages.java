package org.lmmspark.jobs.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.slf4j.Logger;

/**
 * The named stages of one job, each timed and its Spark jobs counted, so that a job's {@code run} reads
 * as the sequence of its stages and every job reports them alike: one line per stage,
 * {@code "NAME: S s, J Spark job(s); DETAIL"}, logged as it ends and kept for the run log and report.
 * Stages run one after another on the driver (the Spark jobs they start are counted by a listener that
 * lives for the stage).
 */
public final class Stages {
  private final JavaSparkContext jsc;
  private final Logger log;
  private final long start = System.nanoTime();
  private final List<String> lines = new ArrayList<>();
  private final List<String> names = new ArrayList<>();
  private final List<Double> seconds = new ArrayList<>();
  private int sparkJobs;

  /** Stages of a job on {@code jsc}, logged to {@code log}. */
  public Stages(JavaSparkContext jsc, Logger log) {
    this.jsc = jsc;
    this.log = log;
  }

  /** Runs one stage with no detail beyond its time and Spark jobs. */
  public <T> T run(String name, Supplier<T> work) {
    return run(name, work, r -> null);
  }

  /**
   * Runs {@code work} as the stage {@code name}: times it, counts the Spark jobs it starts, and records
   * the line with {@code detail} of its result (null: none).
   */
  public <T> T run(String name, Supplier<T> work, Function<? super T, String> detail) {
    AtomicInteger jobs = new AtomicInteger();
    SparkListener counter = new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart jobStart) {
        jobs.incrementAndGet();
      }
    };
    long t0 = System.nanoTime();
    long cpu0 = processCpuNanos();
    jsc.sc().addSparkListener(counter);
    T result;
    try {
      result = work.get();
    } finally {
      jsc.sc().removeSparkListener(counter);
    }
    double s = (System.nanoTime() - t0) / 1e9;
    long cpu1 = processCpuNanos();
    sparkJobs += jobs.get();
    String more = detail.apply(result);
    names.add(name);
    seconds.add(s);
    lines.add(String.format(Locale.ROOT, "%s: %.1f s%s, %d Spark job(s)%s", name, s, cpu0 < 0 || cpu1 < 0 ? ""
        : String.format(Locale.ROOT, " (%.1f s CPU of this JVM)", (cpu1 - cpu0) / 1e9), jobs.get(),
        more == null || more.isEmpty() ? "" : "; " + more));
    log.info(lines.get(lines.size() - 1));
    return result;
  }

  /**
   * CPU time of this JVM so far (every thread: with a local master the executors' tasks too), ns; −1 where the
   * platform does not report it.
   */
  private static long processCpuNanos() {
    java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : -1;
  }

  /** Runs a stage that returns nothing. */
  public void run(String name, Runnable work) {
    run(name, () -> {
      work.run();
      return null;
    });
  }

  /** Adds a line that is not a stage (a summary over stages). */
  public void note(String line) {
    lines.add(line);
    log.info(line);
  }

  /** Seconds spent in the stages whose name starts with {@code prefix}. */
  public double seconds(String prefix) {
    double s = 0;
    for (int i = 0; i < names.size(); i++) {
      if (names.get(i).startsWith(prefix)) {
        s += seconds.get(i);
      }
    }
    return s;
  }

  /** Seconds since these stages began. */
  public double elapsed() {
    return (System.nanoTime() - start) / 1e9;
  }

  /** Spark jobs started in all stages so far. */
  public int sparkJobs() {
    return sparkJobs;
  }

  /** One line per stage (and note), in order. */
  public List<String> lines() {
    return List.copyOf(lines);
  }
}
