package org.lmmspark.engine.glmm;

import org.lmmspark.engine.linalg.Blas;

/**
 * Penalized iteratively reweighted least squares (Bates et al. 2015, lme4's PIRLS): at fixed β and
 * relative standard deviations θ, the conditional mode of the spherical random effects
 * {@code u} ({@code b = Λu}, {@code Λ = diag(θ_t)} over each term's levels) maximizes
 * {@code Σ_i log f(y_i | η_i) − ½|u|²}, {@code η = o + Xβ + ZΛu}. Each step solves
 * {@code (ΛZᵀWZΛ + I) u = ΛZᵀW(z − o − Xβ)} with the working weights and response of {@link Family},
 * halving a step that raises the penalized deviance. With {@code withBeta} the fixed effects are
 * estimated jointly (unpenalized), which is also how a GLM (no terms) is fitted by IRLS.
 *
 * <p>The system is dense, {@code (p + q)²} with q the total number of levels: right for the models of a
 * few hundred levels it serves; large grouping factors belong to the sparse mixed-model equations.
 * Cost per step: {@code n(p + T)²} to assemble, {@code (p + q)³/3} to factor.
 */
final class Pirls {
  static final int MAX_STEPS = 200;
  /** Newton decrement at which the mode counts as found: far below the 1e-6 asked of a log-likelihood. */
  static final double DECREMENT_TOL = 1e-22;

  private final GlmmProblem problem;
  private final int n;
  private final int p;
  private final int q;
  private final int[] termOffset;

  Pirls(GlmmProblem problem) {
    this.problem = problem;
    this.n = problem.n();
    this.p = problem.p();
    this.q = problem.randomEffects();
    this.termOffset = new int[problem.terms().size()];
    int off = 0;
    for (int t = 0; t < termOffset.length; t++) {
      termOffset[t] = off;
      off += problem.terms().get(t).levels();
    }
  }

  /**
   * The GLM fit without random effects (IRLS), the start of both GLMM methods. Complete separation —
   * fitted probabilities driven to 0 or 1 by the fixed effects, where the ML estimates do not exist — is
   * bad input, reported as such rather than as huge coefficients.
   */
  double[] glmStart() {
    Mode m = mode(new double[problem.terms().size()], new double[p], null, true);
    if (problem.family().isBinomial()) {
      double max = 0;
      for (double e : m.eta()) {
        max = Math.max(max, Math.abs(e));
      }
      if (!m.converged() || max > SEPARATION_ETA) {
        throw new org.lmmspark.engine.BadInputException("the fixed effects separate the outcomes (the logistic "
            + "regression without random effects drives fitted probabilities to 0 or 1, |η| up to "
            + String.format(java.util.Locale.ROOT, "%.0f", max) + "): the estimates do not exist; drop or merge the "
            + "separating covariate or level");
      }
    }
    return m.beta();
  }

  /** |η| beyond which a binomial GLM's fitted probabilities are 0 or 1 to 1e-13: separation. */
  static final double SEPARATION_ETA = 30;

  int randomEffects() {
    return q;
  }

  /** The mode and what the Laplace approximation needs of it. */
  record Mode(double[] beta, double[] u, double[] eta, double[] mu, double sumLogDensity, double sumSquaresU,
      double logDetU, boolean converged, int steps) {
    /** lme4's Laplace deviance {@code −2 Σ log f(y|μ) + |u|² + log|ΛZᵀWZΛ + I|}. */
    double laplaceDeviance() {
      return -2 * sumLogDensity + sumSquaresU + logDetU;
    }
  }

