package org.lmmspark.jobs.cli;

import picocli.CommandLine.Option;

/** Options shared by every command that runs Spark work. */
public final class SparkOptions {
  @Option(names = "--master",
      description = "Spark master URL (default: the one spark-submit gives, else local[*], the embedded Spark).")
  String master;
}
