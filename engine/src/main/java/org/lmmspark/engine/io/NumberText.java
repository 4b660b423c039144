package org.lmmspark.engine.io;

/**
 * Decimal text of the numbers in large output tables (one association table holds several numbers per variant, for
 * millions of variants), in the layouts of {@code String.format(Locale.ROOT, "%.6g" | "%.Nf", x)}: {@link
 * java.util.Formatter} parses its pattern on every call (910 ns a number).
 *
 * <p>The same digits as {@code Formatter}'s: the shortest decimal digits that identify the double
 * ({@link Double#toString}), rounded half-up. So {@code 99999.95} prints as {@code 100000} although the double is
 * 99999.94999…, as {@code String.format} prints it ({@code NumberTextTest} compares the two on a million random values
 * over twenty decades, on ties and about powers of ten).
 *
 * <p>Two routes to those digits. Most numbers take the quick one ({@link #roundedDigits}): {@code |x|} scaled by an
 * exact power of ten to the kept digits and rounded to the nearest integer. That is the same rounding as the
 * shortest digits' whenever the scaled value is below 10⁸ and its fraction is farther than 10⁻⁶ from one half: the
 * shortest digits lie within half an ulp of x, and the scaling adds at most one rounding, both below 10⁻⁸ there.
 * Ties, near-ties, and magnitudes whose power of ten is not exact as a double take the slow route, plain character
 * work on {@link Double#toString}'s digits ({@link Digits}; 330 ns a number, against ~70 for the quick one).
 */
public final class NumberText {
  private NumberText() {}

  /**
   * {@code %.6g}: six significant digits, in decimal notation when the rounded value's exponent is in [−4, 6), else
   * as {@code d.ddddde±XX}; trailing zeros kept ({@code 0.500000}). NaN and infinities as {@code Formatter} writes them.
   */
  public static String general6(double x) {
    if (!Double.isFinite(x)) {
      return Double.toString(x);
    }
    StringBuilder sb = new StringBuilder(16).append(sign(x));
    if (x == 0) {
      return sb.append("0.00000").toString();
    }
    char[] digits = new char[6];
    int exponent = roundedDigits(Math.abs(x), 6, digits);
    if (exponent == SLOW) {
      Digits d = Digits.of(Math.abs(x));
      exponent = d.round(6);
      digits = d.digits;
    }
    if (exponent >= -4 && exponent < 6) {
      if (exponent < 0) {
        sb.append("0.");
        for (int i = -1; i > exponent; i--) {
          sb.append('0');
        }
        sb.append(digits, 0, 6);
      } else {
        sb.append(digits, 0, exponent + 1);
        if (exponent < 5) {
          sb.append('.').append(digits, exponent + 1, 5 - exponent);
        }
      }
      return sb.toString();
    }
    sb.append(digits[0]).append('.').append(digits, 1, 5).append(exponent < 0 ? "e-" : "e+");
    int e = Math.abs(exponent);
    return sb.append(e < 10 ? "0" : "").append(e).toString();
  }

  /** Returned by {@link #roundedDigits} when the quick route cannot decide: take the slow one. */
  private static final int SLOW = Integer.MIN_VALUE;
  private static final double[] POWERS_OF_TEN = new double[23];

  static {
    for (int i = 0; i < POWERS_OF_TEN.length; i++) {
      POWERS_OF_TEN[i] = Double.parseDouble("1e" + i); // exact: 10²² is the largest power of ten a double holds
    }
  }

  /**
   * The quick route (class doc): puts the {@code significant} (≤ 7) leading digits of positive {@code a}, rounded
   * half-up, into {@code digits} and returns the exponent of the first, or {@link #SLOW}.
   */
  private static int roundedDigits(double a, int significant, char[] digits) {
    int exponent = (int) Math.floor(Math.log10(a));
    long low = (long) POWERS_OF_TEN[significant - 1];
    for (int attempt = 0; attempt < 2; attempt++) { // log10 may be one off next to a power of ten
      int k = significant - 1 - exponent;
      if (k > 22 || k < -22) {
        return SLOW;
      }
      double y = k >= 0 ? a * POWERS_OF_TEN[k] : a / POWERS_OF_TEN[-k];
      if (y < low) {
        exponent--;
        continue;
      }
      if (y >= 10 * low) {
        exponent++;
        continue;
      }
      long rounded = roundedUnlessNearTie(y);
      if (rounded < 0) {
        return SLOW;
      }
      if (rounded == 10 * low) { // carried into a new leading digit
        rounded = low;
        exponent++;
      }
      for (int i = significant - 1; i >= 0; i--) {
        digits[i] = (char) ('0' + rounded % 10);
        rounded /= 10;
      }
      return exponent;
    }
    return SLOW;
  }

