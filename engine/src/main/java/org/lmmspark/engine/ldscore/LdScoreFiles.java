package org.lmmspark.engine.ldscore;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.BgzfText;
import org.lmmspark.engine.io.NumberText;
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
          NumberText.appendFixed(sb, l2[k * a + j], digits);
        }
        w.write(sb.append('\n').toString());
      }
      writeLine(outputs, out + "." + chromosome + ".l2.M", m);
      writeLine(outputs, out + "." + chromosome + ".l2.M_5_50", m550);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

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
