package org.lmmspark.jobs.matfree;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.lmmspark.engine.genotype.GenotypeScaling;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.linalg.CompensatedSum;
import org.lmmspark.engine.matfree.GenotypeProductKernel;
import org.lmmspark.engine.matfree.GenotypeProducts;
import org.lmmspark.engine.matfree.LocalGenotypeProducts;
import org.lmmspark.engine.matfree.PackedGenotypeBlock;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.matfree.PackedGenotypeReader;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.genotype.PartitionedGenotypes.VariantRange;
import org.lmmspark.jobs.spark.InProcessExchange;
import org.lmmspark.jobs.spark.SerializableHadoopConf;
import scala.Tuple2;

/**
 * Genotypes of the kept samples ({@link PartitionedGenotypes#subset()}) read from the {@code .bed} once and
 * cached on the executors in 2-bit packed form
 * ({@link PackedGenotypeBlock}: 0.25 byte per genotype plus 32 bytes per variant), and the
 * distributed product {@code out = Σ_c Z_c Z_cᵀ V ∘ w} over them (one Spark job per product; columns asked split
 * by chromosome come back as C columns, each block's product added into its chromosome's).
 *
 * <p>One partition per variant range (about one per core, {@link #cache}; a range may span chromosomes, its
 * blocks do not), each a {@link CachedRange} of
 * packed blocks of {@link LocalGenotypeProducts#BLOCK_VARIANTS} variants; persisted
 * {@code MEMORY_AND_DISK} (as objects: tasks read the cached blocks in place, no copy), so the {@code .bed}
 * is read once per run even if memory runs short. A
 * product broadcasts V (N×k floats), every task runs {@link GenotypeProductKernel} (cache-sized tiles
 * decoded twice and two SGEMMs per tile, sums in double) into one N×k double partial (more columns with split
 * ones), and the partials are summed by {@code treeReduce}, compensated so that the sums do not depend on the order
 * the tasks finish in ({@link Partial#add}): the driver receives one N×k array. Bytes per pass:
 * broadcast {@code 4Nk}, reduction {@code 8Nk} per partition (combined in a tree, whose inner merges carry the
 * compensation too, {@code 16Nk}; a column split by chromosome adds, per partition, one column per further chromosome
 * of its range, {@link Partial}), genotypes from executor memory. With a local master the tasks share the driver's
 * JVM, and V and the partials go by reference instead ({@link InProcessExchange}): no serialized copies.
 */
public final class DistributedGenotypeProducts implements GenotypeProducts, AutoCloseable {
  /** Up to this many partitions the driver sums the partials itself (no extra shuffle stage per pass). */
  static final int TREE_THRESHOLD = 16;

  /** One cached variant range: its packed blocks and what decoding kept and dropped. */
  public record CachedRange(List<PackedGenotypeBlock> blocks, VariantFilterCounts counts)
      implements Serializable {}

  /** One chromosome's variants and per-sample sums of squares, merged order-free ({@link CompensatedSum#addInto}). */
  private record Stats(long variants, double[] squares, double[] compensation, VariantFilterCounts counts)
      implements Serializable {
    Stats merge(Stats o) {
      double[] c = compensation != null ? compensation : new double[squares.length];
      CompensatedSum.addInto(squares, c, 0, o.squares, o.compensation, 0, squares.length);
      counts.merge(o.counts);
      return new Stats(variants + o.variants, squares, c, counts);
    }

    double[] resolvedSquares() {
      CompensatedSum.resolve(squares, compensation);
      return squares;
    }
  }

  /**
   * One task's (or a reduction's) partial sums: the output columns it holds (ascending) and their values, N each. A
   * column split by chromosome has C outputs, of which a task's blocks touch only the chromosomes of its range; the
   * others are zero and not sent, so the reduction carries about {@code k·(1 + chromosomes per range)} columns per
   * task, not {@code k·C}.
   */
  record Partial(int n, int[] columns, double[] values, double[] compensation) implements Serializable {
    static Partial of(double[] acc, int n, int[] offsets, boolean[] split, boolean[] touched) {
      int[] columns = liveColumns(offsets, split, touched);
      if (columns.length == offsets[split.length]) {
        return new Partial(n, columns, acc, null);
      }
      double[] values = new double[Math.multiplyExact(n, columns.length)];
      for (int c = 0; c < columns.length; c++) {
        System.arraycopy(acc, columns[c] * n, values, c * n, n);
      }
      return new Partial(n, columns, values, null);
    }

