package org.lmmspark.jobs.assoc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.simulate.SimulationConfig;
import org.lmmspark.engine.simulate.Simulator;
import org.lmmspark.jobs.matfree.MatrixFreeRemlJob;
import org.lmmspark.jobs.testing.SharedSpark;

/**
 * The GRM-free association route through the job ({@link MatrixFreeAssocJob}): chosen by {@code auto}
 * above the threshold, LOCO over 22 chromosomes, against the spectral exact LOCO MLMA on the same data
 * (itself checked against a dense brute force in {@link AssocJobTest}). This checks the plumbing (one
 * cache, one null per chromosome with γ, the same variants tested, outputs and report); the numerical
 * agreement with a brute-force exact LOCO MLMA is the engine's {@code LocoResidualsTest}, and at
 * N = 5,000 {@code scripts/bench-agreement-assoc.sh}.
 */
class MatrixFreeAssocJobTest {

  /** 400 samples × 1,500 variants on 22 chromosomes with y_quant and qcovar (seed 5); returns the prefix. */
  private static String simulate(Path dir) throws Exception {
    String prefix = dir.resolve("sim").toString();
    Simulator.run(SimulationConfig.defaults(400, 1500).withSeed(5), prefix, new Configuration(), null);
    return prefix;
  }

  @Test
  void matrixFreeLocoAgreesWithSpectralExactLoco(@TempDir Path dir) throws Exception {
    String prefix = simulate(dir);
    String pheno = prefix + ".pheno";
    String qcovar = prefix + ".qcovar";
    String mf = dir.resolve("mf").toString();
    // auto with a threshold of 100 samples and no --grm: the matrix-free route.
    AssocJob.Result m = AssocJob.run(SharedSpark.jsc(), new AssocJob.Options(GenotypeInput.bfile(prefix), pheno, "y_quant", null, qcovar, null,
        mf, true, 0, false, AssocJob.Test.AUTO, 0, 20, 4, 0, AssocJob.Solver.AUTO, 100, 12));
    AssocJob.Result e = AssocJob.run(SharedSpark.jsc(), new AssocJob.Options(GenotypeInput.bfile(prefix), pheno, "y_quant", null, qcovar, null,
        dir.resolve("exact").toString(), true, 0, false, AssocJob.Test.EXACT, 100, 20, 4, 0, AssocJob.Solver.AUTO, 100, 0));
    assertEquals(AssocJob.Solver.MATRIX_FREE, m.solver());
    assertEquals(AssocJob.Solver.SPECTRAL, e.solver());
    assertTrue(m.calibrated());
    assertEquals(22, m.nullFits().size());
    int sampled = 0;
    for (AssocJob.NullFit f : m.nullFits()) {
      // The default, 30 sampled variants in all (BOLT-LMM's --numCalibSnps) over 22 chromosomes: at least 1 each.
      assertTrue(f.gamma() != null && f.gamma().variants() >= 1 && f.gamma().mean() > 0, f.toString());
      assertTrue(f.variantsTested() > 0, f.toString());
      sampled += f.gamma().variants();
    }
    assertEquals(MatrixFreeAssocJob.CALIBRATION_VARIANTS, sampled);
    double corr = statisticCorrelation(e, m);
    double h2Exact = e.nullFits().stream().mapToDouble(AssocJob.NullFit::h2).average().orElseThrow();
    System.out.printf("MatrixFreeAssocJobTest N=400: corr %.6f, h² matrix-free %.4f vs spectral LOCO mean %.4f, "
        + "λGC %.4f vs %.4f%n", corr, m.nullFits().get(0).h2(), h2Exact, m.lambdaGc(), e.lambdaGc());
    m.stages().forEach(s -> System.out.println("  " + s));
    // At N = 400 a variant's ratio xᵀPx/x̃ᵀx̃ has a CV of a few % (and the exact run re-estimates σ² per
    // chromosome): 0.995 here; > 0.999 is asserted on the brute-force engine test and measured at N = 5,000.
    assertTrue(corr > 0.995, "χ² correlation " + corr);
    // Same data, two REML solvers (matrix-free with 12 probes vs spectral per LOCO chromosome); h² SE ~0.2 at N = 400.
    assertTrue(Math.abs(m.nullFits().get(0).h2() - h2Exact) < 0.1, m.nullFits().get(0).h2() + " vs " + h2Exact);
    String report = Files.readString(Path.of(AssocOutputs.reportPath(mf)));
    assertTrue(report.contains("GRM-free") && report.contains("kept from the whole-genome") && report.contains("pooled")
        && report.contains("test pass") && report.contains("γ across 22 null models"), report);
    assertTrue(!Files.exists(Path.of(mf + ".grm.bin")), "no GRM written");
    assertTrue(Files.exists(Path.of(AssocOutputs.tsvPath(mf))) && Files.exists(Path.of(AssocOutputs.parquetPath(mf))));
  }

