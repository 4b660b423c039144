package org.lmmspark.engine.glmm;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.model.MixedModel;
import org.lmmspark.engine.model.MixedModelFitter;

/**
 * The probit link ({@code fit --family binomial --link probit}) checked independently on refdata/mass-bacteria-binary
 * ({@code y ~ trt + week_gt2 + (1 | ID)}, 220 records, 50 subjects): against lme4 {@code glmer} (Laplace) and
 * {@code MASS::glmmPQL} (PQL) with {@code family = binomial(link = "probit")}, and against the Laplace deviance
 * and a probit GLM written out plainly here, with Φ and φ from commons-math rather than {@link Family}.
 *
 * <p>The reference numbers were produced with R 4.2.2, lme4 1.1-31, MASS 7.3-58.2 (Debian bookworm) on the case's
 * {@code bacteria.csv}, by the case's own controls ({@code peer_script.R}; {@code pqltight.R} for glmmPQL's
 * fixed point):
 * <pre>
 * d &lt;- read.csv("bacteria.csv"); d$ID &lt;- factor(d$ID)
 * d$trt &lt;- factor(d$trt, levels = c("placebo", "drug", "drug+"))
 * tight &lt;- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-14, optCtrl = list(rhobeg = 0.02, rhoend = 1e-10, maxfun = 1e5))
 * fam &lt;- binomial(link = "probit")
 * g0 &lt;- glm(y ~ trt + week_gt2, family = fam, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
 * m &lt;- glmer(y ~ trt + week_gt2 + (1 | ID), family = fam, data = d, control = tight)   # nAGQ = 1
 * p &lt;- glmmPQL_tight(y ~ trt + week_gt2, random = ~ 1 | ID, family = fam, data = d,
 *                    control = lmeControl(sigma = 1, tolerance = 1e-10, msTol = 1e-10), niter = 500)
 * </pre>
 * printed with {@code formatC(x, digits = 12, format = "g")}. The plain computations: a probit GLM by Newton's
 * method on the log-likelihood (observed information), and the Laplace deviance of the one-intercept model as
 * lme4 defines it (Bates et al. 2015, J Stat Softw 67(1), eq. 27, with the GLM weights {@code w = φ(η)²/(μ(1 − μ))}
 * at the conditional modes, found per subject by a scalar Fisher-scoring iteration), evaluated at the engine's
 * optimum: the same value and a vanishing gradient there, i.e. the engine maximizes that objective. Tolerances are the case's EXPECTED.md ones for the
 * logit fits (Laplace: logLik 1e-6 absolute, β and variance 1e-5 relative, Hessian SE 1e-4 relative; PQL fixed
 * point: β, SE 1e-5 relative, variance 1e-4).
 */
class ProbitGlmmTest {
  static final NormalDistribution NORMAL = new NormalDistribution(null, 0, 1);

  static MixedModel bacteria() {
    return PqlGlmmTest.frame("mass-bacteria-binary", "bacteria.csv", "y ~ trt + week_gt2 + (1 | ID)",
        Map.of("trt", "placebo"), Set.of());
  }

