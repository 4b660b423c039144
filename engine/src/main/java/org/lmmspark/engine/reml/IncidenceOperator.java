package org.lmmspark.engine.reml;

/**
 * The covariance {@code Z K Zᵀ} of a random effect defined on individuals when the data are records
 * (repeated records: several lactations of a cow, several measurements of a plant). {@code K} (m×m)
 * is the covariance between individuals (a GRM, a pedigree A); {@code Z} (n×m) is the record →
 * individual incidence matrix, one 1 per row, held as the index array {@code individual[r]}, never
 * densely. Entry (r, s) is {@code K[individual[r], individual[s]]}.
 *
 * <p>Products {@code Z K Zᵀ v}: scatter-add the records onto their individuals ({@code Zᵀ v}, O(nk)),
 * one product with {@code K} (m×k), gather back ({@code Z ·}, O(nk)); so the overhead over {@code K}
 * alone is O(records), and a distributed {@code K} plugs in unchanged. With {@code K = I} this is the
 * permanent-environment covariance, which {@link GroupingOperator} gives directly.
 */
public final class IncidenceOperator implements SymmetricOperator {
  private final SymmetricOperator k;
  private final int[] individual;

  /**
   * @param k          covariance between the m individuals
   * @param individual for each of the n records, its individual in {@code 0..m-1}
   */
  public IncidenceOperator(SymmetricOperator k, int[] individual) {
    int m = k.size();
    for (int r = 0; r < individual.length; r++) {
      if (individual[r] < 0 || individual[r] >= m) {
        throw new IllegalArgumentException("record " + r + " points to individual " + individual[r]
            + ", outside 0.." + (m - 1));
      }
    }
    this.k = k;
    this.individual = individual.clone();
  }

  /** The covariance between individuals, K. */
  public SymmetricOperator individuals() {
    return k;
  }

  @Override
  public int size() {
    return individual.length;
  }

  @Override
  public void apply(double[] in, int cols, double[] out) {
    int n = individual.length;
    int m = k.size();
    double[] t = new double[m * cols];
    for (int c = 0; c < cols; c++) {
      int offIn = c * n;
      int offT = c * m;
      for (int r = 0; r < n; r++) {
        t[offT + individual[r]] += in[offIn + r]; // Zᵀ v
      }
    }
    double[] kt = new double[m * cols];
    k.apply(t, cols, kt);
    for (int c = 0; c < cols; c++) {
      int offOut = c * n;
      int offT = c * m;
      for (int r = 0; r < n; r++) {
        out[offOut + r] = kt[offT + individual[r]]; // Z (K Zᵀ v)
      }
    }
  }

  @Override
  public double trace() {
    double[] d = k.diagonal();
    double t = 0;
    for (int r : individual) {
      t += d[r];
    }
    return t;
  }

  @Override
  public double[] diagonal() {
    double[] d = k.diagonal();
    double[] out = new double[individual.length];
    for (int r = 0; r < out.length; r++) {
      out[r] = d[individual[r]];
    }
    return out;
  }

  /** {@code Z K Zᵀ} densely: {@code K} once (m²), then one gather per entry (n²). */
  @Override
  public double[] toDense() {
    int n = individual.length;
    int m = k.size();
    double[] kd = k.toDense();
    double[] out = new double[n * n];
    for (int s = 0; s < n; s++) {
      int col = individual[s] * m;
      int off = s * n;
      for (int r = 0; r < n; r++) {
        out[off + r] = kd[col + individual[r]];
      }
    }
    return out;
  }
}
