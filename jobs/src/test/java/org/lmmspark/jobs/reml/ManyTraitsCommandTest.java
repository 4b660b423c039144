package org.lmmspark.jobs.reml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.jobs.cli.Lmmspark;
import org.lmmspark.jobs.matfree.MatrixFreeRemlJob;
import org.lmmspark.jobs.spark.InProcessExchange;

/**
 * {@code lmmspark reml|assoc --pheno-name A,B,… / --all-pheno} through the real entry point, each trait
 * against a run of that trait alone ({@code --pheno-name X}): exactly the same {@code .hsq} (reml) and
 * association table (assoc) on the spectral route; on the matrix-free route within Monte Carlo error for reml
 * and assoc, whose traits share their probes' runs as control variates (assoc: the table within what that
 * difference of the variance components moves it); the summary table against the single runs' own outputs.
 * Simulated: n = 400 × M = 1,200 on 3 chromosomes, one covariate, four traits — A (h² 0.5) and C (h² 0.7)
 * observed on every sample, B (h² 0.3) missing on ~20% and D (h² 0.5) on ~35% of other samples.
 *
 * <p>Kept to seconds of CI: every command run starts a Spark context of its own, so the runs are few and
 * shared. The spectral REML runs read one GRM computed once ({@code reml --grm}: no Spark), the genotype route
 * checked once against them; the spectral assoc runs read the same GRM; the matrix-free runs of D and B alone
 * ({@code assoc --solver matrix-free --loco}, {@link #aloneMatrixFree}) serve both the assoc tables and, through
 * their {@code .hsq}, the {@code reml} REML fits (the same StochasticReml fit, with the trait's own probes).
 */
class ManyTraitsCommandTest {
  static final int N = 400;
  static final int M = 1200;
  static final String[] TRAITS = {"A", "B", "C", "D"};
  @TempDir
  static Path dir;
  static String prefix;
  static String pheno;
  static String qcovar;
  static String grm;
  /** Matrix-free options shared by the reml and assoc runs, so one run alone serves both. */
  static final String[] MATRIX_FREE = {"--solver", "matrix-free", "--probes", "10", "--partitions", "2"};
  static final Map<String, String> ALONE_MATRIX_FREE = new java.util.HashMap<>();

  @BeforeAll
  static void simulate() throws Exception {
    int[][] g = BedFixture.random(N, M, 0, 0, 31);
    int[] chr = new int[M];
    for (int v = 0; v < M; v++) {
      chr[v] = 1 + v * 3 / M;
    }
    prefix = BedFixture.write(dir, "g", g, chr);
    Random rnd = new Random(32);
    double[] h2 = {0.5, 0.3, 0.7, 0.5};
    double[] missing = {0, 0.2, 0, 0.35};
    String[][] values = new String[TRAITS.length][N];
    double[] c = new double[N];
    for (int j = 0; j < N; j++) {
      c[j] = rnd.nextGaussian();
    }
    for (int t = 0; t < TRAITS.length; t++) {
      double[] y = BedFixture.additiveValues(g, h2[t], rnd);
      for (int j = 0; j < N; j++) {
        y[j] += 1 + 0.4 * c[j] + rnd.nextGaussian() * Math.sqrt(1 - h2[t]);
        values[t][j] = rnd.nextDouble() < missing[t] ? "NA" : Double.toString(y[j]);
      }
    }
    StringBuilder ph = new StringBuilder("FID\tIID\t" + String.join("\t", TRAITS) + "\n");
    StringBuilder qc = new StringBuilder("FID\tIID\tc\n");
    for (int j = 0; j < N; j++) {
      ph.append('F').append(j).append("\tI").append(j);
      for (String[] v : values) {
        ph.append('\t').append(v[j]);
      }
      ph.append('\n');
      qc.append('F').append(j).append("\tI").append(j).append('\t').append(c[j]).append('\n');
    }
    pheno = dir.resolve("g.pheno").toString();
    qcovar = dir.resolve("g.qcovar").toString();
    Files.writeString(Path.of(pheno), ph);
    Files.writeString(Path.of(qcovar), qc);
    grm = dir.resolve("g_grm").toString();
    assertEquals(0, Lmmspark.run("grm", "--bfile", prefix, "--out", grm, "--master", "local[2]"));
  }

