package org.lmmspark.engine.reml.matfree;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;
import org.lmmspark.engine.matfree.SharedGenotypePasses;
import org.lmmspark.engine.reml.SymmetricOperator;

/**
 * The probes' Lanczos runs shared by several traits fitted together ({@link StochasticReml#fitTogether}), as
 * control variates of each trait's own few runs: a variance-reduced Hutchinson estimator of the trait's
 * {@code tr f(K_t)} (f the REML trace function {@code λ/(θ_gλ + θ_e)} or {@code log(θ_gλ + θ_e)}) at a fraction
 * of the probes' passes.
 *
 * <p>Model. The traits' samples S_t lie in their union U (n_U samples), and {@code K_t} is K over U restricted
 * to S_t. {@code R_U = ⌈1.5R⌉} Rademacher probes {@code w_s} over U (R the probes of a trait's run alone; seeded as
 * one trait's own probes over n_U samples) are Lanczos runs on {@code K_U} ({@link ProbeLanczos}), extended as far
 * as any trait's θ needs. Trait t runs only its first {@code R_t ≤ R} of them restricted to its samples,
 * {@code z_s = w_s|S_t}, on {@code K_t}: {@code a_s = z_sᵀ f(K_t) z_s}. Its control variate from the shared run of the same probe is
 * {@code c_s = w_sᵀ f(K_U) w_s − 2 (w_s ⊙ 1_{M_t})ᵀ f(K_U) w_s = z̃_sᵀ F_tt z̃_s − w_{s,M}ᵀ F_MM w_{s,M}}
 * ({@code F = f(K_U)}, {@code M_t = U \ S_t}, z̃ the probe with zeros on M_t): the cross terms between S_t and
 * M_t, which dominate a plain difference {@code a − wᵀFw} when a tenth of the samples is missing, cancel. Then
 * <pre>  tr f(K_t) ≈ (1/R_t) Σ_{s&lt;R_t} (a_s − β c_s) + β (1/R_U) Σ_{s&lt;R_U} c_s</pre>
 * is unbiased for a fixed β ({@code E c_s} estimated by all R_U shared runs), with Monte Carlo variance
 * {@code var(a − βc)/R_t + β² var(c)/R_U + 2β cov(a − βc, c)/R_U}, estimated from the same runs. β is the
 * regression coefficient of a on c over the R_t pairs, clamped to [0, 1] (the bias of an estimated coefficient
 * is O(1/R_t) of the Monte Carlo error): about 1 while {@code V = θ_gK + θ_eI} is well conditioned, where
 * {@code a − c} differs from
 * zero only by {@code f(K_t) − F_tt} (of rank about |M_t|, small off the diagonal) and {@code F_MM}; smaller when
 * θ_e ≪ θ_g, where V⁻¹ is ruled by the near-null space of K, which K_t and K_U do not share (on a dense example
 * at θ_e = 0.01 θ_g, β = 1 had 23× the variance of 40 probes of the trait's own and the fitted β 7×, the
 * trait's own R_t = 4 alone 10×; the optimizer visits such θ only on an overshooting step). On dense
 * eigendecompositions at N = M = 2,000 (h² = 0.5) its variance is 0.006, 0.04 and 0.11 of {@code var(a)} with
 * 3%, 12% and 22% of U missing, about {@code φ²/(1−φ)² + 0.16φ} for a fraction φ missing. So the shared term
 * {@code var(c)/R_U}, paid once for all traits, dominates: with {@link #pairedProbes} {@code R_t = ⌈Rφ⌉} (at least
 * {@link #MIN_PAIRED}) against {@code R_U = 1.5R} the estimate's variance is at most about 1.16× that of R probes
 * of the trait's own (0.71 at φ = 0.03 with 6 paired, ~0.75 with the 3 of {@link #MIN_PAIRED} since 2026-12-03;
 * 0.93 at 0.12, 1.16 at 0.22, R = 40) on that case, for {@code R_t/R} of
 * their passes; {@code R_t = ⌈2Rφ⌉} against R_U = R (until 2026-12-03) gave 1.05–1.25 for 1.2–1.6× the trait's
 * columns (20 traits at N = M = 20,000 with 3–22% missing: 218 against 140 of their own probes per step, and 40
 * against 60 shared). Measured through the fits, the Monte Carlo SE of σ²_g was 0.83–1.04× that of the trait's
 * run alone at N = M = 5,000 (3–23% missing, R_t = ⌈2Rφ⌉ against R) and 1.44× for 22% missing at n = 400 &lt; M
 * ({@code LockStepStochasticRemlTest}), where the controls track the trait's probes less well.
 *
 * <p>With the covariates projected out ({@link StochasticReml}), a trait's own runs are on {@code Π_tK_tΠ_t} from
 * {@code Π_tz_s} ({@link CovariateProjection}, its own covariates), while the shared runs stay on K_U: a is then
 * {@code (Π_tz_s)ᵀ f(Π_tK_tΠ_t) Π_tz_s}, which differs from the unprojected form by a rank-p term, and the estimator
 * stays unbiased for any fixed β (E c_s is still estimated by all R_U runs); β and the variance are fitted on the
 * pairs as before. So every trait, also one whose samples are U, runs at least {@link #MIN_PAIRED} probes of its
 * own.
 *
 * <p>The bilinear part {@code (w ⊙ 1_M)ᵀ f(K_U) w} is the Lanczos approximation of {@code f(K_U) w} dotted with
 * w's part on M ({@link ProbeLanczos#bilinear}), accurate to about the run's CG residual (1e-4 at the REML
 * tolerance) where the quadratic forms are accurate to its square; both far below the Monte Carlo error (1e-3
 * of a trace at R = 40).
 *
 * <p>Sharing across threads: the traits' fits run as computations of {@link SharedGenotypePasses#runAll}, one at
 * a time on the driver; a trait that needs the runs extended while another one's step is in flight waits for the
 * next pass ({@link SharedGenotypePasses#awaitNextPass}) and looks again. Every trait reads the quadratures over
 * the prefix of each run that its own θ needs ({@link ProbeLanczos#stepsFor}), so its estimates do not depend on
 * how far the other traits extended the runs.
 *
 * <p>Cost: R_U columns per step of the shared runs, once for all traits, plus {@code Σ_t |M_t|} flops per probe
 * and step; memory three n_U×R_U blocks.
 */
