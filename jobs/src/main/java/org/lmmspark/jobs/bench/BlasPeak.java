package org.lmmspark.jobs.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import org.lmmspark.engine.linalg.Blas;

/**
 * The machine's level-3 BLAS throughput through the project's {@link Blas} door: the peak the GRM
 * kernel is measured against.
 *
 * <p>For a shape {@code m × n × k} one call does {@code m·n·k} multiply-adds, counted as
 * {@code 2·m·n·k} flops (SSYRK on {@code n × k}: {@code n(n+1)/2·k} multiply-adds). With {@code t}
 * threads each thread multiplies its own matrices at the same time, started together at a barrier,
 * which is how Spark tasks use a one-thread BLAS ({@code OPENBLAS_NUM_THREADS=1}); the rate is
 * {@code t·flops / slowest thread's time}. One warm-up call, then the best of {@code repeats} rounds.
 * Each product is checked at a few entries against a plain dot product, so a wrong BLAS cannot
 * post a fast time.
 *
 * <p>On a shared machine other processes steal cycles, so each rate is also given per CPU time
 * ({@code t·flops / slowest thread's CPU seconds}): what the threads achieve while they run, close to
 * the uncontended wall rate (cache and memory bandwidth are still shared).
 */
public final class BlasPeak {
  /** The routines measured. */
  public enum Routine {
    SGEMM, DGEMM, SSYRK
  }

  /** One measurement: best seconds of one round and the aggregate rate. */
  public record Measurement(Routine routine, int m, int n, int k, int threads, double bestSeconds, double gflops,
      double cpuGflops) {
    @Override
    public String toString() {
      String shape = routine == Routine.SSYRK ? n + "x" + k : m + "x" + n + "x" + k;
      return String.format("%-5s %-16s %d thread(s): %6.1f GFLOP/s wall, %6.1f GFLOP/s per CPU time (best round %.3f s)",
          routine, shape, threads, gflops, cpuGflops, bestSeconds);
    }
  }

  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

  private BlasPeak() {}

  /**
   * Measures {@code routine} on {@code threads} threads for an {@code m × n × k} product ({@code m}
   * is ignored for SSYRK, which is {@code n × n} from {@code n × k}).
   */
  public static Measurement measure(Routine routine, int m, int n, int k, int threads, int repeats) {
    if (m < 1 || n < 1 || k < 1 || threads < 1 || repeats < 1) {
      throw new IllegalArgumentException("m, n, k, threads, repeats must be positive: " + m + ", " + n + ", " + k + ", "
          + threads + ", " + repeats);
    }
    int rows = routine == Routine.SSYRK ? n : m;
    List<Worker> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      workers.add(new Worker(routine, rows, n, k, 1000L + t));
    }
    double best = Double.POSITIVE_INFINITY;
    double bestCpu = Double.POSITIVE_INFINITY;
    for (int round = 0; round <= repeats; round++) { // round 0 is the warm-up
      double slowest = runRound(workers);
      if (round > 0) {
        best = Math.min(best, slowest);
        bestCpu = Math.min(bestCpu, workers.stream().mapToDouble(w -> w.cpuSeconds).max().orElseThrow());
      }
    }
    for (Worker w : workers) {
      w.check();
    }
    double flops = routine == Routine.SSYRK ? (double) n * (n + 1) * k : 2.0 * rows * n * k;
    return new Measurement(routine, rows, n, k, threads, best, threads * flops / best / 1e9,
        threads * flops / Math.max(bestCpu, 1e-9) / 1e9);
  }

  /** Runs every worker once, together; returns the slowest worker's seconds. */
  private static double runRound(List<Worker> workers) {
    CyclicBarrier barrier = new CyclicBarrier(workers.size());
    List<Thread> threads = new ArrayList<>();
    for (Worker w : workers) {
      Thread t = new Thread(() -> {
        try {
          barrier.await();
        } catch (InterruptedException | BrokenBarrierException e) {
          throw new IllegalStateException(e);
        }
        long cpuStart = CPU.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        w.run();
        w.seconds = (System.nanoTime() - start) / 1e9;
        w.cpuSeconds = (CPU.getCurrentThreadCpuTime() - cpuStart) / 1e9;
      }, "blas-peak");
      threads.add(t);
      t.start();
    }
    double slowest = 0;
    for (int i = 0; i < threads.size(); i++) {
      try {
        threads.get(i).join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      slowest = Math.max(slowest, workers.get(i).seconds);
    }
    return slowest;
  }

  /** One thread's matrices: {@code A (m×k)}, {@code B (n×k)}, {@code C = A·Bᵀ (m×n)} (SSYRK: {@code C = A·Aᵀ}). */
  private static final class Worker {
    final Routine routine;
    final int m;
    final int n;
    final int k;
    float[] sa;
    float[] sb;
    float[] sc;
    double[] da;
    double[] db;
    double[] dc;
    volatile double seconds;
    volatile double cpuSeconds;

    Worker(Routine routine, int m, int n, int k, long seed) {
      this.routine = routine;
      this.m = m;
      this.n = n;
      this.k = k;
      Random rng = new Random(seed);
      if (routine == Routine.DGEMM) {
        da = gaussian(rng, m * k);
        db = gaussian(rng, n * k);
        dc = new double[m * n];
      } else {
        sa = toFloat(gaussian(rng, m * k));
        sb = routine == Routine.SSYRK ? sa : toFloat(gaussian(rng, n * k));
        sc = new float[m * n];
      }
    }

    void run() {
      switch (routine) {
        case SGEMM -> Blas.sgemm(false, true, m, n, k, 1f, sa, 0, m, sb, 0, n, 0f, sc, 0, m);
        case SSYRK -> Blas.ssyrkLower(n, k, 1f, sa, 0, n, 0f, sc, 0, n);
        case DGEMM -> Blas.dgemm(false, true, m, n, k, 1.0, da, m, db, n, 0.0, dc, m);
      }
    }

    /** Compares a few entries of C (lower triangle for SSYRK) with plain dot products. */
    void check() {
      Random rng = new Random(7);
      for (int probe = 0; probe < 8; probe++) {
        int i = rng.nextInt(m);
        int j = routine == Routine.SSYRK ? rng.nextInt(i + 1) : rng.nextInt(n);
        double expected = 0;
        double scale = 0;
        for (int p = 0; p < k; p++) {
          double a = routine == Routine.DGEMM ? da[i + p * m] : sa[i + p * m];
          double b = routine == Routine.DGEMM ? db[j + p * n] : sb[j + p * n];
          expected += a * b;
          scale += Math.abs(a * b);
        }
        double actual = routine == Routine.DGEMM ? dc[i + j * m] : sc[i + j * m];
        double tol = (routine == Routine.DGEMM ? 1e-12 : 1e-5) * Math.max(1, scale);
        if (Math.abs(actual - expected) > tol) {
          throw new IllegalStateException(routine + " gave C[" + i + "," + j + "] = " + actual + ", a plain dot product "
              + expected + ": the BLAS in use (" + Blas.describe() + ") is wrong");
        }
      }
    }

    private static double[] gaussian(Random rng, int size) {
      double[] x = new double[size];
      for (int i = 0; i < size; i++) {
        x[i] = rng.nextGaussian();
      }
      return x;
    }

    private static float[] toFloat(double[] x) {
      float[] f = new float[x.length];
      for (int i = 0; i < x.length; i++) {
        f[i] = (float) x[i];
      }
      return f;
    }
  }
}