    /**
     * The output columns a task's blocks reached: all of an unsplit column's, and of a column split by chromosome
     * ({@code offsets[j]…offsets[j+1]}) those of the chromosomes its blocks were on ({@code touched}).
     */
    static int[] liveColumns(int[] offsets, boolean[] split, boolean[] touched) {
      int k = split.length;
      int[] columns = new int[offsets[k]];
      int count = 0;
      for (int j = 0; j < k; j++) {
        for (int o = offsets[j]; o < offsets[j + 1]; o++) {
          if (!split[j] || touched[o - offsets[j]]) {
            columns[count++] = o;
          }
        }
      }
      return java.util.Arrays.copyOf(columns, count);
    }

    /**
     * The sum of two partials over N samples each (in place into this one when they hold the same columns), kept
     * compensated ({@link CompensatedSum#addInto}): Spark's reduction adds the tasks' partials in the order the tasks
     * finish, and with plain sums two runs of the same command differed in the sixth digit of ~6% of their
     * statistics. {@link #resolved} gives the sums.
     */
    Partial add(Partial o) {
      if (java.util.Arrays.equals(columns, o.columns)) {
        double[] c = compensation != null ? compensation : new double[values.length];
        CompensatedSum.addInto(values, c, 0, o.values, o.compensation, 0, values.length);
        return new Partial(n, columns, values, c);
      }
      int[] union = java.util.stream.IntStream.concat(java.util.Arrays.stream(columns), java.util.Arrays.stream(o.columns))
          .distinct().sorted().toArray();
      double[] sum = new double[Math.multiplyExact(n, union.length)];
      double[] c = new double[sum.length];
      for (Partial p : List.of(this, o)) {
        for (int j = 0, u = 0; j < p.columns.length; j++) {
          while (union[u] != p.columns[j]) {
            u++;
          }
          CompensatedSum.addInto(sum, c, u * n, p.values, p.compensation, j * n, n);
        }
      }
      return new Partial(n, union, sum, c);
    }

    /** The values with their compensation added: the partial sums. */
    double[] resolved() {
      CompensatedSum.resolve(values, compensation);
      return values;
    }
  }

  private final JavaSparkContext jsc;
  private final JavaRDD<CachedRange> cached;
  private final int n;
  private final List<String> chromosomes;
  private final long[] perChromosome;
  private final double[][] squares;
  private final VariantFilterCounts counts;
  private final long cachedBytes;
  private final int partitions;
  private final boolean dosages;
  private final List<Broadcast<?>> lineage;
  /** In this JVM: the last pass's task sums, for the next pass's tasks (no fresh N×q arrays per task and pass). */
  private final Queue<double[]> spareSums = new ConcurrentLinkedQueue<>();
  /** In this JVM: the last pass's V in single precision, for the next pass's (no fresh N×k floats per pass). */
  private final Queue<float[]> spareInputs = new ConcurrentLinkedQueue<>();
  /**
   * The kernel's buffers of each task thread, kept from pass to pass (the wide form's are N × k floats twice: fresh
   * ones per task were a tenth of all the bytes 20 traits' assoc allocated). A thread keeps its largest until it ends,
   * ~100 MB at N = 20,000 and k = 600.
   */
  private static final ThreadLocal<GenotypeProductKernel.Workspace> WORKSPACE =
      ThreadLocal.withInitial(GenotypeProductKernel.Workspace::new);
  private long passes;
  private long partialBytes = defaultPartialBytes();

  private DistributedGenotypeProducts(JavaSparkContext jsc, JavaRDD<CachedRange> cached, int n, List<String> chromosomes,
      long[] perChromosome, double[][] squares, VariantFilterCounts counts, long cachedBytes, int partitions,
      boolean dosages, List<Broadcast<?>> lineage) {
    this.lineage = lineage;
    this.dosages = dosages;
    this.jsc = jsc;
    this.cached = cached;
    this.n = n;
    this.chromosomes = chromosomes;
    this.perChromosome = perChromosome;
    this.squares = squares;
    this.counts = counts;
    this.cachedBytes = cachedBytes;
    this.partitions = partitions;
  }

  /**
   * Reads, packs and caches the selected variants in about {@code partitions} ranges (≤ 0: one per
   * core), in one Spark job that also returns the per-chromosome variant counts and diagonal sums.
   *
   * <p>One range per core, not two (until 2026-12-03): the ranges hold equal numbers of variants, so one wave of
   * equal tasks keeps every core busy, and each pass returns half as many N×k partials to the driver (each
   * serialized, deserialized and added there). At N = M = 20,000, {@code assoc --loco --solver matrix-free}: one
   * trait 40.0 and 39.7 CPU-s against 42.7 and 41.3 with two per core; 20 traits 124.9 against ~136.
   */
  public static DistributedGenotypeProducts cache(JavaSparkContext jsc, PartitionedGenotypes genotypes, double minMaf,
      int partitions) {
    return cache(jsc, genotypes, minMaf, partitions, GenotypeScaling.GCTA);
  }

