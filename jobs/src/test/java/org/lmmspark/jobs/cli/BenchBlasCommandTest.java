package org.lmmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.lmmspark.jobs.bench.BlasPeak;

/** The harness runs and checks its products; the rates themselves are not tested (a benchmark, not a timed test). */
class BenchBlasCommandTest {
  @Test
  void measuresEveryRoutineOnTinyMatrices() {
    for (BlasPeak.Routine r : BlasPeak.Routine.values()) {
      BlasPeak.Measurement m = BlasPeak.measure(r, 40, 33, 17, 2, 1);
      assertEquals(2, m.threads());
      assertTrue(m.gflops() > 0 && m.bestSeconds() > 0, m.toString());
    }
  }

  @Test
  void commandRunsAndRejectsBadOptions() {
    assertEquals(0, Lmmspark.run("bench-blas", "--size", "48", "--repeats", "1", "--threads", "1",
        "--routines", "DGEMM", "--kernel-shape", "32x24x16"));
    assertEquals(2, Lmmspark.run("bench-blas", "--size", "0"));
    assertThrows(IllegalArgumentException.class, () -> BlasPeak.measure(BlasPeak.Routine.SGEMM, 1, 1, 0, 1, 1));
  }
}
