package org.lmmspark.engine.io;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Decimal text of the numbers in large output tables (one association table holds several numbers per variant, for
 * millions of variants), in the layouts of {@code String.format(Locale.ROOT, "%.6g" | "%.Nf", x)}, about twice as fast:
 * {@link java.util.Formatter} parses its pattern on every call.
 *
 * <p>The same digits as {@code Formatter}'s: the shortest decimal digits that identify the double
 * ({@link Double#toString}), rounded half-up. So {@code 99999.95} prints as {@code 100000} although the double is
 * 99999.94999…, as {@code String.format} prints it ({@code NumberTextTest} compares the two on a million random values
 * over twenty decades and on ties).
 */
public final class NumberText {
  private static final MathContext SIX_DIGITS = new MathContext(6, RoundingMode.HALF_UP);

  private NumberText() {}

  /**
   * {@code %.6g}: six significant digits, in decimal notation when the rounded value's exponent is in [−4, 6), else
   * as {@code d.ddddde±XX}; trailing zeros kept ({@code 0.500000}). NaN and infinities as {@code Formatter} writes them.
   */
  public static String general6(double x) {
    if (!Double.isFinite(x)) {
      return Double.toString(x);
    }
    String sign = x < 0 || (x == 0 && 1 / x < 0) ? "-" : "";
    if (x == 0) {
      return sign + "0.00000";
    }
    BigDecimal r = new BigDecimal(Double.toString(Math.abs(x))).round(SIX_DIGITS);
    int exponent = r.precision() - r.scale() - 1;
    if (exponent >= -4 && exponent < 6) {
      return sign + r.setScale(5 - exponent, RoundingMode.UNNECESSARY).toPlainString();
    }
    String digits = r.movePointLeft(exponent).setScale(5, RoundingMode.UNNECESSARY).toPlainString();
    int e = Math.abs(exponent);
    return sign + digits + (exponent < 0 ? "e-" : "e+") + (e < 10 ? "0" : "") + e;
  }

  /** {@code %.Nf} with N = {@code decimals}: fixed notation, the sign kept when the value rounds to zero ({@code -0.0000}). */
  public static String fixed(double x, int decimals) {
    if (!Double.isFinite(x)) {
      return Double.toString(x);
    }
    String sign = x < 0 || (x == 0 && 1 / x < 0) ? "-" : "";
    return sign + new BigDecimal(Double.toString(Math.abs(x))).setScale(decimals, RoundingMode.HALF_UP).toPlainString();
  }
}
