package org.lmmspark.engine;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * A task's failure, rethrown on the thread that waits for it as the task threw it, so that work run on
 * another thread fails the way it would have failed on this one: bad input stays bad input (the same
 * message, the same exit code), an error stays an error; only a checked exception, which the waiting code
 * does not declare, is wrapped (in an {@link IllegalStateException}). One rule for every place that joins
 * futures (the fit's side tasks, local tasks, writers).
 *
 * <pre>{@code
 * try { return f.get(); } catch (ExecutionException e) { throw TaskFailures.rethrow(e.getCause()); }
 * }</pre>
 */
public final class TaskFailures {
  private TaskFailures() {}

  /**
   * Throws {@code cause} unchecked: a RuntimeException or an Error as itself, anything else in an
   * IllegalStateException. Declared to return one so callers can write {@code throw rethrow(cause)}.
   */
  public static RuntimeException rethrow(Throwable cause) {
    if (cause instanceof RuntimeException r) {
      throw r;
    }
    if (cause instanceof Error err) {
      throw err;
    }
    throw new IllegalStateException(cause);
  }

  /**
   * The task's result, its failure rethrown by {@link #rethrow}; an interruption of the wait restores the
   * thread's interrupt flag and fails with {@code IllegalStateException("interrupted while " + waitingFor)}.
   */
  public static <T> T join(Future<T> task, String waitingFor) {
    try {
      return task.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while " + waitingFor, e);
    } catch (ExecutionException e) {
      throw rethrow(e.getCause());
    }
  }
}
