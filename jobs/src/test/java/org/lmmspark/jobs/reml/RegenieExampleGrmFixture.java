package org.lmmspark.jobs.reml;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.RefData;

/**
 * The fixture of the reml command tests on {@code ../shared/refdata/regenie-example}: its folder, its
 * GCTA GRM ({@code expected/gcta_grm}, 500 samples) and a fresh output folder per test. The class is
 * skipped with {@code SKIPPED: reference case … not found} when the case is absent.
 */
abstract class RegenieExampleGrmFixture {
  static Path dir;
  static String grm;
  @TempDir
  Path tmp;

  @BeforeAll
  static void findRegenieExample() {
    dir = RefData.dir("regenie-example");
    grm = dir.resolve("expected/gcta_grm").toString();
  }
}
