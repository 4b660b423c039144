package org.lmmspark.engine.reml.matfree;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;
import org.lmmspark.engine.matfree.SharedGenotypePasses;
import org.lmmspark.engine.reml.AiReml;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.ParameterSpace;
import org.lmmspark.engine.reml.RemlLikelihood;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.SmallMatrices;
import org.lmmspark.engine.reml.RemlSolver;
import org.lmmspark.engine.reml.ScaledOperator;
import org.lmmspark.engine.reml.SymmetricOperator;
import org.lmmspark.engine.reml.VarianceComponent;

/**
 * Matrix-free average-information REML (BOLT-REML style: Loh et al. 2015, Nat Genet 47:284; the AI
 * update of Gilmour, Thompson &amp; Cullis 1995) for {@code V = Σ_k θ_k V_k + θ_e I}, driven only by
 * products of the components with blocks of vectors ({@link SymmetricOperator#apply}), so that with a
 * {@link GenomicRelationshipOperator} every product is one pass over the genotypes and no n×n matrix
 * exists anywhere.
 *
 * <p><b>The covariates projected out</b> (BOLT-LMM's projection, as the LOCO solves do, {@link CovariateProjection}):
 * with {@code Π = I − QQᵀ}, Q an orthonormal basis of the n×p covariates X, {@code P = V⁻¹ − V⁻¹X C⁻¹XᵀV⁻¹ =
 * Π(ΠVΠ)⁺Π} exactly ({@code C = XᵀV⁻¹X}; both are the unique symmetric operator with null space range X that
 * inverts V's compression to range Π). So P times a column b is the solution of {@code (ΠVΠ) w = Πb} by CG on range
 * Π (products {@code ΠVΠ}, preconditioner the compression {@code (ΠMΠ)⁺} of M), and no column of X enters the
 * batches: {@code 1 + R + m} columns per solve instead of {@code 1 + p + R + m} (with the probes' Lanczos traces,
 * {@code 1 + m} instead of {@code 1 + p + m}: 3 instead of 7 with an intercept and 3 covariates).
 *
 * <p>At θ, one batched conjugate-gradient solve ({@link BatchedPcg}) gives {@code Py} and {@code Pz_r} for
 * R fixed, seeded Rademacher probes. Hutchinson's estimator on the projected probes gives
 * {@code tr(PV_k) ≈ (1/R)Σ_r (Pz_r)ᵀ(V_k Πz_r)} ({@code V_k Πz_r} computed once, the probes being fixed): since
 * {@code Pz = Π(ΠVΠ)⁺Πz}, each term is {@code (Πz)ᵀ(ΠVΠ)⁺(ΠV_kΠ)(Πz)}, of expectation {@code tr((ΠVΠ)⁺ΠV_kΠ) =
 * tr(PV_k)} (E[zzᵀ] = I), unbiased as the earlier {@code (Pz)ᵀV_kz} (expectation {@code tr(PV_k)} as well; the two
 * differ per probe by {@code (Pz)ᵀV_k(I − Π)z}, of mean zero), and per probe the same value as the Lanczos route
 * below; the residual's trace follows exactly
 * from {@code tr(PV) = n − p}: {@code tr(P) = (n − p − Σ_k θ_k tr(PV_k))/θ_e}. One pass gives
 * {@code u_k = ΠV_k Py}, hence the score {@code ∂ℓ/∂θ_k = −½(tr(PV_k) − yᵀPV_kPy)}, exact at θ up to
 * the probes. The AI matrix {@code AI_kl = ½ (V_kPy)ᵀ P (V_lPy) = ½ u_kᵀ P u_l} (P = ΠPΠ) is <i>lagged</i>: the u of
 * the previous evaluation rides in the same batched solve as y and the probes (m more columns, no more
 * passes, since a batch costs as many passes as its slowest column), instead of a second solve
 * of its own. The score, which fixes where the iteration stops, is not lagged; the AI matrix only
 * sets the step, and its error is O(|Δθ|/θ) of the last step, so the iteration still converges
 * (quasi-Newton) and the final AI matrix, one step of ≤ {@code tolerance·Σθ} old, gives the SEs.
 * The start evaluation needs no AI matrix when the first step is EM (the default); otherwise it
 * pays a separate thin solve. Because the probes are fixed the estimated score is a smooth function
 * of θ and the iteration converges to its root.
 *
 * <p>Optimizer: {@code θ_k = s²/(K+1)} start ({@code s²} the OLS residual variance), {@code emSteps}
 * EM-REML steps, then AI steps {@code θ ← θ + AI⁻¹∂ℓ/∂θ} over the free parameters with the active set
 * {@code θ_k ≥ 0} (residual ≥ {@code 1e-6 s²}), halving a step when V stops being positive definite;
 * converged when the next AI step changes no θ_k by more than {@code tolerance·Σθ}. Standard errors
 * from {@code AI⁻¹}. The fixed effects come once per fit, at the estimate: {@code β̂ = (XᵀX)⁻¹Xᵀ(y − V·Py)} (since
 * {@code VPy = y − Xβ̂}; one product) and {@code C⁻¹}, {@code log|C|} from {@code W = V⁻¹X} (p columns, to log|V|'s
 * tolerance: C is a quadratic form, accurate to about the square of it), solved in the same batch as log|V|'s
 * probes when they are solved. The log-likelihood
 * {@code ℓ = −½(log|V| + log|C| + yᵀPy)} is reported with
 * {@code log|V|} by stochastic Lanczos quadrature ({@link LanczosQuadrature}) over the same probes.
 * The Monte Carlo error of θ̂ due to the probes is estimated as {@code AI⁻¹ S AI⁻¹} with S the
 * covariance of the score estimate across probes divided by R.
 *
 * <p>Preconditioner: the deflation preconditioner of the first component's leading Ritz pairs
 * ({@link SpectralPreconditioner}, {@link LeadingEigenspace}; {@link #DEFLATION_PASSES} passes once per
 * fit), which keeps CG's iteration count at the bulk's as population axes grow with N; Jacobi with
 * {@code deflationRank = 0}.
 *
 * <p>Cost per iteration (the solved route; by quadrature, below, only the runs' extension): {@code CG + 1 + K} operator products (CG the iteration count of the one
 * batched solve over {@code 1 + R + K + 1} columns, warm-started from the previous iterate's
 * solutions; +1 for its starting residual), plus at the end about half a cold solve for log|V| (and X's p columns
 * with it; alone, with the Lanczos traces) and one product for β̂. With
 * one component, {@code V = θ_g K + θ_e I} (the genotype-only model), just CG: a solve of {@code ΠVΠ W = ΠB} gives
 * {@code ΠK W = (ΠB − R − θ_e W)/θ_g} for its solutions W (R its residual) without a pass, which is
 * both {@code ΠK Py} and, at the next θ, the warm start's first residual {@code ΠB − (θ'_g ΠK W + θ'_e W)}.
 * Memory on the driver: about {@code (11 + K)·n·(2 + p + R + K)} doubles, i.e. {@code O(n·k)}.
 *
 * <p><b>Traces by Lanczos quadrature with the covariates projected out</b> ({@code lanczosTraces}, one component):
 * each probe's run is on {@code ΠKΠ} from {@code Πz_r} ({@link ProbeLanczos} with the projection). ΠKΠ commutes with
 * Π; on range Π let it have eigenpairs {@code (μ_i, e_i)}, i = 1 … n − p (range X is its null space, killed by Π).
 * There {@code ΠVΠ = Σ_i (θ_gμ_i + θ_e) e_ie_iᵀ}, so {@code tr(PK) = tr((ΠVΠ)⁺ΠKΠ) = Σ_i g(μ_i)} with
 * {@code g(μ) = μ/(θ_gμ + θ_e)}, and for Rademacher z ({@code E[zzᵀ] = I})
 * <pre>  E[(Πz)ᵀ g(ΠKΠ) Πz] = tr(Π g(ΠKΠ) Π) = Σ_i g(μ_i) = tr(PK),</pre>
 * unbiased, as the estimator before it ({@code zᵀV⁻¹Kz − (XᵀV⁻¹z)ᵀC⁻¹(XᵀV⁻¹Kz) = (Pz)ᵀKz}, whose expectation is
 * {@code tr(V⁻¹K) − tr(C⁻¹XᵀV⁻¹KV⁻¹X) = tr(PK)} too); per probe the two differ (by {@code (Pz)ᵀK(I − Π)z}, mean zero),
 * so θ̂ agrees with the earlier estimator within Monte Carlo error, not to rounding, and per probe equals the
 * solved probes' {@code (Pz)ᵀKΠz} above to the solves' tolerance. The residual's trace and the
 * score follow as above; the AI matrix needs no probe. For the log-likelihood the same runs' quadrature of
 * {@code log(θ_gμ + θ_e)} estimates {@code Σ_i log(θ_gμ_i + θ_e) = log det(ΠVΠ on range Π) = log|V| + log|C| −
 * log|XᵀX|} (with {@code [N Q]} orthogonal, {@code det(NᵀVN) = det V · det(QᵀV⁻¹Q)} and {@code det(QᵀV⁻¹Q) =
 * |C|/|XᵀX|}): so {@code ℓ = −½(Σ_i log(θ_gμ_i + θ_e) + log|XᵀX| + yᵀPy)}, equal in expectation to the formula above;
 * the reported log|V| is that estimate less the exact {@code log|C| − log|XᵀX|}. The shift invariance that lets one
 * run serve every θ holds on range Π ({@code ΠVΠ = θ_g(ΠKΠ + σΠ)}), and a run stops where CG on ΠVΠ from Πz would.
 *
 * <p><b>y the same way</b> (in this mode): one more Lanczos run on ΠKΠ from Πy ({@link ProbeLanczos#withSolved}),
 * kept for the fit and stepped in the probes' products, extended as far as each θ needs to the CG tolerance
 * ({@code cgTolerance}: where CG on ΠVΠ from Πy would stop). With T its Lanczos matrix, e_1 the first unit vector and
 * {@code B = θ_gT + θ_eI}, and P = Π(ΠVΠ)⁺Π = (θ_gΠKΠ + θ_eΠ)⁺ on range Π (Py in range Π, so {@code (Py)ᵀK(Py) =
 * (Py)ᵀΠKΠ(Py)}), Gauss quadrature gives at any θ, with no further pass: {@code yᵀPy = ‖Πy‖² e_1ᵀB⁻¹e_1}, the score's
 * {@code yᵀPKPy = ‖Πy‖² e_1ᵀB⁻¹TB⁻¹e_1} and {@code yᵀPPy = ‖Πy‖² e_1ᵀB⁻²e_1}, and the AI matrix exact at θ (not
 * lagged): {@code ½(KPy)ᵀP(KPy) = ½‖Πy‖² e_1ᵀT²B⁻³e_1}, {@code ½(KPy)ᵀP(Py) = ½‖Πy‖² e_1ᵀTB⁻³e_1},
 * {@code ½(Py)ᵀP(Py) = ½‖Πy‖² e_1ᵀB⁻³e_1} (exact in the Krylov space; T and B commute). The first is CG's
 * {@code yᵀx_L}, its error the square of CG's residual; the others are quadratures of smooth functions of the same
 * spectrum, as accurate. So an evaluation solves nothing: only the runs' extension, none once they reach θ's
 * tolerance, where the solved route carried y and the lagged AI columns ({@code 1 + m} columns) through every CG
 * iteration at every θ. Py itself, needed once at θ̂ (β̂, the fit's Py, from which the assoc route's LOCO solves
 * warm-start), is {@code ‖Πy‖ Q B⁻¹e_1} from y's run's kept Lanczos vectors Q ({@link ProbeLanczos#apply}): CG's
 * iterate after the run's steps, to CG's tolerance, with no pass. Q costs n×L doubles per trait (L the run's steps,
 * 10–30 at the sizes measured: 2.4 MB at n = 10,000 and L = 30); a final PCG solve instead would cost every trait
 * fitted together some ten more passes at the end, and the CG batches replaced held several n×(1 + m) blocks. The
 * fixed effects' {@code V⁻¹X} (p columns) and V·Py for β̂ are solved and multiplied at the end as in the solved route.
 */
