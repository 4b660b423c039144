package org.lmmspark.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringReader;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.BadInputException;

/** Lines as BufferedReader gives them, a BOM dropped, bounded length, NUL refused, raw reads intact. */
class BoundedLineReaderTest {
  @Test
  void linesBomAndLineEnds() throws IOException {
    BoundedLineReader r = new BoundedLineReader(new StringReader("\uFEFFFID IID\r\na b\n\nlast"), "t.txt");
    assertEquals("FID IID", r.readLine());
    assertEquals("a b", r.readLine());
    assertEquals("", r.readLine());
    assertEquals("last", r.readLine());
    assertNull(r.readLine());
  }

  @Test
  void tooLongAndBinaryLinesNameFileAndLine() {
    BadInputException longLine = assertThrows(BadInputException.class,
        () -> new BoundedLineReader(new StringReader("ok\n" + "x".repeat(100)), "t.txt", 50).lines().count());
    assertTrue(longLine.getMessage().startsWith("t.txt:2: line longer than 50"), longLine.getMessage());
    BadInputException nul = assertThrows(BadInputException.class,
        () -> new BoundedLineReader(new StringReader("a\u0000b\n"), "t.txt").readLine());
    assertTrue(nul.getMessage().startsWith("t.txt:1: binary data"), nul.getMessage());
  }

  @Test
  void rawReadsSeeEveryCharacter() throws IOException {
    BoundedLineReader r = new BoundedLineReader(new StringReader("{\"a\": 1}\n"), "t.json");
    char[] c = new char[64];
    int n = r.read(c, 0, c.length);
    assertEquals("{\"a\": 1}\n", new String(c, 0, n));
    assertEquals(-1, r.read());
  }

  @Test
  void excerptsAreShortAndVisible() {
    String e = BadInputException.excerpt("\uFEFF" + "y".repeat(1000));
    assertTrue(e.startsWith("\\ufeffyyy") && e.endsWith("(1001 characters)") && e.length() < 80, e);
  }
}
