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
   * The 2-bit blocks' products run on centred counts {@code d = x − r} with {@code z = s·d + β} and the missing
   * calls patched into the tiles ({@link PackedGenotypeBlock.RawCoding}); here against the same double triple loop
   * over {@link PackedGenotypeBlock#value}, on blocks built by hand to hold what that form must get right: n = 1,501
   * (three tiles, the last ending inside a {@code .bed} byte), 700 variants (two chunks) of six kinds in turn —
   * common (p ∈ [0.2, 0.8]), 40 % missing calls, rare A1 (p = 0.004, r = 0), rare other allele (p = 0.996, r = 2,
   * where uncentred counts would cancel against 2p in float), monomorphic (all code values 0, s = 0) and all but
   * three calls missing — and an 8-bit dosage block of the same genotypes (standardized decode, no raw form).
   */
  @Test
  void centredCountsHandleMissingRareAndMonomorphicVariants() {
    int n = 1501;
    int m = 700;
    java.util.SplittableRandom rng = new java.util.SplittableRandom(41);
    int bpv = (n + 3) / 4;
    byte[] bed = new byte[m * bpv];
    double[] codeValue = new double[4 * m];
    byte[] dosage = new byte[m * n];
    double[] dosageValue = new double[4 * m];
    int[][] g = new int[m][n];
    for (int v = 0; v < m; v++) {
      int kind = v % 6;
      double p = switch (kind) {
        case 2 -> 0.004;
        case 3 -> 0.996;
        default -> 0.2 + 0.6 * rng.nextDouble();
      };
      double missing = kind == 1 ? 0.4 : kind == 5 ? 1 : 0.01;
      int[] counts = new int[4];
      for (int i = 0; i < n; i++) {
        int x = kind == 4 ? 2 : (rng.nextDouble() < p ? 1 : 0) + (rng.nextDouble() < p ? 1 : 0);
        g[v][i] = (kind == 5 ? i % 500 != 7 : rng.nextDouble() < missing) ? -1 : x;
      }
      if (kind == 2 || kind == 3) {
        g[v][3] = 1; // at least one call of the rare allele
      }
      if (kind == 5) {
        g[v][7] = 0; // the three called samples differ
        g[v][507] = 2;
      }
      for (int i = 0; i < n; i++) {
        // .bed codes: 00 two A1, 01 missing, 10 one, 11 none.
        int code = g[v][i] < 0 ? 1 : g[v][i] == 2 ? 0 : g[v][i] == 1 ? 2 : 3;
        counts[code]++;
        bed[v * bpv + i / 4] |= (byte) (code << (2 * (i % 4)));
        dosage[v * n + i] = (byte) (g[v][i] < 0 ? PackedGenotypeBlock.MISSING_DOSAGE : 127 * g[v][i]);
      }
      if (kind != 4) {
        double[] four = new double[4];
        org.lmmspark.engine.genotype.GenotypeScaling.GCTA.codeValues(counts[0], counts[2], counts[3], n, four);
        System.arraycopy(four, 0, codeValue, 4 * v, 4);
        double scale = four[0] - four[2];
        dosageValue[4 * v] = scale / PackedGenotypeBlock.DOSAGE_STEPS;
        dosageValue[4 * v + 1] = four[3];
      }
    }
    PackedGenotypeBlock hard = new PackedGenotypeBlock(n, m, 0, false, bed, codeValue, new int[m], null);
    PackedGenotypeBlock dos = new PackedGenotypeBlock(n, m, 0, true, dosage, dosageValue, new int[m], new double[m]);
    assertTrue(hard.rawCoding() != null, "GCTA code values are affine in the count");
    assertTrue(dos.rawCoding() == null, "8-bit blocks keep the standardized decode");

    // The raw form itself: s·d + β is the standardized value of every call (d exact, missing patched in).
    PackedGenotypeBlock.RawCoding coding = hard.rawCoding();
    float[] tile = new float[512 * m];
    for (int row = 0; row < n; row += 512) {
      int rows = Math.min(512, n - row);
      hard.decodeRaw(0, m, row, rows, coding, tile, null);
      for (int v = 0; v < m; v++) {
        for (int i = 0; i < rows; i++) {
          double z = coding.scale[v] * tile[i + v * rows] + coding.offset[v];
          assertEquals(hard.value(v, row + i), z, 1e-6 * (1 + Math.abs(hard.value(v, row + i))),
              "variant " + v + ", sample " + (row + i));
        }
      }
    }

    Random rnd = new Random(9);
    for (PackedGenotypeBlock b : List.of(hard, dos)) {
      for (int k : new int[] {4, 19, 44, GenotypeProductKernel.WIDE_COLUMNS}) {
        double[] v = new double[n * k];
        double[] w = new double[k];
        for (int j = 0; j < k; j++) {
          w[j] = 1.0 / m;
          for (int i = 0; i < n; i++) {
            // Gaussian columns, every third one with a mean 3 times its spread (a covariate-like column).
            v[i + j * n] = rnd.nextGaussian() + (j % 3 == 2 ? 3 : 0);
          }
        }
        double[] out = new double[n * k];
        GenotypeProductKernel.Workspace ws = new GenotypeProductKernel.Workspace();
        float[] vf = GenotypeProductKernel.toFloat(v, n * k);
        GenotypeProductKernel.multiplyAdd(b, vf, k, w, out, ws);
        double[] tk = GenotypeProductKernel.transposeProduct(b, vf, k, ws).clone();
        double[] ref = new double[n * k];
        double[] refT = new double[m * k];
        for (int x = 0; x < m; x++) {
          for (int j = 0; j < k; j++) {
            double t = 0;
            for (int i = 0; i < n; i++) {
              t += b.value(x, i) * vf[i + j * n];
            }
            refT[x + j * m] = t;
            for (int i = 0; i < n; i++) {
              ref[i + j * n] += b.value(x, i) * t * w[j];
            }
          }
        }
        double worst = 0;
        for (int j = 0; j < k; j++) {
          double err = 0;
          double norm = 0;
          double errT = 0;
          double normT = 0;
          for (int i = 0; i < n; i++) {
            err += Math.pow(out[i + j * n] - ref[i + j * n], 2);
            norm += ref[i + j * n] * ref[i + j * n];
          }
          for (int x = 0; x < m; x++) {
            errT += Math.pow(tk[x + j * m] - refT[x + j * m], 2);
            normT += refT[x + j * m] * refT[x + j * m];
            if (x % 6 == 4) {
              assertEquals(0.0, tk[x + j * m], 0.0, "a monomorphic variant's loading is 0");
            }
          }
          double rel = Math.sqrt(err / norm);
          double relT = Math.sqrt(errT / normT);
          worst = Math.max(worst, Math.max(rel, relT));
          // As above: float inputs and short float sums, a few u norm-wise; 1e-6 fails if the rare variants'
          // counts cancelled in float against their mean (u·2p/sd ≈ 2e-6 per value at p = 0.996). A column with a
          // mean of 3 sd: Zᵀv is a sum of terms ~3|z| that cancel to ~|z|·√n, so the same float rounding is
          // larger relative to it: measured 0.9–1.05e-6 here, and 1.0–1.6e-6 for the standardized decode (the
          // kernel before the centred counts, and the 8-bit block); 2e-6 fails if the counts' drift against the
          // mean were summed uncentred (1.3–9e-6 measured).
          double tol = j % 3 == 2 ? 2e-6 : 1e-6;
          assertTrue(rel < tol, (b.dosages ? "8-bit" : "2-bit") + " k=" + k + ", column " + j + ": " + rel);
          assertTrue(relT < tol, (b.dosages ? "8-bit" : "2-bit") + " k=" + k + ", Zᵀv column " + j + ": " + relT);
        }
        System.out.printf("%s k = %d: largest norm-wise relative error of K v or Zᵀv %.2e%n",
            b.dosages ? "8-bit" : "2-bit", k, worst);
      }
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
    // The wide form's products summed in float over at most WIDE_ROW_CHUNK variants, as its Zᵀv sums over samples.
    assertEquals(8, GenotypeProductKernel.wideChunksInFloat(512));
    assertEquals(30, GenotypeProductKernel.wideChunksInFloat(134));
    assertEquals(1, GenotypeProductKernel.wideChunksInFloat(5000));
  }
}