public final class StochasticReml implements RemlSolver {
  static final double RESIDUAL_FLOOR = 1e-6;
  /**
   * Smallest θ_g/θ_e at which K·X is derived from a solve ({@code Run#componentTimesSolution}) instead of
   * a pass. At the boundary θ_g = 0 the identity is void; above the ratio the division lifts the double
   * rounding of {@code B − R − θ_e X} by at most θ_e/θ_g = 1e3, to ~1e-13 relative.
   */
  static final double DERIVED_PRODUCT_MIN_RATIO = 1e-3;
  /** Ritz pairs of the deflation preconditioner by default: room for population axes and a few more. */
  public static final int DEFAULT_DEFLATION_RANK = 32;
  /** Subspace-iteration passes for the Ritz pairs ({@link LeadingEigenspace}). */
  public static final int DEFLATION_PASSES = 4;

  /**
   * @param probes           R, Rademacher probe vectors for the traces (BOLT-REML uses 15 MC trials; 30–60 here)
   * @param seed             seed of the probes: same seed, same estimates
   * @param cgTolerance      relative residual at which CG stops
   * @param maxCgIterations  per solve
   * @param maxIterations    REML iterations
   * @param tolerance        largest AI step, relative to Σθ, counted as converged
   * @param emSteps          EM steps before AI steps
   * @param deflationRank    precondition CG with the first component's leading {@code deflationRank} Ritz
   *                         pairs ({@link SpectralPreconditioner}; {@link #DEFLATION_PASSES} more passes,
   *                         once); 0: Jacobi, {@code diag(V)}
   * @param logLikelihood    estimate log|V| at the end (one more solve of the probes)
   * @param fixedEffectCovariance solve V⁻¹X at the end for β̂'s covariance {@code C⁻¹ = (XᵀV⁻¹X)⁻¹} (and log|C|)
   *                         when no solve of the probes brings it along, i.e. with Lanczos quadrature: p columns
   *                         over ~5–8 passes per fit, a sixth of a many-traits REML's columns. False when
   *                         nothing reports β̂'s SEs (the association runs): the REML logL by quadrature
   *                         does not need C, only the reported log|V| does (NaN then)
   */
  public record Options(int probes, long seed, double cgTolerance, int maxCgIterations, int maxIterations,
      double tolerance, int emSteps, int deflationRank, boolean logLikelihood, boolean fixedEffectCovariance) {
    /** With β̂'s covariance. */
    public Options(int probes, long seed, double cgTolerance, int maxCgIterations, int maxIterations,
        double tolerance, int emSteps, int deflationRank, boolean logLikelihood) {
      this(probes, seed, cgTolerance, maxCgIterations, maxIterations, tolerance, emSteps, deflationRank,
          logLikelihood, true);
    }

    public Options {
      if (probes < 2) {
        throw new IllegalArgumentException("need at least 2 probe vectors, got " + probes);
      }
      if (deflationRank < 0) {
        throw new IllegalArgumentException("deflation rank must be ≥ 0, got " + deflationRank);
      }
      if (!(cgTolerance > 0 && cgTolerance < 1)) {
        throw new IllegalArgumentException("CG tolerance must be in (0, 1), got " + cgTolerance);
      }
    }

    public static Options defaults() {
      return new Options(40, 20250601L, 1e-6, 1000, 40, 1e-5, 1, DEFAULT_DEFLATION_RANK, true);
    }

    public Options withProbes(int r) {
      return new Options(r, seed, cgTolerance, maxCgIterations, maxIterations, tolerance, emSteps, deflationRank,
          logLikelihood, fixedEffectCovariance);
    }

    public Options withDeflationRank(int k) {
      return new Options(probes, seed, cgTolerance, maxCgIterations, maxIterations, tolerance, emSteps, k,
          logLikelihood, fixedEffectCovariance);
    }

    /** Without solving for β̂'s covariance where it would cost a solve of its own ({@link #fixedEffectCovariance}). */
    public Options withoutFixedEffectCovariance() {
      return new Options(probes, seed, cgTolerance, maxCgIterations, maxIterations, tolerance, emSteps, deflationRank,
          logLikelihood, false);
    }
  }

  /**
   * Work counts and Monte Carlo error of a fit; {@code eigenspace} the first component's leading Ritz
   * pairs behind the preconditioner (null with Jacobi), for later solves with the same K (LOCO).
   */
  public record Diagnostics(int operatorProducts, int[] cgIterationsPerSolve, double[] monteCarloCovariance,
      int probes, double logDetV, double logDetVMonteCarloSe, LeadingEigenspace eigenspace) {
    /** Monte Carlo standard error of θ_k due to the finite number of probes. */
    public double monteCarloSe(int k) {
      int m = (int) Math.round(Math.sqrt(monteCarloCovariance.length));
      return Math.sqrt(monteCarloCovariance[k + k * m]);
    }
  }

  /** A fit with its diagnostics. */
  public record Outcome(RemlFit fit, Diagnostics diagnostics) {}

