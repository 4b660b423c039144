package org.lmmspark.jobs.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.jobs.testing.SharedSpark;

/** The executors' BLAS line comes from tasks; in local mode they run in this JVM, so it is the driver's. */
class SparkSessionsTest {
  @Test
  void executorBlasIsWhatTheTasksSee() {
    SparkSession spark = SparkSession.builder().sparkContext(SharedSpark.jsc().sc()).getOrCreate();
    List<String> lines = SparkSessions.executorBlas(spark);
    assertEquals(1, lines.size(), lines.toString());
    assertTrue(lines.get(0).endsWith(": " + Blas.describe()), lines.get(0));
  }
}
