package org.lmmspark.engine.linalg;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.lmmspark.engine.TaskFailures;

/**
 * Independent tiles of one dense step run on a fixed number of threads, the caller one of them: each thread takes
 * the next tile from a shared counter until none is left, so a thread the OS deschedules takes fewer tiles instead
 * of holding the others at the end of a statically split call. Which thread computes a tile does not change its
 * arithmetic (each tile is the same BLAS calls on the same shapes), so the results are the same bits for any
 * thread count. Open for the span of one computation; {@link #close} stops the workers. A tile's failure is rethrown
 * by {@link #run} as it was thrown ({@link TaskFailures}), after every running tile ended.
 */
public final class Tiles implements AutoCloseable {
  private final int threads;
  private final ExecutorService pool;

  public Tiles(int threads, String name) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    this.threads = threads;
    this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    });
  }

  /** Runs {@code tile.accept(i)} for i = 0, 1, …, count − 1, in that order of starting, and returns when all ended. */
  public void run(int count, IntConsumer tile) {
    if (pool == null || count <= 1) {
      for (int i = 0; i < count; i++) {
        tile.accept(i);
      }
      return;
    }
    AtomicInteger next = new AtomicInteger();
    Runnable worker = () -> {
      for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
        tile.accept(i);
      }
    };
    List<Future<?>> helpers = new ArrayList<>();
    for (int h = 0; h < Math.min(threads, count) - 1; h++) {
      helpers.add(pool.submit(worker));
    }
    Throwable failure = null;
    try {
      worker.run();
    } catch (RuntimeException | Error e) {
      failure = e;
      next.set(count); // the others stop after their current tile
    }
    boolean interrupted = false;
    for (Future<?> f : helpers) {
      while (true) {
        try {
          f.get();
          break;
        } catch (InterruptedException e) {
          interrupted = true; // wait on: the helpers write into the caller's arrays until they end
        } catch (ExecutionException e) {
          failure = failure != null ? failure : e.getCause();
          break;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (failure != null) {
      throw TaskFailures.rethrow(failure);
    }
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
  }
}
