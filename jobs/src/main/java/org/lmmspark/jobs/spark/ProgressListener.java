package org.lmmspark.jobs.spark;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.slf4j.Logger;

/**
 * Logs progress of long stages: tasks done out of the stage's total, elapsed time and a naive ETA,
 * at most every 10 % or 30 seconds, so a long batch run shows it is alive in its log.
 */
public final class ProgressListener extends SparkListener {
  private final Logger log;
  private final String what;
  private final AtomicInteger total = new AtomicInteger();
  private final AtomicInteger done = new AtomicInteger();
  /** Task indices of the current stage that succeeded: a re-run task (lost executor, speculation) counts once. */
  private final java.util.Set<Integer> succeeded = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile long start = System.nanoTime();
  private volatile long lastReport;
  private volatile int lastPercent = -1;

  public ProgressListener(Logger log, String what) {
    this.log = log;
    this.what = what;
  }

  @Override
  public void onStageSubmitted(SparkListenerStageSubmitted event) {
    total.set(event.stageInfo().numTasks());
    done.set(0);
    succeeded.clear();
    start = System.nanoTime();
    lastPercent = -1;
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd event) {
    if (!event.taskInfo().successful() || !succeeded.add(event.taskInfo().index())) {
      return;
    }
    int t = Math.max(1, total.get());
    int d = Math.min(t, done.incrementAndGet());
    if (t == 1) {
      return; // single-task stages (fetching results) finish too fast to need progress
    }
    int percent = 100 * d / t;
    long now = System.nanoTime();
    if (percent / 10 > lastPercent / 10 || now - lastReport > 30e9) {
      lastPercent = percent;
      lastReport = now;
      double elapsed = (now - start) / 1e9;
      double eta = d == 0 ? Double.NaN : elapsed * (t - d) / d;
      log.info(String.format("%s: %d/%d tasks (%d%%), %.0f s elapsed, ~%.0f s to go", what, d, t, percent, elapsed, eta));
    }
  }
}
