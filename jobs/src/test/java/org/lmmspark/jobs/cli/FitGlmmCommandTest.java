package org.lmmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.jobs.testing.LmmsparkCli;

/**
 * {@code lmmspark fit --family} end to end: the Laplace and PQL fits of {@code mass-bacteria-binary}
 * (values from its EXPECTED.md: glmer A and glmmPQL D; and the probit Laplace fit against glmer's), a Poisson fit with an offset written two ways
 * (a cbind() binomial and its bad inputs), each bad input exit 2 with nothing written.
 */
class FitGlmmCommandTest {

  @Test
  void bacteriaByLaplaceAndPql(@TempDir Path tmp) throws IOException {
    String data = RefData.dir("mass-bacteria-binary").resolve("bacteria.csv").toString();
    String out = tmp.resolve("lap").toString();
    assertEquals(0, Lmmspark.run("fit", "--data", data, "--formula", "y ~ trt + week_gt2 + (1 | ID)", "--family",
        "binomial", "--ref-level", "trt=placebo", "--out", out));
    JsonNode lap = new ObjectMapper().readTree(Files.readString(Path.of(out + ".json")));
    assertEquals("laplace", lap.get("method").asText());
    // glmer: logLik −96.130686818, AIC 202.261373636, var ID 1.54359487085.
    assertClose(lap.get("logLik").asDouble(), -96.130686818, 1e-6, 0, "logLik");
    assertClose(lap.get("AIC").asDouble(), 202.261373636, 1e-6, 0, "AIC");
    assertClose(lap.get("random").get(0).get("value").asDouble(), 1.54359487085, 0, 1e-5, "var ID");
    // Latent share with the logistic's π²/3.
    double v = 1.54359487085;
    assertClose(lap.get("random").get(0).get("latent_share").asDouble(), v / (v + Math.PI * Math.PI / 3), 0, 1e-5,
        "latent share");
    assertTrue(Files.readString(Path.of(out + ".summary.txt")).contains("Laplace Approximation"));
    // PLINK's 1/2 coding of the same trait gives the same fit, and the log says it was recoded.
    Path plink = tmp.resolve("bacteria12.csv");
    List<String> lines = Files.readAllLines(Path.of(data));
    StringBuilder recoded = new StringBuilder(lines.get(0)).append('\n');
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split(",", -1);
      f[1] = String.valueOf(Integer.parseInt(f[1]) + 1);
      recoded.append(String.join(",", f)).append('\n');
    }
    Files.writeString(plink, recoded.toString());
    String out12 = tmp.resolve("lap12").toString();
    assertEquals(0, Lmmspark.run("fit", "--data", plink.toString(), "--formula", "y ~ trt + week_gt2 + (1 | ID)",
        "--family", "binomial", "--ref-level", "trt=placebo", "--out", out12));
    JsonNode lap12 = new ObjectMapper().readTree(Files.readString(Path.of(out12 + ".json")));
    assertClose(lap12.get("logLik").asDouble(), -96.130686818, 1e-6, 0, "logLik, 1/2 coding");
    assertTrue(Files.readString(Path.of(out12 + ".log")).contains("recoded to 0/1"));

    String pql = tmp.resolve("pql").toString();
    assertEquals(0, Lmmspark.run("fit", "--data", data, "--formula", "y ~ trt + week_gt2 + (1 | ID)", "--family",
        "binomial", "--ref-level", "trt=placebo", "--glmm", "pql", "--method", "ml", "--dispersion", "estimated",
        "--out", pql));
    JsonNode p = new ObjectMapper().readTree(Files.readString(Path.of(pql + ".json")));
    // glmmPQL, fixed point (E): β(Intercept) 3.4122688293, var ID 1.99099156249, dispersion 0.608475456064.
    assertClose(p.get("fixed").get(0).get("estimate").asDouble(), 3.4122688293, 0, 1e-5, "PQL intercept");
    assertClose(p.get("random").get(0).get("value").asDouble(), 1.99099156249, 0, 1e-4, "PQL var ID");
    assertClose(p.get("dispersion").asDouble(), 0.608475456064, 0, 1e-4, "PQL dispersion");

