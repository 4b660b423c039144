package org.lmmspark.engine.model;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.ToDoubleFunction;
import org.apache.commons.math3.analysis.MultivariateFunction;
import org.apache.commons.math3.optim.InitialGuess;
import org.apache.commons.math3.optim.MaxEval;
import org.apache.commons.math3.optim.PointValuePair;
import org.apache.commons.math3.optim.nonlinear.scalar.GoalType;
import org.apache.commons.math3.optim.nonlinear.scalar.ObjectiveFunction;
import org.apache.commons.math3.optim.nonlinear.scalar.noderiv.NelderMeadSimplex;
import org.apache.commons.math3.optim.nonlinear.scalar.noderiv.SimplexOptimizer;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.model.MixedModelFitter.Method;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;

/**
 * Relationship terms against the definition written plainly: a reaction norm on a genomic relationship
 * ({@code (1 + E | id:G)}, {@code cov = K ⊗ Σ}) and GCTA's GxE ({@code (1 | id:G) + (1 | env:id:G)},
 * {@code K∘(Z_E Z_Eᵀ)}). Here V is built entry by entry from the model's definition, the REML
 * log-likelihood {@code −½(log|V| + log|XᵀV⁻¹X| + yᵀPy)} by a hand-written Cholesky, and maximized
 * by Nelder–Mead (commons-math) over an unconstrained parameterization; the AI-REML fit must reach
 * the same maximum (logL to 1e-6, θ to 2e-3 relative: the simplex stops on a flat surface).
 */
class RelationshipTermsBruteForceTest {
  static final int IDS = 30;

  /** A data set: 30 related individuals, 2 environments (E = −1, +1; env a/b), 3 records each per environment. */
  record Sim(DataTable table, Relationship rel, double[] y, double[] e, int[] id, int[] env) {}