  private final Options options;
  private final Consumer<String> progress;
  private final boolean lanczosTraces;

  /**
   * With one component, the traces by Lanczos quadrature ({@code lanczosTraces}, as every {@code lmmspark} command
   * fits); with several, the solved route.
   *
   * @param progress receives one line per likelihood evaluation (θ, CG iterations, products so far)
   */
  public StochasticReml(Options options, Consumer<String> progress) {
    this(options, progress, true);
  }

  /**
   * @param lanczosTraces with one component ({@code V = θ_g K + θ_e I}), the probes' traces and log|V| by
   *                      Lanczos quadrature over runs kept for the whole fit ({@link ProbeLanczos}) instead of
   *                      solving the probes at every evaluation (the quadrature to {@link #lanczosTolerance} of CG's
   *                      residual), and y's quadratic forms, the score and an AI matrix exact at θ from one more run
   *                      from y (to {@code cgTolerance}, its Lanczos vectors kept for Py at θ̂): the same probes and the
   *                      root of the same estimated score, and no solve per evaluation (class doc); false: the
   *                      probes solved by CG at every evaluation (the solved route, which several components take
   *                      whatever this says)
   */
  public StochasticReml(Options options, Consumer<String> progress, boolean lanczosTraces) {
    this.options = options;
    this.progress = progress;
    this.lanczosTraces = lanczosTraces;
  }

  /**
   * Relative residual (of CG on V from a probe) to which the probes' Lanczos runs are extended at each θ: the
   * quadratic form's error is its square, {@code sqrt(cgTolerance)/10} gives ≤ 1e-8 relative for the default
   * 1e-6, below the probe solves' own and far below the probes' Monte Carlo error (~1e-3).
   */
  static double lanczosTolerance(Options o) {
    return Math.max(o.cgTolerance(), Math.sqrt(o.cgTolerance()) / 10);
  }

  public StochasticReml(Options options) {
    this(options, line -> {});
  }

  /**
   * The solved route with one component too ({@code lanczosTraces} false): the probes solved by CG at every
   * evaluation, the AI matrix lagged one step. No command fits this way; the tests set it against the quadrature.
   */
  public static StochasticReml solvingProbes(Options options) {
    return new StochasticReml(options, line -> {}, false);
  }

  public StochasticReml() {
    this(Options.defaults());
  }

  @Override
  public String name() {
    return "matrix-free";
  }

  @Override
  public RemlFit fit(RemlProblem problem) {
    return fitWithDiagnostics(problem).fit();
  }

  public Outcome fitWithDiagnostics(RemlProblem problem) {
    return new Run(problem, options, progress, lanczosTraces, null).fit(null, false);
  }

  /**
   * The fit from {@code start} (θ of the components and the residual), with the residual variance held
   * at its start value when {@code residualFixed}: PQL's working model, whose dispersion is 1 on the
   * {@code W^½}-scaled problem ({@code MatrixFreePql}), started at the previous outer iteration's θ.
   */
  public Outcome fitWithDiagnostics(RemlProblem problem, double[] start, boolean residualFixed) {
    return new Run(problem, options, progress, lanczosTraces, null).fit(start, residualFixed);
  }

  /**
   * Several problems fitted in lock-step over shared genotype passes: the many-traits form of
   * {@link #fitWithDiagnostics}. Each problem (one trait, its own analysed samples) keeps its own
   * optimizer ({@link AiReml#maximize} unchanged: its EM and AI steps, its own convergence by step size),
   * its probes (by default a few of its own paired with runs shared by all traits, {@link SharedProbeRuns}; see
   * the overload) and its own CG systems; its components must reach the genotypes through {@code passes} (a
   * {@link GenomicRelationshipOperator} over {@code passes} and the trait's rows). Every operator product
   * of every trait — the probes' Lanczos steps, the deflation passes, each CG iteration — waits for the
   * others' next product and all are taken in one pass ({@link SharedGenotypePasses}); a trait that has
   * converged stops adding columns. So the fits cost about as many passes as the slowest one alone, each
   * pass carrying the columns of the traits still running.
   *
   * <p>Each trait's probes, and its y, are Lanczos runs on its ΠKΠ kept for the whole fit ({@link ProbeLanczos},
   * {@code lanczosTraces}; the class doc): its traces, log|V|, yᵀPy, the score's quadratics and the AI matrix at every
   * θ by quadrature, so no evaluation solves anything (alone, each CG iteration of each evaluation carries y, R probes
   * and the lagged AI columns, which carry no covariate: the class doc); the runs cost R + 1 columns for as many steps
   * as the θ visited need, once (~15 at N = 10,000 against ~70 CG iterations of the probes alone), and Py at θ̂ comes
   * from y's run. With each trait's own R probes ({@code sharedProbes} false), θ̂ is the root of the same estimated
   * score as the trait's run alone up to the solves' tolerance (the same probes, traces to ~1e-8), but the optimizers
   * differ (here the AI matrix is exact at θ, alone it is lagged one step), and each stops within its next step
   * (≤ {@code tolerance·Σθ}) of that root: θ̂ agree to ~{@code tolerance·Σθ} (≤ 3.3e-6 of Vp measured at the default
   * 1e-5; to 1.6e-8 of Vp against the dense root when both run to convergence); log|V| within its Monte Carlo error
   * (alone it is estimated on V whitened by the preconditioner, here on V itself). Against the trait alone by
   * quadrature too ({@code lanczosTraces}, as {@code lmmspark} fits one trait) the optimizers are the same: the same
   * iterates, θ̂ within 7e-9 of Vp and logL within 2e-6 measured. With shared runs (the default), within Monte Carlo
   * error.
   *
   * @param progress one receiver of progress lines per problem
   * @return the outcomes in the order of {@code problems}
   */
  public static List<Outcome> fitTogether(SharedGenotypePasses passes, List<RemlProblem> problems, Options options,
      List<Consumer<String>> progress) {
    return fitTogether(passes, problems, options, progress, true);
  }

  /**
   * As {@link #fitTogether(SharedGenotypePasses, List, Options, List)}; with {@code sharedProbes} (and several
   * traits, each with one component, K over its own samples through {@code passes}), the probes' runs are shared
   * ({@link SharedProbeRuns}): R runs on K over the union U of the traits' samples serve every trait as control
   * variates, and each trait runs only {@link SharedProbeRuns#pairedProbes} of those probes restricted to its
   * samples (at least {@link SharedProbeRuns#MIN_PAIRED}, also when its samples are U: its runs are on its ΠKΠ, the
   * shared ones on K_U): its traces unbiased, their Monte Carlo variance about that of R
   * probes of its own (0.7–1.1× at N = M = 5,000, up to 3× on a small case; reported in its diagnostics), for a
   * fraction of the passes. θ̂ then equals the
   * trait's run alone within that Monte Carlo error, not to rounding. Each trait's deflation preconditioner then
   * also starts from the leading Ritz vectors of K over the union ({@link #DEFLATION_PASSES} passes, once),
   * restricted to its samples and taken with their Ritz values as they are, with no pass of its own
   * ({@link LeadingEigenspace#borrowed}; by quadrature the REML solves only X's columns at the end, so the
   * preconditioner serves the assoc route's LOCO solves: 20 traits at N = M = 10,000 took 4,139 LOCO column-passes with
   * it against 4,121 with a refining pass of 32 columns per trait, which cost 640; the preconditioner moves where CG
   * stops inside its tolerance, not the estimates; not with {@code sharedProbes} off, where the assoc route's LOCO
   * solves reuse it and must stop where the trait's run alone stops). Without, each trait runs all R of its own.
   */
  public static List<Outcome> fitTogether(SharedGenotypePasses passes, List<RemlProblem> problems, Options options,
      List<Consumer<String>> progress, boolean sharedProbes) {
    if (progress.size() != problems.size()) {
      throw new IllegalArgumentException(problems.size() + " problems but " + progress.size() + " progress receivers");
    }
    List<TraitProbes> probes = sharedProbes ? shareProbes(passes, problems, options) : null;
    List<java.util.concurrent.Callable<Outcome>> fits = new ArrayList<>();
    for (int t = 0; t < problems.size(); t++) {
      RemlProblem problem = problems.get(t);
      Consumer<String> lines = progress.get(t);
      TraitProbes mine = probes == null ? null : probes.get(t);
      fits.add(() -> new Run(problem, options, lines, true, mine).fit(null, false));
    }
    List<Outcome> outcomes = passes.runAll(fits, "reml-trait");
    return probes == null ? outcomes : refitOnBoundary(passes, problems, options, progress, probes, outcomes);
  }

