package org.lmmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.testing.RefData;

/** Runs {@code lmmspark pedigree-grm} end to end on Mrode's Example 2.1 (refdata/mrode-pedigree). */
class PedigreeGrmCommandTest {

  @Test
  void writesMrodeAInGctaFormatWithInbreedingAndInverse(@TempDir Path tmp) throws IOException {
    Path dir = RefData.dir("mrode-pedigree");
    String prefix = tmp.resolve("mrode").toString();
    int code = Lmmspark.run("pedigree-grm", "--pedigree", dir.resolve("pedigree.txt").toString(), "--out", prefix,
        "--inverse");
    assertEquals(0, code);

    Grm a = GctaGrmFiles.read(prefix, new Configuration());
    assertEquals(6, a.size());
    assertNull(a.packedCounts(), "a pedigree A has no .grm.N.bin");
    assertFalse(Files.exists(Path.of(GctaGrmFiles.countsPath(prefix))));
    // A_expected.txt (EXPECTED.md, Mrode Example 2.1); values are exact in float32.
    List<String> rows = Files.readAllLines(dir.resolve("A_expected.txt"));
    for (int i = 0; i < 6; i++) {
      assertEquals(new SampleId(String.valueOf(i + 1), String.valueOf(i + 1)), a.ids().get(i));
      String[] f = rows.get(i).trim().split("\\s+");
      for (int j = 0; j < 6; j++) {
        assertClose(a.get(i, j), Double.parseDouble(f[j]), 1e-7, 0, "A[" + (i + 1) + "," + (j + 1) + "]");
      }
    }

    // EXPECTED.md: animal 5 (and 6) inbred, F = 0.125.
    List<String> inb = Files.readAllLines(Path.of(prefix + ".inbreeding.txt"));
    assertEquals("FID\tIID\tF", inb.get(0));
    assertEquals(7, inb.size());
    double[] expectedF = {0, 0, 0, 0, 0.125, 0.125};
    for (int i = 0; i < 6; i++) {
      String[] f = inb.get(i + 1).split("\t");
      assertEquals(String.valueOf(i + 1), f[1]);
      assertClose(Double.parseDouble(f[2]), expectedF[i], 1e-12, 0, "F of " + (i + 1));
    }

    // EXPECTED.md A⁻¹ row 5: 0, 0.5333, −1, −1, 2.5333, −1.0667; row 6: 0, −1.0667, 0, 0, −1.0667, 2.1333.
    Map<String, Double> ainv = new HashMap<>();
    for (String line : Files.readAllLines(Path.of(prefix + ".Ainv.txt"))) {
      String[] f = line.split(" ");
      int i = Integer.parseInt(f[0]);
      int j = Integer.parseInt(f[1]);
      assertTrue(j <= i, "lower triangle: " + line);
      ainv.put(i + " " + j, Double.parseDouble(f[2]));
    }
    double[] row5 = {0, 0.5333, -1, -1, 2.5333, -1.0667};
    double[] row6 = {0, -1.0667, 0, 0, -1.0667, 2.1333};
    for (int j = 1; j <= 6; j++) {
      assertClose(get(ainv, 5, j), row5[j - 1], 5e-5, 0, "Ainv[5," + j + "]");
      assertClose(get(ainv, 6, j), row6[j - 1], 5e-5, 0, "Ainv[6," + j + "]");
    }
    assertFalse(ainv.containsValue(0.0), "only nonzeros are written");
  }

  @Test
  void badPedigreeExitsWithCode2AndWritesNothing(@TempDir Path tmp) throws IOException {
    Path ped = tmp.resolve("cycle.txt");
    Files.writeString(ped, "id sire dam\na c 0\nb a 0\nc b 0\n");
    String prefix = tmp.resolve("out").toString();
    assertEquals(2, Lmmspark.run("pedigree-grm", "--pedigree", ped.toString(), "--out", prefix));
    Path self = tmp.resolve("self.txt");
    Files.writeString(self, "a 0 0\nb b a\n");
    assertEquals(2, Lmmspark.run("pedigree-grm", "--pedigree", self.toString(), "--out", prefix));
    assertEquals(2, Lmmspark.run("pedigree-grm", "--pedigree", tmp.resolve("missing.txt").toString(), "--out", prefix));
    try (Stream<Path> files = Files.list(tmp)) {
      assertEquals(List.of("cycle.txt", "self.txt"), files.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }

  private static double get(Map<String, Double> lower, int i, int j) {
    return lower.getOrDefault(Math.max(i, j) + " " + Math.min(i, j), 0.0);
  }
}
