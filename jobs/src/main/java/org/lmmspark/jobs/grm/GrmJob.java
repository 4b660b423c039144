package org.lmmspark.jobs.grm;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.StageInfo;
import org.apache.spark.util.CollectionAccumulator;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.genotype.GenotypeBlockReader;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.SampleSubset;
import org.lmmspark.engine.genotype.GenotypeScaling;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.kinship.GrmAssembler;
import org.lmmspark.engine.kinship.GrmKernel;
import org.lmmspark.engine.kinship.GrmStatistics;
import org.lmmspark.engine.kinship.GrmTileSums;
import org.lmmspark.engine.kinship.GrmTiling;
import org.lmmspark.engine.kinship.KernelTimes;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.genotype.PartitionedGenotypes.VariantRange;
import org.lmmspark.jobs.spark.SerializableHadoopConf;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The GCTA genomic relationship matrix ({@link GrmKernel}) as a Spark job.
 *
 * <p>Work is cut two ways: the selected variants into contiguous ranges (each read from its seek
 * position: a {@code .bed} byte offset, a BGEN block offset), and the lower triangle into tiles grouped so that one task's accumulators stay under
 * {@code tileMemoryBytes}. A task is one (range, tile group): it decodes its range once per block and
 * adds each block into its tiles with one SSYRK/SGEMM per tile. Partial tiles are summed by
 * {@code reduceByKey} into one partition per tile (per chromosome with {@code perChromosome}), and the
 * driver streams those partitions in order, band by band, into GCTA's row-by-row file.
 *
 * <p>Memory: an executor task holds one decoded block (~64 MB) and its tile group (≤
 * {@code tileMemoryBytes}, default 1 GiB); the driver holds one band of tiles (12·tileSize·N bytes)
 * and never the whole matrix. Shuffle volume: 12·N²/2 bytes per variant range (per chromosome with
 * {@code perChromosome}), so ranges are few: about one per core and tile group.
 *
 * <p>Cluster use: {@code spark-submit --class org.lmmspark.jobs.cli.Lmmspark lmmspark.jar grm
 * --bfile hdfs:///data/ukb --out hdfs:///out/ukb}; give executors {@code tileMemoryBytes} + 1 GiB
 * per core and set {@code spark.executorEnv.OPENBLAS_NUM_THREADS=1}.
 */
public final class GrmJob {
  private static final Logger log = LoggerFactory.getLogger(GrmJob.class);

  /** Target size of one decoded genotype block. */
  static final long BLOCK_BYTES = 64L << 20;

  /** What to compute. {@code partitions} ≤ 0 lets the job choose (one range per core and tile group). */
  public record Options(GenotypeInput genotypes, String out, double minMaf, GenotypeSelection selection,
      boolean perChromosome, int tileSize, long tileMemoryBytes, int partitions, GenotypeScaling scaling) {
    /** GCTA's definition ({@code --kernel gcta}, the default). */
    public Options(GenotypeInput genotypes, String out, double minMaf, GenotypeSelection selection,
        boolean perChromosome, int tileSize, long tileMemoryBytes, int partitions) {
      this(genotypes, out, minMaf, selection, perChromosome, tileSize, tileMemoryBytes, partitions, GenotypeScaling.GCTA);
    }

    public Options {
      NumericRange.MAF.check("--maf", minMaf);
      NumericRange.atLeast("--tile-size", tileSize, 1);
      NumericRange.atLeast("--tile-memory (bytes)", tileMemoryBytes, 1);
      NumericRange.atLeast("--partitions", partitions, 0);
    }
  }

  /** What was computed, for the summary and the log. */
  public record Result(int samples, long variantsUsed, VariantFilterCounts counts, double meanDiagonal,
      double meanOffDiagonal, double sdOffDiagonal, int tasks, int tiles, List<String> outputs, double seconds,
      List<String> notes) {}

  /** One Spark task: a variant range and a group of tiles. */
  record WorkItem(VariantRange range, int[] tiles, boolean countVariants) implements Serializable {}

  private GrmJob() {}

  public static Result run(JavaSparkContext jsc, Options o) {
    return run(jsc, o, PartitionedGenotypes.open(o.genotypes(), o.selection(), jsc.hadoopConfiguration()));
  }

  /** As above, over genotypes already opened with the selection applied (the command opens them to choose its route). */
  public static Result run(JavaSparkContext jsc, Options o, PartitionedGenotypes genotypes) {
    return write(o, sparkTiles(jsc, o, genotypes), jsc.hadoopConfiguration());
  }

  /**
   * The same GRM as {@link #run}, bit for bit, computed in this JVM without a Spark session: the same
   * work items ({@link #plan} with {@code threads} as the parallelism) run by the same {@link GrmKernel}
   * on {@code threads} threads, their partial tiles merged in item order as {@code reduceByKey} merges
   * them. For small inputs on a local master, where a session's start (seconds) would outweigh the work.
   * Driver memory: every reduced tile at once, {@code 12·N²/2} bytes at most, besides one decoded block
   * per thread.
   */
  public static Result runInProcess(Options o, PartitionedGenotypes genotypes, int threads, Configuration conf) {
    return write(o, inProcessTiles(o, genotypes, threads, conf), conf);
  }

  private static Result write(Options o, Tiles t, Configuration conf) {
    long start = t.start();
    List<String> outputs = new ArrayList<>();
    Written total;
    try (AtomicOutputs files = new AtomicOutputs(conf)) {
      if (o.perChromosome()) {
        Iterator<Tuple2<Integer, Object>> it = t.reduced().inOrder();
        for (String chromosome : t.plan().chromosomes()) {
          String chrPrefix = o.out() + ".chr" + chromosome;
          writeGrm(it, chrPrefix, t.plan().samples(), t.plan().tiling(), o.scaling(), files, o.genotypes().label(), " on chromosome " + chromosome);
          outputs.add(chrPrefix);
        }
        total = writeGrm(t.reduced().totals(t.plan().slotsPerChromosome()), o.out(), t.plan().samples(), t.plan().tiling(),
            o.scaling(), files, o.genotypes().label(), "");
      } else {
        total = writeGrm(t.reduced().inOrder(), o.out(), t.plan().samples(), t.plan().tiling(), o.scaling(), files,
            o.genotypes().label(), "");
      }
      outputs.add(o.out());
      files.commit();
    } finally {
      t.release();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    return new Result(t.plan().samples().size(), total.counts().kept, total.counts(), total.stats().meanDiagonal(),
        total.stats().meanOffDiagonal(), total.stats().sdOffDiagonal(), t.plan().items().size(), t.plan().tiling().tileCount(),
        outputs, seconds, t.plan().notes());
  }

  /** A GRM held in the driver's memory ({@link #computeInMemory}) and what went into it. */
  public record InMemory(Grm grm, VariantFilterCounts counts, double seconds, List<String> notes) {}

  /**
   * The same GRM as {@link #run} (one, over all selected chromosomes, default tiling), assembled in
   * the driver's memory instead of written: for {@code lmmspark reml --bfile} below the matrix-free
   * threshold, which needs the matrix for an eigendecomposition anyway. Driver memory: the packed
   * lower triangle and its pair counts as float, {@code 4·N²} bytes, plus one band of tiles.
   */
  public static InMemory computeInMemory(JavaSparkContext jsc, GenotypeInput genotypes, double minMaf,
      GenotypeSelection selection, int partitions) {
    return computeInMemory(jsc, genotypes, minMaf, selection, partitions, GenotypeScaling.GCTA);
  }

  /** As above, with the GRM definition {@code scaling} ({@code --kernel}). */
  public static InMemory computeInMemory(JavaSparkContext jsc, GenotypeInput genotypes, double minMaf,
      GenotypeSelection selection, int partitions, GenotypeScaling scaling) {
    long start = System.nanoTime();
    Options o = new Options(genotypes, null, minMaf, selection, false, 4096, 1L << 30, partitions, scaling);
    Tiles t = sparkTiles(jsc, o, PartitionedGenotypes.open(genotypes, selection, jsc.hadoopConfiguration()));
    try {
      Iterator<Tuple2<Integer, Object>> it = t.reduced().inOrder();
      VariantFilterCounts counts = (VariantFilterCounts) it.next()._2();
      counts.requireUsable(genotypes.label(), t.plan().samples(), "");
      // Tiles stream in index order; the assembler keeps one band of them at a time.
      Iterable<GrmTileSums> tiles = () -> new Iterator<>() {
        @Override
        public boolean hasNext() {
          return it.hasNext();
        }

        @Override
        public GrmTileSums next() {
          return (GrmTileSums) it.next()._2();
        }
      };
      Grm grm = GrmKernel.assemble(t.plan().samples(), t.plan().tiling(), counts, tiles, scaling);
      log.info("GRM of {} samples assembled in memory: {}", t.plan().samples().size(), counts);
      return new InMemory(grm, counts, (System.nanoTime() - start) / 1e9, t.plan().notes());
    } finally {
      t.release();
    }
  }

  /**
   * The work of one GRM, the same whichever runs it: samples, tiling, and the work items, one per
   * (variant range, tile group). Slot {@code c·slotsPerChromosome} holds chromosome part {@code c}'s
   * variant counts and slot {@code c·slotsPerChromosome + 1 + t} its tile {@code t}.
   */
  private record Plan(List<SampleId> samples, SampleSubset subset, GrmTiling tiling, List<String> chromosomes,
      int chromosomeSlots, int slotsPerChromosome, List<WorkItem> items, GenotypeReader reader, boolean[] include,
      int blockVariants, List<String> notes) {}

  /** Cuts the work for {@code parallelism} concurrent tasks (about one variant range per core and tile group). */
  private static Plan plan(Options o, PartitionedGenotypes genotypes, int parallelism) {
    genotypes.fileset().warnings().forEach(w -> log.warn(w));
    genotypes.notes().forEach(w -> log.info(w));
    List<SampleId> samples = genotypes.samples();
    int n = samples.size();
    if (n < 2) {
      throw BadInputException.inFile(genotypes.fileset().samplesPath(), "only " + n + " sample: a relationship matrix "
          + "needs at least 2");
    }
    GrmTiling tiling = new GrmTiling(n, o.tileSize());
    List<int[]> groups = tiling.groups(o.tileMemoryBytes());
    int target = o.partitions() > 0 ? o.partitions() : Math.max(1, (parallelism + groups.size() - 1) / groups.size());
    List<VariantRange> ranges = genotypes.ranges(target, o.perChromosome());
    List<WorkItem> items = new ArrayList<>();
    for (VariantRange r : ranges) {
      for (int g = 0; g < groups.size(); g++) {
        items.add(new WorkItem(r, groups.get(g), g == 0));
      }
    }
    List<String> chromosomes = genotypes.chromosomes();
    log.info("GRM ({} kernel) of {} samples from {} variants ({}): {} tile(s) of up to {} samples in {} group(s), {} variant range(s), {} task(s); {}",
        o.scaling().option(), n, genotypes.selectedVariants(), genotypes.fileset().describe(), tiling.tileCount(), tiling.tileSize(), groups.size(),
        ranges.size(), items.size(), Blas.describe());
    return new Plan(samples, genotypes.subset(), tiling, chromosomes, o.perChromosome() ? chromosomes.size() : 1,
        tiling.tileCount() + 1, items, genotypes.reader(), genotypes.include(),
        GenotypeBlockReader.blockVariantsFor(n, BLOCK_BYTES), genotypes.notes());
  }

  /** Runs one work item through the kernel: its partial sums keyed by slot, and its times. */
  private static List<Tuple2<Integer, Object>> runItem(WorkItem item, GenotypeReader reader, SampleSubset subset,
      GrmTiling tiling, boolean[] include, double minMaf, GenotypeScaling scaling, int blockVariants,
      int slotsPerChromosome, Configuration conf, java.util.function.Consumer<KernelTimes> times) {
    VariantRange r = item.range();
    GrmKernel.Partial p = GrmKernel.accumulate(reader, subset, tiling, item.tiles(), r.first(), r.end(),
        r.position(), include, minMaf, blockVariants, item.countVariants(), scaling, conf);
    log.debug("GRM task for variants [{}, {}) and {} tile(s): {}", r.first(), r.end(), item.tiles().length, p.times());
    times.accept(p.times());
    List<Tuple2<Integer, Object>> out = new ArrayList<>();
    int base = r.chromosome() * slotsPerChromosome;
    if (p.counts() != null) {
      out.add(new Tuple2<>(base, p.counts()));
    }
    for (GrmTileSums t : p.tiles()) {
      out.add(new Tuple2<>(base + 1 + t.tile, t));
    }
    return out;
  }

  /** The reduced partial sums, slot by slot: as the Spark job's partitions, or as the in-process merge. */
  private interface Reduced {
    /** Every slot in order (per chromosome part when the plan has several). */
    Iterator<Tuple2<Integer, Object>> inOrder();

    /** The slots summed over chromosome parts: counts, then tiles of the whole GRM. */
    Iterator<Tuple2<Integer, Object>> totals(int slotsPerChromosome);
  }

  /** A GRM's reduced tiles and what to log and release when they have been consumed. */
  private record Tiles(Plan plan, Reduced reduced, Runnable onRelease, long start) {
    void release() {
      onRelease.run();
    }
  }

  private static Tiles sparkTiles(JavaSparkContext jsc, Options o, PartitionedGenotypes genotypes) {
    long start = System.nanoTime();
    Plan plan = plan(o, genotypes, jsc.defaultParallelism());
    Broadcast<boolean[]> include = jsc.broadcast(plan.include());
    Broadcast<SerializableHadoopConf> hadoopConf = jsc.broadcast(new SerializableHadoopConf(jsc.hadoopConfiguration()));
    GenotypeReader reader = plan.reader();
    SampleSubset subset = plan.subset();
    GrmTiling tiling = plan.tiling();
    int blockVariants = plan.blockVariants();
    int slotsPerChromosome = plan.slotsPerChromosome();
    double minMaf = o.minMaf();
    GenotypeScaling scaling = o.scaling();

    StageTimes stages = new StageTimes();
    jsc.sc().addSparkListener(stages);
    CollectionAccumulator<KernelTimes> kernelTimes = jsc.sc().collectionAccumulator("GRM kernel times");
    JavaPairRDD<Integer, Object> partials = jsc.parallelize(plan.items(), plan.items().size()).flatMapToPair(item ->
        runItem(item, reader, subset, tiling, include.value(), minMaf, scaling, blockVariants, slotsPerChromosome, hadoopConf.value().get(),
            kernelTimes::add).iterator());
    JavaPairRDD<Integer, Object> reduced = partials.reduceByKey(
        new SlotPartitioner(plan.chromosomeSlots() * slotsPerChromosome), GrmJob::merge);
    if (o.perChromosome()) {
      reduced.persist(StorageLevel.MEMORY_AND_DISK());
    }
    Reduced sums = new Reduced() {
      @Override
      public Iterator<Tuple2<Integer, Object>> inOrder() {
        return reduced.toLocalIterator();
      }

      @Override
      public Iterator<Tuple2<Integer, Object>> totals(int slots) {
        return reduced.mapToPair(kv -> new Tuple2<>(kv._1() % slots, kv._2()))
            .reduceByKey(new SlotPartitioner(slots), GrmJob::merge).toLocalIterator();
      }
    };
    return new Tiles(plan, sums, () -> {
      reduced.unpersist(false);
      include.destroy();
      hadoopConf.destroy();
      KernelTimes times = new KernelTimes();
      kernelTimes.value().forEach(times::merge);
      log.info("GRM kernel, summed over tasks (blocks of up to {} variants): {}", blockVariants, times);
      log.info("GRM job: {} s wall on {} core(s); Spark stages: {}", String.format("%.1f", (System.nanoTime() - start) / 1e9),
          jsc.defaultParallelism(), stages.summary());
      jsc.sc().removeSparkListener(stages);
    }, start);
  }

  /**
   * Runs the plan's items on {@code threads} threads of this JVM and merges their partial sums per slot
   * in item order, the order in which each slot's partials come from the variant ranges.
   */
  private static Tiles inProcessTiles(Options o, PartitionedGenotypes genotypes, int threads, Configuration conf) {
    long start = System.nanoTime();
    Plan plan = plan(o, genotypes, threads);
    KernelTimes times = new KernelTimes();
    java.util.function.Consumer<KernelTimes> addTimes = t -> {
      synchronized (times) {
        times.merge(t);
      }
    };
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "lmmspark-grm");
      t.setDaemon(true);
      return t;
    });
    java.util.TreeMap<Integer, Object> slots = new java.util.TreeMap<>();
    try {
      List<java.util.concurrent.Future<List<Tuple2<Integer, Object>>>> results = new ArrayList<>();
      for (WorkItem item : plan.items()) {
        results.add(pool.submit(() -> runItem(item, plan.reader(), plan.subset(), plan.tiling(), plan.include(),
            o.minMaf(), o.scaling(), plan.blockVariants(), plan.slotsPerChromosome(), conf, addTimes)));
      }
      for (java.util.concurrent.Future<List<Tuple2<Integer, Object>>> f : results) {
        for (Tuple2<Integer, Object> kv : join(f)) {
          slots.merge(kv._1(), kv._2(), GrmJob::merge);
        }
      }
    } finally {
      pool.shutdownNow();
    }
    Reduced sums = new Reduced() {
      @Override
      public Iterator<Tuple2<Integer, Object>> inOrder() {
        return slots.entrySet().stream().map(e -> new Tuple2<>(e.getKey(), e.getValue())).iterator();
      }

      @Override
      public Iterator<Tuple2<Integer, Object>> totals(int slotsPerChromosome) {
        java.util.TreeMap<Integer, Object> totals = new java.util.TreeMap<>();
        // Chromosome parts are consumed (written) before the totals are asked for: merge into them in place.
        slots.forEach((slot, sum) -> totals.merge(slot % slotsPerChromosome, sum, GrmJob::merge));
        return totals.entrySet().stream().map(e -> new Tuple2<>(e.getKey(), e.getValue())).iterator();
      }
    };
    return new Tiles(plan, sums, () -> {
      log.info("GRM kernel, summed over units (blocks of up to {} variants): {}", plan.blockVariants(), times);
      log.info("GRM in-process: {} s wall on {} thread(s)", String.format("%.1f", (System.nanoTime() - start) / 1e9),
          threads);
    }, start);
  }

  /** The result of a finished unit; its exceptions as they were thrown (bad input stays bad input). */
  private static <T> T join(java.util.concurrent.Future<T> f) {
    return org.lmmspark.engine.TaskFailures.join(f, "computing the GRM");
  }

  private record Written(GrmStatistics stats, VariantFilterCounts counts) {}

  /** Reads one GRM's slots (its counts, then every tile in order) from {@code it} and writes its files. */
  private static Written writeGrm(Iterator<Tuple2<Integer, Object>> it, String prefix, List<SampleId> samples,
      GrmTiling tiling, GenotypeScaling scaling, AtomicOutputs files, String genotypes, String scope) {
    VariantFilterCounts counts = (VariantFilterCounts) it.next()._2();
    // Before a byte is written: no variant left, or a sample without calls, would give 0/0 entries.
    counts.requireUsable(genotypes, samples, scope);
    GctaGrmFiles.Writer writer = new GctaGrmFiles.Writer(prefix, samples, true, files);
    GrmStatistics stats = new GrmStatistics(writer);
    GrmAssembler assembler = new GrmAssembler(tiling, counts, scaling, stats);
    long waiting = 0;
    long assembling = System.nanoTime();
    for (int t = 0; t < tiling.tileCount(); t++) {
      long w = System.nanoTime();
      GrmTileSums tile = (GrmTileSums) it.next()._2();
      waiting += System.nanoTime() - w;
      assembler.accept(tile);
    }
    assembler.finish();
    writer.commit();
    assembling = System.nanoTime() - assembling - waiting;
    log.info("{}: driver waited {} s for reduced tiles, assembled and wrote rows in {} s",
        GctaGrmFiles.binPath(prefix), String.format("%.1f", waiting / 1e9), String.format("%.1f", assembling / 1e9));
    log.info("{}: {}; mean diagonal {}, off-diagonal mean {} SD {}", GctaGrmFiles.binPath(prefix), counts,
        String.format("%.6f", stats.meanDiagonal()), String.format("%.3g", stats.meanOffDiagonal()),
        String.format("%.4g", stats.sdOffDiagonal()));
    return new Written(stats, counts);
  }

  private static Object merge(Object a, Object b) {
    if (a instanceof GrmTileSums ta) {
      return ta.merge((GrmTileSums) b);
    }
    return ((VariantFilterCounts) a).merge((VariantFilterCounts) b);
  }

  /** Wall time of each Spark stage, to tell the kernel stage from the reduce and the driver's writing. */
  static final class StageTimes extends SparkListener {
    private final List<String> done = java.util.Collections.synchronizedList(new ArrayList<>());

    @Override
    public void onStageCompleted(SparkListenerStageCompleted event) {
      StageInfo info = event.stageInfo();
      if (info.submissionTime().isDefined() && info.completionTime().isDefined()) {
        long ms = (Long) info.completionTime().get() - (Long) info.submissionTime().get();
        done.add(String.format("%d task(s) %.1f s", info.numTasks(), ms / 1e3));
      }
    }

    String summary() {
      synchronized (done) {
        return String.join(", ", done);
      }
    }
  }

  /** Slot {@code k} goes to partition {@code k}: partitions come out in slot order, one GRM part each. */
  static final class SlotPartitioner extends Partitioner {
    private final int slots;

    SlotPartitioner(int slots) {
      this.slots = slots;
    }

    @Override
    public int numPartitions() {
      return slots;
    }

    @Override
    public int getPartition(Object key) {
      return (Integer) key;
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof SlotPartitioner p && p.slots == slots;
    }

    @Override
    public int hashCode() {
      return slots;
    }
  }
}
