package org.lmmspark.jobs.grm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.ChromosomeSelection;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.kinship.GrmKernel;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.jobs.cli.Lmmspark;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.testing.LmmsparkCli;
import org.lmmspark.jobs.testing.SharedSpark;

/** The Spark GRM job: distributed equals the reference and the local kernel, with blocks and tiles smaller than the data. */
class GrmJobTest {
  private final Configuration conf = new Configuration();

  /**
   * refdata/regenie-example EXPECTED.md §1: PLINK 1.9 {@code --make-grm-bin}, 1e-5 per entry (float32),
   * counts exact. Tiles of 128 samples (10 tiles), 3 tile groups and 3 variant ranges: 9 tasks whose
   * partial sums must add up.
   */
  @Test
  void equalsPlinkOnRegenieExample(@TempDir Path dir) {
    Path ref = RefData.dir("regenie-example");
    String out = dir.resolve("g").toString();
    long budget = 4L * 128 * 128 * 12;
    GrmJob.Result r = GrmJob.run(SharedSpark.jsc(), new GrmJob.Options(GenotypeInput.bfile(ref.resolve("example").toString()),
        out, 0, GenotypeSelection.all(), false, 128, budget, 3));
    assertEquals(500, r.samples());
    assertEquals(1000, r.variantsUsed());
    assertTrue(r.tasks() >= 6, "several tasks: " + r.tasks());
    Grm expected = GctaGrmFiles.read(ref.resolve("expected/gcta_grm").toString(), conf);
    Grm actual = GctaGrmFiles.read(out, conf);
    assertEquals(expected.ids(), actual.ids());
    for (int j = 0; j < 500; j++) {
      for (int k = 0; k <= j; k++) {
        assertClose(actual.get(j, k), expected.get(j, k), 1e-5, 0, "A(" + j + "," + k + ")");
        assertEquals(expected.count(j, k), actual.count(j, k));
      }
    }
    // Summary from EXPECTED.md.
    assertClose(r.meanDiagonal(), 0.99865046, 1e-6, 0, "mean diagonal");
    assertClose(r.meanOffDiagonal(), -0.00200130, 1e-7, 0, "mean off-diagonal");
  }