  /**
   * {@code --test f} on the matrix-free route (the calibrated χ² turned into EMMAX's F with the ratio fixed:
   * {@code F = χ²·df/(yᵀPy − χ²)}) against the spectral route's exact F ({@code ExactLmm}, itself checked
   * against FaST-LMM/Hail in the engine's {@code HailFastLmmTest}) on the same data, one null for all
   * chromosomes. The two differ by the calibration (a CV of a few % per variant at N = 400) and the REML
   * solver (12 probes): F correlates > 0.995 as the MLMA χ² do in the LOCO test above.
   */
  @Test
  void matrixFreeFTestAgreesWithSpectralExactF(@TempDir Path dir) throws Exception {
    String prefix = simulate(dir);
    String pheno = prefix + ".pheno";
    String qcovar = prefix + ".qcovar";
    org.lmmspark.engine.pheno.TraitTables.Spec trait = org.lmmspark.engine.pheno.TraitTables.Spec.of(pheno, "y_quant",
        null, qcovar);
    AssocJob.Result m = AssocJob.run(SharedSpark.jsc(), new AssocJob.Options(GenotypeInput.bfile(prefix), trait, null,
        dir.resolve("mf").toString(), false, 0, false, AssocJob.Test.AUTO, 100, 20, 4, 0, AssocJob.Solver.MATRIX_FREE,
        org.lmmspark.engine.reml.SolverRoute.COST_MODEL, 12, org.lmmspark.engine.select.GenotypeSelection.all(),
        org.lmmspark.engine.genotype.GenotypeScaling.GCTA, org.lmmspark.engine.assoc.LmmTest.F));
    AssocJob.Result e = AssocJob.run(SharedSpark.jsc(), new AssocJob.Options(GenotypeInput.bfile(prefix), trait, null,
        dir.resolve("sp").toString(), false, 0, false, AssocJob.Test.AUTO, 100, 20, 4, 0, AssocJob.Solver.SPECTRAL,
        org.lmmspark.engine.reml.SolverRoute.COST_MODEL, 0, org.lmmspark.engine.select.GenotypeSelection.all(),
        org.lmmspark.engine.genotype.GenotypeScaling.GCTA, org.lmmspark.engine.assoc.LmmTest.F));
    assertEquals(AssocJob.Solver.MATRIX_FREE, m.solver());
    assertEquals(AssocJob.Solver.SPECTRAL, e.solver());
    double corr = statisticCorrelation(e, m);
    System.out.printf("MatrixFreeAssocJobTest F, N=400: corr(F matrix-free, F spectral exact) %.6f, λGC %.4f vs %.4f%n",
        corr, m.lambdaGc(), e.lambdaGc());
    assertTrue(corr > 0.995, "F correlation " + corr);
    assertTrue(m.notes().stream().anyMatch(l -> l.contains("route: matrix-free (--solver matrix-free")), m.notes().toString());
  }

  /**
   * The calibration's sample over the chromosomes: the total in proportion to their variants by largest remainders
   * (worked by hand below), every chromosome at least one (taken from the largest count), a single null all of it.
   */
  @Test
  void calibrationSampleIsSpreadInProportionToVariants() {
    // 30 over 1,000 / 500 / 250 / 250 variants: quotas 15, 7.5, 3.75, 3.75 → 15, 7, 3, 3 (28) plus the two largest
    // remainders (the 0.75s) → 15, 7, 4, 4.
    assertArrayEquals(new int[] {15, 7, 4, 4}, MatrixFreeAssocJob.sampleCounts(30, new long[] {1000, 500, 250, 250}));
    // 22 chromosomes, one 100 times the others: quotas 30·100/121 = 24.8 and 0.248 each → 24 + 21 × 0, then the
    // largest remainders (the big one's 0.79 first, then the 0.248s in order) give 25 and 5 × 1; the other 16 are
    // raised to one, each taken from the big one: 9 + 21 = 30, every chromosome sampled.
    long[] skewed = new long[22];
    java.util.Arrays.fill(skewed, 1);
    skewed[0] = 100;
    int[] c = MatrixFreeAssocJob.sampleCounts(30, skewed);
    assertEquals(9, c[0]);
    for (int s = 1; s < 22; s++) {
      assertEquals(1, c[s], "chromosome " + s);
    }
    // More chromosomes than the total: one each.
    assertArrayEquals(new int[] {1, 1, 1}, MatrixFreeAssocJob.sampleCounts(2, new long[] {10, 10, 10}));
    assertArrayEquals(new int[] {30}, MatrixFreeAssocJob.sampleCounts(30, new long[] {1234}));
  }

