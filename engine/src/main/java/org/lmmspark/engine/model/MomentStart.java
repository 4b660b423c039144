package org.lmmspark.engine.model;

import org.lmmspark.engine.reml.SmallMatrices;

/**
 * Starting values from per-level least squares, for a model with one grouping factor (random
 * intercepts and slopes, unstructured or one effect): the two-stage moment estimates of a
 * random-coefficient model (Swamy 1970; the per-group fits of nlme's {@code lmList}, which nlme also
 * starts from). With {@code r = y − Xβ̂_OLS}, each level l with more records than effects and a full-rank
 * {@code Z_l} (n_l × d) gives {@code b_l = (Z_lᵀZ_l)⁻¹Z_lᵀr_l} and its residual sum of squares; then
 * <pre>
 *   σ̂² = Σ_l RSS_l / Σ_l (n_l − d),     Σ̂ = Cov_l(b_l) − σ̂² · mean_l (Z_lᵀZ_l)⁻¹,
 * </pre>
 * since {@code Cov(b_l) = Σ + σ²(Z_lᵀZ_l)⁻¹}; on balanced data (every level with the same Z) these are
 * the REML estimates when they are inside the parameter space. When a variance comes out below a tenth of
 * the default start's or a correlation beyond ±0.9 the fit is likely on the boundary, where AI steps alone
 * crept towards the singular Σ without converging (ArabidopsisGxeTest's ML fit): then no moment start, and
 * the default start with EM steps. Cost {@code O(n d² + levels d³)}.
 */
final class MomentStart {
  private MomentStart() {}

  /**
   * θ in the model's order (the residual variance of every {@code --resid-by} group at σ̂²), or null when
   * the model is not one term of grouping levels with unit weights, too few levels can be fitted
   * (fewer than d + 2), or the estimates are near the boundary (see the class doc).
   */
  static double[] of(MixedModel model, double[] defaultStart) {
    if (model.terms().size() != 1 || model.terms().get(0).relationship() != null) {
      return null;
    }
    for (double w : model.weights()) {
      if (w != 1) {
        return null;
      }
    }
    RandomEffectTerm term = model.terms().get(0);
    int n = model.n();
    int p = model.p();
    int d = term.dimension();
    int levels = term.levelCount();
    double[] r = olsResiduals(model.y(), model.x(), n, p);
    if (r == null) {
      return null;
    }
    // Per level: ZᵀZ (d×d), Zᵀr, rᵀr and the count, in one pass over the records.
    double[] ztz = new double[levels * d * d];
    double[] ztr = new double[levels * d];
    double[] rtr = new double[levels];
    int[] count = new int[levels];
    perLevelSums(term, r, ztz, ztr, rtr, count);
    double rss = 0;
    double df = 0;
    int used = 0;
    double[] sumB = new double[d];
    double[] sumBB = new double[d * d];
    double[] sumInv = new double[d * d];
    double[] block = new double[d * d];
    for (int l = 0; l < levels; l++) {
      if (count[l] <= d) {
        continue;
      }
      for (int a = 0; a < d; a++) {
        for (int b = 0; b <= a; b++) {
          block[a + b * d] = ztz[l * d * d + a + b * d];
          block[b + a * d] = block[a + b * d];
        }
      }
      double[] inv = SmallMatrices.invertSpd(block, d);
      if (inv == null) {
        continue;
      }
      double fitted = 0;
      double[] coef = new double[d];
      for (int a = 0; a < d; a++) {
        for (int b = 0; b < d; b++) {
          coef[a] += inv[a + b * d] * ztr[l * d + b];
        }
        fitted += coef[a] * ztr[l * d + a];
      }
      rss += Math.max(0, rtr[l] - fitted);
      df += count[l] - d;
      used++;
      for (int a = 0; a < d; a++) {
        sumB[a] += coef[a];
        for (int b = 0; b < d; b++) {
          sumBB[a + b * d] += coef[a] * coef[b];
          sumInv[a + b * d] += inv[a + b * d];
        }
      }
    }
    if (used < d + 2 || !(df > 0) || !(rss > 0)) {
      return null;
    }
    double sigma2 = rss / df;
    double[] sigma = new double[d * d];
    for (int a = 0; a < d; a++) {
      for (int b = 0; b < d; b++) {
        double cov = (sumBB[a + b * d] - sumB[a] * sumB[b] / used) / (used - 1);
        sigma[a + b * d] = cov - sigma2 * sumInv[a + b * d] / used;
      }
    }
    double[] theta = defaultStart.clone();
    int k0 = model.firstResidualParameter();
    for (int j = 0; j < k0; j++) {
      int[] ab = model.parameterEffects(j);
      if (ab[0] == ab[1]) {
        theta[j] = sigma[ab[0] + ab[0] * d];
        if (!(theta[j] > 0.1 * defaultStart[j])) {
          return null; // a variance near or below 0: a fit on the boundary, which EM steps approach better
        }
      }
    }
    for (int j = 0; j < k0; j++) {
      int[] ab = model.parameterEffects(j);
      if (ab[0] != ab[1]) {
        theta[j] = sigma[ab[0] + ab[1] * d];
        if (!(Math.abs(theta[j]) < 0.9 * Math.sqrt(variance(model, theta, ab[0]) * variance(model, theta, ab[1])))) {
          return null; // a correlation near ±1: as above
        }
      }
    }
    for (int j = k0; j < theta.length; j++) {
      theta[j] = sigma2;
    }
    return theta;
  }

