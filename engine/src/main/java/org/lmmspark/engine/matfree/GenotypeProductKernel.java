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
 * <p>Work: one decode ({@code O(N·m_b)}), one GEMM {@code T = Z_bᵀV} ({@code m_b × k}) and one GEMM
 * {@code Z_b T}: {@code 4·N·m_b·k} flops per block, so a pass over all blocks is {@code 4·N·M·k}
 * flops whatever the number of LOCO columns.
 *
 * <p><b>Precision.</b> The GEMMs run in single precision (SGEMM: twice the flops per cycle of DGEMM
 * and half the memory traffic), with every sum that would be long kept short and the long sums
 * done in double: {@code T} is summed over row chunks of at most {@value #ROW_CHUNK} samples, each
 * chunk one SGEMM whose result is added into a double {@code T}; {@code Z_b T} sums only the block's
 * m_b variants (≤ 2048) in float before it is added into the caller's double accumulator, and
 * blocks and partitions are summed in double. Rounding then has three sources: z and v rounded to
 * float (relative 6·10⁻⁸ each, i.e. a K perturbed by ~10⁻⁷ relative, still exactly symmetric
 * positive semi-definite because the same rounded Z is used on both sides), and float summation
 * of at most {@code L = max(ROW_CHUNK, m_b)} terms (random-walk error ~{@code u·√L} of the sum of
 * the terms' magnitudes, u = 6·10⁻⁸). Measured against a plain double triple loop
 * (GenotypeProductKernelTest: n = 4,500, two row chunks, three blocks) the norm-wise relative
 * error of {@code K V} is 2–3·10⁻⁷ (≈ 5u) and no entry is off by more than 4·10⁻⁷ of the column's
 * largest one. Conjugate gradients checks its
 * recurrence residual, which keeps falling whatever the product error; the true residual
 * stalls near {@code ε·κ(V)} with ε the product error and κ(V) ≤ 1 + λ_max(K)·σ²_g/σ²_e (tens
 * for genetic data), i.e. ≤ 1e-5: the solutions, and the traces and quadratic forms made from
 * them, are accurate to that, far below the Monte Carlo error of the stochastic traces (~1e-2
 * relative), and the REML estimates agree with double-precision products to ~1e-5
 * (StochasticRemlTest).
 *
 * <p>Memory: the caller's {@link Workspace}: {@code 4·N·m_b} bytes for the decoded block,
 * {@code 4·N·k} for the block's product and {@code 12·m_b·k} for T.
 */
public final class GenotypeProductKernel {
  /** Most samples summed in one single-precision GEMM for {@code Z_bᵀV} before the double accumulation. */
  public static final int ROW_CHUNK = 4096;

  private GenotypeProductKernel() {}

  /**
   * Reusable buffers of one task; grows as blocks and column counts need. Also keeps where the task's
   * products spent their time (a few clock reads per block, against GEMMs of {@code 2·N·m_b·k} flops):
   * what {@code lmmspark bench-pass} reports.
   */
  public static final class Workspace {
    float[] z = new float[0];
    float[] t = new float[0];
    double[] tSum = new double[0];
    float[] product = new float[0];
    /** Nanoseconds decoding 2-bit (or 8-bit) codes into standardized floats. */
    public long decodeNanos;
    /** Nanoseconds in the SGEMMs {@code Z_bᵀV} (all row chunks) and {@code Z_b T}. */
    public long transposeGemmNanos;
    public long productGemmNanos;
    /** Nanoseconds adding float results into the double sums (T over row chunks, the block into out). */
    public long accumulateNanos;
    /** Flops of the SGEMMs, {@code 2·N·m_b·k} each. */
    public double flops;

    void ensure(int n, int m, int k) {
      if (z.length < (long) n * m) {
        z = new float[Math.multiplyExact(n, m)];
      }
      if (t.length < (long) m * k) {
        t = new float[m * k];
        tSum = new double[m * k];
      }
      if (product.length < (long) n * k) {
        product = new float[Math.multiplyExact(n, k)];
      }
    }
  }

  /** V rounded to single precision once per product (not once per block). */
  public static float[] toFloat(double[] v, int length) {
    float[] f = new float[length];
    for (int i = 0; i < length; i++) {
      f[i] = (float) v[i];
    }
    return f;
  }

  /**
   * {@code T(m_b×k) = Z_bᵀ V}: decodes the block into {@code ws} (where it stays for a following
   * {@code Z_b T}) and sums over row chunks of at most {@value #ROW_CHUNK} samples, each one SGEMM
   * added into a double T. Returns the workspace's T (valid until the workspace is used again):
   * column j holds {@code Σ_i z_iv v_ij} for each variant v of the block (loadings, projections).
   *
   * @param v n×k column-major in single precision ({@link #toFloat})
   */
  public static double[] transposeProduct(PackedGenotypeBlock block, float[] v, int k, Workspace ws) {
    int n = block.n;
    int m = block.m;
    if (v.length < (long) n * k) {
      throw new IllegalArgumentException("transposeProduct: V must hold n×k = " + n + "×" + k + " values");
    }
    ws.ensure(n, m, k);
    float[] z = ws.z;
    float[] t = ws.t;
    double[] tSum = ws.tSum;
    long t0 = System.nanoTime();
    block.decode(0, m, z);
    long t1 = System.nanoTime();
    ws.decodeNanos += t1 - t0;
    java.util.Arrays.fill(tSum, 0, m * k, 0.0);
    long adding = 0;
    for (int r0 = 0; r0 < n; r0 += ROW_CHUNK) {
      int rows = Math.min(ROW_CHUNK, n - r0);
      Blas.sgemm(true, false, m, k, rows, 1f, z, r0, n, v, r0, n, 0f, t, 0, m);
      long a0 = System.nanoTime();
      for (int i = 0; i < m * k; i++) {
        tSum[i] += t[i];
      }
      adding += System.nanoTime() - a0;
    }
    ws.accumulateNanos += adding;
    ws.transposeGemmNanos += System.nanoTime() - t1 - adding;
    ws.flops += 2.0 * n * m * k;
    return tSum;
  }

  /**
   * {@code out(n×k) += Z_b · (Z_bᵀ V ∘ w)} (column-major; {@code columnWeight[j]} scales column j).
   *
   * @param v   n×k column-major in single precision ({@link #toFloat}), n = {@code block.n}
   * @param out n×k double accumulator
   */
  public static void multiplyAdd(PackedGenotypeBlock block, float[] v, int k, double[] columnWeight, double[] out,
      Workspace ws) {
    int n = block.n;
    int m = block.m;
    if (v.length < (long) n * k || out.length < (long) n * k || columnWeight.length < k) {
      throw new IllegalArgumentException("multiplyAdd: V and out must hold n×k = " + n + "×" + k
          + " values and the weights k");
    }
    boolean any = false;
    for (int j = 0; j < k; j++) {
      any |= columnWeight[j] != 0;
    }
    if (!any || m == 0) {
      return;
    }
    double[] tSum = transposeProduct(block, v, k, ws);
    float[] z = ws.z;
    float[] t = ws.t;
    for (int j = 0; j < k; j++) {
      double w = columnWeight[j];
      int o = j * m;
      for (int i = 0; i < m; i++) {
        t[o + i] = (float) (tSum[o + i] * w);
      }
    }
    // out(n×k) += Z_b T: the block's m_b-term sums in float, added into the double accumulator.
    float[] p = ws.product;
    long t0 = System.nanoTime();
    Blas.sgemm(false, false, n, k, m, 1f, z, 0, n, t, 0, m, 0f, p, 0, n);
    long t1 = System.nanoTime();
    for (int i = 0; i < n * k; i++) {
      out[i] += p[i];
    }
    ws.productGemmNanos += t1 - t0;
    ws.accumulateNanos += System.nanoTime() - t1;
    ws.flops += 2.0 * n * m * k;
  }
}
