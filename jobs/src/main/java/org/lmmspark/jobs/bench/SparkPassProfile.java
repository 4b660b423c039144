package org.lmmspark.jobs.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorAdded;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.lmmspark.jobs.matfree.DistributedGenotypeProducts;

/**
 * Where a distributed genotype pass spends its time: {@link DistributedGenotypeProducts#multiply} (one
 * Spark job: V broadcast as float, one task per cached partition running the pass kernel, the N×k double
 * partials summed on the driver) timed end to end on the driver, with each executor's task run time and
 * task-thread CPU seconds from Spark's task metrics. The cost model of docs/scaling.md splits a pass as
 * {@code t = a + W / (E·c)}: W the kernel's work (here the executors' summed task time), E·c the cores
 * running tasks, and {@code a} what does not shrink with executors (scheduling, the broadcast, shipping
 * and summing the partials on the driver), which this measures as the wall time beyond the busiest
 * executor's task time per core, with the driver JVM's CPU seconds over the pass beside it.
 *
 * <p>Task metrics, not process CPU: the figures hold on a machine shared with other jobs (a task's CPU
 * seconds do not grow when the core is shared; its run time does).
 */
public final class SparkPassProfile {
  /** The driver JVM's CPU time, all threads (results are deserialized off the calling thread). */
  private static final com.sun.management.OperatingSystemMXBean DRIVER =
      (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

  private SparkPassProfile() {}

  /** Sums task run time and task CPU time per executor, from task-end events; cores from executor-added events. */
  public static final class TaskTimes extends SparkListener {
    private final Map<String, double[]> byExecutor = new ConcurrentHashMap<>();
    private final Map<String, Integer> cores = new ConcurrentHashMap<>();

    @Override
    public void onExecutorAdded(SparkListenerExecutorAdded event) {
      cores.put(event.executorId(), event.executorInfo().totalCores());
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd event) {
      TaskMetrics m = event.taskMetrics();
      if (m == null || !event.taskInfo().successful()) {
        return;
      }
      double[] t = byExecutor.computeIfAbsent(event.taskInfo().executorId(), e -> new double[3]);
      synchronized (t) {
        t[0] += m.executorRunTime() / 1e3;
        t[1] += m.executorCpuTime() / 1e9;
        t[2] += 1;
      }
    }

    /**
     * Waits (up to 30 s) until {@code tasks} task-end events have arrived since the last {@link #drain}:
     * the listener bus delivers them after the job has returned to the driver.
     */
    void awaitTasks(int tasks) {
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (byExecutor.values().stream().mapToDouble(t -> t[2]).sum() < tasks && System.nanoTime() < deadline) {
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }

    /** Per executor {run seconds, CPU seconds, tasks} since the last call, and resets them. */
    synchronized Map<String, double[]> drain() {
      Map<String, double[]> out = new TreeMap<>();
      byExecutor.forEach((e, t) -> {
        synchronized (t) {
          out.put(e, t.clone());
        }
      });
      byExecutor.clear();
      return out;
    }

    int cores(String executor) {
      return cores.getOrDefault(executor, 1);
    }
  }

  /**
   * One pass: driver wall and CPU seconds, per executor {run s, CPU s, tasks, cores}, and the part of the wall
   * time beyond the busiest executor's task seconds per core ({@code a} of the cost model).
   */
  public record Pass(double wall, double driverCpu, Map<String, double[]> executors, double flops) {
    public double busiest() {
      return executors.values().stream().mapToDouble(t -> t[0] / t[3]).max().orElse(0);
    }

    public double cpu() {
      return executors.values().stream().mapToDouble(t -> t[1]).sum();
    }

    public double runTime() {
      return executors.values().stream().mapToDouble(t -> t[0]).sum();
    }

    @Override
    public String toString() {
      StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
          "%.2f s wall, driver %.2f CPU-s; tasks %.2f s run, %.2f s CPU in all (%.1f GFLOP/s per task CPU-s);"
              + " beyond the busiest executor's task time per core %.2f s;", wall, driverCpu, runTime(), cpu(),
          flops / cpu() / 1e9, wall - busiest()));
      executors.forEach((e, t) -> s.append(String.format(Locale.ROOT, " executor %s (%d core(s)): %d task(s), %.2f s run,"
          + " %.2f s CPU;", e, (int) t[3], (int) t[2], t[0], t[1])));
      return s.substring(0, s.length() - 1);
    }
  }

  /**
   * Times {@code passes} products of {@code k} seeded Gaussian columns (after one warm-up, which also
   * fetches the kernel's code and the native BLAS on every executor) with all-ones weights.
   */
  public static List<Pass> measure(JavaSparkContext jsc, DistributedGenotypeProducts products, TaskTimes times, int k,
      int passes) {
    int n = products.samples();
    Random rng = new Random(17);
    double[] v = new double[n * k];
    for (int i = 0; i < v.length; i++) {
      v[i] = rng.nextGaussian();
    }
    double[] weights = new double[products.chromosomeCount() * k];
    java.util.Arrays.fill(weights, 1.0);
    double[] out = new double[n * k];
    long m = 0;
    for (long c : products.variantsPerChromosome()) {
      m += c;
    }
    double flops = 4.0 * n * m * k;
    List<Pass> measured = new ArrayList<>();
    for (int p = 0; p <= passes; p++) {
      times.drain();
      long cpu0 = DRIVER.getProcessCpuTime();
      long t0 = System.nanoTime();
      products.multiply(v, k, weights, out);
      double wall = (System.nanoTime() - t0) / 1e9;
      double driverCpu = (DRIVER.getProcessCpuTime() - cpu0) / 1e9;
      times.awaitTasks(products.partitions());
      Map<String, double[]> byExecutor = new TreeMap<>();
      times.drain().forEach((e, t) -> byExecutor.put(e, new double[] {t[0], t[1], t[2], times.cores(e)}));
      if (p > 0) {
        measured.add(new Pass(wall, driverCpu, byExecutor, flops));
      }
    }
    return measured;
  }
}
