package org.lmmspark.jobs.ldscore;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.engine.select.SampleSelection;
import org.lmmspark.engine.select.VariantSelection;
import org.lmmspark.engine.io.Variant;
import org.lmmspark.engine.ldscore.AnnotationFile;
import org.lmmspark.engine.ldscore.DosagePanel;
import org.lmmspark.engine.ldscore.LdScoreFiles;
import org.lmmspark.engine.ldscore.LdScoreKernel;
import org.lmmspark.engine.ldscore.LdScoreRange;
import org.lmmspark.engine.ldscore.PanelBlock;
import org.lmmspark.engine.ldscore.WindowSpec;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.engine.select.SampleSelection;
import org.lmmspark.engine.select.VariantSelection;
import org.lmmspark.jobs.spark.LocalTasks;
import org.lmmspark.jobs.spark.SerializableHadoopConf;
import scala.Tuple2;

/**
 * LD scores of a reference panel ({@link LdScoreKernel}, ldsc's {@code --l2}) as a Spark job: a PLINK
 * {@code .bed} (hard calls, {@link PanelBlock}) or a BGEN or VCF/BCF read as dosages ({@link DosagePanel},
 * each task from its range's own seek position: a BGEN block offset, a BGZF virtual offset).
 *
 * <p>Two passes over the genotypes. Pass 1: contiguous variant ranges, one task each, find the
 * variants ldsc keeps (polymorphic, not all heterozygous or missing, MAF above {@code --maf}) and their
 * MAF; the driver then places the windows on the kept variants of each chromosome. Pass 2: each
 * chromosome's kept variants are cut into target ranges ({@link LdScoreRange}); a task reads its
 * targets plus one window to their left at exact byte offsets and computes the pairs whose right
 * member is a target, one matrix product per column group: each pair once, no task ever holding more
 * than its range (memory about {@code taskBytes}, times 3 when missing calls force the double route).
 * Partial scores come back to the driver (8 bytes per variant and annotation, plus the overlaps),
 * are added, and written per chromosome in ldsc's layout ({@link LdScoreFiles}).
 *
 * <p>The same tasks run on this JVM's threads without a Spark session ({@link #runInProcess}) when the
 * command decides so for a small input on a local master.
 *
 * <p>Cluster use: {@code spark-submit --class org.lmmspark.jobs.cli.Lmmspark lmmspark.jar ldscore
 * --bfile hdfs:///ref/1000G.EUR --ld-wind-cm 1 --out hdfs:///ldscores/eur}; one BLAS thread per task
 * ({@code spark.executorEnv.OPENBLAS_NUM_THREADS=1}), about 3 × {@code --task-memory} per core.
 */
public final class LdScoreJob {
  private LdScoreJob() {}

  /**
   * @param annot annotation prefix ({@code PREFIX.annot[.gz]} for the whole panel, or
   *     {@code PREFIX.C.annot[.gz]} per chromosome), or null
   * @param selection the panel samples and variants used ({@code --keep/--remove/--extract/--exclude/--chr},
   *     the options every command shares)
   * @param taskBytes target size of one task's decoded block
   * @param digits decimals of the written scores (ldsc: 3)
   */
  public record Options(GenotypeInput input, String out, WindowSpec window, double maf, GenotypeSelection selection,
      String annot, long taskBytes, int digits) implements Serializable {}

  /** What was written for one chromosome. */
  public record ChromosomeResult(String chromosome, int variants, double[] m, double[] m550, double meanL2,
      double minL2, double maxL2) {}

  /** @param tasks how many tasks ran, and where */
  public record Result(int samples, List<String> annotations, List<ChromosomeResult> chromosomes, String tasks,
      double seconds, List<String> notes) {}

  /** One task of pass 2: target range {@code [t0, t1)} of chromosome {@code chromosome}. */
  record Target(int chromosome, int t0, int t1) implements Serializable {}

