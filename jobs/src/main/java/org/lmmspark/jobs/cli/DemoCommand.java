package org.lmmspark.jobs.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.Callable;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.jobs.pipeline.Pipeline;
import org.lmmspark.jobs.pipeline.PipelineConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lmmspark demo}: the main job (the whole pipeline) on the bundled sample data with the embedded Spark. */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Runs the main job, the pipeline GRM -> REML -> association (LOCO) -> report of conf/example.conf,"
        + " on the bundled simulated cohort (sample-data/sim) with the embedded Spark, into a fresh output folder,"
        + " and prints where the outputs went and a short summary.")
public final class DemoCommand implements Callable<Integer> {
  @Option(names = "--out", defaultValue = "out/demo", paramLabel = "DIR", description = "Output folder, replaced on each run (default: ${DEFAULT-VALUE}).")
  String outDir;

  @Mixin SparkOptions sparkOptions;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    Path config = home().resolve("conf").resolve("example.conf");
    if (!Files.exists(config)) {
      throw new BadInputException(config + ": not found (run from the lmmspark checkout through scripts/lmmspark)");
    }
    String out = Paths.get(outDir).toAbsolutePath().normalize().toString();
    RunLog runLog = new RunLog(spec);
    Pipeline.Result r = RunCommand.run(PipelineConfig.read(config).withOut(out), false, true, sparkOptions.master, runLog);
    System.out.println();
    System.out.println("Summary of the demo (" + String.format("%.0f s", r.seconds()) + ", outputs in " + out + "):");
    for (Pipeline.Step s : r.steps()) {
      System.out.printf("  %-6s %s%n", s.name(), s.summary());
    }
    return 0;
  }

  /** The lmmspark checkout: {@code -Dlmmspark.home} (set by scripts/lmmspark), else the working folder. */
  static Path home() {
    return Paths.get(System.getProperty("lmmspark.home", ".")).toAbsolutePath().normalize();
  }
}
