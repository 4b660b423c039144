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
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
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
      return of(new Path(path), conf);
    } catch (IOException e) {
      throw new BadInputException(path + ": cannot reach its file system: " + e.getMessage(), e);
    }
  }

  /**
   * The file system of {@code path}. A local path ({@code file:}, or no scheme while the default file
   * system is local, and no {@code fs.file.impl} set) gets {@link #local}, made once per JVM; others
   * Hadoop's {@code FileSystem.get} (cached per scheme and user).
   */
  public static FileSystem of(Path path, Configuration conf) throws IOException {
    String scheme = path.toUri().getScheme();
    if (scheme == null) {
      scheme = FileSystem.getDefaultUri(conf).getScheme();
    }
    if ("file".equals(scheme) && conf.get("fs.file.impl") == null) {
      return local(conf);
    }
    return path.getFileSystem(conf);
  }

  private static LocalFileSystem local;

  /**
   * Hadoop's {@link LocalFileSystem} made directly rather than through {@code FileSystem.get}: that path
   * logs the user in ({@code UserGroupInformation}, JAAS) and instantiates every file system the
   * class path declares, and the local file system then sets each new file's and folder's permissions
   * by starting {@code chmod} (after a {@code setsid} probe) when Hadoop's native library is absent, as
   * here — about half a CPU-second and a dozen processes for a short command such as {@code fit}. Here
   * permissions are set through {@code java.nio} instead ({@link NioPermissions}); files, checksums and
   * paths are Hadoop's as before.
   */
  static synchronized LocalFileSystem local(Configuration conf) throws IOException {
    if (local == null) {
      LocalFileSystem fs = new LocalFileSystem(new NioPermissions());
      fs.initialize(java.net.URI.create("file:///"), conf);
      local = fs;
    }
    return local;
  }

  /** The raw local file system with {@code setPermission} by {@code java.nio} (no {@code chmod} process). */
  static final class NioPermissions extends RawLocalFileSystem {
    @Override
    public void setPermission(Path p, FsPermission permission) throws IOException {
      java.nio.file.Path file = pathToFile(p).toPath();
      try {
        java.nio.file.Files.setPosixFilePermissions(file,
            java.nio.file.attribute.PosixFilePermissions.fromString(permission.toString()));
      } catch (UnsupportedOperationException | IllegalArgumentException e) {
        // Not a POSIX file system, or bits java.nio cannot spell (sticky, setuid): Hadoop's own way.
        super.setPermission(p, permission);
      }
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

  /** The length of an existing input file, or a clear error when it is missing or a folder. */
  public static long length(String path, Configuration conf) {
    try {
      org.apache.hadoop.fs.FileStatus status = of(path, conf).getFileStatus(new Path(path));
      if (status.isDirectory()) {
        throw BadInputException.inFile(path, "is a folder, not a file");
      }
      return status.getLen();
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
      FileSystem fs = of(path, conf);
      if (fs.getFileStatus(new Path(path)).isDirectory()) {
        throw BadInputException.inFile(path, "is a folder, not a file");
      }
      InputStream in = fs.open(new Path(path));
      return path.endsWith(".gz") || path.endsWith(".bgz") ? new GZIPInputStream(in, 1 << 16) : in;
    } catch (java.io.FileNotFoundException e) {
      throw BadInputException.inFile(path, "file not found");
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
  }

  /**
   * A UTF-8 text reader with bounded lines ({@link BoundedLineReader}); gzip data is decompressed
   * whether or not the name ends in {@code .gz} (found by its magic bytes {@code 1f 8b}: a text table
   * cannot start with them, and its compressed bytes would otherwise reach error messages).
   */
  public static BufferedReader openText(String path, Configuration conf) {
    InputStream in = open(path, conf);
    if (!(in instanceof GZIPInputStream)) {
      java.io.BufferedInputStream peek = new java.io.BufferedInputStream(in, 1 << 16);
      try {
        peek.mark(2);
        int b0 = peek.read();
        int b1 = peek.read();
        peek.reset();
        in = b0 == 0x1f && b1 == 0x8b ? new GZIPInputStream(peek, 1 << 16) : peek;
      } catch (IOException e) {
        throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
      }
    }
    return new BoundedLineReader(new InputStreamReader(in, StandardCharsets.UTF_8), path);
  }
}
