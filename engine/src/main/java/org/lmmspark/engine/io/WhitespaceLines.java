package org.lmmspark.engine.io;

import java.io.BufferedReader;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;

/**
 * Reads a whitespace-separated text file line by line, skipping blank lines, and hands each line's
 * fields to a visitor with its 1-based line number (for errors of the form {@code file:line: what}).
 * Lines are bounded by {@link BoundedLineReader} and fields by {@link #MAX_FIELD_CHARS}: IDs, codes
 * and numbers are short, so a longer field is a malformed file, reported with a short excerpt.
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
    try (BufferedReader r = FileSystems.openText(path, conf)) {
      String line;
      long lineNo = 0;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (!line.isBlank()) {
          String[] fields = line.trim().split("\\s+");
          for (int i = 0; i < fields.length; i++) {
            if (fields[i].length() > MAX_FIELD_CHARS) {
              throw BadInputException.atLine(path, lineNo, "field " + (i + 1) + " is longer than " + MAX_FIELD_CHARS
                  + " characters: '" + BadInputException.excerpt(fields[i]) + "'");
            }
          }
          visitor.line(lineNo, fields);
        }
      }
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
  }
}
