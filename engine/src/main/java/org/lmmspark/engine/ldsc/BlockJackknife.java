package org.lmmspark.engine.ldsc;

/**
 * Block jackknife of a least-squares fit and of ratios, as ldsc 1.0.1's {@code jackknife.py}
 * ({@code LstsqJackknifeFast}, {@code RatioJackknife}). The data's rows are cut into contiguous blocks at
 * {@code separators}; the delete value {@code θ₋ₖ} is the estimate without block {@code k}, from the
 * block sums of {@code XᵀX} and {@code Xᵀy} (so each costs one {@code p × p} solve, not a refit);
 * pseudovalues {@code B·θ̂ − (B − 1)·θ₋ₖ}; the jackknife covariance is the pseudovalues' covariance
 * (ddof 1) over {@code B}. Reported estimates are the whole-data ones ({@code est}), the SEs the
 * jackknife's.
 *
 * @param est whole-data estimate, length p
 * @param deleteValues {@code B × p} row-major
 * @param jackknifeEstimate mean of the pseudovalues
 * @param covariance {@code p × p} jackknife covariance
 */
public record BlockJackknife(int p, double[] est, double[] deleteValues, double[] jackknifeEstimate, double[] covariance) {

  public int blocks() {
    return deleteValues.length / p;
  }

  public double se(int i) {
    return Math.sqrt(covariance[i * p + i]);
  }

  /** ldsc's separators: {@code ⌊linspace(0, n, blocks + 1)⌋}, computed as numpy does ({@code i·(n/blocks)}, last = n). */
  public static int[] separators(int n, int blocks) {
    if (blocks < 1 || blocks > n) {
      throw new IllegalArgumentException("need 1 <= blocks <= n, got " + blocks + " blocks for " + n + " rows");
    }
    int[] s = new int[blocks + 1];
    double step = (double) n / blocks;
    for (int i = 0; i < blocks; i++) {
      s[i] = (int) Math.floor(i * step);
    }
    s[blocks] = n;
    return s;
  }

  /**
   * Least squares {@code y ~ X} ({@code n × p} row-major) with its block jackknife over
   * {@code separators}.
   */
  public static BlockJackknife leastSquares(double[] x, double[] y, int p, int[] separators) {
    int blocks = separators.length - 1;
    double[] xtx = new double[blocks * p * p];
    double[] xty = new double[blocks * p];
    double[] totXtx = new double[p * p];
    double[] totXty = new double[p];
    for (int b = 0; b < blocks; b++) {
      for (int r = separators[b]; r < separators[b + 1]; r++) {
        for (int i = 0; i < p; i++) {
          double xi = x[r * p + i];
          xty[b * p + i] += xi * y[r];
          for (int j = 0; j < p; j++) {
            xtx[(b * p + i) * p + j] += xi * x[r * p + j];
          }
        }
      }
      for (int i = 0; i < p * p; i++) {
        totXtx[i] += xtx[b * p * p + i];
      }
      for (int i = 0; i < p; i++) {
        totXty[i] += xty[b * p + i];
      }
    }
    double[] est = solve(totXtx, totXty, p);
    double[] delete = new double[blocks * p];
    double[] a = new double[p * p];
    double[] c = new double[p];
    for (int b = 0; b < blocks; b++) {
      for (int i = 0; i < p * p; i++) {
        a[i] = totXtx[i] - xtx[b * p * p + i];
      }
      for (int i = 0; i < p; i++) {
        c[i] = totXty[i] - xty[b * p + i];
      }
      System.arraycopy(solve(a, c, p), 0, delete, b * p, p);
    }
    return fromDeleteValues(est, delete, p);
  }

  /** The jackknife of an estimate whose delete values are given ({@code B × p}). */
  public static BlockJackknife fromDeleteValues(double[] est, double[] delete, int p) {
    int blocks = delete.length / p;
    double[] pseudo = new double[delete.length];
    for (int b = 0; b < blocks; b++) {
      for (int i = 0; i < p; i++) {
        pseudo[b * p + i] = blocks * est[i] - (blocks - 1) * delete[b * p + i];
      }
    }
    return fromPseudovalues(est, delete, pseudo, p);
  }

  /**
   * ldsc's {@code RatioJackknife}: pseudovalues {@code B·est − (B − 1)·numer₋ₖ/denom₋ₖ} of a ratio
   * estimate {@code est} (length p) from the delete values of its numerator and denominator.
   */
  public static BlockJackknife ratio(double[] est, double[] numerDelete, double[] denomDelete, int p) {
    int blocks = numerDelete.length / p;
    double[] pseudo = new double[numerDelete.length];
    double[] delete = new double[numerDelete.length];
    for (int b = 0; b < blocks; b++) {
      for (int i = 0; i < p; i++) {
        delete[b * p + i] = numerDelete[b * p + i] / denomDelete[b * p + i];
        pseudo[b * p + i] = blocks * est[i] - (blocks - 1) * delete[b * p + i];
      }
    }
    return fromPseudovalues(est, delete, pseudo, p);
  }

  private static BlockJackknife fromPseudovalues(double[] est, double[] delete, double[] pseudo, int p) {
    int blocks = pseudo.length / p;
    double[] mean = new double[p];
    for (int b = 0; b < blocks; b++) {
      for (int i = 0; i < p; i++) {
        mean[i] += pseudo[b * p + i];
      }
    }
    for (int i = 0; i < p; i++) {
      mean[i] /= blocks;
    }
    double[] cov = new double[p * p];
    for (int b = 0; b < blocks; b++) {
      for (int i = 0; i < p; i++) {
        double di = pseudo[b * p + i] - mean[i];
        for (int j = 0; j < p; j++) {
          cov[i * p + j] += di * (pseudo[b * p + j] - mean[j]);
        }
      }
    }
    for (int i = 0; i < p * p; i++) {
      cov[i] /= (double) (blocks - 1) * blocks;
    }
    return new BlockJackknife(p, est.clone(), delete, mean, cov);
  }

  /** Solves the small system {@code A x = b} ({@code p × p} row-major, copied) by Gaussian elimination with partial pivoting. */
  static double[] solve(double[] aIn, double[] bIn, int p) {
    double[] a = aIn.clone();
    double[] b = bIn.clone();
    for (int k = 0; k < p; k++) {
      int piv = k;
      for (int i = k + 1; i < p; i++) {
        if (Math.abs(a[i * p + k]) > Math.abs(a[piv * p + k])) {
          piv = i;
        }
      }
      if (a[piv * p + k] == 0) {
        throw new ArithmeticException("singular least-squares system (collinear regressors)");
      }
      if (piv != k) {
        for (int j = 0; j < p; j++) {
          double t = a[k * p + j];
          a[k * p + j] = a[piv * p + j];
          a[piv * p + j] = t;
        }
        double t = b[k];
        b[k] = b[piv];
        b[piv] = t;
      }
      for (int i = k + 1; i < p; i++) {
        double f = a[i * p + k] / a[k * p + k];
        for (int j = k; j < p; j++) {
          a[i * p + j] -= f * a[k * p + j];
        }
        b[i] -= f * b[k];
      }
    }
    double[] x = new double[p];
    for (int i = p - 1; i >= 0; i--) {
      double s = b[i];
      for (int j = i + 1; j < p; j++) {
        s -= a[i * p + j] * x[j];
      }
      x[i] = s / a[i * p + i];
    }
    return x;
  }
}
