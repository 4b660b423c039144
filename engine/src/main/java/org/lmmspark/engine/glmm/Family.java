package org.lmmspark.engine.glmm;

import java.util.Locale;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.special.Gamma;
import org.lmmspark.engine.BadInputException;

/**
 * The response distribution and link of a generalized linear (mixed) model, as R's {@code family}
 * objects define them: the inverse link {@code μ = g⁻¹(η)}, its derivative {@code dμ/dη}, the variance
 * function {@code V(μ)} and the log-density of one record. Binomial responses are {@code y} successes out
 * of {@code n} trials (0/1 data: {@code n = 1}); Poisson responses are counts.
 *
 * <p>The IRLS working weights are {@code w = n (dμ/dη)² / V(μ)} and the working response
 * {@code z = η + (y/n − μ)/(dμ/dη)} (McCullagh &amp; Nelder 1989, §2.5), the same for every link: for a
 * non-canonical link (probit) these are the expected (Fisher) weights, as in R's {@code glm} and lme4's
 * PIRLS.
 *
 * <p>The latent-scale residual variance {@link #latentResidualVariance} is what turns a link-scale
 * variance component into a heritability: π²/3 for the logit (the standard logistic distribution), 1 for
 * the probit, and for the Poisson log link the log-normal approximation {@code log(1 + 1/λ)} with λ the
 * mean count (Nakagawa &amp; Schielzeth 2010; Nakagawa, Johnson &amp; Schielzeth 2017).
 */
public enum Family {
  BINOMIAL_LOGIT("binomial", "logit"),
  BINOMIAL_PROBIT("binomial", "probit"),
  POISSON_LOG("poisson", "log");

  private static final NormalDistribution STANDARD_NORMAL = new NormalDistribution(null, 0, 1);
  /** Probabilities are kept this far inside (0, 1), as R's {@code binomial()$linkinv} does with its eps. */
  private static final double MU_EPS = 2.220446e-16;

  private final String distribution;
  private final String link;

  Family(String distribution, String link) {
    this.distribution = distribution;
    this.link = link;
  }

  /**
   * The family for a distribution and an optional link (its canonical link when null), as users type
   * them: {@code binomial}, {@code binomial/probit}, {@code poisson}.
   */
  public static Family of(String distribution, String link) {
    String d = distribution.toLowerCase(Locale.ROOT);
    String l = link == null ? null : link.toLowerCase(Locale.ROOT);
    for (Family f : values()) {
      if (f.distribution.equals(d) && (l == null ? f.isCanonical() : f.link.equals(l))) {
        return f;
      }
    }
    throw new BadInputException("unknown family/link '" + distribution + (link == null ? "" : "/" + link)
        + "': supported are binomial (logit, probit) and poisson (log)");
  }

  /**
   * A 0/1 trait coded 1/2 (PLINK: 1 control, 2 case) recoded to 0/1; null when some value is neither 1 nor
   * 2 (the response is then taken as it is).
   */
  public static double[] plinkCaseControlAsZeroOne(double[] y) {
    for (double v : y) {
      if (v != 1 && v != 2) {
        return null;
      }
    }
    double[] recoded = new double[y.length];
    for (int i = 0; i < y.length; i++) {
      recoded[i] = y[i] - 1;
    }
    return recoded;
  }

  public String distribution() {
    return distribution;
  }

  public String link() {
    return link;
  }

  public boolean isCanonical() {
    return this != BINOMIAL_PROBIT;
  }

  public boolean isBinomial() {
    return distribution.equals("binomial");
  }

  /** {@code μ = g⁻¹(η)}: a probability for the binomial, a mean count for the Poisson. */
  public double mean(double eta) {
    switch (this) {
      case BINOMIAL_LOGIT: {
        double mu = eta >= 0 ? 1 / (1 + Math.exp(-eta)) : Math.exp(eta) / (1 + Math.exp(eta));
        return clampProbability(mu);
      }
      case BINOMIAL_PROBIT:
        return clampProbability(STANDARD_NORMAL.cumulativeProbability(eta));
      default:
        return Math.max(Math.exp(eta), MU_EPS);
    }
  }

