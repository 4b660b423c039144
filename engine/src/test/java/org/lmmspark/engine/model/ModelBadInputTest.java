package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.BadInputException;

/** Bad formulas and bad model frames: one clear message each, naming the token, column or factor. */
class ModelBadInputTest {

  static void assertFormulaError(String formula, String... parts) {
    BadInputException e = assertThrows(BadInputException.class, () -> Formula.parse(formula));
    for (String p : parts) {
      assertTrue(e.getMessage().contains(p), "'" + e.getMessage() + "' should contain '" + p + "'");
    }
  }

  @Test
  void formulaErrorsPointAtTheToken() {
    assertFormulaError("y ~ x +", "expected a variable", "at the end");
    assertFormulaError("y ~ x + (1 | g", "expected ')'", "column 9");
    assertFormulaError("y ~ poly(x, 2)", "function 'poly()' is not supported", "column 5");
    assertFormulaError("y ~ x^2", "'^' is not supported", "column 6");
    assertFormulaError("y ~ x + (1 | )", "expected a grouping factor after '|'", "column 14");
    assertFormulaError("y ~ I(x)", "'I()'");
    assertFormulaError("y x", "expected '~'", "column 3");
    assertFormulaError("y ~ x + (factor(f) | g)", "factor slopes are not supported");
    assertFormulaError("y ~ x - z", "only '- 1'");
    assertFormulaError("y ~ x + $", "unexpected character '$' at column 9");
  }

  @Test
  void formulaExpansion() {
    Formula f = Formula.parse("y ~ a*b + c:d + 0 + (1 + t || g) + (1 | g1/g2)");
    assertEquals(false, f.intercept());
    assertEquals(4, f.fixedTerms().size(), "a, b, a:b, c:d");
    assertEquals(4, f.randomTerms().size(), "(1|g), (0+t|g), (1|g1), (1|g1:g2)");
    assertEquals("g1:g2", f.randomTerms().get(3).groupName());
  }

  static DataTable table() {
    List<String[]> rows = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      rows.add(new String[] {Double.toString(i * 0.7 + (i % 3)), Integer.toString(i % 4), "s" + (i % 3), "one",
          "r" + i, i % 2 == 0 ? "lo" : "hi"});
    }
    return DataTable.of("t.csv", List.of("y", "x", "g", "one", "rec", "txt"), rows);
  }

  static BadInputException frameError(String formula) {
    return assertThrows(BadInputException.class,
        () -> ModelFrame.build(table(), Formula.parse(formula), ModelFrame.Options.defaults()));
  }

  @Test
  void frameChecks() {
    assertTrue(frameError("y ~ x + (txt | g)").getMessage().contains("random slope 'txt'"), "text slope");
    assertTrue(frameError("y ~ x + (1 | one)").getMessage().contains("single level"), "one level");
    assertTrue(frameError("y ~ x + (1 | rec)").getMessage().contains("as many levels as records"), "n levels");
    assertTrue(frameError("y ~ x + (1 | nope)").getMessage().contains("no column 'nope'"), "missing column");
    assertTrue(frameError("y ~ x").getMessage().contains("no random term"), "no random term");
    DataTable five = DataTable.of("five.csv", List.of("y", "x", "g", "h"), List.of(new String[] {"1", "0", "a", "c"},
        new String[] {"2", "1", "a", "d"}, new String[] {"4", "2", "b", "c"}, new String[] {"3", "3", "b", "d"},
        new String[] {"5", "5", "b", "c"}));
    BadInputException tooMany = assertThrows(BadInputException.class, () -> ModelFrame.build(five,
        Formula.parse("y ~ x + (1 | g) + (1 | h)"), ModelFrame.Options.defaults()));
    assertTrue(tooMany.getMessage().contains("only 5 records for 5 parameters"), tooMany.getMessage());
    assertTrue(frameError("y ~ x + x:one + (1 | g)").getMessage().contains("single level"), "one-level fixed factor");
    BadInputException ref = assertThrows(BadInputException.class, () -> ModelFrame.build(table(),
        Formula.parse("y ~ txt + (1 | g)"), new ModelFrame.Options(Map.of("txt", "mid"), Set.of(), null, null,
            Map.of())));
    assertTrue(ref.getMessage().contains("'mid' is not a level of txt"), ref.getMessage());
  }

  @Test
  void treatmentContrastsWithTheSortedReferenceOrTheGivenOne() {
    MixedModel m = ModelFrame.build(table(), Formula.parse("y ~ txt + (1 | g)"), ModelFrame.Options.defaults());
    assertEquals(List.of("(Intercept)", "txtlo"), m.fixedNames(), "R sorts the levels: reference hi");
  }

  @Test
  void oneHugeBlockIsRefusedWithTheReason() {
    // 200,000 records in one block (e.g. crossed factors): 8·(3 + 4)·200,000² bytes, far beyond any test heap.
    BadInputException e = assertThrows(BadInputException.class,
        () -> MixedModelFitter.checkMemory(new int[][] {new int[200_000]}, 3));
    assertTrue(e.getMessage().contains("largest of 200000 records") && e.getMessage().contains("sparse"),
        e.getMessage());
  }
}
