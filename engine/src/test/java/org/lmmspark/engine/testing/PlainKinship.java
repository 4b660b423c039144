package org.lmmspark.engine.testing;

/** The genomic relationship matrix written plainly from a genotype matrix, for brute-force checks. */
public final class PlainKinship {
  private PlainKinship() {}

  /**
   * Standardized genotypes z = (g − 2f)/√(2f(1−f)), n×m column-major: each variant's allele frequency f
   * drawn from U(0.05, 0.5) and its counts g from Hardy–Weinberg at f, standardized by the true f.
   */
  public static double[] standardizedGenotypes(int n, int m, java.util.Random rnd) {
    double[] z = new double[n * m];
    for (int j = 0; j < m; j++) {
      double f = 0.05 + 0.45 * rnd.nextDouble();
      double sd = Math.sqrt(2 * f * (1 - f));
      for (int i = 0; i < n; i++) {
        int g = (rnd.nextDouble() < f ? 1 : 0) + (rnd.nextDouble() < f ? 1 : 0);
        z[i + j * n] = (g - 2 * f) / sd;
      }
    }
    return z;
  }

  /**
   * z = (x − 2p)/sqrt(2p(1−p)) with p over non-missing calls, missing z = 0, over the variants that are
   * polymorphic and not on chromosome {@code leftOut} (a {@code .bim} chromosome number; 0 or less: none
   * left out); K = Σ z zᵀ / (their number), n×n column-major over all samples of {@code g[variant][sample]}
   * (−1 missing).
   */
  public static double[] k(int[][] g, int[] chr, int leftOut) {
    int m = g.length;
    int n = g[0].length;
    double[] k = new double[n * n];
    int used = 0;
    for (int v = 0; v < m; v++) {
      double s = 0;
      int called = 0;
      for (int j = 0; j < n; j++) {
        if (g[v][j] >= 0) {
          s += g[v][j];
          called++;
        }
      }
      double p = s / (2.0 * called);
      if (called == 0 || p <= 0 || p >= 1 || chr[v] == leftOut) {
        continue;
      }
      used++;
      double sd = Math.sqrt(2 * p * (1 - p));
      double[] z = new double[n];
      for (int j = 0; j < n; j++) {
        z[j] = g[v][j] < 0 ? 0 : (g[v][j] - 2 * p) / sd;
      }
      for (int b = 0; b < n; b++) {
        for (int a = 0; a < n; a++) {
          k[a + b * n] += z[a] * z[b];
        }
      }
    }
    for (int i = 0; i < k.length; i++) {
      k[i] /= used;
    }
    return k;
  }
}
