package org.lmmspark.jobs.spark;

import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.lmmspark.engine.linalg.Blas;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place a {@link SparkSession} is made. Under {@code spark-submit} the master and settings
 * come from it; run directly (the embedded default of {@code scripts/lmmspark}) the master is
 * {@code local[*]} unless {@code --master} or {@code spark.master} says otherwise.
 */
public final class SparkSessions {
  private static final Logger log = LoggerFactory.getLogger(SparkSessions.class);

  /**
   * A master whose tasks are threads of the driver's JVM: {@code local}, {@code local[n]}, {@code local[*]},
   * {@code local[n,f]} (group 1: the cores); not {@code local-cluster}, whose executors are other JVMs.
   */
  public static final Pattern LOCAL_MASTER = Pattern.compile("local(?:\\[(\\*|\\d+)(?:,\\d+)?\\])?");

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
      // A task's result straight to the driver, in process: a genotype pass's partial sums (N×k doubles, 34 MB per
      // task at N = 20,000, k = 215) otherwise go above 1 MB into the block manager and back through a loopback
      // fetch, whose netty threads took 7 CPU-s of 20 traits' `assoc` at 20,000² (docs/benchmarks.md).
      conf.setIfMissing("spark.rpc.message.maxSize", "2047");
      conf.setIfMissing("spark.task.maxDirectResultSize", "2047m");
    }
    // Executors do BLAS with one thread each; parallelism comes from tasks (see Blas).
    conf.setIfMissing("spark.executorEnv.OPENBLAS_NUM_THREADS", "1");
    conf.setIfMissing("spark.ui.showConsoleProgress", "false");
    // Tile partial sums are single large arrays; the default 1g cap would reject big GRMs' results.
    conf.setIfMissing("spark.driver.maxResultSize", "0");
    SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
    if (!conf.get("spark.master").startsWith("local")) {
      log.info("executors' BLAS: {}", String.join(" | ", executorBlas(spark)));
    }
    return spark;
  }

  /**
   * {@link Blas#describe()} as the executors see it (distinct lines, each prefixed by its host), from
   * one small job of {@code defaultParallelism} tasks: each executor JVM chooses its own native
   * library when it first touches {@code Blas}, so the driver's line says nothing about theirs. Only
   * the executors that ran one of these tasks are seen (all of them on a static allocation).
   */
  public static List<String> executorBlas(SparkSession spark) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    int tasks = jsc.defaultParallelism();
    return jsc.parallelize(IntStream.range(0, tasks).boxed().toList(), tasks)
        .map(i -> java.net.InetAddress.getLocalHost().getHostName() + ": " + Blas.describe())
        .distinct().collect();
  }
}
