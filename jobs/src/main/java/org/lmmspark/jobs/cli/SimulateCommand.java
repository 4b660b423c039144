package org.lmmspark.jobs.cli;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.simulate.SimulationConfig;
import org.lmmspark.engine.simulate.SimulationResult;
import org.lmmspark.engine.simulate.Simulator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lmmspark simulate}: writes a seeded simulated data set with known truth (PLINK genotypes,
 * quantitative/binary/null traits, covariates, pedigree, truth files). A plain driver-side command:
 * no Spark. The model is documented on {@link Simulator}. Memory is O(N) per variant in flight
 * (a few MB per thread at N = 100,000), never the genotype matrix; time is O(N·M).
 *
 * <pre>
 * lmmspark simulate --out sample-data/sim --samples 800 --variants 8000 --seed 20240601
 * </pre>
 */
@Command(
    name = "simulate",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Simulate genotypes and traits with known truth (no Spark needed).",
      "",
      "Populations drift from one ancestral population (Balding-Nichols Fst); nuclear families (2 founder parents, "
          + "2-3 full sibs, Mendelian transmission, free recombination between variants) and unrelated founders; "
          + "M variants over 22 autosomes with a few monomorphic ones and missing calls. "
          + "y_quant = covariates + g + e with var(g)/(var(g)+var(e)) = h2 from C causal variants; "
          + "y_binary by liability threshold at prevalence K; y_null pure noise.",
      "",
      "Writes PREFIX.bed/.bim/.fam, .pheno (FID IID y_quant y_binary y_null), .covar (FID IID sex), "
          + ".qcovar (FID IID age pc1 pc2), .ped (FID IID father mother sex), .truth.tsv, .truth.json and .log. "
          + "The same options (seed included) give the same bytes, whatever --threads."
    })
public final class SimulateCommand implements Callable<Integer> {

  /** Progress is printed for runs of at least this many genotype calls. */
  static final long PROGRESS_MIN_CALLS = 100_000_000L;

  @Spec CommandSpec spec;

  @picocli.CommandLine.Mixin OutputOptions output;

  @Option(names = "--samples", required = true, paramLabel = "N", description = "Number of samples.")
  int samples;

  @Option(names = "--variants", required = true, paramLabel = "M", description = "Number of variants (at least 22).")
  int variants;

  @Option(names = "--causal", paramLabel = "C", description = "Number of causal variants (default: 100, or fewer if M is small).")
  Integer causal;

  @Option(names = "--h2", paramLabel = "X", defaultValue = "0.5", description = "Heritability in [0, 1) (default: ${DEFAULT-VALUE}).")
  double h2;

  @Option(names = "--prevalence", paramLabel = "K", defaultValue = "0.2",
      description = "Population prevalence of the binary trait (default: ${DEFAULT-VALUE}).")
  double prevalence;

  @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--populations", paramLabel = "P", defaultValue = "3", description = "Number of populations (default: ${DEFAULT-VALUE}).")
  int populations;

  @Option(names = "--fst", paramLabel = "F", defaultValue = "0.05",
      description = "Balding-Nichols Fst of each population (default: ${DEFAULT-VALUE}).")
  double fst;

  @Option(names = "--families", paramLabel = "F", description = "Number of nuclear families (default: N/20; at most N/5).")
  Integer families;

  @Option(names = "--missing-rate", paramLabel = "Q", defaultValue = "0.005",
      description = "Fraction of genotype calls written as missing (default: ${DEFAULT-VALUE}).")
  double missingRate;

  @Option(names = "--pheno-missing-rate", paramLabel = "Q", defaultValue = "0.01",
      description = "Fraction of phenotype values written as NA, per trait (default: ${DEFAULT-VALUE}).")
  double phenoMissingRate;

  @Option(names = "--monomorphic", paramLabel = "K", description = "Number of variants made monomorphic (default: M/500, at least 1).")
  Integer monomorphic;

  @Option(names = "--ld-rho", paramLabel = "R", defaultValue = "0",
      description = "Linkage disequilibrium: founder haplotypes keep a latent uniform from one variant to the next "
          + "with probability R (AR(1) along the chromosome, restarting every 1000 variants), so neighbouring "
          + "variants of equal frequency have r = R, d apart R^d; children inherit haplotypes with crossovers "
          + "(1 cM per Mb). 0 (default): independent variants, free recombination.")
  double ldRho;

