package org.lmmspark.jobs.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The one place a {@link SparkSession} is made. Under {@code spark-submit} the master and settings
 * come from it; run directly (the embedded default of {@code scripts/lmmspark}) the master is
 * {@code local[*]} unless {@code --master} or {@code spark.master} says otherwise.
 */
public final class SparkSessions {
  private SparkSessions() {}

  public static SparkSession getOrCreate(String appName, String masterOverride) {
    SparkConf conf = new SparkConf().setAppName(appName);
    if (masterOverride != null) {
      conf.setMaster(masterOverride);
    } else if (!conf.contains("spark.master")) {
      conf.setMaster("local[*]");
    }
    if (conf.get("spark.master").startsWith("local")) {
      // The embedded default talks only to itself: no host-name lookups, no public interface.
      conf.setIfMissing("spark.driver.host", "127.0.0.1");
      conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
    }
    // Executors do BLAS with one thread each; parallelism comes from tasks (see Blas).
    conf.setIfMissing("spark.executorEnv.OPENBLAS_NUM_THREADS", "1");
    conf.setIfMissing("spark.ui.showConsoleProgress", "false");
    // Tile partial sums are single large arrays; the default 1g cap would reject big GRMs' results.
    conf.setIfMissing("spark.driver.maxResultSize", "0");
    return SparkSession.builder().config(conf).getOrCreate();
  }
}
