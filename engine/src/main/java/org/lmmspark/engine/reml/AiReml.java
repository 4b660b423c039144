package org.lmmspark.engine.reml;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.linalg.Blas;

/**
 * Average-information REML (Gilmour, Thompson &amp; Cullis 1995; as in GCTA, Yang et al. 2011) for any
 * number of variance components, over a {@link RemlLikelihood} (dense here; matrix-free later).
 *
 * <p>Start from {@code θ_k = s²/(K+1)} with {@code s²} the OLS residual variance; take
 * {@value #DEFAULT_EM_STEPS} EM-REML steps {@code θ_k ← θ_k + θ_k²(yᵀPV_kPy − tr(PV_k))/n} (monotone and
 * positive, they move a poor start into the region where Newton works), then AI steps
 * {@code θ ← θ + AI⁻¹ ∂ℓ/∂θ}. A step that lowers ℓ is halved (up to 10 times) and then replaced by
 * an EM step. The parameter space {@code θ_k ≥ 0} is kept by an active set: a component at 0 whose
 * gradient points outward stays at 0 and is reported as on the boundary; the residual variance is
 * kept above {@code 1e-6·s²}. Converged when {@code |Δℓ| <} {@value #TOL_LOGL} and the Newton
 * decrement {@code gᵀAI⁻¹g} over the free parameters is below {@value #TOL_DECREMENT}.
 * Cost: one likelihood evaluation per iteration (dense: {@code O(n³)}).
 */
public final class AiReml implements RemlSolver {
  public static final int DEFAULT_EM_STEPS = 3;
  public static final int DEFAULT_MAX_ITERATIONS = 100;
  static final double TOL_LOGL = 1e-8;
  static final double TOL_DECREMENT = 1e-12;
  /** Residual variance floor relative to the OLS residual variance: V must stay invertible. */
  static final double RESIDUAL_FLOOR = 1e-6;

  private final String name;
  private final Function<RemlProblem, RemlLikelihood> likelihoods;
  private final int emSteps;
  private final int maxIterations;

  /** The dense solver: Cholesky of V on the driver. */
  public AiReml() {
    this("dense-ai", DenseRemlLikelihood::new, DEFAULT_EM_STEPS, DEFAULT_MAX_ITERATIONS);
  }