  /**
   * Refits, with all R probes of its own (in lock-step among themselves), each trait whose fit with the shared
   * runs' control variates ended on the boundary: there its score is noise, and the controls, fitted to track
   * the trait's own probes near its θ, may stop doing so (a small case, n = 400 with 32 % missing, stayed at the
   * residual floor where the trait's run alone did not). So a trait on the boundary is reported as its own
   * probes find it, the estimate of its run alone up to the solves' tolerance; the others keep their fits.
   */
  private static List<Outcome> refitOnBoundary(SharedGenotypePasses passes, List<RemlProblem> problems,
      Options options, List<Consumer<String>> progress, List<TraitProbes> probes, List<Outcome> outcomes) {
    List<Integer> again = new ArrayList<>();
    for (int t = 0; t < outcomes.size(); t++) {
      boolean onBoundary = false;
      for (boolean b : outcomes.get(t).fit().boundary()) {
        onBoundary |= b;
      }
      if (onBoundary) {
        again.add(t);
      }
    }
    if (again.isEmpty()) {
      return outcomes;
    }
    List<RemlProblem> subset = new ArrayList<>();
    List<Consumer<String>> lines = new ArrayList<>();
    for (int t : again) {
      progress.get(t).accept("on the boundary with the shared runs as control variates: refitted with its own "
          + options.probes() + " probes");
      subset.add(problems.get(t));
      lines.add(progress.get(t));
    }
    List<Outcome> refits = fitTogether(passes, subset, options, lines, false);
    List<Outcome> merged = new ArrayList<>(outcomes);
    for (int i = 0; i < again.size(); i++) {
      merged.set(again.get(i), refits.get(i));
    }
    return merged;
  }

  /**
   * Trait t's share of the runs: its index among the traits, its samples' positions in U, and the start of its
   * deflation preconditioner (K_U's leading Ritz vectors restricted to its samples), or null.
   */
  record TraitProbes(SharedProbeRuns runs, int trait, int[] positions, double[] deflationStart,
      double[] deflationValues) {}

  /**
   * The shared runs over the union of the traits' samples (in order of first appearance, the largest trait first,
   * so that a trait with every sample covers it), or null when they do not apply: one trait, several components, or a
   * component that is not K over {@code passes} with every chromosome.
   */
  static List<TraitProbes> shareProbes(SharedGenotypePasses passes, List<RemlProblem> problems, Options o) {
    if (problems.size() < 2) {
      return null;
    }
    List<int[]> rows = new ArrayList<>();
    for (RemlProblem problem : problems) {
      if (problem.components().size() != 1
          || !(problem.components().get(0).covariance() instanceof GenomicRelationshipOperator k)
          || k.products() != passes || k.excluded() >= 0) {
        return null;
      }
      rows.add(k.rows());
    }
    // The largest trait first (the union's order follows its samples).
    List<int[]> bySize = new ArrayList<>(rows);
    bySize.sort((a, b) -> Integer.compare(b.length, a.length));
    java.util.Map<Integer, Integer> position = new java.util.LinkedHashMap<>();
    for (int[] rs : bySize) {
      for (int row : rs) {
        position.putIfAbsent(row, position.size());
      }
    }
    int[] union = position.keySet().stream().mapToInt(Integer::intValue).toArray();
    int[][] missing = new int[rows.size()][];
    int[][] positions = new int[rows.size()][];
    for (int t = 0; t < rows.size(); t++) {
      boolean[] in = new boolean[union.length];
      positions[t] = new int[rows.get(t).length];
      for (int i = 0; i < positions[t].length; i++) {
        positions[t][i] = position.get(rows.get(t)[i]);
        in[positions[t][i]] = true;
      }
      missing[t] = java.util.stream.IntStream.range(0, union.length).filter(i -> !in[i]).toArray();
    }
    GenomicRelationshipOperator unionK = new GenomicRelationshipOperator(passes, union, -1);
    SharedProbeRuns runs = new SharedProbeRuns(unionK, passes, missing, o.probes(), o.seed());
    // The deflation preconditioner's start: K_U's leading Ritz vectors ({@link #DEFLATION_PASSES} passes, once,
    // before the fits), restricted to each trait's samples and borrowed with their values (no pass of its own).
    int rank = Math.min(o.deflationRank(), union.length / 4);
    LeadingEigenspace unionSpace = rank < 1 ? null
        : LeadingEigenspace.compute(unionK, rank, DEFLATION_PASSES, o.seed() + 1);
    List<TraitProbes> out = new ArrayList<>();
    for (int t = 0; t < rows.size(); t++) {
      int n = positions[t].length;
      int k = Math.min(o.deflationRank(), n / 4);
      double[] start = null;
      if (unionSpace != null && k == rank) {
        start = new double[n * k];
        for (int j = 0; j < k; j++) {
          for (int i = 0; i < n; i++) {
            start[i + j * n] = unionSpace.vectors()[positions[t][i] + j * union.length];
          }
        }
      }
      out.add(new TraitProbes(runs, t, positions[t], start, unionSpace == null ? null : unionSpace.values()));
    }
    return out;
  }

  /** R Rademacher probes over n samples, n×R column-major, from {@code seed}: the same seed, the same probes. */
  static double[] rademacher(int n, int r, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    double[] z = new double[n * r];
    for (int i = 0; i < z.length; i++) {
      z[i] = rnd.nextBoolean() ? 1 : -1;
    }
    return z;
  }

  /** V(θ) = Σ θ_k V_k + θ_e I as an operator; counts products. */
  static final class CovarianceOperator implements SymmetricOperator {
    final List<SymmetricOperator> parts;
    final double[] theta;
    final int n;
    int products;

    CovarianceOperator(List<SymmetricOperator> parts, double[] theta, int n) {
      this.parts = parts;
      this.theta = theta;
      this.n = n;
    }

    @Override
    public int size() {
      return n;
    }

    @Override
    public void apply(double[] in, int k, double[] out) {
      products++;
      int len = n * k;
      double te = theta[parts.size()];
      for (int i = 0; i < len; i++) {
        out[i] = te * in[i];
      }
      double[] tmp = new double[len];
      for (int c = 0; c < parts.size(); c++) {
        if (theta[c] == 0) {
          continue;
        }
        parts.get(c).apply(in, k, tmp);
        double t = theta[c];
        for (int i = 0; i < len; i++) {
          out[i] += t * tmp[i];
        }
      }
    }

    @Override
    public double trace() {
      throw new UnsupportedOperationException();
    }
  }

  /**
   * State of one fit: the matrix-free likelihood that {@link AiReml#maximize} drives. Its evaluations
   * carry the {@link Eval} (solutions, K·X, lagged AI columns) the next one warm-starts from.
   */
  private static final class Run implements RemlLikelihood {
    final RemlProblem problem;
    final Options o;
    final int n;
    final int p;
    final int kk;
    final int m;
    final int r;
    final double[] y;
    final double[] x;
    final List<SymmetricOperator> parts = new ArrayList<>();
    final double[][] diag;
    final double[] z;
    final double[][] vkz;
    /** The covariates projected out of every solve and of the probes' runs: {@code P = Π(ΠVΠ)⁺Π}. */
    final CovariateProjection proj;
    int products;
    final List<Integer> cgIterations = new ArrayList<>();
    final Consumer<String> progress;
    final LeadingEigenspace eigenspace;
    /**
     * The Lanczos runs of this trait's own probes on the component, covariates projected out (one component,
     * {@code lanczosTraces}); null: probes solved per evaluation.
     */
    final ProbeLanczos lanczos;
    /** The runs shared with other traits fitted together ({@link SharedProbeRuns}); null when not shared. */
    final TraitProbes shared;
    /** The traces by Lanczos quadrature (own or shared runs) rather than by solving the probes. */
    final boolean byQuadrature;
    /** This trait's own runs paired with the shared ones as control variates. */
    final boolean paired;

