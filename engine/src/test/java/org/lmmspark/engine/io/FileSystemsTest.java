package org.lmmspark.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Paths handed to Spark tasks: qualified on the driver, so an executor's own working directory cannot change them. */
class FileSystemsTest {
  private final Configuration conf = new Configuration();

  @Test
  void relativeLocalPathBecomesAbsoluteFileUri() {
    // Expected value written from java.nio, independently of Hadoop's Path.
    String cwd = Paths.get("").toAbsolutePath().toString();
    assertEquals("file:" + cwd + "/sample-data/sim", FileSystems.qualify("sample-data/sim", conf));
  }

  @Test
  void qualifiedPathsAreKept() {
    assertEquals("file:/data/x/ukb", FileSystems.qualify("/data/x/ukb", conf));
    assertEquals("file:/data/x/ukb", FileSystems.qualify("file:/data/x/ukb", conf));
    assertEquals("file:/data/x/ukb", FileSystems.qualify("file:///data/x/ukb", conf));
  }

  /**
   * Local files through the directly made local file system: created with the permissions Hadoop gives
   * (0666 and 0777 less the default umask 022, set by java.nio rather than a chmod process), readable back.
   */
  @Test
  void localFilesGetHadoopsPermissionsWithoutChmod(@TempDir Path dir) throws Exception {
    String file = dir.resolve("sub/out.txt").toString();
    FileSystem fs = FileSystems.of(file, conf);
    assertSame(fs, FileSystems.of("file:" + file, conf), "one local file system per JVM");
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(file);
    try (OutputStream os = fs.create(p, false)) {
      os.write("hello\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(Paths.get(file))));
    assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("sub"))));
    assertEquals("hello\n", Files.readString(Paths.get(file)));
  }

  /** A configured implementation of file: is honoured: then Hadoop's own lookup, not the shortcut. */
  @Test
  void configuredLocalImplementationIsUsed() throws Exception {
    Configuration custom = new Configuration();
    custom.set("fs.file.impl", org.apache.hadoop.fs.RawLocalFileSystem.class.getName());
    custom.setBoolean("fs.file.impl.disable.cache", true);
    FileSystem fs = FileSystems.of("/tmp/x", custom);
    assertNotSame(FileSystems.of("/tmp/x", conf), fs);
    assertEquals(org.apache.hadoop.fs.RawLocalFileSystem.class, fs.getClass());
  }
}
