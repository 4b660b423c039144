package org.lmmspark.jobs.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.jobs.cli.Lmmspark;

/**
 * {@code kill -9} of the pipeline's driver at three points (as each step starts: grm, reml, assoc),
 * then {@code run --resume}: the results equal a clean run's, and no lock, temporary or backup file
 * is left. The killed run is a child JVM (this test's classpath and module options); the clean run
 * and the resumed one run in this JVM. Data: refdata regenie-example (500 samples, 1,000 variants on
 * 3 chromosomes), trait Y2 with its covariates, LOCO.
 *
 * <p>Tolerances: the GRM and the statistics are recomputed by Spark, whose reductions may add float
 * partial sums in another order, so entries are compared to 1e-6 (GRM values are O(1), float32) and
 * the association statistics and REML estimates to a relative 1e-5 (the printed precision).
 */
class DriverKillIT {
  @TempDir static Path dir;
  static Path config;
  static Path clean;

  @BeforeAll
  static void cleanRun() throws Exception {
    Path ref = RefData.dir("regenie-example");
    config = dir.resolve("run.conf");
    Files.writeString(config, String.join("\n", "bfile = " + ref.resolve("example_3chr"), "pheno = "
        + ref.resolve("phenotype.txt"), "pheno-name = Y2", "qcovar = " + ref.resolve("covariates.txt"), "loco = true",
        "out = clean", ""));
    clean = dir.resolve("clean");
    assertEquals(0, quiet("run", "--config", config.toString(), "--master", "local[2]"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"grm", "reml", "assoc"})
  void killedDriverResumesToTheCleanResult(String step) throws Exception {
    Path out = dir.resolve("killed-at-" + step);
    Process child = startChild(out);
    String seen = waitForLine(child, "[" + step + "] running");
    Thread.sleep(step.equals("grm") ? 1500 : 300); // into the step's work (the GRM job takes seconds)
    child.destroyForcibly(); // SIGKILL: no shutdown hooks, no finally blocks
    assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not die");
    System.out.printf("killed at [%s]: %s; left: %s%n", step, seen, listing(out));

    assertEquals(0, quiet("run", "--config", config.toString(), "--out", out.toString(), "--resume", "--master",
        "local[2]"), "resume after a kill at " + step);
    try (Stream<Path> files = Files.walk(out)) {
      List<String> leftovers = files.map(p -> p.getFileName().toString())
          .filter(n -> n.contains(".tmp-") || n.contains(".old-") || n.endsWith(".lock")).toList();
      assertTrue(leftovers.isEmpty(), "left behind: " + leftovers);
    }
    compareGrm(clean.resolve("grm.grm.bin"), out.resolve("grm.grm.bin"));
    compareGrm(clean.resolve("grm.chr2.grm.bin"), out.resolve("grm.chr2.grm.bin"));
    compareTable(Files.readAllLines(clean.resolve("reml.hsq")), Files.readAllLines(out.resolve("reml.hsq")), "reml.hsq");
    compareTable(gunzip(clean.resolve("assoc.assoc.tsv.gz")), gunzip(out.resolve("assoc.assoc.tsv.gz")), "assoc.tsv");
  }

  private static Process startChild(Path out) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-opens") || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions") || a.startsWith("-Djdk.reflect")
          || a.startsWith("-Dio.netty")) {
        cmd.add(a);
      }
    }
    cmd.addAll(List.of("-Xmx1g", "-Dspark.ui.enabled=false", "-cp", System.getProperty("java.class.path"),
        Lmmspark.class.getName(), "run", "--config", config.toString(), "--out", out.toString(), "--master", "local[2]"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    return pb.start();
  }

  /** Reads the child's output until a line contains {@code marker}; returns that line. */
  private static String waitForLine(Process child, String marker) throws IOException {
    BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
    String line;
    StringBuilder all = new StringBuilder();
    while ((line = r.readLine()) != null) {
      all.append(line).append('\n');
      if (line.contains(marker)) {
        // Keep draining in the background so the child never blocks on a full pipe before the kill.
        Thread drain = new Thread(() -> {
          try {
            while (r.readLine() != null) {
              // discard
            }
          } catch (IOException ignored) {
            // the child was killed
          }
        });
        drain.setDaemon(true);
        drain.start();
        return line;
      }
    }
    throw new AssertionError("the child ended before '" + marker + "':\n" + all);
  }

  private static void compareGrm(Path expected, Path actual) throws IOException {
    float[] e = floats(expected);
    float[] a = floats(actual);
    assertEquals(e.length, a.length, actual + ": size");
    for (int i = 0; i < e.length; i++) {
      assertClose(a[i], e[i], 1e-6, 0, actual + " packed entry " + i);
    }
  }

  /** Same lines; fields equal as text, or as numbers within a relative 1e-5. */
  private static void compareTable(List<String> expected, List<String> actual, String what) {
    assertEquals(expected.size(), actual.size(), what + ": lines");
    for (int i = 0; i < expected.size(); i++) {
      String[] e = expected.get(i).split("\t");
      String[] a = actual.get(i).split("\t");
      assertEquals(e.length, a.length, what + " line " + (i + 1));
      for (int k = 0; k < e.length; k++) {
        if (e[k].equals(a[k])) {
          continue;
        }
        assertClose(Double.parseDouble(a[k]), Double.parseDouble(e[k]), 1e-12, 1e-5, what + " line " + (i + 1)
            + " field " + (k + 1));
      }
    }
  }

  private static float[] floats(Path p) throws IOException {
    byte[] b = Files.readAllBytes(p);
    float[] f = new float[b.length / 4];
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
    return f;
  }

  private static List<String> gunzip(Path p) throws IOException {
    try (GZIPInputStream in = new GZIPInputStream(Files.newInputStream(p))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    }
  }

  private static String listing(Path out) throws IOException {
    if (!Files.isDirectory(out)) {
      return "(nothing)";
    }
    try (Stream<Path> s = Files.walk(out)) {
      return s.filter(Files::isRegularFile).map(p -> out.relativize(p).toString()).sorted().toList().toString();
    }
  }

  private static int quiet(String... args) {
    PrintStream old = System.out;
    System.setOut(new PrintStream(OutputStream.nullOutputStream()));
    try {
      return Lmmspark.run(args);
    } finally {
      System.setOut(old);
    }
  }
}
