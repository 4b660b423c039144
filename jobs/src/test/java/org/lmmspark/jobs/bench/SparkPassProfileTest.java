package org.lmmspark.jobs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.ChromosomeSelection;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.matfree.DistributedGenotypeProducts;
import org.lmmspark.jobs.testing.SharedSpark;

/** The pass profile counts every partition's task of every timed pass once, and the pass's flops as 4·N·M·k. */
class SparkPassProfileTest {
  @Test
  void everyTaskOfEachPassIsCountedOnce(@TempDir Path dir) {
    int n = 120;
    int m = 300;
    int[][] g = BedFixture.random(n, m, 0, 10, 5);
    int[] chr = new int[m];
    Arrays.fill(chr, 0, 150, 1);
    Arrays.fill(chr, 150, m, 2);
    String prefix = BedFixture.write(dir, "p", g, chr);
    JavaSparkContext jsc = SharedSpark.jsc();
    PartitionedGenotypes pg = PartitionedGenotypes.open(GenotypeInput.bfile(prefix), ChromosomeSelection.all(),
        new Configuration());
    SparkPassProfile.TaskTimes times = new SparkPassProfile.TaskTimes();
    jsc.sc().addSparkListener(times);
    try (DistributedGenotypeProducts products = DistributedGenotypeProducts.cache(jsc, pg, 0, 3)) {
      int k = 3;
      List<SparkPassProfile.Pass> passes = SparkPassProfile.measure(jsc, products, times, k, 2);
      assertEquals(2, passes.size(), "timed passes after the warm-up");
      long kept = Arrays.stream(products.variantsPerChromosome()).sum();
      for (SparkPassProfile.Pass p : passes) {
        double tasks = p.executors().values().stream().mapToDouble(t -> t[2]).sum();
        assertEquals(products.partitions(), tasks, "one task per cached partition: " + p);
        assertEquals(4.0 * n * kept * k, p.flops(), "4·N·M·k");
        // A pass of this toy size can take under a millisecond of task time: only the wall clock is sure to move.
        assertTrue(p.wall() > 0 && p.cpu() >= 0 && p.runTime() >= 0, p.toString());
      }
    } finally {
      jsc.sc().removeSparkListener(times);
    }
  }
}
