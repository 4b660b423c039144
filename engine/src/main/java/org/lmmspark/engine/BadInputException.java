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

  /** A problem with a whole file: {@code file: what}. */
  public static BadInputException inFile(String file, String what) {
    return new BadInputException(file + ": " + what);
  }
}