  /**
   * {@code assoc --solver matrix-free --probes 10 --loco --pheno-name TRAIT} alone, run once per trait for the
   * class: its table, report and {@code .hsq} (the whole-genome REML fit, as {@code reml --solver matrix-free
   * --probes 10} fits it: same defaults, probes, seed and partitions).
   */
  static synchronized String aloneMatrixFree(String trait) {
    return ALONE_MATRIX_FREE.computeIfAbsent(trait, t -> {
      String alone = dir.resolve("mfassoc_" + t).toString();
      String[] common = {"assoc", "--bfile", prefix, "--pheno", pheno, "--qcovar", qcovar, "--master", "local[2]",
          "--loco"};
      assertEquals(0, Lmmspark.run(concat(concat(common, MATRIX_FREE), "--pheno-name", t, "--out", alone)));
      return alone;
    });
  }

  static String[] args(String out, String... more) {
    List<String> a = new ArrayList<>(List.of("reml", "--bfile", prefix, "--pheno", pheno, "--qcovar", qcovar,
        "--master", "local[2]", "--out", out));
    a.addAll(List.of(more));
    return a.toArray(String[]::new);
  }

  static Map<String, String[]> hsq(String out) throws Exception {
    return RemlCommandTest.readHsq(Path.of(out + ".hsq"));
  }

  static String[] grmArgs(String out, String... more) {
    List<String> a = new ArrayList<>(List.of("reml", "--grm", grm, "--pheno", pheno, "--qcovar", qcovar, "--out", out));
    a.addAll(List.of(more));
    return a.toArray(String[]::new);
  }

  /**
   * Spectral route (from the GRM): each trait's .hsq is the very file of its own run; A and C share one
   * reduction. The genotype route (GRM computed in memory, then the same) agrees to the GRM file's float32.
   */
  @Test
  void allPhenoOnTheSpectralRouteEqualsEachTraitAlone() throws Exception {
    String many = dir.resolve("many").toString();
    assertEquals(0, Lmmspark.run(grmArgs(many, "--all-pheno")));
    List<String> summary = Files.readAllLines(Path.of(many + ".summary.tsv"));
    assertEquals(TraitSummary.HEADER, summary.get(0));
    assertEquals(1 + TRAITS.length, summary.size(), String.join("\n", summary));
    for (int t = 0; t < TRAITS.length; t++) {
      String alone = dir.resolve("alone_" + TRAITS[t]).toString();
      assertEquals(0, Lmmspark.run(grmArgs(alone, "--pheno-name", TRAITS[t])));
      assertEquals(Files.readString(Path.of(alone + ".hsq")), Files.readString(Path.of(many + "." + TRAITS[t] + ".hsq")),
          "trait " + TRAITS[t] + ": .hsq of the joint run vs its own run");
      Map<String, String[]> h = hsq(alone);
      String[] row = summary.get(1 + t).split("\t");
      assertEquals(TRAITS[t], row[0]);
      assertEquals(h.get("n")[1], row[1], "summary n of " + TRAITS[t]);
      assertClose(Double.parseDouble(row[2]), Double.parseDouble(h.get("V(G)/Vp")[1]), 1e-5, 0, "summary h2");
      assertClose(Double.parseDouble(row[3]), Double.parseDouble(h.get("V(G)/Vp")[2]), 1e-5, 0, "summary h2 SE");
      assertEquals("NA", row[4], "no λGC without association");
    }
    String log = Files.readString(Path.of(many + ".log"));
    assertTrue(log.contains("4 traits, 3 distinct analysed sample sets") && log.contains("band reductions of K "
        + "(spectral route): 3"), log);
    assertTrue(Files.readString(Path.of(many + ".done")).contains(".D.json"));
    // On genotypes (the GRM in double precision in memory): the same fits up to the file's float32 rounding of K.
    String onGenotypes = dir.resolve("many_bfile").toString();
    assertEquals(0, Lmmspark.run(args(onGenotypes, "--pheno-name", "C,D")));
    for (String trait : List.of("C", "D")) {
      assertClose(Double.parseDouble(hsq(onGenotypes + "." + trait).get("V(G)/Vp")[1]),
          Double.parseDouble(hsq(many + "." + trait).get("V(G)/Vp")[1]), 1e-5, 0, trait + ": h² on genotypes vs GRM");
    }
    String genotypeLog = Files.readString(Path.of(onGenotypes + ".log"));
    assertTrue(genotypeLog.contains("band reductions of K (spectral route): 2"), genotypeLog);
  }

