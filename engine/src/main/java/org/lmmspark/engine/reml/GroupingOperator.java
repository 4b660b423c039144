package org.lmmspark.engine.reml;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The covariance {@code Z Zᵀ} of a random intercept per level of a grouping factor (plot, batch,
 * family, litter): entry (i, j) is 1 when samples i and j share a level, else 0. {@code Z} is the n×L
 * 0/1 incidence matrix. Products cost {@code O(n k)} — sum within levels, then spread back — and
 * nothing n×n is stored.
 */
public final class GroupingOperator implements SymmetricOperator {
  private final int[] level;
  private final List<String> levels;

  /** {@code labels[i]} is the level of sample i (none null). Levels are numbered by first appearance. */
  public GroupingOperator(String[] labels) {
    Map<String, Integer> code = new HashMap<>();
    levels = new ArrayList<>();
    level = new int[labels.length];
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] == null) {
        throw new IllegalArgumentException("sample " + i + " has no level (drop samples with missing levels first)");
      }
      Integer c = code.get(labels[i]);
      if (c == null) {
        c = levels.size();
        code.put(labels[i], c);
        levels.add(labels[i]);
      }
      level[i] = c;
    }
  }

  @Override
  public int size() {
    return level.length;
  }

  public int levelCount() {
    return levels.size();
  }

  public List<String> levels() {
    return List.copyOf(levels);
  }

  /** Level index of each sample (a copy). */
  public int[] levelOfSample() {
    return level.clone();
  }

  @Override
  public void apply(double[] in, int k, double[] out) {
    int n = level.length;
    int nl = levels.size();
    double[] sums = new double[nl];
    for (int c = 0; c < k; c++) {
      java.util.Arrays.fill(sums, 0);
      int off = c * n;
      for (int i = 0; i < n; i++) {
        sums[level[i]] += in[off + i];
      }
      for (int i = 0; i < n; i++) {
        out[off + i] = sums[level[i]];
      }
    }
  }

  @Override
  public double trace() {
    return level.length;
  }

  @Override
  public double[] toDense() {
    int n = level.length;
    double[] a = new double[n * n];
    for (int j = 0; j < n; j++) {
      for (int i = 0; i < n; i++) {
        a[i + j * n] = level[i] == level[j] ? 1 : 0;
      }
    }
    return a;
  }
}