    Run(RemlProblem problem, Options o, Consumer<String> progress, boolean lanczosTraces, TraitProbes shared) {
      this.problem = problem;
      this.o = o;
      this.progress = progress;
      this.n = problem.n();
      this.p = problem.p();
      this.kk = problem.components().size();
      this.m = kk + 1;
      this.shared = lanczosTraces && kk == 1 ? shared : null;
      this.byQuadrature = lanczosTraces && kk == 1;
      this.paired = this.shared != null;
      this.r = paired ? this.shared.runs().pairedProbes(this.shared.trait()) : o.probes();
      this.y = problem.y();
      this.x = problem.x();
      this.proj = new CovariateProjection(x, n, p);
      this.diag = new double[kk][];
      for (VarianceComponent c : problem.components()) {
        parts.add(c.covariance());
      }
      for (int k = 0; k < kk; k++) {
        diag[k] = diagonalOf(parts.get(k), n);
      }
      // V_k z_r once when the probes are solved: they never change. With Lanczos traces, the runs on ΠKΠ from Πz_r.
      vkz = new double[kk][];
      if (paired) {
        // The first r shared probes restricted to the trait's samples, paired with their runs over the union.
        double[] w = this.shared.runs().probeVectors();
        int nu = this.shared.runs().size();
        int[] pos = this.shared.positions();
        z = new double[n * r];
        for (int j = 0; j < r; j++) {
          for (int i = 0; i < n; i++) {
            z[i + j * n] = w[pos[i] + j * nu];
          }
        }
        lanczos = ProbeLanczos.withSolved(parts.get(0), z, r, proj, y, o.cgTolerance());
        products += lanczos.products();
      } else if (byQuadrature) {
        z = rademacher(n, r, o.seed());
        lanczos = ProbeLanczos.withSolved(parts.get(0), z, r, proj, y, o.cgTolerance());
        products += lanczos.products();
      } else {
        z = rademacher(n, r, o.seed());
        lanczos = null;
        // V_k Πz_r: the traces' estimator (Pz_r)ᵀ V_k Πz_r, whose per-probe values are those of the Lanczos route's.
        double[] pz = proj.projected(z, r);
        for (int k = 0; k < kk; k++) {
          vkz[k] = new double[n * r];
          parts.get(k).apply(pz, r, vkz[k]);
          products++;
        }
      }
      int rank = Math.min(o.deflationRank(), n / 4);
      if (rank > 0 && kk > 0) {
        double[] start = this.shared == null ? null : this.shared.deflationStart();
        eigenspace = start != null && start.length == (long) n * rank
            ? LeadingEigenspace.borrowed(parts.get(0), rank, start, this.shared.deflationValues())
            : LeadingEigenspace.compute(parts.get(0), rank, DEFLATION_PASSES, o.seed() + 1);
        products += eigenspace.passes();
        progress.accept("preconditioner: " + problem.components().get(0).name() + ": " + eigenspace.describe());
      } else {
        eigenspace = null;
      }
    }

    /**
     * The preconditioner at θ: deflation on the first component's Ritz pairs, the other components by
     * their mean diagonal; or Jacobi, {@code diag(V)}; null when neither is positive definite.
     */
    BatchedPcg.Preconditioner preconditioner(double[] theta) {
      if (eigenspace != null) {
        double shift = theta[kk];
        for (int k = 1; k < kk; k++) {
          shift += theta[k] * SmallMatrices.sum(diag[k]) / n;
        }
        return shift > 0 ? new SpectralPreconditioner(eigenspace, theta[0], shift) : null;
      }
      double[] d = new double[n];
      for (int i = 0; i < n; i++) {
        d[i] = theta[kk];
        for (int k = 0; k < kk; k++) {
          d[i] += theta[k] * diag[k][i];
        }
        if (!(d[i] > 0)) {
          return null;
        }
      }
      return BatchedPcg.Preconditioner.diagonal(d);
    }


    @Override
    public int parameters() {
      return m;
    }

    @Override
    public int samples() {
      return n;
    }

    @Override
    public Convergence convergence() {
      return new Convergence.StepSize(o.tolerance());
    }

    @Override
    public RemlLikelihood.Evaluation evaluate(double[] theta) {
      return evaluate(theta, null, true);
    }

    @Override
    public RemlLikelihood.Evaluation evaluate(double[] theta, RemlLikelihood.Evaluation previous, boolean needAi) {
      Eval e = byQuadrature ? evaluateByQuadrature(theta)
          : evaluateAt(theta, previous == null ? null : (Eval) previous.state(), needAi);
      // No log-likelihood per evaluation (it costs a solve of its own): NaN, and the optimizer judges by step size.
      return e == null ? RemlLikelihood.Evaluation.notPositiveDefinite()
          : new RemlLikelihood.Evaluation(true, Double.NaN, e.score, e.ai, null, e.py, null, null, e);
    }

    @Override
    public double[] observedInformation(double[] theta) {
      return null;
    }

    static double[] diagonalOf(SymmetricOperator a, int n) {
      if (a instanceof GenomicRelationshipOperator || a instanceof ScaledOperator) {
        return a.diagonal();
      }
      double[] d = new double[n];
      if (a instanceof DenseSymmetricMatrix dm) {
        for (int i = 0; i < n; i++) {
          d[i] = dm.get(i, i);
        }
      } else {
        Arrays.fill(d, a.trace() / n);
      }
      return d;
    }

    /**
     * One evaluation at θ (null when V is not positive definite there), warm-started from the last
     * accepted one, {@code previous}: its solutions (and their ΠK·X, when known, for the first residual)
     * and its {@code u = [ΠV_1 Py … ΠV_K Py, Py]} (n×m), solved in the same batch as y and the probes for
     * the AI matrix. Null (the start) means a cold solve and a separate thin one when {@code needAi}. Every
     * column is solved against {@code ΠVΠ} on the complement of X ({@link CovariateProjection}): its solution
     * is P times the column.
     */
    Eval evaluateAt(double[] theta, Eval previous, boolean needAi) {
      double[] lagged = previous == null ? null : previous.u;
      CovarianceOperator v = new CovarianceOperator(parts, theta, n);
      SymmetricOperator a = proj.onComplement(v);
      BatchedPcg.Preconditioner full = preconditioner(theta);
      BatchedPcg.Preconditioner pre = proj.compress(full);
      // y and the probes, then the lagged AI columns.
      int q0 = 1 + r;
      int q = q0 + (lagged == null ? 0 : m);
      double[] b = new double[n * q];
      System.arraycopy(y, 0, b, 0, n);
      System.arraycopy(z, 0, b, n, n * r);
      if (lagged != null) {
        System.arraycopy(lagged, 0, b, n * q0, n * m);
      }
      proj.project(b, 0, q);
      double[] x0 = previous == null ? null : Arrays.copyOf(previous.solution, n * q);
      BatchedPcg.Result s;
      if (x0 != null && previous.kSolution != null) {
        // ΠVΠ x0 = θ_g ΠKΠ x0 + θ_e x0 from the ΠK x0 the last solve gave: no pass for the first residual.
        double[] vx0 = Arrays.copyOf(previous.kSolution, n * q);
        for (int i = 0; i < vx0.length; i++) {
          vx0[i] = theta[0] * vx0[i] + theta[kk] * x0[i];
        }
        s = BatchedPcg.solve(a, b, q, x0, vx0, pre, o.cgTolerance(), o.maxCgIterations());
      } else {
        s = BatchedPcg.solve(a, b, q, x0, pre, o.cgTolerance(), o.maxCgIterations(), false);
      }
      cgIterations.add(s.maxIterations());
      progress.accept(String.format(Locale.ROOT, "REML evaluation at θ = %s: %d CG iterations over %d columns%s; "
          + "%d operator products so far", fmt(theta), s.maxIterations(), q, s.allConverged() ? "" : " (not converged)",
          products + v.products));
      if (!s.allConverged()) {
        products += v.products;
        return null;
      }
      double[] sol = s.x();
      double[] ks = componentTimesSolution(theta, b, s, q);
      double[] py = Arrays.copyOf(sol, n);
      // Per-probe trace estimates t[k][r] = (P z_r)ᵀ (V_k z_r); the residual's from tr(PV) = n − p.
      double[][] t = new double[m][r];
      for (int j = 0; j < r; j++) {
        for (int k = 0; k < kk; k++) {
          t[k][j] = dot(sol, (1 + j) * n, vkz[k], j * n, n);
        }
      }
      double[] tr = traces(theta, t, null);
      // u_k = ΠV_k P y (one pass each; none with one component: ΠK Py from the solve), u_e = P y: the score now, the
      // AI matrix's columns at the next evaluation (u_kᵀ P u_l = (V_k Py)ᵀ P (V_l Py), P = ΠPΠ).
      double[] u = new double[n * m];
      if (ks != null) {
        System.arraycopy(ks, 0, u, 0, n);
      } else {
        for (int k = 0; k < kk; k++) {
          double[] uk = new double[n];
          parts.get(k).apply(py, 1, uk);
          v.products++;
          proj.project(uk, 0, 1);
          System.arraycopy(uk, 0, u, k * n, n);
        }
      }
      System.arraycopy(py, 0, u, kk * n, n);
      double[] yPVPy = new double[m];
      double[] score = new double[m];
      for (int k = 0; k < m; k++) {
        yPVPy[k] = dot(u, k * n, py, 0, n);
        score[k] = -0.5 * (tr[k] - yPVPy[k]);
      }
      // AI_kl = ½ u_kᵀ P u_l: with the lagged u from the batch above, else (the start) by a thin solve.
      double[] aiCols = lagged;
      double[] aiSol = lagged == null ? null : Arrays.copyOfRange(sol, n * q0, n * q);
      if (lagged == null && needAi) {
        BatchedPcg.Result w = BatchedPcg.solve(a, u, m, null, pre, o.cgTolerance(), o.maxCgIterations(), false);
        cgIterations.add(w.maxIterations());
        if (!w.allConverged()) {
          products += v.products;
          return null;
        }
        aiCols = u;
        aiSol = w.x();
        // The next evaluation solves these u again (its lagged AI columns) at a θ one step away: start it
        // from these solutions, with their ΠK·X, rather than from zero.
        double[] kw = ks == null ? null : componentTimesSolution(theta, u, w, m);
        sol = concat(sol, aiSol, n * q0, n * m);
        ks = kw == null ? null : concat(ks, kw, n * q0, n * m);
      }
      products += v.products;
      double[] ai = null;
      if (aiCols != null) {
        ai = new double[m * m];
        Blas.dgemm(true, false, m, m, n, 0.5, aiCols, n, aiSol, n, 0.0, ai, m);
        SmallMatrices.symmetrize(ai, m);
      }
      return new Eval(theta.clone(), score, ai, py, scoreCov(theta, t, tr, null), sol, ks, u);
    }

