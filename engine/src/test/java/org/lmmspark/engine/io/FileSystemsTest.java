package org.lmmspark.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Paths;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

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
}
