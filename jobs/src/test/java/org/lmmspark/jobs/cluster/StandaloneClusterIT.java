package org.lmmspark.jobs.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.jobs.cli.Lmmspark;

/**
 * The GRM job on a real Spark standalone cluster: {@code scripts/local-cluster.sh} starts a master
 * and a worker (separate JVMs) on 127.0.0.1, the job is submitted through
 * {@code scripts/spark-submit.sh} with the thin jar and {@code conf/spark-defaults.conf}, and its
 * output must equal the same job run in local mode (and, on regenie-example, PLINK's GRM). What this
 * catches that local mode cannot: classes missing from the thin jar, task data that does not
 * serialize, paths that only resolve in the driver's working directory, executor settings.
 *
 * <p>Runs in {@code mvn verify} (failsafe, after {@code package} built the thin jar). The cluster
 * lives in {@code jobs/target/it-cluster} and is stopped in {@link #stopCluster} even on failure.
 */
class StandaloneClusterIT {
  private static final long SCRIPT_TIMEOUT_S = 300;
  private static final Path ROOT = RefData.projectRoot();
  private static final Path CLUSTER_DIR = ROOT.resolve("jobs/target/it-cluster");
  private static String masterUrl;
  private final Configuration conf = new Configuration();

  @BeforeAll
  static void startCluster() throws Exception {
    System.setProperty("spark.ui.enabled", "false"); // the in-JVM local runs
    long t0 = System.nanoTime();
    Run start = script(CLUSTER_DIR.resolve("start.out"), "scripts/local-cluster.sh", "start");
    masterUrl = start.stdout.strip();
    assertEquals(0, start.exit, "local-cluster.sh start failed:\n" + start.output);
    assertTrue(masterUrl.matches("spark://127\\.0\\.0\\.1:\\d+"), "master URL: " + masterUrl + "\n" + start.output);
    System.out.printf("cluster %s up in %.1f s%n", masterUrl, (System.nanoTime() - t0) / 1e9);
  }

  @AfterAll
  static void stopCluster() throws Exception {
    Run stop = script(CLUSTER_DIR.resolve("stop.out"), "scripts/local-cluster.sh", "stop");
    assertEquals(0, stop.exit, "local-cluster.sh stop failed:\n" + stop.output);
    for (String daemon : List.of("master", "worker")) {
      assertTrue(!Files.exists(CLUSTER_DIR.resolve(daemon + ".pid")), daemon + " pid file left behind");
    }
  }

  /**
   * sample-data/sim (800 samples × 8000 variants), chromosomes 1-6 with --per-chromosome and tiles
   * of 400 samples: 3 tiles and 6 variant ranges, so 6 tasks on the executor whose partial tiles are
   * shuffled and summed. (Six chromosomes, not 22: the driver fetches every (chromosome, tile) slot
   * as a Spark job of its own, ~1 s each on a busy 2-core machine.) The --bfile is relative on
   * purpose (executors run in their own directories). Cluster = local to 1e-6 per entry (float32
   * sums of the same blocks, possibly added in another order; values are O(1)), counts exactly, for
   * the GRM of chromosomes 1-6 and each of its 6 parts; the parts must add up to the whole.
   */
  @Test
  void simPerChromosomeOnClusterEqualsLocal(@TempDir Path dir) throws Exception {
    String cluster = dir.resolve("cluster").toString();
    String local = dir.resolve("local").toString();
    String[] options = {"--chr", "1-6", "--per-chromosome", "--tile-size", "400"};
    submit(dir, cluster, concat(new String[] {"grm", "--bfile", "sample-data/sim"}, options));
    long t0 = System.nanoTime();
    assertEquals(0, Lmmspark.run(concat(new String[] {"grm", "--bfile", ROOT.resolve("sample-data/sim").toString(),
        "--out", local, "--master", "local[2]"}, options)));
    System.out.printf("local[2] run in %.1f s%n", (System.nanoTime() - t0) / 1e9);

    Grm total = GctaGrmFiles.read(cluster, conf);
    assertEquals(800, total.size());
    double worst = compare(total, GctaGrmFiles.read(local, conf), 1e-6, "sim");
    // The parts must add up to the whole: sum_c M_c K_c = M K, entry by entry (checks that each
    // variant landed in exactly one chromosome's part on the cluster).
    double[] mk = new double[(int) Grm.packedIndex(800, 0)];
    float[] m = new float[mk.length];
    for (int c = 1; c <= 6; c++) {
      Grm part = GctaGrmFiles.read(cluster + ".chr" + c, conf);
      worst = Math.max(worst, compare(part, GctaGrmFiles.read(local + ".chr" + c, conf), 1e-6, "sim chr" + c));
      float[] v = part.packedValues();
      float[] n = part.packedCounts();
      for (int i = 0; i < mk.length; i++) {
        mk[i] += (double) n[i] * v[i];
        m[i] += n[i];
      }
    }
    float[] tv = total.packedValues();
    float[] tn = total.packedCounts();
    for (int i = 0; i < mk.length; i++) {
      assertEquals(tn[i], m[i], "counts of the parts add up, packed entry " + i);
      // float32 storage of each part: relative 1e-7 per part, summed over 6 parts of O(1) values.
      if (Math.abs(mk[i] / m[i] - tv[i]) > 1e-5) {
        fail("parts do not add up at packed entry " + i + ": " + mk[i] / m[i] + " vs " + tv[i]);
      }
    }
    System.out.printf("sim: max |cluster - local| over the GRM and 6 parts = %.3g%n", worst);
  }