  @Option(names = "--threads", paramLabel = "T", description = "Worker threads (default: available processors); the output does not depend on it.")
  Integer threads;

  @Override
  public Integer call() {
    SimulationConfig config = config();
    PrintStream stdout = System.out;
    long calls = (long) samples * variants;
    Simulator.Progress progress = calls >= PROGRESS_MIN_CALLS
        ? (done, total) -> stdout.printf(Locale.ROOT, "simulate: %d/%d variants (%.0f%%)%n", done, total, 100.0 * done / total)
        : null;
    long start = System.nanoTime();
    String out = output.out();
    String summary;
    try (org.lmmspark.engine.io.OutputSet set = output.open(OUTPUTS, new Configuration())) {
      SimulationResult r = Simulator.run(config, out, new Configuration(), progress);
      summary = summary(out, r);
      writeLog(summary);
      set.commit();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    stdout.print(summary);
    stdout.printf(Locale.ROOT, "  time %.1f s (%d threads)%n", seconds, config.threads());
    return 0;
  }

  /** The files of one run. */
  static final java.util.List<String> OUTPUTS = java.util.List.of(".bed", ".bim", ".fam", ".pheno", ".covar", ".qcovar",
      ".ped", ".truth.tsv", ".truth.json", ".log");

  /** The engine's checks, reported as bad options (exit code 2). */
  SimulationConfig config() {
    int mono = monomorphic != null ? monomorphic : SimulationConfig.defaultMonomorphic(Math.max(variants, 1));
    int c = causal != null ? causal : Math.max(0, Math.min(100, variants - mono));
    int f = families != null ? families : samples / 20;
    int t = threads != null ? threads : Runtime.getRuntime().availableProcessors();
    try {
      return new SimulationConfig(samples, variants, c, h2, prevalence, seed, populations, f, fst, missingRate,
          phenoMissingRate, mono, t, ldRho);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), "simulate: " + e.getMessage());
    }
  }

  static String summary(String prefix, SimulationResult r) {
    SimulationConfig c = r.config();
    StringBuilder pops = new StringBuilder();
    int[] size = new int[c.populations()];
    for (int p : r.population()) {
      size[p]++;
    }
    for (int p = 0; p < size.length; p++) {
      pops.append(p == 0 ? "" : "/").append(size[p]);
    }
    int n = r.n();
    return String.format(Locale.ROOT,
        "simulate: wrote %s.{bed,bim,fam,pheno,covar,qcovar,ped,truth.tsv,truth.json,log}%n"
            + "  samples %d: %d populations (%s, Fst %s), %d families (%d members, %d offspring), %d unrelated%n"
            + "  variants %d on 22 chromosomes: %d monomorphic, %d missing calls (%.2f%%)%n"
            + "  y_quant: h2 %s (realized %.3f), %d causal variants; y_binary: prevalence %s (%d cases, %.3f); y_null%n"
            + "%s  seed %d%n",
        prefix, n, c.populations(), pops, num(c.fst()), c.families(), r.familyMembers(), r.offspring(),
        n - r.familyMembers(), c.variants(), r.monomorphicIds().size(), r.missingCalls(),
        100.0 * r.missingCalls() / ((double) n * c.variants()), num(c.h2()), r.realizedH2(), r.causal().size(),
        num(c.prevalence()), r.cases(), r.cases() / (double) n,
        c.ldRho() > 0 ? "  LD: rho " + num(c.ldRho()) + " between neighbouring variants (segments of "
            + org.lmmspark.engine.simulate.SimulationConfig.LD_SEGMENT + " variants)" + System.lineSeparator() : "",
        c.seed());
  }

  private static String num(double x) {
    return java.math.BigDecimal.valueOf(x).stripTrailingZeros().toPlainString();
  }

  /** PREFIX.log: version, command line and summary (no times, so a rerun writes the same bytes). */
  private void writeLog(String summary) {
    StringBuilder log = new StringBuilder();
    log.append("lmmspark ").append(Lmmspark.versionString()).append('\n');
    log.append("command: ").append(RunLog.commandLine(spec)).append('\n').append(summary);
    try (AtomicOutputs outputs = new AtomicOutputs(new Configuration())) {
      try (Writer w = new OutputStreamWriter(outputs.create(output.out() + ".log"), StandardCharsets.UTF_8)) {
        w.write(log.toString());
      }
      outputs.commit();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
