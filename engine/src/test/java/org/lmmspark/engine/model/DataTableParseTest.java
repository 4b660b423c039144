package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link DataTable#parseFinite} against the JDK's {@link Double#parseDouble}, bit for bit. */
class DataTableParseTest {

  /** What the table takes a field for: the JDK's value when it is a finite number, else NaN. */
  private static double jdk(String v) {
    try {
      double d = Double.parseDouble(v);
      return Double.isFinite(d) ? d : Double.NaN;
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }

  private static void check(String v) {
    assertEquals(Double.doubleToRawLongBits(jdk(v)), Double.doubleToRawLongBits(DataTable.parseFinite(v)),
        () -> "'" + v + "': JDK " + jdk(v) + ", ours " + DataTable.parseFinite(v));
  }

  @Test
  void edgeCasesGiveTheJdksValue() {
    for (String v : List.of("0", "-0", "+0", "-0.0", "0.", ".0", ".5", "-.5", "5.", "+7", "-", "+", ".", "", "-.",
        "1.2.3", "1..2", "1e5", "1E-5", "-2.5e+3", "NaN", "Infinity", "-Infinity", "1e400", "0x1p3", " 2 ", "2 ", "1d",
        "1f", "12a", "a12", "9007199254740991", "9007199254740992", "9007199254740993", "90071992547409931",
        "0.1", "0.2", "0.3", "2.675", "1.0000000000000002", "0.30000000000000004", "123456789012345678901234",
        "0.0000000000000000000001", "0.00000000000000000000001", "1.0000000000000000000001", "00000000000000000001.5",
        "179769313486231570000000000000000000000000000", "4.9e-324", "-12.3456789012", "1,5", "١٢")) {
      check(v);
    }
  }

  @Test
  void randomDecimalsGiveTheJdksValue() {
    Random rnd = new Random(7);
    List<String> values = new ArrayList<>();
    for (int k = 0; k < 200_000; k++) {
      double x = switch (k % 4) {
        case 0 -> rnd.nextGaussian() * 10;
        case 1 -> rnd.nextDouble() * Math.pow(10, rnd.nextInt(40) - 20);
        case 2 -> rnd.nextInt(100_000) - 50_000;
        default -> Double.longBitsToDouble(rnd.nextLong());
      };
      int digits = 1 + rnd.nextInt(17);
      values.add(String.format(Locale.ROOT, "%." + digits + "g", x));
      values.add(String.format(Locale.ROOT, "%." + rnd.nextInt(23) + "f", x));
      values.add(Double.toString(x));
      // Plain digit strings with a point anywhere, as long as 20 digits.
      StringBuilder sb = new StringBuilder(rnd.nextBoolean() ? "-" : "");
      int len = 1 + rnd.nextInt(20);
      int point = rnd.nextInt(len + 2) - 1;
      for (int i = 0; i < len; i++) {
        if (i == point) {
          sb.append('.');
        }
        sb.append((char) ('0' + rnd.nextInt(10)));
      }
      values.add(sb.toString());
    }
    for (String v : values) {
      check(v);
    }
  }
}
