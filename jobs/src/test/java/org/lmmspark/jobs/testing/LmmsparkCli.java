package org.lmmspark.jobs.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.lmmspark.jobs.cli.Lmmspark;

/** The real entry point run as a user runs it, for tests that check its exit code and what it printed on stderr. */
public final class LmmsparkCli {
  private LmmsparkCli() {}

  /**
   * Runs {@code lmmspark ARGS}, asserts its exit code is {@code expectedExit} (the message shows stderr when it
   * is not) and returns what it wrote on stderr, e.g. the one {@code lmmspark: error: …} line of bad input.
   */
  public static String run(int expectedExit, String... args) {
    PrintStream saved = System.err;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
    int exit;
    try {
      exit = Lmmspark.run(args);
    } finally {
      System.setErr(saved);
    }
    String err = buf.toString(StandardCharsets.UTF_8);
    assertEquals(expectedExit, exit, err);
    return err;
  }
}
