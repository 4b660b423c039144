package org.lmmspark.engine.model;

import java.io.BufferedReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.FileSystems;

/**
 * A data table for model formulas, as R's {@code read.csv}/{@code read.table(header = TRUE)} reads
 * it: a header line naming the columns, then one record per line, fields separated by commas when the
 * header has a comma, else by whitespace. {@code NA}, {@code .} and empty fields are missing. A column
 * whose every present value parses as a number is numeric; any other is text, and a text column
 * is a factor in formulas (R ≥ 4.0 {@code stringsAsFactors = FALSE}, then {@code lmer} turning
 * characters into factors).
 */
public final class DataTable {
  private final String source;
  private final List<String> names;
  private final Map<String, Integer> index = new HashMap<>();
  private final String[][] cells;
  private final int rows;
  /** The file line of each record (1-based), for messages. */
  private final long[] lines;

  private DataTable(String source, List<String> names, List<String[]> records, long[] lines) {
    this.source = source;
    this.lines = lines;
    this.names = List.copyOf(names);
    for (int j = 0; j < names.size(); j++) {
      if (index.put(names.get(j), j) != null) {
        throw BadInputException.inFile(source, "column '" + BadInputException.excerpt(names.get(j))
            + "' appears twice in the header");
      }
    }
    this.rows = records.size();
    this.cells = new String[names.size()][rows];
    for (int i = 0; i < rows; i++) {
      String[] r = records.get(i);
      for (int j = 0; j < names.size(); j++) {
        cells[j][i] = isMissing(r[j]) ? null : r[j];
      }
    }
  }