  /**
   * The quick route's rounding of a scaled value {@code 0 ≤ y < 10⁸} to the nearest integer, or −1 when its fraction
   * is within 10⁻⁶ of one half, where only the shortest digits decide (class doc).
   */
  private static long roundedUnlessNearTie(double y) {
    long whole = (long) y;
    double fraction = y - whole;
    if (Math.abs(fraction - 0.5) <= 1e-6) {
      return -1;
    }
    return fraction > 0.5 ? whole + 1 : whole;
  }

  /** {@code %.Nf} with N = {@code decimals}: fixed notation, the sign kept when the value rounds to zero ({@code -0.0000}). */
  public static String fixed(double x, int decimals) {
    return appendFixed(new StringBuilder(24), x, decimals).toString();
  }

  /**
   * Appends {@link #fixed}{@code (x, decimals)} to {@code sb}. The quick route for 1–8 decimals: {@code |x|·10^decimals}
   * below 10⁸ with a fraction farther than 10⁻⁶ from one half rounds as its shortest digits do (class doc); a negative
   * value that rounds to zero, ties, large values and the rest take the slow one.
   */
  public static StringBuilder appendFixed(StringBuilder sb, double x, int decimals) {
    if (decimals >= 1 && decimals <= 8 && Double.isFinite(x)) {
      long scale = (long) POWERS_OF_TEN[decimals];
      double y = Math.abs(x) * scale;
      long rounded = y < 1e8 ? roundedUnlessNearTie(y) : -1;
      boolean negative = Double.doubleToRawLongBits(x) < 0;
      if (rounded > 0 || (rounded == 0 && !negative)) {
        if (negative) {
          sb.append('-');
        }
        sb.append(rounded / scale).append('.');
        String f = Long.toString(rounded % scale);
        for (int p = f.length(); p < decimals; p++) {
          sb.append('0');
        }
        return sb.append(f);
      }
    }
    return sb.append(fixedByDigits(x, decimals));
  }

  /** {@link #fixed} by the slow route. */
  private static String fixedByDigits(double x, int decimals) {
    if (!Double.isFinite(x)) {
      return Double.toString(x);
    }
    StringBuilder sb = new StringBuilder(24).append(sign(x));
    int exponent = 0;
    char[] digits = new char[0];
    int kept = 0;
    if (x != 0) {
      Digits d = Digits.of(Math.abs(x));
      kept = d.exponent + 1 + decimals; // significant digits down to the last decimal
      if (kept >= 0) {
        exponent = d.round(kept);
        digits = d.digits;
        kept = exponent + 1 + decimals;
      }
    }
    // Integer part, then the decimals; positions outside the kept digits are zeros.
    for (int p = Math.max(exponent, 0); p >= -decimals; p--) {
      int i = exponent - p; // index into digits of the 10^p place
      if (p == -1) {
        sb.append('.');
      }
      sb.append(i >= 0 && i < kept && i < digits.length ? digits[i] : '0');
    }
    return sb.toString();
  }

  /** "-" for a negative number and for −0 (as {@code Formatter} writes them), else "". */
  private static String sign(double x) {
    return x < 0 || (x == 0 && 1 / x < 0) ? "-" : "";
  }

  /** A positive double's shortest decimal digits {@code d[0].d[1]d[2]… × 10^exponent}, d[0] ≠ 0. */
  private static final class Digits {
    char[] digits;
    int count;
    int exponent;

    static Digits of(double positive) {
      String s = Double.toString(positive); // "123.45", "0.00123" or "1.2345E-5"
      int e = s.indexOf('E');
      int end = e < 0 ? s.length() : e;
      int point = s.indexOf('.');
      Digits d = new Digits();
      d.digits = new char[Math.max(end, 8)];
      int leadingZeros = 0;
      boolean seen = false;
      for (int i = 0; i < end; i++) {
        char c = s.charAt(i);
        if (c == '.') {
          continue;
        }
        if (!seen && c == '0') {
          leadingZeros++;
          continue;
        }
        seen = true;
        d.digits[d.count++] = c;
      }
      d.exponent = point - 1 - leadingZeros + (e < 0 ? 0 : Integer.parseInt(s, e + 1, s.length(), 10));
      return d;
    }

    /**
     * Rounds half-up to {@code significant} digits (0: to the leading digit's place above, i.e. to 0 or 10^(exponent+1)),
     * padding with zeros; returns the exponent, one more when the rounding carried into a new leading digit.
     */
    int round(int significant) {
      if (digits.length < Math.max(significant, 1)) {
        digits = java.util.Arrays.copyOf(digits, Math.max(significant, 1));
      }
      boolean up = significant < count && digits[significant] >= '5';
      for (int i = significant; i < digits.length; i++) {
        digits[i] = '0';
      }
      for (int i = count; i < significant; i++) {
        digits[i] = '0';
      }
      count = Math.max(significant, 1);
      if (up) {
        int i = significant - 1;
        while (i >= 0 && digits[i] == '9') {
          digits[i--] = '0';
        }
        if (i >= 0) {
          digits[i]++;
        } else {
          digits[0] = '1';
          exponent++;
        }
      }
      return exponent;
    }
  }
}