  /** Laplace (glmer's nAGQ = 1) against glmer. */
  @Test
  void laplaceMatchesGlmer() {
    MixedModel m = bacteria();
    GlmmFit fit = LaplaceGlmm.fit(GlmmFitter.toProblem(m, Family.BINOMIAL_PROBIT));
    assertTrue(fit.converged(), fit.message());
    System.out.printf(java.util.Locale.ROOT, "probit Laplace: beta %s var %.10g logLik %.10f SE %s%n",
        java.util.Arrays.toString(fit.beta()), fit.variances()[0], fit.logLik(), java.util.Arrays.toString(fit.betaSe()));
    // glmer probit nAGQ = 1: logLik -96.4721083574, AIC 202.944216715, BIC 219.912354447
    assertClose(fit.logLik(), -96.4721083574, 1e-6, 0, "logLik");
    assertClose(fit.aic(), 202.944216715, 1e-6, 0, "AIC");
    assertClose(fit.bic(), 219.912354447, 1e-6, 0, "BIC");
    // fixef: 2.02984320477 -0.782382392014 -0.451733826017 -0.891475773345
    assertClose(fit.beta(), new double[] {2.02984320477, -0.782382392014, -0.451733826017, -0.891475773345}, 0, 1e-5,
        "beta");
    // as.data.frame(VarCorr(m))$vcov: 0.462598253635
    assertClose(fit.variances()[0], 0.462598253635, 0, 1e-5, "var ID");
    // sqrt(diag(vcov(m))): 0.37766726089 0.381884028135 0.382095619546 0.263377174968
    // 3e-4 relative rather than the logit case's 1e-4: both are central differences of the deviance with step 1e-4
    // (lme4's deriv12), so an error ε in a deviance evaluation (PIRLS to ~1e-12) moves the Hessian by ε/h² ~ 1e-4;
    // measured 0.9–1.8e-4 here, while the SEs at fixed θ below, which take no differences, agree within 1e-4.
    assertClose(fit.betaSe(), new double[] {0.37766726089, 0.381884028135, 0.382095619546, 0.263377174968}, 0, 3e-4,
        "SE(beta), Hessian");
    // sqrt(diag(vcov(m, use.hessian = FALSE))): 0.311575003635 0.359410037159 0.364432270946 0.247750834164
    assertClose(fit.betaSeConditional(),
        new double[] {0.311575003635, 0.359410037159, 0.364432270946, 0.247750834164}, 0, 1e-4, "SE(beta), conditional");
  }

  /**
   * The Laplace deviance written out plainly at the engine's optimum: equal to {@code −2 logLik} (1e-8: both
   * solve the modes to ~1e-14) and stationary in (θ, β) (central differences, step 1e-5: the gradient within
   * 1e-5 of the deviance's scale, where BOBYQA's final radius 1e-9 leaves ≲ 1e-8 and the differences' truncation ≲ 1e-9).
   */
  @Test
  void laplaceOptimumIsThePlainDeviancesOptimum() {
    MixedModel m = bacteria();
    GlmmFit fit = LaplaceGlmm.fit(GlmmFitter.toProblem(m, Family.BINOMIAL_PROBIT));
    int[] subject = m.terms().get(0).level();
    int subjects = m.terms().get(0).levelCount();
    double[] point = new double[5];
    point[0] = Math.sqrt(fit.variances()[0]);
    System.arraycopy(fit.beta(), 0, point, 1, 4);
    double d0 = plainLaplaceDeviance(point, m.y(), m.x(), subject, subjects);
    assertClose(d0, -2 * fit.logLik(), 1e-8, 0, "plain Laplace deviance at the engine's optimum");
    double h = 1e-5;
    for (int j = 0; j < 5; j++) {
      double[] up = point.clone();
      double[] down = point.clone();
      up[j] += h;
      down[j] -= h;
      double g = (plainLaplaceDeviance(up, m.y(), m.x(), subject, subjects)
          - plainLaplaceDeviance(down, m.y(), m.x(), subject, subjects)) / (2 * h);
      assertClose(g, 0, 1e-5 * d0, 0, "∂deviance/∂parameter " + j + " at the optimum");
    }
  }