    /**
     * The traces {@code tr(PV_k)} from the per-probe estimates {@code t[k][j]} of the components (k &lt; K): the residual's
     * per probe from {@code tr(PV) = n − p} (filled in), the means over the probes; with {@code controlled} (the shared
     * runs' estimate of tr(PK) and its variance) tr(PK) from it and the residual's from it.
     */
    double[] traces(double[] theta, double[][] t, double[] controlled) {
      for (int j = 0; j < r; j++) {
        double rest = n - p;
        for (int k = 0; k < kk; k++) {
          rest -= theta[k] * t[k][j];
        }
        t[kk][j] = rest / theta[kk];
      }
      double[] tr = new double[m];
      for (int k = 0; k < m; k++) {
        for (int j = 0; j < r; j++) {
          tr[k] += t[k][j];
        }
        tr[k] /= r;
      }
      if (controlled != null) {
        tr[0] = controlled[0];
        tr[1] = (n - p - theta[0] * controlled[0]) / theta[1];
      }
      return tr;
    }

    /**
     * Covariance of the score estimate from the spread over probes: cov(tr_k, tr_l)/(4R); with control variates
     * ({@code controlled}), var(tr_g)/4 times the gradient (1, −θ_g/θ_e) of (tr_g, tr_e) twice.
     */
    double[] scoreCov(double[] theta, double[][] t, double[] tr, double[] controlled) {
      double[] scoreCov = new double[m * m];
      for (int k = 0; controlled != null && k < m; k++) {
        for (int l2 = 0; l2 < m; l2++) {
          scoreCov[k + l2 * m] = (k == 0 ? 1 : -theta[0] / theta[1]) * (l2 == 0 ? 1 : -theta[0] / theta[1])
              * controlled[1] / 4;
        }
      }
      for (int k = 0; controlled == null && k < m; k++) {
        for (int l2 = 0; l2 < m; l2++) {
          double sum = 0;
          for (int j = 0; j < r; j++) {
            sum += (t[k][j] - tr[k]) * (t[l2][j] - tr[l2]);
          }
          scoreCov[k + l2 * m] = sum / (r - 1) / r / 4;
        }
      }
      return scoreCov;
    }

    /**
     * One evaluation at θ with the traces by quadrature ({@code byQuadrature}, one component): no solve at all. The
     * runs (the probes' and y's, {@link ProbeLanczos#withSolved}) are extended as far as θ needs; with B = θ_gT + θ_e
     * over y's run (T its Lanczos matrix on ΠKΠ from Πy, e_1 its first unit vector), on range Π where
     * {@code P = (θ_gΠKΠ + θ_eΠ)⁺} (class doc), Gauss quadrature gives
     * {@code yᵀPy = ‖Πy‖² e_1ᵀB⁻¹e_1}, the score's quadratics {@code yᵀPKPy = ‖Πy‖² e_1ᵀB⁻¹TB⁻¹e_1} and
     * {@code yᵀPPy = ‖Πy‖² e_1ᵀB⁻²e_1}, and the AI matrix {@code AI_kl = ½(V_kPy)ᵀP(V_lPy)} exact at θ (not lagged):
     * {@code ½‖Πy‖² e_1ᵀ T^a B⁻³ e_1} with a = 2, 1, 0 for (g, g), (g, e), (e, e) (T and B commute). Null when a run
     * would need more than {@code maxCgIterations} steps.
     */
    Eval evaluateByQuadrature(double[] theta) {
      double tg = theta[0];
      double te = theta[1];
      double[][] t = new double[m][r];
      if (!lanczosTraces(theta, t[0])) {
        return null;
      }
      // With shared runs: tr(PK) from the trait's runs and their control variates, and its Monte Carlo variance.
      double[] controlled = paired ? pairedEstimate(t[0], lambda -> lambda / (tg * lambda + te), theta) : null;
      double[] tr = traces(theta, t, controlled);
      double yPy = lanczos.quadratic(r, lambda -> 1 / (tg * lambda + te));
      double[] yPVPy = {
          lanczos.quadratic(r, lambda -> lambda / Math.pow(tg * lambda + te, 2)),
          lanczos.quadratic(r, lambda -> 1 / Math.pow(tg * lambda + te, 2))};
      double[] score = new double[m];
      for (int k = 0; k < m; k++) {
        score[k] = -0.5 * (tr[k] - yPVPy[k]);
      }
      double[] ai = new double[m * m];
      for (int k = 0; k < m; k++) {
        for (int l = k; l < m; l++) {
          int power = (k == 0 ? 1 : 0) + (l == 0 ? 1 : 0);
          ai[k + l * m] = 0.5 * lanczos.quadratic(r, lambda -> Math.pow(lambda, power) / Math.pow(tg * lambda + te, 3));
          ai[l + k * m] = ai[k + l * m];
        }
      }
      progress.accept(String.format(Locale.ROOT, "REML evaluation at θ = %s: by quadrature over the runs (probes %d "
          + "steps, y %d steps), no solve; yᵀPy %.6g; %d operator products so far", fmt(theta), probeSteps(),
          lanczos.steps(r), yPy, products));
      return new Eval(theta.clone(), score, ai, null, scoreCov(theta, t, tr, controlled), null, null, null);
    }

    /**
     * Py at θ from y's run ({@link ProbeLanczos#apply}): {@code ‖Πy‖ Q B⁻¹ e_1}, CG's iterate on ΠVΠ from Πy after the
     * run's steps, extended at θ to CG's tolerance ({@code cgTolerance}); no pass. Projected (range Π).
     */
    double[] quadraturePy(double[] theta) {
      double tg = theta[0];
      double te = theta[1];
      double[] py = lanczos.apply(r, lambda -> 1 / (tg * lambda + te));
      proj.project(py, 0, 1);
      return py;
    }

    /**
     * {@code t_r = (Πz_r)ᵀ g(ΠKΠ) Πz_r} for every probe from its Lanczos run on ΠKΠ (extended as far as θ needs), the
     * quadrature of {@code g(λ) = λ/(θ_gλ + θ_e)}: an unbiased estimate of {@code tr(PK)} (class doc). False when the
     * runs would need more than {@code maxCgIterations} steps.
     */
    boolean lanczosTraces(double[] theta, double[] out) {
      double tg = theta[0];
      double te = theta[1];
      if (!extendRuns(theta)) {
        return false;
      }
      for (int j = 0; j < r; j++) {
        out[j] = ownQuadratic(j, lambda -> lambda / (tg * lambda + te), theta);
      }
      return true;
    }

    /**
     * Extends the runs the traces read (the trait's own, the shared ones, or both) as far as θ needs; false when
     * they would need more than {@code maxCgIterations} steps.
     */
    boolean extendRuns(double[] theta) {
      double tg = theta[0];
      double te = theta[1];
      if (!(tg > 0)) {
        return true;
      }
      if (shared == null) {
        int before = lanczos.products();
        boolean reached = lanczos.extendUntil(te / tg, lanczosTolerance(o), o.maxCgIterations());
        products += lanczos.products() - before;
        return reached;
      }
      // Own and shared runs stepped in the same passes (the shared runs' steps taken meanwhile by other traits are
      // counted too: a trait's count is the products its traces waited for).
      int before = (lanczos == null ? 0 : lanczos.products()) + shared.runs().products();
      boolean reached = shared.runs().extendWith(lanczos, parts.get(0), te / tg, lanczosTolerance(o),
          o.maxCgIterations());
      products += (lanczos == null ? 0 : lanczos.products()) + shared.runs().products() - before;
      return reached;
    }