  /** As above, each variant scaled by the {@code --kernel} definition {@code scaling}. */
  public static DistributedGenotypeProducts cache(JavaSparkContext jsc, PartitionedGenotypes genotypes, double minMaf,
      int partitions, GenotypeScaling scaling) {
    int n = genotypes.samples().size();
    org.lmmspark.engine.genotype.SampleSubset subset = genotypes.subset();
    List<String> chromosomes = genotypes.chromosomes();
    Map<String, Integer> index = new HashMap<>();
    for (String c : chromosomes) {
      index.put(c, index.size());
    }
    int[] chromosomeOf = new int[genotypes.fileset().variantCount()];
    for (int v = 0; v < chromosomeOf.length; v++) {
      Integer c = index.get(genotypes.fileset().variants().get(v).chromosome());
      chromosomeOf[v] = c == null ? -1 : c;
    }
    int target = partitions > 0 ? partitions : jsc.defaultParallelism();
    // Ranges may span chromosomes: blocks never do (PackedGenotypeReader cuts them at chromosome
    // changes), and each block carries its chromosome for LOCO weights and the per-chromosome sums.
    // So the partition count follows the cores, not the 22 autosomes: fewer, larger tasks per pass.
    List<VariantRange> ranges = genotypes.ranges(target, false);
    Broadcast<boolean[]> include = jsc.broadcast(genotypes.include());
    Broadcast<int[]> chrOf = jsc.broadcast(chromosomeOf);
    Broadcast<SerializableHadoopConf> conf = jsc.broadcast(new SerializableHadoopConf(jsc.hadoopConfiguration()));
    GenotypeReader reader = genotypes.reader();
    boolean dosages = reader.dosages();
    int blockVariants = LocalGenotypeProducts.BLOCK_VARIANTS;
    JavaRDD<CachedRange> cached = jsc.parallelize(ranges, ranges.size()).map(r -> {
      List<PackedGenotypeBlock> blocks = new ArrayList<>();
      VariantFilterCounts c = new VariantFilterCounts(0);
      new PackedGenotypeReader(reader, subset, minMaf, blockVariants, scaling).read(r.first(), r.end(), r.position(),
          include.value(), chrOf.value(), conf.value().get(), c, blocks::add);
      return new CachedRange(blocks, c);
    }).persist(StorageLevel.MEMORY_AND_DISK());
    cached.setName(dosages ? "packed genotypes (8-bit dosages)" : "packed genotypes (2 bits per call)");
    int chromosomeCount = chromosomes.size();
    Map<Integer, Stats> stats = cached.flatMapToPair(r -> {
      Map<Integer, Stats> mine = new HashMap<>();
      for (PackedGenotypeBlock b : r.blocks()) {
        Stats s = mine.computeIfAbsent(b.chromosome, c -> new Stats(0, new double[n], null, new VariantFilterCounts(0)));
        b.addSquares(s.squares());
        mine.put(b.chromosome, new Stats(s.variants() + b.m, s.squares(), null, s.counts()));
      }
      // The range's filter counts (kept and dropped variants) go with one of its chromosomes, or alone.
      int first = mine.isEmpty() ? 0 : mine.keySet().iterator().next();
      Stats f = mine.getOrDefault(first, new Stats(0, new double[n], null, new VariantFilterCounts(0)));
      mine.put(first, new Stats(f.variants(), f.squares(), null, f.counts().merge(r.counts())));
      List<Tuple2<Integer, Stats>> out = new ArrayList<>();
      mine.forEach((c, s) -> out.add(new Tuple2<>(c, s)));
      return out.iterator();
    }).reduceByKey(Stats::merge).collectAsMap();
    long[] perChromosome = new long[chromosomeCount];
    double[][] squares = new double[chromosomeCount][];
    VariantFilterCounts counts = new VariantFilterCounts(0);
    for (int c = 0; c < chromosomeCount; c++) {
      Stats s = stats.get(c);
      perChromosome[c] = s == null ? 0 : s.variants();
      squares[c] = s == null ? new double[n] : s.resolvedSquares();
      if (s != null) {
        counts.merge(s.counts());
      }
    }
    long kept = 0;
    for (long m : perChromosome) {
      kept += m;
    }
    long bytes = kept * ((dosages ? n : (n + 3) / 4) + 36L);
    // The broadcasts stay alive while the RDD does: its lineage (and so every later task) refers to them.
    return new DistributedGenotypeProducts(jsc, cached, n, chromosomes, perChromosome, squares, counts, bytes,
        ranges.size(), dosages, List.of(include, chrOf, conf));
  }

