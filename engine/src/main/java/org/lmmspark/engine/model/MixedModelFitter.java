package org.lmmspark.engine.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.reml.AiReml;
import org.lmmspark.engine.reml.BlockedDenseLikelihood;
import org.lmmspark.engine.reml.ParameterSpace;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.SmallMatrices;

/**
 * Fits a {@link MixedModel} by REML or ML: the likelihood of {@link BlockedDenseLikelihood} over the
 * model's independent blocks, maximized by {@link AiReml#maximize} in the model's
 * {@link ParameterSpace} (Cholesky blocks for correlated terms), then the quantities users compare
 * models by: the log-likelihood with GCTA's and with R's constants, marginal AIC/BIC, the
 * conditional AIC ({@link ConditionalAic}), BLUPs of every level.
 *
 * <p>This is lme4's {@code lmer()} split as lme4 splits it: {@link ModelFrame} ({@code lFormula}),
 * the likelihood ({@code mkLmerDevfun}), the optimizer ({@code optimizeLmer}), this class
 * ({@code mkMerMod}). Cost: see {@link BlockedDenseLikelihood}; a few thousand records in a few
 * hundred groups take well under a second; one relationship matrix over n individuals is the dense
 * {@code n³} route.
 */
public final class MixedModelFitter {
  /** Residual variance floor relative to the OLS residual variance (V must stay invertible). */
  static final double RESIDUAL_FLOOR = 1e-8;
  public static final int DEFAULT_MAX_ITERATIONS = 200;

  public enum Method { REML, ML }

  private MixedModelFitter() {}

  /**
   * Fits the model.
   *
   * @param fixed parameters held at given values ({@code --fix NAME=VALUE}), by parameter name
   */
  public static MixedModelFit fit(MixedModel model, Method method, Map<String, Double> fixed, int maxIterations) {
    int m = model.parameters();
    List<String> names = model.parameterNames();
    boolean[] fixedMask = new boolean[m];
    double s2 = olsResidualVariance(model);
    double[] start = model.start(s2);
    Map<String, Double> unknown = new LinkedHashMap<>(fixed);
    for (int j = 0; j < m; j++) {
      Double v = unknown.remove(names.get(j));
      if (v != null) {
        fixedMask[j] = true;
        start[j] = v;
      }
    }
    if (!unknown.isEmpty()) {
      throw new BadInputException("--fix " + String.join(", ", unknown.keySet()) + ": no such parameter (the model's "
          + "parameters: " + String.join(", ", names) + ")");
    }
    ParameterSpace space = model.space(fixedMask, RESIDUAL_FLOOR * s2);
    checkFixedBlocks(space, fixedMask, names);
    for (int j = 0; j < m; j++) {
      if (fixedMask[j] && space.kind(j) != ParameterSpace.Kind.COVARIANCE && start[j] < 0) {
        throw new BadInputException("--fix " + names.get(j) + "=" + start[j] + ": a variance cannot be negative");
      }
    }
    int[][] blocks = model.blocks();
    checkMemory(blocks, m);
    BlockedDenseLikelihood lik = new BlockedDenseLikelihood(model.y(), model.x(), model.p(), blocks, model,
        method == Method.REML);
    AiReml optimizer = new AiReml(method == Method.REML ? "ai-reml" : "ai-ml", null, AiReml.DEFAULT_EM_STEPS,
        maxIterations);
    AiReml.Optimum opt = optimizer.maximize(lik, space, start);
    return summarize(model, method, lik, space, opt, fixedMask);
  }

  /**
   * The dense route holds, per independent block of V, a matrix per parameter and a few work
   * matrices: refused up front, with the reason, when that cannot fit in the heap (crossed factors
   * over many records, or a relationship matrix, make one large block).
   */
  static void checkMemory(int[][] blocks, int parameters) {
    long entries = 0;
    int largest = 0;
    for (int[] b : blocks) {
      entries += (long) b.length * b.length;
      largest = Math.max(largest, b.length);
    }
    long bytes = 8L * (parameters + 4) * entries;
    long heap = Runtime.getRuntime().maxMemory();
    if (bytes > heap) {
      throw new BadInputException(String.format(java.util.Locale.ROOT, "V falls into %d independent blocks, the "
          + "largest of %d records (records sharing a level of any term, or related through a relationship matrix, "
          + "are one block); the dense route needs about %.1f GB for them and the heap is %.1f GB: give more memory "
          + "(LMMSPARK_DRIVER_MEMORY) or fit this model by the sparse mixed-model equations", blocks.length, largest,
          bytes / 1e9, heap / 1e9));
    }
  }

  /** All entries of a correlated term's Σ fixed, or none: a partly fixed Cholesky block has no box form. */
  private static void checkFixedBlocks(ParameterSpace space, boolean[] fixed, List<String> names) {
    for (int[] block : space.blocks()) {
      int count = 0;
      for (int k : block) {
        count += fixed[k] ? 1 : 0;
      }
      if (count > 0 && count < block.length) {
        List<String> all = new ArrayList<>();
        for (int k : block) {
          all.add(names.get(k));
        }
        throw new BadInputException("--fix: fix every entry of a correlated term's covariance (" + String.join(", ", all)
            + ") or none of them; to fix a single variance, split the term with || ");
      }
    }
  }

