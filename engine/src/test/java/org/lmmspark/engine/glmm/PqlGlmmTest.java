package org.lmmspark.engine.glmm;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.kinship.GrmKernel;
import org.lmmspark.engine.model.DataTable;
import org.lmmspark.engine.model.Formula;
import org.lmmspark.engine.model.MixedModel;
import org.lmmspark.engine.model.MixedModelFitter;
import org.lmmspark.engine.model.ModelFrame;
import org.lmmspark.engine.model.Relationship;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.testing.RefData;

/**
 * PQL against {@code MASS::glmmPQL} (MASS 7.3-58.2, nlme 3.1-162) on the reference cases' PQL rows:
 * glmmPQL fits its working model by ML and estimates a dispersion unless {@code lmeControl(sigma = 1)}.
 * The "fixed point" rows (E, G for bacteria; G, I for grouseticks) iterate glmmPQL's outer loop to
 * 1e-15 and are compared at EXPECTED.md's tolerances (1e-5 relative on β and SE, 1e-4 on variances and
 * dispersion); the default rows at glmmPQL's own stopping constant (1e-6) and the looser tolerance
 * EXPECTED.md gives for them (2e-3 bacteria, 5e-4 grouseticks), since where glmmPQL stops depends on
 * its iterates.
 */
class PqlGlmmTest {

  static MixedModel frame(String refCase, String file, String formula, Map<String, String> refLevels,
      Set<String> factors) {
    DataTable table = DataTable.read(RefData.dir(refCase).resolve(file).toString(), new Configuration());
    return ModelFrame.build(table, Formula.parse(formula),
        new ModelFrame.Options(refLevels, factors, null, null, Map.of()));
  }

  @Test
  void bacteriaMatchesGlmmPql() {
    MixedModel m = frame("mass-bacteria-binary", "bacteria.csv", "y ~ trt + week_gt2 + (1 | ID)",
        Map.of("trt", "placebo"), Set.of());
    // E. fixed point, dispersion estimated.
    PqlGlmm.Fit e = PqlGlmm.fit(m, Family.BINOMIAL_LOGIT, null, null, MixedModelFitter.Method.ML, false, 1e-15);
    assertTrue(e.converged(), e.message());
    assertClose(e.beta(), new double[] {3.4122688293, -1.24742605252, -0.754401733714, -1.60737495037}, 0,
        1e-5, "E beta");
    assertClose(e.betaSe(), new double[] {0.518662750644, 0.644280676513, 0.645603896833, 0.35840354217}, 0,
        1e-5, "E SE");
    assertClose(e.working().theta()[0], 1.99099156249, 0, 1e-4, "E var ID");
    assertClose(e.dispersion(), 0.608475456064, 0, 1e-4, "E dispersion");
    // G. fixed point, dispersion fixed at 1 (GMMAT/SAIGE's working model, here by ML as glmmPQL).
    PqlGlmm.Fit g = PqlGlmm.fit(m, Family.BINOMIAL_LOGIT, null, null, MixedModelFitter.Method.ML, true, 1e-15);
    assertClose(g.beta(), new double[] {2.98033064331, -1.13724473466, -0.641150605042, -1.3896361969}, 0,
        1e-5, "G beta");
    assertClose(g.betaSe(), new double[] {0.513709979336, 0.560745237669, 0.573824359065, 0.426238785144}, 0,
        1e-5, "G SE");
    assertClose(g.working().theta()[0], 0.885248254105, 0, 1e-4, "G var ID");
    // D. glmmPQL's defaults (stopping constant 1e-6).
    PqlGlmm.Fit d = PqlGlmm.fit(m, Family.BINOMIAL_LOGIT, null, null, MixedModelFitter.Method.ML, false,
        PqlGlmm.GLMMPQL_TOLERANCE);
    assertClose(d.beta(), new double[] {3.41201396711, -1.24735526157, -0.754327338619, -1.60725698012}, 0,
        2e-3, "D beta");
    assertClose(d.working().theta()[0], 1.98989628095, 0, 2e-3, "D var ID");
  }

