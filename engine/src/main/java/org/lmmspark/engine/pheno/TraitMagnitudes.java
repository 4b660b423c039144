package org.lmmspark.engine.pheno;

import java.util.Locale;
import org.lmmspark.engine.BadInputException;

/**
 * Trait values a linear mixed model can use, checked where the values of the analysed samples are
 * taken into the design: each value's square and their sum over the samples must stay finite in
 * double precision (|y| ≤ {@value #MAX_ABS}: even 10⁹ samples give Σy² ≤ 10²⁰⁹), and the spread
 * must not be lost next to the magnitude (SD ≥ {@value #MIN_RELATIVE_SD}·max|y|: below that the
 * differences between samples are within a few hundred ulps of the values and every variance the
 * fit reports is rounding noise). Either failure names the file, the line and the sample.
 */
public final class TraitMagnitudes {
  /** Largest |y| accepted. */
  public static final double MAX_ABS = 1e100;

  /** Smallest SD of the trait accepted, relative to its largest |y|. */
  public static final double MIN_RELATIVE_SD = 1e-12;

  private TraitMagnitudes() {}

  /**
   * Checks column {@code column} of {@code table} over the rows {@code rows} (the analysed samples or
   * records, none missing).
   */
  public static void check(SampleTable table, int column, int[] rows) {
    double[] v = table.numeric(column);
    String name = table.columns().get(column);
    int largest = -1;
    double mean = 0;
    for (int r : rows) {
      if (!(Math.abs(v[r]) <= MAX_ABS)) {
        throw BadInputException.atLine(table.file(), table.line(r), "sample " + table.ids().get(r) + ": trait '" + name
            + "' value " + v[r] + " is beyond ±" + MAX_ABS + " (its square would overflow in the fit); rescale the trait");
      }
      if (largest < 0 || Math.abs(v[r]) > Math.abs(v[largest])) {
        largest = r;
      }
      mean += v[r] / rows.length;
    }
    if (rows.length < 2) {
      return;
    }
    double ss = 0;
    for (int r : rows) {
      ss += (v[r] - mean) * (v[r] - mean);
    }
    double sd = Math.sqrt(ss / (rows.length - 1));
    if (sd > 0 && sd < MIN_RELATIVE_SD * Math.abs(v[largest])) {
      throw BadInputException.atLine(table.file(), table.line(largest), String.format(Locale.ROOT,
          "sample %s: trait '%s' value %s is %.3g standard deviations from zero (SD %.3g over %d samples): the"
              + " differences between samples are lost to rounding; subtract a constant from the trait", table.ids()
              .get(largest), name, v[largest], Math.abs(v[largest]) / sd, sd, rows.length));
    }
  }
}
