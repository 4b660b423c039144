package org.lmmspark.engine.matfree;

import org.lmmspark.engine.linalg.Blas;

/**
 * The numerics of one genotype block's share of a relationship-matrix product:
 * {@code out += Z_b · diag-scaled(Z_bᵀ V)}, i.e. for each column {@code j} of the block of vectors
 * {@code V} (N×k), {@code out_j += w_j · Z_b Z_bᵀ v_j}, with {@code Z_b} the standardized N×m_b
 * genotypes of the block (decoded on the fly from 2 bits) and {@code w_j} a per-column weight
 * ({@code 1/M} for {@code K = ZZᵀ/M}; {@code 0} drops the block from column j, which is how a
 * leave-one-chromosome-out column excludes its chromosome).
 *
 * <p>Work: one decode ({@code O(N·m_b)}), one DGEMM {@code T = Z_bᵀV} ({@code m_b × k}) and one DGEMM
 * {@code out += Z_b T}: {@code 4·N·m_b·k} flops per block, so a pass over all blocks is
 * {@code 4·N·M·k} flops whatever the number of LOCO columns. Double precision throughout, so the
 * products are accurate enough for conjugate gradients to 1e-8 and below. Memory: the caller's
 * workspace, {@code 8·N·m_b} bytes for the decoded block and {@code 8·m_b·k} for T.
 */
public final class GenotypeProductKernel {
  private GenotypeProductKernel() {}

  /** Workspace sizes for blocks of up to {@code maxVariants} variants and k columns. */
  public static double[] decodeWorkspace(int n, int maxVariants) {
    return new double[Math.multiplyExact(n, maxVariants)];
  }

  /**
   * {@code out(n×k) += Z_b · (Z_bᵀ V ∘ w)} (column-major; {@code columnWeight[j]} scales column j).
   *
   * @param v      n×k column-major, n = {@code block.n}
   * @param zWork  at least {@code n·block.m} doubles, overwritten
   * @param tWork  at least {@code block.m·k} doubles, overwritten
   */
  public static void multiplyAdd(PackedGenotypeBlock block, double[] v, int k, double[] columnWeight, double[] out,
      double[] zWork, double[] tWork) {
    int n = block.n;
    int m = block.m;
    if (v.length < (long) n * k || out.length < (long) n * k || columnWeight.length < k) {
      throw new IllegalArgumentException("multiplyAdd: V and out must hold n×k = " + n + "×" + k
          + " values and the weights k");
    }
    if (zWork.length < (long) n * m || tWork.length < (long) m * k) {
      throw new IllegalArgumentException("multiplyAdd: workspace too small for n=" + n + ", m=" + m + ", k=" + k);
    }
    boolean any = false;
    for (int j = 0; j < k; j++) {
      any |= columnWeight[j] != 0;
    }
    if (!any || m == 0) {
      return;
    }
    block.decode(0, m, zWork);
    // T(m×k) = Z_bᵀ V
    Blas.dgemm(true, false, m, k, n, 1.0, zWork, n, v, n, 0.0, tWork, m);
    for (int j = 0; j < k; j++) {
      double w = columnWeight[j];
      int o = j * m;
      for (int i = 0; i < m; i++) {
        tWork[o + i] *= w;
      }
    }
    // out(n×k) += Z_b T
    Blas.dgemm(false, false, n, k, m, 1.0, zWork, n, tWork, m, 1.0, out, n);
  }
}
