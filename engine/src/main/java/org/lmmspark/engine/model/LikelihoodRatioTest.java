package org.lmmspark.engine.model;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.stats.ChiSquared;

/**
 * Likelihood-ratio test between two nested fits, as R's {@code anova(m0, m)}: {@code χ² = 2(ℓ₁ − ℓ₀)}
 * on {@code df = k₁ − k₀} (numbers of estimated parameters), {@code p = P(χ²_df ≥ χ²)}.
 *
 * <p>When the larger model adds random-effect parameters, the null value of a variance lies on the
 * boundary of its space and the naive χ²_df reference is conservative. When exactly one variance is
 * added (with any covariances of it), the null distribution is the 50:50 mixture
 * {@code ½χ²_{df−1} + ½χ²_df} (Self &amp; Liang 1987; Stram &amp; Lee 1994; {@code χ²₀} the point
 * mass at 0): {@link #boundaryPValue}. With more than one variance added the mixture weights depend
 * on the information matrix, and only the naive p-value is given (NaN for the mixture).
 *
 * <p>REML fits compare only with the same fixed effects (their likelihoods are of different data
 * otherwise): refused unless the fixed-effect names agree.
 */
public record LikelihoodRatioTest(String smaller, String larger, double chiSquared, int df, double pValue,
    double boundaryPValue, String note) {

  /** What a saved fit contributes to the test. */
  public record Model(String label, String method, int n, double logLik, List<String> fixedNames,
      List<String> estimatedParameters) {
    public static Model of(MixedModelFit f) {
      List<String> est = new ArrayList<>();
      for (int j = 0; j < f.theta().length; j++) {
        if (!f.fixed()[j]) {
          est.add(f.parameterNames().get(j));
        }
      }
      return new Model(f.formula(), f.method().name(), f.n(), f.logLik(), f.fixedNames(), est);
    }

    int parameters() {
      return fixedNames.size() + estimatedParameters.size();
    }
  }

  public static LikelihoodRatioTest compare(Model a, Model b) {
    if (!a.method().equals(b.method())) {
      throw new BadInputException("cannot compare a " + a.method() + " fit with a " + b.method() + " fit: refit both"
          + " with the same --method");
    }
    if (a.n() != b.n()) {
      throw new BadInputException("the fits use different records (n = " + a.n() + " and " + b.n() + ")");
    }
    if (a.method().equals("REML") && !a.fixedNames().equals(b.fixedNames())) {
      throw new BadInputException("REML fits with different fixed effects (" + a.fixedNames() + " vs " + b.fixedNames()
          + ") are not comparable: refit both with --method ml");
    }
    Model small = a.parameters() <= b.parameters() ? a : b;
    Model big = small == a ? b : a;
    int df = big.parameters() - small.parameters();
    if (df == 0) {
      throw new BadInputException("both fits have " + big.parameters() + " parameters: not nested");
    }
    double chi2 = Math.max(0, 2 * (big.logLik() - small.logLik()));
    double p = ChiSquared.upperTail(chi2, df);
    Set<String> smallParams = new HashSet<>(small.estimatedParameters());
    int addedVariances = 0;
    List<String> added = new ArrayList<>();
    for (String name : big.estimatedParameters()) {
      if (!smallParams.contains(name)) {
        added.add(name);
        // Covariance names hold the two effects separated by a comma; residual variances are variances too.
        addedVariances += name.contains(",") ? 0 : 1;
      }
    }
    boolean sameFixed = small.fixedNames().equals(big.fixedNames());
    double mixture = Double.NaN;
    String note;
    if (sameFixed && addedVariances == 1 && !added.isEmpty() && added.size() == df && !added.get(0).startsWith(
        "residual")) {
      mixture = 0.5 * ChiSquared.upperTail(chi2, df) + (df > 1 ? 0.5 * ChiSquared.upperTail(chi2, df - 1)
          : chi2 > 0 ? 0 : 0.5);
      note = String.format(Locale.ROOT, "one variance added (%s): boundary p from ½χ²_%d + ½χ²_%d", String.join(", ",
          added), df - 1, df);
    } else if (sameFixed && addedVariances > 1) {
      note = "several variances added: the boundary mixture depends on the information matrix, only the naive p is given";
    } else {
      note = "naive χ² reference";
    }
    if (!big.fixedNames().containsAll(small.fixedNames()) || !new HashSet<>(big.estimatedParameters()).containsAll(
        smallParams)) {
      note += "; the parameter names of the smaller fit are not all in the larger: check that the models are nested";
    }
    return new LikelihoodRatioTest(small.label(), big.label(), chi2, df, p, mixture, note);
  }
}