  /** The OLS residual variance RSS/(n − p), the scale of the starting values (as GCTA and AiReml start). */
  static double olsResidualVariance(MixedModel model) {
    double[] s2 = new double[1];
    new RemlProblem(model.y(), model.x(), model.fixedNames(), List.of()).nullLogL(s2);
    return s2[0];
  }

  private static MixedModelFit summarize(MixedModel model, Method method, BlockedDenseLikelihood lik,
      ParameterSpace space, AiReml.Optimum opt, boolean[] fixedMask) {
    int m = model.parameters();
    int n = model.n();
    int p = model.p();
    double[] theta = opt.theta();
    var ev = opt.evaluation();
    // Sampling covariance of θ̂ over the estimated parameters: AI⁻¹ restricted to them.
    int[] est = indices(fixedMask, false);
    double[] se = new double[m];
    java.util.Arrays.fill(se, Double.NaN);
    double[] inv = SmallMatrices.invertSpd(SmallMatrices.select(ev.ai(), m, est), est.length);
    double[] thetaCovariance = null;
    if (inv != null) {
      thetaCovariance = new double[m * m];
      for (int i = 0; i < est.length; i++) {
        se[est[i]] = Math.sqrt(inv[i + i * est.length]);
        for (int j = 0; j < est.length; j++) {
          thetaCovariance[est[i] + est[j] * m] = inv[i + j * est.length];
        }
      }
    }
    double[] beta = ev.beta();
    double[] betaSe = new double[p];
    double[] tValue = new double[p];
    double[] pValue = new double[p];
    NormalDistribution normal = new NormalDistribution(null, 0, 1);
    for (int k = 0; k < p; k++) {
      betaSe[k] = Math.sqrt(ev.betaCovariance()[k + k * p]);
      tValue[k] = beta[k] / betaSe[k];
      pValue[k] = 2 * normal.cumulativeProbability(-Math.abs(tValue[k]));
    }
    double logLikR = lik.fullLogL(theta);
    int df = p + est.length;
    double aic = -2 * logLikR + 2 * df;
    double bic = -2 * logLikR + Math.log(n) * df;
    double bicNlme = method == Method.REML ? -2 * logLikR + Math.log(n - p) * df : bic;
    BlockedDenseLikelihood.State st = lik.state(theta);
    ConditionalAic caic = ConditionalAic.compute(model, lik, st, theta, fixedMask, opt.boundary());
    List<String> singular = new ArrayList<>();
    List<Integer> correlatedTerms = new ArrayList<>();
    for (int t = 0; t < model.terms().size(); t++) {
      if (model.terms().get(t).dimension() > 1) {
        correlatedTerms.add(t);
      }
    }
    for (int b : opt.singularBlocks()) {
      singular.add(model.terms().get(correlatedTerms.get(b)).group());
    }
    List<String> atZero = new ArrayList<>();
    for (int j = 0; j < m; j++) {
      if (opt.boundary()[j] && space.kind(j) != ParameterSpace.Kind.COVARIANCE && theta[j] <= 0) {
        atZero.add(model.parameterNames().get(j));
      }
    }
    return new MixedModelFit(model.formula(), model.response(), method, n, p, model.parameterNames(), theta, se,
        fixedMask, opt.boundary(), singular, atZero, model.fixedNames(), beta, betaSe, tValue, pValue,
        ev.betaCovariance(), ev.logL(), logLikR, df, aic, bic, bicNlme, caic, blups(model, st, theta),
        opt.iterations(), opt.converged(), opt.message(), model.notes(), lik.blockCount(), lik.largestBlock(),
        termLevels(model), thetaCovariance);
  }

  private static Map<String, Integer> termLevels(MixedModel model) {
    Map<String, Integer> out = new LinkedHashMap<>();
    for (RandomEffectTerm t : model.terms()) {
      out.putIfAbsent(t.group(), t.levelCount());
    }
    return out;
  }

  static int[] indices(boolean[] mask, boolean value) {
    int c = 0;
    int[] idx = new int[mask.length];
    for (int i = 0; i < mask.length; i++) {
      if (mask[i] == value) {
        idx[c++] = i;
      }
    }
    return java.util.Arrays.copyOf(idx, c);
  }

