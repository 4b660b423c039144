package org.lmmspark.jobs.ldscore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.ldscore.LdScoreRange;
import org.lmmspark.engine.ldscore.WindowSpec;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.engine.testing.Tolerance;
import org.lmmspark.jobs.cli.Lmmspark;
import org.lmmspark.jobs.testing.LmmsparkCli;
import org.lmmspark.jobs.testing.SharedSpark;

/**
 * {@code lmmspark ldscore} through the real entry point on {@code ../shared/refdata/ldsc-sim}'s panel,
 * with small tasks so that each chromosome is cut into several ranges on local[2].
 */
class LdScoreCommandTest {
  private static final Configuration CONF = new Configuration();

  @TempDir
  Path tmp;

  /**
   * {@code ldsc.py --bfile panel/sim.C --l2 --ld-wind-cm 1 --out ldscores/sim_cm1.C} (EXPECTED.md):
   * our files (written with 12 decimals) against ldsc's 3-decimal ones, L2 at absolute 5e-4 + 1e-9,
   * .M and .M_5_50 exactly (4000 / 3673 on chr 1, 3000 / 2754 on chr 2). Then the whole chain:
   * {@code lmmspark ldsc --h2 sumstats/trait1.sumstats.gz} on these full-precision scores against
   * EXPECTED.raw.txt's {@code [h2 trait1_fullprecL2]} (ldsc on its own full-precision L2):
   * h2=0.325586374419 h2_se=0.051389968506 intercept=1.03011724225, relative 1e-6.
   */
  @Test
  void writesLdscFilesEqualToLdscOwn() throws IOException {
    Path ref = RefData.dir("ldsc-sim");
    SharedSpark.jsc();
    for (int chr = 1; chr <= 2; chr++) {
      String out = tmp.resolve("cm1").toString();
      int code = Lmmspark.run("ldscore", "--bfile", ref.resolve("panel/sim." + chr).toString(), "--ld-wind-cm", "1",
          "--chunk-size", "50", "--task-memory", "1", "--digits", "12", "--out", out, "--master", "local[2]");
      assertEquals(0, code);
      List<String[]> ours = rows(out + "." + chr + ".l2.ldscore.gz");
      List<String[]> theirs = rows(ref.resolve("ldscores/sim_cm1." + chr + ".l2.ldscore.gz").toString());
      assertEquals(theirs.size(), ours.size());
      assertEquals(String.join(" ", theirs.get(0)), String.join(" ", ours.get(0)), "header");
      for (int k = 1; k < ours.size(); k++) {
        assertEquals(theirs.get(k)[1], ours.get(k)[1], "SNP order");
        assertEquals(theirs.get(k)[2], ours.get(k)[2], "BP");
        Tolerance.assertClose(Double.parseDouble(ours.get(k)[3]), Double.parseDouble(theirs.get(k)[3]), 5e-4 + 1e-9, 0,
            "L2 " + ours.get(k)[1]);
      }
      for (String suffix : new String[] {".l2.M", ".l2.M_5_50"}) {
        assertEquals(Files.readString(ref.resolve("ldscores/sim_cm1." + chr + suffix)).trim(),
            Files.readString(Path.of(out + "." + chr + suffix)).trim(), suffix);
      }
    }
    String ld = tmp.resolve("cm1.").toString();
    String h2 = tmp.resolve("h2").toString();
    assertEquals(0, Lmmspark.run("ldsc", "--h2", ref.resolve("sumstats/trait1.sumstats.gz").toString(), "--ref-ld-chr", ld,
        "--w-ld-chr", ld, "--out", h2));
    java.util.Map<String, String[]> got = new java.util.HashMap<>();
    for (String line : Files.readAllLines(Path.of(h2 + ".h2.tsv"))) {
      String[] f = line.split("\t");
      got.put(f[0], f);
    }
    Tolerance.assertClose(Double.parseDouble(got.get("h2_observed")[1]), 0.325586374419, 0, 1e-6, "h2");
    Tolerance.assertClose(Double.parseDouble(got.get("h2_observed")[2]), 0.051389968506, 0, 1e-6, "h2 se");
    Tolerance.assertClose(Double.parseDouble(got.get("intercept")[1]), 1.03011724225, 0, 1e-6, "intercept");
  }

