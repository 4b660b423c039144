package org.lmmspark.jobs.genotype;

import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.io.vcf.VcfFile;
import org.lmmspark.jobs.spark.SerializableHadoopConf;

/**
 * Opens a genotype input on the driver for a Spark job. A {@code .bed}/{@code .bim} or a BGEN (with its
 * {@code .bgi} when present, else a walk over the block headers) gives its variant list cheaply; a VCF
 * has no variant list but its records, so its sites are listed by Spark tasks: the driver reads the
 * header and the {@code .tbi}/{@code .csi} index only ({@link VcfFile#plan}), cuts the records into
 * {@value #LISTING_TASKS_PER_CORE} chunks per core at record starts the index gives, and one light task
 * per chunk returns that chunk's sites and virtual offsets ({@link VcfFile#list}); the genotype passes
 * then cut their own ranges from those offsets. Without an index the listing is one task (the
 * run's log says so). The listing runs when the variants are first asked for, so a check that needs
 * only the samples reads no records.
 *
 * <p>The Spark session is the one active on this thread (or the default one): every job runs inside
 * {@code SparkSessions.getOrCreate}. With none (a local run choosing between Spark and in-process work,
 * or checks made before Spark starts) the chunks are listed by this JVM's threads, which on a local
 * master are where Spark's tasks would run too; a command bound for a cluster opens a VCF only inside
 * its session ({@code GrmCommand}).
 */
public final class GenotypeSources {
  /** Listing tasks per core: a few per core, so that chunks of uneven cost balance. */
  static final int LISTING_TASKS_PER_CORE = 2;

  private GenotypeSources() {}

  public static GenotypeSource open(GenotypeInput input, Configuration conf) {
    if (input.vcf() == null) {
      return input.open(conf);
    }
    scala.Option<SparkSession> spark = SparkSession.getActiveSession();
    if (spark.isEmpty()) {
      spark = SparkSession.getDefaultSession();
    }
    if (spark.isEmpty() || spark.get().sparkContext().isStopped()) {
      // No session (a local run deciding its route, or checks before Spark): this JVM's threads are the tasks.
      int cores = Runtime.getRuntime().availableProcessors();
      return VcfFile.open(input.vcf(), conf, LISTING_TASKS_PER_CORE * cores, GenotypeSources::listInThreads);
    }
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.get().sparkContext());
    return VcfFile.open(input.vcf(), conf, LISTING_TASKS_PER_CORE * jsc.defaultParallelism(),
        (plan, c) -> listInTasks(jsc, plan, c));
  }

  /** The chunks of the plan listed by this JVM's threads (the common fork-join pool). */
  static List<VcfFile.Sites> listInThreads(VcfFile.Plan plan, Configuration conf) {
    return plan.chunks().parallelStream().map(chunk -> VcfFile.list(plan.path(), chunk, conf)).toList();
  }

  /** One task per chunk of the plan; the sites come back in one collect. */
  static List<VcfFile.Sites> listInTasks(JavaSparkContext jsc, VcfFile.Plan plan, Configuration conf) {
    String path = FileSystems.qualify(plan.path(), conf);
    SerializableHadoopConf shipped = new SerializableHadoopConf(conf);
    jsc.setJobDescription("list the sites of " + plan.path() + " (" + plan.chunks().size() + " chunks)");
    try {
      return jsc.parallelize(plan.chunks(), plan.chunks().size())
          .map(chunk -> VcfFile.list(path, chunk, shipped.get()))
          .collect();
    } finally {
      jsc.setJobDescription(null);
    }
  }
}
