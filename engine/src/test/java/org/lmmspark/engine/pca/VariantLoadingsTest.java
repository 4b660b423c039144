package org.lmmspark.engine.pca;

import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;
import org.lmmspark.engine.matfree.GenotypeProductKernel;
import org.lmmspark.engine.matfree.LocalGenotypeProducts;
import org.lmmspark.engine.matfree.PackedGenotypeBlock;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.PlainKinship;

/**
 * Principal components and their variant weights against the definitions written plainly: the exact
 * route on {@link PlainKinship}'s K (eigenpairs checked as {@code K u = λ u} with the dense matrix),
 * the randomized route against the exact one on a cohort with structure, and the weights
 * {@code w_jk = Σ_i z_ij u_ik/√λ_k} against a plain double loop (single-precision products:
 * 1e-5 relative to the weights' scale), which project the samples back onto their PCs
 * ({@code u_ik = Σ_j z_ij w_jk/(M√λ_k)}). Missing calls (1 %) included: the operator and the weights
 * mean-impute them, so the randomized route is compared with the mean-imputed K of PlainKinship.
 */
class VariantLoadingsTest {
  @TempDir Path dir;

  @Test
  void weightsProjectSamplesOntoTheirComponents() {
    int n = 300;
    int m = 900;
    int k = 4;
    int[][] g = structured(n, m);
    int[] chr = new int[m];
    java.util.Arrays.fill(chr, 1);
    String prefix = BedFixture.write(dir, "pcs", g, chr);
    double[] dense = PlainKinship.k(g, chr, 0);
    PrincipalComponents exact = ExactPca.of(dense.clone(), n, k);
    for (int c = 0; c < k; c++) {
      for (int i = 0; i < n; i++) {
        double ku = 0;
        for (int j = 0; j < n; j++) {
          ku += dense[i + j * n] * exact.vector(j, c);
        }
        assertClose(ku, exact.values()[c] * exact.vector(i, c), 1e-10, 0, "K u = λ u, PC" + (c + 1) + "[" + i + "]");
      }
    }
    LocalGenotypeProducts products = LocalGenotypeProducts.read(org.lmmspark.engine.testing.BedFixture.source(prefix), null, null, 1, 0, 128,
        new Configuration());
    int[] rows = java.util.stream.IntStream.range(0, n).toArray();
    PrincipalComponents approx = BlockKrylovPca.compute(new GenomicRelationshipOperator(products, rows, -1), k,
        new BlockKrylovPca.Options(0, 30, 1e-6, 7), null);
    // Same orientation convention on both routes: the vectors agree entry by entry, not just up to sign.
    assertClose(approx.values(), exact.values(), 0, 1e-6, "randomized eigenvalues");
    assertClose(approx.vectors(), exact.vectors(), 1e-5, 0, "randomized eigenvectors");

    float[] scaled = VariantLoadings.scaledVectors(exact);
    GenotypeProductKernel.Workspace ws = new GenotypeProductKernel.Workspace();
    List<VariantLoadings.Block> blocks = new ArrayList<>();
    for (PackedGenotypeBlock b : products.blocks()) {
      blocks.add(VariantLoadings.of(b, scaled, k, ws));
    }
    double[] projected = new double[n * k];
    int used = 0;
    for (VariantLoadings.Block b : blocks) {
      int mb = b.variantIndex().length;
      for (int v = 0; v < mb; v++) {
        int[] x = g[b.variantIndex()[v]];
        double p = b.a1Frequency()[v];
        double sd = Math.sqrt(2 * p * (1 - p));
        for (int c = 0; c < k; c++) {
          double w = 0;
          for (int i = 0; i < n; i++) {
            w += (x[i] < 0 ? 0 : (x[i] - 2 * p) / sd) * exact.vector(i, c) / Math.sqrt(exact.values()[c]);
          }
          assertClose(b.weights()[v + c * mb], w, 1e-5, 1e-5, "w of variant " + b.variantIndex()[v] + ", PC" + (c + 1));
          for (int i = 0; i < n; i++) {
            projected[i + c * n] += (x[i] < 0 ? 0 : (x[i] - 2 * p) / sd) * b.weights()[v + c * mb];
          }
        }
        used++;
      }
    }
    for (int c = 0; c < k; c++) {
      for (int i = 0; i < n; i++) {
        assertClose(projected[i + c * n] / (used * Math.sqrt(exact.values()[c])), exact.vector(i, c), 1e-5, 0,
            "projection of sample " + i + " on PC" + (c + 1));
      }
    }
  }

  /** Four groups with their own allele frequencies (clear leading PCs), 1 % missing calls. */
  static int[][] structured(int n, int m) {
    java.util.SplittableRandom r = new java.util.SplittableRandom(42);
    int[][] g = new int[m][n];
    for (int v = 0; v < m; v++) {
      double[] p = new double[4];
      double base = 0.1 + 0.8 * r.nextDouble();
      for (int q = 0; q < 4; q++) {
        p[q] = Math.min(0.95, Math.max(0.05, base + 0.25 * (r.nextDouble() - 0.5)));
      }
      for (int i = 0; i < n; i++) {
        double pi = p[i % 4];
        g[v][i] = r.nextDouble() < 0.01 ? -1 : (r.nextDouble() < pi ? 1 : 0) + (r.nextDouble() < pi ? 1 : 0);
      }
    }
    return g;
  }
}
