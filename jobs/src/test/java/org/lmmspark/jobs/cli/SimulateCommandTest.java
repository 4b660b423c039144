package org.lmmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.RefData;

class SimulateCommandTest {
  private static final String[] EXTENSIONS =
      {".bed", ".bim", ".fam", ".pheno", ".covar", ".qcovar", ".ped", ".truth.tsv", ".truth.json", ".log"};

  @TempDir Path dir;

  @Test
  void writesTheWholeDataSet() throws IOException {
    String prefix = dir.resolve("out/sim").toString();
    int code = Lmmspark.run("simulate", "--out", prefix, "--samples", "120", "--variants", "300", "--causal", "20",
        "--h2", "0.4", "--prevalence", "0.3", "--seed", "5", "--populations", "2", "--families", "10", "--threads", "2");
    assertEquals(0, code);
    for (String ext : EXTENSIONS) {
      assertTrue(Files.size(Path.of(prefix + ext)) > 0, prefix + ext);
    }
    assertEquals(3 + 300L * 30, Files.size(Path.of(prefix + ".bed")), "3 + M*ceil(N/4)");
    assertEquals(120, Files.readAllLines(Path.of(prefix + ".fam")).size());
    assertEquals(300, Files.readAllLines(Path.of(prefix + ".bim")).size());
    String json = Files.readString(Path.of(prefix + ".truth.json"));
    assertTrue(json.contains("\"h2\": 0.4,"), json);
    assertTrue(json.contains("\"families\": {\"count\": 10,"), json);
    List<String> log = Files.readAllLines(Path.of(prefix + ".log"));
    assertTrue(log.get(1).startsWith("command: lmmspark simulate --out "), log.get(1));

    // The same command again gives the same bytes.
    String again = dir.resolve("again/sim").toString();
    assertEquals(0, Lmmspark.run("simulate", "--out", again, "--samples", "120", "--variants", "300", "--causal", "20",
        "--h2", "0.4", "--prevalence", "0.3", "--seed", "5", "--populations", "2", "--families", "10", "--threads", "1"));
    for (String ext : EXTENSIONS) {
      if (!ext.equals(".log")) {
        assertArrayEquals(Files.readAllBytes(Path.of(prefix + ext)), Files.readAllBytes(Path.of(again + ext)), ext);
      }
    }
  }

  @Test
  void badOptionsExitWithCode2AndWriteNothing() throws IOException {
    String prefix = dir.resolve("bad").toString();
    assertEquals(2, Lmmspark.run("simulate", "--out", prefix, "--samples", "100", "--variants", "10"));
    assertEquals(2, Lmmspark.run("simulate", "--out", prefix, "--samples", "100", "--variants", "100", "--h2", "1.5"));
    assertEquals(2, Lmmspark.run("simulate", "--out", prefix, "--samples", "100", "--variants", "100", "--families", "30"));
    assertEquals(2, Lmmspark.run("simulate", "--out", prefix, "--samples", "many", "--variants", "100"));
    assertEquals(2, Lmmspark.run("simulate", "--samples", "100", "--variants", "100"));
    assertEquals(2, Lmmspark.run("simulate", "--out", prefix, "--samples", "100", "--variants", "100", "--bogus"));
    try (var files = Files.list(dir)) {
      assertFalse(files.findAny().isPresent(), "nothing written");
    }
  }

  /**
   * sample-data/ is exactly what the command in sample-data/README.md makes: rerun it and compare
   * bytes (a reproducibility check, not a correctness one; SimulatorTest checks the model).
   */
  @Test
  void sampleDataIsWhatTheCommandMakes() throws IOException {
    Path sample = RefData.projectRoot().resolve("sample-data");
    Assumptions.assumeTrue(Files.exists(sample.resolve("sim.bed")), "SKIPPED: no sample-data/sim.bed at " + sample);
    String prefix = dir.resolve("sim").toString();
    assertEquals(0, Lmmspark.run("simulate", "--out", prefix, "--samples", "800", "--variants", "8000", "--seed", "2024",
        "--causal", "100", "--h2", "0.5", "--prevalence", "0.2", "--populations", "3", "--fst", "0.05", "--families", "40",
        "--missing-rate", "0.005", "--pheno-missing-rate", "0.01", "--monomorphic", "16"));
    for (String ext : EXTENSIONS) {
      if (!ext.equals(".log")) {
        assertArrayEquals(Files.readAllBytes(sample.resolve("sim" + ext)), Files.readAllBytes(Path.of(prefix + ext)),
            "sample-data/sim" + ext + " differs from a fresh run: regenerate it with the command in sample-data/README.md");
      }
    }
  }
}
