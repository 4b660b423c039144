package org.lmmspark.engine.reml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.BadInputException;

/** GCTA's {@code .hsq}: what the writer puts is what the reader gets, and GCTA's own three-column layout reads. */
class HsqFileTest {

  @Test
  void writtenFitReadsBackToItsPrintedDigits() {
    RemlProblem prob = SpectralVsDenseTest.problem(3, 1.0, 1.0);
    RemlFit fit = new SpectralReml().fit(prob);
    VarianceSummary s = new VarianceSummary(fit, prob.nullLogL(null), prob.n());
    String text = HsqFile.write(s);
    assertTrue(text.startsWith(HsqFile.HEADER + "\n"), text);
    Map<String, HsqFile.Row> rows = HsqFile.read(text, "fit.hsq");
    assertEquals(List.of("V(G)", "V(e)", "Vp", "V(G)/Vp", "logL", "logL0", "LRT", "df", "Pval", "n"),
        List.copyOf(rows.keySet()));
    // 6 significant digits are written (%.6g): 1e-5 relative.
    assertClose(rows.get("V(G)").value(), fit.theta()[0], 0, 1e-5, "V(G)");
    assertClose(rows.get("V(e)").se(), fit.se(1), 0, 1e-5, "SE V(e)");
    assertClose(rows.get("V(G)/Vp").value(), s.ratios().get(0).value(), 0, 1e-5, "h²");
    assertClose(rows.get("V(G)/Vp").seObserved(), s.observedRatioSe(0), 0, 1e-5, "observed-information SE of h²");
    assertClose(rows.get("logL").value(), s.logL(), 1e-3, 0, "logL (3 decimals)");
    assertEquals(prob.n(), (int) rows.get("n").value());
  }

  @Test
  void gctaThreeColumnLayoutReads() {
    // GCTA's layout (its documentation's example of --reml output, values as printed there).
    String gcta = "Source\tVariance\tSE\nV(G)\t0.017677\t0.003274\nV(e)\t0.046563\t0.003013\n"
        + "Vp\t0.064240\t0.001487\nV(G)/Vp\t0.275169\t0.048936\nlogL\t-945.271\nlogL0\t-960.004\nLRT\t29.465\n"
        + "df\t1\nPval\t2.8508e-08\nn\t3925\n";
    Map<String, HsqFile.Row> rows = HsqFile.read(gcta, "gcta.hsq");
    assertEquals(0.275169, rows.get("V(G)/Vp").value());
    assertEquals(0.048936, rows.get("V(G)/Vp").se());
    assertTrue(Double.isNaN(rows.get("V(G)/Vp").seObserved()), "no fourth column in GCTA's file");
    assertEquals(2.8508e-08, rows.get("Pval").value());
  }

  @Test
  void badTextNamesFileAndLine() {
    BadInputException e = assertThrows(BadInputException.class,
        () -> HsqFile.read("Source\tVariance\tSE\nV(G)\tabc\t0.1\n", "x.hsq"));
    assertTrue(e.getMessage().contains("x.hsq") && e.getMessage().contains("2"), e.getMessage());
    assertThrows(BadInputException.class, () -> HsqFile.read("V(G)\t1\n", "y.hsq"));
  }
}