  /**
   * Matrix-free route: the traits in lock-step over shared passes, their probes' runs shared as control variates,
   * against each trait's fit alone (the {@code .hsq} of its matrix-free assoc run alone: the same REML fit with
   * the trait's own probes).
   */
  @Test
  void namedTraitsMatrixFreeEqualEachTraitAloneInFewerPasses() throws Exception {
    String many = dir.resolve("mf").toString();
    assertEquals(0, Lmmspark.run(args(many, concat(MATRIX_FREE, "--pheno-name", "D,B"))));
    long alonePasses = 0;
    for (String trait : List.of("D", "B")) {
      String alone = aloneMatrixFree(trait);
      Map<String, String[]> x = hsq(alone);
      Map<String, String[]> y = hsq(many + "." + trait);
      assertEquals(x.get("n")[1], y.get("n")[1], trait + " analysed on its own samples");
      double mcSe = monteCarloSe(Files.readString(Path.of(many + "." + trait + ".json")));
      double h2 = Double.parseDouble(x.get("V(G)/Vp")[1]);
      double h2Together = Double.parseDouble(y.get("V(G)/Vp")[1]);
      System.out.printf("trait %s: h2 %.7f alone, %.7f together (MC SE of V(G) %.4f, 10 probes)%n", trait, h2, h2Together, mcSe);
      // Same operator, other probes: D and B miss 35% and 16% of the union of their samples (381), so each pairs 6
      // probes (⌈10φ⌉, at least 6), restricted to its samples, with the 15 runs shared over the union as control
      // variates (SharedProbeRuns): another unbiased estimate of its traces, within Monte Carlo error of its run
      // alone (the bound): 4.5 SE of the together run (the difference of two estimates with about that SE
      // each, at 3 SD; measured 0.53 and 0.55 SE, 0.26 and 0.24 with 6 own against 10 shared). The exact equality
      // with the same probes is LockStepStochasticRemlTest's (each trait's own probes).
      assertClose(h2Together, h2, 4.5 * mcSe, 0, "h² of " + trait + " together vs alone");
      assertTrue(Files.readString(Path.of(many + "." + trait + ".log")).contains("paired with 15 runs shared over the "
          + "union of the traits' 381 samples as control variates"), trait + ": control variates");
      String remlAlone = dir.resolve("mfreml_" + trait).toString();
      assertEquals(0, Lmmspark.run(args(remlAlone, concat(MATRIX_FREE, "--pheno-name", trait))));
      alonePasses += passes(Files.readString(Path.of(remlAlone + ".json")));
    }
    long together = passes(Files.readString(Path.of(many + ".B.json")));
    System.out.printf("passes over the genotypes: %d together, %d for the two reml fits alone%n", together,
        alonePasses);
    // Shared passes carry both traits' columns: one pass per step of the slowest trait's runs, not the sum of the
    // two fits alone (the same command and tolerances; each alone runs its own 10 probes, together 6 each and the
    // 15 shared runs, so the step counts differ a little): 21 measured against 38 alone, all seeded (27 when a trait
    // waited, stepping nothing, for the one stepping the shared runs). The passes per step are
    // LockStepStochasticRemlTest's.
    assertTrue(together < 0.65 * alonePasses, together + " shared passes vs " + alonePasses + " alone");
    String log = Files.readString(Path.of(many + ".log"));
    assertTrue(log.contains("REML of 2 traits together"), log);
  }

