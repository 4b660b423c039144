package org.lmmspark.jobs.matfree;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.ChromosomeSelection;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.genotype.GenotypeScaling;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;
import org.lmmspark.engine.matfree.SharedGenotypePasses;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.VarianceComponent;
import org.lmmspark.engine.reml.VarianceSummary;
import org.lmmspark.engine.reml.matfree.GenotypeRemlInputs;
import org.lmmspark.engine.reml.matfree.StochasticReml;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * GRM-free REML on genotypes: {@code y = Xβ + g + e}, {@code g ~ N(0, σ²_g K)}, {@code K = ZZᵀ/M}
 * never formed, fitted by {@link StochasticReml} over the distributed operator
 * ({@link DistributedGenotypeProducts} behind a {@link GenomicRelationshipOperator}). The genotypes
 * are read once, cached in 2-bit form, and every operator product is one Spark job (a pass over the
 * cached blocks); the driver holds {@code O(N·(1 + p + R))} doubles and never an N×N matrix.
 *
 * <p>What {@code lmmspark reml --bfile PREFIX --solver matrix-free} needs: the fit (same
 * {@link RemlFit} as the dense and spectral solvers, so the {@code .hsq} comes from
 * {@link VarianceSummary}), the analysed samples, and run diagnostics.
 *
 * <p>Cluster use: {@code spark-submit --class org.lmmspark.jobs.cli.Lmmspark --driver-memory 4g
 * --executor-memory 8g --conf spark.executorEnv.OPENBLAS_NUM_THREADS=1 lmmspark.jar reml --bfile
 * hdfs:///data/ukb --pheno hdfs:///data/height.txt --out hdfs:///out/height}; executors need
 * {@code N·M/4} bytes of cache in all plus {@code 8·N·(32 MB/8N + 1 + p + R)} per task.
 */
public final class MatrixFreeRemlJob {
  private static final Logger log = LoggerFactory.getLogger(MatrixFreeRemlJob.class);

  /** What to fit; {@code partitions} ≤ 0: one per core; {@code kernel} the GRM definition of K = ZZᵀ/M. */
  public record Options(GenotypeInput genotypes, TraitTables.Spec trait, double minMaf, GenotypeSelection selection,
      StochasticReml.Options reml, int partitions, GenotypeScaling kernel) {

    /** GCTA's scaling of each variant (the default {@code --kernel}). */
    public Options(GenotypeInput genotypes, TraitTables.Spec trait, double minMaf, GenotypeSelection selection,
        StochasticReml.Options reml, int partitions) {
      this(genotypes, trait, minMaf, selection, reml, partitions, GenotypeScaling.GCTA);
    }

    /** Whole tables, every sample, the variants of {@code chromosomes}. */
    public Options(GenotypeInput genotypes, String pheno, String phenoName, String covar, String qcovar, double minMaf,
        ChromosomeSelection chromosomes, StochasticReml.Options reml, int partitions) {
      this(genotypes, TraitTables.Spec.of(pheno, phenoName, covar, qcovar), minMaf, GenotypeSelection.of(chromosomes),
          reml, partitions);
    }
  }

  /**
   * @param passes       operator products (passes over the cached genotypes) in the REML fit
   * @param sparkJobs    Spark jobs in the REML fit (after caching)
   * @param cacheSeconds reading, packing and caching the genotypes (the only read of the .bed)
   * @param remlSeconds  the fit
   */
  public record Result(RemlFit fit, VarianceSummary summary, List<SampleId> samples, StochasticReml.Diagnostics diagnostics,
      VariantFilterCounts counts, long variantsUsed, long cachedBytes, int partitions, long passes, int sparkJobs,
      double cacheSeconds, double remlSeconds, List<String> notes) {}

  private MatrixFreeRemlJob() {}

  /**
   * The fit on genotypes already cached ({@link #fit}): what an association run keeps to reuse the same
   * cache and operator for its LOCO solves.
   *
   * @param problem the REML problem (y, X, one component "G" = the operator)
   * @param k       the whole-genome operator over the analysed samples
   * @param passes  operator products (passes over the cached genotypes) in the fit
   * @param sparkJobs Spark jobs in the fit
   */
  public record Fitted(RemlFit fit, VarianceSummary summary, StochasticReml.Diagnostics diagnostics,
      RemlProblem problem, GenomicRelationshipOperator k, long passes, int sparkJobs, double seconds) {}

  public static Result run(JavaSparkContext jsc, Options o) {
    Configuration conf = jsc.hadoopConfiguration();
    long t0 = System.nanoTime();
    PartitionedGenotypes genotypes = PartitionedGenotypes.open(o.genotypes(), o.selection(), conf);
    genotypes.fileset().warnings().forEach(log::warn);
    GenotypeRemlInputs.Assembled in = assemble(o.trait(), genotypes, conf);
    List<String> notes = new ArrayList<>(genotypes.notes());
    notes.addAll(in.notes());
    DistributedGenotypeProducts products = DistributedGenotypeProducts.cache(jsc, genotypes, o.minMaf(), o.partitions(),
        o.kernel());
    try {
      double cacheSeconds = (System.nanoTime() - t0) / 1e9;
      notes.add(describeCache(products));
      Fitted f = fit(jsc, products, in, o.reml());
      return new Result(f.fit(), f.summary(), in.samples(), f.diagnostics(), products.counts(), products.counts().kept,
          products.cachedBytes(), products.partitions(), f.passes(), f.sparkJobs(), cacheSeconds, f.seconds(), notes);
    } finally {
      products.close();
    }
  }

  /**
   * The fixed-effect side over the kept samples of {@code genotypes}: the tables of {@code trait} read
   * ({@link TraitTables}, IID-keyed ones keyed to the kept samples) and matched with them. The rows of
   * {@code famRows()} are rows of the kept samples, the rows of the cached (compacted) genotypes.
   */
  public static GenotypeRemlInputs.Assembled assemble(TraitTables.Spec trait, PartitionedGenotypes genotypes,
      Configuration conf) {
    return assemble(genotypes.traitTables(trait, conf).forTrait(trait), genotypes);
  }

  private static GenotypeRemlInputs.Assembled assemble(TraitTables.Tables t, PartitionedGenotypes genotypes) {
    return GenotypeRemlInputs.assemble(genotypes.samples(), genotypes.fileset().samplesPath(), t.pheno(), t.trait(),
        t.covar(), t.qcovar());
  }

  /**
   * {@link #assemble} for each of {@code traits} (columns of {@code spec}'s phenotype table), the tables read once
   * for all ({@link TraitTables#readOnce}). Returns the inputs of each trait that has them, in order; puts in
   * {@code errors} why each other trait has none. A table that cannot be read fails the call.
   */
  public static Map<String, GenotypeRemlInputs.Assembled> assembleEach(TraitTables.Spec spec, List<String> traits,
      PartitionedGenotypes genotypes, Configuration conf, Map<String, String> errors) {
    TraitTables.Read tables = genotypes.traitTables(spec, conf);
    Map<String, GenotypeRemlInputs.Assembled> ins = new LinkedHashMap<>();
    for (String trait : traits) {
      try {
        ins.put(trait, assemble(tables.forTrait(spec.withPhenoName(trait)), genotypes));
      } catch (BadInputException e) {
        errors.put(trait, e.getMessage());
      }
    }
    return ins;
  }

  /** One line on what was cached. */
  public static String describeCache(DistributedGenotypeProducts products) {
    return "genotypes: " + products.counts() + ", cached as " + (products.dosages() ? "8-bit dosage" : "2-bit")
        + " blocks (" + (products.cachedBytes() >> 20)
        + " MiB) in " + products.partitions() + " partitions";
  }

  /**
   * REML on genotypes already cached: {@code K = ZZᵀ/M} over the analysed samples {@code in.famRows()}
   * as a {@link GenomicRelationshipOperator} of {@code products}, fitted by {@link StochasticReml};
   * counts the passes and Spark jobs it takes. The cache stays open (the caller closes it).
   *
   * <p>Traces by Lanczos quadrature ({@link StochasticReml}'s default), as each trait of {@link #fitTogether}: the
   * probes' and y's Lanczos runs are kept for the whole fit and serve every θ the optimizer visits, so an evaluation
   * solves nothing, where the solved route carried the probes through a CG solve at every θ. Same probes, same estimated
   * score: at N = M = 20,000 (40 probes) 77 → 34 passes and 114 → 45 CPU-s for the whole {@code reml}, h² 0.451310
   * → 0.451302 (SE 0.0107); docs/scaling.md.
   */
  public static Fitted fit(JavaSparkContext jsc, DistributedGenotypeProducts products, GenotypeRemlInputs.Assembled in,
      StochasticReml.Options reml) {
    log.info("REML (matrix-free) on {} samples, {} variants; {}; {}", in.samples().size(), products.counts().kept,
        describeCache(products), Blas.describe());
    GenomicRelationshipOperator k = new GenomicRelationshipOperator(products, in.famRows(), -1);
    RemlProblem problem = new RemlProblem(in.design().y(), in.design().x(), in.design().columnNames(),
        List.of(new VarianceComponent("G", k)));
    long t1 = System.nanoTime();
    long passes0 = products.passes();
    AtomicInteger jobs = new AtomicInteger();
    StochasticReml.Outcome out = countingJobs(jsc, jobs,
        () -> new StochasticReml(reml, line -> log.info("REML (matrix-free): {}", line)).fitWithDiagnostics(problem));
    double remlSeconds = (System.nanoTime() - t1) / 1e9;
    double logL0 = problem.nullLogL(null);
    VarianceSummary summary = new VarianceSummary(out.fit(), logL0, problem.n());
    long passes = products.passes() - passes0;
    log.info("REML (matrix-free): {}; {} passes over the genotypes, {} Spark jobs, {} s", out.fit().message(), passes,
        jobs.get(), String.format("%.1f", remlSeconds));
    return new Fitted(out.fit(), summary, out.diagnostics(), problem, k, passes, jobs.get(), remlSeconds);
  }

  /**
   * Caps the traits of one lock-step group ({@link #traitsPerGroup}), and of one chunk of a sample set on {@code assoc}'s
   * spectral route, e.g. {@code -Dlmmspark.lockstep.traits=50}.
   */
  public static final String LOCKSTEP_TRAITS_PROPERTY = "lmmspark.lockstep.traits";
  /**
   * Driver memory of one trait in a lock-step REML, in n-vectors of doubles: its probes' and y's Lanczos runs, its
   * preconditioner's Ritz pairs restricted to its samples, its columns in every shared pass (the request, the gathered
   * input and output). Measured: 100 traits of n ≈ 17,500 (40 probes) held ~3.4 GB after collections, ~235 n-vectors
   * each; rounded up. {@code assoc} adds each trait's LOCO solve ({@code MatrixFreeAssocJob.VECTORS_PER_TRAIT}).
   */
  public static final int VECTORS_PER_TRAIT = 250;

  /**
   * How many traits of {@code vectorsPerTrait} n-vectors each ({@link #VECTORS_PER_TRAIT} for {@code reml}) one
   * lock-step group may hold: half the driver's heap over them (at least 1), or {@code -Dlmmspark.lockstep.traits}
   * when that is smaller. Many traits run as several groups one after the other (each its own shared passes): 100
   * traits at n = 20,000 all at once filled a 4 GB driver (the lock-step fit then stalled in Spark's result fetch),
   * and memory, not passes, is what grows with T. {@code reml}: about 50 traits per group at n = 20,000 with a 4 GB
   * heap, 150 with 12 GB; 30 at n = 100,000 with 12 GB.
   */
  public static int traitsPerGroup(int n, int vectorsPerTrait) {
    return traitsPerGroup(vectorBytes(n, vectorsPerTrait));
  }

  /**
   * As {@link #traitsPerGroup(int, int)} for traits of {@code bytesPerTrait} each on the driver (an association scan
   * adds its table of results to its n-vectors, {@code MatrixFreeAssocJob.bytesPerTrait}).
   */
  public static int traitsPerGroup(long bytesPerTrait) {
    int byHeap = traitsPerGroup(bytesPerTrait, Runtime.getRuntime().maxMemory());
    String cap = System.getProperty(LOCKSTEP_TRAITS_PROPERTY);
    if (cap == null) {
      return byHeap;
    }
    try {
      int c = Integer.parseInt(cap.trim());
      if (c < 1) {
        throw new NumberFormatException();
      }
      return Math.min(byHeap, c);
    } catch (NumberFormatException e) {
      throw new BadInputException("-D" + LOCKSTEP_TRAITS_PROPERTY + " must be a positive number of traits, got '" + cap
          + "'");
    }
  }

  /** As above for a heap of {@code heapBytes}, without the cap. */
  public static int traitsPerGroup(int n, int vectorsPerTrait, long heapBytes) {
    return traitsPerGroup(vectorBytes(n, vectorsPerTrait), heapBytes);
  }

  /** Half the heap over the bytes of one trait, at least 1. */
  public static int traitsPerGroup(long bytesPerTrait, long heapBytes) {
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, heapBytes / 2 / Math.max(1, bytesPerTrait)));
  }

  /** Bytes of {@code vectors} n-vectors of doubles. */
  public static long vectorBytes(int n, int vectors) {
    return 8L * vectors * Math.max(1, n);
  }

  /**
   * What the log says of the group of traits starting at index {@code from} of {@code total} in groups of
   * {@code perGroup}: nothing when all are one group.
   */
  public static String groupNote(int from, int total, int perGroup) {
    return total <= perGroup ? "" : String.format(java.util.Locale.ROOT,
        " (group %d of %d: at most %d traits in lock-step for the driver's heap)", from / perGroup + 1,
        (total + perGroup - 1) / perGroup, perGroup);
  }

  /**
   * Several traits on genotypes already cached, each over its own analysed samples {@code ins.get(t).famRows()},
   * fitted in lock-step ({@link StochasticReml#fitTogether}): every product of every trait rides in the same
   * passes over the cache ({@link SharedGenotypePasses}, each trait's operator K restricted to its samples by
   * masking the pass's input and output). {@code passes}, {@code sparkJobs} and {@code seconds} of each
   * {@link Fitted} are those of the whole joint fit. With {@code sharedProbes} the probes' Lanczos runs are shared
   * by the traits as control variates ({@link org.lmmspark.engine.reml.matfree.SharedProbeRuns}: each trait's θ̂
   * within Monte Carlo error of its run alone, for a fraction of the probes' passes); without, each trait runs all
   * its own (θ̂ as alone up to rounding).
   */
  public static List<Fitted> fitTogether(JavaSparkContext jsc, DistributedGenotypeProducts products,
      List<GenotypeRemlInputs.Assembled> ins, List<String> traits, StochasticReml.Options reml, boolean sharedProbes) {
    log.info("REML (matrix-free) of {} traits together on {} variants; {}; {}", ins.size(), products.counts().kept,
        describeCache(products), Blas.describe());
    SharedGenotypePasses shared = new SharedGenotypePasses(products);
    List<RemlProblem> problems = new ArrayList<>();
    List<java.util.function.Consumer<String>> progress = new ArrayList<>();
    for (int t = 0; t < ins.size(); t++) {
      GenotypeRemlInputs.Assembled in = ins.get(t);
      GenomicRelationshipOperator k = new GenomicRelationshipOperator(shared, in.famRows(), -1);
      problems.add(new RemlProblem(in.design().y(), in.design().x(), in.design().columnNames(),
          List.of(new VarianceComponent("G", k))));
      String trait = traits.get(t);
      progress.add(line -> log.info("REML (matrix-free) {}: {}", trait, line));
    }
    long t1 = System.nanoTime();
    long passes0 = products.passes();
    AtomicInteger jobs = new AtomicInteger();
    List<StochasticReml.Outcome> outs = countingJobs(jsc, jobs,
        () -> StochasticReml.fitTogether(shared, problems, reml, progress, sharedProbes));
    double seconds = (System.nanoTime() - t1) / 1e9;
    long passes = products.passes() - passes0;
    log.info("REML (matrix-free) of {} traits: {} shared passes over the genotypes ({} columns in all, the widest {}),"
        + " {} Spark jobs, {} s", ins.size(), passes, shared.columns(), shared.widestPass(), jobs.get(),
        String.format("%.1f", seconds));
    List<Fitted> fitted = new ArrayList<>();
    for (int t = 0; t < ins.size(); t++) {
      RemlProblem problem = problems.get(t);
      StochasticReml.Outcome out = outs.get(t);
      VarianceSummary summary = new VarianceSummary(out.fit(), problem.nullLogL(null), problem.n());
      fitted.add(new Fitted(out.fit(), summary, out.diagnostics(), problem,
          (GenomicRelationshipOperator) problem.components().get(0).covariance(), passes, jobs.get(), seconds));
    }
    return fitted;
  }

  /** Runs {@code work} counting the Spark jobs it starts into {@code jobs}. */
  public static <T> T countingJobs(JavaSparkContext jsc, AtomicInteger jobs, java.util.function.Supplier<T> work) {
    SparkListener counter = new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart jobStart) {
        jobs.incrementAndGet();
      }
    };
    jsc.sc().addSparkListener(counter);
    try {
      return work.get();
    } finally {
      jsc.sc().removeSparkListener(counter);
    }
  }
}
