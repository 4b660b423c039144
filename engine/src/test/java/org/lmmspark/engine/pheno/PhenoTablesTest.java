package org.lmmspark.engine.pheno;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.StringReader;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;

class PhenoTablesTest {
  static SampleTable table(String name, String text) throws Exception {
    return SampleTable.parse(name, new BufferedReader(new StringReader(text)));
  }

  @Test
  void parsesWhitespaceTabsAndMissing() throws Exception {
    SampleTable t = table("p.txt", "FID IID Y1\tY2\nf1 i1 1.5 NA\nf2\ti2 -9 2\n\nf3 i3 NaN 3e-1\n");
    assertEquals(List.of("Y1", "Y2"), t.columns());
    assertEquals(3, t.size());
    double[] y1 = t.numeric(0);
    assertEquals(1.5, y1[0]);
    assertTrue(Double.isNaN(y1[1]) && Double.isNaN(y1[2]));
    assertArrayEquals(new double[] {Double.NaN, 2, 0.3}, t.numeric(1));
  }

  @Test
  void badTablesNameFileLineAndColumn() {
    BadInputException e = assertThrows(BadInputException.class, () -> table("p.txt", "FID IID Y\na b 1\nc d\n"));
    assertTrue(e.getMessage().startsWith("p.txt:3: expected 3 fields"), e.getMessage());
    e = assertThrows(BadInputException.class, () -> table("p.txt", "FID IID Y\na b 1\na b 2\n"));
    assertTrue(e.getMessage().contains("p.txt:3") && e.getMessage().contains("listed twice (first at line 2)"), e.getMessage());
    e = assertThrows(BadInputException.class, () -> table("p.txt", "FID IID Y\na b 1\nc d x1\n").numeric(0));
    assertTrue(e.getMessage().startsWith("p.txt:3: column 'Y': 'x1' is not a number"), e.getMessage());
    e = assertThrows(BadInputException.class, () -> table("p.txt", "ID Y\n"));
    assertTrue(e.getMessage().contains("FID IID"), e.getMessage());
  }

  @Test
  void intersectionKeepsFirstInputOrderAndCountsDrops() {
    SampleId a = new SampleId("f", "a");
    SampleId b = new SampleId("f", "b");
    SampleId c = new SampleId("f", "c");
    SampleId d = new SampleId("f", "d");
    SampleMatch m = SampleMatch.intersect(List.of(
        new SampleMatch.Input("pheno", List.of(d, c, b, a), new boolean[] {true, false, true, true}, "missing phenotype"),
        new SampleMatch.Input("grm", List.of(a, b, c), null, null)));
    assertEquals(List.of(b, a), m.samples());
    assertArrayEquals(new int[] {2, 3}, m.rowsIn(0));
    assertArrayEquals(new int[] {1, 0}, m.rowsIn(1));
    assertEquals(2, m.droppedCount(0));
    assertEquals(1, m.droppedFrom(0).get("absent from grm"));
    assertEquals(1, m.droppedFrom(0).get("missing phenotype in pheno"));
    assertEquals(1, m.droppedFrom(1).get("missing phenotype in pheno"));
    int[] count = new int[1];
    assertEquals(List.of(d), m.absentFrom(1, 5, count));
    assertEquals(1, count[0]);
  }

  @Test
  void categoricalExpandsDroppingTheFirstLevel() {
    double[] y = {1, 2, 3, 4, 5, 6};
    Design d = Design.build("Y", y, List.of(), List.of(new Design.Categorical("site", new String[] {"10", "9", "9", "10", "2", "2"})));
    // Levels sorted numerically: 2, 9, 10; the first (2) is the baseline.
    assertEquals(List.of("intercept", "site=9", "site=10"), d.columnNames());
    assertArrayEquals(new double[] {0, 1, 1, 0, 0, 0}, java.util.Arrays.copyOfRange(d.x(), 6, 12));
  }

  @Test
  void constantPhenotypeAndCollinearColumnsAreNamed() {
    BadInputException e = assertThrows(BadInputException.class,
        () -> Design.build("Y1", new double[] {2, 2, 2, 2}, List.of(), List.of()));
    assertTrue(e.getMessage().contains("phenotype 'Y1' is constant"), e.getMessage());
    double[] y = {1, 3, 2, 5, 4, 7};
    double[] v1 = {1, 2, 3, 4, 5, 6};
    double[] v2 = {0, 1, 0, 1, 0, 1};
    double[] v3 = new double[6];
    for (int i = 0; i < 6; i++) {
      v3[i] = 2 * v1[i] - v2[i] + 1;
    }
    e = assertThrows(BadInputException.class, () -> Design.build("Y", y, List.of(new Design.Quantitative("V1", v1),
        new Design.Quantitative("V2", v2), new Design.Quantitative("V3", v3)), List.of()));
    assertEquals("collinear covariates: column 'V3' is a linear combination of 'intercept', 'V1', 'V2' over the "
        + "analysed samples; remove one of these columns", e.getMessage());
    e = assertThrows(BadInputException.class, () -> Design.build("Y", new double[] {1, 2, 3}, List.of(
        new Design.Quantitative("V1", new double[] {1, 2, 4}), new Design.Quantitative("V2", new double[] {0, 1, 0})),
        List.of()));
    assertTrue(e.getMessage().contains("fewer samples than parameters"), e.getMessage());
  }

  /**
   * A quantitative table given by --covar (categorical, as GCTA's) makes a level per sample: the message names the
   * covariate and its level count, not the ~n indicator columns,, and points to --qcovar.
   */
  @Test
  void numericColumnReadAsCategoricalIsNamedBriefly() {
    int n = 200;
    double[] y = new double[n];
    String[] v1 = new String[n];
    for (int i = 0; i < n; i++) {
      y[i] = i % 7;
      v1[i] = Double.toString(0.37 * i - 11.3);
    }
    BadInputException e = assertThrows(BadInputException.class,
        () -> Design.build("Y", y, List.of(), List.of(new Design.Categorical("V1", v1))));
    assertEquals("only 200 analysed samples for 200 fixed-effect columns (intercept, 0 quantitative; categorical "
        + "[V1: 200 levels]): fewer samples than parameters; categorical covariate 'V1' has 200 levels over 200 samples, "
        + "all numbers — if it is quantitative, give its table by --qcovar (as GCTA's, --covar is for categorical "
        + "covariates)",
        e.getMessage());
  }
}
