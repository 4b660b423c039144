package org.lmmspark.jobs.cli;

import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.select.SampleSelection;
import picocli.CommandLine.Option;

/**
 * {@code --keep/--remove}: the samples a command uses, PLINK's options (see {@link SampleSelection} for
 * the list layouts). A picocli mixin shared by every command that reads samples; it builds and checks
 * its own selection.
 */
public final class SampleSelectionOptions {
  @Option(names = "--keep", paramLabel = "FILE", description = "Use only the samples listed (FID IID a line, or IID "
      + "alone a line; a header #FID IID / #IID is allowed; more columns are ignored). Repeatable: the union.")
  List<String> keep = new ArrayList<>();

  @Option(names = "--remove", paramLabel = "FILE", description = "Leave out the samples listed (layout as --keep). "
      + "Applied after --keep.")
  List<String> remove = new ArrayList<>();

  /** Reads the lists (bad files fail here, naming file and line). */
  public SampleSelection selection(Configuration conf) {
    return SampleSelection.read(keep, remove, conf);
  }
}