  /**
   * {@code −2 log L} by Laplace for {@code Φ⁻¹(μ_i) = x_iᵀβ + θ u_{s(i)}}, {@code u ~ N(0, 1)} per subject:
   * {@code −2 Σ log f(y_i | μ_i(û)) + Σ_s û_s² + Σ_s log(1 + θ² Σ_{i∈s} w_i)}; point = (θ, β).
   */
  static double plainLaplaceDeviance(double[] point, double[] y, double[] x, int[] subject, int subjects) {
    int n = y.length;
    int p = point.length - 1;
    double theta = point[0];
    double[] fixed = new double[n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < p; j++) {
        fixed[i] += x[i + j * n] * point[1 + j];
      }
    }
    double dev = 0;
    for (int s = 0; s < subjects; s++) {
      double u = 0;
      double logDensity = 0;
      double sumW = 0;
      for (int it = 0; it < 200; it++) {
        // Fisher scoring on u ↦ Σ log f(y | μ(u)) − u²/2: score θ Σ (y − μ)φ/(μ(1 − μ)) − u, information θ²Σw + 1;
        // the log-density and Σw are those at the u where the step vanishes.
        double score = -u;
        logDensity = 0;
        sumW = 0;
        for (int i = 0; i < n; i++) {
          if (subject[i] != s) {
            continue;
          }
          double eta = fixed[i] + theta * u;
          double mu = NORMAL.cumulativeProbability(eta);
          double phi = NORMAL.density(eta);
          score += theta * (y[i] - mu) * phi / (mu * (1 - mu));
          sumW += phi * phi / (mu * (1 - mu));
          logDensity += y[i] == 1 ? Math.log(mu) : Math.log(1 - mu);
        }
        double step = score / (theta * theta * sumW + 1);
        if (Math.abs(step) < 1e-14) {
          break;
        }
        u += step;
      }
      dev += -2 * logDensity + u * u + Math.log(1 + theta * theta * sumW);
    }
    return dev;
  }

  /**
   * The probit GLM without random effects (the start of both GLMM methods, {@link Pirls#glmStart}) against
   * Newton's method written here and against R's {@code glm}: {@code coef(g0)} 1.61876841761 -0.626272794768
   * -0.340836572227 -0.711428839243 (1e-8 relative: both iterate to ~1e-14).
   */
  @Test
  void glmStartIsTheProbitGlm() {
    MixedModel m = bacteria();
    double[] start = new Pirls(GlmmFitter.toProblem(m, Family.BINOMIAL_PROBIT)).glmStart();
    double[] y = m.y();
    double[] x = m.x();
    int n = y.length;
    int p = 4;
    double[] beta = new double[p];
    for (int it = 0; it < 100; it++) {
      // ℓ = Σ y log Φ(η) + (1 − y) log(1 − Φ(η)); dℓ/dη = φ(y − Φ)/(Φ(1 − Φ)); d²ℓ/dη² by differencing dℓ/dη.
      double[] grad = new double[p];
      double[] hess = new double[p * p];
      for (int i = 0; i < n; i++) {
        double eta = 0;
        for (int j = 0; j < p; j++) {
          eta += x[i + j * n] * beta[j];
        }
        double d1 = scoreInEta(y[i], eta);
        double d2 = (scoreInEta(y[i], eta + 1e-5) - scoreInEta(y[i], eta - 1e-5)) / 2e-5;
        for (int a = 0; a < p; a++) {
          grad[a] += x[i + a * n] * d1;
          for (int b = 0; b < p; b++) {
            hess[a + b * p] -= x[i + a * n] * x[i + b * n] * d2;
          }
        }
      }
      double[] inverse = org.lmmspark.engine.reml.SmallMatrices.invertSpd(hess, p);
      double size = 0;
      for (int j = 0; j < p; j++) {
        double step = 0;
        for (int b = 0; b < p; b++) {
          step += inverse[j + b * p] * grad[b];
        }
        beta[j] += step;
        size = Math.max(size, Math.abs(step));
      }
      if (size < 1e-13) {
        break;
      }
    }
    double[] glm = {1.61876841761, -0.626272794768, -0.340836572227, -0.711428839243};
    assertClose(beta, glm, 0, 1e-8, "plain Newton against R's glm");
    assertClose(start, glm, 0, 1e-8, "Pirls.glmStart against R's glm");
  }

  private static double scoreInEta(double y, double eta) {
    double mu = NORMAL.cumulativeProbability(eta);
    return NORMAL.density(eta) * (y - mu) / (mu * (1 - mu));
  }

  /** PQL with the dispersion fixed at 1 (ML working model, as glmmPQL) against glmmPQL's fixed point. */
  @Test
  void pqlMatchesGlmmPql() {
    PqlGlmm.Fit f = PqlGlmm.fit(bacteria(), Family.BINOMIAL_PROBIT, null, null, MixedModelFitter.Method.ML, true, 1e-15);
    assertTrue(f.converged(), f.message());
    // fixef(p): 1.75756176233 -0.668502027188 -0.374289444044 -0.781150698659
    assertClose(f.beta(), new double[] {1.75756176233, -0.668502027188, -0.374289444044, -0.781150698659}, 0, 1e-5,
        "beta");
    // summary(p)$tTable[, "Std.Error"]: 0.276368993827 0.317420007557 0.323018571241 0.232639051226
    assertClose(f.betaSe(), new double[] {0.276368993827, 0.317420007557, 0.323018571241, 0.232639051226}, 0, 1e-5,
        "SE(beta)");
    // var ID: 0.28533864656
    assertClose(f.working().theta()[0], 0.28533864656, 0, 1e-4, "var ID");
  }
}
