package org.lmmspark.engine.model;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.LongAdder;
import org.lmmspark.engine.TaskFailures;
import org.lmmspark.engine.linalg.Blas;

/**
 * Work that does not depend on what the calling thread does next, started on a second thread and
 * joined where its result is needed: a short {@code fit} is a few tens of milliseconds of mostly
 * first-run code, and the machine's other core would otherwise sit idle (the MME's symbolic analysis
 * while the start is found; half of the cAIC's blocks). Its CPU time goes to a {@link #ledger} the
 * caller reports, so "CPU" stays the sum over the threads that did the fit's work.
 *
 * <p>An exception of the work is rethrown by {@link #join} on the calling thread as it would have been
 * thrown there: the same message, the same exit code.
 */
final class SideTask<T> {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private final FutureTask<T> task;

  private SideTask(FutureTask<T> task) {
    this.task = task;
  }

  /** A ledger of the CPU nanoseconds side tasks spent (one per fit). */
  static LongAdder ledger() {
    return new LongAdder();
  }

  /** System property overriding {@link #secondCoreFree}: 1 (one thread) or 2 (side tasks whatever the driver's threads). */
  static final String THREADS_PROPERTY = "lmmspark.fit.threads";

  /**
   * Whether to run side tasks: when the driver has a second thread by the one rule of the driver's dense work
   * ({@link Blas#driverThreads()}: {@code -Dlmmspark.driver.threads}, else {@code spark.driver.cores}, else the
   * cores the JVM sees), not by the load of the moment, so that two runs with the same settings take the same
   * paths. The side tasks give the same bits as one thread ({@code TwoThreadFitTest}); on a busy machine they
   * add CPU without saving time, and {@code -Dlmmspark.fit.threads=1} (or {@code lmmspark.driver.threads=1})
   * turns them off.
   */
  static boolean secondCoreFree() {
    String forced = System.getProperty(THREADS_PROPERTY); // "1" or "2": to time either way on any machine
    if (forced != null) {
      return forced.trim().equals("2");
    }
    return Blas.driverThreads() >= 2;
  }

  /** Starts {@code work} on a new daemon thread; its CPU time is added to {@code cpuNanos} when it ends. */
  static <T> SideTask<T> start(String name, LongAdder cpuNanos, Callable<T> work) {
    FutureTask<T> task = new FutureTask<>(() -> {
      long cpu0 = THREADS.getCurrentThreadCpuTime();
      try {
        return work.call();
      } finally {
        cpuNanos.add(THREADS.getCurrentThreadCpuTime() - cpu0);
      }
    });
    Thread thread = new Thread(task, "lmmspark-" + name);
    thread.setDaemon(true);
    thread.start();
    return new SideTask<>(task);
  }

  /** The work's result, once it is done; its unchecked exception or error rethrown here. */
  T join() {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return task.get();
        } catch (InterruptedException e) {
          interrupted = true; // finish the join: the work's result is needed, and it ends by itself
        } catch (ExecutionException e) {
          throw TaskFailures.rethrow(e.getCause());
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
