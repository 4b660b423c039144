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
 * so per block of b variants: in double, {@code Dᵀ·[masks | r_1 … r_T]} (b × 2T) and {@code (D∘D)ᵀ·[masks]} (b × T),
 * where the counts are exact (integers) and {@code xᵀr}, the statistic's numerator, is summed in double as the
 * per-trait path does; in float (one SGEMM), {@code Dᵀ} times every trait's {@code [U_k | X]} columns, which only
 * enter the correction terms of {@code xᵀP̃x} (as in the per-trait path), centered over the trait's samples (a
 * shift changes nothing, {@code Σ_{S_t} x = 0}, and keeps the float sums free of cancellation) and left out when
 * constant there (the intercept: {@code xᵀ1 = 0}); plus per variant a pass over its missing samples' rows of W.
 * Then each trait's statistic from its own entries ({@link CalibratedTest.Kernel#record}, the same code as the
 * per-trait path). Measured against the dense definition: 6e-8 relative (the per-trait path, with its float
 * centered values: 2e-6). Cost per variant {@code 2N(3T)} flops in DGEMM and {@code 2N·Σ_t(k_t + p_t − 1)} in
 * SGEMM, against {@code Σ_t n_t (3 + k_t + p_t)} gathered and scalar multiply-adds: what makes 20 traits' test
 * pass cost a few times one trait's instead of twenty.
 *
 * <p>One instance per task and chromosome (its scratch is not thread-safe); W takes {@code 16·N·T} bytes in double
 * and {@code 4·N·Σ_t(k_t + p_t)} in float.
 */
