package org.lmmspark.jobs.matfree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.ChromosomeSelection;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.kinship.GrmKernel;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.SpectralReml;
import org.lmmspark.engine.reml.VarianceComponent;
import org.lmmspark.engine.reml.matfree.StochasticReml;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.spark.InProcessExchange;
import org.lmmspark.jobs.testing.SharedSpark;

/** The distributed operator and matrix-free REML on Spark (local[2], several partitions) against dense references. */
class MatrixFreeSparkTest {
  private final Configuration conf = new Configuration();

  /** K·V and LOCO K_{−c}·V from cached packed blocks equal dense products with GRMs from the GRM kernel. */
  @Test
  void distributedProductsEqualDenseGrm(@TempDir Path dir) {
    int n = 150;
    int m = 420;
    int[][] g = BedFixture.random(n, m, 0, 10, 31);
    int[] chr = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = v < 100 ? 1 : v < 300 ? 2 : 3;
    }
    String prefix = BedFixture.write(dir, "d", g, chr);
    PartitionedGenotypes pg = PartitionedGenotypes.open(GenotypeInput.bfile(prefix), ChromosomeSelection.all(), conf);
    List<SampleId> samples = pg.fileset().samples();
    try (DistributedGenotypeProducts prod = DistributedGenotypeProducts.cache(SharedSpark.jsc(), pg, 0, 5)) {
      assertTrue(prod.partitions() >= 5, "several partitions: " + prod.partitions());
      int[] rows = new int[n];
      for (int i = 0; i < n; i++) {
        rows[i] = i;
      }
      GenomicRelationshipOperator op = new GenomicRelationshipOperator(prod, rows, -1);
      int k = 4;
      int[] leaveOut = {-1, 0, 1, 2};
      Random rnd = new Random(4);
      double[] v = new double[n * k];
      for (int i = 0; i < v.length; i++) {
        v[i] = rnd.nextGaussian();
      }
      double[] out = new double[n * k];
      op.applyLoco(v, k, leaveOut, out);
      assertEquals(1, prod.passes(), "all LOCO columns from one pass");
      for (int j = 0; j < k; j++) {
        int c = leaveOut[j];
        boolean[] include = new boolean[m];
        for (int x = 0; x < m; x++) {
          include[x] = chr[x] - 1 != c;
        }
        Grm grm = GrmKernel.computeLocal(BedFixture.source(prefix), include, 0, 64, 100, conf);
        double[] dense = grm.toDense();
        for (int a = 0; a < n; a++) {
          double s = 0;
          for (int b = 0; b < n; b++) {
            s += dense[a + b * n] * v[b + j * n];
          }
          // The reference GRM is float32 (relative 1e-7 per entry, sums of 150 terms): 1e-5.
          assertClose(out[a + j * n], s, 1e-5, 1e-5, "K_-" + c + " v (" + a + ")");
        }
      }
      assertEquals(prod.counts().kept, op.variantsWithout(-1));

      // Split by chromosome through Spark: column j's part of chromosome d is Z_dZ_dᵀv_j = M_d·K_d v_j, K_d the GRM of
      // chromosome d's variants alone (no missing calls: the GRM kernel's K_d is Z_dZ_dᵀ/M_d exactly), M_d its
      // polymorphic variants counted here; all 3 parts of both columns from one pass.
      int ks = 2;
      double[] parts = new double[n * 3 * ks];
      op.applyPerChromosome(v, ks, parts);
      assertEquals(2, prod.passes(), "the split columns in one more pass");
      for (int d = 0; d < 3; d++) {
        boolean[] include = new boolean[m];
        int polymorphic = 0;
        for (int x = 0; x < m; x++) {
          include[x] = chr[x] - 1 == d;
          int sum = 0;
          for (int i = 0; i < n; i++) {
            sum += g[x][i];
          }
          polymorphic += include[x] && sum > 0 && sum < 2 * n ? 1 : 0;
        }
        double[] dense = GrmKernel.computeLocal(BedFixture.source(prefix), include, 0, 64, 100, conf).toDense();
        for (int j = 0; j < ks; j++) {
          for (int a = 0; a < n; a++) {
            double s = 0;
            for (int b = 0; b < n; b++) {
              s += dense[a + b * n] * v[b + j * n];
            }
            // As above, scaled by M_d (≤ 200): 1e-5 relative.
            assertClose(parts[a + (d + 3 * j) * n], polymorphic * s, 1e-4, 1e-5, "Z_" + d + "Z_" + d + "ᵀ v (" + a
                + ", " + j + ")");
          }
        }
      }

      // Bounded partial sums (as a small driver heap bounds them at scale): a product with more output columns than a
      // task may send back runs as several Spark jobs, one pass each, with the products above (checked against dense
      // GRMs) to the rounding of single-precision SGEMMs over other column counts.
      prod.limitPartialBytes(8L * n * 3);
      long before = prod.passes();
      double[] chunked = new double[n * k];
      op.applyLoco(v, k, leaveOut, chunked);
      assertEquals(before + 2, prod.passes(), "4 columns, at most 3 per job");
      double[] chunkedParts = new double[n * 3 * ks];
      op.applyPerChromosome(v, ks, chunkedParts);
      assertEquals(before + 4, prod.passes(), "2 split columns of 3 outputs each, one per job");
      for (int i = 0; i < out.length; i++) {
        assertClose(chunked[i], out[i], 1e-6, 1e-6, "chunked K_-c v (" + i + ")");
      }
      for (int i = 0; i < parts.length; i++) {
        assertClose(chunkedParts[i], parts[i], 1e-6, 1e-6, "chunked split part (" + i + ")");
      }

      // The route a cluster takes (V broadcast, the tasks' partials serialized and summed compensated in a tree), here
      // on the local master: the same tasks' sums as the in-process route's plain sum in partition order, so equal to
      // the rounding of a few double additions of O(1) values.
      double[] serialized = new double[n * k];
      double[] serializedParts = new double[n * 3 * ks];
      System.setProperty(InProcessExchange.SERIALIZED_PROPERTY, "true");
      try {
        op.applyLoco(v, k, leaveOut, serialized);
        op.applyPerChromosome(v, ks, serializedParts);
      } finally {
        System.clearProperty(InProcessExchange.SERIALIZED_PROPERTY);
      }
      for (int i = 0; i < out.length; i++) {
        assertClose(serialized[i], chunked[i], 1e-12, 1e-12, "serialized route K_-c v (" + i + ")");
      }
      for (int i = 0; i < parts.length; i++) {
        assertClose(serializedParts[i], chunkedParts[i], 1e-12, 1e-12, "serialized route split part (" + i + ")");
      }
    }
  }

  /**
   * Matrix-free REML through Spark on simulated data (n = 1,000, M = 2,000 on 3 chromosomes, no missing
   * calls, h² = 0.5, one covariate) agrees with spectral REML on the dense GRM from the GRM kernel.
   */
  @Test
  void matrixFreeRemlAgreesWithSpectral(@TempDir Path dir) throws IOException {
    int n = 1000;
    int m = 2000;
    int[][] g = BedFixture.random(n, m, 0, 0, 77);
    int[] chr = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = 1 + v * 3 / m;
    }
    String prefix = BedFixture.write(dir, "r", g, chr);
    Random rnd = new Random(78);
    double h2 = 0.5;
    double[] y = BedFixture.additiveValues(g, h2, rnd);
    double[] c = new double[n];
    StringBuilder ph = new StringBuilder("FID\tIID\ty\n");
    StringBuilder qc = new StringBuilder("FID\tIID\tc\n");
    for (int j = 0; j < n; j++) {
      c[j] = rnd.nextGaussian();
      y[j] += 2 + 0.5 * c[j] + rnd.nextGaussian() * Math.sqrt(1 - h2);
      // Sample 7 has no phenotype: it must be dropped, and the operator must skip its row.
      ph.append('F').append(j).append("\tI").append(j).append('\t').append(j == 7 ? "NA" : Double.toString(y[j])).append('\n');
      qc.append('F').append(j).append("\tI").append(j).append('\t').append(c[j]).append('\n');
    }
    Files.writeString(dir.resolve("r.pheno"), ph);
    Files.writeString(dir.resolve("r.qcovar"), qc);

    StochasticReml.Options ro = new StochasticReml.Options(40, 7, 1e-6, 500, 30, 1e-5, 1,
        StochasticReml.DEFAULT_DEFLATION_RANK, true);
    MatrixFreeRemlJob.Result r = MatrixFreeRemlJob.run(SharedSpark.jsc(), new MatrixFreeRemlJob.Options(GenotypeInput.bfile(prefix),
        dir.resolve("r.pheno").toString(), null, null, dir.resolve("r.qcovar").toString(), 0, ChromosomeSelection.all(),
        ro, 4));
    assertEquals(n - 1, r.samples().size());
    assertTrue(r.fit().converged(), r.fit().message());

    // Reference: the same samples, dense GRM from the GRM kernel, spectral REML.
    List<SampleId> fam = PlinkFileset.open(prefix, conf).samples();
    Grm grm = GrmKernel.computeLocal(BedFixture.source(prefix), null, 0, 256, 200, conf);
    int[] rows = new int[n - 1];
    double[] yy = new double[n - 1];
    double[] x = new double[2 * (n - 1)];
    for (int i = 0, j = 0; j < n; j++) {
      if (j == 7) {
        continue;
      }
      rows[i] = j;
      yy[i] = y[j];
      x[i] = 1;
      x[i + n - 1] = c[j];
      i++;
    }
    RemlProblem problem = new RemlProblem(yy, x, List.of("intercept", "c"),
        List.of(new VarianceComponent("G", new DenseSymmetricMatrix(n - 1, grm.toDense(rows)))));
    RemlFit exact = new SpectralReml().fit(problem);
    double h2Exact = exact.theta()[0] / (exact.theta()[0] + exact.theta()[1]);
    double h2Mf = r.summary().ratios().get(0).value();
    System.out.printf("Spark matrix-free: h2 %.5f (SE %.4f, MC SE of σ²_g %.4g) vs spectral %.5f (SE %.4f); logL %.3f vs %.3f;"
        + " %d passes, %d Spark jobs, cache %.1f s, REML %.1f s%n", h2Mf, r.summary().ratios().get(0).se(),
        r.diagnostics().monteCarloSe(0), h2Exact, Math.sqrt(exact.covariance()[0]) / (exact.theta()[0] + exact.theta()[1]),
        r.fit().logL(), exact.logL(), r.passes(), r.sparkJobs(), r.cacheSeconds(), r.remlSeconds());
    // Issue 6 point 4 (within 0.01 of the dense/spectral REML).
    assertClose(h2Mf, h2Exact, 0.01, 0, "h² matrix-free (Spark) vs spectral");
    assertClose(r.fit().beta()[1], exact.beta()[1], 0.01, 0, "β_c");
    assertTrue(r.passes() > 0 && r.sparkJobs() >= r.passes(), "one Spark job per pass at least");
  }
}