  /**
   * More traits than one lock-step group may hold ({@code -Dlmmspark.lockstep.traits=1} here; by default half the
   * driver's heap, {@link MatrixFreeRemlJob#traitsPerGroup}): the groups run one after the other over the one cache,
   * every trait fitted and within Monte Carlo error of its fit alone, as in one group.
   */
  @Test
  void traitsBeyondOneLockStepGroupRunInGroups() throws Exception {
    String many = dir.resolve("mfgroups").toString();
    System.setProperty(MatrixFreeRemlJob.LOCKSTEP_TRAITS_PROPERTY, "1");
    try {
      assertEquals(0, Lmmspark.run(args(many, concat(MATRIX_FREE, "--pheno-name", "D,B"))));
    } finally {
      System.clearProperty(MatrixFreeRemlJob.LOCKSTEP_TRAITS_PROPERTY);
    }
    String log = Files.readString(Path.of(many + ".log"));
    assertTrue(log.contains("REML of 1 traits together (group 1 of 2") && log.contains("(group 2 of 2"), log);
    for (String trait : List.of("D", "B")) {
      double mcSe = monteCarloSe(Files.readString(Path.of(many + "." + trait + ".json")));
      double h2 = Double.parseDouble(hsq(aloneMatrixFree(trait)).get("V(G)/Vp")[1]);
      double h2Grouped = Double.parseDouble(hsq(many + "." + trait).get("V(G)/Vp")[1]);
      System.out.printf("trait %s in a group of its own: h2 %.7f alone, %.7f grouped (MC SE %.4f)%n", trait, h2,
          h2Grouped, mcSe);
      // As namedTraitsMatrixFreeEqualEachTraitAloneInFewerPasses: other probes, within Monte Carlo error.
      assertClose(h2Grouped, h2, 4.5 * mcSe, 0, "h² of " + trait + " in its group vs alone");
    }
    // The group size itself: half the heap over 250 n-vectors of doubles per trait, at least one.
    assertEquals(53, MatrixFreeRemlJob.traitsPerGroup(20_000, 250, 4L << 30));
    assertEquals(1, MatrixFreeRemlJob.traitsPerGroup(1_000_000, 250, 1L << 30));
    System.setProperty(MatrixFreeRemlJob.LOCKSTEP_TRAITS_PROPERTY, "0");
    try {
      assertThrows(org.lmmspark.engine.BadInputException.class, () -> MatrixFreeRemlJob.traitsPerGroup(100, 250));
    } finally {
      System.clearProperty(MatrixFreeRemlJob.LOCKSTEP_TRAITS_PROPERTY);
    }
  }

