package org.lmmspark.jobs.cli;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.io.OutputSet;
import org.lmmspark.engine.ldscore.LdScoreFiles;
import org.lmmspark.engine.ldscore.WindowSpec;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.jobs.genotype.GenotypeSources;
import org.lmmspark.jobs.ldscore.LdScoreJob;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lmmspark ldscore}: LD scores of a reference panel as ldsc {@code --l2} computes them, on Spark, or
 * in this JVM's threads for a small input on a local master.
 */
@Command(name = "ldscore", mixinStandardHelpOptions = true,
    description = {
      "LD scores from a reference panel (--bfile, --bgen or --vcf, incl. BCF), as ldsc --l2 defines them: for each"
          + " variant j the sum over the variants k of its window of r2_jk - (1 - r2_jk)/(n - 2) (unbiased r2 from n"
          + " panel samples; missing calls mean-imputed), per annotation with --annot (partitioned LD scores).",
      "A BGEN or VCF panel is read as dosages (expected counts of the counted allele), standardized like hard"
          + " calls; a variant is dropped when its MAF <= --maf or all its called dosages are equal (ldsc's"
          + " monomorphic and all-heterozygous drops). BGEN and VCF carry no cM: use --ld-wind-kb or --ld-wind-snps.",
      "Windows are exact by default (pairs within the window width); --chunk-size 50 reproduces ldsc's"
          + " default widening of windows to chunk boundaries exactly. Each chromosome separately.",
      "Writes, per chromosome C, OUT.C.l2.ldscore.gz, OUT.C.l2.M and OUT.C.l2.M_5_50 (ldsc's layout,"
          + " readable by ldsc and by lmmspark ldsc --ref-ld-chr OUT.), and OUT.log.",
      "The output set (lock, log, completion marker) is OUT, or OUT.C when the selected panel variants are on one"
          + " chromosome C, so that one run per chromosome can share --out (OUT.C.log, OUT.C.done)."})