  public AiReml(String name, Function<RemlProblem, RemlLikelihood> likelihoods, int emSteps, int maxIterations) {
    this.name = name;
    this.likelihoods = likelihoods;
    this.emSteps = emSteps;
    this.maxIterations = maxIterations;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public RemlFit fit(RemlProblem problem) {
    RemlLikelihood lik = likelihoods.apply(problem);
    int m = lik.parameters();
    int n = lik.samples();
    double[] s2 = new double[1];
    problem.nullLogL(s2);
    List<String> names = new ArrayList<>();
    for (VarianceComponent c : problem.components()) {
      names.add(c.name());
    }
    names.add("e");
    ParameterSpace space = ParameterSpace.identity(names, n, RESIDUAL_FLOOR * s2[0]);
    Optimum opt = maximize(lik, space, SmallMatrices.filled(m, s2[0] / m));
    double[] theta = opt.theta();
    RemlLikelihood.Evaluation ev = opt.evaluation();
    double[] cov = SmallMatrices.invertSpd(ev.ai(), m);
    if (cov == null) {
      cov = SmallMatrices.filled(m * m, Double.NaN);
    }
    double[] info = lik.observedInformation(theta);
    double[] obsCov = info == null ? null : SmallMatrices.invertSpd(info, m);
    return new RemlFit(name, names.subList(0, m - 1), theta, cov, obsCov, ev.logL(), ev.score(), ev.beta(),
        ev.betaCovariance(), ev.py(), opt.boundary(), opt.iterations(), opt.converged(), opt.message());
  }

  /**
   * The result of {@link #maximize}.
   *
   * @param theta      the estimates θ̂ (fixed parameters at their given values)
   * @param evaluation the likelihood evaluation at θ̂
   * @param boundary   per θ: held at a bound (a variance at 0, or an entry of a singular Σ block)
   * @param singularBlocks indices of the Cholesky blocks of the space that are singular at θ̂
   */
  public record Optimum(double[] theta, RemlLikelihood.Evaluation evaluation, boolean[] boundary,
      List<Integer> singularBlocks, int iterations, boolean converged, String message) {}

  /**
   * Maximizes {@code lik} over {@code space} from {@code start} (θ coordinates): {@value #DEFAULT_EM_STEPS}
   * (or the configured number of) EM steps, then AI steps in the space's coordinates φ with step
   * halving and an active set at the bounds. Steps are judged as the likelihood's
   * {@link RemlLikelihood#convergence()} says: by the exact log-likelihood, or (matrix-free, estimated
   * score) by the size of the next AI step. Expected trouble (no convergence) is reported in the result,
   * not thrown.
   */
  public Optimum maximize(RemlLikelihood lik, ParameterSpace space, double[] start) {
    int m = lik.parameters();
    if (space.size() != m || start.length != m) {
      throw new IllegalArgumentException("space of " + space.size() + " and start of " + start.length
          + " parameters for a likelihood of " + m);
    }
    boolean exact = lik.convergence() instanceof RemlLikelihood.Convergence.LogLikelihood;
    double stepTolerance = lik.convergence() instanceof RemlLikelihood.Convergence.StepSize s ? s.tolerance() : 0;
    int halvings = exact ? 10 : 7;
    double[] lower = space.lower();
    double[] phi = space.phi(start);
    if (phi == null) {
      throw new BadInputException("the starting covariance matrices are not positive semi-definite: θ = " + fmt(start));
    }
    double[] theta = space.theta(phi);
    // The start needs an AI matrix only when the first step is an AI step.
    RemlLikelihood.Evaluation ev = lik.evaluate(theta, null, emSteps == 0);
    if (!ev.ok()) {
      throw new BadInputException("V is not positive definite at the starting values θ = " + fmt(theta)
          + ": is a relationship matrix not positive semi-definite?");
    }
    int it = 0;
    boolean converged = false;
    double dL = Double.NaN;
    double dec = Double.NaN;
    double lastStep = Double.NaN;
    List<String> notes = new ArrayList<>();
    while (it < maxIterations) {
      boolean em = it < emSteps;
      double[] dir = null;
      if (!em) {
        Local local = local(space, phi, ev);
        dir = local.ai == null ? null : newtonDirection(local.ai, local.score, freeSet(phi, local.score, lower, space), m);
        if (dir == null && !exact) {
          notes.add("iteration " + (it + 1) + ": AI matrix not positive definite, EM step taken");
          em = true;
        }
      }
      // EM moves to a target; its direction from φ is what a halved step scales.
      double[] emTarget = em ? space.emStep(phi, theta, ev.score()) : null;
      if (em) {
        dir = new double[m];
        for (int k = 0; k < m; k++) {
          dir[k] = emTarget[k] - phi[k];
        }
      }
      if (!exact) {
        // The estimated score has no log-likelihood to test steps on: stop when the next AI step is small.
        double vp = SmallMatrices.sum(theta);
        lastStep = 0;
        for (int k = 0; k < m; k++) {
          lastStep = Math.max(lastStep, Math.abs(Math.max(lower[k], phi[k] + dir[k]) - phi[k]));
        }
        lastStep /= vp;
        if (!em && lastStep <= stepTolerance) {
          converged = true;
          break;
        }
      }
      it++;
      double[] next = null;
      RemlLikelihood.Evaluation nextEv = null;
      if (dir != null) {
        double step = 1;
        // Exact likelihoods take EM steps whole (EM never leaves the space); halving is for AI steps.
        int tries = exact && em ? 0 : halvings;
        for (int h = 0; h <= tries; h++, step /= 2) {
          double[] cand = new double[m];
          for (int k = 0; k < m; k++) {
            cand[k] = em && h == 0 ? emTarget[k] : Math.max(lower[k], phi[k] + step * dir[k]);
          }
          RemlLikelihood.Evaluation ce = lik.evaluate(space.theta(cand), ev, true);
          if (ce.ok() && (!exact || em || ce.logL() >= ev.logL() - 1e-9)) {
            next = cand;
            nextEv = ce;
            break;
          }
          if (!exact) {
            notes.add("iteration " + it + ": V not positive definite or CG not converged at " + fmt(space.theta(cand))
                + ", step halved");
          }
        }
      }
      if (next == null && exact) {
        if (em) {
          throw new IllegalStateException("V not positive definite after an EM step at θ = " + fmt(space.theta(emTarget)));
        }
        notes.add("iteration " + it + ": " + (dir == null ? "AI matrix not positive definite" : "AI step did not increase logL")
            + ", EM step taken");
        next = space.emStep(phi, theta, ev.score());
        nextEv = lik.evaluate(space.theta(next), ev, true);
        if (!nextEv.ok()) {
          throw new IllegalStateException("V not positive definite after an EM step at θ = " + fmt(space.theta(next)));
        }
      }
      if (next == null) {
        notes.add("iteration " + it + ": no acceptable step");
        break;
      }
      dL = nextEv.logL() - ev.logL();
      phi = next;
      theta = space.theta(phi);
      ev = nextEv;
      if (exact && it > emSteps) {
        Local local = local(space, phi, ev);
        dec = decrement(local.ai, local.score, freeSet(phi, local.score, lower, space), m);
        if (Math.abs(dL) < TOL_LOGL && dec < TOL_DECREMENT) {
          converged = true;
          break;
        }
      }
    }
    boolean[] boundary = new boolean[m];
    List<Integer> singular = space.singularBlocks(phi);
    for (int k = 0; k < m; k++) {
      boundary[k] = !space.isFixed(k) && phi[k] <= lower[k];
    }
    for (int b : singular) {
      for (int k : space.blocks().get(b)) {
        boundary[k] = true;
      }
    }
    String message;
    // Locale.US, not ROOT: the same characters for these conversions (ASCII digits, '.', '-'; no grouping;
    // AiRemlMessageLocaleTest), and US needs no locale data, which a short fit would otherwise load here (~10 ms).
    if (!exact) {
      message = String.format(Locale.US, "%s after %d iterations (last AI step %.2e of Σθ, tolerance %.0e)",
          converged ? "converged" : "no convergence", it, lastStep, stepTolerance);
    } else if (converged) {
      message = String.format(Locale.US, "converged after %d iterations (|ΔlogL| = %.2e, Newton decrement = %.2e)", it,
          Math.abs(dL), dec);
    } else {
      message = String.format(Locale.US, "no convergence after %d iterations: last |ΔlogL| = %.3e, Newton decrement = "
          + "%.3e (tolerances %.0e, %.0e); last iterate θ = %s", it, Math.abs(dL), dec, TOL_LOGL, TOL_DECREMENT, fmt(theta));
    }
    if (!notes.isEmpty()) {
      message += "; " + String.join("; ", notes.subList(Math.max(0, notes.size() - 3), notes.size()));
    }
    return new Optimum(theta, ev, boundary, singular, it, converged, message);
  }

  /** Score and AI matrix in the optimizer's coordinates φ. */
  private record Local(double[] score, double[] ai) {}

  private static Local local(ParameterSpace space, double[] phi, RemlLikelihood.Evaluation ev) {
    if (space.isIdentity()) {
      return new Local(ev.score(), ev.ai());
    }
    int m = phi.length;
    double[] jac = space.jacobian(phi);
    double[] score = new double[m];
    Blas.dgemv(true, m, m, 1.0, jac, ev.score(), 0.0, score);
    double[] aj = new double[m * m];
    Blas.dgemm(false, false, m, m, m, 1.0, ev.ai(), m, jac, m, 0.0, aj, m);
    double[] ai = new double[m * m];
    Blas.dgemm(true, false, m, m, m, 1.0, jac, m, aj, m, 0.0, ai, m);
    SmallMatrices.symmetrize(ai, m);
    return new Local(score, ai);
  }

  /**
   * Parameters not held: neither fixed nor at their bound, or at it with the gradient pointing inward.
   * A Cholesky pivot at 0 has a zero gradient there, so a singular Σ stays singular once reached.
   */
  static int[] freeSet(double[] phi, double[] score, double[] lower, ParameterSpace space) {
    int count = 0;
    int[] idx = new int[phi.length];
    for (int k = 0; k < phi.length; k++) {
      if (!space.isFixed(k) && (phi[k] > lower[k] || score[k] > 0)) {
        idx[count++] = k;
      }
    }
    return java.util.Arrays.copyOf(idx, count);
  }

  /** AI⁻¹g over the free set (zero elsewhere), or null when AI is not PD there. */
  static double[] newtonDirection(double[] ai, double[] score, int[] free, int m) {
    double[] dir = new double[m];
    if (free.length == 0) {
      return dir;
    }
    double[] inv = SmallMatrices.invertSpd(SmallMatrices.select(ai, m, free), free.length);
    if (inv == null) {
      return null;
    }
    for (int i = 0; i < free.length; i++) {
      double s = 0;
      for (int j = 0; j < free.length; j++) {
        s += inv[i + j * free.length] * score[free[j]];
      }
      dir[free[i]] = s;
    }
    return dir;
  }

  static double decrement(double[] ai, double[] score, int[] free, int m) {
    double[] dir = newtonDirection(ai, score, free, m);
    if (dir == null) {
      return Double.POSITIVE_INFINITY;
    }
    double d = 0;
    for (int k = 0; k < m; k++) {
      d += dir[k] * score[k];
    }
    return d;
  }

  static String fmt(double[] v) {
    StringBuilder sb = new StringBuilder("(");
    for (int i = 0; i < v.length; i++) {
      sb.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.6g", v[i]));
    }
    return sb.append(')').toString();
  }
}