public final class StackedTraitTests {
  private final int samples;
  private final int traits;
  private final CalibratedModel[] models;
  private final CalibratedTest.Kernel[] kernels;
  private final double minMaf;
  /** Double columns, row-major ({@code wd[i·2T ..]}): trait t's mask at column t, its residual r at T + t. */
  private final double[] wd;
  private final int dWidth;
  /**
   * Float columns, row-major ({@code wf[i·fWidth ..]}): every trait's eigenvector and covariate columns, centered
   * over its samples and zero outside them; a column constant on its trait's samples (the intercept) is left out.
   */
  private final float[] wf;
  private final int fWidth;
  /** {@code fColumn[t][j]}: column of trait t's model column {@code 1 + j} ({@code U_k | X}) in wf, −1 if left out. */
  private final int[][] fColumn;
  /** {@code 1ᵀw} of every column of wd and wf. */
  private final double[] dSum;
  private final double[] fSum;
  private final double[] dCorr;
  private final double[] fCorr;
  private final double[] row;
  private final double[] g;
  private double[] squares = new double[0];
  private float[] single = new float[0];
  private double[] dProd = new double[0];
  private float[] fProd = new float[0];
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
    this.minMaf = minMaf;
    this.dWidth = 2 * traits;
    this.fColumn = new int[traits][];
    int maxWidth = 1;
    int maxP = 1;
    int f = 0;
    for (int t = 0; t < traits; t++) {
      CalibratedModel m = this.models[t];
      kernels[t] = new CalibratedTest.Kernel(m, 1, statistic, statistic == LmmTest.F ? yPy[t] : Double.NaN);
      for (int i = 0; i < m.n; i++) {
        if (m.famRows[i] < 0 || m.famRows[i] >= samples) {
          throw new IllegalArgumentException("trait " + t + ": sample row " + m.famRows[i] + " outside the " + samples
              + " samples of the source");
        }
      }
      fColumn[t] = new int[m.width() - 1];
      for (int j = 1; j < m.width(); j++) {
        fColumn[t][j - 1] = constant(m.basis, (j - 1) * m.n, m.n) ? -1 : f++;
      }
      maxWidth = Math.max(maxWidth, m.width());
      maxP = Math.max(maxP, m.p);
    }
    this.fWidth = f;
    this.wd = new double[Math.multiplyExact(samples, dWidth)];
    this.wf = new float[Math.multiplyExact(samples, Math.max(1, fWidth))];
    for (int t = 0; t < traits; t++) {
      CalibratedModel m = this.models[t];
      int[] rows = m.famRows;
      for (int i = 0; i < m.n; i++) {
        wd[rows[i] * dWidth + t] = 1;
        wd[rows[i] * dWidth + traits + t] = m.residual[i];
      }
      for (int j = 1; j < m.width(); j++) {
        int c = fColumn[t][j - 1];
        if (c < 0) {
          continue;
        }
        // Centered over the trait's samples: xᵀ(w − a) = xᵀw for any constant a, since Σ_{S_t} x = 0; what is
        // left is of the size of xᵀw, so its float sum loses no more than the per-trait path's float product.
        double mean = 0;
        for (int i = 0; i < m.n; i++) {
          mean += m.basis[i + (j - 1) * m.n];
        }
        mean /= m.n;
        for (int i = 0; i < m.n; i++) {
          wf[rows[i] * fWidth + c] = (float) (m.basis[i + (j - 1) * m.n] - mean);
        }
      }
    }
    this.dSum = new double[dWidth];
    this.fSum = new double[fWidth];
    for (int i = 0; i < samples; i++) {
      for (int j = 0; j < dWidth; j++) {
        dSum[j] += wd[i * dWidth + j];
      }
      for (int j = 0; j < fWidth; j++) {
        fSum[j] += wf[i * fWidth + j];
      }
    }
    this.dCorr = new double[dWidth];
    this.fCorr = new double[fWidth];
    this.row = new double[maxWidth];
    this.g = new double[maxP];
  }

  private static boolean constant(double[] a, int from, int n) {
    for (int i = 1; i < n; i++) {
      if (a[from + i] != a[from]) {
        return false;
      }
    }
    return true;
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
    if (dProd.length < b * dWidth) {
      dProd = new double[b * dWidth];
      fProd = new float[b * Math.max(1, fWidth)];
      squareProd = new double[b * traits];
    }
    if (squares.length < b * n) {
      squares = new double[block.capacity() * n];
      single = new float[block.capacity() * n];
    }
    double[] d = block.values;
    for (int k = 0; k < b * n; k++) {
      squares[k] = d[k] * d[k];
      single[k] = (float) d[k];
    }
    // W is held transposed (columns × N, leading dimension the columns). In double: Dᵀ·[masks | r] (b × 2T) and
    // (D∘D)ᵀ·masks (b × T); in float: Dᵀ·[U_k | X] of every trait (b × fWidth).
    Blas.dgemm(true, true, b, dWidth, n, 1.0, d, 0, n, wd, 0, dWidth, 0.0, dProd, 0, b);
    Blas.dgemm(true, true, b, traits, n, 1.0, squares, 0, n, wd, 0, dWidth, 0.0, squareProd, 0, b);
    if (fWidth > 0) {
      Blas.sgemm(true, true, b, fWidth, n, 1f, single, 0, n, wf, 0, fWidth, 0f, fProd, 0, b);
    }
    for (int v = 0; v < b; v++) {
      Arrays.fill(dCorr, 0);
      Arrays.fill(fCorr, 0);
      for (int k = block.missingStart[v]; k < block.missingStart[v + 1]; k++) {
        int i = block.missingSamples[k];
        for (int j = 0; j < dWidth; j++) {
          dCorr[j] += wd[i * dWidth + j];
        }
        for (int j = 0; j < fWidth; j++) {
          fCorr[j] += wf[i * fWidth + j];
        }
      }
      for (int t = 0; t < traits; t++) {
        CalibratedModel m = models[t];
        int called = m.n - (int) Math.round(dCorr[t]);
        double sum = dProd[v + t * b];
        int verdict = BedDecoder.verdict(sum, called, minMaf);
        counts.get(t).record(verdict);
        if (verdict != BedDecoder.KEPT) {
          continue;
        }
        double p = sum / (2.0 * called);
        double mu = 2 * p;
        double xx = squareProd[v + t * b] - mu * sum;
        int r = traits + t;
        row[0] = dProd[v + r * b] - mu * (dSum[r] - dCorr[r]);
        for (int j = 1; j < m.width(); j++) {
          int c = fColumn[t][j - 1];
          row[j] = c < 0 ? 0 : fProd[v + c * b] - mu * (fSum[c] - fCorr[c]);
        }
        double xpx = m.approximateQuadratic(xx, row, 0, g);
        kernels[t].record(block.variantIndex[v], p, called, block.info[v], row[0], xpx, out.get(t));
      }
    }
  }
}
