package org.lmmspark.engine.ldscore;

import java.io.BufferedReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.FileSystems;
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
    try (BufferedReader r = FileSystems.openText(path, conf)) {
      String headerLine = r.readLine();
      if (headerLine == null) {
        throw BadInputException.inFile(path, "empty annotation file");
      }
      String[] header = headerLine.trim().split("\\s+");
      List<String> names = new ArrayList<>();
      List<Integer> annotCols = new ArrayList<>();
      int snpCol = -1;
      for (int c = 0; c < header.length; c++) {
        if (header[c].equals("SNP")) {
          snpCol = c;
        }
        if (!VARIANT_COLUMNS.contains(header[c])) {
          names.add(header[c]);
          annotCols.add(c);
        }
      }
      if (names.isEmpty()) {
        throw BadInputException.atLine(path, 1, "no annotation column (only CHR, BP, SNP, CM)");
      }
      int a = names.size();
      double[] values = new double[Math.multiplyExact(variants.size(), a)];
      String line;
      long lineNo = 1;
      int row = 0;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        String[] f = line.trim().split("\\s+");
        if (f.length != header.length) {
          throw BadInputException.atLine(path, lineNo, f.length + " fields, the header has " + header.length);
        }
        if (row >= variants.size()) {
          throw BadInputException.atLine(path, lineNo, "more rows than the panel's " + variants.size()
              + " variants on this chromosome: the annotation does not match the panel");
        }
        if (snpCol >= 0 && !f[snpCol].equals(variants.get(row).id())) {
          throw BadInputException.atLine(path, lineNo, "SNP '" + f[snpCol] + "' where the panel's .bim has '"
              + variants.get(row).id() + "' (row " + (row + 1) + "): the annotation does not match the panel");
        }
        for (int k = 0; k < a; k++) {
          String s = f[annotCols.get(k)];
          try {
            values[row * a + k] = Double.parseDouble(s);
          } catch (NumberFormatException e) {
            throw BadInputException.atLine(path, lineNo, "annotation " + names.get(k) + " is not a number: '" + s + "'");
          }
        }
        row++;
      }
      if (row != variants.size()) {
        throw BadInputException.inFile(path, row + " rows, the panel has " + variants.size()
            + " variants on this chromosome: the annotation does not match the panel");
      }
      return new AnnotationFile(List.copyOf(names), values);
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
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
