package org.lmmspark.engine.io;

import java.io.BufferedReader;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;

/**
 * Reads a whitespace-separated text file line by line, skipping blank lines, and hands each line's
 * fields to a visitor with its 1-based line number (for errors of the form {@code file:line: what}).
 */
public final class WhitespaceLines {
  private WhitespaceLines() {}

  /** What to do with one non-blank line. */
  @FunctionalInterface
  public interface Visitor {
    void line(long lineNo, String[] fields);
  }

  public static void read(String path, Configuration conf, Visitor visitor) {
    try (BufferedReader r = FileSystems.openText(path, conf)) {
      String line;
      long lineNo = 0;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (!line.isBlank()) {
          visitor.line(lineNo, line.trim().split("\\s+"));
        }
      }
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
  }
}