  /**
   * assoc on the spectral route: each trait's table is, byte for byte, the table of its own run — D on its own
   * samples, C sharing A's samples and so A's eigendecomposition of K and the rotation of every block; the
   * summary's λGC and top hit are its own run's.
   */
  @Test
  void assocOfNamedTraitsEqualsEachTraitAlone() throws Exception {
    String many = dir.resolve("assoc_many").toString();
    String[] common = {"assoc", "--bfile", prefix, "--grm", grm, "--pheno", pheno, "--qcovar", qcovar, "--master",
        "local[2]", "--partitions", "2"};
    List<String> a = new ArrayList<>(List.of(common));
    a.addAll(List.of("--pheno-name", "D,A,C", "--out", many));
    assertEquals(0, Lmmspark.run(a.toArray(String[]::new)));
    List<String> summary = Files.readAllLines(Path.of(many + ".summary.tsv"));
    assertEquals(4, summary.size(), String.join("\n", summary));
    assertEquals("C", summary.get(3).split("\t")[0]);
    String log = Files.readString(Path.of(many + ".log"));
    assertTrue(log.contains("3 traits in 2 distinct analysed sample set(s): one eigendecomposition of K per set"), log);
    assertTrue(Files.readString(Path.of(many + ".C.report.md")).contains("2 traits over these same samples share"));
    // Against the runs of D and C alone (A's table comes from the same code path as C's).
    for (int t : new int[] {0, 2}) {
      String trait = List.of("D", "A", "C").get(t);
      String alone = dir.resolve("assoc_" + trait).toString();
      List<String> b = new ArrayList<>(List.of(common));
      b.addAll(List.of("--pheno-name", trait, "--out", alone));
      assertEquals(0, Lmmspark.run(b.toArray(String[]::new)));
      List<String> rowsAlone = gunzip(alone + ".assoc.tsv.gz");
      assertEquals(rowsAlone, gunzip(many + "." + trait + ".assoc.tsv.gz"), trait + ": table of the joint run vs alone");
      String[] row = summary.get(1 + t).split("\t");
      assertEquals(trait, row[0]);
      Matcher lambda = Pattern.compile("λGC = ([0-9.]+)").matcher(Files.readString(Path.of(alone + ".report.md")));
      assertTrue(lambda.find());
      assertClose(Double.parseDouble(row[4]), Double.parseDouble(lambda.group(1)), 5e-5, 0, trait + " λGC");
      // The top hit: the row of the largest neg_log10_p in the single run's table.
      List<String> header = List.of(rowsAlone.get(0).split("\t"));
      int id = header.indexOf("variant_id");
      int nl = header.indexOf("neg_log10_p");
      String best = null;
      double bestValue = -1;
      for (String line : rowsAlone.subList(1, rowsAlone.size())) {
        String[] f = line.split("\t");
        if (Double.parseDouble(f[nl]) > bestValue) {
          bestValue = Double.parseDouble(f[nl]);
          best = f[id];
        }
      }
      assertEquals(best, row[5], trait + " top hit");
      assertClose(-Math.log10(Double.parseDouble(row[6])), bestValue, 1e-3 * bestValue, 0, trait + " top p");
    }
  }

  /**
   * The spectral route in chunks ({@code -Dlmmspark.lockstep.traits=1} here; by default as many traits of one sample set
   * as half the driver's heap holds the tables of): A and C share their samples but run one after the other, each
   * table byte for byte that of the two run together.
   */
  @Test
  void assocSpectralInChunksEqualsTogether() throws Exception {
    String[] common = {"assoc", "--bfile", prefix, "--grm", grm, "--pheno", pheno, "--qcovar", qcovar, "--master",
        "local[2]", "--partitions", "2", "--pheno-name", "A,C", "--out"};
    String together = dir.resolve("assoc_ac").toString();
    assertEquals(0, Lmmspark.run(concat(common, together)));
    String chunked = dir.resolve("assoc_ac_chunks").toString();
    System.setProperty(MatrixFreeRemlJob.LOCKSTEP_TRAITS_PROPERTY, "1");
    try {
      assertEquals(0, Lmmspark.run(concat(common, chunked)));
    } finally {
      System.clearProperty(MatrixFreeRemlJob.LOCKSTEP_TRAITS_PROPERTY);
    }
    String log = Files.readString(Path.of(chunked + ".log"));
    assertTrue(log.contains("2 traits in 1 distinct analysed sample set(s): one eigendecomposition of K per set (per "
        + "chunk of at most 1 traits"), log);
    for (String trait : List.of("A", "C")) {
      assertEquals(gunzip(together + "." + trait + ".assoc.tsv.gz"), gunzip(chunked + "." + trait + ".assoc.tsv.gz"),
          trait + ": table in chunks vs together");
    }
  }

