package org.lmmspark.engine.ldscore;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.WhitespaceLines;
import org.lmmspark.engine.io.Variant;

/**
 * An ldsc annotation file ({@code .annot[.gz]}, as {@code make_annot.py} writes it): a header, then one
 * row per {@code .bim} variant of the chromosome in {@code .bim} order. Columns {@code CHR}, {@code BP},
 * {@code SNP}, {@code CM} (any of them, or none: ldsc's "thin" annotations) describe the variant; every
 * other column is an annotation (binary or continuous). Rows must match the panel: with an {@code SNP}
 * column each row's ID must equal the {@code .bim} variant's, otherwise the row count must.
 *
 * @param names annotation names, in column order
 * @param values {@code variants × names} row-major, one row per given {@code .bim} variant
 */
public record AnnotationFile(List<String> names, double[] values) {
  private static final Set<String> VARIANT_COLUMNS = Set.of("CHR", "BP", "SNP", "CM");

  public int count() {
    return names.size();
  }

  /** Reads {@code path} for the {@code .bim} variants {@code variants} (one chromosome, in order). */
  public static AnnotationFile read(String path, List<Variant> variants, Configuration conf) {
    List<String> names = new ArrayList<>();
    List<Integer> annotCols = new ArrayList<>();
    int[] snpCol = {-1};
    double[][] values = new double[1][];
    int[] row = {0};
    WhitespaceLines.readTable(path, conf, "an annotation table", (lineNo, header) -> {
      for (int c = 0; c < header.length; c++) {
        if (header[c].equals("SNP")) {
          snpCol[0] = c;
        }
        if (!VARIANT_COLUMNS.contains(header[c])) {
          names.add(header[c]);
          annotCols.add(c);
        }
      }
      if (names.isEmpty()) {
        throw BadInputException.atLine(path, lineNo, "no annotation column (only CHR, BP, SNP, CM)");
      }
      values[0] = new double[Math.multiplyExact(variants.size(), names.size())];
    }, (lineNo, f) -> {
      int a = names.size();
      int r = row[0];
      if (r >= variants.size()) {
        throw BadInputException.atLine(path, lineNo, "more rows than the panel's " + variants.size()
            + " variants on this chromosome: the annotation does not match the panel");
      }
      if (snpCol[0] >= 0 && !f[snpCol[0]].equals(variants.get(r).id())) {
        throw BadInputException.atLine(path, lineNo, "SNP '" + BadInputException.excerpt(f[snpCol[0]]) + "' where the "
            + "panel's .bim has '" + variants.get(r).id() + "' (row " + (r + 1) + "): the annotation does not match the "
            + "panel");
      }
      for (int k = 0; k < a; k++) {
        values[0][r * a + k] = WhitespaceLines.finite(f[annotCols.get(k)], path, lineNo, "annotation " + names.get(k));
      }
      row[0]++;
    });
    if (row[0] != variants.size()) {
      throw BadInputException.inFile(path, row[0] + " rows, the panel has " + variants.size()
          + " variants on this chromosome: the annotation does not match the panel");
    }
    return new AnnotationFile(List.copyOf(names), values[0]);
  }

  /** The rows of the given variants (indices into this file's rows), {@code keep.length × count()}. */
  public double[] rows(int[] keep) {
    int a = count();
    double[] out = new double[keep.length * a];
    for (int k = 0; k < keep.length; k++) {
      System.arraycopy(values, keep[k] * a, out, k * a, a);
    }
    return out;
  }
}