  /**
   * Partitioned LD scores with two annotations (all ones; a random half): the Spark job ({@code --spark};
   * tasks of a few hundred variants) equals {@link LdScoreRange#chromosome} run in one range; M is the column sums.
   * With {@code --extract} of every third variant and {@code --keep} of 300 of the 400 samples, the
   * windows sit on the selected variants and the annotation rows follow them.
   */
  @Test
  void annotationsDistributedEqualsLocal() throws IOException {
    Path ref = RefData.dir("ldsc-sim");
    String panel = ref.resolve("panel/sim.2").toString();
    PlinkFileset fs = PlinkFileset.open(panel, CONF);
    Random rnd = new Random(3);
    double[] annot = new double[fs.variantCount() * 2];
    StringBuilder sb = new StringBuilder("CHR\tBP\tSNP\tCM\tbase\thalf\n");
    for (int v = 0; v < fs.variantCount(); v++) {
      var variant = fs.variants().get(v);
      annot[2 * v] = 1;
      annot[2 * v + 1] = rnd.nextBoolean() ? 1 : 0;
      sb.append("2\t").append(variant.bp()).append('\t').append(variant.id()).append("\t0\t1\t")
          .append((int) annot[2 * v + 1]).append('\n');
    }
    Files.writeString(tmp.resolve("a.2.annot"), sb.toString());
    StringBuilder extract = new StringBuilder();
    List<Integer> selected = new ArrayList<>();
    for (int v = 0; v < fs.variantCount(); v += 3) {
      extract.append(fs.variants().get(v).id()).append('\n');
      selected.add(v);
    }
    Files.writeString(tmp.resolve("extract.txt"), extract.toString());
    StringBuilder keep = new StringBuilder();
    int[] rowsKept = new int[300];
    for (int i = 0; i < 300; i++) {
      rowsKept[i] = i + 100;
      keep.append(fs.samples().get(i + 100).fid()).append(' ').append(fs.samples().get(i + 100).iid()).append('\n');
    }
    Files.writeString(tmp.resolve("keep.txt"), keep.toString());
    String out = tmp.resolve("part").toString();
    SharedSpark.jsc();
    assertEquals(0, Lmmspark.run("ldscore", "--bfile", panel, "--ld-wind-snps", "100", "--annot",
        tmp.resolve("a.").toString(), "--extract", tmp.resolve("extract.txt").toString(), "--keep",
        tmp.resolve("keep.txt").toString(), "--task-memory", "1", "--digits", "10", "--out", out, "--master", "local[2]",
        "--spark"));
    List<String[]> ours = rows(out + ".2.l2.ldscore.gz");
    assertEquals("CHR SNP BP baseL2 halfL2", String.join(" ", ours.get(0)));
    // Every selected variant stays polymorphic in these 300 samples (checked: the files list them all).
    int[] keptFile = selected.stream().mapToInt(Integer::intValue).toArray();
    assertEquals(keptFile.length + 1, ours.size());
    double[] annotKept = new double[keptFile.length * 2];
    double halfKept = 0;
    for (int k = 0; k < keptFile.length; k++) {
      annotKept[2 * k] = 1;
      annotKept[2 * k + 1] = annot[2 * keptFile[k] + 1];
      halfKept += annotKept[2 * k + 1];
    }
    int[] first = new WindowSpec(WindowSpec.Unit.SNPS, 100, 1, false).firstPartners("2", fs.variants(), keptFile);
    double[] local = LdScoreRange.chromosome(panel, fs.sampleCount(), rowsKept, keptFile, first,
        new int[] {0, keptFile.length}, annotKept, 2, CONF);
    for (int k = 0; k < keptFile.length; k++) {
      assertEquals(fs.variants().get(keptFile[k]).id(), ours.get(k + 1)[1]);
      for (int a = 0; a < 2; a++) {
        Tolerance.assertClose(Double.parseDouble(ours.get(k + 1)[3 + a]), local[2 * k + a], 1e-9, 1e-9, "L2 " + k + "," + a);
      }
    }
    assertEquals(keptFile.length + "\t" + (long) halfKept, Files.readString(Path.of(out + ".2.l2.M")).trim());
  }

