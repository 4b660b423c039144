package org.lmmspark.engine.reml;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.NumberText;
import org.lmmspark.engine.stats.ChiSquared;

/**
 * GCTA's {@code .hsq} format, the one writer and reader of it: a header {@code Source Variance SE}
 * (tab-separated), one row per variance ({@code V(G)}, …, {@code V(e)}, {@code Vp}) and per ratio to Vp
 * ({@code V(G)/Vp}, …), then {@code logL}, {@code logL0}, {@code LRT}, {@code df}, {@code Pval} and
 * {@code n} rows of one value each. The SE column is GCTA's (inverse average information); a fourth
 * column {@code SE_observed_information} carries the observed-information SE that GEMMA, FaST-LMM and
 * Hail report, so readers of GCTA's three columns are unaffected.
 */
public final class HsqFile {
  /** The header line as written. */
  public static final String HEADER = "Source\tVariance\tSE\tSE_observed_information";

  private HsqFile() {}

  /** One row: its source, and its values (1 for logL…n; 2 or 3 for variances and ratios), NaN for NA. */
  public record Row(String source, double[] values) {
    /** The value column. */
    public double value() {
      return values[0];
    }

    /** The SE column (NaN when absent). */
    public double se() {
      return values.length > 1 ? values[1] : Double.NaN;
    }

    /** The observed-information SE column (NaN when absent: a GCTA-written file). */
    public double seObserved() {
      return values.length > 2 ? values[2] : Double.NaN;
    }
  }

  /** The file's text for a fit's summary. */
  public static String write(VarianceSummary s) {
    return write(s, List.of());
  }

  /**
   * The file's text with {@code afterRatios} (whole lines, e.g. GCTA's liability-scale block of {@code --prevalence})
   * between the ratio rows and {@code logL}, where GCTA writes them.
   */
  public static String write(VarianceSummary s, List<String> afterRatios) {
    StringBuilder sb = new StringBuilder(HEADER).append('\n');
    for (int i = 0; i < s.variances().size(); i++) {
      VarianceSummary.Row r = s.variances().get(i);
      sb.append(r.source()).append('\t').append(num(r.value())).append('\t').append(num(r.se())).append('\t')
          .append(num(s.observedVarianceSe(i))).append('\n');
    }
    for (int i = 0; i < s.ratios().size(); i++) {
      VarianceSummary.Row r = s.ratios().get(i);
      sb.append(r.source()).append('\t').append(num(r.value())).append('\t').append(num(r.se())).append('\t')
          .append(num(s.observedRatioSe(i))).append('\n');
    }
    afterRatios.forEach(line -> sb.append(line).append('\n'));
    sb.append("logL\t").append(String.format(Locale.ROOT, "%.3f", s.logL())).append('\n');
    sb.append("logL0\t").append(String.format(Locale.ROOT, "%.3f", s.logL0())).append('\n');
    sb.append("LRT\t").append(String.format(Locale.ROOT, "%.3f", s.lrt())).append('\n');
    sb.append("df\t").append(s.df()).append('\n');
    sb.append("Pval\t").append(ChiSquared.formatLogP(s.logP())).append('\n');
    sb.append("n\t").append(s.n()).append('\n');
    return sb.toString();
  }

  /**
   * The rows of a {@code .hsq} file's text (ours or GCTA's: three or four columns, tabs or spaces), by
   * source in file order. {@code path} names the file in errors.
   */
  public static Map<String, Row> read(String text, String path) {
    String[] lines = text.split("\r?\n");
    if (lines.length == 0 || !lines[0].trim().startsWith("Source")) {
      throw BadInputException.atLine(path, 1, "not a .hsq file: the header must start with 'Source'");
    }
    Map<String, Row> rows = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      String line = lines[i].trim();
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split("[\t ]+");
      if (f.length < 2) {
        throw BadInputException.atLine(path, i + 1, "a row needs a source and a value");
      }
      List<Double> v = new ArrayList<>();
      for (int j = 1; j < f.length; j++) {
        v.add(parse(f[j], path, i + 1));
      }
      rows.put(f[0], new Row(f[0], v.stream().mapToDouble(Double::doubleValue).toArray()));
    }
    return rows;
  }

  private static double parse(String field, String path, int line) {
    if (field.equals("NA")) {
      return Double.NaN;
    }
    try {
      return Double.parseDouble(field);
    } catch (NumberFormatException e) {
      throw BadInputException.atLine(path, line, "not a number: '" + field + "'");
    }
  }

  /** A value as the file writes it: 6 significant digits, NA when not finite. */
  public static String num(double v) {
    return Double.isFinite(v) ? NumberText.general6(v) : "NA";
  }
}