  static Sim simulate(long seed) {
    Random rnd = new Random(seed);
    int m = 60;
    double[][] g = new double[IDS][m];
    for (int i = 0; i < IDS; i++) {
      for (int k = 0; k < m; k++) {
        g[i][k] = rnd.nextGaussian() + (i % 3 == 0 ? 0.8 : 0);
      }
    }
    double[] k = new double[IDS * IDS];
    for (int i = 0; i < IDS; i++) {
      for (int j = 0; j < IDS; j++) {
        double s = 0;
        for (int c = 0; c < m; c++) {
          s += g[i][c] * g[j][c];
        }
        k[i + j * IDS] = s / m + (i == j ? 0.05 : 0);
      }
    }
    // u = L_K (a, b) with Σ = [[1, .4], [.4, .5]] through a plain Cholesky of K.
    double[] lk = cholesky(k, IDS);
    double[] a = new double[IDS];
    double[] b = new double[IDS];
    double[] za = new double[IDS];
    double[] zb = new double[IDS];
    for (int i = 0; i < IDS; i++) {
      za[i] = rnd.nextGaussian();
      zb[i] = 0.4 * za[i] + Math.sqrt(0.5 - 0.16) * rnd.nextGaussian();
    }
    for (int i = 0; i < IDS; i++) {
      for (int j = 0; j <= i; j++) {
        a[i] += lk[i + j * IDS] * za[j];
        b[i] += lk[i + j * IDS] * zb[j];
      }
    }
    List<String[]> rows = new ArrayList<>();
    List<Double> ys = new ArrayList<>();
    int n = IDS * 2 * 3;
    double[] y = new double[n];
    double[] e = new double[n];
    int[] id = new int[n];
    int[] env = new int[n];
    int r = 0;
    for (int i = 0; i < IDS; i++) {
      for (int en = 0; en < 2; en++) {
        for (int rep = 0; rep < 3; rep++) {
          double ev = en == 0 ? -1 : 1;
          y[r] = 2 + 0.5 * ev + a[i] + b[i] * ev + rnd.nextGaussian();
          e[r] = ev;
          id[r] = i;
          env[r] = en;
          rows.add(new String[] {"i" + i, en == 0 ? "a" : "b", Double.toString(ev), Double.toString(y[r])});
          ys.add(y[r]);
          r++;
        }
      }
    }
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < IDS; i++) {
      ids.add("i" + i);
    }
    DataTable t = DataTable.of("sim", List.of("id", "env", "E", "y"), rows);
    return new Sim(t, new Relationship("G", ids, new DenseSymmetricMatrix(IDS, k)), y, e, id, env);
  }

  /** Plain lower Cholesky (column-major), NaN diagonal when not PD. */
  static double[] cholesky(double[] a, int n) {
    double[] l = new double[n * n];
    for (int j = 0; j < n; j++) {
      double d = a[j + j * n];
      for (int k = 0; k < j; k++) {
        d -= l[j + k * n] * l[j + k * n];
      }
      if (!(d > 0)) {
        l[j + j * n] = Double.NaN;
        return l;
      }
      l[j + j * n] = Math.sqrt(d);
      for (int i = j + 1; i < n; i++) {
        double s = a[i + j * n];
        for (int k = 0; k < j; k++) {
          s -= l[i + k * n] * l[j + k * n];
        }
        l[i + j * n] = s / l[j + j * n];
      }
    }
    return l;
  }

  /** Solves L Lᵀ x = b in place. */
  static void solve(double[] l, int n, double[] b) {
    for (int i = 0; i < n; i++) {
      double s = b[i];
      for (int k = 0; k < i; k++) {
        s -= l[i + k * n] * b[k];
      }
      b[i] = s / l[i + i * n];
    }
    for (int i = n - 1; i >= 0; i--) {
      double s = b[i];
      for (int k = i + 1; k < n; k++) {
        s -= l[k + i * n] * b[k];
      }
      b[i] = s / l[i + i * n];
    }
  }

  /** REML logL (GCTA constants) of y with X = [1, E] and the given V, by the textbook formulas. */
  static double remlLogL(double[] v, double[] y, double[] e) {
    int n = y.length;
    double[] l = cholesky(v, n);
    if (Double.isNaN(l[(n - 1) * (n + 1)]) || hasNaN(l, n)) {
      return Double.NEGATIVE_INFINITY;
    }
    double logDetV = 0;
    for (int i = 0; i < n; i++) {
      logDetV += 2 * Math.log(l[i + i * n]);
    }
    double[][] x = new double[2][n];
    for (int i = 0; i < n; i++) {
      x[0][i] = 1;
      x[1][i] = e[i];
    }
    double[][] vx = new double[2][];
    for (int c = 0; c < 2; c++) {
      vx[c] = x[c].clone();
      solve(l, n, vx[c]);
    }
    double[] vy = y.clone();
    solve(l, n, vy);
    double c00 = dot(x[0], vx[0]);
    double c01 = dot(x[0], vx[1]);
    double c11 = dot(x[1], vx[1]);
    double det = c00 * c11 - c01 * c01;
    double xy0 = dot(x[0], vy);
    double xy1 = dot(x[1], vy);
    double b0 = (c11 * xy0 - c01 * xy1) / det;
    double b1 = (c00 * xy1 - c01 * xy0) / det;
    double yPy = dot(y, vy) - b0 * xy0 - b1 * xy1;
    return -0.5 * (logDetV + Math.log(det) + yPy);
  }

  static boolean hasNaN(double[] l, int n) {
    for (int i = 0; i < n; i++) {
      if (Double.isNaN(l[i + i * n])) {
        return true;
      }
    }
    return false;
  }

  static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  static double[] maximize(ToDoubleFunction<double[]> logL, double[] start) {
    SimplexOptimizer opt = new SimplexOptimizer(1e-13, 1e-13);
    MultivariateFunction f = logL::applyAsDouble;
    PointValuePair best = null;
    double[] x = start;
    for (int restart = 0; restart < 4; restart++) {
      best = opt.optimize(new MaxEval(40_000), new ObjectiveFunction(f), GoalType.MAXIMIZE, new InitialGuess(x),
          new NelderMeadSimplex(x.length, 0.1));
      x = best.getPoint();
    }
    return x;
  }

  @Test
  void reactionNormOnAGrmEqualsBruteForce() {
    Sim s = simulate(11);
    int n = s.y().length;
    double[] k = s.rel().k().toDense();
    // φ = (log L11, L21, log L22, log σ²_e): Σ = L Lᵀ.
    ToDoubleFunction<double[]> logL = phi -> {
      double l11 = Math.exp(phi[0]);
      double l21 = phi[1];
      double l22 = Math.exp(phi[2]);
      double s11 = l11 * l11;
      double s21 = l21 * l11;
      double s22 = l21 * l21 + l22 * l22;
      double[] v = new double[n * n];
      for (int r = 0; r < n; r++) {
        for (int c = 0; c < n; c++) {
          double kk = k[s.id()[r] + s.id()[c] * IDS];
          v[r + c * n] = kk * (s11 + s21 * (s.e()[r] + s.e()[c]) + s22 * s.e()[r] * s.e()[c])
              + (r == c ? Math.exp(phi[3]) : 0);
        }
      }
      return remlLogL(v, s.y(), s.e());
    };
    double[] phi = maximize(logL, new double[] {0, 0, 0, 0});
    double l11 = Math.exp(phi[0]);
    double[] bf = {l11 * l11, phi[1] * l11, phi[1] * phi[1] + Math.exp(2 * phi[2]), Math.exp(phi[3])};
    double bfLogL = logL.applyAsDouble(phi);

    MixedModel model = ModelFrame.build(s.table(), Formula.parse("y ~ E + (1 + E | id:G)"),
        new ModelFrame.Options(Map.of(), Set.of(), null, null, Map.of("G", s.rel())));
    MixedModelFit f = MixedModelFitter.fit(model, Method.REML, Map.of(), 200);
    System.out.println("reaction norm on G: brute force " + java.util.Arrays.toString(bf) + " logL " + bfLogL
        + "; AI-REML " + java.util.Arrays.toString(f.theta()) + " logL " + f.logL() + "; " + f.message());
    assertTrue(f.converged(), f.message());
    assertTrue(f.route().contains("dense over 1 independent block of V"), "a GRM links every record: " + f.route());
    assertClose(f.logL(), bfLogL, 1e-6, 0, "REML logL");
    assertTrue(f.logL() >= bfLogL - 1e-9, "AI-REML below the brute-force maximum");
    assertClose(f.theta(), bf, 0, 2e-3, "θ (Σ11, Σ21, Σ22, σ²e)");
  }

  @Test
  void gctaGxeEqualsBruteForce() {
    Sim s = simulate(12);
    int n = s.y().length;
    double[] k = s.rel().k().toDense();
    // V = σ²_g K + σ²_gxe K∘(same env) + σ²_e I, φ = log of each.
    ToDoubleFunction<double[]> logL = phi -> {
      double[] v = new double[n * n];
      for (int r = 0; r < n; r++) {
        for (int c = 0; c < n; c++) {
          double kk = k[s.id()[r] + s.id()[c] * IDS];
          v[r + c * n] = Math.exp(phi[0]) * kk + (s.env()[r] == s.env()[c] ? Math.exp(phi[1]) * kk : 0)
              + (r == c ? Math.exp(phi[2]) : 0);
        }
      }
      return remlLogL(v, s.y(), s.e());
    };
    double[] phi = maximize(logL, new double[] {0, -1, 0});
    double[] bf = {Math.exp(phi[0]), Math.exp(phi[1]), Math.exp(phi[2])};
    double bfLogL = logL.applyAsDouble(phi);
    MixedModel model = ModelFrame.build(s.table(), Formula.parse("y ~ E + (1 | id:G) + (1 | env:id:G)"),
        new ModelFrame.Options(Map.of(), Set.of(), null, null, Map.of("G", s.rel())));
    MixedModelFit f = MixedModelFitter.fit(model, Method.REML, Map.of(), 200);
    System.out.println("GxE: brute force " + java.util.Arrays.toString(bf) + " logL " + bfLogL + "; AI-REML "
        + java.util.Arrays.toString(f.theta()) + " logL " + f.logL());
    assertTrue(f.converged(), f.message());
    assertClose(f.logL(), bfLogL, 1e-6, 0, "REML logL");
    assertClose(f.theta(), bf, 0, 2e-3, "θ (σ²_g, σ²_gxe, σ²_e)");
  }

  @Test
  void weightsAndResidualGroupsEqualBruteForce() {
    // V = σ²_id Z Zᵀ + diag(σ²_env(r) / w_r): lme4 weights within nlme varIdent groups.
    Sim s = simulate(13);
    int n = s.y().length;
    Random rnd = new Random(5);
    double[] w = new double[n];
    List<String[]> rows = new ArrayList<>();
    for (int r = 0; r < n; r++) {
      w[r] = 0.5 + 1.5 * rnd.nextDouble();
      rows.add(new String[] {"i" + s.id()[r], s.env()[r] == 0 ? "a" : "b", Double.toString(s.e()[r]),
          Double.toString(s.y()[r]), Double.toString(w[r])});
    }
    DataTable t = DataTable.of("sim", List.of("id", "env", "E", "y", "w"), rows);
    ToDoubleFunction<double[]> logL = phi -> {
      double[] v = new double[n * n];
      for (int r = 0; r < n; r++) {
        for (int c = 0; c < n; c++) {
          v[r + c * n] = (s.id()[r] == s.id()[c] ? Math.exp(phi[0]) : 0)
              + (r == c ? Math.exp(phi[1 + s.env()[r]]) / w[r] : 0);
        }
      }
      return remlLogL(v, s.y(), s.e());
    };
    double[] phi = maximize(logL, new double[] {0, 0, 0});
    double[] bf = {Math.exp(phi[0]), Math.exp(phi[1]), Math.exp(phi[2])};
    double bfLogL = logL.applyAsDouble(phi);
    MixedModel model = ModelFrame.build(t, Formula.parse("y ~ E + (1 | id)"),
        new ModelFrame.Options(Map.of(), Set.of(), "env", "w", Map.of()));
    for (MixedModelFitter.Solver solver : MixedModelFitter.Solver.values()) {
      MixedModelFit f = MixedModelFitter.fit(model, Method.REML, Map.of(), 200, solver);
      System.out.println("weights + varIdent, " + solver + ": brute force " + java.util.Arrays.toString(bf) + " logL "
          + bfLogL + "; AI-REML " + java.util.Arrays.toString(f.theta()) + " logL " + f.logL() + "; " + f.route());
      assertTrue(f.converged(), f.message());
      assertTrue(f.route().contains(solver == MixedModelFitter.Solver.DENSE ? "dense over " + IDS + " independent"
          : "sparse mixed-model equations"), f.route());
      assertClose(f.logL(), bfLogL, 1e-6, 0, "REML logL");
      assertClose(f.theta(), bf, 0, 2e-3, "θ (σ²_id, σ²_a, σ²_b)");
    }
  }
}