  /**
   * Per-chromosome parts from one pass: each part equals the local kernel on that chromosome alone,
   * and the LOCO matrix formed from parts, K_{-c} = (M K − M_c K_c)/(M − M_c) with per-pair counts,
   * equals the kernel run on the other chromosomes (brute-force check of the recombination).
   */
  @Test
  void perChromosomePartsFormLoco(@TempDir Path dir) {
    int n = 70;
    int m = 240;
    int[][] g = BedFixture.random(n, m, 0.03, 11, 99);
    int[] chr = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = v < 60 ? 1 : v < 200 ? 2 : 3;
    }
    String prefix = BedFixture.write(dir, "three", g, chr);
    String out = dir.resolve("pc").toString();
    GrmJob.run(SharedSpark.jsc(), new GrmJob.Options(GenotypeInput.bfile(prefix), out, 0, GenotypeSelection.all(), true,
        32, 2L * 32 * 32 * 12, 0));
    PlinkFileset fs = PlinkFileset.open(prefix, conf);
    Grm total = GctaGrmFiles.read(out, conf);
    for (int c = 1; c <= 3; c++) {
      Grm part = GctaGrmFiles.read(out + ".chr" + c, conf);
      boolean[] onC = ChromosomeSelection.of(Integer.toString(c), null).mask(fs.variants());
      Grm local = GrmKernel.computeLocal(BedFixture.source(prefix), onC, 0, 4096, 4096, conf);
      boolean[] offC = ChromosomeSelection.of(null, Integer.toString(c)).mask(fs.variants());
      Grm loco = GrmKernel.computeLocal(BedFixture.source(prefix), offC, 0, 4096, 4096, conf);
      for (int j = 0; j < n; j++) {
        for (int k = 0; k <= j; k++) {
          assertClose(part.get(j, k), local.get(j, k), 2e-6, 2e-6, "chr" + c + " A(" + j + "," + k + ")");
          assertEquals(local.count(j, k), part.count(j, k));
          double mk = total.count(j, k) * (double) total.get(j, k) - part.count(j, k) * (double) part.get(j, k);
          double mLoco = total.count(j, k) - part.count(j, k);
          assertClose(mk / mLoco, loco.get(j, k), 1e-5, 1e-5, "LOCO chr" + c + " (" + j + "," + k + ")");
          assertEquals(loco.count(j, k), mLoco);
        }
      }
    }
  }

  /**
   * The in-process route (no Spark session) writes the very bytes of the Spark job on a fileset of 300
   * samples × 600 variants on 4 chromosomes with 2 % missing calls: the same work items (2 variant ranges ×
   * 2 tile groups of 64-sample tiles, 15 tiles) through the same kernel, and each slot's two partials added
   * in either order give the same doubles. Per-chromosome parts too (4 ranges × 2 groups); the whole GRM of a
   * per-chromosome run sums 4 parts, in an order Spark does not fix, so it is compared to float rounding
   * (1e-6 relative). Small on purpose: the check is of the decomposition, which this size exercises whole.
   */
  @Test
  void inProcessWritesTheSparkJobsBytes(@TempDir Path dir) throws Exception {
    int m = 600;
    int[] chr = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = v / 150 + 1;
    }
    String bfile = BedFixture.write(dir, "four", BedFixture.random(300, m, 0.02, 0, 5), chr);
    for (boolean perChromosome : new boolean[] {false, true}) {
      GrmJob.Options spark = options(bfile, dir.resolve("spark" + perChromosome).toString(), perChromosome);
      GrmJob.Options local = options(bfile, dir.resolve("local" + perChromosome).toString(), perChromosome);
      GrmJob.Result s = GrmJob.run(SharedSpark.jsc(), spark);
      GrmJob.Result l = GrmJob.runInProcess(local, PartitionedGenotypes.open(local.genotypes(), local.selection(), conf),
          2, conf);
      assertEquals(s.tasks(), l.tasks(), "same work items");
      assertTrue(l.tiles() == 15 && l.tasks() == (perChromosome ? 8 : 4), "several tiles, tile groups and ranges: " + l.tiles() + ", " + l.tasks());
      assertEquals(s.outputs().size(), l.outputs().size());
      for (int i = 0; i < s.outputs().size(); i++) {
        boolean whole = i == s.outputs().size() - 1;
        for (String ext : new String[] {".grm.bin", ".grm.N.bin", ".grm.id"}) {
          byte[] expected = Files.readAllBytes(Path.of(s.outputs().get(i) + ext));
          byte[] actual = Files.readAllBytes(Path.of(l.outputs().get(i) + ext));
          if (perChromosome && whole && !ext.equals(".grm.id")) {
            float[] e = floats(expected);
            float[] a = floats(actual);
            for (int k = 0; k < e.length; k++) {
              assertClose(a[k], e[k], 0, 1e-6, l.outputs().get(i) + ext + "[" + k + "]");
            }
          } else {
            assertArrayEquals(expected, actual, l.outputs().get(i) + ext);
          }
        }
      }
    }
  }

  private static GrmJob.Options options(String bfile, String out, boolean perChromosome) {
    return new GrmJob.Options(GenotypeInput.bfile(bfile), out, 0, GenotypeSelection.all(), perChromosome, 64,
        8L * 64 * 64 * 12, 2);
  }

  private static float[] floats(byte[] bytes) {
    float[] out = new float[bytes.length / 4];
    java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  /**
   * The command chooses the route by one rule and says so: sample-data/sim on local[2] runs in-process,
   * {@code --spark} forces a session, and both write the same GRM bytes and a log through the output set.
   */
  @Test
  void commandRunsSmallInputsInProcessUnlessSparkIsForced(@TempDir Path dir) throws Exception {
    String sim = RefData.projectRoot().resolve("sample-data/sim").toString();
    String local = dir.resolve("local").toString();
    String spark = dir.resolve("spark").toString();
    assertEquals(0, Lmmspark.run("grm", "--bfile", sim, "--out", local, "--master", "local[2]"));
    assertEquals(0, Lmmspark.run("grm", "--bfile", sim, "--out", spark, "--master", "local[2]", "--spark"));
    String localLog = Files.readString(Path.of(local + ".log"));
    String sparkLog = Files.readString(Path.of(spark + ".log"));
    assertTrue(localLog.contains("small input: running in-process without Spark on 2 thread(s) (N×M = 800 × 8,000"),
        localLog);
    assertTrue(sparkLog.contains("running on Spark (local[2]): --spark given") && sparkLog.contains("Spark task(s)"),
        sparkLog);
    for (String ext : new String[] {".grm.bin", ".grm.N.bin", ".grm.id"}) {
      assertArrayEquals(Files.readAllBytes(Path.of(spark + ext)), Files.readAllBytes(Path.of(local + ext)), ext);
    }
    assertTrue(Files.exists(Path.of(local + ".done")), "the output set is committed");
  }

  /** Bad input: one line naming the file, exit code 2, and no output file left behind. */
  @Test
  void badInputIsOneLineExitTwoAndNothingWritten(@TempDir Path dir) throws Exception {
    int[][] g = BedFixture.random(10, 20, 0, 0, 1);
    int[] chr = new int[20];
    Arrays.fill(chr, 1);
    String prefix = BedFixture.write(dir, "bad", g, chr);
    byte[] bed = Files.readAllBytes(Path.of(prefix + ".bed"));
    Files.write(Path.of(prefix + ".bed"), Arrays.copyOf(bed, bed.length - 1));
    Path out = dir.resolve("outdir");
    String err = LmmsparkCli.run(2, "grm", "--bfile", prefix, "--out", out.resolve("x").toString(), "--master", "local[2]");
    assertTrue(err.contains(prefix + ".bed") && err.contains("size 62 bytes, expected 63 = 3 + M"), err);
    assertFalse(Files.exists(out) && listFiles(out) > 0, "no outputs after a failure");

    String missing = LmmsparkCli.run(2, "grm", "--bfile", dir.resolve("nope").toString(), "--out", out.resolve("y").toString());
    assertTrue(missing.contains("nope.fam: file not found"), missing);

    String option = LmmsparkCli.run(2, "grm", "--bfile", prefix, "--out", out.resolve("z").toString(), "--maf", "0.7");
    assertTrue(option.contains("--maf"), option);
  }

  private static long listFiles(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.count();
    }
  }
}
