package org.lmmspark.engine.io;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import org.lmmspark.engine.BadInputException;

/**
 * A line reader for input tables that cannot be made to exhaust memory or print binary noise: a line
 * longer than {@link #MAX_LINE_CHARS} characters ({@code --pheno /dev/zero}, a binary file, a file
 * with no line breaks) and a NUL character (binary data) are {@link BadInputException}s naming the file
 * and line, and a leading UTF-8 byte-order mark is dropped (editors on Windows write one; it would
 * otherwise become part of the first field, invisibly). Lines end at {@code \n}; a trailing {@code \r}
 * is dropped. Memory: one line plus a 64 KiB buffer.
 */
public final class BoundedLineReader extends BufferedReader {
  /** Longest line accepted: 16 Mi characters (a phenotype table with a million columns still fits). */
  public static final int MAX_LINE_CHARS = 1 << 24;

  private final Reader in;
  private final String path;
  private final int maxLine;
  private final char[] buf = new char[1 << 16];
  private int pos;
  private int end;
  private long lineNo;

  public BoundedLineReader(Reader in, String path) {
    this(in, path, MAX_LINE_CHARS);
  }

  BoundedLineReader(Reader in, String path, int maxLine) {
    super(in, 1);
    this.in = in;
    this.path = path;
    this.maxLine = maxLine;
  }

  @Override
  public String readLine() throws IOException {
    StringBuilder sb = null;
    while (true) {
      if (pos == end) {
        int got = in.read(buf, 0, buf.length);
        if (got <= 0) {
          pos = end = 0;
          return sb == null ? null : finish(sb);
        }
        pos = 0;
        end = got;
      }
      if (sb == null) {
        sb = new StringBuilder();
        lineNo++;
      }
      int start = pos;
      while (pos < end && buf[pos] != '\n') {
        if (buf[pos] == '\0') {
          throw BadInputException.atLine(path, lineNo, "binary data (a NUL character), not a text table");
        }
        pos++;
      }
      if (sb.length() + (pos - start) > maxLine) {
        throw BadInputException.atLine(path, lineNo, "line longer than " + maxLine + " characters; not a text table?");
      }
      sb.append(buf, start, pos - start);
      if (pos < end) {
        pos++; // the '\n'
        return finish(sb);
      }
    }
  }

  private String finish(StringBuilder sb) {
    int len = sb.length();
    if (len > 0 && sb.charAt(len - 1) == '\r') {
      sb.setLength(len - 1);
    }
    if (lineNo == 1 && sb.length() > 0 && sb.charAt(0) == '\uFEFF') {
      sb.deleteCharAt(0);
    }
    return sb.toString();
  }

  /** Raw characters (for parsers that read a whole document, e.g. JSON): no line bounds apply. */
  @Override
  public int read() throws IOException {
    if (pos == end && !fill()) {
      return -1;
    }
    return buf[pos++];
  }

  /** Raw characters (for parsers that read a whole document, e.g. JSON): no line bounds apply. */
  @Override
  public int read(char[] cbuf, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    if (pos == end && !fill()) {
      return -1;
    }
    int n = Math.min(len, end - pos);
    System.arraycopy(buf, pos, cbuf, off, n);
    pos += n;
    return n;
  }

  private boolean fill() throws IOException {
    int got = in.read(buf, 0, buf.length);
    pos = 0;
    end = Math.max(got, 0);
    return got > 0;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
