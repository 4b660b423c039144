package org.lmmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.RefData;

/**
 * Runs {@code lmmspark fit} and {@code lmmspark lrt} end to end on {@code refdata/lme4-sleepstudy}
 * (values from its EXPECTED.md: lme4 1.1-31, cAIC4 1.0) and checks that bad input leaves no output.
 */
class FitCommandTest {

  @Test
  void fitsSleepstudyAndComparesByLrt(@TempDir Path tmp) throws IOException {
    Path dir = RefData.dir("lme4-sleepstudy");
    String data = dir.resolve("sleepstudy.csv").toString();
    String big = tmp.resolve("slopes").toString();
    String small = tmp.resolve("intercept").toString();
    assertEquals(0, Lmmspark.run("fit", "--data", data, "--formula", "Reaction ~ Days + (Days | Subject)", "--out",
        big));
    JsonNode fit = new ObjectMapper().readTree(Files.readString(Path.of(big + ".json")));
    // REML criterion 1743.628272; cAIC 1711.617742 (df 31.30197993); fixef 251.40510485 10.46728596
    assertClose(fit.get("reml_criterion").asDouble(), 1743.628272, 0, 1e-5, "REML criterion");
    assertClose(fit.get("conditional_aic").get("caic").asDouble(), 1711.617742, 0, 1e-5, "cAIC");
    assertClose(fit.get("fixed_effects").get(1).get("estimate").asDouble(), 10.46728596, 0, 1e-5, "Days");
    assertTrue(fit.get("converged").asBoolean());
    String summary = Files.readString(Path.of(big + ".summary.txt"));
    assertTrue(summary.contains("Random effects:") && summary.contains("Subject") && summary.contains("Residual"),
        summary);
    assertTrue(Files.readString(Path.of(big + ".ranef.tsv")).lines().count() == 1 + 18 * 2, "18 subjects × 2 effects");

    // anova of the ML refits: Chisq 42.1393 on 2 df, p 7.0724e-10
    assertEquals(0, Lmmspark.run("fit", "--data", data, "--formula", "Reaction ~ Days + (Days | Subject)",
        "--method", "ml", "--out", big + "_ml"));
    assertEquals(0, Lmmspark.run("fit", "--data", data, "--formula", "Reaction ~ Days + (1 | Subject)",
        "--method", "ml", "--out", small + "_ml"));
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      assertEquals(0, Lmmspark.run("lrt", small + "_ml.json", big + "_ml.json"));
    } finally {
      System.setOut(old);
    }
    String out = buf.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("Chisq 42.139") && out.contains("on 2 df"), out);
    assertTrue(out.contains("p = 7.072"), out);
  }

  @Test
  void badInputExitsWithTwoAndWritesNothing(@TempDir Path tmp) throws IOException {
    Path dir = RefData.dir("lme4-sleepstudy");
    String data = dir.resolve("sleepstudy.csv").toString();
    String prefix = tmp.resolve("bad").toString();
    // Formula error (missing grouping factor), a slope that is not numeric, a one-level factor.
    assertEquals(2, Lmmspark.run("fit", "--data", data, "--formula", "Reaction ~ Days + (Days | )", "--out", prefix));
    assertEquals(2, Lmmspark.run("fit", "--data", data, "--formula", "Reaction ~ Days + (Subject | Days)", "--out",
        prefix, "--factor", "Subject"));
    assertEquals(2, Lmmspark.run("fit", "--data", data, "--formula", "Reaction ~ Days + (1 | Subject)", "--fix",
        "nope=1", "--out", prefix));
    assertFalse(Files.exists(Path.of(prefix + ".json")));
    // No convergence in 2 iterations (both EM steps: the uncorrelated model has two terms, so no moment start
    // — the correlated one starts at its optimum on these balanced data): the log says why, no results.
    assertEquals(2, Lmmspark.run("fit", "--data", data, "--formula", "Reaction ~ Days + (Days || Subject)",
        "--max-iterations", "2", "--out", prefix));
    assertFalse(Files.exists(Path.of(prefix + ".json")));
    assertTrue(Files.readString(Path.of(prefix + ".log")).contains("did not converge"));
  }
}