  /** {@code dμ/dη} at η. */
  public double meanDerivative(double eta) {
    switch (this) {
      case BINOMIAL_LOGIT: {
        double e = Math.exp(-Math.abs(eta));
        return Math.max(e / ((1 + e) * (1 + e)), MU_EPS);
      }
      case BINOMIAL_PROBIT:
        return Math.max(STANDARD_NORMAL.density(eta), MU_EPS);
      default:
        return Math.max(Math.exp(eta), MU_EPS);
    }
  }

  /** The variance function {@code V(μ)} per trial: μ(1 − μ) for the binomial, μ for the Poisson. */
  public double variance(double mu) {
    return isBinomial() ? mu * (1 - mu) : mu;
  }

  /** {@code g(μ)}, the link. */
  public double linkOf(double mu) {
    switch (this) {
      case BINOMIAL_LOGIT:
        return Math.log(mu / (1 - mu));
      case BINOMIAL_PROBIT:
        return STANDARD_NORMAL.inverseCumulativeProbability(mu);
      default:
        return Math.log(mu);
    }
  }

  /**
   * Log-density of one record with all its constants (as R's {@code dbinom(..., log = TRUE)} and
   * {@code dpois(..., log = TRUE)}), so that sums compare with lme4's {@code logLik}: {@code y} successes
   * of {@code trials} (binomial) or a count (Poisson; {@code trials} ignored).
   */
  public double logDensity(double y, double trials, double mu) {
    if (isBinomial()) {
      double s = y == 0 ? 0 : y * Math.log(mu);
      double f = trials - y == 0 ? 0 : (trials - y) * Math.log1p(-mu);
      return logChoose(trials, y) + s + f;
    }
    return (y == 0 ? 0 : y * Math.log(mu)) - mu - Gamma.logGamma(y + 1);
  }

  /**
   * The unit deviance {@code 2(ℓ(y; y) − ℓ(y; μ))} of one record, R's {@code family$dev.resids}: its sum is
   * the deviance that IRLS convergence and lme4's conditional deviance use.
   */
  public double unitDeviance(double y, double trials, double mu) {
    if (isBinomial()) {
      double p = y / trials;
      double a = p == 0 ? 0 : p * Math.log(p / mu);
      double b = p == 1 ? 0 : (1 - p) * Math.log((1 - p) / (1 - mu));
      return 2 * trials * (a + b);
    }
    return 2 * ((y == 0 ? 0 : y * Math.log(y / mu)) - (y - mu));
  }

  /**
   * The residual variance on the latent (link) scale that a link-scale genetic variance is set against in
   * a heritability: π²/3 (logit), 1 (probit), {@code log(1 + 1/λ)} (Poisson log link, log-normal
   * approximation, λ the mean count on the response scale).
   */
  public double latentResidualVariance(double meanCount) {
    switch (this) {
      case BINOMIAL_LOGIT:
        return Math.PI * Math.PI / 3;
      case BINOMIAL_PROBIT:
        return 1;
      default:
        return Math.log1p(1 / meanCount);
    }
  }

  /**
   * Checks one response (and its trials) and says why it cannot be one: counts that are negative or not
   * integers, successes outside 0..trials. Null when valid.
   */
  public String invalidResponse(double y, double trials) {
    if (!Double.isFinite(y)) {
      return "response " + y + " is not a finite number";
    }
    if (y < 0 || y != Math.rint(y)) {
      return "response " + y + " is not a non-negative integer " + (isBinomial() ? "count of successes" : "count");
    }
    if (isBinomial()) {
      if (!(trials >= 1) || trials != Math.rint(trials)) {
        return "number of trials " + trials + " is not a positive integer";
      }
      if (y > trials) {
        return "successes " + y + " exceed the trials " + trials;
      }
    }
    return null;
  }

  static double clampProbability(double mu) {
    return Math.min(Math.max(mu, MU_EPS), 1 - MU_EPS);
  }

  private static double logChoose(double n, double k) {
    if (k == 0 || k == n) {
      return 0;
    }
    return Gamma.logGamma(n + 1) - Gamma.logGamma(k + 1) - Gamma.logGamma(n - k + 1);
  }

  @Override
  public String toString() {
    return distribution + "(" + link + ")";
  }
}