  /**
   * The pass over the records of {@link #of}, a method of its own for the JIT: compiled for this loop alone, where
   * the whole of {@code of} was compiled on the stack again for each of its loops (a short fit runs each once).
   */
  private static void perLevelSums(RandomEffectTerm term, double[] r, double[] ztz, double[] ztr, double[] rtr,
      int[] count) {
    int d = term.dimension();
    int[] level = term.level();
    double[][] z = term.z();
    for (int i = 0; i < r.length; i++) {
      int l = level[i];
      if (l < 0) {
        continue;
      }
      count[l]++;
      rtr[l] += r[i] * r[i];
      for (int a = 0; a < d; a++) {
        double za = z[a][i];
        ztr[l * d + a] += za * r[i];
        for (int b = 0; b <= a; b++) {
          ztz[l * d * d + a + b * d] += za * z[b][i];
        }
      }
    }
  }

  /** The start's variance of effect a (the one term's). */
  private static double variance(MixedModel model, double[] theta, int a) {
    for (int j = 0; j < model.firstResidualParameter(); j++) {
      int[] ab = model.parameterEffects(j);
      if (ab[0] == a && ab[1] == a) {
        return theta[j];
      }
    }
    throw new IllegalStateException("no variance parameter for effect " + a);
  }

  /** y − Xβ̂ by the normal equations (p is small), or null when XᵀX is singular. */
  private static double[] olsResiduals(double[] y, double[] x, int n, int p) {
    double[] xtx = new double[p * p];
    double[] xty = new double[p];
    for (int k = 0; k < p; k++) {
      for (int i = 0; i < n; i++) {
        xty[k] += x[i + k * n] * y[i];
      }
      for (int l = 0; l <= k; l++) {
        double s = 0;
        for (int i = 0; i < n; i++) {
          s += x[i + k * n] * x[i + l * n];
        }
        xtx[k + l * p] = s;
        xtx[l + k * p] = s;
      }
    }
    double[] inv = SmallMatrices.invertSpd(xtx, p);
    if (inv == null) {
      return null;
    }
    double[] r = y.clone();
    for (int k = 0; k < p; k++) {
      double beta = 0;
      for (int l = 0; l < p; l++) {
        beta += inv[k + l * p] * xty[l];
      }
      for (int i = 0; i < n; i++) {
        r[i] -= x[i + k * n] * beta;
      }
    }
    return r;
  }
}
