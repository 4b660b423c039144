package org.lmmspark.engine.io;

import java.io.BufferedReader;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;

/**
 * Reads a whitespace-separated text file line by line, skipping blank lines, and hands each line's
 * fields to a visitor with its 1-based line number (for errors of the form {@code file:line: what}).
 * Lines are bounded by {@link BoundedLineReader} and fields by {@link #MAX_FIELD_CHARS}: IDs, codes
 * and numbers are short, so a longer field is a malformed file, reported with a short excerpt. Gzip
 * data is decompressed ({@link FileSystems#openText}). {@link #readTable} adds a header line and a
 * field count per row equal to the header's, as the ldsc formats (LD scores, annotations, summary
 * statistics) have.
 */
public final class WhitespaceLines {
  private WhitespaceLines() {}

  /** What to do with one non-blank line. */
  @FunctionalInterface
  public interface Visitor {
    void line(long lineNo, String[] fields);
  }

  /** Longest field accepted. */
  public static final int MAX_FIELD_CHARS = 4096;

  public static void read(String path, Configuration conf, Visitor visitor) {
    scan(path, conf, visitor, false);
  }

  /** Visits the non-blank lines of {@code path}, or only the first of them when {@code firstOnly}. */
  private static void scan(String path, Configuration conf, Visitor visitor, boolean firstOnly) {
    try (BufferedReader r = FileSystems.openText(path, conf)) {
      String line;
      long lineNo = 0;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (!line.isBlank()) {
          visitor.line(lineNo, fields(path, lineNo, line));
          if (firstOnly) {
            return;
          }
        }
      }
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
  }

  /**
   * Reads a table with a header: its first non-blank line goes to {@code header}, every later one to
   * {@code rows}, which must have as many fields as the header. An empty file is an error saying
   * {@code what} was expected (e.g. "summary statistics").
   */
  public static void readTable(String path, Configuration conf, String what, Visitor header, Visitor rows) {
    int[] width = {-1};
    read(path, conf, (lineNo, f) -> {
      if (width[0] < 0) {
        width[0] = f.length;
        header.line(lineNo, f);
      } else if (f.length != width[0]) {
        throw BadInputException.atLine(path, lineNo, f.length + " fields, the header has " + width[0]);
      } else {
        rows.line(lineNo, f);
      }
    });
    if (width[0] < 0) {
      throw BadInputException.inFile(path, "empty file (expected " + what + " with a header line)");
    }
  }

  /** The fields of the first non-blank line of a table (its header), without reading the rest. */
  public static String[] header(String path, Configuration conf, String what) {
    String[][] header = new String[1][];
    scan(path, conf, (lineNo, f) -> header[0] = f, true);
    if (header[0] == null) {
      throw BadInputException.inFile(path, "empty file (expected " + what + " with a header line)");
    }
    return header[0];
  }

  /**
   * A finite number from field {@code value} of {@code column} at {@code path:lineNo}; a value that is
   * not a number, or is infinite or NaN, is an error quoting at most a short excerpt of it.
   */
  public static double finite(String value, String path, long lineNo, String column) {
    double x;
    try {
      x = Double.parseDouble(value);
    } catch (NumberFormatException e) {
      throw BadInputException.atLine(path, lineNo, column + " is not a number: '" + BadInputException.excerpt(value) + "'");
    }
    if (!Double.isFinite(x)) {
      throw BadInputException.atLine(path, lineNo, column + " is not a finite number: '" + BadInputException.excerpt(value)
          + "'");
    }
    return x;
  }

  private static String[] fields(String path, long lineNo, String line) {
    String[] fields = line.trim().split("\\s+");
    for (int i = 0; i < fields.length; i++) {
      if (fields[i].length() > MAX_FIELD_CHARS) {
        throw BadInputException.atLine(path, lineNo, "field " + (i + 1) + " is longer than " + MAX_FIELD_CHARS
            + " characters: '" + BadInputException.excerpt(fields[i]) + "'");
      }
    }
    return fields;
  }
}
