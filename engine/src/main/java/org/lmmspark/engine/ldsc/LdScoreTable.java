package org.lmmspark.engine.ldsc;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.io.WhitespaceLines;

/**
 * LD scores read as ldsc reads {@code --ref-ld-chr} / {@code --w-ld-chr} / {@code --ref-ld}: for
 * chromosome-split prefixes the files {@code PREFIX C .l2.ldscore[.gz]} of chromosomes 1–22 that
 * exist, rows sorted by {@code (CHR, BP)} (stably), duplicate SNP IDs dropped after their first row;
 * every column but {@code CHR SNP BP} (and {@code CM MAF}) is an LD score. Several prefixes
 * (comma-separated) give their columns side by side and must list the same SNPs in the same order.
 * M per column from {@code .l2.M_5_50} (or {@code .l2.M}), summed over the chromosomes read.
 *
 * @param values {@code snps × columns} row-major
 */
public record LdScoreTable(List<String> snps, List<String> columns, double[] values, double[] m) {
  /** Chromosomes ldsc reads for a {@code -chr} prefix. */
  public static final int CHROMOSOMES = 22;

  public int rows() {
    return snps.size();
  }

  /** Reads {@code prefixes} (comma-separated); {@code chrSplit} as {@code --ref-ld-chr}; M from M_5_50 unless {@code allSnpsM}. */
  public static LdScoreTable read(String prefixes, boolean chrSplit, boolean allSnpsM, Configuration conf) {
    List<LdScoreTable> parts = new ArrayList<>();
    for (String prefix : prefixes.split(",")) {
      parts.add(readOne(prefix.trim(), chrSplit, allSnpsM, conf));
    }
    LdScoreTable first = parts.get(0);
    if (parts.size() == 1) {
      return first;
    }
    int rows = first.rows();
    List<String> cols = new ArrayList<>();
    List<Double> ms = new ArrayList<>();
    for (int k = 0; k < parts.size(); k++) {
      LdScoreTable t = parts.get(k);
      if (!t.snps().equals(first.snps())) {
        throw new BadInputException("LD score sets " + prefixes + " do not list the same SNPs in the same order (set "
            + (k + 1) + " differs from set 1)");
      }
      for (String c : t.columns()) {
        cols.add(c + "_" + k);
      }
      for (double x : t.m()) {
        ms.add(x);
      }
    }
    double[] values = new double[rows * cols.size()];
    int off = 0;
    for (LdScoreTable t : parts) {
      int c = t.columns().size();
      for (int r = 0; r < rows; r++) {
        System.arraycopy(t.values(), r * c, values, r * cols.size() + off, c);
      }
      off += c;
    }
    return new LdScoreTable(first.snps(), cols, values, ms.stream().mapToDouble(Double::doubleValue).toArray());
  }

  private record Row(int chr, long bp, int order, String snp, double[] values) {}

