package org.lmmspark.engine.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.reml.AiReml;
import org.lmmspark.engine.reml.BlockedDenseLikelihood;
import org.lmmspark.engine.reml.ParameterSpace;
import org.lmmspark.engine.reml.RemlLikelihood;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.SmallMatrices;
import org.lmmspark.engine.stats.Normal;

/**
 * Fits a {@link MixedModel} by REML or ML: a likelihood maximized by {@link AiReml#maximize} in the
 * model's {@link ParameterSpace} (Cholesky blocks for correlated terms), then the quantities users
 * compare models by: the log-likelihood with GCTA's and with R's constants, marginal AIC/BIC, the
 * conditional AIC ({@link ConditionalAic}), BLUPs of every level with their prediction error variances.
 *
 * <p>This is lme4's {@code lmer()} split as lme4 splits it: {@link ModelFrame} ({@code lFormula}),
 * the likelihood ({@code mkLmerDevfun}), the optimizer ({@code optimizeLmer}), this class
 * ({@code mkMerMod}). One switch, {@link #route}, picks the likelihood:
 * <ul>
 *   <li><b>sparse</b> ({@link MmeLikelihood}): when every random term is a grouping factor, slopes on
 *       one, or a pedigree through its sparse {@code A⁻¹} — Henderson's equations, never an n×n V; cost
 *       per iteration about linear in records and levels for nested designs (lme4's route);</li>
 *   <li><b>dense</b> ({@link BlockedDenseLikelihood}): otherwise (a GRM or {@code K∘K}), over the
 *       independent blocks of V; {@code n³} for one relationship matrix over n individuals.</li>
 * </ul>
 * Both give the same log-likelihood, score and AI matrix (to 1e-8, {@code MmeLikelihoodTest}). The
 * conditional AIC's correction needs {@code tr(PV_jPV_k)}, which the equations do not give cheaply: it
 * is computed over the blocks of V at θ̂ (one evaluation) when they fit in memory, and left out
 * (NaN, with a note) when they do not.
 *
 * <p>When the driver has a second thread ({@link SideTask#secondCoreFree}), work that does not wait on this thread
 * runs on another: the sparse route's set-up while the start is found, half of the cAIC's level blocks
 * and its diag(P) and traces. The results are the same to the last bit (the same operations in the same
 * order, {@code TwoThreadFitTest}); the other thread's CPU time is returned with the fit.
 */
public final class MixedModelFitter {
  /** Residual variance floor relative to the OLS residual variance (V must stay invertible). */
  static final double RESIDUAL_FLOOR = 1e-8;
  public static final int DEFAULT_MAX_ITERATIONS = 200;

  public enum Method { REML, ML }

  /** Which likelihood: {@code AUTO} takes the sparse equations where the model allows them. */
  public enum Solver { AUTO, SPARSE, DENSE }

  private MixedModelFitter() {}

  /** Fits the model by the route {@link Solver#AUTO} chooses. */
  public static MixedModelFit fit(MixedModel model, Method method, Map<String, Double> fixed, int maxIterations) {
    return fit(model, method, fixed, maxIterations, Solver.AUTO);
  }

  /**
   * The chosen likelihood and why (for the log): exactly one of {@code sparse}, {@code dense} is set.
   */
  record Route(MmeLikelihood sparse, BlockedDenseLikelihood dense, String why) {
    RemlLikelihood likelihood() {
      return sparse != null ? sparse : dense;
    }
  }

  /** The one switch of {@code fit}'s routes (see the class doc). */
  static Route route(MixedModel model, Method method, Solver solver) {
    String notSparse = MmeLikelihood.whyNotSparse(model);
    if (solver == Solver.SPARSE && notSparse != null) {
      throw new BadInputException("--solver sparse: " + notSparse + "; use --solver dense or auto");
    }
    if (solver != Solver.DENSE && notSparse == null) {
      MmeLikelihood mme = new MmeLikelihood(model, method == Method.REML ? MmeLikelihood.Criterion.REML
          : MmeLikelihood.Criterion.ML);
      return new Route(mme, null, (solver == Solver.AUTO ? "auto: every random term is a grouping factor, slopes on "
          + "one or a pedigree A⁻¹: " : "as asked: ") + "sparse mixed-model equations (" + mme.sparsity() + ")");
    }
    int[][] blocks = model.blocks();
    checkMemory(blocks, model.parameters());
    BlockedDenseLikelihood lik = new BlockedDenseLikelihood(model.y(), model.x(), model.p(), blocks, model,
        method == Method.REML);
    return new Route(null, lik, (solver == Solver.AUTO ? "auto: " + notSparse + ": " : "as asked: ")
        + String.format(java.util.Locale.ROOT, "dense over %d independent block%s of V, the largest %d records",
            lik.blockCount(), lik.blockCount() == 1 ? "" : "s", lik.largestBlock()));
  }

