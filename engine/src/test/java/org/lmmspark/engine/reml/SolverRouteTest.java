package org.lmmspark.engine.reml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The one route switch: the cost model against the measured cases it is calibrated on (docs/scaling.md,
 * docs/benchmarks.md, issue 17), and the hard rules (a GRM given, a spectral-only test, the driver heap,
 * {@code --matrix-free-above}) before it.
 */
class SolverRouteTest {
  private static final long HEAP = 12L << 30;

  /** assoc on 2 cores with a 12 GiB driver heap, 22 chromosomes, an intercept. */
  private static SolverRoute.Request assoc(int n, long m, boolean loco) {
    return new SolverRoute.Request(n, m, 22, 1, 1, loco, true, n < 5000, false, null, 2, 2, HEAP, SolverRoute.COST_MODEL);
  }

  @Test
  void measuredCasesGoWhereTheyRanFaster() {
    // Issue 17: N = 5,000 × M = 100,000, assoc --loco: spectral 230 s (22 band reductions), matrix-free 45 s.
    SolverRoute.Decision loco = SolverRoute.auto(assoc(5000, 100_000, true));
    assertEquals(SolverRoute.Route.MATRIX_FREE, loco.route(), loco.why());
    assertTrue(loco.why().startsWith("route: matrix-free (N=5,000, M=100,000, LOCO over 22 chromosomes")
        && loco.why().contains("dense GRM would need 600 MB"), loco.why());
    // docs/scaling.md: N = 5,000 × M = 20,000 --loco: exact spectral 867 s, matrix-free 67 s.
    assertEquals(SolverRoute.Route.MATRIX_FREE, SolverRoute.auto(assoc(5000, 20_000, true)).route());
    // docs/scaling.md, 2026-12-03: without LOCO at N = 10,000 × M = 100,000 the whole run took 123 s spectral
    // (one band reduction) against 43 s matrix-free (the REML's traces by Lanczos quadrature: 17 passes); at
    // 5,000 × 100,000 (exact tests on the spectral route) 104 s against 27 s.
    assertEquals(SolverRoute.Route.MATRIX_FREE, SolverRoute.auto(assoc(10_000, 100_000, false)).route());
    assertEquals(SolverRoute.Route.MATRIX_FREE, SolverRoute.auto(assoc(5000, 100_000, false)).route());
    // Small cohorts (sample-data: 800 × 8,000) stay exact and spectral, LOCO or not: a pass's fixed cost decides.
    assertEquals(SolverRoute.Route.SPECTRAL, SolverRoute.auto(assoc(800, 8000, true)).route());
    assertEquals(SolverRoute.Route.SPECTRAL, SolverRoute.auto(assoc(800, 8000, false)).route());
    // N = 100,000 × M = 50,000 end to end: matrix-free measured 184.8 s idle (docs/benchmarks.md, 2026-12-03; 727 s
    // the day before, with a CG solve of every probe at every θ); the model predicts within 50 %.
    SolverRoute.Costs big = SolverRoute.costs(assoc(100_000, 50_000, true));
    assertTrue(big.matrixFreeSeconds() > 184.8 / 1.5 && big.matrixFreeSeconds() < 184.8 * 1.5, big.toString());
  }

  @Test
  void hardRulesComeBeforeTheCosts() {
    // The dense GRM (24 N² bytes) does not fit 70 % of the heap: matrix-free whatever the costs.
    SolverRoute.Decision heap = SolverRoute.auto(new SolverRoute.Request(20_000, 1000, 22, 1, 1, false, true, false, false,
        null, 2, 2, 4L << 30, SolverRoute.COST_MODEL));
    assertEquals(SolverRoute.Route.MATRIX_FREE, heap.route());
    assertTrue(heap.why().contains("does not fit"), heap.why());
    // A GRM given, or a test only the spectral route computes: spectral even where matrix-free is cheaper.
    SolverRoute.Request big = assoc(5000, 100_000, true);
    SolverRoute.Request grm = new SolverRoute.Request(5000, 100_000, 22, 1, 1, true, true, false, true, null, 2, 2, HEAP,
        SolverRoute.COST_MODEL);
    assertEquals(SolverRoute.Route.SPECTRAL, SolverRoute.auto(grm).route());
    SolverRoute.Request wald = new SolverRoute.Request(5000, 100_000, 22, 1, 1, true, true, true, false, "--test wald …",
        2, 2, HEAP, SolverRoute.COST_MODEL);
    assertTrue(SolverRoute.auto(wald).why().startsWith("route: spectral (--test wald"), SolverRoute.auto(wald).why());
    // --matrix-free-above replaces the model.
    SolverRoute.Request threshold = new SolverRoute.Request(5000, 100_000, 22, 1, 1, true, true, false, false, null, 2, 2,
        HEAP, 20_000);
    assertEquals(SolverRoute.Route.SPECTRAL, SolverRoute.auto(threshold).route());
    assertTrue(SolverRoute.auto(threshold).why().contains("--matrix-free-above 20000"));
    // Asked for: as asked, with the predictions.
    assertEquals(SolverRoute.Route.SPECTRAL, SolverRoute.choose(SolverRoute.Route.SPECTRAL, big).route());
    assertTrue(SolverRoute.choose(SolverRoute.Route.SPECTRAL, big).why().startsWith("route: spectral (--solver spectral"));
  }

  @Test
  void costsGrowAsTheirOrders() {
    // Spectral null: O(N³) per chromosome; matrix-free: O(N·M) per pass with a fixed pass cost.
    SolverRoute.Costs a = SolverRoute.costs(new SolverRoute.Request(10_000, 10_000, 22, 1, 1, true, false, false, true,
        null, 1, 1, HEAP, SolverRoute.COST_MODEL));
    SolverRoute.Costs b = SolverRoute.costs(new SolverRoute.Request(20_000, 10_000, 22, 1, 1, true, false, false, true,
        null, 1, 1, HEAP, SolverRoute.COST_MODEL));
    assertTrue(b.spectralSeconds() / a.spectralSeconds() > 6 && b.spectralSeconds() / a.spectralSeconds() <= 8, a + " " + b);
    // More driver cores make the spectral route cheaper; more cluster cores the matrix-free one.
    SolverRoute.Costs more = SolverRoute.costs(new SolverRoute.Request(10_000, 10_000, 22, 1, 1, true, false, false, true,
        null, 4, 8, HEAP, SolverRoute.COST_MODEL));
    assertTrue(more.spectralSeconds() < a.spectralSeconds() && more.matrixFreeSeconds() < a.matrixFreeSeconds());
  }
}