public final class SharedProbeRuns {
  /**
   * Fewest probes a trait pairs with the shared runs: β and {@code var(a − βc)} are fitted on its pairs, and the
   * trait's own term {@code var(a − βc)/R_t} is the smaller one wherever few of U are missing, so three do. On the
   * dense case of {@code SharedProbeRunsTest}: 3 of its own against 23 shared runs, 15% missing, 0.73× the variance
   * of 15 probes of its own (tr V⁻¹K) and 0.54× (log|V|); 3 against 60 at 3% missing, 0.70× and 0.60× that of 40,
   * where 6 gave 0.71× and 0.56× at 15%. Six until 2026-12-03: each paired probe is one column per Lanczos step of
   * every trait (~13 steps in {@code assoc} at N = M = 20,000, where 20 traits' REML fell from 2,122 columns to
   * 1,471).
   */
  public static final int MIN_PAIRED = 3;
  /** {@code R_t = ⌈PAIRED_PER_MISSING · R · φ_t⌉}: see the class doc for the variance it gives. */
  public static final double PAIRED_PER_MISSING = 1.0;
  /**
   * The shared runs carry {@code ⌈SHARED_PER_OWN · R⌉} probes: paid once for all traits, they hold down the term
   * {@code var(c)/R_U} that dominates the estimator's variance, so that each trait pairs fewer of its own (class doc).
   */
  public static final double SHARED_PER_OWN = 1.5;
  /**
   * Below this shift σ = θ_e/θ_g the control variates fade out ({@link #weight}): there V⁻¹ is ruled by the
   * near-null space of K, which K_t and K_U do not share (K_U's centred columns leave the all-ones vector in its null
   * space, K_t's rows do not), so the controls stop tracking the trait's probes, while the plain estimator's own
   * error vanishes with θ_e (Rademacher probes have {@code zᵀz = n} exactly, and {@code f → 1/θ_g}).
   */
  public static final double FADE_SHIFT = 0.05;

  private final SymmetricOperator union;
  private final SharedGenotypePasses passes;
  /** R_U, the shared runs' probes. */
  private final int r;
  /** R, the probes of a trait's own run alone, by which R_U and R_t are set. */
  private final int own;
  private final double[] w;
  private final int[][] missing;
  private ProbeLanczos runs;
  private boolean busy;

