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

/**
 * The {@code PREFIX.log} written beside a command's outputs, as GCTA and PLINK do: the command line,
 * versions, the BLAS in use, and what the run reported. Lines are also printed to standard output.
 */
public final class RunLog {
  private final List<String> lines = new ArrayList<>();

  public RunLog(String command, String[] args) {
    lines.add("lmmspark " + Lmmspark.versionString() + " " + command + " " + String.join(" ", args));
    lines.add("started " + Instant.now() + " on Java " + System.getProperty("java.version") + ", " + Blas.describe());
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
    lines.add("finished " + Instant.now());
    try (AtomicOutputs out = new AtomicOutputs(conf)) {
      try (Writer w = new OutputStreamWriter(out.create(path), StandardCharsets.UTF_8)) {
        w.write(String.join("\n", lines) + "\n");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      out.commit();
    }
  }
}