  @Test
  void grouseticksMatchesGlmmPql() {
    MixedModel m = frame("lme4-grouseticks-count", "grouseticks.csv",
        "TICKS ~ YEAR + HEIGHT_SCALED + (1 | LOCATION) + (1 | BROOD)", Map.of(), Set.of("YEAR"));
    // G. fixed point, dispersion estimated.
    PqlGlmm.Fit g = PqlGlmm.fit(m, Family.POISSON_LOG, null, null, MixedModelFitter.Method.ML, false, 1e-15);
    assertTrue(g.converged(), g.message());
    assertClose(g.beta(), new double[] {0.727309000246, 1.01344064455, -0.984758268246, -0.778450735164}, 0,
        1e-5, "G beta");
    assertClose(g.betaSe(), new double[] {0.183476545132, 0.217606158509, 0.256955537049, 0.122149507884}, 0,
        1e-5, "G SE");
    assertClose(new double[] {g.working().theta()[0], g.working().theta()[1]}, new double[] {0.307345745606,
        0.39921903319}, 0, 1e-4, "G var LOCATION, BROOD");
    assertClose(g.dispersion(), 2.16549706303, 0, 1e-4, "G dispersion");
    // I. fixed point, dispersion fixed at 1.
    PqlGlmm.Fit i = PqlGlmm.fit(m, Family.POISSON_LOG, null, null, MixedModelFitter.Method.ML, true, 1e-15);
    assertClose(i.beta(), new double[] {0.580973427563, 1.10021794582, -0.941635066374, -0.802208315247}, 0,
        1e-5, "I beta");
    assertClose(new double[] {i.working().theta()[0], i.working().theta()[1]}, new double[] {0.319907228103,
        0.525594851261}, 0, 1e-4, "I var LOCATION, BROOD");
  }

  /**
   * Logistic GLMM with a GRM, {@code saige-family/GLMM.md} section 2: glmmPQL with the GRM as a single
   * {@code pdIdent} block and the dispersion fixed at 1, iterated to its fixed point, ML working model
   * (glmmPQL's own). The GRM here is the engine's own GCTA GRM of the same file (EXPECTED.md: identical in
   * definition to the float32 plink2 GRM the peer used; its 1e-4 on τ covers that rounding).
   *
   * <p>Not checked: the table's "REML" row (τ 0.3525, glmmPQL with nlme's REML and σ fixed). Standard
   * REML on the converged working model — ours, and the same REML written out densely with
   * {@code DenseRemlLikelihood} on the W^½-scaled problem — has its maximum at τ = 0.2805 (score 0 there,
   * −0.56 at 0.3525), so nlme's restricted likelihood with a fixed σ is not the textbook one. Confirmed on a
   * plain LMM by {@code scripts/nlme-fixed-sigma-reml.R} (nlme 3.1-162): with σ fixed at 1 nlme's ML maximum is the
   * textbook one (τ 0.6467811 both) but its REML maximum is not (0.7147 against 0.6989), and nlme's REML
   * objective minus the textbook one changes with τ (−132.861 at τ 0.2, −132.481 at 2.5): nlme's R code adds
   * {@code N log σ − exp(lRSS)/(2σ)} to its C value when σ is fixed; the C side is not readable here, so the
   * criterion is not reproduced (GMMAT and SAIGE fit textbook REML by AI on the working model).
   */
  /** saige-family's {@code y_binary ~ x1 + x2 + (1 | IID:G)}, G its GRM (GCTA's, computed here from the fileset). */
  private static MixedModel saigeFamilyBinary() {
    Configuration conf = new Configuration();
    String dir = RefData.dir("saige-family").toString();
    PlinkFileset fs = PlinkFileset.open(dir + "/plinkforGRM_1000samples_10kMarkers", conf);
    Grm grm = GrmKernel.computeLocal(fs, null, 0.0, 256, 500, conf);
    DataTable table = DataTable.read(dir + "/pheno_both.txt", conf);
    return ModelFrame.build(table, Formula.parse("y_binary ~ x1 + x2 + (1 | IID:G)"),
        new ModelFrame.Options(Map.of(), Set.of(), null, null, Map.of("G", Relationship.of("G", grm))));
  }