    /** {@code (Πz_j)ᵀ f(ΠKΠ) Πz_j} of this trait's probe j, from its own run. */
    double ownQuadratic(int j, java.util.function.DoubleUnaryOperator f, double[] theta) {
      return lanczos.quadratic(j, f);
    }

    /**
     * {@code tr f(K)} from this trait's per-probe values {@code own} (its own runs) and their control variates
     * from the shared runs ({@link SharedProbeRuns#estimate}): the estimate and its Monte Carlo variance.
     */
    double[] pairedEstimate(double[] own, java.util.function.DoubleUnaryOperator f, double[] theta) {
      double[] cs = shared.runs().controls(shared.trait(), f, theta[1] / theta[0], lanczosTolerance(o));
      return SharedProbeRuns.estimate(own, cs, SharedProbeRuns.weight(theta[1] / theta[0]));
    }

    Outcome fit(double[] start, boolean residualFixed) {
      double[] s2 = new double[1];
      problem.nullLogL(s2);
      List<String> names = new ArrayList<>();
      for (VarianceComponent c : problem.components()) {
        names.add(c.name());
      }
      List<String> parameterNames = new ArrayList<>(names);
      parameterNames.add("e");
      ParameterSpace space = ParameterSpace.identity(parameterNames, n, RESIDUAL_FLOOR * s2[0]);
      if (residualFixed) {
        // The same space with the residual held at its start value.
        ParameterSpace.Builder b = ParameterSpace.builder();
        for (int k = 0; k < m; k++) {
          b.add(parameterNames.get(k), space.kind(k), k == kk ? RESIDUAL_FLOOR * s2[0] : 0, n);
        }
        boolean[] fixed = new boolean[m];
        fixed[kk] = true;
        space = b.build(fixed);
      }
      AiReml.Optimum opt = new AiReml("matrix-free", null, o.emSteps(), o.maxIterations())
          .maximize(this, space, start == null ? SmallMatrices.filled(m, s2[0] / m) : start.clone());
      Eval ev = (Eval) opt.evaluation().state();
      int it = opt.iterations();
      boolean converged = opt.converged();
      boolean[] boundary = opt.boundary();
      double[] cov = ev.ai == null ? null : residualFixed ? freeInverse(ev.ai, m, kk) : SmallMatrices.invertSpd(ev.ai, m);
      if (cov == null) {
        cov = new double[m * m];
        Arrays.fill(cov, Double.NaN);
      }
      double[] mc = new double[m * m];
      if (cov[0] == cov[0]) {
        double[] tmp = new double[m * m];
        Blas.dgemm(false, false, m, m, m, 1.0, cov, m, ev.scoreCov, m, 0.0, tmp, m);
        Blas.dgemm(false, false, m, m, m, 1.0, tmp, m, cov, m, 0.0, mc, m);
      } else {
        Arrays.fill(mc, Double.NaN);
      }
      double logL = Double.NaN;
      double[] logDet = {Double.NaN, Double.NaN};
      // V⁻¹X for the fixed effects: solved in the same batch as log|V|'s probes when they are solved at the end.
      double[] vinvX = o.logLikelihood() && !byQuadrature && p > 0 ? new double[n * p] : null;
      if (o.logLikelihood()) {
        logDet = logDetV(ev.theta, vinvX);
        if (logDet.length < 3 || logDet[2] == 0) {
          vinvX = null;
        }
      }
      // By quadrature, Py at θ̂ from y's run (its Lanczos vectors kept: no pass); else from the last solve.
      double[] py = byQuadrature ? quadraturePy(ev.theta) : ev.py;
      FixedEffects fe = fixedEffects(ev.theta, py, vinvX);
      if (o.logLikelihood()) {
        // By quadrature the runs are on ΠKΠ: their log is log det(ΠVΠ on range Π) = log|V| + log|C| − log|XᵀX| (class
        // doc), so logL's log|V| + log|C| needs no C; log|V| alone does (NaN without it).
        double logDetVC = byQuadrature ? logDet[0] + proj.logDetGram() : logDet[0] + fe.logDetC();
        logL = -0.5 * (logDetVC + BatchedPcg.dot(y, py, 0, n));
        if (byQuadrature) {
          logDet[0] = logDetVC - fe.logDetC();
        }
      }
      String message = opt.message() + String.format(Locale.ROOT, "; %d probes (seed %d)%s, CG to %.0e relative residual, "
          + "covariates projected out, %d operator products in all", r, o.seed(), !byQuadrature ? ""
          : ", traces by Lanczos quadrature (" + maxSteps() + " steps)" + (shared == null ? "" : ", paired with "
          + shared.runs().probes() + " runs shared over the union of the traits' " + shared.runs().size()
          + " samples as control variates") + ", y's quadratic forms and AI matrix by its own run (" + lanczos.steps(r)
          + " steps)", o.cgTolerance(), products);
      RemlFit fit = new RemlFit("matrix-free", names, ev.theta, cov, null, logL, ev.score, fe.beta(), fe.cinv(), py,
          boundary, it, converged, message);
      int[] cg = cgIterations.stream().mapToInt(Integer::intValue).toArray();
      return new Outcome(fit, new Diagnostics(products, cg, mc, r, logDet[0], logDet[1], eigenspace));
    }

    /** β̂, {@code C⁻¹ = (XᵀV⁻¹X)⁻¹} and {@code log|C|} at the estimate. */
    record FixedEffects(double[] beta, double[] cinv, double logDetC) {}

    /**
     * Relative residual to which V⁻¹X is solved at the end (as log|V|'s probes, {@link #logDetV}): C = XᵀV⁻¹X is a
     * quadratic form, whose CG error is about the square of the residual (≲ 1e-6 relative at 1e-3), as is log|C|.
     */
    double endTolerance() {
      return Math.max(o.cgTolerance(), Math.min(1e-3, Math.sqrt(o.cgTolerance())));
    }

    /**
     * The fixed effects at θ (the evaluations solve against ΠVΠ and never see X), once per fit: {@code β̂} from
     * {@code Xβ̂ = y − V·Py} (one product with Py, to Py's accuracy: {@code β̂ = (XᵀX)⁻¹Xᵀ(y − VPy)}); {@code C = XᵀW}
     * from {@code W = V⁻¹X}, given ({@code vinvX}, solved beside log|V|'s probes) or solved here to
     * {@link #endTolerance} (p columns) if {@link Options#fixedEffectCovariance}. NaN when not given and not solved,
     * when the solve fails or C is not positive definite.
     */
    FixedEffects fixedEffects(double[] theta, double[] py, double[] vinvX) {
      double[] nan = new double[p * p];
      Arrays.fill(nan, Double.NaN);
      double[] nanBeta = new double[p];
      Arrays.fill(nanBeta, Double.NaN);
      if (p == 0) {
        return new FixedEffects(new double[0], new double[0], 0);
      }
      CovarianceOperator v = new CovarianceOperator(parts, theta, n);
      double[] w = vinvX;
      if (w == null && o.fixedEffectCovariance()) {
        BatchedPcg.Result s = BatchedPcg.solve(v, x, p, null, preconditioner(theta), endTolerance(),
            o.maxCgIterations(), false);
        cgIterations.add(s.maxIterations());
        progress.accept(String.format(Locale.ROOT, "fixed effects at θ = %s: %d CG iterations over %d columns%s",
            fmt(theta), s.maxIterations(), p, s.allConverged() ? "" : " (not converged)"));
        w = s.allConverged() ? s.x() : null;
      }
      double[] vpy = new double[n];
      v.apply(py, 1, vpy);
      products += v.products;
      double[] beta = nanBeta;
      double[] gram = new double[p * p];
      Blas.dgemm(true, false, p, p, n, 1.0, x, n, x, n, 0.0, gram, p);
      if (Blas.dpotrfLower(p, gram)) {
        double[] rest = y.clone();
        for (int i = 0; i < n; i++) {
          rest[i] -= vpy[i];
        }
        beta = new double[p];
        Blas.dgemv(true, n, p, 1.0, x, rest, 0.0, beta);
        Blas.dpotrsLower(p, 1, gram, beta);
      }
      if (w == null) {
        return new FixedEffects(beta, nan, Double.NaN);
      }
      double[] c = new double[p * p];
      Blas.dgemm(true, false, p, p, n, 1.0, x, n, w, n, 0.0, c, p);
      SmallMatrices.symmetrize(c, p);
      double[] l = c.clone();
      if (!Blas.dpotrfLower(p, l)) {
        return new FixedEffects(beta, nan, Double.NaN);
      }
      double logDetC = 0;
      for (int j = 0; j < p; j++) {
        logDetC += 2 * Math.log(l[j + j * p]);
      }
      double[] cinv = l.clone();
      Blas.dpotriLowerFull(p, cinv);
      return new FixedEffects(beta, cinv, logDetC);
    }