  public List<String> chromosomes() {
    return chromosomes;
  }

  /**
   * The cached ranges themselves, for other passes over the same cached genotypes (the association
   * test and its calibration sample decode them with {@link org.lmmspark.engine.matfree.PackedDosages}).
   */
  public JavaRDD<CachedRange> cachedRanges() {
    return cached;
  }

  public VariantFilterCounts counts() {
    return counts;
  }

  /** Approximate bytes of the cached packed genotypes over all executors. */
  public long cachedBytes() {
    return cachedBytes;
  }

  /** Whether the cache holds 8-bit dosages (BGEN, VCF) rather than 2-bit calls. */
  public boolean dosages() {
    return dosages;
  }

  public int partitions() {
    return partitions;
  }

  @Override
  public int samples() {
    return n;
  }

  @Override
  public int chromosomeCount() {
    return chromosomes.size();
  }

  @Override
  public long[] variantsPerChromosome() {
    return perChromosome.clone();
  }

  @Override
  public double[][] squareSumsPerChromosome() {
    return squares;
  }

  @Override
  public void multiply(double[] v, int k, double[] weights, boolean[] split, double[] out) {
    int chromosomeCount = chromosomes.size();
    int[] offsets = GenotypeProducts.outputOffsets(k, split, chromosomeCount);
    int q = offsets[k];
    if (v.length < (long) n * k || out.length < (long) n * q || weights.length < chromosomeCount * k) {
      throw new IllegalArgumentException("multiply: V must hold N×k = " + n + "×" + k + " values, out N×" + q
          + ", the weights C×k = " + chromosomeCount + "×" + k);
    }
    boolean[] splitColumns = split == null ? new boolean[k] : java.util.Arrays.copyOf(split, k);
    // The columns in Spark jobs of at most maxOutputColumns outputs each (one column at least): see defaultPartialBytes.
    long maxOutputColumns = Math.max(1, partialBytes / (8L * n));
    for (int from = 0; from < k; ) {
      int to = from + 1;
      while (to < k && offsets[to + 1] - offsets[from] <= maxOutputColumns) {
        to++;
      }
      multiplyColumns(v, from, to, weights, splitColumns, offsets, out);
      from = to;
    }
  }

  /**
   * Bytes of one task's partial sums at most ({@code N ×} a job's output columns, in double): a product over more
   * columns runs as several Spark jobs (each one more pass over the cached genotypes, {@link #passes}). The driver
   * holds the running sum (twice this: values and their compensation, {@link Partial#add}) and the partials it is
   * fetching and deserializing, several at a time: 20 traits' LOCO solves
   * at N = 10,000 in passes of 1,320 columns (partials of 106 MB) ran a 6 GB driver out of heap fetching them
   * ({@code MatrixFreeAssocJob.LOCO_PASS_BYTES}). A 32nd of the driver's heap (128 MB at 4 GB, 384 MB at 12 GB) keeps
   * them to a few tenths of it whoever asks for the product; at least 32 MB.
   */
  static long defaultPartialBytes() {
    return Math.max(32L << 20, Runtime.getRuntime().maxMemory() / 32);
  }

  /** Lowers (or raises) the bound on a task's partial sums (tests: wide products in several jobs on small data). */
  void limitPartialBytes(long bytes) {
    if (bytes < 8L * n) {
      throw new IllegalArgumentException("a task's partial sums need at least one column, 8·N = " + 8L * n + " bytes");
    }
    partialBytes = bytes;
  }

