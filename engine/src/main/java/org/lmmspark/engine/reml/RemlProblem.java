package org.lmmspark.engine.reml;

import java.util.List;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.linalg.Blas;

/**
 * A linear mixed model to fit by REML: {@code y = Xβ + Σ_k u_k + e} with {@code u_k ~ N(0, σ²_k V_k)}
 * and {@code e ~ N(0, σ²_e I)}, i.e. {@code y ~ N(Xβ, V)}, {@code V = Σ_k σ²_k V_k + σ²_e I}.
 * {@code y} (n), {@code X} (n×p column-major, full column rank) and the components are over the same
 * n samples in the same order.
 *
 * <p>Parameters are ordered {@code θ = (σ²_1, …, σ²_K, σ²_e)} everywhere in this package.
 */
public final class RemlProblem {
  private final double[] y;
  private final double[] x;
  private final int n;
  private final int p;
  private final List<String> fixedNames;
  private final List<VarianceComponent> components;

  public RemlProblem(double[] y, double[] x, List<String> fixedNames, List<VarianceComponent> components) {
    this.n = y.length;
    this.p = fixedNames.size();
    if (x.length != (long) n * p) {
      throw new IllegalArgumentException("X has " + x.length + " entries, expected n×p = " + n + "×" + p);
    }
    for (VarianceComponent c : components) {
      if (c.covariance().size() != n) {
        throw new IllegalArgumentException("component " + c.name() + " is " + c.covariance().size() + "×"
            + c.covariance().size() + " for n = " + n);
      }
    }
    int params = p + components.size() + 1;
    if (n <= params) {
      throw new BadInputException("only " + n + " analysed samples for " + params + " parameters (" + p
          + " fixed effects, " + components.size() + " variance components and the residual): "
          + "fewer samples than parameters");
    }
    this.y = y;
    this.x = x;
    this.fixedNames = List.copyOf(fixedNames);
    this.components = List.copyOf(components);
  }

  public double[] y() {
    return y;
  }

  /** X, n×p column-major (not a copy: read-only by contract). */
  public double[] x() {
    return x;
  }

  public int n() {
    return n;
  }

  public int p() {
    return p;
  }

  public List<String> fixedNames() {
    return fixedNames;
  }

  public List<VarianceComponent> components() {
    return components;
  }

  /** Number of variance parameters, K + 1 (the residual last). */
  public int parameters() {
    return components.size() + 1;
  }

  /**
   * REML log-likelihood of the model without random components, {@code V = σ²_e I} (ordinary least
   * squares): {@code ℓ0 = −½((n−p) log σ̂² + log|XᵀX| + (n−p))}, {@code σ̂² = RSS/(n−p)}; the same
   * constant convention as {@link RemlFit#logL()} (GCTA's: no 2π term). Also returns σ̂² in
   * {@code sigma2Out[0]} when given.
   */
  public double nullLogL(double[] sigma2Out) {
    double[] xtx = new double[p * p];
    Blas.dgemm(true, false, p, p, n, 1.0, x, n, x, n, 0.0, xtx, p);
    double[] xty = new double[p];
    Blas.dgemv(true, n, p, 1.0, x, y, 0.0, xty);
    if (!Blas.dpotrfLower(p, xtx)) {
      throw new IllegalStateException("XᵀX is not positive definite (collinear covariates should have been caught)");
    }
    double logDet = 0;
    for (int i = 0; i < p; i++) {
      logDet += 2 * Math.log(xtx[i + i * p]);
    }
    double[] beta = xty.clone();
    Blas.dpotrsLower(p, 1, xtx, beta);
    double rss = 0;
    double[] fit = new double[n];
    Blas.dgemv(false, n, p, 1.0, x, beta, 0.0, fit);
    for (int i = 0; i < n; i++) {
      double r = y[i] - fit[i];
      rss += r * r;
    }
    double s2 = rss / (n - p);
    if (sigma2Out != null) {
      sigma2Out[0] = s2;
    }
    if (!(s2 > 0)) {
      throw new BadInputException("the phenotype is fitted exactly by the covariates (residual variance 0): "
          + "there is no variance to partition");
    }
    return -0.5 * ((n - p) * Math.log(s2) + logDet + (n - p));
  }
}