  @Test
  void saigeFamilyLogisticWithGrmMatchesGlmmPql() {
    MixedModel m = saigeFamilyBinary();
    PqlGlmm.Fit f = PqlGlmm.fit(m, Family.BINOMIAL_LOGIT, null, null, MixedModelFitter.Method.ML, true, 1e-15);
    assertTrue(f.converged(), f.message());
    assertClose(f.working().theta()[0], 0.265334233732, 0, 1e-4, "tau");
    assertClose(f.beta(), new double[] {-2.97707238202, 0.750424347756, 0.915836341187}, 0, 1e-5, "beta");
    assertClose(f.betaSe(), new double[] {0.207004039216, 0.116090167191, 0.239990747508}, 0, 1e-4, "SE(beta)");
  }
  /**
   * Probit PQL with a GRM on saige-family (1,000 samples, REML working model, dispersion 1): the plain outer
   * update cycles there (τ̂ alternating 0.149 and 0 for 200 iterations: at η = Xβ̂ the working REML has its
   * maximum at 0.149, at the η that τ̂ = 0.149 gives its profile falls from τ = 0), which the relaxed update
   * of {@link PqlGlmm#iterate} settles. Checked against the PQL fixed-point equations (glmmPQL's, with
   * REML) written out plainly here from the final η, with Φ and φ from commons-math rather than
   * {@link Family}: {@code w = φ(η)²/(μ(1 − μ))}, {@code z = η + (y − μ)/φ(η)}, {@code V = τK + W⁻¹};
   * β̂ the GLS estimate {@code (XᵀV⁻¹X)⁻¹XᵀV⁻¹z} (2e-5 and {@code η = Xβ̂ + τKPz} to 1e-4, absolute: the
   * fit's β̂ is the working fit at the η before the last update, which the outer tolerance 1e-10 on
   * Σ(Δη)²/Ση² lets differ from the final η by ~1e-5 relative), and the REML score {@code −½tr(PK) + ½zᵀPKPz = 0} at τ̂ (to 1e-4 of tr(PK)).
   */
  @Test
  void probitWithGrmSettlesOnThePqlFixedPoint() {
    MixedModel m = saigeFamilyBinary();
    PqlGlmm.Fit f = PqlGlmm.fit(m, Family.BINOMIAL_PROBIT, null, null, MixedModelFitter.Method.REML, true, 1e-10);
    assertTrue(f.converged(), f.message());
    int n = m.n();
    int p = m.p();
    double tau = f.working().theta()[0];
    org.lmmspark.engine.model.RandomEffectTerm term = m.terms().get(0);
    double[] k = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        k[i + j * n] = term.relationship().k().get(term.relIndex()[term.level()[i]], term.relIndex()[term.level()[j]]);
      }
    }
    org.apache.commons.math3.distribution.NormalDistribution normal =
        new org.apache.commons.math3.distribution.NormalDistribution(null, 0, 1);
    double[] eta = f.eta();
    double[] y = m.y();
    double[] z = new double[n];
    double[] v = new double[n * n];
    for (int i = 0; i < n; i++) {
      double mu = normal.cumulativeProbability(eta[i]);
      double d = normal.density(eta[i]);
      z[i] = eta[i] + (y[i] - mu) / d;
      for (int j = 0; j < n; j++) {
        v[i + j * n] = tau * k[i + j * n];
      }
      v[i + i * n] += mu * (1 - mu) / (d * d);
    }
    assertTrue(Blas.dpotrfLower(n, v));
    Blas.dpotriLowerFull(n, v); // V⁻¹
    double[] x = m.x();
    double[] vx = new double[n * p];
    Blas.dgemm(false, false, n, p, n, 1.0, v, n, x, n, 0.0, vx, n);
    double[] c = new double[p * p];
    Blas.dgemm(true, false, p, p, n, 1.0, x, n, vx, n, 0.0, c, p);
    assertTrue(Blas.dpotrfLower(p, c));
    Blas.dpotriLowerFull(p, c); // (XᵀV⁻¹X)⁻¹
    // P = V⁻¹ − V⁻¹X C V⁻¹Xᵀ
    double[] t = new double[n * p];
    Blas.dgemm(false, false, n, p, p, 1.0, vx, n, c, p, 0.0, t, n);
    double[] proj = v.clone();
    Blas.dgemm(false, true, n, n, p, -1.0, t, n, vx, n, 1.0, proj, n);
    double[] xtvz = new double[p];
    Blas.dgemv(true, n, p, 1.0, vx, z, 0.0, xtvz);
    double[] beta = new double[p];
    Blas.dgemv(false, p, p, 1.0, c, xtvz, 0.0, beta);
    assertClose(f.beta(), beta, 2e-5, 0, "beta: GLS on the working model");
    double[] pz = new double[n];
    Blas.dgemv(false, n, n, 1.0, proj, z, 0.0, pz);
    double[] kpz = new double[n];
    Blas.dgemv(false, n, n, 1.0, k, pz, 0.0, kpz);
    double[] fitted = new double[n];
    Blas.dgemv(false, n, p, 1.0, x, beta, 0.0, fitted);
    for (int i = 0; i < n; i++) {
      fitted[i] += tau * kpz[i];
    }
    assertClose(eta, fitted, 1e-4, 0, "eta = X beta + tau K P z");
    double[] pk = new double[n * n];
    Blas.dgemm(false, false, n, n, n, 1.0, proj, n, k, n, 0.0, pk, n);
    double trPk = 0;
    for (int i = 0; i < n; i++) {
      trPk += pk[i + i * n];
    }
    double quad = 0;
    for (int i = 0; i < n; i++) {
      quad += pz[i] * kpz[i];
    }
    double score = -0.5 * trPk + 0.5 * quad;
    System.out.printf(java.util.Locale.ROOT, "probit PQL: tau %.6f, beta %s, %d outer iterations; REML score %.2e "
        + "(tr(PK) %.3f)%n", tau, java.util.Arrays.toString(f.beta()), f.outerIterations(), score, trPk);
    assertTrue(tau > 0, "tau " + tau);
    assertClose(score, 0, 1e-4 * trPk, 0, "REML score in tau at the fixed point");
  }
}
