package org.lmmspark.engine.assoc;

import java.util.Arrays;
import java.util.List;
import org.lmmspark.engine.genotype.A1CountBlock;
import org.lmmspark.engine.genotype.BedDecoder;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.linalg.Blas;

/**
 * The calibrated test ({@link CalibratedTest}) of many traits at once, each over its own analysed samples, by one
 * wide matrix product per block of variants instead of a gather and {@code 2 + k + p} dot products per variant
 * and trait.
 *
 * <p>Trait t analyses the samples S_t (its {@code famRows}); its test of a variant needs, with {@code x} the A1
 * count centered over S_t's called samples ({@code x_i = (d_i − μ_t)·c_i}, d the count, c_i = 1 when called,
 * μ_t = 2p_t) and {@code w} each column of its model {@code [r | U_k | X]} ({@link CalibratedModel}), the sums
 * {@code xᵀw}, {@code xᵀx} and its filters' count and allele sum. All of them follow from sums of the raw counts
 * over all N samples ({@link A1CountBlock}) against one stacked N × C matrix {@code W}: a mask column per trait
 * (1 on S_t) then every trait's model columns, zero outside its samples:
 *
 * <pre>
 *   called_t = n_t − Σ_{i missing} mask_t(i),     S_t = dᵀmask_t (allele sum),   μ_t = S_t/called_t
 *   xᵀw     = dᵀw − μ_t·(1ᵀw − Σ_{i missing} w_i)
 *   xᵀx     = (d∘d)ᵀmask_t − μ_t·S_t
 * </pre>
 *
 * so per block of b variants one DGEMM {@code Dᵀ·W} (b × C), one {@code (D∘D)ᵀ·[mask_1 … mask_T]} (b × T), plus
 * per variant a pass over its missing samples' rows of W; then each trait's statistic from its own entries
 * ({@link CalibratedTest.Kernel#record}, the same code as the per-trait path). Everything in double: the counts
 * are exact (integers), {@code xᵀr} as the per-trait path sums it (double), and the per-trait path's float
 * {@code U_kᵀx}, {@code Xᵀx} and float-rounded centered values are replaced by doubles (the statistics agree to
 * about 1e-7 relative). Cost per variant {@code 2N(C + T)} flops in a GEMM, {@code C = Σ_t (2 + k_t + p_t)},
 * against {@code Σ_t n_t (3 + k_t + p_t)} gathered and scalar multiply-adds: what makes 20 traits' test pass
 * cost a few times one trait's instead of twenty.
 *
 * <p>One instance per task and chromosome (its scratch is not thread-safe); W takes {@code 8·N·C} bytes.
 */
public final class StackedTraitTests {
  private final int samples;
  private final int traits;
  private final int width;
  private final CalibratedModel[] models;
  private final CalibratedTest.Kernel[] kernels;
  /** Column of trait t's model columns {@code [r | U_k | X]} in W (its mask is column t). */
  private final int[] offset;
  private final double minMaf;
  /** W row-major: sample i's C values at {@code w[i·C ..]} (as a column-major C × N matrix: Wᵀ). */
  private final double[] w;
  /** {@code 1ᵀw} of every column of W. */
  private final double[] columnSum;
  private final double[] corr;
  private final double[] row;
  private final double[] g;
  private double[] prod = new double[0];
  private double[] squares = new double[0];
  private double[] squareProd = new double[0];

