package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.linalg.SparseCholesky;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.pedigree.Pedigree;
import org.lmmspark.engine.reml.AiReml;
import org.lmmspark.engine.reml.DenseRemlLikelihood;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.GroupingOperator;
import org.lmmspark.engine.reml.IncidenceOperator;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlLikelihood;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.VarianceComponent;

/**
 * The mixed-model-equation likelihood equals the definition computed densely: at random θ on small
 * random models (a grouping factor, correlated random intercepts and slopes on a second factor, an
 * animal effect through a pedigree's A⁻¹ with animals without records and repeated records,
 * heteroscedastic weighted residuals), logL, score and AI of REML and of ML, β and Cov(β) equal those of
 * {@code V = Σ_k θ_k V_k} built as n×n matrices and inverted in this test. Tolerance 1e-8 relative:
 * both are direct factorizations of well-conditioned matrices of order ≤ 100.
 */
class MmeLikelihoodTest {

  /** A random pedigree of {@code size} animals, the first 5 founders, later animals with parents drawn from earlier ones. */
  static Pedigree pedigree(int size, SplittableRandom rng) {
    StringBuilder sb = new StringBuilder("id sire dam\n");
    for (int i = 0; i < size; i++) {
      String sire = "0";
      String dam = "0";
      if (i >= 5) {
        if (rng.nextDouble() < 0.85) {
          sire = "a" + 2 * rng.nextInt(i / 2 + (i % 2));
        }
        if (rng.nextDouble() < 0.85) {
          dam = "a" + (2 * rng.nextInt(i / 2) + 1);
        }
      }
      sb.append('a').append(i).append(' ').append(sire).append(' ').append(dam).append('\n');
    }
    return Pedigree.parse("random.ped", new StringReader(sb.toString()));
  }

  /** A model and the same model as dense V_k (one per parameter, residual groups last). */
  record Case(MixedModel model, List<double[]> vk) {}

