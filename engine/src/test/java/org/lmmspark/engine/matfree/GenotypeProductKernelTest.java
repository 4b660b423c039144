package org.lmmspark.engine.matfree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.testing.BedFixture;

/**
 * The single-precision kernel against a plain double triple loop over the same standardized values
 * ({@link PackedGenotypeBlock#value}, double): the precision conjugate gradients gets from it.
 */
class GenotypeProductKernelTest {

  /**
   * n = 4,500 samples (9 tiles of {@link GenotypeProductKernel#ROW_CHUNK}, the last one shorter, so Z_bᵀV is
   * summed over tiles), M = 1,500 variants in blocks of 700 (a block in two chunks of
   * {@link GenotypeProductKernel#VARIANT_CHUNK} or fewer, blocks summed in double), 1% missing calls,
   * columns Gaussian, Rademacher (the trace probes), a genetic-value-like Zβ (most of its norm in K's top
   * eigenvectors, as y and Py) and weighted 0 (a left-out chromosome), k = 4, 19 and 44 (tiles decoded twice,
   * the SGEMMs cut into small calls) and k = {@link GenotypeProductKernel#WIDE_COLUMNS} (the chunk decoded
   * once, the wide form).
   */
  @Test
  void singlePrecisionProductsMatchDoubleTripleLoop(@TempDir Path dir) {
    int n = 4500;
    int m = 1500;
    int[][] g = BedFixture.random(n, m, 0.01, 0, 23);
    int[] chr = new int[m];
    java.util.Arrays.fill(chr, 1);
    String prefix = BedFixture.write(dir, "k", g, chr);
    List<PackedGenotypeBlock> blocks = new ArrayList<>();
    new PackedGenotypeReader(BedFixture.source(prefix).reader(), 0, 700).read(0, m,
        BedFixture.source(prefix).position(0), null, null, new Configuration(), new VariantFilterCounts(0),
        blocks::add);
    assertEquals(3, blocks.size());
    int used = 0;
    for (PackedGenotypeBlock b : blocks) {
      used += b.m;
    }
    Random rnd = new Random(5);
    double[] genetic = new double[n];
    for (PackedGenotypeBlock b : blocks) {
      for (int x = 0; x < b.m; x++) {
        double beta = rnd.nextGaussian();
        for (int i = 0; i < n; i++) {
          genetic[i] += beta * b.value(x, i);
        }
      }
    }
    // k = 4, 19, 44: the tiles decoded twice, their SGEMMs cut into small-matrix calls (32, 32 and 16 variants for
    // Tᵀ; 496, 144 and 64 samples for tile · T); k = WIDE_COLUMNS: the chunk decoded once over all samples.
    for (int k : new int[] {4, 19, 44, GenotypeProductKernel.WIDE_COLUMNS}) {
      // Column j: Gaussian (j % 4 = 0), Rademacher (1), the genetic value (2), Gaussian weighted 0 (3).
      double[] v = new double[n * k];
      double[] w = new double[k];
      for (int j = 0; j < k; j++) {
        w[j] = j % 4 == 3 ? 0 : 1.0 / used;
        for (int i = 0; i < n; i++) {
          v[i + j * n] = switch (j % 4) {
            case 1 -> rnd.nextBoolean() ? 1 : -1;
            case 2 -> genetic[i];
            default -> rnd.nextGaussian();
          };
        }
      }
      double[] out = new double[n * k];
      GenotypeProductKernel.Workspace ws = new GenotypeProductKernel.Workspace();
      float[] vf = GenotypeProductKernel.toFloat(v, n * k);
      for (PackedGenotypeBlock b : blocks) {
        GenotypeProductKernel.multiplyAdd(b, vf, k, w, out, ws);
      }

      // Reference: out_j = w_j Σ_x z_x (z_xᵀ v_j), every sum in double, loops written plainly.
      double[] ref = new double[n * k];
      for (PackedGenotypeBlock b : blocks) {
        for (int x = 0; x < b.m; x++) {
          double[] z = new double[n];
          for (int i = 0; i < n; i++) {
            z[i] = b.value(x, i);
          }
          for (int j = 0; j < k; j++) {
            double t = 0;
            for (int i = 0; i < n; i++) {
              t += z[i] * v[i + j * n];
            }
            t *= w[j];
            for (int i = 0; i < n; i++) {
              ref[i + j * n] += z[i] * t;
            }
          }
        }
      }
      double worst = 0;
      for (int j = 0; j < k; j++) {
        if (j % 4 == 3) {
          for (int i = 0; i < n; i++) {
            assertEquals(0.0, out[i + j * n], "k=" + k + ": a column weighted 0 gets nothing");
          }
          continue;
        }
        double err = 0;
        double norm = 0;
        double maxErr = 0;
        double maxRef = 0;
        for (int i = 0; i < n; i++) {
          double d = out[i + j * n] - ref[i + j * n];
          err += d * d;
          norm += ref[i + j * n] * ref[i + j * n];
          maxErr = Math.max(maxErr, Math.abs(d));
          maxRef = Math.max(maxRef, Math.abs(ref[i + j * n]));
        }
        double rel = Math.sqrt(err / norm);
        worst = Math.max(worst, rel);
        // Float inputs (u = 6e-8) and float sums of ≤ 4,096 terms: a few u at most norm-wise; 1e-6 leaves a
        // margin of ~3 over the measured 3–4e-7 and still fails if any long sum ran in float (u·√n·√M ≫ 1e-6).
        assertTrue(rel < 1e-6, "k=" + k + ", column " + j + ": relative error " + rel);
        assertTrue(maxErr < 1e-6 * maxRef, "k=" + k + ", column " + j + ": largest entry error " + maxErr / maxRef);
      }
      System.out.printf("k = %d: largest norm-wise relative error of a column %.2e%n", k, worst);
    }
  }

  /**
   * Chunk sizes: tiles take chunks of 512 variants at any N; the wide form's decoded chunk stays within 256 MB
   * (64·2²⁰ floats: 134 variants at N = 500,000) and a block is cut into equal chunks.
   */
  @Test
  void chunksKeepTheWideFormWithin256Megabytes() {
    int wide = GenotypeProductKernel.WIDE_COLUMNS;
    assertEquals(512, GenotypeProductKernel.chunkLimit(500_000, 19));
    assertEquals(512, GenotypeProductKernel.chunkLimit(100_000, wide));
    assertEquals(134, GenotypeProductKernel.chunkLimit(500_000, wide));
    assertEquals(16, GenotypeProductKernel.chunkLimit(10_000_000, wide));
    assertEquals(512, GenotypeProductKernel.chunkVariants(2048, 512));
    assertEquals(350, GenotypeProductKernel.chunkVariants(700, 512));
    assertEquals(128, GenotypeProductKernel.chunkVariants(2048, 134)); // 16 equal chunks
    assertEquals(0, GenotypeProductKernel.chunkVariants(0, 512));
  }
}
