package org.lmmspark.jobs.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import org.lmmspark.engine.TaskFailures;

/**
 * What a {@code parallelize(items, items.size()).map(f).collect()} does, on this JVM's threads instead of
 * Spark tasks: for a command that runs small local inputs without a session (see {@code SparkRun}). The
 * items are queued and taken by {@code threads} workers as they finish, so an uneven item delays the end
 * by itself only; results come back in item order; a task's exception is rethrown as it was thrown
 * (bad input stays bad input).
 */
public final class LocalTasks {
  private LocalTasks() {}

  public static <T, R> List<R> map(List<T> items, int threads, String threadName, Function<T, R> task) {
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(threads, items.size())), r -> {
      Thread t = new Thread(r, threadName);
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<R>> futures = new ArrayList<>(items.size());
      for (T item : items) {
        futures.add(pool.submit(() -> task.apply(item)));
      }
      List<R> results = new ArrayList<>(items.size());
      for (Future<R> f : futures) {
        results.add(TaskFailures.join(f, "waiting for a task"));
      }
      return results;
    } finally {
      pool.shutdownNow();
    }
  }
}
