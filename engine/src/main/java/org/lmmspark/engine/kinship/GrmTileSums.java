package org.lmmspark.engine.kinship;

import java.io.Serializable;
import org.lmmspark.engine.genotype.GenotypeBlock;
import org.lmmspark.engine.linalg.Blas;

/**
 * Running sums for one tile {@code (I, J)} of the GRM: {@code S = Σ_b Z_{b,I} Z_{b,J}ᵀ} over the
 * standardized variant blocks {@code b}, and the number of variants missing in both samples of each
 * pair (needed for GCTA's per-pair counts, {@code M_jk = M − miss_j − miss_k + both_jk}).
 *
 * <p>Each block's product is one BLAS call in single precision (SSYRK on diagonal tiles, SGEMM
 * elsewhere; float halves memory traffic and doubles the SIMD width, and a block's sum of at most a
 * few thousand products of O(1) values loses nothing that matters at float32 output precision),
 * then added into the double accumulator so that error does not grow with the number of blocks.
 *
 * <p>Both-missing counts are accumulated from the per-variant missing lists when missing calls are
 * sparse (cost {@code Σ_v |miss_v ∩ I|·|miss_v ∩ J|}) and by an SGEMM of missing indicators when
 * they are dense, whichever is cheaper. Memory: {@link GrmTiling#BYTES_PER_ENTRY} bytes per entry,
 * plus a float scratch tile that is not serialized.
 */
