package org.lmmspark.jobs.cli;

import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.io.OutputSet;
import picocli.CommandLine.Option;

/**
 * Where a command writes and whether it may replace what is there: {@code --out PREFIX} and
 * {@code --overwrite}. {@link #open} starts the command's {@link OutputSet} before any work: the
 * location is proven writable by taking the lock {@code PREFIX.lock}, leftovers of a killed run are
 * cleaned, and existing outputs are refused unless {@code --overwrite}; the command commits the set
 * (which writes {@code PREFIX.done}) when everything is written.
 */
public final class OutputOptions {
  @Option(names = "--out", required = true, paramLabel = "PREFIX", description = "Output prefix: files PREFIX.* "
      + "(folders are created). While the command runs, PREFIX.lock keeps other runs out; when it succeeds, "
      + "PREFIX.done lists the complete set.")
  String out;

  @Option(names = "--overwrite", description = "Replace existing outputs of this prefix (refused by default). The "
      + "older set stays in place until the new one is complete.")
  boolean overwrite;

  /** The output prefix. */
  public String out() {
    return out;
  }

  /**
   * Opens the output set of {@code --out}: the command's files are {@code PREFIX + suffix} for each of
   * {@code suffixes}; none of them may be one of {@code inputs} (files or prefixes; nulls ignored).
   */
  public OutputSet open(List<String> suffixes, Configuration conf, String... inputs) {
    return openAt(out, suffixes, conf, inputs);
  }

  /**
   * As {@link #open}, for a set whose prefix extends {@code --out} (e.g. {@code PREFIX.22} for an
   * {@code ldscore} run over one chromosome, so that one run per chromosome can share {@code --out}).
   */
  public OutputSet openAt(String prefix, List<String> suffixes, Configuration conf, String... inputs) {
    return OutputSet.open(prefix, suffixes, overwrite, Arrays.asList(inputs), conf);
  }

  /**
   * {@code --out} and {@code --overwrite} for a command whose files are optional (it prints its result,
   * and writes files only when given {@code --out}).
   */
  public static final class IfGiven {
    @Option(names = "--out", paramLabel = "PREFIX", description = "Also write the result to files PREFIX.* (with "
        + "PREFIX.lock while running and PREFIX.done when complete).")
    String out;

    @Option(names = "--overwrite", description = "Replace existing outputs of this prefix (refused by default).")
    boolean overwrite;

    /** The output prefix, or null when the command only prints. */
    public String out() {
      return out;
    }

    /** The output set of {@code --out} as {@link OutputOptions#open}, or null without {@code --out}. */
    public OutputSet open(List<String> suffixes, Configuration conf, String... inputs) {
      return out == null ? null : OutputSet.open(out, suffixes, overwrite, Arrays.asList(inputs), conf);
    }
  }
}