  /**
   * The mode at θ, starting from {@code beta} and {@code u0} (null: zeros); with {@code withBeta} β is
   * updated too, else held.
   */
  Mode mode(double[] theta, double[] beta, double[] u0, boolean withBeta) {
    double[] b = beta.clone();
    double[] u = u0 == null ? new double[q] : u0.clone();
    double[] eta = linearPredictor(theta, b, u);
    double pdev = penalizedDeviance(eta, u);
    int k = withBeta ? p + q : q;
    int off = withBeta ? p : 0;
    boolean converged = false;
    int steps = 0;
    for (; steps < MAX_STEPS; steps++) {
      double[] rhs = new double[k];
      double[] system = normalEquations(theta, eta, b, u, withBeta, rhs);
      BlockCholesky chol = BlockCholesky.factor(system, k, diagonalBlock(off));
      if (chol == null) {
        break;
      }
      double[] sol = chol.solve(rhs);
      // The Newton step δ = sol − current, and its decrement δᵀ(system)δ.
      double[] delta = new double[k];
      for (int j = 0; j < k; j++) {
        delta[j] = sol[j] - (j < off ? b[j] : u[j - off]);
      }
      double dec = org.lmmspark.engine.reml.SmallMatrices.quadraticForm(system, delta, k);
      if (dec < DECREMENT_TOL * Math.max(1, Math.abs(pdev))) {
        converged = true;
        break;
      }
      double step = 1;
      boolean accepted = false;
      for (int h = 0; h < 30; h++, step /= 2) {
        double[] nb = b.clone();
        double[] nu = u.clone();
        for (int j = 0; j < k; j++) {
          if (j < off) {
            nb[j] += step * delta[j];
          } else {
            nu[j - off] += step * delta[j];
          }
        }
        double[] ne = linearPredictor(theta, nb, nu);
        double nd = penalizedDeviance(ne, nu);
        if (nd <= pdev + 1e-12 * Math.abs(pdev)) {
          b = nb;
          u = nu;
          eta = ne;
          pdev = nd;
          accepted = true;
          break;
        }
      }
      if (!accepted) {
        // No descent along the Newton direction within rounding: the mode is found to machine precision.
        converged = true;
        break;
      }
    }
    // Weights at the mode: the log-determinant of the u block.
    double[] sys = normalEquations(theta, eta, b, u, withBeta, new double[k]);
    double[] uBlock = new double[q * q];
    for (int c = 0; c < q; c++) {
      System.arraycopy(sys, off + (off + c) * k, uBlock, c * q, q);
    }
    double logDetU = 0;
    if (q > 0) {
      BlockCholesky u2 = BlockCholesky.factor(uBlock, q, diagonalBlock(0));
      if (u2 == null) {
        throw new IllegalStateException("ΛZᵀWZΛ + I is not positive definite: cannot happen for finite weights");
      }
      logDetU = u2.logDet();
    }
    double[] mu = new double[n];
    double sumLog = 0;
    for (int i = 0; i < n; i++) {
      mu[i] = problem.family().mean(eta[i]);
      sumLog += problem.family().logDensity(problem.y()[i], problem.trials(i), mu[i]);
    }
    double uu = 0;
    for (double v : u) {
      uu += v * v;
    }
    return new Mode(b, u, eta, mu, sumLog, uu, logDetU, converged, steps);
  }

  /**
   * The inverse of the joint system {@code [XᵀWX XᵀWZΛ; ΛZᵀWX ΛZᵀWZΛ+I]} with the weights at (β, u), as
   * given (no iteration): its β block is lme4's {@code vcov(use.hessian = FALSE)}. Null if not PD.
   */
  double[] jointInverse(double[] theta, double[] beta, double[] u) {
    int k = p + q;
    double[] sys = normalEquations(theta, linearPredictor(theta, beta, u), beta, u, true, new double[k]);
    if (!Blas.dpotrfLower(k, sys)) {
      return null;
    }
    Blas.dpotriLowerFull(k, sys);
    return sys;
  }

  /**
   * The indices (in a system whose u block starts at {@code off}) of the largest term's levels: its block
   * of {@code ΛZᵀWZΛ + I} is diagonal, since each record has one level of each term.
   */
  private int[] diagonalBlock(int off) {
    int best = -1;
    for (int t = 0; t < termOffset.length; t++) {
      if (best < 0 || problem.terms().get(t).levels() > problem.terms().get(best).levels()) {
        best = t;
      }
    }
    if (best < 0) {
      return new int[0];
    }
    int[] idx = new int[problem.terms().get(best).levels()];
    for (int l = 0; l < idx.length; l++) {
      idx[l] = off + termOffset[best] + l;
    }
    return idx;
  }

  /**
   * Cholesky of a symmetric positive definite {@code A} whose block on the indices D is diagonal, by
   * eliminating D first: {@code S = A_RR − A_RD A_DD⁻¹ A_DR} is factored densely, so a term with as many
   * levels as records (an observation-level effect) costs O(|D|·|R|²) instead of O((|D| + |R|)³).
   */
  static final class BlockCholesky {
    final int k;
    final int[] d;
    final int[] r;
    final double[] diag;
    final double[] c;
    final double[] s;

    private BlockCholesky(int k, int[] d, int[] r, double[] diag, double[] c, double[] s) {
      this.k = k;
      this.d = d;
      this.r = r;
      this.diag = diag;
      this.c = c;
      this.s = s;
    }

    /** The factorization, or null when A is not positive definite. */
    static BlockCholesky factor(double[] a, int k, int[] d) {
      boolean[] inD = new boolean[k];
      for (int i : d) {
        inD[i] = true;
      }
      int[] r = new int[k - d.length];
      for (int i = 0, j = 0; i < k; i++) {
        if (!inD[i]) {
          r[j++] = i;
        }
      }
      int nd = d.length;
      int nr = r.length;
      double[] diag = new double[nd];
      for (int i = 0; i < nd; i++) {
        diag[i] = a[d[i] + d[i] * k];
        if (!(diag[i] > 0)) {
          return null;
        }
      }
      // C = A_DR (nd×nr); Cs = diag(d)^(-1/2) C; S = A_RR − Csᵀ Cs.
      double[] c = new double[nd * nr];
      double[] cs = new double[nd * nr];
      for (int j = 0; j < nr; j++) {
        for (int i = 0; i < nd; i++) {
          double v = a[d[i] + r[j] * k];
          c[i + j * nd] = v;
          cs[i + j * nd] = v / Math.sqrt(diag[i]);
        }
      }
      double[] s = new double[nr * nr];
      for (int j = 0; j < nr; j++) {
        for (int i = 0; i < nr; i++) {
          s[i + j * nr] = a[r[i] + r[j] * k];
        }
      }
      if (nr > 0 && nd > 0) {
        Blas.dgemm(true, false, nr, nr, nd, -1.0, cs, nd, cs, nd, 1.0, s, nr);
      }
      if (nr > 0 && !Blas.dpotrfLower(nr, s)) {
        return null;
      }
      return new BlockCholesky(k, d, r, diag, c, s);
    }