    // --link probit end to end against glmer(family = binomial(link = "probit")) (the R command and all values in
    // engine's ProbitGlmmTest): logLik −96.4721083574, var ID 0.462598253635, latent share with the probit's 1.
    String probit = tmp.resolve("probit").toString();
    assertEquals(0, Lmmspark.run("fit", "--data", data, "--formula", "y ~ trt + week_gt2 + (1 | ID)", "--family",
        "binomial", "--link", "probit", "--ref-level", "trt=placebo", "--out", probit));
    JsonNode pr = new ObjectMapper().readTree(Files.readString(Path.of(probit + ".json")));
    assertEquals("laplace", pr.get("method").asText());
    assertClose(pr.get("logLik").asDouble(), -96.4721083574, 1e-6, 0, "probit logLik");
    assertClose(pr.get("fixed").get(0).get("estimate").asDouble(), 2.02984320477, 0, 1e-5, "probit intercept");
    double vp = 0.462598253635;
    assertClose(pr.get("random").get(0).get("value").asDouble(), vp, 0, 1e-5, "probit var ID");
    assertClose(pr.get("random").get(0).get("latent_share").asDouble(), vp / (vp + 1), 0, 1e-5, "probit latent share");
  }

  @Test
  void cbindResponseAndOffsetAndBadInput(@TempDir Path tmp) throws IOException {
    // Grouped binomial data: successes out of trials per record, and a Poisson count with exposure.
    Path data = tmp.resolve("counts.csv");
    StringBuilder sb = new StringBuilder("g,x,s,f,count,exposure,bad\n");
    java.util.SplittableRandom r = new java.util.SplittableRandom(1);
    for (int i = 0; i < 300; i++) {
      int g = i % 30;
      double x = r.nextGaussian();
      int trials = 5 + r.nextInt(5);
      int s = 0;
      for (int t = 0; t < trials; t++) {
        s += r.nextDouble() < 1 / (1 + Math.exp(-(0.3 * x + 0.2 * ((g % 5) - 2)))) ? 1 : 0;
      }
      double exposure = 1 + r.nextInt(4);
      int count = 0;
      double lambda = exposure * Math.exp(0.5 + 0.3 * x);
      for (double acc = -Math.log(r.nextDouble()); acc < lambda; acc += -Math.log(r.nextDouble())) {
        count++;
      }
      sb.append(g).append(',').append(x).append(',').append(s).append(',').append(trials - s).append(',')
          .append(count).append(',').append(exposure).append(',').append(i == 7 ? -1 : count).append('\n');
    }
    Files.writeString(data, sb.toString());
    String out = tmp.resolve("b").toString();
    assertEquals(0, Lmmspark.run("fit", "--data", data.toString(), "--formula", "cbind(s, f) ~ x + (1 | g)",
        "--family", "binomial", "--out", out));
    JsonNode b = new ObjectMapper().readTree(Files.readString(Path.of(out + ".json")));
    assertClose(b.get("fixed").get(1).get("estimate").asDouble(), 0.3, 0.15, 0, "slope of x (simulated 0.3)");
    String po = tmp.resolve("p").toString();
    assertEquals(0, Lmmspark.run("fit", "--data", data.toString(), "--formula",
        "count ~ x + offset(log(exposure)) + (1 | g)", "--family", "poisson", "--out", po));
    JsonNode p = new ObjectMapper().readTree(Files.readString(Path.of(po + ".json")));
    assertClose(p.get("fixed").get(0).get("estimate").asDouble(), 0.5, 0.1, 0, "intercept with the offset (0.5)");

    String bad = tmp.resolve("bad").toString();
    for (List<String> args : List.of(
        List.of("--formula", "count ~ x + (1 | g)", "--family", "binomial"),        // counts are not 0/1
        List.of("--formula", "bad ~ x + (1 | g)", "--family", "poisson"),           // a negative count
        List.of("--formula", "x ~ s + (1 | g)", "--family", "poisson"),             // not integers
        List.of("--formula", "count ~ x + (1 | g)", "--family", "gamma"),           // unknown family
        List.of("--formula", "cbind(s, f) ~ x + (1 | g)"),                          // cbind for a gaussian fit
        List.of("--formula", "cbind(s, f) ~ x + (1 + x | g)", "--family", "binomial", "--glmm", "laplace"))) {
      List<String> all = new java.util.ArrayList<>(List.of("fit", "--data", data.toString(), "--out", bad));
      all.addAll(args);
      assertEquals(2, Lmmspark.run(all.toArray(new String[0])), String.join(" ", args));
      assertFalse(Files.exists(Path.of(bad + ".json")), String.join(" ", args));
    }
  }

  /**
   * A response the family cannot take is named by the table's file line, on both routes and for both
   * families: the data's third record has no x (dropped), so the bad value's file line is not its record
   * number among the analysed ones.
   */
  @Test
  void badResponseNamesTheFileLine(@TempDir Path tmp) throws IOException {
    Path data = tmp.resolve("resp.csv");
    StringBuilder sb = new StringBuilder("g,x,y,count\n");
    for (int i = 0; i < 40; i++) {
      String x = i == 2 ? "NA" : Double.toString((i % 7) - 3.0);
      String y = i == 10 ? "2" : Integer.toString((i * 7 / 3) % 2);
      String count = i == 20 ? "-4" : Integer.toString(i % 5);
      sb.append("g").append(i % 8).append(',').append(x).append(',').append(y).append(',').append(count).append('\n');
    }
    Files.writeString(data, sb.toString());
    String out = tmp.resolve("r").toString();
    // Record i of the file is on line i + 2 (the header is line 1).
    for (List<String> args : List.of(
        List.of("--formula", "y ~ x + (1 | g)", "--family", "binomial", "--glmm", "laplace"),
        List.of("--formula", "y ~ x + (1 | g)", "--family", "binomial", "--glmm", "pql"))) {
      String message = errorOf(data, out, args);
      assertTrue(message.startsWith("lmmspark: error: " + data + ":12: successes 2.0 exceed the trials 1.0"), message);
    }
    String message = errorOf(data, out, List.of("--formula", "count ~ x + (1 | g)", "--family", "poisson"));
    assertTrue(message.startsWith("lmmspark: error: " + data + ":22: response -4.0 is not a non-negative integer"),
        message);
    assertFalse(Files.exists(Path.of(out + ".json")));
  }

  /** The one error line of a {@code fit} that must fail with exit code 2. */
  private static String errorOf(Path data, String out, List<String> args) {
    List<String> all = new java.util.ArrayList<>(List.of("fit", "--data", data.toString(), "--out", out));
    all.addAll(args);
    String err = LmmsparkCli.run(2, all.toArray(new String[0]));
    return err.lines().filter(l -> l.startsWith("lmmspark:")).findFirst().orElse(err);
  }

  @Test
  void completeSeparationIsAClearError(@TempDir Path tmp) throws IOException {
    Path data = tmp.resolve("sep.csv");
    StringBuilder sb = new StringBuilder("g,x,y\n");
    for (int i = 0; i < 60; i++) {
      double x = i - 29.5;
      sb.append(i % 6).append(',').append(x).append(',').append(x > 0 ? 1 : 0).append('\n');
    }
    Files.writeString(data, sb.toString());
    String out = tmp.resolve("sep").toString();
    assertEquals(2, Lmmspark.run("fit", "--data", data.toString(), "--formula", "y ~ x + (1 | g)", "--family",
        "binomial", "--out", out));
    assertFalse(Files.exists(Path.of(out + ".json")));
  }
}
