package org.lmmspark.jobs.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.io.OutputSet;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.grm.GrmJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lmmspark grm}: the GCTA genomic relationship matrix from genotypes ({@code .bed}, BGEN), on Spark. */
@Command(name = "grm", mixinStandardHelpOptions = true,
    description = {
      "Computes the genomic relationship matrix (by default GCTA's definition, as gcta --make-grm and"
          + " plink --make-grm-bin; --kernel standardized as GEMMA -gk 2 / FaST-LMM / Hail, --kernel centered as"
          + " GEMMA -gk 1) from genotypes (--bfile; --bgen or --vcf dosages), block-wise on Spark.",
      "gcta: A_jk = (1/M_jk) sum_i z_ij z_ik with z = (x - 2p)/sqrt(2p(1-p)), x the count (BGEN/VCF: dosage) of the A1 allele,"
          + " p its frequency over the kept samples; missing calls are skipped and M_jk counts the variants called"
          + " in both samples; monomorphic variants are skipped.",
      "Writes PREFIX.grm.bin, PREFIX.grm.N.bin, PREFIX.grm.id (GCTA binary format) and PREFIX.log;"
          + " with --per-chromosome also PREFIX.chrC.grm.* for every chromosome, from the same single pass."})
public final class GrmCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin GenotypeSourceOptions genotypes;

  @Mixin OutputOptions output;

  @Option(names = "--maf", defaultValue = "0", paramLabel = "X", description = "Skip variants with minor allele frequency below X (default: ${DEFAULT-VALUE}).")
  double maf;

  @Mixin SampleSelectionOptions samples;

  @Mixin VariantSelectionOptions variants;

  @Option(names = "--per-chromosome", description = "Also write one GRM per chromosome (PREFIX.chrC.grm.*), for LOCO; genotypes are still read once.")
  boolean perChromosome;

  @Option(names = "--tile-size", defaultValue = "4096", paramLabel = "N", description = "Samples per side of an output tile (default: ${DEFAULT-VALUE}).")
  int tileSize;

  @Option(names = "--tile-memory", defaultValue = "1024", paramLabel = "MB", description = "Accumulator memory per task in MiB; more tiles per task means fewer tasks (default: ${DEFAULT-VALUE}).")
  long tileMemoryMb;

  @Option(names = "--partitions", defaultValue = "0", paramLabel = "K", description = "Number of variant ranges (default 0: about one per core and tile group).")
  int partitions;

  @Mixin KernelOptions kernel;

  @Mixin SparkOptions sparkOptions;

  @Option(names = "--spark", description = "Always start a Spark session. Without it a small input (N×M ≤ 1e9,"
      + " N ≤ 20,000) on a local master runs in this JVM on the master's cores, without a session: the same"
      + " kernel, work items and outputs, seconds sooner.")
  boolean forceSpark;

  @Mixin ChromosomeCodeOptions chromosomeCodes;

  @Override
  public Integer call() {
    // MiB, turned into bytes below: at most 2^30 MiB (1 PiB) so that the shift cannot overflow.
    new NumericRange(1, true, 1L << 30, true).check("--tile-memory", tileMemoryMb);
    RunLog runLog = new RunLog(spec);
    GrmJob.Options options = new GrmJob.Options(genotypes.input(), output.out(), maf,
        variants.selection(samples, new Configuration()), perChromosome, tileSize, tileMemoryMb << 20, partitions,
        kernel.scaling());
    try (OutputSet set = output.open(OUTPUTS, new Configuration(), genotypes.input().label())) {
      run(runLog, options, sparkOptions.master, forceSpark, chromosomeCodes);
      set.commit();
    }
    return 0;
  }

  /** The files of one run (per-chromosome parts besides): existing ones are refused without --overwrite. */
  static final List<String> OUTPUTS = List.of(".grm.bin", ".grm.N.bin", ".grm.id", ".log");

  /**
   * Runs the job in this JVM when the input is small and the master local ({@link SparkRun#inProcessThreads}),
   * else in a session of its own ({@link SparkRun}), and reports it.
   */
  static GrmJob.Result run(RunLog runLog, GrmJob.Options options, String master, boolean forceSpark,
      ChromosomeCodeOptions codes) {
    Configuration conf = codes.apply(new Configuration());
    // A VCF's sites are listed by the run's tasks: bound for a cluster, it is opened inside the session.
    PartitionedGenotypes genotypes = options.genotypes().vcf() != null && !SparkRun.localMaster(master) ? null
        : PartitionedGenotypes.open(options.genotypes(), options.selection(), conf);
    int threads = genotypes == null ? 0 : SparkRun.inProcessThreads(master, forceSpark, genotypes.samples().size(),
        genotypes.selectedVariants(), runLog);
    if (threads > 0) {
      return SparkRun.runInProcess(runLog, options.out() + ".log", conf, stages -> {
        GrmJob.Result r = stages.time("GRM", () -> GrmJob.runInProcess(options, genotypes, threads, conf));
        report(runLog, options, r, String.format("%d unit(s) in-process on %d thread(s)", r.tasks(), threads));
        return r;
      });
    }
    return SparkRun.run("grm", master, runLog, GrmJob.class, options.out() + ".log", (jsc, stages) -> {
      codes.apply(jsc.hadoopConfiguration());
      GrmJob.Result r = stages.time("GRM", () -> genotypes != null ? GrmJob.run(jsc, options, genotypes)
          : GrmJob.run(jsc, options));
      report(runLog, options, r, r.tasks() + " Spark task(s)");
      return r;
    });
  }

  private static void report(RunLog runLog, GrmJob.Options options, GrmJob.Result r, String where) {
    runLog.say(String.format("GRM written to %s (with .grm.N.bin, .grm.id, .log)%s", GctaGrmFiles.binPath(options.out()),
        options.perChromosome() ? " and " + (r.outputs().size() - 1) + " per-chromosome GRMs" : ""));
    r.notes().forEach(runLog::say);
    runLog.say(String.format("kernel %s; N = %d samples, M = %s", options.scaling().option(), r.samples(), r.counts()));
    runLog.say(String.format("mean diagonal %.6f, off-diagonal mean %.3g SD %.4g", r.meanDiagonal(), r.meanOffDiagonal(), r.sdOffDiagonal()));
    runLog.say(String.format("%s, %d tile(s), %.1f s, %s", where, r.tiles(), r.seconds(),
        org.lmmspark.engine.linalg.Blas.describe()));
  }
}
