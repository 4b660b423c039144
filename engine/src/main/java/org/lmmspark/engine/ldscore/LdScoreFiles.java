package org.lmmspark.engine.ldscore;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.BgzfText;
import org.lmmspark.engine.io.Variant;

/**
 * ldsc's LD-score outputs for one chromosome, in its own layout so that {@code ldsc.py --h2
 * --ref-ld-chr PREFIX.} reads them: {@code PREFIX.C.l2.ldscore.gz} (BGZF, {@link BgzfText}; tab-separated
 * {@code CHR SNP BP} then {@code L2}, or {@code NAMEL2} per annotation when there are several; values with
 * {@code digits} decimals, 3 as ldsc writes them), {@code PREFIX.C.l2.M} (number of variants, or the
 * annotation's column sum, per annotation) and {@code PREFIX.C.l2.M_5_50} (the same over variants with
 * MAF > 0.05), tab-separated on one line.
 */
public final class LdScoreFiles {
  private LdScoreFiles() {}

  public static String ldscorePath(String out, String chromosome) {
    return out + "." + chromosome + ".l2.ldscore.gz";
  }

  /** Column names of the scores: {@code L2} alone, or {@code NAMEL2} per annotation. */
  public static String[] scoreColumns(List<String> annotationNames) {
    if (annotationNames.size() <= 1) {
      return new String[] {"L2"};
    }
    return annotationNames.stream().map(a -> a + "L2").toArray(String[]::new);
  }

  /**
   * Writes the three files of one chromosome into {@code outputs} (committed by the caller).
   *
   * @param variants the kept variants, in order
   * @param l2 {@code variants × names} row-major
   */
  public static void write(AtomicOutputs outputs, String out, String chromosome, List<Variant> variants,
      List<String> annotationNames, double[] l2, double[] m, double[] m550, int digits) {
    String[] cols = scoreColumns(annotationNames);
    int a = cols.length;
    String fmt = "%." + digits + "f";
    try (Writer w = BgzfText.writer(outputs.create(ldscorePath(out, chromosome)))) {
      StringBuilder sb = new StringBuilder("CHR\tSNP\tBP");
      for (String c : cols) {
        sb.append('\t').append(c);
      }
      w.write(sb.append('\n').toString());
      for (int k = 0; k < variants.size(); k++) {
        Variant v = variants.get(k);
        sb.setLength(0);
        sb.append(v.chromosome()).append('\t').append(v.id()).append('\t').append(v.bp());
        for (int j = 0; j < a; j++) {
          sb.append('\t');
          appendFixed(sb, l2[k * a + j], digits, fmt);
        }
        w.write(sb.append('\n').toString());
      }
      writeLine(outputs, out + "." + chromosome + ".l2.M", m);
      writeLine(outputs, out + "." + chromosome + ".l2.M_5_50", m550);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Appends {@code String.format(Locale.ROOT, "%.<digits>f", x)}, character for character. The JDK
   * formatter (about a microsecond a value, most of the writing time at 10⁵ variants) is called only
   * where a quick rounding could differ from it: the JDK rounds half-up the shortest decimal form of
   * {@code x}, which lies within one ulp of {@code x}; so when {@code |x|·10^digits < 10⁸} (an ulp
   * there is below 2·10⁻⁸) and its fractional part is farther than 10⁻⁶ from one half, rounding
   * {@code |x|·10^digits} to the nearest integer gives the same digits. Ties, large values, a negative
   * value that rounds to zero ({@code -0.000}), NaN and infinities go to the JDK.
   */
  static void appendFixed(StringBuilder sb, double x, int digits, String fmt) {
    if (digits >= 1 && digits <= 8 && Double.isFinite(x)) {
      long scale = POWERS_OF_TEN[digits];
      double y = Math.abs(x) * scale;
      if (y < 1e8) {
        long whole = (long) y;
        double frac = y - whole;
        if (Math.abs(frac - 0.5) > 1e-6) {
          long rounded = frac > 0.5 ? whole + 1 : whole;
          boolean negative = Double.doubleToRawLongBits(x) < 0;
          if (!negative || rounded != 0) {
            if (negative) {
              sb.append('-');
            }
            sb.append(rounded / scale).append('.');
            String f = Long.toString(rounded % scale);
            for (int p = f.length(); p < digits; p++) {
              sb.append('0');
            }
            sb.append(f);
            return;
          }
        }
      }
    }
    sb.append(String.format(Locale.ROOT, fmt, x));
  }

  private static final long[] POWERS_OF_TEN = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000};

  private static void writeLine(AtomicOutputs outputs, String path, double[] values) throws IOException {
    try (Writer w = new OutputStreamWriter(outputs.create(path), StandardCharsets.UTF_8)) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < values.length; i++) {
        if (i > 0) {
          sb.append('\t');
        }
        double x = values[i];
        sb.append(x == Math.rint(x) && Math.abs(x) < 1e15 ? String.valueOf((long) x) : String.valueOf(x));
      }
      w.write(sb.append('\n').toString());
    }
  }
}
