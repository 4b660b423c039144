package org.lmmspark.engine.model;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.LongAdder;
import org.lmmspark.engine.TaskFailures;

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

  /** System property overriding {@link #secondCoreFree}: 1 (one thread) or 2 (side tasks whatever the load). */
  static final String THREADS_PROPERTY = "lmmspark.fit.threads";

  /**
   * Whether a second core is likely free: at least two, and a one-minute load average (which counts this
   * process) below their number. On a busy machine a second thread only competes with this one and with
   * the JIT compiler for a core, adding CPU without saving time, so the work then stays on one thread.
   */
  static boolean secondCoreFree() {
    String forced = System.getProperty(THREADS_PROPERTY); // "1" or "2": to time either way on any machine
    if (forced != null) {
      return forced.trim().equals("2");
    }
    int cores = Runtime.getRuntime().availableProcessors();
    double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    return cores >= 2 && load < cores; // negative (unknown) counts as free
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
