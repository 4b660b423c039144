package org.lmmspark.engine.assoc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.DosageBlockReader;
import org.lmmspark.engine.genotype.DosageDecoder;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;
import org.lmmspark.engine.matfree.LocalGenotypeProducts;
import org.lmmspark.engine.matfree.PackedDosages;
import org.lmmspark.engine.matfree.PackedGenotypeBlock;
import org.lmmspark.engine.matfree.PackedGenotypeReader;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.PlainKinship;

/**
 * LOCO residuals and γ from one batched CG solve ({@link LocoResiduals}) against the exact LOCO MLMA
 * written plainly: {@code V_{−c} = σ²_g K_{−c} + σ²_e I} with {@code K_{−c}} from the genotypes
 * ({@link PlainKinship}), inverted densely, {@code P_{−c}} formed, {@code χ² = (xᵀP_{−c}y)²/xᵀP_{−c}x}
 * for every variant of chromosome c.
 */
class LocoResidualsTest {
  private final Configuration conf = new Configuration();

  @Test
  void calibratedLocoMatchesDenseExactLoco(@TempDir Path dir) {
    int nFam = 240;
    int m = 480;
    int chromosomes = 4;
    // Random genotypes, with every 8th sample a near-duplicate of the one before at half the variants
    // (close relatives: K has off-diagonals ~0.5, so V is far from a multiple of I).
    int[][] g = BedFixture.random(nFam, m, 0.01, 37, 5);
    SplittableRandom rng = new SplittableRandom(6);
    for (int v = 0; v < m; v++) {
      for (int j = 8; j < nFam; j += 8) {
        if (rng.nextBoolean()) {
          g[v][j] = g[v][j - 1];
        }
      }
    }
    int[] chr = new int[m];
    int[] chrIndex = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = 1 + v * chromosomes / m;
      chrIndex[v] = chr[v] - 1;
    }
    String prefix = BedFixture.write(dir, "loco", g, chr);
    // Analysed: 220 of the 240 samples in a permuted order.
    int n = 220;
    int[] rows = new int[n];
    for (int i = 0; i < n; i++) {
      rows[i] = (i * 13 + 5) % nFam;
    }
    int p = 2;
    double[] x = new double[n * p];
    double[] y = new double[n];
    double[] effect = new double[m];
    for (int t = 0; t < 40; t++) {
      effect[rng.nextInt(m)] = CalibratedAssocTest.gaussian(rng) * 0.25;
    }
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      x[i + n] = CalibratedAssocTest.gaussian(rng);
      double gv = 0;
      for (int v = 0; v < m; v++) {
        int a = g[v][rows[i]];
        gv += effect[v] * (a < 0 ? 1 : a);
      }
      y[i] = 0.5 + 0.3 * x[i + n] + gv + CalibratedAssocTest.gaussian(rng);
    }
    double sg = 0.6;
    double se = 0.5;

    LocalGenotypeProducts prod = LocalGenotypeProducts.read(BedFixture.source(prefix), null, chrIndex, chromosomes,
        0, 32, conf);
    // Counting the columns of every product: the solve's column-passes.
    long[] columnCount = new long[1];
    org.lmmspark.engine.matfree.GenotypeProducts counting = new org.lmmspark.engine.matfree.GenotypeProducts() {
      @Override public int samples() { return prod.samples(); }
      @Override public int chromosomeCount() { return prod.chromosomeCount(); }
      @Override public long[] variantsPerChromosome() { return prod.variantsPerChromosome(); }
      @Override public double[][] squareSumsPerChromosome() { return prod.squareSumsPerChromosome(); }
      @Override public void multiply(double[] v, int kk, double[] weights, boolean[] split, double[] out) {
        columnCount[0] += kk;
        prod.multiply(v, kk, weights, split, out);
      }
      @Override public long passes() { return prod.passes(); }
    };
    GenomicRelationshipOperator k = new GenomicRelationshipOperator(counting, rows, -1);
    int s = 25;
    List<LocoResiduals.Scope> scopes = new ArrayList<>();
    for (int c = 0; c < chromosomes; c++) {
      int cc = c;
      int[] candidates = java.util.stream.IntStream.range(0, m).filter(v -> chrIndex[v] == cc).toArray();
      DosageBlock sample = Calibration.readSample(BedFixture.source(prefix), rows, Calibration.shuffled(candidates,
          100 + c), s, 0,
          conf);
      assertEquals(s, sample.m);
      scopes.add(new LocoResiduals.Scope(c, "LOCO chromosome " + (c + 1), sample));
    }
    long passes0 = prod.passes();
    columnCount[0] = 0;
    LocoResiduals.Result res = LocoResiduals.compute(k, sg, se, null, y, x, p, rows, scopes,
        new LocoResiduals.Options(1e-8, 500, 512, false));
    assertEquals(prod.passes() - passes0, res.passes(), "passes counted");
    assertEquals(columnCount[0], res.columnPasses(), "column-passes counted");
    assertEquals(1, res.batches());
    assertEquals(chromosomes * (1 + s), res.columns(), "y and the sampled variants per scope (covariates projected out)");
    int maxIt = 0;
    for (int it : res.iterations()) {
      maxIt = Math.max(maxIt, it);
    }
    assertEquals(maxIt, res.passes(), "one pass per CG iteration for all chromosomes together");

    // In further batches of 40 columns: the same models (more passes).
    LocoResiduals.Result split = LocoResiduals.compute(k, sg, se, null, y, x, p, rows, scopes,
        new LocoResiduals.Options(1e-8, 500, 40, true));
    assertEquals((int) Math.ceil(res.columns() / 40.0), split.batches());

    // With the deflation preconditioner of the whole-genome K's leading Ritz pairs (as the GRM-free job runs
    // it): the same systems, so the same residuals to the CG tolerance (1e-8 relative, condition ~10: 1e-6).
    org.lmmspark.engine.reml.matfree.LeadingEigenspace leading =
        org.lmmspark.engine.reml.matfree.LeadingEigenspace.compute(k, 8, 4, 1);
    LocoResiduals.Result deflated = LocoResiduals.compute(k, sg, se, leading, y, x, p, rows, scopes,
        new LocoResiduals.Options(1e-8, 500, 512, false));
    for (int c = 0; c < chromosomes; c++) {
      double[] r0 = res.models().get(c).residual();
      double[] r1 = deflated.models().get(c).residual();
      double norm = Math.sqrt(quadIdentity(r0));
      for (int i = 0; i < n; i++) {
        assertClose(r1[i], r0[i], 1e-6 * norm, 0, "deflated P_-" + (c + 1) + " y [" + i + "]");
      }
      assertClose(deflated.own().get(c).mean(), res.own().get(c).mean(), 0, 1e-6, "deflated γ_" + (c + 1));
    }

    // The sampled variants' columns to 5e-3 only (as the GRM-free job runs them): their xᵀV⁻¹x is off by the
    // A-norm of the error squared, so γ moves by ≲ κ·(5e-3)² relative; y (and so P_-c y) as before.
    LocoResiduals.Result loose = LocoResiduals.compute(k, sg, se, leading, y, x, p, rows, scopes,
        new LocoResiduals.Options(1e-8, 500, 512, false, 5e-3));
    for (int c = 0; c < chromosomes; c++) {
      assertClose(loose.own().get(c).mean(), deflated.own().get(c).mean(), 0, 1e-3, "γ_" + (c + 1) + " at 5e-3");
      double[] r0 = deflated.models().get(c).residual();
      double[] r1 = loose.models().get(c).residual();
      double norm = Math.sqrt(quadIdentity(r0));
      for (int i = 0; i < n; i++) {
        // Same systems to the same 1e-8; products in a narrower batch may round differently (single precision).
        assertClose(r1[i], r0[i], 1e-6 * norm, 0, "P_-" + (c + 1) + " y [" + i + "]");
      }
    }
    assertTrue(loose.maxRelResidual() <= 1e-8, "y to its own tolerance: " + loose.maxRelResidual());

    // Warm start: the columns of y from the whole-genome Py (dense, written plainly), as the GRM-free job runs it
    // with the REML fit's Py. Checked against the dense P_{−c}y below (to 1e-8: the same 1e-6 bound as the cold
    // solve); at the job's tolerances (5e-4 for y, 5e-3 for the sampled variants) it must take fewer column-passes
    // than the cold start: the first residual is Πy − ΠV_{−c}Πx₀ = σ²_g Π(K − K_{−c})Πx₀ + (whole-genome residual),
    // a small fraction of Πy when one chromosome of four carries a quarter of K.
    double[] wholePy;
    {
      double[] kw = PlainKinship.k(g, chr, 0);
      double[] vw = new double[n * n];
      for (int a = 0; a < n; a++) {
        for (int b = 0; b < n; b++) {
          vw[a + b * n] = sg * kw[rows[a] + rows[b] * nFam] + (a == b ? se : 0);
        }
      }
      CalibratedAssocTest.invertSpd(vw, n);
      double[] pw = CalibratedAssocTest.projector(vw, x, n, p);
      wholePy = new double[n];
      Blas.dgemv(false, n, n, 1.0, pw, y, 0.0, wholePy);
    }
    columnCount[0] = 0;
    LocoResiduals.Result warm = LocoResiduals.compute(k, sg, se, leading, y, x, p, rows, scopes,
        new LocoResiduals.Options(1e-8, 500, 512, false, 5e-3), wholePy);
    assertEquals(columnCount[0], warm.columnPasses(), "column-passes counted, the warm start's products included");
    LocoResiduals.Result coldJob = LocoResiduals.compute(k, sg, se, leading, y, x, p, rows, scopes,
        new LocoResiduals.Options(5e-4, 500, 512, false, 5e-3));
    LocoResiduals.Result warmJob = LocoResiduals.compute(k, sg, se, leading, y, x, p, rows, scopes,
        new LocoResiduals.Options(5e-4, 500, 512, false, 5e-3), wholePy);
    System.out.printf("LocoResidualsTest: at 5e-4, cold %d column-passes (iterations %s), warm %d (%s)%n",
        coldJob.columnPasses(), java.util.Arrays.toString(coldJob.iterations()), warmJob.columnPasses(),
        java.util.Arrays.toString(warmJob.iterations()));
    assertTrue(warmJob.columnPasses() < coldJob.columnPasses(), "warm start saves column-passes: "
        + warmJob.columnPasses() + " vs " + coldJob.columnPasses());
    assertTrue(warmJob.maxRelResidual() <= 5e-4, "y to its tolerance from the warm start: " + warmJob.maxRelResidual());

    List<Double> exactChi2 = new ArrayList<>();
    List<Double> calChi2 = new ArrayList<>();
    List<Double> pooledChi2 = new ArrayList<>();
    List<Double> pooledRatios = new ArrayList<>();
    for (int c = 0; c < chromosomes; c++) {
      CalibratedModel model = res.models().get(c);
      double[] kk = PlainKinship.k(g, chr, c + 1);
      double[] vinv = new double[n * n];
      for (int a = 0; a < n; a++) {
        for (int b = 0; b < n; b++) {
          vinv[a + b * n] = sg * kk[rows[a] + rows[b] * nFam] + (a == b ? se : 0);
        }
      }
      CalibratedAssocTest.invertSpd(vinv, n);
      double[] pm = CalibratedAssocTest.projector(vinv, x, n, p);
      double[] ident = new double[n * n];
      for (int i = 0; i < n; i++) {
        ident[i * (n + 1)] = 1;
      }
      double[] h = CalibratedAssocTest.projector(ident, x, n, p);
      // The residual P_{−c} y: CG to 1e-8 relative residual, condition ~ 10: 1e-6 relative to its norm.
      double[] py = new double[n];
      Blas.dgemv(false, n, n, 1.0, pm, y, 0.0, py);
      double[] r = model.residual();
      double norm = Math.sqrt(quadIdentity(py));
      for (int i = 0; i < n; i++) {
        assertClose(r[i], py[i], 1e-6 * norm, 0, "P_-" + (c + 1) + " y [" + i + "]");
        assertClose(warm.models().get(c).residual()[i], py[i], 1e-6 * norm, 0, "warm P_-" + (c + 1) + " y [" + i + "]");
        // At 5e-4 relative residual, condition ~10: 5e-3 of the norm, warm or cold.
        assertClose(warmJob.models().get(c).residual()[i], py[i], 5e-3 * norm, 0, "warm P_-" + (c + 1) + " y at 5e-4");
      }
      // γ: the plain mean of xᵀP_{−c}x / x̃ᵀx̃ over the same sampled variants (CG 1e-8: 1e-6 relative).
      DosageBlock sample = scopes.get(c).sample();
      double[] ratios = new double[sample.m];
      for (int t = 0; t < sample.m; t++) {
        double[] xv = CalibratedAssocTest.column(sample, t);
        ratios[t] = CalibratedAssocTest.quad(pm, xv, xv, n) / CalibratedAssocTest.quad(h, xv, xv, n);
      }
      Calibration.Gamma plain = Calibration.summarize(ratios, ratios.length);
      assertClose(model.gamma().mean(), plain.mean(), 0, 1e-6, "γ of chromosome " + (c + 1));
      assertClose(model.gamma().sd(), plain.sd(), 0, 1e-4, "SD of the ratio, chromosome " + (c + 1));
      // Every variant of the chromosome, exact MLMA vs calibrated.
      boolean[] include = new boolean[m];
      for (int v = 0; v < m; v++) {
        include[v] = chrIndex[v] == c;
      }
      AssocResults cal = CalibratedTest.testRange(model, BedFixture.source(prefix).reader(), 0, m,
          BedFixture.source(prefix).position(0), include, 0, 64, conf,
          new VariantFilterCounts(n));
      List<Double> all = new ArrayList<>();
      List<Double> mine = new ArrayList<>();
      new DosageBlockReader(BedFixture.source(prefix).reader(), rows, 0, 64).read(0, m,
          BedFixture.source(prefix).position(0), include, conf, new VariantFilterCounts(n), block -> {
        for (int t = 0; t < block.m; t++) {
          double[] xv = CalibratedAssocTest.column(block, t);
          double xpy = CalibratedAssocTest.quad(pm, xv, y, n);
          double xpx = CalibratedAssocTest.quad(pm, xv, xv, n);
          mine.add(xpy * xpy / xpx);
          all.add(xpx / CalibratedAssocTest.quad(h, xv, xv, n));
        }
      });
      assertEquals(mine.size(), cal.size());
      for (int t = 0; t < cal.size(); t++) {
        exactChi2.add(mine.get(t));
        calChi2.add(cal.statistic(t));
      }
      // γ within its reported spread: the mean ratio over ALL variants of the chromosome lies within
      // 3 standard errors (SD/√s) of the sampled estimate.
      double[] allRatios = all.stream().mapToDouble(Double::doubleValue).toArray();
      Calibration.Gamma whole = Calibration.summarize(allRatios, allRatios.length);
      System.out.printf("LocoResidualsTest chromosome %d: %s; all %d variants: %s%n", c + 1, model.gamma(),
          allRatios.length, whole);
      assertTrue(Math.abs(model.gamma().mean() - whole.mean()) <= 3 * model.gamma().seOfMean(),
          "γ " + model.gamma() + " vs all variants " + whole);
      assertClose(split.own().get(c).mean(), model.gamma().mean(), 0, 1e-6, "γ, batches of 40");
      assertClose(split.models().get(c).gamma().mean(), split.pooled().mean(), 0, 0, "pooled γ in every model");
      for (double ratio : ratios) {
        pooledRatios.add(ratio);
      }
      AssocResults pooledCal = CalibratedTest.testRange(split.models().get(c), BedFixture.source(prefix).reader(), 0, m,
          BedFixture.source(prefix).position(0), include, 0, 64, conf,
          new VariantFilterCounts(n));
      for (int t = 0; t < pooledCal.size(); t++) {
        pooledChi2.add(pooledCal.statistic(t));
      }
    }
    double corr = correlation(exactChi2.stream().mapToDouble(Double::doubleValue).toArray(),
        calChi2.stream().mapToDouble(Double::doubleValue).toArray());
    System.out.printf("LocoResidualsTest: χ² correlation calibrated LOCO vs dense exact LOCO MLMA %.6f over %d variants, "
        + "%d passes, CG iterations %s%n", corr, exactChi2.size(), res.passes(), java.util.Arrays.toString(res.iterations()));
    // The target for the calibrated test: correlation > 0.999 with the exact MLMA.
    assertTrue(corr > 0.999, "χ² correlation " + corr);
    // Pooled γ: the plain mean of all 4 × 25 sampled ratios; the same target.
    double[] pr = pooledRatios.stream().mapToDouble(Double::doubleValue).toArray();
    assertClose(split.pooled().mean(), Calibration.summarize(pr, pr.length).mean(), 0, 1e-6, "pooled γ");
    double pooledCorr = correlation(exactChi2.stream().mapToDouble(Double::doubleValue).toArray(),
        pooledChi2.stream().mapToDouble(Double::doubleValue).toArray());
    System.out.printf("LocoResidualsTest: pooled %s, χ² correlation %.6f%n", split.pooled(), pooledCorr);
    assertTrue(pooledCorr > 0.999, "χ² correlation with the pooled γ " + pooledCorr);
  }

  /** The cached 2-bit blocks decode to exactly the dosages the .bed reader gives. */
  @Test
  void packedBlocksDecodeLikeTheBed(@TempDir Path dir) {
    int nFam = 45;
    int m = 60;
    int[][] g = BedFixture.random(nFam, m, 0.05, 7, 9);
    int[] chr = new int[m];
    java.util.Arrays.fill(chr, 1);
    String prefix = BedFixture.write(dir, "packed", g, chr);
    int[] rows = {4, 0, 44, 10, 11, 30, 31, 2, 3, 20};
    List<PackedGenotypeBlock> blocks = new ArrayList<>();
    new PackedGenotypeReader(BedFixture.source(prefix).reader(), 0, 8).read(0, m,
        BedFixture.source(prefix).position(0), null, new int[m], conf, new VariantFilterCounts(0),
        blocks::add);
    List<float[]> fromCache = new ArrayList<>();
    List<Integer> idsCache = new ArrayList<>();
    VariantFilterCounts cacheCounts = new VariantFilterCounts(0);
    PackedDosages.read(blocks, new DosageDecoder(rows, 0.1), 16, cacheCounts, b -> {
      for (int t = 0; t < b.m; t++) {
        fromCache.add(java.util.Arrays.copyOfRange(b.values, t * b.n, (t + 1) * b.n));
        idsCache.add(b.variantIndex[t]);
      }
    });
    List<float[]> fromBed = new ArrayList<>();
    List<Integer> idsBed = new ArrayList<>();
    VariantFilterCounts bedCounts = new VariantFilterCounts(rows.length);
    new DosageBlockReader(BedFixture.source(prefix).reader(), rows, 0.1, 16).read(0, m,
        BedFixture.source(prefix).position(0), null, conf, bedCounts, b -> {
      for (int t = 0; t < b.m; t++) {
        fromBed.add(java.util.Arrays.copyOfRange(b.values, t * b.n, (t + 1) * b.n));
        idsBed.add(b.variantIndex[t]);
      }
    });
    assertEquals(idsBed, idsCache);
    assertTrue(idsBed.size() > 20);
    for (int t = 0; t < fromBed.size(); t++) {
      assertTrue(java.util.Arrays.equals(fromBed.get(t), fromCache.get(t)), "variant " + idsBed.get(t));
    }
    // Every cached variant was seen by the analysed-sample decoder (the cache dropped only all-sample monomorphic ones).
    assertEquals(bedCounts.kept, cacheCounts.kept);
  }

  private static double quadIdentity(double[] a) {
    double s = 0;
    for (double v : a) {
      s += v * v;
    }
    return s;
  }

  private static double correlation(double[] a, double[] b) {
    return CalibratedAssocTest.correlation(a, b);
  }

}