  /**
   * The route without a session (a small input on a local master) writes the same files as the Spark job,
   * character for character once decompressed: the same tasks, kernel and writer.
   */
  @Test
  void inProcessEqualsSparkJob() throws IOException {
    Path ref = RefData.dir("ldsc-sim");
    String panel = ref.resolve("panel/sim.1").toString();
    SharedSpark.jsc();
    String local = tmp.resolve("local").toString();
    String spark = tmp.resolve("spark").toString();
    for (String[] route : new String[][] {{local}, {spark, "--spark"}}) {
      List<String> args = new ArrayList<>(List.of("ldscore", "--bfile", panel, "--ld-wind-kb", "300", "--task-memory", "1",
          "--digits", "12", "--master", "local[2]", "--out", route[0]));
      args.addAll(List.of(route).subList(1, route.length));
      assertEquals(0, Lmmspark.run(args.toArray(String[]::new)));
    }
    assertTrue(Files.readString(Path.of(local + ".1.log")).contains("in-process on 2 thread(s)"), "ran without a session");
    assertTrue(Files.readString(Path.of(spark + ".1.log")).contains("Spark task(s)"), "ran on Spark");
    List<String[]> a = rows(local + ".1.l2.ldscore.gz");
    List<String[]> b = rows(spark + ".1.l2.ldscore.gz");
    assertEquals(4001, a.size());
    assertEquals(b.size(), a.size());
    for (int k = 0; k < a.size(); k++) {
      assertEquals(String.join("\t", b.get(k)), String.join("\t", a.get(k)), "line " + k);
    }
    for (String suffix : new String[] {".l2.M", ".l2.M_5_50"}) {
      assertEquals(Files.readString(Path.of(spark + ".1" + suffix)), Files.readString(Path.of(local + ".1" + suffix)), suffix);
    }
  }

  @Test
  void badInputIsOneLineWithExitCode2() throws IOException {
    Path ref = RefData.dir("ldsc-sim");
    String panel = ref.resolve("panel/sim.2").toString();
    // (A window wider than the chromosome: LdScoreBruteForceTest, without a Spark session.)
    // An annotation whose rows are not the panel's.
    Files.writeString(tmp.resolve("bad.2.annot"), "CHR\tBP\tSNP\tCM\tbase\n2\t1\tnot_a_panel_snp\t0\t1\n");
    assertBad("does not match the panel", "ldscore", "--bfile", panel, "--ld-wind-snps", "100", "--annot",
        tmp.resolve("bad.").toString(), "--out", tmp.resolve("y").toString(), "--master", "local[2]");
    assertTrue(!Files.exists(tmp.resolve("y.2.l2.ldscore.gz")), "no output after bad input");
  }

  private static void assertBad(String expected, String... args) {
    SharedSpark.jsc();
    String err = LmmsparkCli.run(2, args);
    assertTrue(err.contains(expected), err);
  }

  /** The tab-separated rows of a (gzipped) text output. */
  static List<String[]> rows(String path) throws IOException {
    List<String[]> out = new ArrayList<>();
    try (BufferedReader r = FileSystems.openText(path, CONF)) {
      String line;
      while ((line = r.readLine()) != null) {
        out.add(line.split("\t"));
      }
    }
    return out;
  }
}
