package org.lmmspark.jobs.testing;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.lmmspark.jobs.spark.SparkSessions;

/**
 * The one Spark session of the jobs tests: local[2], so that tasks really run in parallel and
 * partial results are really combined. Commands stop their session when done; this re-creates it.
 */
public final class SharedSpark {
  private SharedSpark() {}

  public static synchronized JavaSparkContext jsc() {
    System.setProperty("spark.ui.enabled", "false");
    SparkSession spark = SparkSessions.getOrCreate("lmmspark-tests", "local[2]");
    return JavaSparkContext.fromSparkContext(spark.sparkContext());
  }
}