  /**
   * @param models each trait's model (its analysed samples, residual, covariates, eigenvectors), for one chromosome
   * @param statistic {@link LmmTest#MLMA} or {@link LmmTest#F}
   * @param yPy per trait, {@code yᵀPy} of its null model for the F test (ignored for MLMA)
   * @param samples N, the samples of the source ({@code famRows} index them)
   * @param minMaf variants with minor allele frequency below this among a trait's samples are dropped for it
   */
  public StackedTraitTests(List<CalibratedModel> models, LmmTest statistic, double[] yPy, int samples, double minMaf) {
    this.samples = samples;
    this.traits = models.size();
    this.models = models.toArray(new CalibratedModel[0]);
    this.kernels = new CalibratedTest.Kernel[traits];
    this.offset = new int[traits];
    this.minMaf = minMaf;
    int c = traits;
    int maxWidth = 1;
    int maxP = 1;
    for (int t = 0; t < traits; t++) {
      CalibratedModel m = this.models[t];
      kernels[t] = new CalibratedTest.Kernel(m, 1, statistic, statistic == LmmTest.F ? yPy[t] : Double.NaN);
      offset[t] = c;
      c += m.width();
      maxWidth = Math.max(maxWidth, m.width());
      maxP = Math.max(maxP, m.p);
    }
    this.width = c;
    this.w = new double[Math.multiplyExact(samples, width)];
    for (int t = 0; t < traits; t++) {
      CalibratedModel m = this.models[t];
      int[] rows = m.famRows;
      for (int i = 0; i < m.n; i++) {
        int at = rows[i] * width;
        if (rows[i] < 0 || rows[i] >= samples) {
          throw new IllegalArgumentException("trait " + t + ": sample row " + rows[i] + " outside the " + samples
              + " samples of the source");
        }
        w[at + t] = 1;
        for (int j = 0; j < m.width(); j++) {
          w[at + offset[t] + j] = m.lhs[i + j * m.n];
        }
      }
    }
    this.columnSum = new double[width];
    for (int i = 0; i < samples; i++) {
      for (int j = 0; j < width; j++) {
        columnSum[j] += w[i * width + j];
      }
    }
    this.corr = new double[width];
    this.row = new double[maxWidth];
    this.g = new double[maxP];
  }

  /**
   * A block size for {@link A1CountBlock}s of {@code samples} samples: about 16 MB of counts (and as much of their
   * squares), between 16 and 256 variants.
   */
  public static int blockVariantsFor(int samples) {
    return (int) Math.max(16, Math.min(256, (2L << 20) / Math.max(1, samples)));
  }

  /**
   * Tests every variant of {@code block} for every trait: trait t's kept variants appended to {@code out.get(t)},
   * what its filters kept and dropped recorded in {@code counts.get(t)}, in the block's order.
   */
  public void test(A1CountBlock block, List<AssocResults> out, List<VariantFilterCounts> counts) {
    if (block.n != samples) {
      throw new IllegalArgumentException("block of " + block.n + " samples for tests over " + samples);
    }
    int b = block.m;
    if (b == 0) {
      return;
    }
    int n = samples;
    if (prod.length < b * width) {
      prod = new double[b * width];
      squareProd = new double[b * traits];
    }
    if (squares.length < b * n) {
      squares = new double[block.capacity() * n];
    }
    double[] d = block.values;
    for (int k = 0; k < b * n; k++) {
      squares[k] = d[k] * d[k];
    }
    // Dᵀ·W (b × C) and (D∘D)ᵀ·[mask_1 … mask_T] (b × T); W is held transposed (C × N, leading dimension C).
    Blas.dgemm(true, true, b, width, n, 1.0, d, 0, n, w, 0, width, 0.0, prod, 0, b);
    Blas.dgemm(true, true, b, traits, n, 1.0, squares, 0, n, w, 0, width, 0.0, squareProd, 0, b);
    for (int v = 0; v < b; v++) {
      Arrays.fill(corr, 0);
      for (int k = block.missingStart[v]; k < block.missingStart[v + 1]; k++) {
        int at = block.missingSamples[k] * width;
        for (int j = 0; j < width; j++) {
          corr[j] += w[at + j];
        }
      }
      for (int t = 0; t < traits; t++) {
        CalibratedModel m = models[t];
        int called = m.n - (int) Math.round(corr[t]);
        double sum = prod[v + t * b];
        int verdict = BedDecoder.verdict(sum, called, minMaf);
        counts.get(t).record(verdict);
        if (verdict != BedDecoder.KEPT) {
          continue;
        }
        double p = sum / (2.0 * called);
        double mu = 2 * p;
        double xx = squareProd[v + t * b] - mu * sum;
        int o = offset[t];
        for (int j = 0; j < m.width(); j++) {
          row[j] = prod[v + (o + j) * b] - mu * (columnSum[o + j] - corr[o + j]);
        }
        double xpx = m.approximateQuadratic(xx, row, 0, g);
        kernels[t].record(block.variantIndex[v], p, called, block.info[v], row[0], xpx, out.get(t));
      }
    }
  }
}
