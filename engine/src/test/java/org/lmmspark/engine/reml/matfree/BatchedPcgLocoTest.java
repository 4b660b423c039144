package org.lmmspark.engine.reml.matfree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;
import org.lmmspark.engine.matfree.LocalGenotypeProducts;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.PlainKinship;

/**
 * Batched PCG with a different matrix per column: {@code V_{−c} = σ²_g K_{−c} + σ²_e I}, the left-out
 * chromosome chosen by the column's index in the batch, through
 * {@link GenomicRelationshipOperator#applyLoco}, against dense Cholesky solves of each {@code V_{−c}}
 * with {@code K_{−c}} written plainly from the genotypes.
 */
class BatchedPcgLocoTest {

  @Test
  void perColumnLocoSolvesEqualDenseSolves(@TempDir Path dir) {
    Configuration conf = new Configuration();
    int n = 80;
    int m = 150;
    int[][] g = BedFixture.random(n, m, 0.02, 11, 21);
    int[] chr = new int[m];
    int[] chrIndex = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = v < 70 ? 1 : 2;
      chrIndex[v] = chr[v] - 1;
    }
    String prefix = BedFixture.write(dir, "loco", g, chr);
    LocalGenotypeProducts prod = LocalGenotypeProducts.read(BedFixture.source(prefix), null, chrIndex, 2, 0, 16, conf);
    int[] rows = new int[n - 5];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = (i * 7) % n; // a permuted subset (n = 80, 7 coprime: distinct rows)
    }
    int ns = rows.length;
    double sg = 0.8;
    double se = 0.4;
    // Six right-hand sides: columns 0–2 leave out chromosome 1 (index 0), 3–5 chromosome 2 (index 1).
    int r = 6;
    int[] leftOut = {0, 0, 0, 1, 1, 1};
    Random rnd = new Random(4);
    double[] b = new double[ns * r];
    for (int i = 0; i < b.length; i++) {
      b[i] = rnd.nextGaussian();
    }
    GenomicRelationshipOperator k = new GenomicRelationshipOperator(prod, rows, -1);
    List<int[]> calls = new ArrayList<>();
    BatchedPcg.ColumnOperator v = (in, cols, columns, out) -> {
      calls.add(java.util.Arrays.copyOf(columns, cols));
      int[] ex = new int[cols];
      for (int s = 0; s < cols; s++) {
        ex[s] = leftOut[columns[s]];
      }
      k.applyLoco(in, cols, ex, out);
      for (int i = 0; i < ns * cols; i++) {
        out[i] = sg * out[i] + se * in[i];
      }
    };
    // Per-column Jacobi diagonal: σ²_g diag(K_{−c}) + σ²_e.
    double[] pre = new double[ns * r];
    for (int j = 0; j < r; j++) {
      double[] d = k.leaveOut(leftOut[j]).diagonal();
      for (int i = 0; i < ns; i++) {
        pre[i + j * ns] = sg * d[i] + se;
      }
    }
    long passes0 = prod.passes();
    BatchedPcg.Result res = BatchedPcg.solve(ns, v, b, r, null, BatchedPcg.Preconditioner.diagonal(pre), 1e-11, 500,
        false);
    assertTrue(res.allConverged());
    assertEquals(res.products(), prod.passes() - passes0, "one genotype pass per iteration for both chromosomes");
    for (int[] c : calls) {
      for (int s = 1; s < c.length; s++) {
        assertTrue(c[s] > c[s - 1], "active columns in increasing order");
      }
    }
    for (int c = 0; c < 2; c++) {
      double[] kk = PlainKinship.k(g, chr, c + 1);
      double[] dense = new double[ns * ns];
      for (int a = 0; a < ns; a++) {
        for (int bb = 0; bb < ns; bb++) {
          dense[a + bb * ns] = sg * kk[rows[a] + rows[bb] * n] + (a == bb ? se : 0);
        }
      }
      double[] rhs = new double[ns * 3];
      System.arraycopy(b, 3 * c * ns, rhs, 0, 3 * ns);
      double[] expected = BatchedPcgTest.denseSolve(dense, ns, rhs, 3);
      for (int j = 0; j < 3; j++) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < ns; i++) {
          double e = res.x()[i + (3 * c + j) * ns] - expected[i + j * ns];
          num += e * e;
          den += expected[i + j * ns] * expected[i + j * ns];
        }
        // CG to 1e-11 relative residual on a system with condition ~ 10, but the products K V run in
        // single precision (GenotypeProductKernel: ~3e-7 relative error in K V), which bounds the
        // solution's relative error at ~κ·3e-7; measured 7e-8.
        assertTrue(Math.sqrt(num / den) < 1e-6, "chromosome " + c + " column " + j + ": " + Math.sqrt(num / den));
      }
    }
  }
}