  /**
   * @param union   K over the union U of the traits' samples, its products taken in {@code passes} (null: one
   *                computation uses the runs, none waits for another)
   * @param missing for each trait, the positions in U of the samples it does not analyse
   * @param probes  R, the probes of a trait's run alone: the shared runs carry {@code ⌈SHARED_PER_OWN · R⌉}
   * @param seed    of the probes, drawn as a trait's own over n_U samples ({@link StochasticReml})
   */
  public SharedProbeRuns(SymmetricOperator union, SharedGenotypePasses passes, int[][] missing, int probes,
      long seed) {
    this.union = union;
    this.passes = passes;
    this.own = probes;
    this.r = (int) Math.ceil(SHARED_PER_OWN * probes);
    this.missing = missing;
    this.w = StochasticReml.rademacher(union.size(), r, seed);
  }

  /** n_U. */
  public int size() {
    return union.size();
  }

  /** R_U, the shared runs' probes. */
  public int probes() {
    return r;
  }

  /** The R_U probes over U, n_U×R_U column-major. */
  public double[] probeVectors() {
    return w;
  }

  /**
   * The probes trait t pairs with the shared runs: {@code ⌈Rφ⌉} for a fraction φ of U it does not analyse, at
   * least {@link #MIN_PAIRED}, at most R_U.
   */
  public int pairedProbes(int trait) {
    double phi = (double) missing[trait].length / union.size();
    return Math.min(r, Math.max(MIN_PAIRED, (int) Math.ceil(PAIRED_PER_MISSING * own * phi)));
  }

  /**
   * The runs, started (their first step taken) by the first trait to ask. Once started they are read without
   * holding them: the computations run one at a time, and a step in flight changes nothing until its product is
   * back ({@link ProbeLanczos#advance}). Only the start waits for the trait taking it, or the other traits, woken
   * after each pass, would find the runs held again by the trait stepping them and step nothing of their own until
   * it is done (20 traits at N = M = 20,000: 17 passes of 58 columns before the traits' own 220).
   */
  public ProbeLanczos runs() {
    while (runs == null && busy) {
      awaitOtherStep();
    }
    if (runs == null) {
      busy = true;
      try {
        runs = new ProbeLanczos(union, w, r, missing);
      } finally {
        busy = false;
      }
    }
    return runs;
  }

  /** Products with K_U taken so far. */
  public int products() {
    return runs == null ? 0 : runs.products();
  }

  /**
   * Extends the runs until CG on {@code K_U + σI} from every probe would reach {@code tolerance}
   * ({@link ProbeLanczos#extendUntil}); false when a run would need more than {@code maxSteps} steps.
   */
  public boolean extendUntil(double sigma, double tolerance, int maxSteps) {
    ProbeLanczos started = runs();
    acquire();
    try {
      return started.extendUntil(sigma, tolerance, maxSteps);
    } finally {
      busy = false;
    }
  }

  /**
   * Extends a trait's own runs {@code own} (on its K, null when it has none) and the shared runs together until
   * both would reach {@code tolerance} at shift σ, each step of both in one pass when both operators are K over
   * the same genotype products ({@link GenomicRelationshipOperator#applyJointly}), so that the shared runs cost the
   * trait no passes of their own; while another trait's step of the shared runs is in flight, this trait steps
   * only its own runs, or waits for the next pass. False when a run would need more than {@code maxSteps} steps.
   */
  public boolean extendWith(ProbeLanczos own, SymmetricOperator ownOperator, double sigma, double tolerance,
      int maxSteps) {
    runs();
    if (!(ownOperator instanceof GenomicRelationshipOperator mine) || !(union instanceof GenomicRelationshipOperator u)
        || mine.products() != u.products()) {
      boolean reached = own == null || own.extendUntil(sigma, tolerance, maxSteps);
      return extendUntil(sigma, tolerance, maxSteps) && reached;
    }
    boolean ownStuck = false;
    while (true) {
      ProbeLanczos.Pending mineNext = own == null ? new ProbeLanczos.Pending(new int[0], false)
          : own.pending(sigma, tolerance, maxSteps);
      ownStuck = mineNext.stuck();
      boolean holding = !busy;
      ProbeLanczos.Pending sharedNext = holding ? runs.pending(sigma, tolerance, maxSteps) : null;
      if (mineNext.count() == 0 && (sharedNext == null || sharedNext.count() == 0)) {
        if (sharedNext == null) {
          // Nothing of our own to step, and another trait is stepping the shared runs: wait for its pass.
          passes.awaitNextPass();
          continue;
        }
        return !ownStuck && !sharedNext.stuck();
      }
      int ks = sharedNext == null ? 0 : sharedNext.count();
      int ko = mineNext.count();
      if (ks > 0) {
        busy = true;
      }
      try {
        double[] outOwn = new double[mine.size() * ko];
        double[] outShared = new double[u.size() * ks];
        GenomicRelationshipOperator.applyJointly(mine, ko == 0 ? new double[0] : own.vectors(mineNext.which(), ko), ko,
            outOwn, u, ks == 0 ? new double[0] : runs.vectors(sharedNext.which(), ks), ks, outShared);
        if (ko > 0) {
          own.advance(mineNext.which(), ko, outOwn);
        }
        if (ks > 0) {
          runs.advance(sharedNext.which(), ks, outShared);
        }
      } finally {
        if (ks > 0) {
          busy = false;
        }
      }
    }
  }