  /** What the tasks of pass 2 need of one chromosome. */
  record ChromosomeWork(int[] keptFile, int[] first, double[] annot, long[] keptPosition) implements Serializable {}

  /** Where the work of the two passes runs: Spark tasks, or this JVM's threads for a small local input. */
  interface Tasks {
    int parallelism();

    /**
     * {@code task(shared, item, conf)} for every item, one task each, results in item order; a non-null
     * {@code shared} is broadcast once on Spark rather than shipped with every task.
     */
    <S, T, R> List<R> map(List<T> items, S shared, Task<S, T, R> task);

    /** What a task is told: done in one Spark task or on one thread. */
    String describe(int count);
  }

  @FunctionalInterface
  interface Task<S, T, R> extends Serializable {
    R run(S shared, T item, Configuration conf);
  }

  /**
   * The Spark job: one task per item on {@code jsc}'s executors.
   *
   * @param fs the panel {@code o.input()}, opened by the caller (its variant list is read once)
   */
  public static Result run(JavaSparkContext jsc, Options o, GenotypeSource fs) {
    SerializableHadoopConf hconf = new SerializableHadoopConf(jsc.hadoopConfiguration());
    return run(new Tasks() {
      @Override
      public int parallelism() {
        return jsc.defaultParallelism();
      }

      @Override
      public <S, T, R> List<R> map(List<T> items, S shared, Task<S, T, R> task) {
        SerializableHadoopConf taskConf = hconf;
        if (shared == null) {
          return jsc.parallelize(items, items.size()).map(t -> task.run(null, t, taskConf.get())).collect();
        }
        Broadcast<S> b = jsc.broadcast(shared);
        try {
          return jsc.parallelize(items, items.size()).map(t -> task.run(b.value(), t, taskConf.get())).collect();
        } finally {
          b.destroy();
        }
      }

      @Override
      public String describe(int count) {
        return count + " Spark task(s)";
      }
    }, o, fs, jsc.hadoopConfiguration());
  }

  /**
   * The same work items, kernel and outputs as {@link #run(JavaSparkContext, Options)}, bit for bit, on
   * {@code threads} threads of this JVM without a Spark session: for small inputs on a local master, where a
   * session's start (seconds of CPU) is a large part of the run. Memory: one range's block per thread.
   */
  public static Result runInProcess(Options o, GenotypeSource fs, int threads, Configuration conf) {
    return run(new Tasks() {
      @Override
      public int parallelism() {
        return threads;
      }

      @Override
      public <S, T, R> List<R> map(List<T> items, S shared, Task<S, T, R> task) {
        return LocalTasks.map(items, threads, "lmmspark-ldscore", t -> task.run(shared, t, conf));
      }

      @Override
      public String describe(int count) {
        return count + " task(s) in-process on " + threads + " thread(s)";
      }
    }, o, fs, conf);
  }

