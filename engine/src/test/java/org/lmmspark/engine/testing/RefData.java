package org.lmmspark.engine.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Assumptions;

/**
 * Locates {@code ../shared/refdata/CASE} (reference cases with values from established tools). When
 * it is absent the calling test is skipped with a message saying so, never passed silently.
 */
public final class RefData {
  private RefData() {}

  public static Path dir(String refCase) {
    String shared = System.getProperty("lmmspark.shared", "../shared");
    Path dir = Paths.get(shared, "refdata", refCase).toAbsolutePath().normalize();
    Assumptions.assumeTrue(Files.isDirectory(dir),
        "SKIPPED: reference case " + refCase + " not found at " + dir + " (../shared/refdata is absent)");
    return dir;
  }

  /** The project root (for sample-data/), from the build's system property. */
  public static Path projectRoot() {
    return Paths.get(System.getProperty("lmmspark.root", ".")).toAbsolutePath().normalize();
  }
}
