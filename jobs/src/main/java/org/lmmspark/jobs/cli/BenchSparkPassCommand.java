package org.lmmspark.jobs.cli;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.genotype.ChromosomeSelection;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.jobs.bench.SparkPassProfile;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.matfree.DistributedGenotypeProducts;
import org.lmmspark.jobs.spark.SparkSessions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lmmspark bench-spark-pass}: the distributed genotype pass of matrix-free REML timed on whatever
 * master it runs on ({@link SparkPassProfile}), to check the pass-time model of docs/scaling.md against
 * 1, 2, … executors. Hidden: a tool for benchmarks (scripts/bench-scale.sh --pass-only).
 */
@Command(name = "bench-spark-pass", hidden = true, mixinStandardHelpOptions = true,
    description = {
      "Caches a .bed as matrix-free REML does (2 bits per call over the executors) and times --passes distributed"
          + " products K·V of --columns columns (one Spark job each, after a warm-up): the driver's wall time, each"
          + " executor's task run time and task CPU seconds, and the wall time beyond the busiest executor's task time"
          + " per core (scheduling, broadcast of V, the partials shipped and summed)."})
public final class BenchSparkPassCommand implements Callable<Integer> {
  @Option(names = "--bfile", required = true, paramLabel = "PREFIX", description = "PLINK 1 binary fileset (e.g. from lmmspark simulate).")
  String bfile;

  @Option(names = "--columns", defaultValue = "44", paramLabel = "K",
      description = "Columns of V per pass (default: ${DEFAULT-VALUE}: y, 40 probes, the lagged AI pair and one covariate).")
  int columns;

  @Option(names = "--passes", defaultValue = "5", paramLabel = "R", description = "Timed passes after a warm-up (default: ${DEFAULT-VALUE}).")
  int passes;

  @Option(names = "--partitions", defaultValue = "0", paramLabel = "P",
      description = "Cached partitions (default 0: one per core of the cluster, as matrix-free REML).")
  int partitions;

  @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: spark-submit's, else local[*]).")
  String master;

  @Override
  public Integer call() {
    NumericRange.atLeast("--columns", columns, 1);
    NumericRange.atLeast("--passes", passes, 1);
    NumericRange.atLeast("--partitions", partitions, 0);
    SparkSession spark = SparkSessions.getOrCreate("lmmspark bench-spark-pass", master);
    try {
      JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      SparkPassProfile.TaskTimes times = new SparkPassProfile.TaskTimes();
      jsc.sc().addSparkListener(times);
      PartitionedGenotypes genotypes = PartitionedGenotypes.open(GenotypeInput.bfile(bfile), ChromosomeSelection.all(),
          jsc.hadoopConfiguration());
      long t0 = System.nanoTime();
      try (DistributedGenotypeProducts products = DistributedGenotypeProducts.cache(jsc, genotypes, 0.0, partitions)) {
        System.out.printf(Locale.ROOT, "bench-spark-pass: master %s, default parallelism %d; N = %d, M = %d cached in %d"
            + " partitions (%.0f MiB) in %.1f s; k = %d columns, %d passes after a warm-up%n", jsc.master(),
            jsc.defaultParallelism(), products.samples(), Arrays.stream(products.variantsPerChromosome()).sum(),
            products.partitions(), products.cachedBytes() / 1048576.0, (System.nanoTime() - t0) / 1e9, columns, passes);
        List<SparkPassProfile.Pass> measured = SparkPassProfile.measure(jsc, products, times, columns, passes);
        for (int p = 0; p < measured.size(); p++) {
          System.out.println("bench-spark-pass: pass " + (p + 1) + ": " + measured.get(p));
        }
        double[] walls = measured.stream().mapToDouble(SparkPassProfile.Pass::wall).sorted().toArray();
        double[] cpus = measured.stream().mapToDouble(SparkPassProfile.Pass::cpu).sorted().toArray();
        double[] beyond = measured.stream().mapToDouble(p -> p.wall() - p.busiest()).sorted().toArray();
        System.out.printf(Locale.ROOT, "bench-spark-pass: median of %d passes: %.2f s wall, %.2f task CPU-s, %.2f s beyond"
            + " the busiest executor%n", walls.length, walls[walls.length / 2], cpus[cpus.length / 2],
            beyond[beyond.length / 2]);
      }
    } finally {
      spark.stop();
    }
    return 0;
  }
}