  /**
   * {@code PEV_a(l) = Var(u_a(l) − û_a(l)) = Σ_aa K_ll − c_alᵀ P c_al} with {@code c_al = Cov(y, u_a(l))
   * = Σ_b Σ_ab Z_b K e_l} (Henderson 1975: the diagonal of {@code G − G Zᵀ P Z G}); {@code c_al} is
   * non-zero on the records of the levels related to l only, so each costs its blocks.
   */
  static double[][] predictionErrorVariances(RandomEffectTerm term, BlockedDenseLikelihood.State st,
      Map<Long, Double> sigma, boolean allIds, int nl) {
    int d = term.dimension();
    int n = term.level().length;
    double[][] pev = new double[d][nl];
    // Records of each level of the term.
    List<List<Integer>> recordsOf = new ArrayList<>();
    for (int l = 0; l < term.levelCount(); l++) {
      recordsOf.add(new ArrayList<>());
    }
    for (int r = 0; r < n; r++) {
      recordsOf.get(term.level()[r]).add(r);
    }
    for (int l = 0; l < nl; l++) {
      // K between this level (or relationship id) and each level of the data.
      List<Integer> rows = new ArrayList<>();
      List<Double> kOf = new ArrayList<>();
      double kll;
      if (term.relationship() == null) {
        rows.addAll(recordsOf.get(l));
        rows.forEach(r -> kOf.add(1.0));
        kll = 1;
      } else {
        int id = allIds ? l : term.relIndex()[l];
        kll = term.relationship().get(id, id);
        for (int l2 = 0; l2 < term.levelCount(); l2++) {
          double k = allIds ? term.relationship().get(id, term.relIndex()[l2]) : term.relationship(l, l2);
          if (k != 0) {
            for (int r : recordsOf.get(l2)) {
              rows.add(r);
              kOf.add(k);
            }
          }
        }
      }
      int[] idx = rows.stream().mapToInt(Integer::intValue).toArray();
      for (int a = 0; a < d; a++) {
        double[] c = new double[idx.length];
        for (int i = 0; i < idx.length; i++) {
          double v = 0;
          for (int b = 0; b < d; b++) {
            v += sigma.get((long) a * d + b) * term.z()[b][idx[i]];
          }
          c[i] = v * kOf.get(i);
        }
        pev[a][l] = sigma.get((long) a * d + a) * kll - st.quadraticP(idx, c);
      }
    }
    return pev;
  }

  /**
   * BLUPs (conditional modes) of every level of every term:
   * {@code û_a(l) = Σ_b Σ_ab Σ_l' K_ll' Σ_{r ∈ l'} z_b(r) (Py)_r}, i.e. {@code (K ⊗ Σ) Zᵀ P y}. A term
   * whose levels are the ids of a relationship matrix (no crossed factor) gets a BLUP for every id
   * of the matrix, those without records included (ancestors in a pedigree: Henderson's
   * {@code û_anc = A_anc,rec A_rec⁻¹ û_rec} follows from the same product).
   */
  static List<MixedModelFit.TermBlups> blups(MixedModel model, BlockedDenseLikelihood.State st, double[] theta) {
    double[] py = st.py();
    List<MixedModelFit.TermBlups> out = new ArrayList<>();
    int j0 = 0;
    for (int t = 0; t < model.terms().size(); t++) {
      RandomEffectTerm term = model.terms().get(t);
      int d = term.dimension();
      int nl = term.levelCount();
      double[][] s = new double[d][nl];
      for (int b = 0; b < d; b++) {
        for (int r = 0; r < py.length; r++) {
          s[b][term.level()[r]] += term.z()[b][r] * py[r];
        }
      }
      List<String> levelNames = term.levelNames();
      boolean allIds = term.relationship() != null && java.util.Arrays.stream(term.cross()).allMatch(c -> c == 0);
      if (allIds) {
        int nk = term.relationship().size();
        for (int b = 0; b < d; b++) {
          double[] ks = new double[nk];
          for (int i = 0; i < nk; i++) {
            double v = 0;
            for (int l2 = 0; l2 < nl; l2++) {
              v += term.relationship().get(i, term.relIndex()[l2]) * s[b][l2];
            }
            ks[i] = v;
          }
          s[b] = ks;
        }
        nl = nk;
        levelNames = term.relationshipIds();
      } else if (term.relationship() != null) {
        for (int b = 0; b < d; b++) {
          double[] ks = new double[nl];
          for (int l = 0; l < nl; l++) {
            double v = 0;
            for (int l2 = 0; l2 < nl; l2++) {
              v += term.relationship(l, l2) * s[b][l2];
            }
            ks[l] = v;
          }
          s[b] = ks;
        }
      }
      double[][] u = new double[d][nl];
      Map<Long, Double> sigma = new HashMap<>();
      int j = j0;
      for (int b = 0; b < d; b++) {
        for (int a = b; a < d; a++) {
          sigma.put((long) a * d + b, theta[j]);
          sigma.put((long) b * d + a, theta[j]);
          j++;
        }
      }
      for (int a = 0; a < d; a++) {
        for (int b = 0; b < d; b++) {
          double sab = sigma.get((long) a * d + b);
          for (int l = 0; l < nl; l++) {
            u[a][l] += sab * s[b][l];
          }
        }
      }
      j0 = j;
      out.add(new MixedModelFit.TermBlups(term.group(), term.effects(), levelNames, u,
          predictionErrorVariances(term, st, sigma, allIds, levelNames.size())));
    }
    return out;
  }
}