  /** One Spark job: columns {@code [from, to)} of the product, written to their outputs in {@code out}. */
  private void multiplyColumns(double[] v, int from, int to, double[] weights, boolean[] splitColumns, int[] offsets,
      double[] out) {
    passes++;
    int chromosomeCount = chromosomes.size();
    int k = to - from;
    int q = offsets[to] - offsets[from];
    int[] chunkOffsets = new int[k + 1];
    for (int j = 0; j <= k; j++) {
      chunkOffsets[j] = offsets[from + j] - offsets[from];
    }
    boolean[] chunkSplit = java.util.Arrays.copyOfRange(splitColumns, from, to);
    int nn = n;
    // V goes out in single precision, the form the SGEMMs use (half the bytes); partials come back in double.
    boolean local = InProcessExchange.applies(jsc);
    int length = Math.multiplyExact(n, k);
    float[] vf = local ? spareInputs.poll() : null;
    vf = GenotypeProductKernel.toFloat(v, from * n, length, vf == null || vf.length < length ? new float[length] : vf);
    PassInput input = new PassInput(vf,
        java.util.Arrays.copyOfRange(weights, from * chromosomeCount, to * chromosomeCount));
    int base = offsets[from];
    java.util.Arrays.fill(out, base * n, (base + q) * n, 0.0);
    if (local) {
      // The tasks' sums by reference, added in partition order (the same sum every run), their arrays used again
      // (the pool goes with the input: what the closure captures is serialized, even here).
      List<TaskSums> sums = InProcessExchange.run(cached, new LocalPass(input, spareSums), (it, pass) ->
          passSums(it, pass.input(), nn, k, q, chromosomeCount, chunkOffsets, chunkSplit,
              size -> spare(pass.spares(), size)));
      for (TaskSums t : sums) {
        for (int c : Partial.liveColumns(chunkOffsets, chunkSplit, t.touched())) {
          int into = (base + c) * n;
          for (int i = 0; i < n; i++) {
            out[into + i] += t.values()[c * n + i];
          }
        }
        spareSums.add(t.values());
      }
      spareInputs.add(vf);
      return;
    }
    Broadcast<PassInput> b = jsc.broadcast(input);
    Partial sum;
    try {
      sum = cached.mapPartitions((Iterator<CachedRange> it) -> {
        TaskSums t = passSums(it, b.value(), nn, k, q, chromosomeCount, chunkOffsets, chunkSplit, double[]::new);
        return t == null ? java.util.Collections.<Partial>emptyIterator()
            : List.of(Partial.of(t.values(), nn, chunkOffsets, chunkSplit, t.touched())).iterator();
      }).treeReduce(Partial::add, partitions <= TREE_THRESHOLD ? 1 : 2);
    } finally {
      b.destroy();
    }
    double[] values = sum.resolved();
    for (int c = 0; c < sum.columns().length; c++) {
      System.arraycopy(values, c * n, out, (base + sum.columns()[c]) * n, n);
    }
  }

  /** What every task of a pass reads: V's columns in single precision and their weights per chromosome (C×k). */
  private record PassInput(float[] v, double[] weights) implements Serializable {}

  /** A pass's input in this JVM, with the spare arrays its tasks sum into. */
  private record LocalPass(PassInput input, Queue<double[]> spares) {}

  /** A task's sums over its blocks (N × the pass's outputs) and the chromosomes its blocks were on. */
  private record TaskSums(double[] values, boolean[] touched) {}

  /** A spare array of at least {@code size} values, zeroed over them (or a new one). */
  private static double[] spare(Queue<double[]> spares, int size) {
    double[] a;
    while ((a = spares.poll()) != null && a.length < size) {
      // too small for this pass: left to the collector
    }
    if (a == null) {
      return new double[size];
    }
    java.util.Arrays.fill(a, 0, size, 0.0);
    return a;
  }

  /**
   * One task's share of a pass: its ranges' blocks' products summed into an array from {@code sums} (null: no
   * blocks). The kernel's buffers are its thread's ({@link #WORKSPACE}).
   */
  private static TaskSums passSums(Iterator<CachedRange> it, PassInput input, int n, int k, int q,
      int chromosomeCount, int[] chunkOffsets, boolean[] chunkSplit, java.util.function.IntFunction<double[]> sums) {
    double[] acc = null;
    GenotypeProductKernel.Workspace ws = WORKSPACE.get();
    double[] w = new double[k];
    int[] target = new int[k];
    boolean[] touched = new boolean[chromosomeCount];
    while (it.hasNext()) {
      for (PackedGenotypeBlock b : it.next().blocks()) {
        if (acc == null) {
          acc = sums.apply(Math.multiplyExact(n, q));
        }
        touched[b.chromosome] = true;
        for (int j = 0; j < k; j++) {
          w[j] = input.weights()[b.chromosome + chromosomeCount * j];
          target[j] = chunkOffsets[j] + (chunkSplit[j] ? b.chromosome : 0);
        }
        GenotypeProductKernel.multiplyAdd(b, input.v(), k, w, target, acc, ws);
      }
    }
    return acc == null ? null : new TaskSums(acc, touched);
  }

  @Override
  public long passes() {
    return passes;
  }

  /** Drops the cached genotypes from the executors. */
  @Override
  public void close() {
    spareSums.clear();
    spareInputs.clear();
    cached.unpersist(false);
    lineage.forEach(b -> b.destroy());
  }
}
