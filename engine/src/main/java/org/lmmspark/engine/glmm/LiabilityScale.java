package org.lmmspark.engine.glmm;

import org.apache.commons.math3.distribution.NormalDistribution;
import org.lmmspark.engine.BadInputException;

/**
 * Heritability of a 0/1 trait on the liability scale from its observed-scale estimate, by the
 * Dempster–Lerner (1950) transformation with Lee et al.'s (2011, AJHG 88:294, eq. 23) correction for
 * ascertainment, as GCTA's {@code --prevalence}:
 * <pre>  h²_l = h²_o · K(1 − K)/z² · K(1 − K)/(P(1 − P))</pre>
 * K the population prevalence, P the proportion of cases in the sample, z the standard normal density at
 * the liability threshold {@code t = Φ⁻¹(1 − K)}. The SE scales by the same factor. Liability is the
 * probit scale: the same quantity a probit GLMM's link-scale h² estimates (residual variance 1).
 */
public final class LiabilityScale {
  private static final NormalDistribution NORMAL = new NormalDistribution(null, 0, 1);

  private LiabilityScale() {}

  /** The factor that takes an observed-scale h² (and its SE) to the liability scale. */
  public static double factor(double prevalence, double caseProportion) {
    if (!(prevalence > 0 && prevalence < 1)) {
      throw new BadInputException("the population prevalence must be in (0, 1), got " + prevalence);
    }
    if (!(caseProportion > 0 && caseProportion < 1)) {
      throw new BadInputException("the proportion of cases in the sample must be in (0, 1), got " + caseProportion
          + ": a 0/1 trait needs both cases and controls");
    }
    double t = NORMAL.inverseCumulativeProbability(1 - prevalence);
    double z = NORMAL.density(t);
    double k = prevalence * (1 - prevalence);
    return k / (z * z) * k / (caseProportion * (1 - caseProportion));
  }
}