  private static LdScoreTable readOne(String prefix, boolean chrSplit, boolean allSnpsM, Configuration conf) {
    List<String> files = new ArrayList<>();
    List<String> mFiles = new ArrayList<>();
    String mSuffix = allSnpsM ? ".l2.M" : ".l2.M_5_50";
    if (chrSplit) {
      for (int c = 1; c <= CHROMOSOMES; c++) {
        String f = existing(prefix + c + ".l2.ldscore", conf);
        if (f != null) {
          files.add(f);
          mFiles.add(prefix + c + mSuffix);
        }
      }
      if (files.isEmpty()) {
        throw new BadInputException(prefix + ": no LD score file " + prefix + "C.l2.ldscore[.gz] for any chromosome C in 1-22");
      }
    } else {
      String f = existing(prefix + ".l2.ldscore", conf);
      if (f == null) {
        throw new BadInputException(prefix + ".l2.ldscore[.gz]: file not found");
      }
      files.add(f);
      mFiles.add(prefix + mSuffix);
    }
    List<Row> rows = new ArrayList<>();
    List<String> columns = null;
    for (String file : files) {
      List<String> cols = readFile(file, rows, conf);
      if (columns != null && !columns.equals(cols)) {
        throw BadInputException.inFile(file, "LD score columns " + cols + " differ from the other chromosomes' " + columns);
      }
      columns = cols;
    }
    rows.sort((a, b) -> a.chr != b.chr ? Integer.compare(a.chr, b.chr)
        : a.bp != b.bp ? Long.compare(a.bp, b.bp) : Integer.compare(a.order, b.order));
    Set<String> seen = new HashSet<>();
    List<String> snps = new ArrayList<>();
    int c = columns.size();
    double[] values = new double[rows.size() * c];
    for (Row r : rows) {
      if (seen.add(r.snp)) {
        System.arraycopy(r.values, 0, values, snps.size() * c, c);
        snps.add(r.snp);
      }
    }
    double[] m = new double[c];
    for (String mf : mFiles) {
      double[] part = readM(mf, c, conf);
      for (int k = 0; k < c; k++) {
        m[k] += part[k];
      }
    }
    return new LdScoreTable(List.copyOf(snps), List.copyOf(columns), Arrays.copyOf(values, snps.size() * c), m);
  }

  private static String existing(String base, Configuration conf) {
    for (String s : new String[] {base + ".gz", base}) {
      if (FileSystems.exists(s, conf)) {
        return s;
      }
    }
    return null;
  }

  private static List<String> readFile(String file, List<Row> rows, Configuration conf) {
    int[] cols = {-1, -1, -1}; // CHR SNP BP
    List<Integer> ldCols = new ArrayList<>();
    List<String> names = new ArrayList<>();
    int[] order = {rows.size()};
    WhitespaceLines.readTable(file, conf, "LD scores", (lineNo, h) -> {
      for (int i = 0; i < h.length; i++) {
        switch (h[i]) {
          case "CHR" -> cols[0] = i;
          case "SNP" -> cols[1] = i;
          case "BP" -> cols[2] = i;
          case "CM", "MAF" -> { }
          default -> {
            ldCols.add(i);
            names.add(h[i]);
          }
        }
      }
      if (cols[0] < 0 || cols[1] < 0 || cols[2] < 0 || ldCols.isEmpty()) {
        throw BadInputException.atLine(file, lineNo, "an LD score file needs columns CHR SNP BP and at least one LD "
            + "score, found " + Sumstats.columns(h));
      }
    }, (lineNo, f) -> {
      double[] v = new double[ldCols.size()];
      for (int k = 0; k < v.length; k++) {
        v[k] = WhitespaceLines.finite(f[ldCols.get(k)], file, lineNo, names.get(k));
      }
      int chr;
      long bp;
      try {
        chr = Integer.parseInt(f[cols[0]]);
        bp = Long.parseLong(f[cols[2]]);
      } catch (NumberFormatException e) {
        throw BadInputException.atLine(file, lineNo, "CHR and BP must be whole numbers, got '"
            + BadInputException.excerpt(f[cols[0]]) + "' and '" + BadInputException.excerpt(f[cols[2]]) + "'");
      }
      rows.add(new Row(chr, bp, order[0]++, f[cols[1]], v));
    });
    return names;
  }

  private static double[] readM(String path, int columns, Configuration conf) {
    if (!FileSystems.exists(path, conf)) {
      throw BadInputException.inFile(path, "file not found (M for the LD scores beside it)");
    }
    List<Double> values = new ArrayList<>();
    WhitespaceLines.read(path, conf, (lineNo, f) -> {
      for (String s : f) {
        values.add(WhitespaceLines.finite(s, path, lineNo, "M"));
      }
    });
    if (values.size() != columns) {
      throw BadInputException.inFile(path, values.size() + " value(s) for " + columns + " LD score column(s)");
    }
    return values.stream().mapToDouble(Double::doubleValue).toArray();
  }
}
