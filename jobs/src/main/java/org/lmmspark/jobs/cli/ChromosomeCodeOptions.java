package org.lmmspark.jobs.cli;

import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.io.PlinkFileset;
import picocli.CommandLine.Option;

/** {@code --allow-extra-chr}: the commands that read a {@code .bim}. */
public final class ChromosomeCodeOptions {
  @Option(names = "--allow-extra-chr", description = "Accept .bim chromosome codes outside PLINK's human set (1-26, X,"
      + " Y, XY, MT, 0, with or without 'chr'), as plink --allow-extra-chr; without it they are errors.")
  boolean allowExtraChr;

  /** Puts the choice where the {@code .bim} readers look for it (driver and executors alike). */
  public Configuration apply(Configuration conf) {
    conf.setBoolean(PlinkFileset.ALLOW_EXTRA_CHR, allowExtraChr);
    return conf;
  }
}