  /**
   * Trait t's control variates {@code c_s}, s &lt; R, at the shift σ = θ_e/θ_g that the runs were extended for,
   * over each run's prefix that σ needs at {@code tolerance}: {@code w_sᵀ f(K_U) w_s − 2 (w_s ⊙ 1_{M_t})ᵀ f(K_U)
   * w_s}.
   */
  public double[] controls(int trait, DoubleUnaryOperator f, double sigma, double tolerance) {
    ProbeLanczos l = runs();
    double[] c = new double[r];
    for (int s = 0; s < r; s++) {
      int steps = l.stepsFor(s, sigma, tolerance);
      c[s] = l.quadratic(s, f, steps) - 2 * l.bilinear(s, trait, f, steps);
    }
    return c;
  }

  /**
   * The estimate {@code mean(a − βc) + β mean(c)} and its Monte Carlo variance (class doc) from trait t's own
   * {@code a_s}, s &lt; R_t, and its controls over all R_U shared runs; β the regression coefficient of a on c over
   * the R_t pairs, clamped to [0, 1], times {@code weight} ∈ [0, 1] (any fixed weight keeps the estimate unbiased; 0
   * gives the plain mean of the trait's own R_t probes).
   */
  public static double[] estimate(double[] own, double[] controls, double weight) {
    int rt = own.length;
    int r = controls.length;
    if (rt < 2 || rt > r) {
      throw new IllegalArgumentException(rt + " paired probes of " + r);
    }
    double meanA = Arrays.stream(own).sum() / rt;
    double meanPairedC = Arrays.stream(controls, 0, rt).sum() / rt;
    double sac = 0;
    double scc = 0;
    for (int s = 0; s < rt; s++) {
      sac += (own[s] - meanA) * (controls[s] - meanPairedC);
      scc += (controls[s] - meanPairedC) * (controls[s] - meanPairedC);
    }
    double beta = weight * (scc > 0 ? Math.min(1, Math.max(0, sac / scc)) : 1);
    double[] d = new double[rt];
    double meanD = 0;
    for (int s = 0; s < rt; s++) {
      d[s] = own[s] - beta * controls[s];
      meanD += d[s];
    }
    meanD /= rt;
    double meanC = Arrays.stream(controls).sum() / r;
    double varD = 0;
    double covDc = 0;
    for (int s = 0; s < rt; s++) {
      varD += (d[s] - meanD) * (d[s] - meanD);
      covDc += (d[s] - meanD) * (controls[s] - meanPairedC);
    }
    varD /= rt - 1;
    covDc /= rt - 1;
    double varC = 0;
    for (double c : controls) {
      varC += (c - meanC) * (c - meanC);
    }
    varC /= r - 1;
    double variance = varD / rt + beta * beta * varC / r + 2 * beta * covDc / r;
    return new double[] {meanD + beta * meanC, Math.max(0, variance)};
  }

  /**
   * The weight of the control variates at shift σ = θ_e/θ_g: 0 up to {@link #FADE_SHIFT}, rising linearly to 1 at
   * twice it (h² of V below about 0.9), so that the estimate is continuous in θ, as the optimizer expects.
   */
  public static double weight(double sigma) {
    return Math.min(1, Math.max(0, sigma / FADE_SHIFT - 1));
  }

  /**
   * Holds the runs for this computation: while another computation's step is in flight (it waits in a pass),
   * waits for the next pass and looks again.
   */
  private void acquire() {
    while (busy) {
      awaitOtherStep();
    }
    busy = true;
  }

  /** Waits for the next pass, in which another computation's step of the runs is taken. */
  private void awaitOtherStep() {
    if (passes == null) {
      throw new IllegalStateException("shared probe runs used by several computations without shared passes");
    }
    passes.awaitNextPass();
  }
}
