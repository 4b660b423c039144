package org.lmmspark.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlinkWriterTest {
  private static final Configuration CONF = new Configuration();

  @TempDir Path dir;

  private static List<PlinkWriter.Sample> samples(int n) {
    List<PlinkWriter.Sample> s = new ArrayList<>();
    for (int j = 0; j < n; j++) {
      s.add(new PlinkWriter.Sample("f" + j, "i" + j, "0", "0", 1 + j % 2, "-9"));
    }
    return s;
  }

  /**
   * The PLINK 1.9 documentation's layout, by hand: calls (A1 counts) 2, 1, 0, missing, 2 have the
   * codes 00, 10, 11, 01, 00; sample j at bits 2j..2j+1 of its byte, so byte 0 is
   * 0b01_11_10_00 = 0x78 and byte 1 holds sample 4 (00) and zero padding.
   */
  @Test
  void tinyFilesetMatchesTheFormatByHand() throws IOException {
    String prefix = dir.resolve("tiny").toString();
    try (PlinkWriter w = PlinkWriter.create(prefix, samples(5), CONF)) {
      w.write(new PlinkWriter.Variant("1", "rs1", 0.000123, 123, "A", "G"), new byte[] {2, 1, 0, -1, 2});
      w.write(new PlinkWriter.Variant("22", "rs2", 51.2, 51_200_000, "T", "C"), new byte[] {0, 0, 0, 0, 1});
      w.commit();
    }
    byte[] bed = Files.readAllBytes(Path.of(prefix + ".bed"));
    // sample 4 of variant 2 is heterozygous (10): byte 1 = 0b10
    assertArrayEquals(new byte[] {0x6c, 0x1b, 0x01, 0x78, 0x00, (byte) 0xff, 0x02}, bed);
    assertEquals(List.of("1\trs1\t0.000123\t123\tA\tG", "22\trs2\t51.2\t51200000\tT\tC"),
        Files.readAllLines(Path.of(prefix + ".bim")));
    List<String> fam = Files.readAllLines(Path.of(prefix + ".fam"));
    assertEquals(5, fam.size());
    assertEquals("f0\ti0\t0\t0\t1\t-9", fam.get(0));
  }

  /** Random calls over sizes that exercise every padding (N mod 4), decoded plainly bit by bit. */
  @Test
  void randomCallsRoundTripThroughAPlainDecoder() throws IOException {
    Random rnd = new Random(42);
    for (int n : new int[] {1, 2, 3, 4, 5, 13, 64, 101}) {
      int m = 17;
      String prefix = dir.resolve("r" + n).toString();
      byte[][] calls = new byte[m][n];
      try (PlinkWriter w = PlinkWriter.create(prefix, samples(n), CONF)) {
        for (int v = 0; v < m; v++) {
          for (int j = 0; j < n; j++) {
            calls[v][j] = (byte) (rnd.nextInt(4) - 1); // -1 missing, 0, 1, 2
          }
          w.write(new PlinkWriter.Variant("3", "v" + v, v * 0.01, 1000L * (v + 1), "A", "C"), calls[v]);
        }
        assertEquals(m, w.variantsWritten());
        w.commit();
      }
      byte[] bed = Files.readAllBytes(Path.of(prefix + ".bed"));
      int bpv = (n + 3) / 4;
      assertEquals(3 + (long) m * bpv, bed.length, "size 3 + M*ceil(N/4) for N=" + n);
      for (int v = 0; v < m; v++) {
        for (int j = 0; j < n; j++) {
          int b = bed[3 + v * bpv + j / 4] & 0xff;
          int code = (b >> (2 * (j % 4))) & 3;
          int decoded = switch (code) {
            case 0 -> 2; // 00 hom A1
            case 1 -> -1; // 01 missing
            case 2 -> 1; // 10 het
            default -> 0; // 11 hom A2
          };
          assertEquals(calls[v][j], decoded, "N=" + n + " variant " + v + " sample " + j);
        }
        for (int j = n; j < 4 * bpv; j++) {
          int b = bed[3 + v * bpv + j / 4] & 0xff;
          assertEquals(0, (b >> (2 * (j % 4))) & 3, "padding bits are 00");
        }
      }
      assertEquals(m, Files.readAllLines(Path.of(prefix + ".bim")).size());
      assertEquals(n, Files.readAllLines(Path.of(prefix + ".fam")).size());
    }
  }

  @Test
  void nothingAppearsWithoutCommit() throws IOException {
    String prefix = dir.resolve("gone").toString();
    try (PlinkWriter w = PlinkWriter.create(prefix, samples(3), CONF)) {
      w.write(new PlinkWriter.Variant("1", "a", 0, 1, "A", "C"), new byte[] {0, 1, 2});
      assertFalse(Files.exists(Path.of(prefix + ".bed")), "no final name before commit");
    }
    try (Stream<Path> left = Files.list(dir)) {
      assertEquals(List.of(), left.toList(), "temporary files removed on close without commit");
    }
  }

  @Test
  void sharedOutputsAreCommittedByTheCaller() throws IOException {
    String prefix = dir.resolve("shared").toString();
    try (AtomicOutputs out = new AtomicOutputs(CONF)) {
      try (PlinkWriter w = new PlinkWriter(prefix, samples(2), out)) {
        w.write(new PlinkWriter.Variant("1", "a", 0, 1, "A", "C"), new byte[] {2, 0});
        w.finish();
        assertThrows(IllegalStateException.class, w::commit);
      }
      assertFalse(Files.exists(Path.of(prefix + ".bed")), "not before the caller commits");
      out.commit();
    }
    // calls 2, 0 -> codes 00, 11 -> 0b1100
    assertArrayEquals(new byte[] {0x6c, 0x1b, 0x01, 0b1100}, Files.readAllBytes(Path.of(prefix + ".bed")));
    assertTrue(Files.exists(Path.of(prefix + ".fam")));
  }

  @Test
  void misuseIsRejected() {
    String prefix = dir.resolve("bad").toString();
    assertThrows(IllegalArgumentException.class, () -> new PlinkWriter.Sample("f 1", "i", "0", "0", 1, "-9"));
    assertThrows(IllegalArgumentException.class, () -> new PlinkWriter.Sample("f", "i", "0", "0", 3, "-9"));
    assertThrows(IllegalArgumentException.class, () -> new PlinkWriter.Variant("1", "", 0, 1, "A", "C"));
    assertThrows(IllegalArgumentException.class, () -> PlinkWriter.create(prefix, List.of(), CONF));
    try (PlinkWriter w = PlinkWriter.create(prefix, samples(3), CONF)) {
      PlinkWriter.Variant v = new PlinkWriter.Variant("1", "a", 0, 1, "A", "C");
      assertThrows(IllegalArgumentException.class, () -> w.write(v, new byte[] {0, 1}));
      assertThrows(IllegalArgumentException.class, () -> w.write(v, new byte[] {0, 1, 3}));
      assertThrows(IllegalArgumentException.class, () -> w.writePacked(v, new byte[2]));
    }
  }

  @Test
  void centimorgansAreWrittenAsPlainDecimals() {
    assertEquals("0", PlinkWriter.formatCm(0));
    assertEquals("249.250621", PlinkWriter.formatCm(249250621 / 1e6));
    assertEquals("0.000001", PlinkWriter.formatCm(1 / 1e6));
    assertEquals("-1.5", PlinkWriter.formatCm(-1.5));
  }
}
