package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.model.MixedModelFitter.Method;

/**
 * The work {@code fit} puts on a second thread when the driver has one ({@link SideTask}: Z of the model frame,
 * half of the cAIC's level blocks, diag(P) and the trace products) gives the same bits as one thread:
 * the same operations on the same values in the same order, so equality here is exact, not a tolerance.
 * The shared paths are forced (the driver-thread rule that chooses them in a real run is tested apart), on a model
 * with more blocks than {@link LevelBlocks#MIN_BLOCKS_TO_SHARE}, a residual variance per group and weights.
 */
class TwoThreadFitTest {

  /** {@link FitRoutesTest}'s simulated data with 150 subjects (6 records each): 150 blocks. */
  static DataTable simulate(long seed) {
    return FitRoutesTest.simulate(seed, 150);
  }

  private static final ModelFrame.Options OPTIONS = new ModelFrame.Options(Map.of(), Set.of(), "env", "w", Map.of());
  private static final Formula FORMULA = Formula.parse("y ~ t + (1 + t | subject)");

  @Test
  void modelFrameIsTheSameWithZOnASecondThread() {
    MixedModel one = ModelFrame.build(simulate(3), FORMULA, OPTIONS);
    LongAdder side = new LongAdder();
    MixedModel two = ModelFrame.buildOnTwoThreads(simulate(3), FORMULA, OPTIONS, side);
    assertTrue(side.sum() > 0, "the side thread did Z");
    assertArrayEquals(one.y(), two.y());
    assertArrayEquals(one.x(), two.x());
    assertArrayEquals(one.weights(), two.weights());
    assertArrayEquals(one.residualGroup(), two.residualGroup());
    assertEquals(one.notes(), two.notes(), "notes in the same order");
    assertEquals(one.terms().size(), two.terms().size());
    for (int t = 0; t < one.terms().size(); t++) {
      RandomEffectTerm a = one.terms().get(t);
      RandomEffectTerm b = two.terms().get(t);
      assertArrayEquals(a.level(), b.level());
      assertEquals(a.levelNames(), b.levelNames());
      assertEquals(a.z().length, b.z().length);
      for (int e = 0; e < a.z().length; e++) {
        assertArrayEquals(a.z()[e], b.z()[e]);
      }
    }
  }

  @Test
  void errorsComeInTheSameOrder() {
    // Both the response (text) and the slope (text) are wrong: one thread reports the response first.
    List<String[]> rows = List.of(new String[] {"a", "x", "1"}, new String[] {"b", "x", "2"},
        new String[] {"a", "x", "3"}, new String[] {"b", "y", "4"});
    DataTable table = DataTable.of("bad", List.of("g", "t", "y"), rows);
    Formula f = Formula.parse("t ~ 1 + (y + t | g)");
    String one = assertThrows(BadInputException.class, () -> ModelFrame.build(table, f, ModelFrame.Options.defaults()))
        .getMessage();
    String two = assertThrows(BadInputException.class, () -> ModelFrame.buildOnTwoThreads(table, f,
        ModelFrame.Options.defaults(), new LongAdder())).getMessage();
    assertEquals(one, two);
    assertTrue(one.contains("response"), one);
  }

  @Test
  void conditionalAicIsTheSameOnTwoThreads() {
    MixedModel model = ModelFrame.build(simulate(5), FORMULA, OPTIONS);
    boolean[] none = new boolean[model.parameters()];
    for (Method method : Method.values()) {
      double[] theta = MixedModelFitter.fit(model, method, Map.of(), MixedModelFitter.DEFAULT_MAX_ITERATIONS).theta();
      boolean reml = method == Method.REML;
      LevelBlocks oneThread = LevelBlocks.of(model, theta, reml);
      LongAdder side = new LongAdder();
      LevelBlocks twoThreads = LevelBlocks.of(model, theta, reml, side);
      assertNotNull(oneThread);
      assertNotNull(twoThreads);
      assertTrue(model.blocks().length >= LevelBlocks.MIN_BLOCKS_TO_SHARE);
      assertArrayEquals(oneThread.py(), twoThreads.py(), method + " Py");
      assertArrayEquals(oneThread.diagonalP(), twoThreads.diagonalP(), method + " diag(P)");
      ConditionalAic a = ConditionalAic.compute(model, oneThread, theta, none, none);
      ConditionalAic b = ConditionalAic.compute(model, twoThreads, theta, none, none, side);
      assertTrue(side.sum() > 0, "the side threads did work");
      assertEquals(a.caic(), b.caic(), 0.0, method + " cAIC");
      assertEquals(a.df(), b.df(), 0.0, method + " df");
      assertEquals(a.conditionalLogLik(), b.conditionalLogLik(), 0.0, method + " conditional logLik");
    }
  }

  /**
   * The side tasks run when the driver has a second thread by {@link org.lmmspark.engine.linalg.Blas#driverThreads()}
   * (settings, not the load of the moment); {@code -Dlmmspark.fit.threads} still overrides it either way.
   */
  @Test
  void sideTasksFollowTheDriverThreadRule() {
    String fitBefore = System.getProperty(SideTask.THREADS_PROPERTY);
    String driverBefore = System.getProperty("lmmspark.driver.threads");
    try {
      System.clearProperty(SideTask.THREADS_PROPERTY);
      System.setProperty("lmmspark.driver.threads", "1");
      assertTrue(!SideTask.secondCoreFree(), "one driver thread: no side task");
      System.setProperty("lmmspark.driver.threads", "2");
      assertTrue(SideTask.secondCoreFree(), "two driver threads: side tasks");
      System.setProperty(SideTask.THREADS_PROPERTY, "1");
      assertTrue(!SideTask.secondCoreFree(), "-Dlmmspark.fit.threads=1 wins");
      System.setProperty("lmmspark.driver.threads", "1");
      System.setProperty(SideTask.THREADS_PROPERTY, "2");
      assertTrue(SideTask.secondCoreFree(), "-Dlmmspark.fit.threads=2 wins");
    } finally {
      restore(SideTask.THREADS_PROPERTY, fitBefore);
      restore("lmmspark.driver.threads", driverBefore);
    }
  }

  private static void restore(String property, String value) {
    if (value == null) {
      System.clearProperty(property);
    } else {
      System.setProperty(property, value);
    }
  }
}
