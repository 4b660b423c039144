package org.lmmspark.engine.kinship;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * How the lower triangle of an {@code N × N} GRM is cut into square tiles, and how tiles are grouped
 * so that one task's accumulators fit a memory budget.
 *
 * <p>Sample blocks {@code I = 0..T-1} of {@code tileSize} rows each ({@code T = ceil(N/tileSize)});
 * tile {@code (I, J)} with {@code J ≤ I} has index {@code I(I+1)/2 + J}, so tiles in index order
 * visit the matrix band by band, which is the order GCTA's row-by-row file needs.
 */
public final class GrmTiling implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Bytes an accumulator needs per tile entry: a double sum and an int both-missing count. */
  public static final int BYTES_PER_ENTRY = 12;

  private final int n;
  private final int tileSize;
  private final int blocks;

  public GrmTiling(int n, int tileSize) {
    if (n <= 0 || tileSize <= 0) {
      throw new IllegalArgumentException("n=" + n + ", tileSize=" + tileSize);
    }
    this.n = n;
    this.tileSize = Math.min(tileSize, n);
    this.blocks = (n + this.tileSize - 1) / this.tileSize;
  }

  public int n() {
    return n;
  }

  public int tileSize() {
    return tileSize;
  }

  /** Number of sample blocks T. */
  public int blocks() {
    return blocks;
  }

  public int tileCount() {
    return blocks * (blocks + 1) / 2;
  }

  public int blockStart(int block) {
    return block * tileSize;
  }

  public int blockEnd(int block) {
    return Math.min(n, (block + 1) * tileSize);
  }

  public int tileIndex(int rowBlock, int colBlock) {
    return rowBlock * (rowBlock + 1) / 2 + colBlock;
  }

  public int rowBlockOf(int tile) {
    int i = (int) ((Math.sqrt(8.0 * tile + 1) - 1) / 2);
    while (i * (i + 1) / 2 > tile) {
      i--;
    }
    while ((i + 1) * (i + 2) / 2 <= tile) {
      i++;
    }
    return i;
  }

  public int colBlockOf(int tile) {
    int i = rowBlockOf(tile);
    return tile - i * (i + 1) / 2;
  }

  /** Accumulator bytes of one tile. */
  public long tileBytes(int tile) {
    int i = rowBlockOf(tile);
    int j = colBlockOf(tile);
    return (long) BYTES_PER_ENTRY * (blockEnd(i) - blockStart(i)) * (blockEnd(j) - blockStart(j));
  }

  /**
   * Groups the tiles so that each group's accumulators take at most {@code budgetBytes} (a tile
   * larger than the budget gets a group of its own), balancing the multiply-add work (a diagonal
   * tile costs half an off-diagonal one) by longest-first assignment to the lightest open group.
   */
  public List<int[]> groups(long budgetBytes) {
    long total = 0;
    for (int t = 0; t < tileCount(); t++) {
      total += tileBytes(t);
    }
    int groupCount = (int) Math.max(1, (total + budgetBytes - 1) / budgetBytes);
    List<Integer> order = new ArrayList<>();
    for (int t = 0; t < tileCount(); t++) {
      order.add(t);
    }
    order.sort(Comparator.comparingDouble(this::tileWork).reversed());
    while (true) {
      List<List<Integer>> groups = new ArrayList<>();
      double[] work = new double[groupCount];
      long[] bytes = new long[groupCount];
      for (int g = 0; g < groupCount; g++) {
        groups.add(new ArrayList<>());
      }
      boolean fits = true;
      for (int t : order) {
        int best = -1;
        for (int g = 0; g < groupCount; g++) {
          boolean room = bytes[g] + tileBytes(t) <= budgetBytes || groups.get(g).isEmpty();
          if (room && (best < 0 || work[g] < work[best])) {
            best = g;
          }
        }
        if (best < 0) {
          fits = false;
          break;
        }
        groups.get(best).add(t);
        work[best] += tileWork(t);
        bytes[best] += tileBytes(t);
      }
      if (fits) {
        List<int[]> out = new ArrayList<>();
        for (List<Integer> g : groups) {
          if (!g.isEmpty()) {
            out.add(g.stream().sorted().mapToInt(Integer::intValue).toArray());
          }
        }
        return out;
      }
      groupCount++;
    }
  }

  private double tileWork(int tile) {
    double w = tileBytes(tile);
    return rowBlockOf(tile) == colBlockOf(tile) ? w / 2 : w;
  }
}
