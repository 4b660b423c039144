package org.lmmspark.engine.reml;

import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.kinship.GrmKernel;
import org.lmmspark.engine.pheno.SampleTable;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.RefData;

/**
 * One-GRM REML on ../shared/refdata/regenie-example against GEMMA 0.98.5 ({@code -lmm 1} with
 * {@code -k} = the GCTA GRM, EXPECTED.md §2). The GRM is the one this engine computes from
 * example.bed ({@link GrmKernel}); that it equals PLINK 1.9's GCTA GRM, the matrix GEMMA was given,
 * to 1e-5 per entry is checked here too and entry by entry in {@code RegenieGrmTest}.
 *
 * <p>Compared: vg, ve (1e-3 relative; 2e-3 absolute in the boundary case, where GEMMA stops at its
 * λ floor 1e-5 and we at λ = 0), β and se(β) (GEMMA prints 6 significant digits: 1e-3 relative),
 * GEMMA's pve = vg·tr(K)/n / (vg·tr(K)/n + ve) with its SE (delta method on the observed
 * information, GEMMA's definition; 1e-3 relative) and the log-likelihood after converting constants:
 * GEMMA's REML logL is ours (GCTA's, no 2π) − ½(n−p)log 2π + ½ log|XᵀX|, to 2e-3 absolute (printed
 * to 3 decimals).
 */
class RegenieExampleRemlTest {
  static Path dir;
  static Grm grm;
  static SampleTable pheno;
  static SampleTable covars;

  @BeforeAll
  static void load() {
    dir = RefData.dir("regenie-example");
    Configuration conf = new Configuration();
    PlinkFileset genotypes = PlinkFileset.open(dir.resolve("example").toString(), conf);
    grm = GrmKernel.computeLocal(BedFixture.source(genotypes.prefix()), null, 0.0, 4096, 1024, conf);
    Grm plink = GctaGrmFiles.read(dir.resolve("expected/gcta_grm").toString(), conf);
    float[] ours = grm.packedValues();
    float[] theirs = plink.packedValues();
    for (int i = 0; i < ours.length; i++) {
      assertClose(ours[i], theirs[i], 1e-5, 0, "GRM entry " + i);
    }
    pheno = SampleTable.read(dir.resolve("phenotype.txt").toString(), conf);
    covars = SampleTable.read(dir.resolve("covariates.txt").toString(), conf);
  }

  static RemlInputs.Assembled assemble(String trait, boolean withCovariates) {
    return RemlInputs.assemble(new RemlInputs.Spec(
        List.of(new RemlInputs.Relationship("G", "example.bed", grm, true)), false, pheno, trait, null,
        withCovariates ? covars : null, List.of()));
  }

  record Gemma(double logL, double pve, double sePve, double vg, double ve, double[] beta, double[] seBeta) {}

