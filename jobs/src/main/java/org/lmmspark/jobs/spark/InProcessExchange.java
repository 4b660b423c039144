package org.lmmspark.jobs.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * A job's input and its tasks' results passed by reference when the tasks run in the driver's JVM (a {@code local}
 * or {@code local[n]} master), instead of through a broadcast and the task results, which Spark serializes even
 * there. A genotype pass of the multi-trait {@code assoc} at N = 20,000 and k = 600 columns returns two partials of
 * 96 MB: each was serialized into a value buffer, serialized again inside the task's result, copied into one
 * buffer and deserialized twice on the driver, ~0.5 GB of transient arrays per task, and the broadcast V
 * (48 MB) serialized and compressed once more: of the 15.8 GB that 20 traits at N = M = 20,000 allocated, and a
 * larger heap, whose pages cost ~2 s per GB first touched on a VM of this project's kind (docs/benchmarks.md).
 *
 * <p>{@link #perPartition} runs one task per partition over a shared input either way (by reference here, else by a
 * broadcast and collected results); {@link #run} is its in-process half, for callers whose input only lives here.
 * Underneath, the driver {@link #open}s an exchange with the job's input and captures only its key in the tasks' closure;
 * a task reads the input ({@link #input}) and {@link #deliver}s its result under its partition; after the job the
 * driver {@link #close}s the exchange and gets the results in partition order (a task attempt run again replaces
 * its partition's result). A {@code local-cluster} master runs its
 * executors in other JVMs and does not qualify ({@link #applies}); nor does any master with the system property
 * {@value #SERIALIZED_PROPERTY} true, which runs the jobs as on a cluster (tests of that route on a local master).
 */
public final class InProcessExchange {
  /** System property: true sends inputs and results serialized, as on a cluster, whatever the master. */
  public static final String SERIALIZED_PROPERTY = "lmmspark.exchange.serialized";
  private static final AtomicLong NEXT_KEY = new AtomicLong();
  private static final Map<Long, Object> INPUTS = new ConcurrentHashMap<>();
  private static final Map<Long, ConcurrentSkipListMap<Integer, Object>> RESULTS = new ConcurrentHashMap<>();

  private InProcessExchange() {}

  /** A task's work over one partition's elements with the job's input; null: no result. */
  @FunctionalInterface
  public interface PartitionTask<T, I, R> extends Serializable {
    R apply(Iterator<T> elements, I input) throws Exception;
  }

  /**
   * {@code task} over every partition of {@code rdd} with {@code input}: the non-null results in partition order.
   * In this JVM ({@link #applies}) by reference; else {@code input} (then Serializable) goes out as a broadcast and the
   * results come back serialized, all at once (results meant to be reduced as they come should use a tree reduction).
   */
  public static <T, I, R> List<R> perPartition(JavaSparkContext jsc, JavaRDD<T> rdd, I input,
      PartitionTask<T, I, R> task) {
    if (applies(jsc)) {
      return run(rdd, input, task);
    }
    Broadcast<I> shared = jsc.broadcast(input);
    try {
      return rdd.mapPartitions((Iterator<T> it) -> {
        R result = task.apply(it, shared.value());
        return result == null ? java.util.Collections.<R>emptyIterator() : List.of(result).iterator();
      }).collect();
    } finally {
      shared.destroy();
    }
  }

  /** {@link #perPartition} in this JVM: the caller has checked {@link #applies}; {@code input} need not serialize. */
  public static <T, I, R> List<R> run(JavaRDD<T> rdd, I input, PartitionTask<T, I, R> task) {
    long key = open(input);
    try {
      rdd.foreachPartition(it -> deliver(key, TaskContext.getPartitionId(), task.apply(it, input(key))));
    } catch (RuntimeException | Error e) {
      close(key);
      throw e;
    }
    return close(key);
  }

  /**
   * Whether the context's tasks run in this JVM ({@link SparkSessions#LOCAL_MASTER}) and {@value #SERIALIZED_PROPERTY}
   * is not set.
   */
  public static boolean applies(JavaSparkContext jsc) {
    return SparkSessions.LOCAL_MASTER.matcher(jsc.master()).matches() && !Boolean.getBoolean(SERIALIZED_PROPERTY);
  }

  /** A new exchange holding {@code input}; its key is what the tasks' closure carries. */
  private static long open(Object input) {
    long key = NEXT_KEY.incrementAndGet();
    INPUTS.put(key, input);
    RESULTS.put(key, new ConcurrentSkipListMap<>());
    return key;
  }

  /** The exchange's input, in a task. */
  @SuppressWarnings("unchecked")
  private static <T> T input(long key) {
    Object input = INPUTS.get(key);
    if (input == null) {
      throw new IllegalStateException("in-process exchange " + key + " is not open in this JVM (a task of a local "
          + "master run in another JVM?)");
    }
    return (T) input;
  }

  /** The result of a task over {@code partition}; null: none (a task attempt run again clears its partition's). */
  private static void deliver(long key, int partition, Object result) {
    ConcurrentSkipListMap<Integer, Object> results = RESULTS.get(key);
    if (results == null) {
      throw new IllegalStateException("in-process exchange " + key + " is not open in this JVM");
    }
    if (result == null) {
      results.remove(partition);
    } else {
      results.put(partition, result);
    }
  }

  /** Ends the exchange (also after a failed job): its results in partition order. */
  @SuppressWarnings("unchecked")
  private static <R> List<R> close(long key) {
    INPUTS.remove(key);
    ConcurrentSkipListMap<Integer, Object> results = RESULTS.remove(key);
    List<R> list = new ArrayList<>();
    if (results != null) {
      results.values().forEach(r -> list.add((R) r));
    }
    return list;
  }
}
