package org.lmmspark.engine.kinship;

import java.util.List;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.linalg.Tiles;

/**
 * A symmetric relationship matrix over samples, held as GCTA holds it: the lower triangle row by
 * row including the diagonal ({@code (j, k)} with {@code k ≤ j} at {@code j(j+1)/2 + k}), in float,
 * with the number of variants behind each entry ({@code counts}, GCTA's {@code .grm.N.bin}; may be
 * {@code null} for matrices not built from variants, such as a pedigree {@code A}).
 *
 * <p>Memory: {@code 4·N(N+1)/2} bytes for the values and as much again for the counts.
 */
public final class Grm {
  private final List<SampleId> ids;
  private final float[] lower;
  private final float[] counts;

  public Grm(List<SampleId> ids, float[] lower, float[] counts) {
    long n = ids.size();
    if (lower.length != n * (n + 1) / 2 || (counts != null && counts.length != lower.length)) {
      throw new IllegalArgumentException("packed lower triangle of " + lower.length + " entries does not fit N=" + n);
    }
    this.ids = List.copyOf(ids);
    this.lower = lower;
    this.counts = counts;
  }

  /**
   * The matrix over the samples at {@code rows} (ascending keeps the file order), values and counts
   * copied: {@code --keep/--remove} on a GRM read from files, or a GRM restricted to the genotyped
   * samples. O(r²).
   */
  public Grm subset(int[] rows) {
    int m = rows.length;
    float[] v = new float[Math.toIntExact((long) m * (m + 1) / 2)];
    float[] c = counts == null ? null : new float[v.length];
    List<SampleId> sub = new java.util.ArrayList<>(m);
    int e = 0;
    for (int j = 0; j < m; j++) {
      sub.add(ids.get(rows[j]));
      for (int k = 0; k <= j; k++) {
        int idx = (int) packedIndex(rows[j], rows[k]);
        v[e] = lower[idx];
        if (c != null) {
          c[e] = counts[idx];
        }
        e++;
      }
    }
    return new Grm(sub, v, c);
  }

  /**
   * The matrix over those of its samples that are in {@code keep}, in file order: a GRM given with
   * {@code --grm} restricted to the samples with genotypes (and kept by {@code --keep/--remove}). The
   * same matrix when all are kept; null when none is.
   */
  public Grm restrictTo(java.util.Set<SampleId> keep) {
    int[] rows = java.util.stream.IntStream.range(0, ids.size()).filter(i -> keep.contains(ids.get(i))).toArray();
    if (rows.length == ids.size()) {
      return this;
    }
    return rows.length == 0 ? null : subset(rows);
  }

  public static long packedIndex(int j, int k) {
    int row = Math.max(j, k);
    int col = Math.min(j, k);
    return (long) row * (row + 1) / 2 + col;
  }

  public int size() {
    return ids.size();
  }

  public List<SampleId> ids() {
    return ids;
  }

  public double get(int j, int k) {
    return lower[(int) packedIndex(j, k)];
  }

  /** Variants behind entry (j, k), or NaN when this matrix carries no counts. */
  public double count(int j, int k) {
    return counts == null ? Double.NaN : counts[(int) packedIndex(j, k)];
  }

  /** The packed lower triangle itself (not a copy). */
  public float[] packedValues() {
    return lower;
  }

  /** The packed counts (not a copy), or null. */
  public float[] packedCounts() {
    return counts;
  }

  /**
   * The full symmetric matrix as a column-major {@code double[N·N]}, restricted to {@code rows}. Filled in 64×64
   * tiles: each entry goes to both triangles, and one of the two writes strides by N; within a tile those
   * strided lines stay in cache (at N = 10,000 the column-by-column fill took ~3 CPU-s, most of it cache misses).
   * Column stripes of tiles on the driver's threads ({@link Blas#driverThreads()}, {@link Tiles}).
   */
  public double[] toDense(int[] rows) {
    int n = rows.length;
    double[] dense = new double[n * n];
    int tile = 64;
    // Column stripes of tiles write disjoint entries: filled on several threads (a copy, the same result).
    try (Tiles stripes = new Tiles(Blas.driverThreads(), "lmmspark-grm-dense")) {
      stripes.run((n + tile - 1) / tile, stripe -> fillStripe(rows, stripe * tile, tile, dense));
    }
    return dense;
  }

  /** Column stripe {@code [c0, c0 + tile)} of {@link #toDense(int[])}'s lower triangle, and its mirror. */
  private void fillStripe(int[] rows, int c0, int tile, double[] dense) {
    int n = rows.length;
    for (int r0 = c0; r0 < n; r0 += tile) {
      for (int r = r0; r < Math.min(n, r0 + tile); r++) {
        int row = rows[r];
        long rowStart = (long) row * (row + 1) / 2; // (row, col ≤ row) is at rowStart + col
        for (int c = c0; c < Math.min(r + 1, c0 + tile); c++) {
          int col = rows[c];
          double v = lower[(int) (col <= row ? rowStart + col : packedIndex(row, col))];
          dense[r + c * n] = v;
          dense[c + r * n] = v;
        }
      }
    }
  }

  /** The full symmetric matrix as a column-major {@code double[N·N]}. */
  public double[] toDense() {
    int[] all = new int[size()];
    for (int i = 0; i < all.length; i++) {
      all[i] = i;
    }
    return toDense(all);
  }
}
