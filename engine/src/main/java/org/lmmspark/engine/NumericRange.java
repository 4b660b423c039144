package org.lmmspark.engine;

import java.util.Locale;

/**
 * The allowed range of a numeric option, checked the same way wherever the value comes from (a
 * command-line flag or a key of the pipeline configuration): NaN is outside every range, so
 * {@code --maf NaN} fails like {@code --maf 0.7}. A value outside is a {@link BadInputException}
 * naming the option, the range and the value given.
 *
 * <pre>{@code
 * double maf = NumericRange.MAF.check("--maf", value);
 * int k = NumericRange.atLeast("--partitions", partitions, 0);
 * }</pre>
 */
public record NumericRange(double min, boolean minIncluded, double max, boolean maxIncluded) {
  /** Minor allele frequency thresholds: [0, 0.5) (at 0.5 every variant would be dropped). */
  public static final NumericRange MAF = new NumericRange(0, true, 0.5, false);

  /** A finite number above 0 (sample sizes, cutoffs). */
  public static final NumericRange POSITIVE = new NumericRange(0, false, Double.MAX_VALUE, true);

  /** Any finite number (NaN and the infinities excluded). */
  public static final NumericRange FINITE = new NumericRange(-Double.MAX_VALUE, true, Double.MAX_VALUE, true);

  /** A fraction strictly between 0 and 1 (tolerances, proportions). */
  public static final NumericRange OPEN_UNIT = new NumericRange(0, false, 1, false);

  /** Returns {@code value} when it lies in the range; otherwise a {@link BadInputException} naming {@code name}. */
  public double check(String name, double value) {
    boolean above = minIncluded ? value >= min : value > min;
    boolean below = maxIncluded ? value <= max : value < max;
    if (!(above && below)) { // NaN fails both comparisons
      throw new BadInputException(name + " must be in " + this + ", got " + value);
    }
    return value;
  }

  /** {@code value} when it is at least {@code min}; otherwise a {@link BadInputException} naming {@code name}. */
  public static int atLeast(String name, int value, int min) {
    if (value < min) {
      throw new BadInputException(name + " must be at least " + min + ", got " + value);
    }
    return value;
  }

  /** {@code value} when it is at least {@code min}; otherwise a {@link BadInputException} naming {@code name}. */
  public static long atLeast(String name, long value, long min) {
    if (value < min) {
      throw new BadInputException(name + " must be at least " + min + ", got " + value);
    }
    return value;
  }

  @Override
  public String toString() {
    // The finite extremes print as open infinite ends: (0, ∞) for POSITIVE, (-∞, ∞) for FINITE.
    boolean lowOpen = !minIncluded || min == -Double.MAX_VALUE;
    boolean highOpen = !maxIncluded || max == Double.MAX_VALUE;
    return String.format(Locale.ROOT, "%s%s, %s%s", lowOpen ? "(" : "[", num(min), num(max), highOpen ? ")" : "]");
  }

  private static String num(double x) {
    if (Math.abs(x) == Double.MAX_VALUE) {
      return x > 0 ? "∞" : "-∞";
    }
    return x == Math.rint(x) && Math.abs(x) < 1e15 ? Long.toString((long) x) : Double.toString(x);
  }
}
