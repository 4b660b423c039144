package org.lmmspark.engine.reml;

import java.util.Arrays;
import java.util.Random;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.testing.PlainKinship;

/** Test data: genotypes, a plainly computed GCTA-style GRM, and draws from N(0, σ²K). */
final class Simulated {
  private Simulated() {}

  /** Unrelated samples: n×m genotype counts 0/1/2 from allele frequencies uniform in [0.1, 0.9]. */
  static int[][] unrelatedGenotypes(int n, int m, Random rnd) {
    int[][] g = new int[n][m];
    for (int j = 0; j < m; j++) {
      double f = 0.1 + 0.8 * rnd.nextDouble();
      for (int i = 0; i < n; i++) {
        g[i][j] = (rnd.nextDouble() < f ? 1 : 0) + (rnd.nextDouble() < f ? 1 : 0);
      }
    }
    return g;
  }

  /**
   * A three-generation population so relationships vary (parent–child and full sibs 0.5, half sibs
   * and grandparents 0.25, cousins 0.125, …): founders, then {@code couples1} couples of founders
   * with {@code kids1} children each, then random couples of those children (from different
   * families) with {@code kids2} children each. Alleles transmitted independently per variant.
   * Rows hold the two alleles of each individual as 0/1 in {@code [2i]} and {@code [2i+1]}.
   */
  static int[][] pedigreeGenotypes(int founders, int kids1, int kids2, int m, Random rnd) {
    int couples1 = founders / 2;
    int gen1 = couples1 * kids1;
    int couples2 = gen1 / 2;
    int n = founders + gen1 + couples2 * kids2;
    int[][] hap = new int[2 * n][m];
    for (int j = 0; j < m; j++) {
      double f = 0.1 + 0.8 * rnd.nextDouble();
      for (int i = 0; i < founders; i++) {
        hap[2 * i][j] = rnd.nextDouble() < f ? 1 : 0;
        hap[2 * i + 1][j] = rnd.nextDouble() < f ? 1 : 0;
      }
    }
    int next = founders;
    for (int c = 0; c < couples1; c++) {
      for (int k = 0; k < kids1; k++) {
        child(hap, next++, 2 * c, 2 * c + 1, m, rnd);
      }
    }
    // Pair generation-1 children from different families: child i of family c with child i of family c+1.
    int[] order = new int[gen1];
    for (int i = 0; i < gen1; i++) {
      order[i] = founders + i;
    }
    for (int c = 0; c < couples2; c++) {
      int a = order[(2 * c) % gen1];
      int b = order[(2 * c + kids1 + 1) % gen1];
      for (int k = 0; k < kids2; k++) {
        child(hap, next++, a, b, m, rnd);
      }
    }
    int[][] g = new int[n][m];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        g[i][j] = hap[2 * i][j] + hap[2 * i + 1][j];
      }
    }
    return g;
  }

  private static void child(int[][] hap, int c, int mother, int father, int m, Random rnd) {
    for (int j = 0; j < m; j++) {
      hap[2 * c][j] = hap[2 * mother + rnd.nextInt(2)][j];
      hap[2 * c + 1][j] = hap[2 * father + rnd.nextInt(2)][j];
    }
  }

  /** GCTA GRM written plainly ({@link PlainKinship#k}: A = Z Zᵀ/M over polymorphic variants) of {@code g[sample][variant]}. */
  static double[] grm(int[][] g) {
    int n = g.length;
    int m = g[0].length;
    int[][] byVariant = new int[m][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        byVariant[j][i] = g[i][j];
      }
    }
    int[] oneChromosome = new int[m];
    Arrays.fill(oneChromosome, 1);
    return PlainKinship.k(byVariant, oneChromosome, 0);
  }

  /** A draw from N(0, σ² K): U diag(sqrt(max(d, 0))) ξ. */
  static double[] draw(double[] k, int n, double sigma2, Random rnd) {
    double[] d = new double[n];
    double[] u = new double[n * n];
    Blas.dsyevr(n, k.clone(), d, u);
    double[] xi = new double[n];
    for (int i = 0; i < n; i++) {
      xi[i] = rnd.nextGaussian() * Math.sqrt(Math.max(d[i], 0) * sigma2);
    }
    double[] out = new double[n];
    Blas.dgemv(false, n, n, 1.0, u, xi, 0.0, out);
    return out;
  }
}
