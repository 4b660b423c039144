package org.lmmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.testing.RefData;

/**
 * {@code --kernel} and {@code --test} through the command line, Spark jobs and output files, against
 * the peers' numbers (the engine tests check the same statistics in depth).
 */
class PeerOptionsCommandTest {
  /**
   * {@code assoc --test lrt} and {@code --test score} on regenie-example (Y2, covariates V1–V3, the GCTA
   * GRM of expected/gcta_grm) against GEMMA 0.98.5 {@code -lmm 4} (expected/gemma_lmm4_Y2_covar.assoc.txt,
   * 7 significant digits): every variant's p_value to 1e-4 relative (1e-6 absolute near 1).
   */
  @Test
  void assocLrtAndScoreMatchGemma(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    Map<String, double[]> gemma = new HashMap<>();
    List<String> lines = Files.readAllLines(ref.resolve("expected/gemma_lmm4_Y2_covar.assoc.txt"));
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split("\t");
      gemma.put(f[1], new double[] {Double.parseDouble(f[13]), Double.parseDouble(f[14])});
    }
    for (int t = 0; t < 2; t++) {
      String test = t == 0 ? "lrt" : "score";
      String out = dir.resolve(test).toString();
      assertEquals(0, Lmmspark.run("assoc", "--bfile", ref.resolve("example").toString(), "--pheno",
          ref.resolve("phenotype.txt").toString(), "--pheno-name", "Y2", "--qcovar", ref.resolve("covariates.txt").toString(),
          "--grm", ref.resolve("expected/gcta_grm").toString(), "--test", test, "--out", out, "--master", "local[2]"));
      int rows = 0;
      try (BufferedReader r = new BufferedReader(new InputStreamReader(
          new GZIPInputStream(Files.newInputStream(Path.of(out + ".assoc.tsv.gz"))), StandardCharsets.UTF_8))) {
        String[] header = r.readLine().split("\t");
        int pCol = List.of(header).indexOf("p_value");
        int idCol = List.of(header).indexOf("variant_id");
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          String[] f = line.split("\t");
          assertClose(Double.parseDouble(f[pCol]), gemma.get(f[idCol])[t], 1e-6, 1e-4, test + " p of " + f[idCol]);
          rows++;
        }
      }
      assertEquals(1000, rows);
      String report = Files.readString(Path.of(out + ".report.md"));
      assertTrue(report.contains("GEMMA -lmm " + (t == 0 ? "2" : "3")), "report names the peer:\n" + report);
    }
  }

  /**
   * {@code grm --kernel standardized} on hail-fastlmm's chromosome 1 equals GEMMA {@code -gk 2}
   * (gemma_out/fl0_chr1.sXX.first5x5.txt, 10 digits) to 2e-6 (float32 output), with M = 1000 for
   * every pair; unknown kernels and tests are bad input (exit code 2).
   */
  @Test
  void grmStandardizedKernelAndBadValues(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("hail-fastlmm");
    String out = dir.resolve("s").toString();
    assertEquals(0, Lmmspark.run("grm", "--bfile", ref.resolve("data/fastlmmTest").toString(), "--chr", "1",
        "--kernel", "standardized", "--out", out, "--master", "local[2]"));
    Grm k = GctaGrmFiles.read(out, new Configuration());
    List<String> expected = Files.readAllLines(ref.resolve("gemma_out/fl0_chr1.sXX.first5x5.txt"));
    for (int i = 0; i < 5; i++) {
      String[] f = expected.get(i).trim().split("\\s+");
      for (int j = 0; j <= i; j++) {
        assertClose(k.get(i, j), Double.parseDouble(f[j]), 2e-6, 0, "K(" + i + "," + j + ")");
        assertEquals(1000.0, k.count(i, j));
      }
    }
    assertEquals(2, Lmmspark.run("grm", "--bfile", ref.resolve("data/fastlmmTest").toString(), "--kernel", "vanraden",
        "--out", out + "x"));
    assertEquals(2, Lmmspark.run("assoc", "--bfile", ref.resolve("data/fastlmmTest").toString(), "--pheno", "p",
        "--test", "t", "--out", out + "y"));
  }
}