    double logDet() {
      double sum = 0;
      for (double v : diag) {
        sum += Math.log(v);
      }
      for (int i = 0; i < r.length; i++) {
        sum += 2 * Math.log(s[i + i * r.length]);
      }
      return sum;
    }

    /** {@code A⁻¹ b}. */
    double[] solve(double[] b) {
      int nd = d.length;
      int nr = r.length;
      double[] bd = new double[nd];
      for (int i = 0; i < nd; i++) {
        bd[i] = b[d[i]] / diag[i];
      }
      double[] xr = new double[nr];
      for (int j = 0; j < nr; j++) {
        double v = b[r[j]];
        for (int i = 0; i < nd; i++) {
          v -= c[i + j * nd] * bd[i];
        }
        xr[j] = v;
      }
      if (nr > 0) {
        Blas.dpotrsLower(nr, 1, s, xr);
      }
      double[] x = new double[k];
      for (int j = 0; j < nr; j++) {
        x[r[j]] = xr[j];
      }
      for (int i = 0; i < nd; i++) {
        double v = b[d[i]];
        for (int j = 0; j < nr; j++) {
          v -= c[i + j * nd] * xr[j];
        }
        x[d[i]] = v / diag[i];
      }
      return x;
    }
  }

  /** {@code η = o + Xβ + ZΛu}. */
  double[] linearPredictor(double[] theta, double[] beta, double[] u) {
    double[] eta = new double[n];
    if (p > 0) {
      Blas.dgemv(false, n, p, 1.0, problem.x(), beta, 0.0, eta);
    }
    for (int i = 0; i < n; i++) {
      double e = eta[i] + problem.offset(i);
      for (int t = 0; t < termOffset.length; t++) {
        GlmmProblem.Term term = problem.terms().get(t);
        e += term.value(i) * theta[t] * u[termOffset[t] + term.level()[i]];
      }
      eta[i] = e;
    }
    return eta;
  }

  /** {@code −2 Σ log f(y_i | μ_i) + |u|²}. */
  double penalizedDeviance(double[] eta, double[] u) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      s -= 2 * problem.family().logDensity(problem.y()[i], problem.trials(i), problem.family().mean(eta[i]));
    }
    for (double v : u) {
      s += v * v;
    }
    return s;
  }

  /**
   * The PIRLS normal equations at η: {@code AᵀWA + P} (k×k, full) into the return value and
   * {@code AᵀW(z − o)} (plus the held fixed part) into {@code rhs}, with {@code A = [X ZΛ]} (or
   * {@code ZΛ}) and P the identity on the u block.
   */
  private double[] normalEquations(double[] theta, double[] eta, double[] beta, double[] u, boolean withBeta,
      double[] rhs) {
    int off = withBeta ? p : 0;
    int k = off + q;
    double[] a = new double[k * k];
    int nt = termOffset.length;
    int rowLen = off + nt;
    int[] idx = new int[rowLen];
    double[] val = new double[rowLen];
    double[] x = problem.x();
    Family f = problem.family();
    for (int i = 0; i < n; i++) {
      double mu = f.mean(eta[i]);
      double d = f.meanDerivative(eta[i]);
      double ni = problem.trials(i);
      double w = ni * d * d / f.variance(mu);
      // Working response less the offset and, when β is held, less Xβ: what A·coef should match.
      double z = eta[i] + (problem.y()[i] / ni - mu) / d - problem.offset(i);
      if (!withBeta) {
        for (int j = 0; j < p; j++) {
          z -= x[i + j * n] * beta[j];
        }
      }
      for (int j = 0; j < off; j++) {
        idx[j] = j;
        val[j] = x[i + j * n];
      }
      for (int t = 0; t < nt; t++) {
        GlmmProblem.Term term = problem.terms().get(t);
        idx[off + t] = off + termOffset[t] + term.level()[i];
        val[off + t] = term.value(i) * theta[t];
      }
      for (int r = 0; r < rowLen; r++) {
        double wr = w * val[r];
        rhs[idx[r]] += wr * z;
        for (int c = 0; c < rowLen; c++) {
          a[idx[r] + idx[c] * k] += wr * val[c];
        }
      }
    }
    for (int j = off; j < k; j++) {
      a[j + j * k] += 1;
    }
    return a;
  }
}