  /** Pearson correlation of the two runs' statistics, variant by variant (the same variants, in the same order). */
  private static double statisticCorrelation(AssocJob.Result e, AssocJob.Result m) {
    assertEquals(e.table().size(), m.table().size());
    double[] a = new double[e.table().size()];
    double[] b = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      assertEquals(e.table().variant(i).id(), m.table().variant(i).id());
      a[i] = e.table().statistic(i);
      b[i] = m.table().statistic(i);
    }
    return new org.apache.commons.math3.stat.correlation.PearsonsCorrelation().correlation(a, b);
  }

  /**
   * Several traits' LOCO columns per batch: each trait's all at once when they fit in one pass and in the CG state's
   * budget together, else the same share for each (at least 16).
   */
  @Test
  void locoBatchesHoldEveryTraitsColumnsWhenThePassCanCarryThem() {
    int[] needs = new int[20];
    int[] samples = new int[20];
    java.util.Arrays.fill(needs, 28);
    java.util.Arrays.fill(samples, 17_500);
    needs[0] = 52;
    samples[0] = 19_233;
    // 584 columns, 0.77 GiB of CG state: one batch each.
    assertArrayEquals(needs, MatrixFreeAssocJob.locoBatchColumns(needs, samples, 600));
    // A pass of 400 columns: 20 each.
    int[] shared = MatrixFreeAssocJob.locoBatchColumns(needs, samples, 400);
    assertTrue(java.util.Arrays.stream(shared).allMatch(c -> c == 20), java.util.Arrays.toString(shared));
    // The CG state over the budget (100,000 samples each): the memory share, 1 GiB / (80 B × 2,000,000) = 6, at least 16.
    java.util.Arrays.fill(samples, 100_000);
    assertTrue(java.util.Arrays.stream(MatrixFreeAssocJob.locoBatchColumns(needs, samples, 600)).allMatch(c -> c == 16));
    // One trait: its columns in one batch while their CG state fits.
    assertArrayEquals(new int[] {52}, MatrixFreeAssocJob.locoBatchColumns(new int[] {52}, new int[] {100_000},
        Long.MAX_VALUE));
  }

  /**
   * Lock-step groups of {@code assoc} count each trait's table of results as well as its n-vectors: at a million
   * variants a trait's table outweighs its vectors at n = 20,000, and groups sized by the vectors alone would not fit.
   */
  @Test
  void groupsCountEachTraitsTableOfResults() {
    long twelveGiB = 12L << 30;
    long vectors = 8L * MatrixFreeAssocJob.VECTORS_PER_TRAIT * 20_000;
    // 20,000 variants: the vectors decide (6 GiB over 112 MB + 7.7 MB: 53 traits; over the vectors alone 57).
    assertEquals(53, MatrixFreeRemlJob.traitsPerGroup(MatrixFreeAssocJob.bytesPerTrait(20_000, 20_000), twelveGiB));
    assertEquals(57, MatrixFreeRemlJob.traitsPerGroup(vectors, twelveGiB));
    // A million variants: 384 MB of results a trait, 6 GiB over 496 MB = 12 traits a group.
    assertEquals(12, MatrixFreeRemlJob.traitsPerGroup(MatrixFreeAssocJob.bytesPerTrait(20_000, 1_000_000), twelveGiB));
  }

  @Test
  void badSolverCombinationsAreOneLineErrors(@TempDir Path dir) throws Exception {
    Path ref = org.lmmspark.engine.testing.RefData.dir("regenie-example");
    String bfile = ref.resolve("example_3chr").toString();
    String pheno = ref.resolve("phenotype.txt").toString();
    String out = dir.resolve("x").toString();
    String err = AssocJobTest.runCli("assoc", "--bfile", bfile, "--pheno", pheno, "--solver", "matrix-free", "--grm",
        ref.resolve("expected/gcta_grm").toString(), "--out", out, "--master", "local[1]");
    assertTrue(err.contains("--solver matrix-free") && err.contains("--grm"), err);
    err = AssocJobTest.runCli("assoc", "--bfile", bfile, "--pheno", pheno, "--solver", "matrix-free", "--test", "exact",
        "--out", out, "--master", "local[1]");
    assertTrue(err.contains("--test exact"), err);
    // Per-variant re-fits of the variance ratio need the spectral route: refused naming the route and the option.
    err = AssocJobTest.runCli("assoc", "--bfile", bfile, "--pheno", pheno, "--solver", "matrix-free", "--test", "lrt",
        "--out", out, "--master", "local[1]");
    assertTrue(err.contains("--test lrt") && err.contains("--solver spectral"), err);
    err = AssocJobTest.runCli("assoc", "--bfile", bfile, "--pheno", pheno, "--solver", "fast", "--out", out, "--master",
        "local[1]");
    assertTrue(err.contains("--solver"), err);
  }
}