  private static Result run(Tasks tasks, Options o, GenotypeSource fs, Configuration conf) {
    long start = System.nanoTime();
    double cpu0 = processCpuSeconds();
    List<String> notes = new ArrayList<>();
    notes.addAll(fs.warnings());
    int fileSamples = fs.sampleCount();
    SampleSelection.Applied panel = o.selection().samples().apply(fs.samples(), fs.samplesPath());
    if (panel.report() != null) {
      notes.add(panel.report());
    }
    int[] rows = panel.subset().isAll() ? null : new int[panel.subset().size()];
    for (int i = 0; rows != null && i < rows.length; i++) {
      rows[i] = panel.subset().row(i);
    }
    int n = rows == null ? fileSamples : rows.length;
    if (n < 3) {
      throw new BadInputException(o.input().label() + ": " + n + " sample(s) selected; LD scores need at least 3");
    }
    VariantSelection.Mask selected = o.selection().variants().mask(fs.variants(), fs.variantsPath());
    notes.add(selected.report());
    boolean[] include = selected.include();
    // A .bed keeps its own decoder (PanelDecoder, exact integer products); other sources are dosages.
    String bfile = o.input().bfile() == null ? null : FileSystems.qualify(o.input().bfile(), conf);
    DosagePanel dosagePanel = bfile != null ? null : new DosagePanel(fs.reader().qualified(conf), rows);
    if (dosagePanel != null && o.window().unit() == WindowSpec.Unit.CM) {
      throw new BadInputException(fs.variantsPath() + ": --ld-wind-cm needs genetic positions (cM), which BGEN and"
          + " VCF do not carry; give --ld-wind-kb (or --ld-wind-snps), or a PLINK panel whose .bim has them");
    }

    // Pass 1: which variants ldsc keeps, and their MAF, over the span of the selected variants.
    int m = fs.variantCount();
    int spanFrom = 0;
    while (spanFrom < m && !include[spanFrom]) {
      spanFrom++;
    }
    int spanTo = m;
    while (spanTo > spanFrom && !include[spanTo - 1]) {
      spanTo--;
    }
    int span = spanTo - spanFrom;
    // Bytes a variant takes in the file: a .bed row, or about 2 per sample for compressed dosages.
    long bytesPerVariant = fs instanceof PlinkFileset p ? p.bytesPerVariant() : 2L * fileSamples;
    int pieces = Math.max(tasks.parallelism(), (int) Math.min(10_000, span * bytesPerVariant / (64 << 20) + 1));
    // Each range {a, b, seek position of a}: tasks start their read there, never at the file's start.
    List<long[]> scanRanges = new ArrayList<>();
    for (int p = 0; p < pieces; p++) {
      int a = spanFrom + (int) ((long) span * p / pieces);
      int b = spanFrom + (int) ((long) span * (p + 1) / pieces);
      if (a < b) {
        scanRanges.add(new long[] {a, b, fs.position(a)});
      }
    }
    double minMaf = o.maf();
    List<Tuple2<Integer, double[]>> scanned = scanRanges.isEmpty() ? List.of()
        : tasks.map(scanRanges, null, (none, r, taskConf) -> {
          int a = (int) r[0];
          int b = (int) r[1];
          double[] maf = new double[b - a];
          PanelBlock.KeptVisitor visitor = (v, kept, f) -> maf[v - a] = kept ? f : -1;
          if (dosagePanel == null) {
            PanelBlock.scanKept(bfile, fileSamples, rows, minMaf, a, b, taskConf, visitor);
          } else {
            dosagePanel.scanKept(minMaf, a, b, r[2], taskConf, visitor);
          }
          return new Tuple2<>(a, maf);
        });
    double[] maf = new double[m];
    for (Tuple2<Integer, double[]> t : scanned) {
      System.arraycopy(t._2(), 0, maf, t._1(), t._2().length);
    }

    // Kept variants per chromosome, windows, annotations.
    Map<String, List<Integer>> byChromosome = new java.util.LinkedHashMap<>();
    long dropped = 0;
    for (int v = 0; v < m; v++) {
      if (!include[v]) {
        continue;
      }
      if (maf[v] < 0) {
        dropped++;
        continue;
      }
      byChromosome.computeIfAbsent(fs.variants().get(v).chromosome(), c -> new ArrayList<>()).add(v);
    }
    if (byChromosome.isEmpty()) {
      throw BadInputException.inFile(fs.variantsPath(), "no variant left after selection and filtering");
    }
    notes.add(dropped + " selected variant(s) dropped (monomorphic, all heterozygous or missing"
        + (dosagePanel != null ? " (for dosages: all called dosages equal)" : "") + ", or MAF <= " + o.maf() + ")");
    List<String> chromosomes = new ArrayList<>(byChromosome.keySet());
    long totalKept = byChromosome.values().stream().mapToLong(List::size).sum();
    // About three ranges per core, so that every core has work and stragglers are short.
    int maxTargets = (int) Math.max(2L * LdScoreKernel.COLUMN_GROUP, totalKept / (3L * tasks.parallelism()) + 1);
    double pass1Seconds = (System.nanoTime() - start) / 1e9;
    double pass1Cpu = processCpuSeconds() - cpu0;
    List<ChromosomeWork> work = new ArrayList<>();
    List<String> annotNames = null;
    List<Target> targets = new ArrayList<>();
    for (int c = 0; c < chromosomes.size(); c++) {
      String chr = chromosomes.get(c);
      int[] keptFile = byChromosome.get(chr).stream().mapToInt(Integer::intValue).toArray();
      int[] first = o.window().firstPartners(chr, fs.variants(), keptFile);
      double[] annot = null;
      if (o.annot() != null) {
        AnnotationFile af = readAnnotation(o.annot(), chr, fs, conf);
        if (annotNames != null && !annotNames.equals(af.names())) {
          throw new BadInputException("annotation files disagree on their columns: " + annotNames + " vs " + af.names()
              + " (chromosome " + chr + ")");
        }
        annotNames = af.names();
        annot = af.rows(localRows(keptFile, fs, chr));
      }
      long[] keptPosition = null;
      if (dosagePanel != null) {
        keptPosition = new long[keptFile.length];
        for (int k = 0; k < keptFile.length; k++) {
          keptPosition[k] = fs.position(keptFile[k]);
        }
      }
      work.add(new ChromosomeWork(keptFile, first, annot, keptPosition));
      int[] starts = LdScoreRange.ranges(first, n, o.taskBytes(), maxTargets);
      // Whole waves: a multiple of the cores as many ranges, of equal size, so that no core idles
      // while the last range runs alone (a range takes seconds at 5,000 samples).
      int parallelism = tasks.parallelism();
      int count = starts.length - 1;
      if (count > 1 && count % parallelism != 0) {
        int waves = (count + parallelism - 1) / parallelism * parallelism;
        int even = Math.max(LdScoreKernel.COLUMN_GROUP, (keptFile.length + waves - 1) / waves);
        starts = LdScoreRange.ranges(first, n, o.taskBytes(), Math.min(maxTargets, even));
      }
      for (int r = 0; r + 1 < starts.length; r++) {
        targets.add(new Target(c, starts[r], starts[r + 1]));
      }
    }
    List<String> names = annotNames == null ? List.of("base") : annotNames;
    int nAnnot = names.size();

    // Pass 2: partial scores per target range.
    List<Tuple2<Target, double[]>> partials = tasks.map(targets, new ArrayList<>(work), (shared, t, taskConf) -> {
      ChromosomeWork w = shared.get(t.chromosome());
      if (dosagePanel != null) {
        return new Tuple2<>(t, LdScoreRange.scores(dosagePanel, w.keptFile(), w.keptPosition(), w.first(), t.t0(),
            t.t1(), w.annot(), nAnnot, taskConf));
      }
      return new Tuple2<>(t, LdScoreRange.scores(bfile, fileSamples, rows, w.keptFile(), w.first(), t.t0(), t.t1(),
          w.annot(), nAnnot, taskConf));
    });
    double pass2Seconds = (System.nanoTime() - start) / 1e9 - pass1Seconds;
    double pass2Cpu = processCpuSeconds() - cpu0 - pass1Cpu;

    List<double[]> l2 = new ArrayList<>();
    for (ChromosomeWork w : work) {
      l2.add(new double[w.keptFile().length * nAnnot]);
    }
    for (Tuple2<Target, double[]> p : partials) {
      Target t = p._1();
      LdScoreRange.addInto(l2.get(t.chromosome()), work.get(t.chromosome()).first()[t.t0()], nAnnot, p._2());
    }

    List<ChromosomeResult> results = new ArrayList<>();
    try (AtomicOutputs outputs = new AtomicOutputs(conf)) {
      for (int c = 0; c < chromosomes.size(); c++) {
        ChromosomeWork w = work.get(c);
        int mk = w.keptFile().length;
        double[] mSum = new double[nAnnot];
        double[] m550 = new double[nAnnot];
        List<Variant> kept = new ArrayList<>(mk);
        for (int k = 0; k < mk; k++) {
          kept.add(fs.variants().get(w.keptFile()[k]));
          for (int a = 0; a < nAnnot; a++) {
            double x = w.annot() == null ? 1 : w.annot()[k * nAnnot + a];
            mSum[a] += x;
            if (maf[w.keptFile()[k]] > 0.05) {
              m550[a] += x;
            }
          }
        }
        double[] s = l2.get(c);
        LdScoreFiles.write(outputs, o.out(), chromosomes.get(c), kept, names.size() == 1 ? List.of() : names, s, mSum,
            m550, o.digits());
        double sum = 0;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < mk; k++) {
          double total = 0;
          for (int a = 0; a < nAnnot; a++) {
            total += s[k * nAnnot + a];
          }
          sum += total;
          min = Math.min(min, total);
          max = Math.max(max, total);
        }
        results.add(new ChromosomeResult(chromosomes.get(c), mk, mSum, m550, sum / mk, min, max));
      }
      outputs.commit();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    double cpu = processCpuSeconds() - cpu0;
    // CPU of this JVM (with local tasks, theirs too): on a shared machine the steadier figure.
    notes.add(String.format("times: kept-variant pass %.1f s (%.1f CPU-s), windows and LD scores (%d ranges) %.1f s"
        + " (%.1f CPU-s), writing %.1f s (%.1f CPU-s)", pass1Seconds, pass1Cpu, targets.size(), pass2Seconds, pass2Cpu,
        seconds - pass1Seconds - pass2Seconds, cpu - pass1Cpu - pass2Cpu));
    return new Result(n, names, results, tasks.describe(scanRanges.size() + targets.size()), seconds, notes);
  }

