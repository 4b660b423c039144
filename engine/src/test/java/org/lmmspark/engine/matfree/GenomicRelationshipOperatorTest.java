package org.lmmspark.engine.matfree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.kinship.GrmKernel;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.PlainKinship;

/** The packed-genotype operator K V = Z(ZᵀV)/M against K written plainly and against the GRM kernel. */
class GenomicRelationshipOperatorTest {
  private final Configuration conf = new Configuration();

  /** Brute force, written plainly: {@link PlainKinship#k}. */
  static double[] plainK(int[][] g, int[] chr, int leftOut) {
    return PlainKinship.k(g, chr, leftOut);
  }

  @Test
  void productsEqualPlainKWithSubsetAndLoco(@TempDir Path dir) {
    int n = 57;
    int m = 130;
    int[][] g = BedFixture.random(n, m, 0.04, 9, 17);
    int[] chr = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = v < 40 ? 1 : v < 100 ? 2 : 3;
    }
    String prefix = BedFixture.write(dir, "t", g, chr);
    int[] chrIndex = new int[m];
    for (int v = 0; v < m; v++) {
      chrIndex[v] = chr[v] - 1;
    }
    // Blocks of 7 variants: many blocks, none spanning two chromosomes.
    LocalGenotypeProducts prod = LocalGenotypeProducts.read(BedFixture.source(prefix), null, chrIndex, 3, 0, 7, conf);
    int[] rows = {3, 0, 56, 10, 11, 12, 40, 41, 2, 30, 31, 33, 50};
    int ns = rows.length;
    int k = 4;
    Random rnd = new Random(3);
    double[] v = new double[ns * k];
    for (int i = 0; i < v.length; i++) {
      v[i] = rnd.nextGaussian();
    }
    int[] leaveOut = {-1, 0, 1, 2};
    GenomicRelationshipOperator op = new GenomicRelationshipOperator(prod, rows, -1);
    double[] out = new double[ns * k];
    op.applyLoco(v, k, leaveOut, out);
    for (int j = 0; j < k; j++) {
      double[] kk = plainK(g, chr, leaveOut[j] + 1);
      for (int a = 0; a < ns; a++) {
        double s = 0;
        for (int b = 0; b < ns; b++) {
          s += kk[rows[a] + rows[b] * n] * v[b + j * ns];
        }
        // Single-precision GEMMs (GenotypeProductKernel) against a plain double sum: float rounding, ~3e-7 of
        // the entries' scale (|v| ~ 1, K entries ≤ ~2): 1e-6 absolute and relative.
        assertClose(out[a + j * ns], s, 1e-6, 1e-6, "K_-" + leaveOut[j] + " v (" + a + "," + j + ")");
      }
      double[] diag = op.leaveOut(leaveOut[j]).diagonal();
      for (int a = 0; a < ns; a++) {
        assertClose(diag[a], kk[rows[a] + rows[a] * n], 1e-12, 1e-10, "diagonal " + a);
      }
    }
    assertEquals(1, prod.passes(), "all LOCO columns in one pass");
    assertThrows(UnsupportedOperationException.class, op::toDense);
  }

  /**
   * Brute force, written plainly: {@code Z_d Z_dᵀ v} over all n samples for chromosome {@code d} (a {@code .bim}
   * number), z = (x − 2p)/sqrt(2p(1−p)) with p over the called genotypes, missing z = 0, monomorphic variants
   * dropped (as {@link PlainKinship#k}), unscaled.
   */
  static double[] plainPart(int[][] g, int[] chr, int d, double[] v) {
    int n = g[0].length;
    double[] out = new double[n];
    for (int var = 0; var < g.length; var++) {
      if (chr[var] != d) {
        continue;
      }
      double s = 0;
      int called = 0;
      for (int i = 0; i < n; i++) {
        if (g[var][i] >= 0) {
          s += g[var][i];
          called++;
        }
      }
      double p = s / (2.0 * called);
      if (called == 0 || p <= 0 || p >= 1) {
        continue;
      }
      double sd = Math.sqrt(2 * p * (1 - p));
      double[] z = new double[n];
      double zv = 0;
      for (int i = 0; i < n; i++) {
        z[i] = g[var][i] < 0 ? 0 : (g[var][i] - 2 * p) / sd;
        zv += z[i] * v[i];
      }
      for (int i = 0; i < n; i++) {
        out[i] += z[i] * zv;
      }
    }
    return out;
  }

  /**
   * The product split by chromosome: every chromosome's part {@code Z_dZ_dᵀv} of a column from one column of one
   * pass, over a subset of the samples (masked: zeros elsewhere, as {@link GenomicRelationshipOperator} does), and
   * mixed with ordinary weighted columns in the same pass; against {@link #plainPart}.
   */
  @Test
  void perChromosomePartsEqualPlainPartsInOnePass(@TempDir Path dir) {
    int n = 57;
    int m = 130;
    int[][] g = BedFixture.random(n, m, 0.04, 9, 23);
    int[] chr = new int[m];
    int[] chrIndex = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = v < 40 ? 1 : v < 100 ? 2 : 3;
      chrIndex[v] = chr[v] - 1;
    }
    String prefix = BedFixture.write(dir, "parts", g, chr);
    // Blocks of 7 variants: several blocks per chromosome, each block's product routed to its chromosome.
    LocalGenotypeProducts prod = LocalGenotypeProducts.read(BedFixture.source(prefix), null, chrIndex, 3, 0, 7, conf);
    int[] rows = {3, 0, 56, 10, 11, 12, 40, 41, 2, 30, 31, 33, 50};
    int ns = rows.length;
    Random rnd = new Random(5);
    // 2 columns: the kernel's tiles; 80: its wide form (GenotypeProductKernel.WIDE_COLUMNS), both route by block.
    for (int k : new int[] {2, GenotypeProductKernel.WIDE_COLUMNS}) {
      double[] v = new double[ns * k];
      for (int i = 0; i < v.length; i++) {
        v[i] = rnd.nextGaussian();
      }
      GenomicRelationshipOperator op = new GenomicRelationshipOperator(prod, rows, 1);
      double[] out = new double[ns * 3 * k];
      long passes0 = prod.passes();
      op.applyPerChromosome(v, k, out);
      assertEquals(1, prod.passes() - passes0, "all parts of all columns in one pass");
      for (int j = 0; j < k; j++) {
        double[] full = new double[n];
        for (int a = 0; a < ns; a++) {
          full[rows[a]] = v[a + j * ns];
        }
        for (int d = 0; d < 3; d++) {
          double[] plain = plainPart(g, chr, d + 1, full);
          for (int a = 0; a < ns; a++) {
            // Single-precision GEMMs against a plain double sum: ~3e-7 of the entries' scale (|v| ~ 1, the parts'
            // entries up to ~M_d·|v|): 1e-6 relative, 1e-5 absolute.
            assertClose(out[a + (d + 3 * j) * ns], plain[rows[a]], 1e-5, 1e-6, "Z_" + d + "Z_" + d + "ᵀv (" + a + ","
                + j + ")");
          }
        }
      }
    }

    // Mixed in one pass over all N samples: column 0 weighted and summed, column 1 split with weights (2, 0, 0.5),
    // column 2 weighted and summed: outputs 1 + 3 + 1 columns, in that order.
    int kk = 3;
    double[] vn = new double[n * kk];
    for (int i = 0; i < vn.length; i++) {
      vn[i] = rnd.nextGaussian();
    }
    double[] w = {1, 0.5, 0, 2, 0, 0.5, 0.25, 1, 3};
    boolean[] split = {false, true, false};
    assertEquals(5, GenotypeProducts.outputColumns(kk, split, 3));
    double[] mixed = new double[n * 5];
    prod.multiply(vn, kk, w, split, mixed);
    int[] column = {0, 1, 1, 1, 2};
    int[] part = {-1, 0, 1, 2, -1};
    for (int o = 0; o < 5; o++) {
      int j = column[o];
      double[] vj = java.util.Arrays.copyOfRange(vn, j * n, (j + 1) * n);
      double[] expect = new double[n];
      for (int d = 0; d < 3; d++) {
        if (part[o] >= 0 && part[o] != d) {
          continue;
        }
        double[] pd = plainPart(g, chr, d + 1, vj);
        for (int i = 0; i < n; i++) {
          expect[i] += w[d + 3 * j] * pd[i];
        }
      }
      for (int i = 0; i < n; i++) {
        assertClose(mixed[i + o * n], expect[i], 1e-5, 1e-6, "output " + o + " sample " + i);
      }
    }
  }

  @Test
  void equalsGrmKernelWithoutMissingCalls(@TempDir Path dir) {
    int n = 90;
    int m = 300;
    int[][] g = BedFixture.random(n, m, 0, 13, 5);
    int[] chr = new int[m];
    java.util.Arrays.fill(chr, 1);
    String prefix = BedFixture.write(dir, "u", g, chr);
    List<SampleId> samples = PlinkFileset.open(prefix, conf).samples();
    Grm grm = GrmKernel.computeLocal(BedFixture.source(prefix), null, 0, 32, 50, conf);
    double[] dense = grm.toDense();
    LocalGenotypeProducts prod = LocalGenotypeProducts.read(BedFixture.source(prefix), null, null, 1, 0, 64, conf);
    int[] rows = new int[n];
    for (int i = 0; i < n; i++) {
      rows[i] = i;
    }
    GenomicRelationshipOperator op = new GenomicRelationshipOperator(prod, rows, -1);
    int k = 3;
    double[] v = new double[n * k];
    Random rnd = new Random(8);
    for (int i = 0; i < v.length; i++) {
      v[i] = rnd.nextGaussian();
    }
    double[] out = new double[n * k];
    op.apply(v, k, out);
    for (int j = 0; j < k; j++) {
      for (int a = 0; a < n; a++) {
        double s = 0;
        for (int b = 0; b < n; b++) {
          s += dense[a + b * n] * v[b + j * n];
        }
        // The GRM kernel is float32: 1e-5 relative to the size of the terms.
        assertClose(out[a + j * n], s, 1e-4, 1e-5, "K v (" + a + "," + j + ")");
      }
    }
    assertEquals(prod.counts().kept, op.variantsWithout(-1));
    assertClose(op.trace(), grmTrace(dense, n), 1e-4, 1e-6, "trace");
  }

  /**
   * With {@code --kernel standardized} or {@code centered} both routes divide by M and mean-impute
   * missing calls, so the matrix-free operator equals the GRM kernel's matrix even with missing calls
   * (with gcta they differ by GCTA's per-pair counts M_jk). 1e-5 relative (float32 GRM).
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(value = org.lmmspark.engine.genotype.GenotypeScaling.class,
      names = {"STANDARDIZED", "CENTERED"})
  void equalsGrmKernelWithMissingCallsForTheMeanDivisorKernels(org.lmmspark.engine.genotype.GenotypeScaling scaling,
      @TempDir Path dir) {
    int n = 70;
    int m = 200;
    int[][] g = BedFixture.random(n, m, 0.05, 11, 6);
    int[] chr = new int[m];
    java.util.Arrays.fill(chr, 1);
    String prefix = BedFixture.write(dir, "s", g, chr);
    double[] dense = GrmKernel.computeLocal(BedFixture.source(prefix), null, 0, 32, 50, scaling, conf).toDense();
    LocalGenotypeProducts prod = LocalGenotypeProducts.read(BedFixture.source(prefix), null, null, 1, 0, 64, scaling, conf);
    int[] rows = new int[n];
    for (int i = 0; i < n; i++) {
      rows[i] = i;
    }
    GenomicRelationshipOperator op = new GenomicRelationshipOperator(prod, rows, -1);
    double[] v = new double[n];
    Random rnd = new Random(9);
    for (int i = 0; i < n; i++) {
      v[i] = rnd.nextGaussian();
    }
    double[] out = new double[n];
    op.apply(v, 1, out);
    double scale = scaling == org.lmmspark.engine.genotype.GenotypeScaling.CENTERED ? 0.5 : 1; // entries ~2p(1-p)
    for (int a = 0; a < n; a++) {
      double s = 0;
      for (int b = 0; b < n; b++) {
        s += dense[a + b * n] * v[b];
      }
      assertClose(out[a], s, 1e-4 * scale, 1e-5, scaling + " K v (" + a + ")");
    }
  }

  private static double grmTrace(double[] a, int n) {
    double t = 0;
    for (int i = 0; i < n; i++) {
      t += a[i + i * n];
    }
    return t;
  }
}