  static Case randomCase(long seed, boolean slopes, boolean heteroscedastic) {
    SplittableRandom rng = new SplittableRandom(seed);
    int n = 70;
    int p = 2;
    double[] x = new double[n * p];
    double[] y = new double[n];
    double[] cov = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      x[n + i] = rng.nextGaussian();
      cov[i] = rng.nextGaussian();
      y[i] = 1 + 0.5 * x[n + i] + rng.nextGaussian() * 1.3;
    }
    List<RandomEffectTerm> terms = new ArrayList<>();
    List<double[]> vk = new ArrayList<>();
    // Grouping factor: 7 levels, identity K.
    int[] g1 = new int[n];
    for (int i = 0; i < n; i++) {
      g1[i] = rng.nextInt(7);
      y[i] += 0.8 * (g1[i] - 3);
    }
    terms.add(RandomEffectTerm.intercept("g1", "intercept", g1, names("h", 7), null, null));
    vk.add(zkz(g1, g1, null, null, null, 7, n));
    if (slopes) {
      int[] g2 = new int[n];
      for (int i = 0; i < n; i++) {
        g2[i] = rng.nextInt(5);
        y[i] += 0.3 * g2[i] * cov[i];
      }
      double[] one = filled(n, 1);
      terms.add(new RandomEffectTerm("g2", List.of("intercept", "z"), new double[][] {one, cov}, g2, names("s", 5),
          new int[5], null, null, true));
      vk.add(zkz(g2, g2, one, one, null, 5, n));
      double[] v10 = zkz(g2, g2, cov, one, null, 5, n);
      double[] v01 = zkz(g2, g2, one, cov, null, 5, n);
      for (int e = 0; e < v10.length; e++) {
        v10[e] += v01[e];
      }
      vk.add(v10);
      vk.add(zkz(g2, g2, cov, cov, null, 5, n));
    }
    // Animal effect: 30 animals, records on 22 of them (some repeated), the rest ancestors without records;
    // the first 8 records have no animal effect (a zero in Z).
    Pedigree ped = pedigree(30, rng);
    NumeratorRelationship nr = NumeratorRelationship.of(ped);
    int m = ped.size();
    int[] animal = new int[n];
    double[] za = new double[n];
    for (int i = 0; i < n; i++) {
      animal[i] = i < 8 ? -1 : 8 + rng.nextInt(m - 8);
      za[i] = i < 8 ? 0 : 1;
    }
    terms.add(animalTerm(ped, nr, animal, za));
    vk.add(zkz(animal, animal, null, null, nr.dense(), m, n));
    int groups = heteroscedastic ? 2 : 1;
    int[] rg = new int[n];
    double[] w = heteroscedastic ? new double[n] : null;
    for (int i = 0; i < n; i++) {
      rg[i] = heteroscedastic ? rng.nextInt(2) : 0;
      if (heteroscedastic) {
        w[i] = 0.5 + rng.nextDouble();
      }
    }
    for (int g = 0; g < groups; g++) {
      double[] v = new double[n * n];
      for (int i = 0; i < n; i++) {
        if (rg[i] == g) {
          v[i + i * n] = 1 / (w == null ? 1 : w[i]);
        }
      }
      vk.add(v);
    }
    MixedModel model = MixedModel.of("test", "y", y, x, List.of("intercept", "x"), terms, heteroscedastic ? "e" : null,
        heteroscedastic ? List.of("e:0", "e:1") : null, heteroscedastic ? rg : null, w);
    return new Case(model, vk);
  }

  /**
   * An animal term over every animal of the pedigree (levels = animals, relationship rows the same),
   * {@code animal[i] = −1} meaning no effect on record i ({@code z = 0} there).
   */
  static RandomEffectTerm animalTerm(Pedigree ped, NumeratorRelationship nr, int[] animal, double[] z) {
    int m = ped.size();
    List<String> ids = ped.ids().stream().map(s -> s.iid()).toList();
    int[] level = new int[animal.length];
    for (int i = 0; i < animal.length; i++) {
      level[i] = Math.max(animal[i], 0);
    }
    int[] rows = new int[m];
    for (int k = 0; k < m; k++) {
      rows[k] = k;
    }
    return new RandomEffectTerm("A", List.of("intercept"), new double[][] {z}, level, ids, new int[m], rows,
        Relationship.ofPedigree("A", nr), true);
  }

  static MixedModel homoscedastic(MixedModel like, List<RandomEffectTerm> terms) {
    return MixedModel.of("test", "y", like.y(), like.x(), like.fixedNames(), terms, null, null, null, null);
  }

  /** {@code Z_a K Z_bᵀ} with {@code (Z_a)_{i,level[i]} = ca[i]}; K null = identity; level −1 = no effect. */
  static double[] zkz(int[] la, int[] lb, double[] ca, double[] cb, double[] k, int m, int n) {
    double[] v = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        if (la[i] < 0 || lb[j] < 0) {
          continue;
        }
        double kk = k == null ? (la[i] == lb[j] ? 1 : 0) : k[la[i] + lb[j] * m];
        v[i + j * n] = (ca == null ? 1 : ca[i]) * kk * (cb == null ? 1 : cb[j]);
      }
    }
    return v;
  }

  static List<String> names(String prefix, int k) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < k; i++) {
      out.add(prefix + i);
    }
    return out;
  }

  static double[] filled(int n, double v) {
    double[] a = new double[n];
    java.util.Arrays.fill(a, v);
    return a;
  }

  /** The definition: V, V⁻¹, P, and from them logL (REML, ML), score, AI, β, Cov(β). */
  record Dense(double reml, double ml, double[] score, double[] ai, double[] beta, double[] covBeta, double[] mlScore,
      double[] mlAi) {}

  static Dense dense(Case c, double[] theta) {
    MixedModel mm = c.model();
    int n = mm.n();
    int p = mm.p();
    int k = theta.length;
    double[] v = new double[n * n];
    for (int j = 0; j < k; j++) {
      for (int e = 0; e < n * n; e++) {
        v[e] += theta[j] * c.vk().get(j)[e];
      }
    }
    double[] vinv = v.clone();
    assertTrue(Blas.dpotrfLower(n, vinv));
    double logDetV = 0;
    for (int i = 0; i < n; i++) {
      logDetV += 2 * Math.log(vinv[i + i * n]);
    }
    Blas.dpotriLowerFull(n, vinv);
    double[] x = mm.x();
    double[] vx = new double[n * p];
    Blas.dgemm(false, false, n, p, n, 1, vinv, n, x, n, 0, vx, n);
    double[] xvx = new double[p * p];
    Blas.dgemm(true, false, p, p, n, 1, x, n, vx, n, 0, xvx, p);
    double[] l = xvx.clone();
    assertTrue(Blas.dpotrfLower(p, l));
    double logDetXvx = 0;
    for (int i = 0; i < p; i++) {
      logDetXvx += 2 * Math.log(l[i + i * p]);
    }
    double[] covBeta = l.clone();
    Blas.dpotriLowerFull(p, covBeta);
    double[] pm = vinv.clone();
    double[] t = new double[n * p];
    Blas.dgemm(false, false, n, p, p, 1, vx, n, covBeta, p, 0, t, n);
    Blas.dgemm(false, true, n, n, p, -1, t, n, vx, n, 1, pm, n);
    double[] beta = new double[p];
    Blas.dgemv(true, n, p, 1, t, mm.y(), 0, beta);
    double[] py = new double[n];
    Blas.dgemv(false, n, n, 1, pm, mm.y(), 0, py);
    double yPy = 0;
    for (int i = 0; i < n; i++) {
      yPy += mm.y()[i] * py[i];
    }
    double[] score = new double[k];
    double[] mlScore = new double[k];
    double[][] u = new double[k][n];
    for (int j = 0; j < k; j++) {
      double[] vj = c.vk().get(j);
      Blas.dgemv(false, n, n, 1, vj, py, 0, u[j]);
      double tr = 0;
      double trV = 0;
      for (int e = 0; e < n * n; e++) {
        tr += pm[e] * vj[e];
        trV += vinv[e] * vj[e];
      }
      double q = 0;
      for (int i = 0; i < n; i++) {
        q += py[i] * u[j][i];
      }
      score[j] = -0.5 * (tr - q);
      mlScore[j] = -0.5 * (trV - q); // ML: −½(tr(V⁻¹V_k) − yᵀPV_kPy)
    }
    double[] ai = new double[k * k];
    double[] mlAi = new double[k * k];
    for (int a = 0; a < k; a++) {
      double[] pu = new double[n];
      double[] vu = new double[n];
      Blas.dgemv(false, n, n, 1, pm, u[a], 0, pu);
      Blas.dgemv(false, n, n, 1, vinv, u[a], 0, vu);
      for (int b = 0; b < k; b++) {
        double s = 0;
        double sv = 0;
        for (int i = 0; i < n; i++) {
          s += u[b][i] * pu[i];
          sv += u[b][i] * vu[i];
        }
        ai[b + a * k] = 0.5 * s;
        mlAi[b + a * k] = 0.5 * sv; // ½ (V_kPy)ᵀ V⁻¹ (V_lPy)
      }
    }
    return new Dense(-0.5 * (logDetV + logDetXvx + yPy), -0.5 * (logDetV + yPy), score, ai, beta, covBeta, mlScore,
        mlAi);
  }

  static double[] randomTheta(MixedModel mm, SplittableRandom rng) {
    double[] theta = new double[mm.parameters()];
    int k = 0;
    for (RandomEffectTerm t : mm.terms()) {
      int d = t.dimension();
      double[] sd = new double[d];
      for (int a = 0; a < d; a++) {
        sd[a] = Math.sqrt(0.2 + rng.nextDouble());
      }
      for (int a = 0; a < d; a++) {
        for (int b = 0; b <= a; b++) {
          theta[k++] = a == b ? sd[a] * sd[a] : (rng.nextDouble() - 0.5) * sd[a] * sd[b];
        }
      }
    }
    while (k < theta.length) {
      theta[k++] = 0.5 + rng.nextDouble();
    }
    return theta;
  }

  @Test
  void equalsTheDenseDefinitionAtRandomTheta() {
    int cases = 0;
    for (long seed = 1; seed <= 3; seed++) {
      for (boolean slopes : new boolean[] {false, true}) {
        for (boolean het : new boolean[] {false, true}) {
          Case c = randomCase(seed, slopes, het);
          MmeLikelihood mme = new MmeLikelihood(c.model());
          MmeLikelihood ml = new MmeLikelihood(c.model(), MmeLikelihood.Criterion.ML);
          SplittableRandom rng = new SplittableRandom(seed * 31 + (slopes ? 7 : 0) + (het ? 3 : 0));
          for (int rep = 0; rep < 2; rep++) {
            double[] theta = randomTheta(c.model(), rng);
            Dense d = dense(c, theta);
            RemlLikelihood.Evaluation ev = mme.evaluate(theta);
            String what = "seed " + seed + " slopes " + slopes + " het " + het + " rep " + rep;
            assertTrue(ev.ok(), what);
            assertClose(ev.logL(), d.reml(), 0, 1e-8, what + " REML logL");
            assertClose(mme.logLikelihoods(theta).ml(), d.ml(), 0, 1e-8, what + " ML logL");
            assertClose(ev.score(), d.score(), 1e-8 * norm(d.score()), 1e-8, what + " score");
            assertClose(ev.ai(), d.ai(), 1e-8 * norm(d.ai()), 1e-8, what + " AI");
            assertClose(ev.beta(), d.beta(), 1e-10, 1e-8, what + " beta");
            assertClose(ev.betaCovariance(), d.covBeta(), 1e-12, 1e-8, what + " Cov(beta)");
            RemlLikelihood.Evaluation evMl = ml.evaluate(theta);
            assertClose(evMl.logL(), d.ml(), 0, 1e-8, what + " ML logL");
            assertClose(evMl.score(), d.mlScore(), 1e-8 * norm(d.mlScore()), 1e-8, what + " ML score");
            assertClose(evMl.ai(), d.mlAi(), 1e-8 * norm(d.mlAi()), 1e-8, what + " ML AI");
            cases++;
          }
        }
      }
    }
    assertEquals(24, cases);
  }

  /**
   * The existing dense route ({@link DenseRemlLikelihood} over a grouping operator and Z A Zᵀ) gives the
   * same evaluation as the MME on a homoscedastic intercept-only model: the two routes of {@code reml}.
   */
  @Test
  void equalsDenseRemlLikelihood() {
    Case c = randomCase(11, false, false);
    MixedModel mm = c.model();
    RandomEffectTerm g1 = mm.terms().get(0);
    RandomEffectTerm a = mm.terms().get(1);
    // The dense route has every record on an animal: give the 8 records without one their own animal here.
    int[] animal = a.level().clone();
    for (int i = 0; i < animal.length; i++) {
      if (a.z()[0][i] == 0) {
        animal[i] = i % 5; // founders
      }
    }
    MixedModel full = homoscedastic(mm, List.of(g1, RandomEffectTerm.intercept("A", "intercept", animal,
        a.levelNames(), a.relIndex(), a.relationship())));
    String[] labels = new String[mm.n()];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = g1.levelNames().get(g1.level()[i]);
    }
    // A densely by the tabular method (independent of the equations' A⁻¹ by Henderson's rules).
    double[] ad = a.relationship().k().toDense();
    RemlProblem prob = new RemlProblem(mm.y(), mm.x(), mm.fixedNames(), List.of(
        new VarianceComponent("g1", new GroupingOperator(labels)),
        new VarianceComponent("A", new IncidenceOperator(new DenseSymmetricMatrix(a.levelCount(), ad), animal))));
    DenseRemlLikelihood dense = new DenseRemlLikelihood(prob);
    MmeLikelihood mme = new MmeLikelihood(full);
    for (double[] theta : new double[][] {{0.4, 0.9, 1.1}, {1.5, 0.2, 0.6}, {0.0, 0.7, 1.0}}) {
      RemlLikelihood.Evaluation e1 = dense.evaluate(theta);
      RemlLikelihood.Evaluation e2 = mme.evaluate(theta);
      String what = java.util.Arrays.toString(theta);
      assertClose(e2.logL(), e1.logL(), 0, 1e-8, what + " logL");
      assertClose(e2.beta(), e1.beta(), 1e-10, 1e-8, what + " beta");
      assertClose(e2.py(), e1.py(), 1e-10, 1e-8, what + " Py");
      if (theta[0] > 0) {
        assertClose(e2.score(), e1.score(), 1e-8 * norm(e1.score()), 1e-8, what + " score");
        assertClose(e2.ai(), e1.ai(), 1e-8 * norm(e1.ai()), 1e-8, what + " AI");
      } else {
        // On the boundary the derivatives are taken at δ = 1e-6 σ²_e above it: O(δ) away.
        assertClose(e2.score(), e1.score(), 1e-4 * norm(e1.score()), 0, what + " score at the boundary");
      }
    }
  }

  static double norm(double[] v) {
    double s = 0;
    for (double e : v) {
      s = Math.max(s, Math.abs(e));
    }
    return s;
  }

  @Test
  void selectedInverseEqualsTheDenseInverseOnThePattern() {
    SplittableRandom rng = new SplittableRandom(5);
    int n = 40;
    double[] a = new double[n * n];
    for (int i = 0; i < n; i++) {
      a[i + i * n] = n;
      for (int j = 0; j < i; j++) {
        if (rng.nextDouble() < 0.1) {
          double v = rng.nextGaussian();
          a[i + j * n] = v;
          a[j + i * n] = v;
        }
      }
    }
    List<Integer> starts = new ArrayList<>();
    List<Integer> rows = new ArrayList<>();
    List<Double> vals = new ArrayList<>();
    for (int j = 0; j < n; j++) {
      starts.add(rows.size());
      for (int i = 0; i <= j; i++) {
        if (a[i + j * n] != 0) {
          rows.add(i);
          vals.add(a[i + j * n]);
        }
      }
    }
    starts.add(rows.size());
    int[] colStart = starts.stream().mapToInt(Integer::intValue).toArray();
    int[] rowIndex = rows.stream().mapToInt(Integer::intValue).toArray();
    // AMD's order (null), and a given one: a random permutation (fill where it falls, same values).
    int[] shuffled = new int[n];
    for (int i = 0; i < n; i++) {
      shuffled[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = shuffled[i];
      shuffled[i] = shuffled[j];
      shuffled[j] = t;
    }
    for (int[] order : new int[][] {null, shuffled}) {
      String how = order == null ? "AMD: " : "given order: ";
      SparseCholesky chol = new SparseCholesky(n, colStart, rowIndex, order);
      for (int e = 0; e < vals.size(); e++) {
        chol.values()[e] = vals.get(e);
      }
      assertTrue(chol.factor());
      double[] inv = a.clone();
      assertTrue(Blas.dpotrfLower(n, inv));
      double logDet = 0;
      for (int i = 0; i < n; i++) {
        logDet += 2 * Math.log(inv[i + i * n]);
      }
      Blas.dpotriLowerFull(n, inv);
      assertClose(chol.logDeterminant(), logDet, 0, 1e-12, how + "log|C|");
      SparseCholesky.SelectedInverse z = chol.selectedInverse();
      for (int j = 0; j < n; j++) {
        for (int i = 0; i <= j; i++) {
          if (a[i + j * n] != 0) {
            assertClose(z.get(i, j), inv[i + j * n], 1e-14, 1e-10, how + "C^-1 (" + i + ", " + j + ")");
          }
        }
      }
      double[] b = new double[n];
      for (int i = 0; i < n; i++) {
        b[i] = rng.nextGaussian();
      }
      double[] xs = b.clone();
      chol.solve(xs);
      double[] expected = new double[n];
      Blas.dgemv(false, n, n, 1, inv, b, 0, expected);
      assertClose(xs, expected, 1e-14, 1e-10, how + "C^-1 b");
      // Not positive definite: a value returned, not an exception.
      chol.values()[0] = -1;
      assertFalse(chol.factor());
    }
    int[] notAPermutation = shuffled.clone();
    notAPermutation[0] = notAPermutation[1];
    assertThrows(IllegalStateException.class, () -> new SparseCholesky(n, colStart, rowIndex, notAPermutation));
  }
  /**
   * A grouping factor with no effect in the data: AI-REML over the MME drives its variance to the
   * boundary 0 as the dense route does (the relative-factor form keeps C positive definite there), and
   * the two fits agree: logL to 1e-8 relative, θ to 1e-5 absolute (iterative fits stopping at
   * |Δℓ| < 1e-8 on a flat ridge).
   */
  @Test
  void boundaryFitEqualsTheDenseFit() {
    SplittableRandom rng = new SplittableRandom(3);
    int n = 120;
    double[] x = new double[n];
    double[] y = new double[n];
    int[] g = new int[n];
    String[] labels = new String[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      g[i] = rng.nextInt(12);
      labels[i] = "g" + g[i];
      y[i] = rng.nextGaussian(); // no group effect
    }
    GroupingOperator op = new GroupingOperator(labels);
    RemlProblem prob = new RemlProblem(y, x, List.of("intercept"), List.of(new VarianceComponent("g", op)));
    RandomEffectTerm term = RandomEffectTerm.intercept("g", "intercept", op.levelOfSample(), op.levels(), null, null);
    MmeLikelihood mme = new MmeLikelihood(MixedModel.of("test", "y", y, x, List.of("intercept"), List.of(term), null,
        null, null, null));
    RemlFit sparse = new AiReml("sparse-mme", p -> mme, AiReml.DEFAULT_EM_STEPS, 200).fit(prob);
    RemlFit dense = new AiReml().fit(prob);
    assertTrue(dense.boundary()[0], "the data were chosen to put V(g) on the boundary: " + dense.message());
    assertTrue(sparse.converged(), sparse.message());
    assertTrue(sparse.boundary()[0], sparse.message());
    assertClose(sparse.logL(), dense.logL(), 0, 1e-8, "logL");
    assertClose(sparse.theta(), dense.theta(), 1e-5, 0, "theta");
  }
}