  /**
   * refdata/regenie-example (500 × 1000): cluster = local to 1e-6, and = PLINK 1.9
   * {@code --make-grm-bin} (expected/gcta_grm, EXPECTED.md §1) to 1e-5 per entry, counts exactly.
   * Tiles of 128 (10 tiles) and 3 variant ranges.
   */
  @Test
  void regenieExampleOnClusterEqualsLocalAndPlink(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    String cluster = dir.resolve("cluster").toString();
    String local = dir.resolve("local").toString();
    String[] grm = {"grm", "--bfile", ref.resolve("example").toString(), "--tile-size", "128", "--partitions", "3"};
    submit(dir, cluster, grm);
    assertEquals(0, Lmmspark.run(concat(grm, "--out", local, "--master", "local[2]")));

    Grm actual = GctaGrmFiles.read(cluster, conf);
    double toLocal = compare(actual, GctaGrmFiles.read(local, conf), 1e-6, "regenie-example vs local");
    double toPlink = compare(actual, GctaGrmFiles.read(ref.resolve("expected/gcta_grm").toString(), conf), 1e-5,
        "regenie-example vs PLINK");
    System.out.printf("regenie-example: max |cluster - local| = %.3g, max |cluster - PLINK| = %.3g%n", toLocal, toPlink);
  }

