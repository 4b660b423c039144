package org.lmmspark.engine.linalg;

import java.util.Arrays;

/**
 * A sparse symmetric {@code n × n} matrix stored as its lower triangle (diagonal included) in
 * compressed rows: row {@code i} holds the entries {@code (i, j)} with {@code j ≤ i} at positions
 * {@code rowStart[i] .. rowStart[i+1]-1} of {@code cols}/{@code values}, columns ascending, no
 * duplicates. Built from triplets whose duplicates are summed (the way Henderson's rules and other
 * assembly procedures add contributions).
 *
 * <p>Memory: 12 bytes per stored entry plus {@code 4(n+1)}. Immutable once built.
 */
public final class SparseSymmetric {
  private final int n;
  private final int[] rowStart;
  private final int[] cols;
  private final double[] values;

  private SparseSymmetric(int n, int[] rowStart, int[] cols, double[] values) {
    this.n = n;
    this.rowStart = rowStart;
    this.cols = cols;
    this.values = values;
  }

  /**
   * Assembles {@code Σ_t values[t] · (e_r e_cᵀ + e_c e_rᵀ)/(1 + [r = c])} from {@code count}
   * triplets, i.e. each triplet adds {@code values[t]} to entry {@code (rows[t], cols[t])} of the
   * symmetric matrix (either triangle may be given). O(count log(max row length)).
   */
  public static SparseSymmetric fromTriplets(int n, int[] rows, int[] cols, double[] values, int count) {
    if (rows.length < count || cols.length < count || values.length < count) {
      throw new IllegalArgumentException("triplet arrays shorter than count " + count);
    }
    int[] start = new int[n + 1];
    for (int t = 0; t < count; t++) {
      int r = Math.max(rows[t], cols[t]);
      int c = Math.min(rows[t], cols[t]);
      if (c < 0 || r >= n) {
        throw new IllegalArgumentException("triplet (" + rows[t] + ", " + cols[t] + ") outside " + n + "×" + n);
      }
      start[r + 1]++;
    }
    for (int i = 0; i < n; i++) {
      start[i + 1] += start[i];
    }
    // Bucket by row; within a row, sort (col, triplet) pairs packed in a long and merge equal cols.
    long[] keyed = new long[count];
    int[] fill = Arrays.copyOf(start, n);
    for (int t = 0; t < count; t++) {
      int r = Math.max(rows[t], cols[t]);
      int c = Math.min(rows[t], cols[t]);
      keyed[fill[r]++] = ((long) c << 32) | t;
    }
    int[] outStart = new int[n + 1];
    int[] outCols = new int[count];
    double[] outVals = new double[count];
    int k = 0;
    for (int i = 0; i < n; i++) {
      Arrays.sort(keyed, start[i], start[i + 1]);
      outStart[i] = k;
      int lastCol = -1;
      for (int p = start[i]; p < start[i + 1]; p++) {
        int c = (int) (keyed[p] >>> 32);
        int t = (int) keyed[p];
        if (c == lastCol) {
          outVals[k - 1] += values[t];
        } else {
          outCols[k] = c;
          outVals[k] = values[t];
          lastCol = c;
          k++;
        }
      }
    }
    outStart[n] = k;
    return new SparseSymmetric(n, outStart, Arrays.copyOf(outCols, k), Arrays.copyOf(outVals, k));
  }

  public int size() {
    return n;
  }

  /** Number of stored entries of the lower triangle (diagonal included). */
  public int storedEntries() {
    return cols.length;
  }

  /** Entry {@code (i, j)} (either order), 0 when not stored. O(log row length). */
  public double get(int i, int j) {
    int r = Math.max(i, j);
    int c = Math.min(i, j);
    int p = Arrays.binarySearch(cols, rowStart[r], rowStart[r + 1], c);
    return p >= 0 ? values[p] : 0.0;
  }

  /** Visits the stored lower-triangle entries row by row, columns ascending. */
  public void forEachLower(EntryVisitor visitor) {
    for (int i = 0; i < n; i++) {
      for (int p = rowStart[i]; p < rowStart[i + 1]; p++) {
        visitor.visit(i, cols[p], values[p]);
      }
    }
  }

  /** Receives one stored entry {@code (row, col, value)} with {@code col ≤ row}. */
  @FunctionalInterface
  public interface EntryVisitor {
    void visit(int row, int col, double value);
  }

  /** {@code y = M x} for the full symmetric matrix, both {@code double[n]}. O(stored entries). */
  public double[] multiply(double[] x) {
    if (x.length != n) {
      throw new IllegalArgumentException("x has length " + x.length + ", matrix is " + n + "×" + n);
    }
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      for (int p = rowStart[i]; p < rowStart[i + 1]; p++) {
        int j = cols[p];
        double v = values[p];
        y[i] += v * x[j];
        if (j != i) {
          y[j] += v * x[i];
        }
      }
    }
    return y;
  }

  /** The full symmetric matrix as a column-major {@code double[n·n]} (O(n²) memory). */
  public double[] toDense() {
    if ((long) n * n > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(n + "×" + n + " is too large for one dense array");
    }
    double[] d = new double[n * n];
    forEachLower((i, j, v) -> {
      d[i + j * n] = v;
      d[j + i * n] = v;
    });
    return d;
  }
}
