package org.lmmspark.jobs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.io.OutputSet;
import org.lmmspark.engine.model.LikelihoodRatioTest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lmmspark lrt A.json B.json}: likelihood-ratio test between two fits written by
 * {@code lmmspark fit}, as R's {@code anova(m0, m)}, with the 50:50 boundary mixture when the larger
 * model adds one variance ({@link LikelihoodRatioTest}).
 */
@Command(
    name = "lrt",
    mixinStandardHelpOptions = true,
    description = {
      "Likelihood-ratio test between two nested fits saved by 'lmmspark fit' (OUT.json): chi2 = 2(logLik1 - logLik0)"
          + " on the difference in estimated parameters, and when one variance is added the boundary p-value from"
          + " the 50:50 mixture of chi2(df-1) and chi2(df) (Self & Liang 1987). Both fits must use the same"
          + " method and records; REML fits also the same fixed effects.",
      "Prints the test; with --out PREFIX also writes PREFIX.lrt.txt (the same lines) and PREFIX.log.",
    })
public final class LrtCommand implements Callable<Integer> {
  @Parameters(arity = "2", paramLabel = "FIT.json", description = "The two fits (either order).")
  List<String> fits = new ArrayList<>();

  @Mixin OutputOptions.IfGiven output;

  @Spec CommandSpec spec;

  /** The files of one run with --out. */
  static final List<String> OUTPUTS = List.of(".lrt.txt", ".log");

  @Override
  public Integer call() {
    Configuration conf = new Configuration();
    try (OutputSet set = output.open(OUTPUTS, conf, fits.toArray(String[]::new))) {
      LikelihoodRatioTest t = LikelihoodRatioTest.compare(read(fits.get(0), conf), read(fits.get(1), conf));
      List<String> lines = List.of(
          String.format(Locale.ROOT, "smaller: %s", t.smaller()),
          String.format(Locale.ROOT, "larger:  %s", t.larger()),
          String.format(Locale.ROOT, "Chisq %.6f on %d df, p = %.6g (chi2_%d)%s", t.chiSquared(), t.df(), t.pValue(),
              t.df(), Double.isNaN(t.boundaryPValue()) ? ""
                  : String.format(Locale.ROOT, "; boundary p = %.6g", t.boundaryPValue())),
          t.note());
      if (set == null) {
        lines.forEach(System.out::println);
        return 0;
      }
      RunLog log = new RunLog(spec);
      lines.forEach(log::say);
      try (AtomicOutputs outs = new AtomicOutputs(conf)) {
        try (OutputStream os = outs.create(output.out() + ".lrt.txt")) {
          os.write((String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        outs.commit();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      log.write(output.out() + ".log", conf);
      set.commit();
    }
    return 0;
  }

  /**
   * The fields of a fit's JSON that the test needs, each checked for its type: a file that is not a fit written
   * by {@code lmmspark fit} (a field missing, a string where a number belongs, an array of something else) is
   * refused naming the file and the field, never read as 0 or an empty list.
   */
  static LikelihoodRatioTest.Model read(String path, Configuration conf) {
    JsonNode root;
    try (Reader r = FileSystems.openText(path, conf)) {
      root = new ObjectMapper().readTree(r);
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read as JSON: " + e.getMessage());
    }
    for (String field : List.of("formula", "method", "n", "logLik", "fixed_effects", "estimated_parameters",
        "converged")) {
      if (root == null || !root.has(field)) {
        throw BadInputException.inFile(path, "no '" + field + "': not a fit written by 'lmmspark fit'");
      }
    }
    if (!field(root, path, "converged", JsonNode::isBoolean, "true or false").asBoolean()) {
      throw BadInputException.inFile(path, "the fit did not converge: its logLik is not a maximum");
    }
    List<String> fixed = new ArrayList<>();
    for (JsonNode e : field(root, path, "fixed_effects", JsonNode::isArray, "a list")) {
      if (!e.path("name").isTextual()) {
        throw BadInputException.inFile(path, "'fixed_effects' has an entry without a 'name': not a fit written by"
            + " 'lmmspark fit'");
      }
      fixed.add(e.get("name").asText());
    }
    List<String> est = new ArrayList<>();
    for (JsonNode e : field(root, path, "estimated_parameters", JsonNode::isArray, "a list")) {
      if (!e.isTextual()) {
        throw BadInputException.inFile(path, "'estimated_parameters' holds " + BadInputException.excerpt(e.toString())
            + ", not a parameter name");
      }
      est.add(e.asText());
    }
    double logLik = field(root, path, "logLik", JsonNode::isNumber, "a number").asDouble();
    if (!Double.isFinite(logLik)) {
      throw BadInputException.inFile(path, "'logLik' is " + logLik + ", not a finite number");
    }
    int n = field(root, path, "n", v -> v.isIntegralNumber() && v.canConvertToInt(), "a whole number").asInt();
    if (n < 1) {
      throw BadInputException.inFile(path, "'n' is " + n + ", not a number of records");
    }
    return new LikelihoodRatioTest.Model(field(root, path, "formula", JsonNode::isTextual, "text").asText(),
        field(root, path, "method", JsonNode::isTextual, "text").asText(), n, logLik, fixed, est);
  }

  /** {@code root.get(name)}, refused naming the file and the field unless {@code is} holds ({@code what} says what it must be). */
  private static JsonNode field(JsonNode root, String path, String name, java.util.function.Predicate<JsonNode> is,
      String what) {
    JsonNode v = root.get(name);
    if (!is.test(v)) {
      throw BadInputException.inFile(path, "'" + name + "' is " + BadInputException.excerpt(v.toString()) + ", not "
          + what);
    }
    return v;
  }
}