  /**
   * An executor killed ({@code kill -9}) while the GRM job's tasks run: the worker starts a new
   * executor, Spark re-runs the lost tasks, and the GRM equals the local run's to 1e-6 per entry
   * (as above), counts exactly; no lock or temporary file is left. sample-data/sim, tiles of 200
   * samples and 24 variant ranges (48 tasks), so that the kill lands while tasks run: it is made once
   * the driver reports part of the GRM stage done. Our executor is told
   * from any other on the machine by its working directory, under this IT's cluster folder.
   */
  @Test
  void executorKilledMidJobGivesTheSameGrm(@TempDir Path dir) throws Exception {
    String cluster = dir.resolve("cluster").toString();
    String local = dir.resolve("local").toString();
    String[] grm = {"grm", "--bfile", "sample-data/sim", "--tile-size", "200", "--partitions", "24"};
    List<String> cmd = new ArrayList<>(List.of("scripts/spark-submit.sh", "--master", masterUrl,
        "--properties-file", "conf/spark-defaults.conf", "--conf", "spark.ui.enabled=false"));
    cmd.addAll(List.of(grm));
    cmd.addAll(List.of("--out", cluster));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("submit.out").toFile());
    pb.environment().put("LMMSPARK_CLUSTER_DIR", CLUSTER_DIR.toString());
    pb.environment().put("LMMSPARK_NO_BUILD", "1");
    Process submit = pb.start();
    long killed = -1;
    long deadline = System.nanoTime() + SCRIPT_TIMEOUT_S * 1_000_000_000L;
    while (killed < 0 && submit.isAlive() && System.nanoTime() < deadline) {
      // The driver logs the GRM stage's progress ("grm: d/t tasks"): some tasks done, others to go.
      if (midStage(Files.readString(dir.resolve("submit.out")))) {
        for (ProcessHandle executor : ourExecutors()) {
          executor.destroyForcibly(); // SIGKILL
          killed = executor.pid();
        }
      }
      Thread.sleep(100);
    }
    assertTrue(killed > 0, "no executor of ours was seen running tasks:\n"
        + tail(Files.readString(dir.resolve("submit.out")), 40));
    assertTrue(submit.waitFor(SCRIPT_TIMEOUT_S, TimeUnit.SECONDS), "the job did not finish after the kill");
    String output = Files.readString(dir.resolve("submit.out"));
    assertEquals(0, submit.exitValue(), "the job failed after executor " + killed + " was killed:\n" + tail(output, 60));
    System.out.printf("executor pid %d killed mid-job; the job finished%n", killed);
    String[] localGrm = grm.clone();
    localGrm[2] = ROOT.resolve("sample-data/sim").toString(); // this JVM runs in jobs/, not the project root
    assertEquals(0, Lmmspark.run(concat(localGrm, "--out", local, "--master", "local[2]")), "local run");
    assertTrue(!output.matches("(?s).*\\((1[0-9][1-9]|[2-9][0-9][0-9])%\\).*"), "progress above 100 %:\n"
        + tail(output, 40));
    double worst = compare(GctaGrmFiles.read(cluster, conf), GctaGrmFiles.read(local, conf), 1e-6, "after executor loss");
    System.out.printf("executor loss: max |cluster - local| = %.3g%n", worst);
    try (var files = Files.list(dir)) {
      List<String> leftovers = files.map(p -> p.getFileName().toString())
          .filter(n -> n.contains(".tmp-") || n.contains(".old-") || n.endsWith(".lock")).toList();
      assertTrue(leftovers.isEmpty(), "left behind: " + leftovers);
    }
  }

  /** Executor JVMs whose working directory is under this IT's cluster folder (not another cluster's). */
  private static List<ProcessHandle> ourExecutors() {
    return ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("")
        .contains("CoarseGrainedExecutorBackend")).filter(p -> {
          try {
            return Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/cwd")).startsWith(CLUSTER_DIR);
          } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
          }
        }).toList();
  }

  /** Whether the driver's log shows the GRM stage part done: a progress line "grm: d/t tasks" with d &lt; t. */
  private static boolean midStage(String driverLog) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?:GRM|grm): (\\d+)/(\\d+) tasks").matcher(driverLog);
    while (m.find()) {
      if (Integer.parseInt(m.group(1)) < Integer.parseInt(m.group(2))) {
        return true;
      }
    }
    return false;
  }

  /** Submits {@code grm ... --out out} to the cluster; asserts exit 0. */
  private static void submit(Path dir, String out, String[] grm) throws Exception {
    long t0 = System.nanoTime();
    List<String> cmd = new ArrayList<>(List.of("scripts/spark-submit.sh", "--master", masterUrl,
        "--properties-file", "conf/spark-defaults.conf", "--conf", "spark.ui.enabled=false"));
    cmd.addAll(List.of(grm));
    cmd.addAll(List.of("--out", out));
    Run run = script(dir.resolve("submit.out"), cmd.toArray(new String[0]));
    assertEquals(0, run.exit, "spark-submit to " + masterUrl + " failed:\n" + tail(run.output, 60));
    String log = Files.readString(Path.of(out + ".log"));
    assertTrue(log.contains("master " + masterUrl), "ran on the cluster (" + out + ".log):\n" + log);
    // Executors load the OpenBLAS the thin jar carries, as this JVM does (no system BLAS needed).
    if (org.lmmspark.engine.linalg.Blas.describe().contains("bundled")) {
      assertTrue(run.output.matches("(?s).*executors' BLAS: [^\n]*native: OpenBLAS [^\n]*bundled.*"),
          "executors use the bundled OpenBLAS:\n" + tail(run.output, 60));
    }
    System.out.printf("submitted %s in %.1f s%n", String.join(" ", grm), (System.nanoTime() - t0) / 1e9);
  }

  /** Max |a − b| over all entries; fails past {@code tol}, or on any id or count difference. */
  private static double compare(Grm a, Grm b, double tol, String what) {
    assertEquals(b.ids(), a.ids(), what + ": sample ids");
    float[] av = a.packedValues();
    float[] bv = b.packedValues();
    float[] an = a.packedCounts();
    float[] bn = b.packedCounts();
    assertEquals(bv.length, av.length, what + ": size");
    double worst = 0;
    for (int i = 0; i < av.length; i++) {
      double d = Math.abs((double) av[i] - bv[i]);
      if (!(d <= tol)) {
        fail(String.format("%s: packed entry %d: %.9g vs %.9g (|diff| %.3g > %.1g)", what, i, av[i], bv[i], d, tol));
      }
      worst = Math.max(worst, d);
      if (an[i] != bn[i]) {
        fail(what + ": count at packed entry " + i + ": " + an[i] + " vs " + bn[i]);
      }
    }
    return worst;
  }

  private record Run(int exit, String stdout, String output) {}

  /**
   * Runs a project script from the project root with the IT cluster's directory, never building
   * (the IT runs after package). stdout is returned; stdout+stderr are also kept in {@code log}.
   */
  private static Run script(Path log, String... cmd) throws IOException, InterruptedException {
    Files.createDirectories(log.getParent());
    Path stdout = log.resolveSibling(log.getFileName() + ".stdout");
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile())
        .redirectOutput(stdout.toFile()).redirectError(log.toFile());
    pb.environment().put("LMMSPARK_CLUSTER_DIR", CLUSTER_DIR.toString());
    pb.environment().put("LMMSPARK_NO_BUILD", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process p = pb.start();
    if (!p.waitFor(SCRIPT_TIMEOUT_S, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor();
      fail(String.join(" ", cmd) + " did not finish in " + SCRIPT_TIMEOUT_S + " s:\n" + tail(Files.readString(log), 40));
    }
    String out = Files.readString(stdout, StandardCharsets.UTF_8);
    return new Run(p.exitValue(), out, out + Files.readString(log, StandardCharsets.UTF_8));
  }

  private static String tail(String text, int lines) {
    String[] all = text.split("\n");
    return String.join("\n", List.of(all).subList(Math.max(0, all.length - lines), all.length));
  }

  private static String[] concat(String[] a, String... b) {
    String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
