package org.lmmspark.jobs.cli;

import java.util.Locale;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.glmm.Family;
import org.lmmspark.engine.glmm.GlmmFitter;
import org.lmmspark.engine.model.MixedModelFitter;
import picocli.CommandLine.Option;

/**
 * The GLMM options {@code fit} and {@code reml} share: {@code --family}, {@code --link}, {@code --glmm},
 * {@code --dispersion}; {@link #family()} is null for the linear model.
 */
public final class GlmmOptions {
  @Option(names = "--family", paramLabel = "gaussian|binomial|poisson", defaultValue = "gaussian", description =
      "Response distribution (default gaussian: a linear mixed model). binomial: 0/1 responses (PLINK's 1/2 coding"
          + " is recoded to 0/1, and the log says so), in fit also cbind(successes, failures) ~ ...; poisson: counts"
          + " (fit: offset(log(exposure)) in the formula). Fitted as lme4::glmer (Laplace) or MASS::glmmPQL / GMMAT /"
          + " SAIGE (PQL), see --glmm.")
  String family;

  @Option(names = "--link", paramLabel = "LINK", description = "Link function: logit (binomial default), probit "
      + "(binomial), log (poisson default).")
  String link;

  @Option(names = "--glmm", paramLabel = "auto|laplace|pql", defaultValue = "auto", description = "GLMM fitting: "
      + "laplace = the Laplace approximation to the likelihood (lme4 glmer's default; scalar grouping terms only), "
      + "pql = penalized quasi-likelihood (any random terms, relationship matrices included; AI-REML on the working "
      + "model, REML as GMMAT/SAIGE or ML as glmmPQL); auto (default) takes Laplace where it applies, else PQL.")
  String glmm;

  @Option(names = "--dispersion", paramLabel = "fixed|estimated", defaultValue = "fixed", description = "PQL: hold "
      + "the working model's dispersion at 1 (default; the GLMM's own, as GMMAT and SAIGE) or estimate it "
      + "(glmmPQL's default).")
  String dispersion;

  /** The family asked for, or null for {@code gaussian} (the linear model); GLMM-only options refused then. */
  public Family family() {
    if (family.equalsIgnoreCase("gaussian")) {
      return null;
    }
    return Family.of(family, link);
  }

  /** Whether {@code --link} was given (it is an error with the linear model). */
  public boolean linkGiven() {
    return link != null;
  }

  /** How to fit the GLMM, PQL's working model fitted by {@code workingMethod}. */
  public GlmmFitter.Options options(MixedModelFitter.Method workingMethod) {
    GlmmFitter.Route route = switch (glmm.toLowerCase(Locale.ROOT)) {
      case "auto" -> GlmmFitter.Route.AUTO;
      case "laplace" -> GlmmFitter.Route.LAPLACE;
      case "pql" -> GlmmFitter.Route.PQL;
      default -> throw new BadInputException("--glmm must be auto, laplace or pql, got " + glmm);
    };
    boolean fixDispersion = switch (dispersion.toLowerCase(Locale.ROOT)) {
      case "fixed" -> true;
      case "estimated" -> false;
      default -> throw new BadInputException("--dispersion must be fixed or estimated, got " + dispersion);
    };
    return new GlmmFitter.Options(route, workingMethod, fixDispersion, GlmmFitter.Options.defaults().tolerance());
  }
}
