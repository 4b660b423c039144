package org.lmmspark.engine;

/**
 * Bad input from the user: a malformed file, an unknown sample, a constant phenotype. The message
 * names what is wrong and where (file, line, column, sample) and is printed as one line by the
 * command line, which exits with code 2. API misuse is an {@link IllegalArgumentException}; a bug is
 * an {@link IllegalStateException}.
 */
public class BadInputException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public BadInputException(String message) {
    super(message);
  }

  public BadInputException(String message, Throwable cause) {
    super(message, cause);
  }

  /** A problem at a line of a text file, formatted the same way everywhere: {@code file:line: what}. */
  public static BadInputException atLine(String file, long line, String what) {
    return new BadInputException(file + ":" + line + ": " + what);
  }

  /** Longest excerpt of an input value quoted in a message. */
  public static final int EXCERPT_CHARS = 40;

  /**
   * A value from an input, fit to quote in a one-line message: at most {@value #EXCERPT_CHARS}
   * characters (then {@code …} and the full length), control and invisible characters as a backslash-u escape.
   */
  public static String excerpt(String value) {
    StringBuilder sb = new StringBuilder();
    int n = Math.min(value.length(), EXCERPT_CHARS);
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT) { // FORMAT: BOM, zero-width marks
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    if (value.length() > n) {
      sb.append("… (").append(value.length()).append(" characters)");
    }
    return sb.toString();
  }

  /** A problem with a whole file: {@code file: what}. */
  public static BadInputException inFile(String file, String what) {
    return new BadInputException(file + ": " + what);
  }
}
