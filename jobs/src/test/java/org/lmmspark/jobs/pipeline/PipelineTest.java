package org.lmmspark.jobs.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.jobs.cli.Lmmspark;

/**
 * The pipeline as a user runs it ({@code lmmspark run --config}): every step's outputs appear; a
 * second run into the same folder is refused; {@code --resume} skips unchanged steps and redoes those
 * whose inputs changed; a failing step leaves none of its outputs. The numbers of each step are
 * checked by the steps' own tests against GCTA/PLINK, GEMMA and EMMAX.
 */
class PipelineTest {
  @Test
  void runsRefusesResumesAndFailsCleanly(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    Path config = dir.resolve("run.conf");
    Files.writeString(config, String.join("\n",
        "bfile = " + ref.resolve("example_3chr"),
        "pheno = pheno.txt",
        "pheno-name = Y2",
        "qcovar = " + ref.resolve("covariates.txt"),
        "out = out",
        "loco = true", ""));
    Path pheno = dir.resolve("pheno.txt");
    Files.copy(ref.resolve("phenotype.txt"), pheno);
    Path out = dir.resolve("out");

    String first = run(0, "run", "--config", config.toString(), "--master", "local[2]");
    assertTrue(first.contains("[grm] done") && first.contains("[reml] done") && first.contains("[assoc] done"), first);
    for (String f : new String[] {"grm.grm.bin", "grm.chr1.grm.bin", "grm.chr3.grm.bin", "reml.hsq", "assoc.assoc.tsv.gz",
        "assoc.assoc.parquet", "assoc.report.md", "assoc.manhattan.png", "assoc.qq.png", "run.log"}) {
      assertTrue(Files.exists(out.resolve(f)), f);
    }

    run(2, "run", "--config", config.toString(), "--master", "local[2]");

    // A changed phenotype file: the GRM is kept, REML and association are redone.
    Files.setLastModifiedTime(pheno, FileTime.fromMillis(Files.getLastModifiedTime(pheno).toMillis() + 60_000));
    String resumed = run(0, "run", "--config", config.toString(), "--resume", "--master", "local[2]");
    assertTrue(resumed.contains("[grm] skipped"), resumed);
    assertTrue(resumed.contains("[reml] done") && resumed.contains("[assoc] done"), resumed);

    // Bad input (an unknown trait) fails before any step runs, naming the file, and writes nothing.
    Files.writeString(config, Files.readString(config).replace("pheno-name = Y2", "pheno-name = Y9").replace("out = out", "out = out2"));
    String bad = run(2, "run", "--config", config.toString(), "--master", "local[2]");
    assertTrue(bad.contains("Y9"), bad);
    Path out2 = dir.resolve("out2");
    try (var files = Files.walk(out2)) {
      assertTrue(files.noneMatch(Files::isRegularFile), "no files written");
    }
  }

  private static String run(int expectedExit, String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream capture = new PrintStream(buf, true);
    System.setOut(capture);
    System.setErr(capture);
    int exit;
    try {
      exit = Lmmspark.run(args);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
    assertEquals(expectedExit, exit, buf.toString());
    return buf.toString();
  }
}
