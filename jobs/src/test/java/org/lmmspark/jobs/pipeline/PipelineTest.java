package org.lmmspark.jobs.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

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
    Path config = config(dir, "example_3chr", "pheno.txt", "loco = true");
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
    assertTrue(!Files.exists(dir.resolve("out2")), "nothing written, not even the output folder");
  }

  /**
   * {@code solver = matrix-free}: no GRM and no separate REML step; one assoc step writes the association
   * and the REML fit ({@code assoc.hsq}), whose h² agrees with GEMMA's on the same data (refdata
   * regenie-example, Y2 with V1 V2 V3: pve 0.0736834, SE 0.0971837; no missing calls, so K is the same
   * matrix) within 0.05: three Monte Carlo SEs of 40 probes at n = 500 (~0.015 in h²).
   */
  @Test
  void matrixFreeRunNeedsNoGrm(@TempDir Path dir) throws Exception {
    Path config = config(dir, "example", RefData.dir("regenie-example").resolve("phenotype.txt").toString(),
        "loco = false", "solver = matrix-free");
    String log = run(0, "run", "--config", config.toString(), "--master", "local[2]");
    assertTrue(log.contains("[assoc] done") && !log.contains("[grm] done") && !log.contains("[reml] done"), log);
    Path out = dir.resolve("out");
    for (String f : new String[] {"assoc.hsq", "assoc.assoc.tsv.gz", "assoc.report.md", "run.log"}) {
      assertTrue(Files.exists(out.resolve(f)), f);
    }
    assertFalse(Files.exists(out.resolve("grm.grm.bin")), "no GRM written");
    double h2 = Files.readAllLines(out.resolve("assoc.hsq")).stream().filter(l -> l.startsWith("V(G)/Vp"))
        .mapToDouble(l -> Double.parseDouble(l.split("\t")[1])).findFirst().orElseThrow();
    System.out.printf("pipeline, solver = matrix-free: h2 %.5f vs GEMMA 0.0736834%n", h2);
    assertClose(h2, 0.0736834, 0.05, 0, "h² matrix-free pipeline vs GEMMA");

    Files.writeString(config, Files.readString(config).replace("solver = matrix-free", "solver = fast"));
    String bad = run(2, "run", "--config", config.toString(), "--master", "local[2]");
    assertTrue(bad.contains(config.toString()) && bad.contains("solver must be auto, spectral or matrix-free"), bad);
  }

  /**
   * {@code pcs = 3}: a pca step first (exact route at n = 500; its numbers are checked by PcaCommandTest
   * against R and plink2), whose table extends the covariates with PC1–PC3 for every sample, which the
   * REML step then fits as fixed effects; on {@code --resume} nothing is redone.
   */
  @Test
  void principalComponentsBecomeCovariates(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    Path config = config(dir, "example", ref.resolve("phenotype.txt").toString(), "loco = false", "pcs = 3");
    String log = run(0, "run", "--config", config.toString(), "--master", "local[2]");
    assertTrue(log.contains("[pca] done") && log.contains("[reml] done") && log.contains("[assoc] done"), log);
    Path out = dir.resolve("out");
    java.util.List<String> table = Files.readAllLines(out.resolve("pca.qcovar"));
    String covHeader = Files.readAllLines(ref.resolve("covariates.txt")).get(0).trim().replaceAll("\\s+", "\t");
    assertEquals(covHeader + "\tPC1\tPC2\tPC3", table.get(0));
    assertEquals(501, table.size());
    java.util.List<String> eigenvec = Files.readAllLines(out.resolve("pca.eigenvec"));
    assertClose(Double.parseDouble(table.get(1).split("\t")[table.get(0).split("\t").length - 1]),
        Double.parseDouble(eigenvec.get(1).split("\t")[4]), 1e-9, 0, "PC3 of the first sample");
    String reml = Files.readString(out.resolve("reml.json"));
    assertTrue(reml.contains("PC3"), "REML fixed effects include the PCs: " + reml);
    String again = run(0, "run", "--config", config.toString(), "--resume", "--master", "local[2]");
    assertTrue(again.contains("[pca] skipped") && again.contains("[reml] skipped"), again);

    Files.writeString(config, Files.readString(config).replace("pcs = 3", "pcs = three"));
    assertTrue(run(2, "run", "--config", config.toString(), "--master", "local[2]").contains("pcs must be an integer"));
  }

  /**
   * {@code pheno-name = Y1,Y2}: the reml and assoc steps run each trait, writing {@code reml.TRAIT.*},
   * {@code assoc.TRAIT.*} and the summary tables. Reference: GEMMA 0.98.5 {@code -lmm 1} on the GCTA GRM with
   * covariates V1 V2 V3 (EXPECTED.md §2): Y2 σ²_g 0.0278827, σ²_e 0.350056 (1e-3 relative, the case's
   * tolerance), Y1 on the boundary (σ²_g 3.4e-06: 2e-3 absolute).
   */
  @Test
  void severalTraitsRunEachWithOutputsPerTraitAndOneSummary(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    Path config = config(dir, "example", ref.resolve("phenotype.txt").toString(), "loco = false");
    Files.writeString(config, Files.readString(config).replace("pheno-name = Y2", "pheno-name = Y1,Y2"));
    String log = run(0, "run", "--config", config.toString(), "--master", "local[2]");
    assertTrue(log.contains("2 traits, each on its own samples") && log.contains("[assoc] done"), log);
    Path out = dir.resolve("out");
    for (String f : new String[] {"reml.Y1.hsq", "reml.Y2.hsq", "reml.Y2.json", "reml.summary.tsv",
        "assoc.Y1.assoc.tsv.gz", "assoc.Y2.assoc.tsv.gz", "assoc.Y2.report.md", "assoc.summary.tsv"}) {
      assertTrue(Files.exists(out.resolve(f)), f);
    }
    assertClose(hsqValue(out.resolve("reml.Y2.hsq"), "V(G)"), 0.0278827, 0, 1e-3, "Y2 V(G) vs GEMMA");
    assertClose(hsqValue(out.resolve("reml.Y2.hsq"), "V(e)"), 0.350056, 0, 1e-3, "Y2 V(e) vs GEMMA");
    assertClose(hsqValue(out.resolve("reml.Y1.hsq"), "V(G)"), 3.4e-06, 2e-3, 0, "Y1 V(G) (boundary) vs GEMMA");
    java.util.List<String> summary = Files.readAllLines(out.resolve("assoc.summary.tsv"));
    assertEquals(org.lmmspark.jobs.reml.TraitSummary.HEADER, summary.get(0));
    assertEquals(3, summary.size(), String.join("\n", summary));
    for (String line : summary.subList(1, 3)) {
      String[] f = line.split("\t");
      assertEquals("500", f[1], line);
      assertTrue(Double.isFinite(Double.parseDouble(f[4])) && !f[5].equals("NA"), "λGC and top hit: " + line);
    }
  }

  private static double hsqValue(Path hsq, String row) throws Exception {
    return Files.readAllLines(hsq).stream().filter(l -> l.startsWith(row + "\t"))
        .mapToDouble(l -> Double.parseDouble(l.split("\t")[1])).findFirst().orElseThrow();
  }

  /** {@code dir/run.conf}: trait Y2 of a regenie-example fileset with its covariates, out = out, then {@code more}. */
  private static Path config(Path dir, String fileset, String pheno, String... more) throws Exception {
    Path ref = RefData.dir("regenie-example");
    Path config = dir.resolve("run.conf");
    Files.writeString(config, String.join("\n", "bfile = " + ref.resolve(fileset), "pheno = " + pheno,
        "pheno-name = Y2", "qcovar = " + ref.resolve("covariates.txt"), "out = out", String.join("\n", more), ""));
    return config;
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