public final class LdScoreCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  /** The reference panel: {@code --bfile}, {@code --bgen [--sample]} or {@code --vcf}, as every command takes it. */
  @Mixin GenotypeSourceOptions genotypes;

  /** Output prefix: OUT.C.l2.ldscore.gz etc. per chromosome C. */
  @Mixin OutputOptions output;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Window window;

  static final class Window {
    @Option(names = "--ld-wind-cm", paramLabel = "CM", description = "Window in centiMorgans (.bim column 3), e.g. 1; --bfile panels only.")
    Double cm;

    @Option(names = "--ld-wind-kb", paramLabel = "KB", description = "Window in kilobases (.bim column 4, BGEN/VCF position).")
    Double kb;

    @Option(names = "--ld-wind-snps", paramLabel = "N", description = "Window in number of (kept) variants.")
    Integer snps;
  }

  @Option(names = "--chunk-size", defaultValue = "1", paramLabel = "C",
      description = "ldsc's chunk rule: windows widened to chunks of C variants (default ${DEFAULT-VALUE}: exact windows; ldsc's own default is 50).")
  int chunkSize;

  @Option(names = "--yes-really", description = "Allow a window that covers a whole chromosome (refused by default, as ldsc).")
  boolean yesReally;

  @Option(names = "--annot", paramLabel = "PREFIX",
      description = "ldsc annotation files: PREFIX.C.annot[.gz] per chromosome C (or PREFIX.annot[.gz] for a one-chromosome panel), rows in panel variant order; one LD score column per annotation.")
  String annot;

  @Option(names = "--maf", defaultValue = "0", paramLabel = "X", description = "Use only variants with MAF > X in the panel (default ${DEFAULT-VALUE}: polymorphic variants).")
  double maf;

  /** The panel samples ({@code --keep/--remove}), as every command takes them. */
  @Mixin SampleSelectionOptions samples;

  /** The panel variants ({@code --extract/--exclude [range]/--chr/--from-bp/--to-bp}), as every command takes them. */
  @Mixin VariantSelectionOptions variants;

  @Option(names = "--digits", defaultValue = "3", paramLabel = "D", description = "Decimals of the written LD scores (default ${DEFAULT-VALUE}, as ldsc).")
  int digits;

  @Option(names = "--task-memory", defaultValue = "128", paramLabel = "MB",
      description = "Decoded genotypes per task in MiB (3x that with missing calls); a task holds its variants plus one window (default ${DEFAULT-VALUE}).")
  long taskMemoryMb;

  @Option(names = "--l2", hidden = true, description = "Accepted for ldsc users; LD scores are what this command computes.")
  boolean l2;

  @Mixin SparkOptions sparkOptions;

  @Option(names = "--spark", description = "Always start a Spark session. Without it a small input (N×M ≤ 1e9,"
      + " N ≤ 20,000) on a local master runs in this JVM on the master's cores, without a session: the same"
      + " tasks and outputs, seconds sooner.")
  boolean forceSpark;

  @Override
  public Integer call() {
    if (!(maf >= 0 && maf < 0.5)) { // NaN fails too
      throw new BadInputException("--maf must be in [0, 0.5), got " + maf);
    }
    if (digits < 0 || digits > 15) {
      throw new BadInputException("--digits must be in 0..15, got " + digits);
    }
    // MiB, turned into bytes below: at most 2^30 MiB (1 PiB) so that the shift cannot overflow.
    new NumericRange(1, true, 1L << 30, true).check("--task-memory", taskMemoryMb);
    WindowSpec windowSpec = window.cm != null ? new WindowSpec(WindowSpec.Unit.CM, window.cm, chunkSize, yesReally)
        : window.kb != null ? new WindowSpec(WindowSpec.Unit.KB, window.kb, chunkSize, yesReally)
        : new WindowSpec(WindowSpec.Unit.SNPS, window.snps, chunkSize, yesReally);
    Configuration conf = new Configuration();
    String out = output.out();
    OutputSet.requireFilePrefix(out, conf); // before OUT.C is derived from it
    GenotypeSelection selection = variants.selection(samples, conf);
    GenotypeInput input = genotypes.input();
    if (input.vcf() != null && !SparkRun.localMaster(sparkOptions.master)) {
      // A VCF's sites are listed by Spark tasks only inside a session (GenotypeSources.open): on a cluster the
      // session comes first, so that the driver never reads the whole file, then the set as below.
      RunLog runLog = new RunLog(spec);
      return SparkRun.run("ldscore", sparkOptions.master, runLog, LdScoreJob.class, null, (jsc, stages) ->
          runOn(input, windowSpec, out, selection, conf, (options, panel, logPath, n, m) -> {
            report(runLog, options, stages.time("LD scores", () -> LdScoreJob.run(jsc, options, panel)));
            runLog.write(logPath, jsc.hadoopConfiguration());
          }));
    }
    return runOn(input, windowSpec, out, selection, conf, (options, panel, logPath, n, m) ->
        run(options, panel, logPath, n, m, conf));
  }

  /** How the job runs once the panel is open and the output set is held. */
  @FunctionalInterface
  private interface Runner {
    void run(LdScoreJob.Options options, GenotypeSource panel, String logPath, int samples, long variants);
  }

  /** Opens the panel, derives the output set from its selected chromosomes, holds it while {@code runner} runs. */
  private int runOn(GenotypeInput input, WindowSpec windowSpec, String out, GenotypeSelection selection,
      Configuration conf, Runner runner) {
    // The set's prefix and files: OUT.C.* of the selected chromosomes (OUT.C itself for one chromosome).
    GenotypeSource panel = GenotypeSources.open(input, conf);
    boolean[] selected = selection.variants().mask(panel.variants(), panel.variantsPath()).include();
    Set<String> chromosomes = new LinkedHashSet<>();
    for (int v = 0; v < selected.length; v++) {
      if (selected[v]) {
        chromosomes.add(panel.variants().get(v).chromosome());
      }
    }
    String setPrefix = chromosomes.size() == 1 ? out + "." + chromosomes.iterator().next() : out;
    List<String> suffixes = new ArrayList<>(List.of(".log"));
    for (String c : chromosomes) {
      String at = setPrefix.equals(out) ? "." + c : "";
      suffixes.addAll(List.of(at + ".l2.ldscore.gz", at + ".l2.M", at + ".l2.M_5_50"));
    }
    LdScoreJob.Options options = new LdScoreJob.Options(input, out, windowSpec, maf, selection, annot,
        taskMemoryMb << 20, digits);
    long selectedVariants = 0;
    for (boolean s : selected) {
      selectedVariants += s ? 1 : 0;
    }
    int selectedSamples = selection.samples().apply(panel.samples(), panel.samplesPath()).subset().size();
    // The panel's files, not its prefix: PREFIX.C.log beside a panel PREFIX.C.bed replaces nothing of it.
    try (OutputSet set = output.openAt(setPrefix, suffixes, conf, input.files(conf).toArray(new String[0]))) {
      runner.run(options, panel, setPrefix + ".log", selectedSamples, selectedVariants);
      set.commit();
    }
    return 0;
  }

  /**
   * Runs the job in this JVM when the input is small and the master local ({@link SparkRun#inProcessThreads},
   * the rule {@code grm} follows), else in a session of its own ({@link SparkRun}), and reports it.
   */
  private void run(LdScoreJob.Options options, GenotypeSource panel, String logPath, int samples, long variants,
      Configuration conf) {
    RunLog runLog = new RunLog(spec);
    int threads = SparkRun.inProcessThreads(sparkOptions.master, forceSpark, samples, variants, runLog);
    if (threads > 0) {
      SparkRun.runInProcess(runLog, logPath, conf, stages -> {
        report(runLog, options, stages.time("LD scores", () -> LdScoreJob.runInProcess(options, panel, threads, conf)));
        return 0;
      });
      return;
    }
    SparkRun.run("ldscore", sparkOptions.master, runLog, LdScoreJob.class, logPath, (jsc, stages) -> {
      report(runLog, options, stages.time("LD scores", () -> LdScoreJob.run(jsc, options, panel)));
      return 0;
    });
  }

  private void report(RunLog runLog, LdScoreJob.Options options, LdScoreJob.Result r) {
    r.notes().forEach(runLog::say);
    runLog.say(String.format("N = %d panel samples, window %s, chunk size %d, annotations: %s", r.samples(),
        options.window().describe(), chunkSize, String.join(" ", r.annotations())));
    for (LdScoreJob.ChromosomeResult c : r.chromosomes()) {
      runLog.say(String.format("chromosome %s: %d variants, M = %s, M_5_50 = %s, L2 mean %.4f min %.4f max %.4f -> %s",
          c.chromosome(), c.variants(), fmt(c.m()), fmt(c.m550()), c.meanL2(), c.minL2(), c.maxL2(),
          LdScoreFiles.ldscorePath(options.out(), c.chromosome())));
    }
    runLog.say(String.format("%s, %.1f s, %s", r.tasks(), r.seconds(), org.lmmspark.engine.linalg.Blas.describe()));
  }

  private static String fmt(double[] xs) {
    StringBuilder sb = new StringBuilder();
    for (double x : xs) {
      sb.append(sb.length() == 0 ? "" : ",").append(x == Math.rint(x) ? String.valueOf((long) x) : String.valueOf(x));
    }
    return sb.toString();
  }
}
