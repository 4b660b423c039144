package org.lmmspark.engine.pheno;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.io.SampleId;

/**
 * A per-sample text table in the PLINK/GCTA/regenie convention: whitespace or tab separated, a header
 * line whose first two fields are {@code FID IID}, then one line per sample. Missing values are
 * {@code NA}, {@code -9} and {@code NaN}. Used for phenotypes ({@code --pheno}), categorical
 * covariates ({@code --covar}) and quantitative covariates ({@code --qcovar}).
 *
 * <p>Strict: a line with the wrong number of fields, a sample listed twice, or (when a column is read
 * as numbers) a value that is not a number is a {@link BadInputException} naming file, line and
 * column. Blank lines are skipped.
 */
public final class SampleTable {
  private final String file;
  private final List<String> columns;
  private final List<SampleId> ids;
  private final List<String[]> rows;
  private final long[] lineNumbers;
  private final Map<SampleId, Integer> index;

  private SampleTable(String file, List<String> columns, List<SampleId> ids, List<String[]> rows, long[] lines) {
    this.file = file;
    this.columns = List.copyOf(columns);
    this.ids = List.copyOf(ids);
    this.rows = rows;
    this.lineNumbers = lines;
    this.index = new HashMap<>();
    for (int i = 0; i < ids.size(); i++) {
      index.put(ids.get(i), i);
    }
  }

  /** True for the tokens that mean "missing": {@code NA}, {@code -9}, {@code NaN} (case-insensitive). */
  public static boolean isMissing(String token) {
    return token.equalsIgnoreCase("NA") || token.equals("-9") || token.equalsIgnoreCase("NaN");
  }

  public static SampleTable read(String path, Configuration conf) {
    try (BufferedReader in = FileSystems.openText(path, conf)) {
      return parse(path, in);
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + path, e);
    }
  }

  /** Parses a table from a reader; {@code file} names it in error messages. */
  public static SampleTable parse(String file, BufferedReader in) throws IOException {
    String line;
    long lineNo = 0;
    String[] header = null;
    while ((line = in.readLine()) != null) {
      lineNo++;
      if (!line.isBlank()) {
        header = line.trim().split("\\s+");
        break;
      }
    }
    if (header == null) {
      throw BadInputException.inFile(file, "empty file (a header line 'FID IID ...' is expected)");
    }
    if (header.length < 3 || !header[0].equalsIgnoreCase("FID") || !header[1].equalsIgnoreCase("IID")) {
      throw BadInputException.atLine(file, lineNo,
          "header must start with 'FID IID' followed by at least one column, found '" + String.join(" ", header) + "'");
    }
    List<String> columns = Arrays.asList(header).subList(2, header.length);
    Map<String, Integer> seenColumn = new HashMap<>();
    for (int c = 0; c < columns.size(); c++) {
      Integer before = seenColumn.put(columns.get(c), c);
      if (before != null) {
        throw BadInputException.atLine(file, lineNo, "column name '" + columns.get(c) + "' appears twice in the header");
      }
    }
    List<SampleId> ids = new ArrayList<>();
    List<String[]> rows = new ArrayList<>();
    List<Long> lines = new ArrayList<>();
    Map<SampleId, Long> seen = new HashMap<>();
    while ((line = in.readLine()) != null) {
      lineNo++;
      if (line.isBlank()) {
        continue;
      }
      String[] f = line.trim().split("\\s+");
      if (f.length != header.length) {
        throw BadInputException.atLine(file, lineNo,
            "expected " + header.length + " fields like the header, found " + f.length);
      }
      SampleId id = new SampleId(f[0], f[1]);
      Long first = seen.putIfAbsent(id, lineNo);
      if (first != null) {
        throw BadInputException.atLine(file, lineNo,
            "sample " + f[0] + " " + f[1] + " is listed twice (first at line " + first + ")");
      }
      ids.add(id);
      rows.add(Arrays.copyOfRange(f, 2, f.length));
      lines.add(lineNo);
    }
    long[] ln = new long[lines.size()];
    for (int i = 0; i < ln.length; i++) {
      ln[i] = lines.get(i);
    }
    return new SampleTable(file, columns, ids, rows, ln);
  }

  public String file() {
    return file;
  }

  /** The column names after FID and IID. */
  public List<String> columns() {
    return columns;
  }

  public List<SampleId> ids() {
    return ids;
  }

  public int size() {
    return ids.size();
  }

  /** Row of a sample, or -1. */
  public int rowOf(SampleId id) {
    Integer r = index.get(id);
    return r == null ? -1 : r;
  }

  /** The position of a named column, or a BadInputException listing the columns there are. */
  public int column(String name, String option) {
    int c = columns.indexOf(name);
    if (c < 0) {
      throw BadInputException.inFile(file, option + " column '" + name + "' not found; columns are " + columns);
    }
    return c;
  }

  /** The raw token at (row, column). */
  public String token(int row, int column) {
    return rows.get(row)[column];
  }

  /** A column as numbers, NaN where missing; a non-numeric value names file:line and the column. */
  public double[] numeric(int column) {
    double[] v = new double[rows.size()];
    for (int r = 0; r < v.length; r++) {
      String t = rows.get(r)[column];
      if (isMissing(t)) {
        v[r] = Double.NaN;
        continue;
      }
      try {
        v[r] = Double.parseDouble(t);
      } catch (NumberFormatException e) {
        throw BadInputException.atLine(file, lineNumbers[r],
            "column '" + columns.get(column) + "': '" + t + "' is not a number (missing values are NA or -9)");
      }
      if (!Double.isFinite(v[r])) {
        throw BadInputException.atLine(file, lineNumbers[r],
            "column '" + columns.get(column) + "': '" + t + "' is not a finite number");
      }
    }
    return v;
  }

  /** A column as category labels, null where missing. */
  public String[] categorical(int column) {
    String[] v = new String[rows.size()];
    for (int r = 0; r < v.length; r++) {
      String t = rows.get(r)[column];
      v[r] = isMissing(t) ? null : t;
    }
    return v;
  }
}