  /** Reads a CSV or whitespace-separated table with a header (any Hadoop path). */
  public static DataTable read(String path, Configuration conf) {
    try (BufferedReader r = FileSystems.openText(path, conf)) {
      String header = null;
      long lineNo = 0;
      String line;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (!line.isBlank()) {
          header = line;
          break;
        }
      }
      if (header == null) {
        throw BadInputException.inFile(path, "empty file: a header line naming the columns is needed");
      }
      boolean csv = header.contains(",");
      List<String> names = new ArrayList<>();
      for (String f : split(header, csv)) {
        names.add(bounded(unquote(f), path, lineNo));
      }
      List<String[]> records = new ArrayList<>();
      List<Long> lines = new ArrayList<>();
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        String[] f = split(line, csv);
        if (f.length != names.size()) {
          throw BadInputException.atLine(path, lineNo, f.length + " fields, the header names " + names.size());
        }
        for (int j = 0; j < f.length; j++) {
          f[j] = bounded(unquote(f[j]), path, lineNo);
        }
        records.add(f);
        lines.add(lineNo);
      }
      return new DataTable(path, names, records, lines.stream().mapToLong(Long::longValue).toArray());
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
  }

  /** A table from columns held in memory (tests, simulations). */
  public static DataTable of(String source, List<String> names, List<String[]> records) {
    long[] lines = new long[records.size()];
    for (int i = 0; i < lines.length; i++) {
      lines[i] = i + 2; // as if read from a file with a header line
    }
    return new DataTable(source, names, records, lines);
  }

  /** A field within {@link org.lmmspark.engine.io.WhitespaceLines#MAX_FIELD_CHARS}, or an error quoting an excerpt. */
  private static String bounded(String field, String path, long lineNo) {
    if (field.length() > org.lmmspark.engine.io.WhitespaceLines.MAX_FIELD_CHARS) {
      throw BadInputException.atLine(path, lineNo, "a field is longer than "
          + org.lmmspark.engine.io.WhitespaceLines.MAX_FIELD_CHARS + " characters: '" + BadInputException.excerpt(field) + "'");
    }
    return field;
  }

  /**
   * Where a column first holds a value that is not a finite number, e.g. {@code line 7: 'NaN'}, for
   * messages about a column that must be numeric; empty when there is none.
   */
  public String firstNonNumber(String column) {
    String[] raw = raw(column);
    for (int i = 0; i < rows; i++) {
      if (raw[i] != null && Double.isNaN(parseFinite(raw[i]))) {
        return "line " + lines[i] + ": '" + BadInputException.excerpt(raw[i]) + "'";
      }
    }
    return "";
  }

  private static String[] split(String line, boolean csv) {
    return csv ? line.split(",", -1) : line.trim().split("\\s+");
  }

  private static String unquote(String f) {
    String t = f.trim();
    if (t.length() >= 2 && (t.startsWith("\"") && t.endsWith("\"") || t.startsWith("'") && t.endsWith("'"))) {
      return t.substring(1, t.length() - 1);
    }
    return t;
  }

  private static boolean isMissing(String v) {
    return v.isEmpty() || v.equals("NA") || v.equals(".");
  }

  /** The file line of record {@code i} (1-based). */
  public long line(int i) {
    return lines[i];
  }

  public String source() {
    return source;
  }

  public List<String> names() {
    return names;
  }

  public int rows() {
    return rows;
  }

  public boolean has(String column) {
    return index.containsKey(column);
  }

  /** The raw values of a column (null = missing); not a copy. */
  String[] raw(String column) {
    Integer j = index.get(column);
    if (j == null) {
      throw BadInputException.inFile(source, "no column '" + column + "' (columns: " + String.join(", ", names) + ")");
    }
    return cells[j];
  }

  /**
   * Each column parsed once: its numbers (NaN where missing), or the index of its first present value
   * that is not a finite number. A model frame asks a column whether it is numeric and for its numbers
   * several times (response, fixed effect, slope); parsing is most of a short fit's frame.
   */
  private record Parsed(double[] values, int firstBad) {}

  /** Concurrent: a model frame may build Z on a second thread while it builds X, both asking for a slope. */
  private final Map<String, Parsed> parsed = new java.util.concurrent.ConcurrentHashMap<>();

  private Parsed parsed(String column) {
    Parsed known = parsed.get(column);
    if (known != null) {
      return known;
    }
    raw(column); // an unknown column fails here, outside the map's computation
    return parsed.computeIfAbsent(column, this::parseColumn);
  }

  private Parsed parseColumn(String column) {
    String[] raw = raw(column);
    double[] out = new double[rows];
    int bad = -1;
    for (int i = 0; i < rows && bad < 0; i++) {
      if (raw[i] == null) {
        out[i] = Double.NaN;
        continue;
      }
      double d = parseFinite(raw[i]);
      if (Double.isNaN(d)) {
        bad = i;
      } else {
        out[i] = d;
      }
    }
    return new Parsed(bad < 0 ? out : null, bad);
  }

  /** Whether every present value of the column parses as a finite number. */
  public boolean isNumeric(String column) {
    return parsed(column).values() != null;
  }

  /** The column as numbers (NaN where missing; a copy); bad input when a present value is not a number. */
  double[] numeric(String column) {
    Parsed p = parsed(column);
    if (p.values() == null) {
      String[] raw = raw(column);
      int i = p.firstBad();
      // Data line numbers: the header is line 1 (blank lines aside).
      throw BadInputException.atLine(source, lines[i], "column '" + column + "' must be numeric, but has '"
          + BadInputException.excerpt(raw[i]) + "' (missing values are NA, . or empty; NaN and Inf are not accepted)");
    }
    return p.values().clone();
  }

  /** Powers of ten that are exact doubles (10^22 is the last). */
  private static final double[] EXACT_POWERS_OF_TEN = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

  /**
   * The value {@link Double#parseDouble} gives a field, or NaN when that is not a finite number. Plain decimals
   * ({@code [+-]digits[.digits]}, digits forming an integer below 2^53, at most 22 after the point: what tables
   * mostly hold) are read here as {@code digits / 10^k}, one division of two exact doubles and so correctly rounded,
   * the same bits as the JDK's own fast path for them (Clinger 1990); any other text goes to {@link Double#parseDouble}.
   * A short fit parses each column once and mostly before the JDK's parser is compiled: this loop is the project's
   * code, which {@code scripts/lmmspark} compiles early.
   */
  static double parseFinite(String v) {
    int n = v.length();
    int i = 0;
    boolean negative = false;
    if (n > 0 && (v.charAt(0) == '-' || v.charAt(0) == '+')) {
      negative = v.charAt(0) == '-';
      i = 1;
    }
    long digits = 0;
    int count = 0;
    int afterPoint = -1;
    for (; i < n && count <= 16; i++) {
      char c = v.charAt(i);
      if (c >= '0' && c <= '9') {
        digits = 10 * digits + (c - '0');
        count++;
        afterPoint += afterPoint >= 0 ? 1 : 0;
      } else if (c == '.' && afterPoint < 0) {
        afterPoint = 0;
      } else {
        break;
      }
    }
    if (i == n && count > 0 && digits < 1L << 53 && afterPoint < EXACT_POWERS_OF_TEN.length) {
      double d = afterPoint > 0 ? digits / EXACT_POWERS_OF_TEN[afterPoint] : digits;
      return negative ? -d : d;
    }
    try {
      double d = Double.parseDouble(v);
      return Double.isFinite(d) ? d : Double.NaN;
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }
}