  /**
   * assoc on the matrix-free route with --loco: the two traits' REML in lock-step with the probes' runs shared as
   * control variates, their LOCO solves in shared passes and one test pass; each trait's null fit within Monte Carlo
   * error of its own run, each trait's table (every variant's χ², β and SE) within what that difference of the
   * variance components moves it, and fewer genotype passes than the two runs alone.
   */
  @Test
  void assocMatrixFreeOfNamedTraitsMatchesEachTraitAlone() throws Exception {
    String many = dir.resolve("mfassoc_many").toString();
    String[] common = {"assoc", "--bfile", prefix, "--pheno", pheno, "--qcovar", qcovar, "--master", "local[2]",
        "--loco"};
    assertEquals(0, Lmmspark.run(concat(concat(common, MATRIX_FREE), "--pheno-name", "D,B", "--out", many)));
    List<String> summary = Files.readAllLines(Path.of(many + ".summary.tsv"));
    assertEquals(3, summary.size(), String.join("\n", summary));
    long alonePasses = 0;
    for (String trait : List.of("D", "B")) {
      String alone = aloneMatrixFree(trait);
      Map<String, String[]> x = hsq(alone);
      Map<String, String[]> y = hsq(many + "." + trait);
      String report = Files.readString(Path.of(many + "." + trait + ".report.md"));
      assertTrue(report.contains("the probes' runs shared as control variates"), trait + ": " + report);
      Matcher mc = Pattern.compile("Monte Carlo SE of σ²_g ([0-9.eE+-]+)\\)").matcher(report);
      assertTrue(mc.find(), report);
      double mcSe = Double.parseDouble(mc.group(1));
      double gAlone = Double.parseDouble(x.get("V(G)")[1]);
      double eAlone = Double.parseDouble(x.get("V(e)")[1]);
      double g = Double.parseDouble(y.get("V(G)")[1]);
      double e = Double.parseDouble(y.get("V(e)")[1]);
      // The null fit: another unbiased estimate of the same traces (SharedProbeRuns), so σ²_g within 4.5 Monte Carlo
      // SE of the run alone (the difference of two estimates with about that SE each, at 3 SD), as for reml above.
      System.out.printf("matrix-free assoc, trait %s: V(G) %.6f alone, %.6f together (MC SE %.4f), V(e) %.6f, %.6f%n",
          trait, gAlone, g, mcSe, eAlone, e);
      assertClose(g, gAlone, 4.5 * mcSe, 0, "V(G) of " + trait + " together vs alone");
      // The table, given those components: every statistic is a smooth function of (σ²_g, σ²_e), χ² homogeneous of
      // degree −1 in them (β of degree 0, SE of ½) with log-derivatives of order 1 in each, so each moves by about
      // the components' relative differences: measured 0.7× their sum (6e-2 and 4e-2 here); 2× their sum (plus the
      // LOCO solves' 5e-4 tolerance twice) bounds it, where a table from the wrong model would differ by O(1).
      double allowed = 2 * (Math.abs(Math.log(g / gAlone)) + Math.abs(Math.log(e / eAlone))) + 1e-3;
      Map<String, double[]> a = table(alone + ".assoc.tsv.gz");
      Map<String, double[]> t = table(many + "." + trait + ".assoc.tsv.gz");
      assertEquals(a.keySet(), t.keySet(), trait + ": the same variants tested");
      double worst = 0;
      for (Map.Entry<String, double[]> entry : a.entrySet()) {
        double[] u = entry.getValue();
        double[] v = t.get(entry.getKey());
        for (int c = 0; c < u.length; c++) {
          worst = Math.max(worst, Math.abs(v[c] - u[c]) / Math.max(1, Math.abs(u[c])));
        }
      }
      System.out.printf("matrix-free assoc, trait %s: largest difference of beta, SE, chi2 together vs alone %.2e "
          + "(allowed %.2e)%n", trait, worst, allowed);
      assertTrue(worst < allowed, trait + ": " + worst + " vs " + allowed);
      alonePasses += reportPasses(alone + ".report.md");
    }
    long together = reportPasses(many + ".D.report.md");
    System.out.printf("matrix-free assoc: %d genotype passes together, %d for the two runs alone%n", together, alonePasses);
    assertTrue(together < 0.75 * alonePasses, together + " vs " + alonePasses);

    // The route a cluster takes (inputs broadcast, the tasks' results serialized; InProcessExchange) on the local
    // master: the same tasks, the passes' partials summed compensated instead of plainly in partition order, so the
    // same tables to the rounding that difference carries through the fit, the solves and the tests: none showed in the
    // tables' six significant digits (0 difference); 1e-5 allows one unit in the last printed digit, should a value sit
    // on a rounding boundary, where a wrong route's table would differ by O(1).
    String serialized = dir.resolve("mfassoc_many_serialized").toString();
    System.setProperty(InProcessExchange.SERIALIZED_PROPERTY, "true");
    try {
      assertEquals(0, Lmmspark.run(concat(concat(common, MATRIX_FREE), "--pheno-name", "D,B", "--out", serialized)));
    } finally {
      System.clearProperty(InProcessExchange.SERIALIZED_PROPERTY);
    }
    for (String trait : List.of("D", "B")) {
      Map<String, double[]> a = table(many + "." + trait + ".assoc.tsv.gz");
      Map<String, double[]> b = table(serialized + "." + trait + ".assoc.tsv.gz");
      assertEquals(a.keySet(), b.keySet(), trait + ": the same variants tested on both routes");
      double worst = 0;
      for (Map.Entry<String, double[]> entry : a.entrySet()) {
        for (int c = 0; c < entry.getValue().length; c++) {
          double u = entry.getValue()[c];
          worst = Math.max(worst, Math.abs(b.get(entry.getKey())[c] - u) / Math.max(1, Math.abs(u)));
        }
      }
      System.out.printf("matrix-free assoc, trait %s: largest difference serialized vs in-process route %.2e%n", trait,
          worst);
      assertTrue(worst < 1e-5, trait + ": " + worst);
    }
  }