  /** CPU time of this JVM so far (every thread), or NaN where the platform does not say. */
  private static double processCpuSeconds() {
    if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime() / 1e9;
    }
    return Double.NaN;
  }

  /** Indices, among the chromosome's {@code .bim} rows, of its kept variants (annotation rows follow the .bim). */
  private static int[] localRows(int[] keptFile, GenotypeSource fs, String chr) {
    Map<Integer, Integer> rowOf = new HashMap<>();
    int row = 0;
    for (int v = 0; v < fs.variantCount(); v++) {
      if (fs.variants().get(v).chromosome().equals(chr)) {
        rowOf.put(v, row++);
      }
    }
    int[] out = new int[keptFile.length];
    for (int k = 0; k < keptFile.length; k++) {
      out[k] = rowOf.get(keptFile[k]);
    }
    return out;
  }

  /** {@code PREFIX.C.annot[.gz]} for chromosome C, else {@code PREFIX.annot[.gz]} when the panel has one chromosome. */
  static AnnotationFile readAnnotation(String prefix, String chr, GenotypeSource fs, Configuration conf) {
    List<Variant> onChromosome = fs.variants().stream().filter(v -> v.chromosome().equals(chr)).toList();
    for (String candidate : new String[] {prefix + chr + ".annot.gz", prefix + chr + ".annot",
        prefix + "." + chr + ".annot.gz", prefix + "." + chr + ".annot"}) {
      if (FileSystems.exists(candidate, conf)) {
        return AnnotationFile.read(candidate, onChromosome, conf);
      }
    }
    boolean oneChromosome = fs.variants().stream().map(Variant::chromosome).distinct().count() == 1;
    for (String candidate : new String[] {prefix + ".annot.gz", prefix + ".annot"}) {
      if (oneChromosome && FileSystems.exists(candidate, conf)) {
        return AnnotationFile.read(candidate, onChromosome, conf);
      }
    }
    throw new BadInputException("--annot " + prefix + ": no annotation file for chromosome " + chr + " (looked for "
        + prefix + chr + ".annot[.gz]" + (oneChromosome ? " and " + prefix + ".annot[.gz]" : "") + ")");
  }
}
