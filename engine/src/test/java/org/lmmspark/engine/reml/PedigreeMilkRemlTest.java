package org.lmmspark.engine.reml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.BufferedReader;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.pedigree.Pedigree;
import org.lmmspark.engine.pheno.SampleTable;
import org.lmmspark.engine.model.MmeLikelihood;
import org.lmmspark.engine.model.SparseModels;
import org.lmmspark.engine.testing.RefData;

/**
 * Repeated-record animal model on ../shared/refdata/pedigreemm-milk (3,397 lactations of 1,359 cows,
 * 57 herds, 6,547-animal pedigree) against pedigreemm 0.3-5 / lme4 1.1-31 (EXPECTED.md,
 * peer_output.txt):
 * <pre>
 *   milk$sdMilk &lt;- milk$milk / sd(milk$milk)          # sd = 4472.22435638118
 *   pedigreemm(sdMilk ~ lact + log(dim) + (1|id) + (1|herd), data = milk, pedigree = list(id = pedCowsR))
 * </pre>
 * The phenotype table is written the way a user would: one line per lactation, {@code FID IID sdMilk
 * lact logdim herd}, read with repeated records; the herd is a per-record group from that file, lact
 * and log(dim) per-record quantitative covariates, A from the pedigree restricted to the cows with
 * records (their ancestors taken into account).
 */
class PedigreeMilkRemlTest {
  static final double SD_MILK = 4472.22435638118;
  static Path dir;
  static SampleTable pheno;
  static NumeratorRelationship nr;

  @BeforeAll
  static void load() throws Exception {
    dir = RefData.dir("pedigreemm-milk");
    List<String> lines = Files.readAllLines(dir.resolve("milk.csv"));
    String[] h = lines.get(0).split(",");
    assertEquals(List.of("id", "lact", "herd", "sire", "dim", "milk"), List.of(h).subList(0, 6));
    StringBuilder sb = new StringBuilder("FID IID sdMilk lact logdim herd\n");
    for (String l : lines.subList(1, lines.size())) {
      String[] f = l.split(",");
      // FID "cow" on purpose: the pedigree has no family column, so matching must use the IID.
      sb.append("cow ").append(f[0]).append(' ')
          .append(String.format(Locale.ROOT, "%.17g", Double.parseDouble(f[5]) / SD_MILK)).append(' ')
          .append(f[1]).append(' ')
          .append(String.format(Locale.ROOT, "%.17g", Math.log(Double.parseDouble(f[4])))).append(' ')
          .append(f[2]).append('\n');
    }
    pheno = SampleTable.parse("milk.txt", new BufferedReader(new StringReader(sb.toString())), true);
    Pedigree ped = Pedigree.read(dir.resolve("pedCowsR.csv").toString(), new Configuration());
    assertEquals(6547, ped.size());
    nr = NumeratorRelationship.of(ped);
  }

  static RemlInputs.Relationship relationship() {
    // A held as the pedigree: the dense route forms it over the 1,359 cows with records (their
    // ancestors taken into account), the sparse route reads A⁻¹ over all 6,547 animals.
    return RemlInputs.Relationship.ofPedigree("A", "pedCowsR.csv", nr, pheno.ids());
  }

  static RemlInputs.Assembled assemble() {
    return RemlInputs.assemble(new RemlInputs.Spec(List.of(relationship()), false, pheno, "sdMilk", null, null,
        List.of("herd"), List.of(), List.of("lact", "logdim"), true, false));
  }

  /** The sparse mixed-model-equation route: A⁻¹ over all 6,547 animals, herd as identity. */
  static MmeLikelihood sparse(RemlInputs.Assembled in) {
    SparseModels.Conversion conv = SparseModels.of(List.of(relationship()), in);
    assertTrue(conv.model() != null, conv.reason());
    return new MmeLikelihood(conv.model());
  }

  /**
   * The same fit through the mixed-model equations: the same pedigreemm values, in a fraction of the
   * dense route's time (printed: the numerics of the fit, the symbolic analysis included).
   */
  @Test
  void sparseRouteMatchesPedigreemm() {
    RemlInputs.Assembled in = assemble();
    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
    long t0 = System.nanoTime();
    long c0 = mx.getCurrentThreadCpuTime();
    MmeLikelihood mme = sparse(in);
    RemlFit fit = new AiReml("sparse-mme", p -> mme, AiReml.DEFAULT_EM_STEPS, AiReml.DEFAULT_MAX_ITERATIONS)
        .fit(in.problem());
    System.out.printf(Locale.ROOT, "pedigreemm-milk sparse MME AI-REML: %d iterations, %.3f s wall, %.3f s CPU (setup "
        + "and JIT warm-up included), %s, theta %s%n", fit.iterations(), (System.nanoTime() - t0) / 1e9,
        (mx.getCurrentThreadCpuTime() - c0) / 1e9, mme.sparsity(), java.util.Arrays.toString(fit.theta()));
    long c1 = mx.getCurrentThreadCpuTime();
    int evaluations = 5;
    for (int e = 0; e < evaluations; e++) {
      mme.evaluate(fit.theta());
    }
    System.out.printf(Locale.ROOT, "pedigreemm-milk sparse MME: %.1f ms CPU per evaluation (factor, selected inverse, "
        + "score, AI) once warm%n", (mx.getCurrentThreadCpuTime() - c1) / 1e6 / evaluations);
    assertTrue(fit.converged(), fit.message());
    assertEquals(3 + 6547 + 57, mme.unknowns());
    checkAgainstPedigreemm(in.problem(), fit);
    // At pedigreemm's own estimates its REML criterion, with R's constants, is 8384.79417589724
    // (peer_output.txt, REMLcrit): no optimizer between the two numbers, so 1e-6 absolute.
    MmeLikelihood.LogLikelihoods at = mme.logLikelihoods(new double[] {0.278034516689764, 0.207845075453283,
        0.483251209827614});
    assertClose(-2 * at.remlWithConstants(), 8384.79417589724, 1e-6, 0, "REMLcrit at pedigreemm's theta");
  }