    /**
     * The inverse of the AI matrix over the components alone (the residual held fixed: its row and
     * column 0), as the dense fitter reports a fit with fixed parameters; null when not invertible.
     */
    static double[] freeInverse(double[] ai, int m, int free) {
      double[] block = new double[free * free];
      for (int i = 0; i < free; i++) {
        for (int j = 0; j < free; j++) {
          block[i + j * free] = ai[i + j * m];
        }
      }
      double[] inv = SmallMatrices.invertSpd(block, free);
      if (inv == null) {
        return null;
      }
      double[] cov = new double[m * m];
      for (int i = 0; i < free; i++) {
        for (int j = 0; j < free; j++) {
          cov[i + j * m] = inv[i + j * free];
        }
      }
      return cov;
    }

    /**
     * {@code ΠK·X} for the solutions X of {@code ΠVΠ X = B} (B projected, X in range Π) without a pass, when V has
     * one component, {@code V = θ_g K + θ_e I}: {@code ΠK X = (B − R − θ_e X)/θ_g}, R the CG residual (= B − ΠVΠ X up
     * to rounding of the order of the products' own). Null with several components, or when θ_g is so small
     * against θ_e that the division would amplify that rounding.
     */
    double[] componentTimesSolution(double[] theta, double[] b, BatchedPcg.Result s, int q) {
      if (kk != 1 || !(theta[0] > DERIVED_PRODUCT_MIN_RATIO * theta[1])) {
        return null;
      }
      double[] ks = new double[n * q];
      double[] x = s.x();
      double[] res = s.residual();
      for (int i = 0; i < ks.length; i++) {
        ks[i] = (b[i] - res[i] - theta[1] * x[i]) / theta[0];
      }
      return ks;
    }

    /**
     * log|V| at θ by Lanczos quadrature over the probes, and its MC SE. With the deflation preconditioner
     * M, {@code log|V| = log|M| + tr log(M^{-1/2} V M^{-1/2})}, the quadrature running on the
     * well-conditioned {@code M^{-1/2} V M^{-1/2}} (cold, unpreconditioned CG on it); with Jacobi, on V
     * itself. The quadrature of {@code zᵀ log(A) z} after j Lanczos steps converges like the square of
     * CG's residual after j steps (Golub–Meurant; Ubaru, Chen &amp; Saad 2017), so the solve stops at
     * {@code sqrt(cgTolerance)} (1e-3 for the default): quadrature error ~1e-6 relative, far below the
     * Monte Carlo error of the probe average, for about half the passes.
     */
    double[] logDetV(double[] theta, double[] vinvX) {
      if (byQuadrature) {
        return lanczosLogDet(theta);
      }
      CovarianceOperator v = new CovarianceOperator(parts, theta, n);
      SymmetricOperator a = v;
      double logDetM = 0;
      SpectralPreconditioner whitening = preconditioner(theta) instanceof SpectralPreconditioner m ? m : null;
      if (whitening != null) {
        logDetM = whitening.logDet();
        a = whitening.whiten(v);
      }
      // With vinvX, X rides in the batch ({@link #fixedEffects}): M^{-1/2}X solved against M^{-1/2}VM^{-1/2} gives
      // M^{1/2}V⁻¹X, to the same tolerance.
      int extra = vinvX == null ? 0 : p;
      double[] b = Arrays.copyOf(z, n * (r + extra));
      int[] xs = java.util.stream.IntStream.range(r, r + extra).toArray();
      System.arraycopy(x, 0, b, n * r, n * extra);
      if (whitening != null && extra > 0) {
        whitening.power(-0.5, b, b, n, xs, extra);
      }
      BatchedPcg.Result s = BatchedPcg.solve(a, b, r + extra, null, null, endTolerance(), o.maxCgIterations(), true);
      products += v.products;
      cgIterations.add(s.maxIterations());
      double[] q = new double[r];
      for (int j = 0; j < r; j++) {
        q[j] = LanczosQuadrature.logQuadratic(s.alphas()[j], s.betas()[j], n);
      }
      double[] mean = probeMean(q, logDetM);
      boolean solved = extra > 0;
      for (int j : xs) {
        solved &= s.converged()[j];
      }
      if (solved) {
        double[] sol = s.x();
        if (whitening != null) {
          whitening.power(-0.5, sol, sol, n, xs, extra);
        }
        System.arraycopy(sol, n * r, vinvX, 0, n * p);
      }
      return new double[] {mean[0], mean[1], solved ? 1 : 0};
    }

    /**
     * log det(ΠVΠ on range Π) at θ from the probes' Lanczos runs on ΠKΠ ({@link ProbeLanczos}):
     * {@code (n − p)·log θ_e}, exact, plus the quadrature of {@code log(1 + λθ_g/θ_e)}, the runs extended to the
     * traces' accuracy at θ (the same Gauss quadrature, whose error for log decays at the rate of CG on V); NaN when
     * they would need more than {@code maxCgIterations} steps. Only the second term carries Monte Carlo error: the
     * quadrature of {@code log(θ_gλ + θ_e)} whole would put the probes' error of {@code ‖Πz‖²} on the first, the
     * larger (at n = 500, 15 probes, θ_g = 0: logL off by 0.37 and below the null model's, an LRT of the wrong
     * sign); this way the estimate is exact at θ_g = 0, and the dimension n − p is range Π's (X of full rank).
     */
    double[] lanczosLogDet(double[] theta) {
      double tg = theta[0];
      double te = theta[1];
      boolean reached = extendRuns(theta);
      cgIterations.add(maxSteps());
      if (!reached) {
        return new double[] {Double.NaN, Double.NaN};
      }
      java.util.function.DoubleUnaryOperator log = lambda -> Math.log1p(tg / te * lambda);
      double exact = (n - p) * Math.log(te);
      double[] q = new double[r];
      for (int j = 0; j < r; j++) {
        q[j] = ownQuadratic(j, log, theta);
      }
      if (paired) {
        double[] e = pairedEstimate(q, log, theta);
        return new double[] {exact + e[0], Math.sqrt(e[1])};
      }
      return probeMean(q, exact);
    }

    /** The most steps of the runs the traces read (not y's run). */
    int maxSteps() {
      int own = lanczos == null ? 0 : probeSteps();
      return shared == null ? own : Math.max(own, shared.runs().runs().maxSteps());
    }

    /** The most steps of this trait's own probes' runs (not y's). */
    int probeSteps() {
      int most = 0;
      for (int j = 0; j < r; j++) {
        most = Math.max(most, lanczos.steps(j));
      }
      return most;
    }

    /** {@code shift} + the mean of the per-probe estimates, and its Monte Carlo SE. */
    double[] probeMean(double[] q, double shift) {
      double mean = 0;
      for (double v : q) {
        mean += v;
      }
      mean /= r;
      double var = 0;
      for (double v : q) {
        var += (v - mean) * (v - mean);
      }
      return new double[] {shift + mean, Math.sqrt(var / (r - 1) / r)};
    }
  }

  /**
   * One evaluation; {@code ai} null when not computed (the start before an EM step), {@code u} the AI columns for the
   * next. By quadrature only θ, the score, the AI matrix and the score's covariance (no solution: Py comes from y's run
   * at the end).
   */
  private record Eval(double[] theta, double[] score, double[] ai, double[] py, double[] scoreCov, double[] solution,
      double[] kSolution, double[] u) {}

  /** The first {@code la} values of a followed by the first {@code lb} of b. */
  private static double[] concat(double[] a, double[] b, int la, int lb) {
    double[] out = Arrays.copyOf(a, la + lb);
    System.arraycopy(b, 0, out, la, lb);
    return out;
  }

  static double dot(double[] a, int offA, double[] b, int offB, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += a[offA + i] * b[offB + i];
    }
    return s;
  }

  static String fmt(double[] v) {
    StringBuilder sb = new StringBuilder("(");
    for (int i = 0; i < v.length; i++) {
      sb.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.6g", v[i]));
    }
    return sb.append(')').toString();
  }
}