  void check(String trait, boolean cov, Gemma g, boolean boundary) {
    RemlInputs.Assembled a = assemble(trait, cov);
    RemlProblem prob = a.problem();
    for (RemlSolver solver : List.of(new SpectralReml(), new AiReml())) {
      RemlFit fit = solver.fit(prob);
      String what = trait + (cov ? " with V1 V2 V3, " : ", ") + solver.name();
      org.junit.jupiter.api.Assertions.assertTrue(fit.converged(), what + ": " + fit.message());
      double vg = fit.theta()[0];
      double ve = fit.theta()[1];
      double tr = prob.components().get(0).covariance().trace() / prob.n();
      double pve = vg * tr / (vg * tr + ve);
      VarianceSummary s = new VarianceSummary(fit, prob.nullLogL(null), prob.n());
      // pve = tr·h/(tr·h + 1 − h) with h = vg/Vp, so dpve/dh = tr/(tr·h + 1 − h)².
      double h = vg / (vg + ve);
      double sePve = s.observedRatioSe(0) * tr / Math.pow(tr * h + 1 - h, 2);
      double gemmaLogL = fit.logL() - 0.5 * (prob.n() - prob.p()) * Math.log(2 * Math.PI) + 0.5 * logDetXtX(prob);
      System.out.printf("%s: vg=%.7g ve=%.7g pve=%.7g se(pve)=%.7g logL(GEMMA scale)=%.4f beta=%s%n", what, vg, ve, pve,
          sePve, gemmaLogL, java.util.Arrays.toString(fit.beta()));
      org.junit.jupiter.api.Assertions.assertEquals(boundary, fit.boundary()[0], what + ": boundary flag");
      if (boundary) {
        assertClose(vg, g.vg(), 2e-3, 0, what + " vg");
        assertClose(ve, g.ve(), 2e-3, 0, what + " ve");
        assertClose(pve, g.pve(), 2e-3, 0, what + " pve");
        // GEMMA evaluates its SE at λ = 1e-5, we at λ = 0, where the score is not 0: absolute 2e-3.
        assertClose(sePve, g.sePve(), 2e-3, 0, what + " se(pve)");
      } else {
        assertClose(vg, g.vg(), 0, 1e-3, what + " vg");
        assertClose(ve, g.ve(), 0, 1e-3, what + " ve");
        assertClose(pve, g.pve(), 0, 1e-3, what + " pve");
        assertClose(sePve, g.sePve(), 0, 1e-3, what + " se(pve)");
      }
      assertClose(gemmaLogL, g.logL(), 2e-3, 0, what + " logL");
      for (int j = 0; j < g.beta().length; j++) {
        assertClose(fit.beta()[j], g.beta()[j], 0, 1e-3, what + " beta " + prob.fixedNames().get(j));
        assertClose(fit.betaSe(j), g.seBeta()[j], 0, 1e-3, what + " se(beta) " + prob.fixedNames().get(j));
      }
    }
  }

  static double logDetXtX(RemlProblem prob) {
    int p = prob.p();
    double[] xtx = new double[p * p];
    org.lmmspark.engine.linalg.Blas.dgemm(true, false, p, p, prob.n(), 1, prob.x(), prob.n(), prob.x(), prob.n(), 0, xtx, p);
    org.lmmspark.engine.linalg.Blas.dpotrfLower(p, xtx);
    double d = 0;
    for (int i = 0; i < p; i++) {
      d += 2 * Math.log(xtx[i + i * p]);
    }
    return d;
  }

  @Test
  void y1NoCovariates() {
    // EXPECTED.md §2: gemma -lmm 1 -k (gcta_grm as text), trait Y1, no covariates.
    check("Y1", false, new Gemma(-707.455, 0.0782203, 0.0968957, 0.0782445, 0.92082, new double[] {0.0125336},
        new double[] {0.0429143}), false);
  }

  @Test
  void y2NoCovariates() {
    // EXPECTED.md §2: gemma -lmm 1, trait Y2, no covariates.
    check("Y2", false, new Gemma(-724.561, 0.189569, 0.0932748, 0.204489, 0.87304, new double[] {-0.00626126},
        new double[] {0.0417861}), false);
  }

  @Test
  void y1CovariatesOnBoundary() {
    // EXPECTED.md §2: gemma -lmm 1 -c (1 V1 V2 V3), trait Y1: σ²_g on the boundary (GEMMA stops at λ = 1e-5).
    check("Y1", true, new Gemma(-438.424, 1e-5, 0.0909106, 3.4e-06, 0.342992,
        new double[] {0.032457, 0.455227, 0.458217, 0.48486},
        new double[] {0.0262054, 0.0248496, 0.0264364, 0.027618}), true);
  }

  @Test
  void y2Covariates() {
    // EXPECTED.md §2: gemma -lmm 1 -c (1 V1 V2 V3), trait Y2.
    check("Y2", true, new Gemma(-462.164, 0.0736834, 0.0971837, 0.0278827, 0.350056,
        new double[] {0.0142872, 0.440301, 0.518448, 0.480106},
        new double[] {0.026475, 0.0260534, 0.0277518, 0.0289916}), false);
  }
}
