package org.lmmspark.jobs.assoc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.PlainGls.dot;
import static org.lmmspark.engine.testing.PlainGls.projection;
import static org.lmmspark.engine.testing.PlainGls.times;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.io.NumberText;
import org.lmmspark.engine.reml.AiReml;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.VarianceComponent;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.PlainKinship;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.jobs.testing.LmmsparkCli;
import org.lmmspark.jobs.testing.SharedSpark;

/** The Spark association job: LOCO against a brute-force dense computation, outputs, bad input. */
class AssocJobTest {

  /**
   * LOCO on refdata/regenie-example/example_3chr (500 samples; 50, 400, 50 variants on chromosomes 1–3),
   * Y2 with V1 V2 V3, the GRM and its per-chromosome parts computed by the job. Checked against a plain
   * computation written here: genotypes decoded from the .bed bytes, K_{−c} = (1/M_{−c}) Σ z zᵀ over
   * the variants of the OTHER chromosomes, variance components by the engine's DENSE AI-REML on that
   * matrix (not the spectral solver the job uses), V inverted densely, P formed explicitly, and
   * β = xᵀPy/xᵀPx, SE = 1/√xᵀPx, χ² for every variant of chromosome c.
   * Tolerances: σ² 1e-4 relative (two REML optimizers, each converged far tighter); β, SE, χ² 1e-4
   * relative (β also 1e-5 absolute near 0: the job rotates genotypes in float); p through χ².
   */
  @Test
  void locoMatchesDenseBruteForce(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    String bfile = ref.resolve("example_3chr").toString();
    String out = dir.resolve("loco").toString();
    AssocJob.Result r = AssocJob.run(SharedSpark.jsc(), new AssocJob.Options(GenotypeInput.bfile(bfile), ref.resolve("phenotype.txt").toString(),
        "Y2", null, ref.resolve("covariates.txt").toString(), null, out, true, 0, false, AssocJob.Test.EXACT, 5, 32));
    assertEquals(500, r.samples());
    assertEquals(3, r.nullFits().size());
    assertEquals(500, r.table().size());
    assertTrue(r.tasks() >= 5, "tasks " + r.tasks());

    int n = 500;
    List<String> bim = Files.readAllLines(Path.of(bfile + ".bim"));
    int m = bim.size();
    int[][] g = BedFixture.read(bfile, n, m);
    double[][] x = BedFixture.asDoubles(g);
    int[] chr = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = Integer.parseInt(bim.get(v).split("\\s+")[0]);
      assertTrue(Arrays.stream(g[v]).allMatch(call -> call >= 0), "this case has no missing calls");
    }
    double[] y = column(ref.resolve("phenotype.txt"), 3);
    double[] design = new double[n * 4];
    for (int j = 0; j < n; j++) {
      design[j] = 1;
    }
    for (int c = 0; c < 3; c++) {
      System.arraycopy(column(ref.resolve("covariates.txt"), 2 + c), 0, design, (c + 1) * n, n);
    }
    Map<String, Integer> rowOf = new HashMap<>();
    for (int row = 0; row < r.table().size(); row++) {
      rowOf.put(r.table().variant(row).id(), row);
    }
    for (String c : List.of("1", "2", "3")) {
      double[] k = PlainKinship.k(g, chr, Integer.parseInt(c));
      RemlProblem problem = new RemlProblem(y.clone(), design.clone(), List.of("intercept", "V1", "V2", "V3"),
          List.of(new VarianceComponent("K-" + c, new DenseSymmetricMatrix(n, k.clone()))));
      RemlFit fit = new AiReml().fit(problem);
      double sg = fit.theta()[0];
      double se = fit.theta()[1];
      AssocJob.NullFit jobFit = r.nullFits().get(Integer.parseInt(c) - 1);
      assertEquals("LOCO chromosome " + c, jobFit.scope());
      assertClose(jobFit.sigmaG(), sg, 0, 1e-4, "sigma2_g LOCO " + c);
      assertClose(jobFit.sigmaE(), se, 0, 1e-4, "sigma2_e LOCO " + c);
      double[] p = projection(k, sg, se, design, n, 4);
      double[] py = times(p, y);
      for (int v = 0; v < m; v++) {
        if (chr[v] != Integer.parseInt(c)) {
          continue;
        }
        double[] px = times(p, x[v]);
        double xPx = dot(x[v], px);
        double xPy = dot(x[v], py);
        String id = bim.get(v).split("\\s+")[1];
        int row = rowOf.get(id);
        assertEquals(c, r.table().variant(row).chromosome());
        assertClose(r.table().beta(row), xPy / xPx, 1e-5, 1e-4, "beta " + id);
        assertClose(r.table().se(row), 1 / Math.sqrt(xPx), 0, 1e-4, "se " + id);
        assertClose(r.table().statistic(row), xPy * xPy / xPx, 1e-6, 1e-4, "chi2 " + id);
      }
    }
    checkOutputs(out, r);
  }

  /** The TSV.gz and Parquet outputs hold the job's table, sorted, with the GWAS-SSF columns. */
  private static void checkOutputs(String out, AssocJob.Result r) throws Exception {
    List<String[]> rows = new ArrayList<>();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(
        new GZIPInputStream(Files.newInputStream(Path.of(AssocOutputs.tsvPath(out)))), StandardCharsets.UTF_8))) {
      assertEquals(String.join("\t", AssocOutputs.COLUMNS), in.readLine());
      String line;
      while ((line = in.readLine()) != null) {
        rows.add(line.split("\t"));
      }
    }
    assertEquals(r.table().size(), rows.size());
    long lastKey = -1;
    for (int i = 0; i < rows.size(); i++) {
      String[] f = rows.get(i);
      long key = Long.parseLong(f[0]) * 1_000_000_000L + Long.parseLong(f[1]);
      assertTrue(key >= lastKey, "sorted by position at row " + i);
      lastKey = key;
      assertEquals(r.table().variant(i).a1(), f[2]);
      assertClose(Double.parseDouble(f[4]), r.table().beta(i), 0, 1e-5, "TSV beta row " + i);
      assertClose(Double.parseDouble(f[11]), r.table().negLog10P(i), 1e-4, 0, "TSV -log10 p row " + i);
      assertTrue(Double.parseDouble(f[7]) > 0, "p > 0");
    }
    Dataset<Row> pq = SparkSession.builder().getOrCreate().read().parquet(AssocOutputs.parquetPath(out));
    assertEquals(rows.size(), pq.count());
    assertEquals(List.of(AssocOutputs.COLUMNS), List.of(pq.columns()));
    // Spark reads back the driver-written file in the table's order, with its values.
    List<Row> back = pq.collectAsList();
    for (int i = 0; i < back.size(); i++) {
      assertEquals(r.table().variant(i).id(), back.get(i).getAs("variant_id"), "Parquet row " + i);
      assertClose(back.get(i).<Double>getAs("beta"), r.table().beta(i), 0, 0, "Parquet beta row " + i);
      assertEquals(r.table().n(i), back.get(i).<Integer>getAs("n"), "Parquet n row " + i);
      // Every column as the TSV has it: alleles and position, the p-value's text, the numbers to the digit.
      String[] f = rows.get(i);
      assertEquals(f[0], back.get(i).getAs("chromosome"));
      assertEquals(Long.parseLong(f[1]), back.get(i).<Long>getAs("base_pair_location"));
      assertEquals(f[3], back.get(i).getAs("other_allele"));
      assertEquals(f[7], back.get(i).getAs("p_value"), "Parquet p_value row " + i);
      assertEquals(f[10], NumberText.general6(back.get(i).<Double>getAs("chi2")), "Parquet chi2 row " + i);
      assertEquals("NA", f[12]);
      assertTrue(back.get(i).isNullAt(back.get(i).fieldIndex("info")), "Parquet info of hard calls is null");
    }
    for (String suffix : List.of(".report.md", ".manhattan.png", ".qq.png")) {
      assertTrue(Files.size(Path.of(out + suffix)) > 1000, out + suffix);
    }
    String report = Files.readString(Path.of(AssocOutputs.reportPath(out)));
    assertTrue(report.contains(String.format(java.util.Locale.ROOT, "λGC = %.4f", r.lambdaGc())), report);
    try (var files = Files.list(Path.of(out).getParent())) {
      assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary files left");
    }
  }

  /** Column {@code col} (0-based, FID IID first) of a whitespace table with a header, as numbers. */
  static double[] column(Path file, int col) throws Exception {
    List<String> lines = Files.readAllLines(file);
    double[] v = new double[lines.size() - 1];
    for (int i = 1; i < lines.size(); i++) {
      v[i - 1] = Double.parseDouble(lines.get(i).trim().split("\\s+")[col]);
    }
    return v;
  }

  /**
   * The calibrated test through the job, LOCO on example_3chr (500 samples; 50, 400, 50 variants), against
   * the job's exact MLMA on the same GRM (itself checked against a dense brute force above): one γ per
   * chromosome reported with its spread, the same variants, χ² correlated above 0.999, and the report
   * names the test; bad --test values and --exact with --test calibrated are one-line errors. This is the
   * plumbing (per-chromosome models, one job, report): Y2's LOCO nulls here are close to least squares
   * (γ = 1, CV ~ 0), so the numerical agreement under a polygenic, structured null is the engine's
   * {@code CalibratedAssocTest}.
   */
  @Test
  void calibratedLocoAgreesWithExact(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    String bfile = ref.resolve("example_3chr").toString();
    String pheno = ref.resolve("phenotype.txt").toString();
    String covar = ref.resolve("covariates.txt").toString();
    String cal = dir.resolve("cal").toString();
    AssocJob.Result c = AssocJob.run(SharedSpark.jsc(), new AssocJob.Options(GenotypeInput.bfile(bfile), pheno, "Y2", null, covar, null, cal,
        true, 0, false, AssocJob.Test.CALIBRATED, 50, 20, 3, 64));
    AssocJob.Result e = AssocJob.run(SharedSpark.jsc(), new AssocJob.Options(GenotypeInput.bfile(bfile), pheno, "Y2", null, covar, cal,
        dir.resolve("exact").toString(), true, 0, false, AssocJob.Test.EXACT, 3, 64));
    assertTrue(c.calibrated() && !e.calibrated());
    assertEquals(3, c.nullFits().size());
    for (AssocJob.NullFit f : c.nullFits()) {
      assertTrue(f.gamma() != null && f.gamma().variants() > 10 && f.gamma().mean() > 0, f.toString());
    }
    assertEquals(e.table().size(), c.table().size());
    double[] a = new double[e.table().size()];
    double[] b = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      assertEquals(e.table().variant(i).id(), c.table().variant(i).id());
      a[i] = e.table().statistic(i);
      b[i] = c.table().statistic(i);
    }
    double corr = new org.apache.commons.math3.stat.correlation.PearsonsCorrelation().correlation(a, b);
    System.out.printf("AssocJobTest calibrated LOCO: corr %.6f, λGC %.4f vs exact %.4f, %s%n", corr, c.lambdaGc(),
        e.lambdaGc(), c.nullFits().stream().map(f -> f.scope() + ": " + f.gamma()).toList());
    assertTrue(corr > 0.999, "correlation with the exact χ² " + corr);
    String report = Files.readString(Path.of(AssocOutputs.reportPath(cal)));
    assertTrue(report.contains("Calibration factor γ") && report.contains("calibrated MLMA"), report);
    String err = runCli("assoc", "--bfile", bfile, "--pheno", pheno, "--exact", "--test", "calibrated", "--out",
        dir.resolve("x").toString(), "--master", "local[1]");
    assertTrue(err.contains("--exact") && err.contains("calibrated"), err);
    err = runCli("assoc", "--bfile", bfile, "--pheno", pheno, "--test", "fast", "--out", dir.resolve("x").toString(),
        "--master", "local[1]");
    assertTrue(err.contains("--test"), err);
  }

  /** Bad input is one line naming the file, exit code 2: --loco with a GRM that has no per-chromosome parts. */
  @Test
  void locoWithoutPartsIsBadInput(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    String err = runCli("assoc", "--bfile", ref.resolve("example_3chr").toString(), "--pheno",
        ref.resolve("phenotype.txt").toString(), "--pheno-name", "Y2", "--grm", ref.resolve("expected/gcta_grm").toString(),
        "--loco", "--out", dir.resolve("x").toString(), "--master", "local[1]");
    assertTrue(err.contains("gcta_grm.chr1.grm.bin") && err.contains("--per-chromosome"), err);
  }

  @Test
  void unknownTraitIsBadInput(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    String err = runCli("assoc", "--bfile", ref.resolve("example").toString(), "--pheno",
        ref.resolve("phenotype.txt").toString(), "--pheno-name", "Y9", "--grm", ref.resolve("expected/gcta_grm").toString(),
        "--out", dir.resolve("x").toString(), "--master", "local[1]");
    assertTrue(err.contains("phenotype.txt") && err.contains("Y9"), err);
    assertTrue(!Files.exists(dir.resolve("x.assoc.tsv.gz")), "nothing written");
  }

  /** Runs the CLI expecting exit code 2 and returns stderr. */
  static String runCli(String... args) {
    return LmmsparkCli.run(2, args);
  }
}