public final class GrmTileSums implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Sparse pair counting wins while it costs less than this fraction of a dense GEMM's multiply-adds. */
  static final double SPARSE_MISSING_FRACTION = 1.0 / 16;

  public final int tile;
  public final int rowStart;
  public final int rows;
  public final int colStart;
  public final int cols;
  public final boolean diagonal;
  /** {@code rows × cols} column-major; on diagonal tiles only the lower triangle is meaningful. */
  public final double[] sums;
  /** Variants missing in both samples of each pair, same layout; null until a missing call is seen. */
  public int[] bothMissing;

  private transient float[] scratch;

  public GrmTileSums(GrmTiling tiling, int tile) {
    int i = tiling.rowBlockOf(tile);
    int j = tiling.colBlockOf(tile);
    this.tile = tile;
    this.rowStart = tiling.blockStart(i);
    this.rows = tiling.blockEnd(i) - rowStart;
    this.colStart = tiling.blockStart(j);
    this.cols = tiling.blockEnd(j) - colStart;
    this.diagonal = i == j;
    this.sums = new double[rows * cols];
  }

  /**
   * Adds a block's contribution. {@code missingIndicator}, when not null, is the block's
   * {@code n × m} 0/1 matrix of missing calls (built once per block by the caller and shared by tiles).
   */
  public void add(GenotypeBlock block, float[] missingIndicator) {
    add(block, missingIndicator, null);
  }

  /** As {@link #add(GenotypeBlock, float[])}, recording where the time went in {@code times} when not null. */
  public void add(GenotypeBlock block, float[] missingIndicator, KernelTimes times) {
    if (block.m == 0) {
      return;
    }
    if (scratch == null) {
      scratch = new float[rows * cols];
    }
    long t0 = System.nanoTime();
    long cpu0 = times == null ? 0 : KernelTimes.threadCpuNanos();
    product(block.values, block.n, block.m);
    long t1 = System.nanoTime();
    long cpu1 = times == null ? 0 : KernelTimes.threadCpuNanos();
    for (int c = 0; c < cols; c++) {
      int from = diagonal ? c : 0;
      for (int r = from; r < rows; r++) {
        sums[r + c * rows] += scratch[r + c * rows];
      }
    }
    long t2 = System.nanoTime();
    if (block.missingCount() > 0) {
      addBothMissing(block, missingIndicator);
    }
    if (times != null) {
      times.productNanos += t1 - t0;
      times.productCpuNanos += cpu1 - cpu0;
      times.addNanos += t2 - t1;
      times.missingNanos += System.nanoTime() - t2;
      times.flops += (diagonal ? (double) rows * (rows + 1) : 2.0 * rows * cols) * block.m;
    }
  }

  /** True when this tile would count both-missing pairs of {@code block} densely. */
  public boolean prefersDenseMissing(GenotypeBlock block) {
    if (block.missingCount() == 0) {
      return false;
    }
    double pairs = 0;
    for (int v = 0; v < block.m; v++) {
      pairs += (double) countIn(block, v, rowStart, rows) * countIn(block, v, colStart, cols);
    }
    return pairs > SPARSE_MISSING_FRACTION * rows * (double) cols * block.m;
  }

  private void product(float[] z, int n, int m) {
    if (diagonal) {
      Blas.ssyrkLower(rows, m, 1f, z, rowStart, n, 0f, scratch, 0, rows);
    } else {
      Blas.sgemm(false, true, rows, cols, m, 1f, z, rowStart, n, z, colStart, n, 0f, scratch, 0, rows);
    }
  }

  private void addBothMissing(GenotypeBlock block, float[] missingIndicator) {
    if (bothMissing == null) {
      bothMissing = new int[rows * cols];
    }
    if (missingIndicator != null && prefersDenseMissing(block)) {
      product(missingIndicator, block.n, block.m);
      for (int c = 0; c < cols; c++) {
        for (int r = diagonal ? c : 0; r < rows; r++) {
          bothMissing[r + c * rows] += Math.round(scratch[r + c * rows]);
        }
      }
      return;
    }
    // Each variant's missing samples are in increasing order: visit only those inside the tile's
    // rows and columns (a |miss ∩ I|·|miss ∩ J| loop, not |miss|²).
    int[] miss = block.missingSamples;
    for (int v = 0; v < block.m; v++) {
      int from = block.missingStart[v];
      int to = block.missingStart[v + 1];
      int rowFrom = lowerBound(miss, from, to, rowStart);
      int rowTo = lowerBound(miss, rowFrom, to, rowStart + rows);
      int colFrom = lowerBound(miss, from, to, colStart);
      int colTo = lowerBound(miss, colFrom, to, colStart + cols);
      for (int x = rowFrom; x < rowTo; x++) {
        int r = miss[x] - rowStart;
        int last = diagonal ? x + 1 : colTo; // on a diagonal tile, columns c <= r only
        for (int y = colFrom; y < last; y++) {
          bothMissing[r + (miss[y] - colStart) * rows]++;
        }
      }
    }
  }

  /** First index in {@code [from, to)} of the sorted {@code a} whose value is at least {@code key}. */
  private static int lowerBound(int[] a, int from, int to, int key) {
    int lo = from;
    int hi = to;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (a[mid] < key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  private static int countIn(GenotypeBlock block, int v, int start, int length) {
    int from = lowerBound(block.missingSamples, block.missingStart[v], block.missingStart[v + 1], start);
    return lowerBound(block.missingSamples, from, block.missingStart[v + 1], start + length) - from;
  }

  /** Adds another partial sum of the same tile into this one and returns this. */
  public GrmTileSums merge(GrmTileSums other) {
    if (other.tile != tile) {
      throw new IllegalArgumentException("merging tile " + other.tile + " into " + tile);
    }
    for (int i = 0; i < sums.length; i++) {
      sums[i] += other.sums[i];
    }
    if (other.bothMissing != null) {
      if (bothMissing == null) {
        bothMissing = other.bothMissing.clone();
      } else {
        for (int i = 0; i < bothMissing.length; i++) {
          bothMissing[i] += other.bothMissing[i];
        }
      }
    }
    return this;
  }

  /** Builds the {@code n × m} 0/1 missing-call matrix of a block (for the dense counting path). */
  public static float[] missingIndicator(GenotypeBlock block) {
    float[] ind = new float[block.n * block.m + block.n]; // padded like GenotypeBlock.values
    for (int v = 0; v < block.m; v++) {
      for (int x = block.missingStart[v]; x < block.missingStart[v + 1]; x++) {
        ind[block.missingSamples[x] + v * block.n] = 1f;
      }
    }
    return ind;
  }
}