  /**
   * Fits the model.
   *
   * @param fixed parameters held at given values ({@code --fix NAME=VALUE}), by parameter name
   */
  public static MixedModelFit fit(MixedModel model, Method method, Map<String, Double> fixed, int maxIterations,
      Solver solver) {
    return fit(model, method, fixed, maxIterations, solver, true);
  }

  /** As {@link #fit}; {@code momentStart} false always takes the default start with EM steps (tests compare). */
  static MixedModelFit fit(MixedModel model, Method method, Map<String, Double> fixed, int maxIterations,
      Solver solver, boolean momentStart) {
    int m = model.parameters();
    List<String> names = model.parameterNames();
    boolean[] fixedMask = new boolean[m];
    // The sparse route's set-up (C's pattern, its ordering and symbolic analysis) needs the model only:
    // on the second core it runs while this thread finds the start. (The dense route stays here: its
    // set-up is where its memory is checked, and it may call BLAS.)
    java.util.concurrent.atomic.LongAdder sideCpu = SideTask.secondCoreFree() ? SideTask.ledger() : null;
    SideTask<Route> sparseSetUp = sideCpu != null && solver != Solver.DENSE && MmeLikelihood.whyNotSparse(model) == null
        ? SideTask.start("mme-analysis", sideCpu, () -> route(model, method, solver)) : null;
    double s2 = olsResidualVariance(model);
    double[] start = model.start(s2);
    // One grouping factor: start at the per-level least-squares moments and go straight to AI steps
    // (the EM steps are there to move a poor start into Newton's region; this one is already there).
    double[] moments = momentStart ? MomentStart.of(model, start) : null;
    int emSteps = moments == null ? AiReml.DEFAULT_EM_STEPS : 0;
    if (moments != null) {
      start = moments;
    }
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
    Route route = sparseSetUp != null ? sparseSetUp.join() : route(model, method, solver);
    AiReml optimizer = new AiReml(method == Method.REML ? "ai-reml" : "ai-ml", null, emSteps, maxIterations);
    AiReml.Optimum opt = optimizer.maximize(route.likelihood(), space, start);
    return summarize(model, method, route, space, opt, fixedMask, sideCpu);
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

  private static MixedModelFit summarize(MixedModel model, Method method, Route route, ParameterSpace space,
      AiReml.Optimum opt, boolean[] fixedMask, java.util.concurrent.atomic.LongAdder sideCpu) {
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
    for (int k = 0; k < p; k++) {
      betaSe[k] = Math.sqrt(ev.betaCovariance()[k + k * p]);
      tValue[k] = beta[k] / betaSe[k];
      pValue[k] = Normal.twoSidedP(tValue[k]);
    }
    List<String> notes = new ArrayList<>(model.notes());
    double logLikR;
    List<MixedModelFit.TermBlups> blups;
    ConditionalAic caic;
    // The cAIC's own cost is reported apart: lme4's lmer() (the peer the benchmark times) computes none.
    java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
    long caicCpu = 0;
    long sideBefore = sideCpu == null ? 0 : sideCpu.sum();
    if (route.sparse() != null) {
      MmeLikelihood.LogLikelihoods ll = route.sparse().logLikelihoods(theta);
      logLikR = method == Method.REML ? ll.remlWithConstants() : ll.mlWithConstants();
      blups = blups(route.sparse().solutions(theta));
      caicCpu -= threads.getCurrentThreadCpuTime();
      caic = conditionalAicByBlocks(model, method, theta, fixedMask, opt.boundary(), notes, sideCpu);
      caicCpu += threads.getCurrentThreadCpuTime();
    } else {
      BlockedDenseLikelihood lik = route.dense();
      logLikR = lik.fullLogL(theta);
      BlockedDenseLikelihood.State st = lik.state(theta);
      caicCpu -= threads.getCurrentThreadCpuTime();
      caic = ConditionalAic.compute(model, lik, st, theta, fixedMask, opt.boundary());
      caicCpu += threads.getCurrentThreadCpuTime();
      blups = blups(model, st, theta);
    }
    long sideAfter = sideCpu == null ? 0 : sideCpu.sum();
    caicCpu += sideAfter - sideBefore; // its side tasks' CPU (half of its blocks, diag(P) and the traces)
    int df = p + est.length;
    double aic = -2 * logLikR + 2 * df;
    double bic = -2 * logLikR + Math.log(n) * df;
    double bicNlme = method == Method.REML ? -2 * logLikR + Math.log(n - p) * df : bic;
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
        ev.betaCovariance(), ev.logL(), logLikR, df, aic, bic, bicNlme, caic, blups, opt.iterations(),
        opt.converged(), opt.message(), notes, route.why(), termLevels(model), thetaCovariance, caicCpu / 1e9,
        sideAfter / 1e9);
  }

