package org.lmmspark.jobs.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.Callable;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.ChromosomeSelection;
import org.lmmspark.jobs.grm.GrmJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code lmmspark demo}: the main job on the bundled sample data with the embedded Spark. */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Runs the main job on the bundled simulated data (sample-data/sim) with the embedded Spark and"
        + " prints where the outputs went and a short summary.")
public final class DemoCommand implements Callable<Integer> {
  @Option(names = "--data", paramLabel = "PREFIX", description = "Genotypes to use (default: sample-data/sim under the lmmspark home).")
  String data;

  @Option(names = "--out", defaultValue = "out/demo", paramLabel = "DIR", description = "Output folder (default: ${DEFAULT-VALUE}).")
  String outDir;

  @Mixin SparkOptions sparkOptions;

  @Override
  public Integer call() {
    String prefix = data != null ? data : home().resolve("sample-data").resolve("sim").toString();
    if (!Files.exists(Paths.get(prefix + ".bed"))) {
      throw new BadInputException(prefix + ".bed: sample data not found (run from the lmmspark checkout, or give --data)");
    }
    String out = Paths.get(outDir).resolve("sim").toAbsolutePath().toString();
    RunLog runLog = new RunLog("demo", new String[] {"--data", prefix, "--out", outDir});
    runLog.say("lmmspark demo: GRM of " + prefix + " with the embedded Spark");
    GrmCommand.run(runLog, new GrmJob.Options(prefix, out, 0.0, ChromosomeSelection.all(), true, 4096, 1L << 30, 0),
        sparkOptions.master);
    return 0;
  }

  /** The lmmspark checkout: {@code -Dlmmspark.home} (set by scripts/lmmspark), else the working folder. */
  static Path home() {
    return Paths.get(System.getProperty("lmmspark.home", ".")).toAbsolutePath().normalize();
  }
}