  /** variant_id → beta, standard_error, chi2 of a GWAS-SSF table. */
  static Map<String, double[]> table(String path) throws Exception {
    List<String> rows = gunzip(path);
    List<String> header = List.of(rows.get(0).split("\t"));
    int id = header.indexOf("variant_id");
    int[] cols = {header.indexOf("beta"), header.indexOf("standard_error"), header.indexOf("chi2")};
    Map<String, double[]> out = new java.util.LinkedHashMap<>();
    for (String line : rows.subList(1, rows.size())) {
      String[] f = line.split("\t");
      double[] v = new double[cols.length];
      for (int c = 0; c < cols.length; c++) {
        v[c] = Double.parseDouble(f[cols[c]]);
      }
      out.put(f[id], v);
    }
    return out;
  }

  static long reportPasses(String report) throws Exception {
    Matcher m = Pattern.compile("in all: (\\d+) genotype passes").matcher(Files.readString(Path.of(report)));
    assertTrue(m.find(), report);
    return Long.parseLong(m.group(1));
  }

  static List<String> gunzip(String path) throws Exception {
    try (java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(
        new java.util.zip.GZIPInputStream(Files.newInputStream(Path.of(path))), java.nio.charset.StandardCharsets.UTF_8))) {
      return r.lines().toList();
    }
  }

  @Test
  void badTraitChoicesAreRefusedAndAFailedTraitPublishesNothing() throws Exception {
    String out = dir.resolve("bad").toString();
    assertEquals(2, Lmmspark.run(args(out, "--all-pheno", "--pheno-name", "A")));
    assertEquals(2, Lmmspark.run(args(out, "--all-pheno", "--mpheno", "2")));
    assertEquals(2, Lmmspark.run(args(out, "--pheno-name", "A,A")));
    assertEquals(2, Lmmspark.run(args(out, "--pheno-name", "A,nosuch")));
    // A list that names nothing is refused, not read as "the first value column".
    assertEquals(2, Lmmspark.run(args(out, "--pheno-name", ",")));
    assertEquals(2, Lmmspark.run(args(out, "--pheno-name", "A,,B")));
    assertFalse(Files.exists(Path.of(out + ".A.hsq")), "a failed run publishes nothing");
    assertFalse(Files.exists(Path.of(out + ".summary.tsv")));
  }

  /**
   * A bad trait among several stops reml, assoc and run before anything is fitted, with one message naming
   * it: a column not in the table (the message names the file), a trait with values on 3 samples only.
   */
  @Test
  void aBadTraitStopsTheRunBeforeAnyFit() throws Exception {
    List<String> lines = Files.readAllLines(Path.of(pheno));
    StringBuilder few = new StringBuilder(lines.get(0) + "\tE\n");
    for (int j = 1; j < lines.size(); j++) {
      few.append(lines.get(j)).append('\t').append(j <= 3 ? "1." + j : "NA").append('\n');
    }
    String fewPheno = dir.resolve("few.pheno").toString();
    Files.writeString(Path.of(fewPheno), few);
    for (String command : List.of("reml", "assoc")) {
      String out = dir.resolve("bad_" + command).toString();
      String[] common = {command, "--bfile", prefix, "--qcovar", qcovar, "--master", "local[2]", "--out", out,
          "--solver", "matrix-free", "--probes", "4"};
      String err = runCapturingStderr(2, concat(common, "--pheno", pheno, "--pheno-name", "A,nosuch"));
      assertTrue(err.contains(pheno) && err.contains("--pheno-name column 'nosuch' not found"), err);
      err = runCapturingStderr(2, concat(common, "--pheno", fewPheno, "--pheno-name", "A,E"));
      assertTrue(err.contains("trait cannot be analysed (nothing was fitted): E: only 3 samples"), err);
      assertFalse(Files.exists(Path.of(out + ".A.hsq")) || Files.exists(Path.of(out + ".A.assoc.tsv.gz")));
    }
    Path config = dir.resolve("bad.conf");
    Files.writeString(config, "bfile = " + prefix + "\npheno = " + fewPheno + "\nqcovar = " + qcovar
        + "\npheno-name = A,E\nout = " + dir.resolve("bad_run") + "\n");
    String err = runCapturingStderr(2, "run", "--config", config.toString(), "--master", "local[2]");
    assertTrue(err.contains("trait cannot be analysed (nothing was fitted): E: only 3 samples"), err);
    assertFalse(Files.exists(dir.resolve("bad_run").resolve("grm.grm.bin")), "no step ran");
  }

  static String[] concat(String[] a, String... b) {
    List<String> all = new ArrayList<>(List.of(a));
    all.addAll(List.of(b));
    return all.toArray(String[]::new);
  }

  static String runCapturingStderr(int expected, String... args) {
    java.io.PrintStream old = System.err;
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
    int exit;
    try {
      exit = Lmmspark.run(args);
    } finally {
      System.setErr(old);
    }
    String text = err.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(expected, exit, text);
    return text;
  }

  static double monteCarloSe(String json) {
    Matcher m = Pattern.compile("\"monte_carlo_se\": \\[([^,]+),").matcher(json);
    assertTrue(m.find(), json);
    return Double.parseDouble(m.group(1));
  }

  static long passes(String json) {
    Matcher m = Pattern.compile("\"passes\": (\\d+)").matcher(json);
    assertTrue(m.find(), json);
    return Long.parseLong(m.group(1));
  }
}