  /**
   * cAIC after a sparse fit. Its correction needs {@code tr(PD_jPD_k)}, i.e. all of C⁻¹'s random-effect
   * block, more than the sparse factor's inverse subset gives; so block by block: in the space of the
   * random effects ({@link LevelBlocks}) when no term has a relationship matrix, else over the blocks
   * of V when they fit in the heap; else NaN and a note saying why.
   */
  static ConditionalAic conditionalAicByBlocks(MixedModel model, Method method, double[] theta,
      boolean[] fixedMask, boolean[] boundary, List<String> notes, java.util.concurrent.atomic.LongAdder sideCpu) {
    LevelBlocks inEffects = LevelBlocks.of(model, theta, method == Method.REML, sideCpu);
    if (inEffects != null) {
      return ConditionalAic.compute(model, inEffects, theta, fixedMask, boundary, sideCpu);
    }
    int[][] blocks = model.blocks();
    try {
      checkMemory(blocks, model.parameters());
    } catch (BadInputException e) {
      notes.add("cAIC not computed: its correction needs tr(PV_jPV_k) over the blocks of V, which do not fit ("
          + e.getMessage() + ")");
      return new ConditionalAic(Double.NaN, Double.NaN, Double.NaN);
    }
    BlockedDenseLikelihood lik = new BlockedDenseLikelihood(model.y(), model.x(), model.p(), blocks, model,
        method == Method.REML);
    return ConditionalAic.compute(model, lik, lik.state(theta), theta, fixedMask, boundary);
  }

  /** The BLUPs and PEVs of every level (all animals of a pedigree) from the mixed-model-equation solutions. */
  static List<MixedModelFit.TermBlups> blups(MmeLikelihood.Solutions sol) {
    List<MixedModelFit.TermBlups> out = new ArrayList<>();
    for (MmeLikelihood.TermSolution t : sol.terms()) {
      out.add(new MixedModelFit.TermBlups(t.term().name(), t.term().effectNames(), t.term().levelNames(), t.blup(),
          t.pev()));
    }
    return out;
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
        kll = term.relationship().k().get(id, id);
        for (int l2 = 0; l2 < term.levelCount(); l2++) {
          double k = allIds ? term.relationship().k().get(id, term.relIndex()[l2]) : term.relationship(l, l2);
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
      boolean allIds = term.coversRelationshipIds();
      if (allIds) {
        int nk = term.relationship().size();
        for (int b = 0; b < d; b++) {
          double[] ks = new double[nk];
          for (int i = 0; i < nk; i++) {
            double v = 0;
            for (int l2 = 0; l2 < nl; l2++) {
              v += term.relationship().k().get(i, term.relIndex()[l2]) * s[b][l2];
            }
            ks[i] = v;
          }
          s[b] = ks;
        }
        nl = nk;
        levelNames = term.relationship().ids();
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
