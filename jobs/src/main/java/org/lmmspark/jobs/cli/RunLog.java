package org.lmmspark.jobs.cli;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.linalg.Blas;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The {@code PREFIX.log} written beside a command's outputs, as GCTA and PLINK do: the command line,
 * versions, the BLAS in use, and what the run reported. Lines are also printed to standard output.
 */
public final class RunLog {
  private final List<String> lines = new ArrayList<>();

  /** The log of the command {@code spec} as it was given. */
  public RunLog(CommandSpec spec) {
    lines.add("lmmspark " + Lmmspark.versionString() + " " + String.join(" ", words(spec)));
    lines.add("started " + Instant.now() + " on Java " + System.getProperty("java.version") + ", " + Blas.describe());
  }

  /** {@code lmmspark NAME ARGS…}: the command line as given, for logs that are not a RunLog. */
  public static String commandLine(CommandSpec spec) {
    return "lmmspark " + String.join(" ", words(spec));
  }

  /**
   * The command's name and its own arguments. picocli's {@code originalArgs()} are those of the whole
   * command line, so through the top-level {@code lmmspark} they start with the subcommand's name.
   */
  private static List<String> words(CommandSpec spec) {
    List<String> args = spec.commandLine().getParseResult().originalArgs();
    List<String> words = new ArrayList<>(List.of(spec.name()));
    words.addAll(args.subList(args.indexOf(spec.name()) + 1, args.size()));
    return words;
  }

  /** Adds a line to the log and prints it. */
  public void say(String line) {
    lines.add(line);
    System.out.println(line);
  }

  /** Adds a line to the log only. */
  public void note(String line) {
    lines.add(line);
  }

  public void write(String path, Configuration conf) {
    write(path, conf, false);
  }

  /**
   * Writes the log of a run that is about to fail, saying why: inside an {@link
   * org.lmmspark.engine.io.OutputSet} it stays when the set's other files are rolled back.
   */
  public void writeDiagnostic(String path, Configuration conf) {
    write(path, conf, true);
  }

  private void write(String path, Configuration conf, boolean diagnostic) {
    lines.add("finished " + Instant.now());
    try (AtomicOutputs out = new AtomicOutputs(conf)) {
      try (Writer w = new OutputStreamWriter(out.create(path), StandardCharsets.UTF_8)) {
        w.write(String.join("\n", lines) + "\n");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (diagnostic) {
        out.commitDiagnostic();
      } else {
        out.commit();
      }
    }
  }
}