  /**
   * With σ²_e known at pedigreemm's estimate the other two, estimated, are pedigreemm's too: the REML
   * maximum restricted to that slice is the joint maximum (1e-4 relative, as above).
   */
  @Test
  void residualKnownOthersEstimated() {
    RemlInputs.Assembled in = assemble();
    MmeLikelihood mme = sparse(in);
    RemlFit fit = new KnownVariances("sparse-mme", p -> mme, new double[] {Double.NaN, Double.NaN, 0.483251209827614},
        AiReml.DEFAULT_EM_STEPS, AiReml.DEFAULT_MAX_ITERATIONS).fit(in.problem());
    assertTrue(fit.converged(), fit.message());
    assertEquals(0.0, fit.se(2));
    assertTrue(fit.se(0) > 0);
    assertClose(fit.theta()[0], 0.278034516689764, 0, 1e-4, "sigma2_a");
    assertClose(fit.theta()[1], 0.207845075453283, 0, 1e-4, "sigma2_herd");
    assertEquals(0.483251209827614, fit.theta()[2]);
  }

  @Test
  void animalModelWithHerdMatchesPedigreemm() {
    RemlInputs.Assembled in = assemble();
    RemlProblem prob = in.problem();
    assertEquals(3397, prob.n());
    assertEquals(1359, in.individuals().size());
    assertEquals(1359, relationship().ids().size());
    assertEquals(List.of("intercept", "lact", "logdim"), prob.fixedNames());
    assertTrue(prob.components().get(0).covariance() instanceof IncidenceOperator io
        && io.individuals() instanceof PedigreeRelationshipOperator);
    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
    long t0 = System.nanoTime();
    long c0 = mx.getCurrentThreadCpuTime();
    RemlFit fit = new AiReml().fit(prob);
    double seconds = (System.nanoTime() - t0) / 1e9;
    double cpu = (mx.getCurrentThreadCpuTime() - c0) / 1e9;
    System.out.printf(Locale.ROOT, "pedigreemm-milk dense AI-REML: %d iterations, %.1f s wall, %.1f s CPU, theta %s%n",
        fit.iterations(), seconds, cpu, java.util.Arrays.toString(fit.theta()));
    assertTrue(fit.converged(), fit.message());
    checkAgainstPedigreemm(prob, fit);
  }

  static void checkAgainstPedigreemm(RemlProblem prob, RemlFit fit) {
    assertEquals(List.of("A", "herd"), fit.componentNames());
    // pedigreemm/lme4 VarCorr (peer_output.txt): id 0.278034516689764, herd 0.207845075453283,
    // Residual 0.483251209827614; EXPECTED.md tolerance 1e-4 relative.
    assertClose(fit.theta()[0], 0.278034516689764, 0, 1e-4, "sigma2_a");
    assertClose(fit.theta()[1], 0.207845075453283, 0, 1e-4, "sigma2_herd");
    assertClose(fit.theta()[2], 0.483251209827614, 0, 1e-4, "sigma2_e");
    // fixef(): (Intercept) 1.703707182007455, lact -0.107789643136720, log(dim) 0.735944821159649;
    // SEs printed 0.26854080960, 0.01232313053, 0.04379541319. Both are GLS at the REML estimates, so
    // they inherit the 1e-4 of the variances (β moves far less: 1e-5 relative checked).
    assertClose(fit.beta(), new double[] {1.703707182007455, -0.107789643136720, 0.735944821159649}, 0, 1e-5, "beta");
    double[] se = {fit.betaSe(0), fit.betaSe(1), fit.betaSe(2)};
    assertClose(se, new double[] {0.26854080960, 0.01232313053, 0.04379541319}, 0, 1e-4, "se(beta)");
    // REMLcrit 8384.79417589724 is lme4's −2 logL_REML with all constants:
    // (n−p) log 2π + log|V| + log|XᵀV⁻¹X| + yᵀPy; ours (GCTA's) omits the (n−p) log 2π term.
    double remlCrit = -2 * fit.logL() + (prob.n() - prob.p()) * Math.log(2 * Math.PI);
    assertClose(remlCrit, 8384.79417589724, 1e-3, 0, "REML criterion");
    // h2 = va/(va+vh+ve) = 0.286890599415889.
    double h2 = fit.theta()[0] / (fit.theta()[0] + fit.theta()[1] + fit.theta()[2]);
    System.out.printf(Locale.ROOT, "beta %s se %s REMLcrit %.6f h2 %.9f%n", java.util.Arrays.toString(fit.beta()),
        java.util.Arrays.toString(se), remlCrit, h2);
    assertClose(h2, 0.286890599415889, 0, 1e-4, "h2");
  }
}
