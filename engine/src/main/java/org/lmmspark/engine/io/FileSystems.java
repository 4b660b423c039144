package org.lmmspark.engine.io;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.lmmspark.engine.BadInputException;

/**
 * Opening files through the Hadoop FileSystem API, so that {@code file:}, {@code hdfs:} and
 * {@code s3a:} paths (and plain local paths) all work the same way. A missing or unreadable input is
 * a {@link BadInputException} naming the path.
 */
public final class FileSystems {
  private FileSystems() {}

  public static FileSystem of(String path, Configuration conf) {
    try {
      return new Path(path).getFileSystem(conf);
    } catch (IOException e) {
      throw new BadInputException(path + ": cannot reach its file system: " + e.getMessage(), e);
    }
  }

  /**
   * {@code path} made absolute and given its scheme on the driver (e.g. {@code sample-data/sim} →
   * {@code file:/home/u/lmmspark/sample-data/sim}). Paths handed to Spark tasks must be qualified:
   * on a cluster an executor's working directory is its own, not the driver's, so a relative path
   * would name a different (usually missing) file there.
   */
  public static String qualify(String path, Configuration conf) {
    Path p = new Path(path);
    return of(path, conf).makeQualified(p).toString();
  }

  /** The length of an existing input file, or a clear error when it is missing. */
  public static long length(String path, Configuration conf) {
    try {
      return of(path, conf).getFileStatus(new Path(path)).getLen();
    } catch (java.io.FileNotFoundException e) {
      throw BadInputException.inFile(path, "file not found");
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
  }

  public static boolean exists(String path, Configuration conf) {
    try {
      return of(path, conf).exists(new Path(path));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static InputStream open(String path, Configuration conf) {
    try {
      InputStream in = of(path, conf).open(new Path(path));
      return path.endsWith(".gz") || path.endsWith(".bgz") ? new GZIPInputStream(in, 1 << 16) : in;
    } catch (java.io.FileNotFoundException e) {
      throw BadInputException.inFile(path, "file not found");
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
  }

  /** A UTF-8 text reader; {@code .gz} files are decompressed. */
  public static BufferedReader openText(String path, Configuration conf) {
    return new BufferedReader(new InputStreamReader(open(path, conf), StandardCharsets.UTF_8), 1 << 16);
  }
}
