package org.lmmspark.engine.glmm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;

/**
 * Leave-one-chromosome-out null models of a binary scan fitted matrix-free, as SAIGE's step 1 with {@code LOCO = TRUE}
 * (its {@code Get_Coef_LOCO}): the variance τ stays at the whole-genome estimate ({@link MatrixFreePql}) and, for every
 * chromosome c, the PQL iteration of the fixed and random effects is rerun on {@code K_{−c}} (chromosome c's variants
 * left out of the relationship operator) from the whole-genome linear predictor:
 * <pre>  z = η + (y − μ)/μ'(η),  w = μ'(η)²/V(μ),  Σ_c = W⁻¹ + τ K_{−c}
 *   P_c z = Σ_c⁻¹(z − Xβ_c),  β_c = (XᵀΣ_c⁻¹X)⁻¹XᵀΣ_c⁻¹z,  η ← Xβ_c + τK_{−c}P_c z = z − W⁻¹P_c z</pre>
 * until {@code Σ(Δη)²/Ση² <} the outer tolerance (the last identity — the BLUP plus the fixed part is the working
 * response less its residual {@code W⁻¹Pz} — spares the extra product of K that the BLUP would take). μ̂_c and
 * {@code b̂_c = η_c − Xβ_c} then never contain chromosome c, so a variant's score {@code g̃ᵀ(y − μ̂_c)} is not
 * deflated by its own contribution to the random effect (proximal contamination).
 *
 * <p>All chromosomes iterate together: at each step the working systems of every chromosome not yet settled are the
 * columns of ONE batched preconditioned CG ({@link MatrixFreeBinaryNull#project}), every CG iteration one genotype
 * pass in which each column leaves out its own chromosome ({@link GenomicRelationshipOperator#applyLoco}) — the
 * batching of the quantitative LOCO residuals ({@code LocoResiduals}, BOLT-LMM), here for
 * {@code 1 + p} columns per chromosome. Preconditioner: the whole-genome fit's deflation of {@code τSKS + I}
 * (K̃_{−c} shares K's leading structure; a preconditioner need not be exact).
 *
 * <p><b>τ fixed</b> (SAIGE, REGENIE, BOLT-LMM), not re-estimated per chromosome as the dense route does
 * ({@code assoc --loco} with a GRM, GCTA {@code --mlma-loco}): one stochastic REML costs tens of PQL outer iterations
 * of hundreds of passes, leaving out one of ~22 chromosomes moves τ by about its share of the genetic variance, and
 * the score test stays valid for the τ used because its variance is computed with the same Σ_c.
 *
 * <p><b>Variance ratio</b> (SAIGE's step 1 with LOCO): ONE ratio for all chromosomes, the mean of
 * {@code gᵀP_c g / g̃ᵀW_c g̃} over the sampled variants of every chromosome, each with its own chromosome's LOCO
 * {@code μ̂_c}, {@code W_c} and {@code P_c} ({@link #projectSamples}: all in one batched solve). SAIGE does exactly
 * this (its {@code scoreTest_SPAGMMAT_forVarianceRatio} takes each marker's {@code LOCOResult[[CHR]]} and writes one
 * {@code varRatio}); leaving out one chromosome changes the ratio by far less than the sampling error of the few
 * variants one chromosome would get (as {@code LocoResiduals} pools γ).
 *
 * <p>Cost: (PQL steps, 2–3 measured from the whole-genome η) × (CG iterations) genotype passes with
 * {@code C·(1 + p)} columns, then one solve of {@code Σ_c (s_c + p)} columns for the ratio; no n×n matrix. Driver
 * memory about 80 bytes per sample and column, at most {@link MatrixFreeBinaryNull#SOLVE_BYTES} per solve: columns
 * beyond {@link MatrixFreeBinaryNull#maxColumns} (e.g. 26 at n = 500,000) go in further solves, whole chromosomes each,
 * for more passes (as the quantitative LOCO solve bounds its memory).
 */
public final class MatrixFreeBinaryLoco {
  /** PQL steps at most per chromosome (from the whole-genome fixed point a handful suffice). */
  public static final int MAX_STEPS = 50;

  private final MatrixFreeBinaryNull whole;
  private final GenomicRelationshipOperator k;
  private final List<Chromosome> nulls;
  private final int steps;
  private int passes;

  /** One chromosome left out: its index in the operator's chromosomes and how to name it. */
  public record Scope(int leftOut, String label) {}

  private MatrixFreeBinaryLoco(MatrixFreeBinaryNull whole, GenomicRelationshipOperator k, List<Chromosome> nulls,
      int steps, int passes) {
    this.whole = whole;
    this.k = k;
    this.nulls = nulls;
    this.steps = steps;
    this.passes = passes;
  }

  /**
   * @param whole     the whole-genome null (its τ̂, η̂, covariates, CG options and preconditioner)
   * @param k         the genomic relationship operator over the same samples (every column leaves out its scope's
   *                  chromosome)
   * @param family    the GLMM's family (binomial logit for the scan)
   * @param y         the 0/1 response, n
   * @param tolerance the outer stopping constant on {@code Σ(Δη)²/Ση²} (the whole-genome fit's)
   */
  public static MatrixFreeBinaryLoco fit(MatrixFreeBinaryNull whole, GenomicRelationshipOperator k, Family family,
      double[] y, List<Scope> scopes, double tolerance) {
    int n = whole.n();
    if (k.size() != n || y.length != n) {
      throw new IllegalArgumentException("operator " + k.size() + ", y " + y.length + " for a null over " + n);
    }
    double[] x = whole.covariates();
    int p = x.length / n;
    double tau = whole.tau();
    int sc = scopes.size();
    double[][] eta = new double[sc][];
    double[][] beta = new double[sc][];
    double[] change = new double[sc];
    boolean[] done = new boolean[sc];
    for (int c = 0; c < sc; c++) {
      eta[c] = whole.fit().eta().clone();
      change[c] = Double.NaN;
    }
    int step = 0;
    int cg = 0;
    while (step < MAX_STEPS && !allTrue(done)) {
      step++;
      List<Integer> active = new ArrayList<>();
      for (int c = 0; c < sc; c++) {
        if (!done[c]) {
          active.add(c);
        }
      }
      int a = active.size();
      double[][] scale = new double[a][];
      double[][] z = new double[a][];
      double[][] w = new double[a][];
      int[] leftOut = new int[a];
      int[] cols = new int[a];
      for (int t = 0; t < a; t++) {
        int c = active.get(t);
        scale[t] = new double[n];
        z[t] = new double[n];
        w[t] = new double[n];
        for (int i = 0; i < n; i++) {
          double mu = family.mean(eta[c][i]);
          double d = family.meanDerivative(eta[c][i]);
          z[t][i] = eta[c][i] + (y[i] - mu) / d;
          w[t][i] = d * d / family.variance(mu);
          scale[t][i] = Math.sqrt(w[t][i]);
        }
        leftOut[t] = scopes.get(c).leftOut();
        cols[t] = 1;
      }
      MatrixFreeBinaryNull.Projected pr = MatrixFreeBinaryNull.project(k::applyLoco, tau, x, p, scale, leftOut, z, cols,
          whole.preconditioner(), whole.options(), "LOCO PQL step " + step);
      cg += pr.passes();
      for (int t = 0; t < a; t++) {
        int c = active.get(t);
        double[] next = new double[n];
        double num = 0;
        double den = 0;
        for (int i = 0; i < n; i++) {
          next[i] = z[t][i] - pr.pv()[t][i] / w[t][i];
          num += (next[i] - eta[c][i]) * (next[i] - eta[c][i]);
          den += next[i] * next[i];
        }
        eta[c] = next;
        beta[c] = pr.coefficients()[t];
        change[c] = num / den;
        done[c] = change[c] < tolerance;
      }
    }
    List<Chromosome> nulls = new ArrayList<>();
    for (int c = 0; c < sc; c++) {
      nulls.add(new Chromosome(scopes.get(c), family, tau, x, p, beta[c], eta[c], done[c], change[c], tolerance));
    }
    MatrixFreeBinaryLoco loco = new MatrixFreeBinaryLoco(whole, k, nulls, step, cg);
    for (Chromosome c : nulls) {
      c.owner = loco;
    }
    return loco;
  }

  private static boolean allTrue(boolean[] b) {
    for (boolean v : b) {
      if (!v) {
        return false;
      }
    }
    return true;
  }

  /** The null model of every scope, in order. */
  public List<BinaryNull> nulls() {
    return new ArrayList<>(nulls);
  }

  /** Batched PQL steps taken (the slowest chromosome's). */
  public int steps() {
    return steps;
  }

  /** Genotype passes in all (one per batched CG iteration, over the PQL steps and later projections). */
  public int passes() {
    return passes;
  }

  /**
   * {@code P_c v_c} for every scope at once: the columns {@code v[c]} (n×{@code cols[c]}) of all scopes in ONE batched
   * solve (with each scope's X̃ columns), e.g. the sampled variants of every chromosome for the variance ratio.
   * Returns per scope its n×cols block.
   */
  public double[][] projectSamples(double[][] v, int[] cols) {
    return projectSamples(v, cols, MatrixFreeBinaryNull.maxColumns(whole.n()));
  }

  /** {@link #projectSamples} with at most {@code cap} columns per batched solve. */
  double[][] projectSamples(double[][] v, int[] cols, int cap) {
    int sc = nulls.size();
    if (v.length != sc || cols.length != sc) {
      throw new IllegalArgumentException(v.length + " blocks for " + sc + " scopes");
    }
    double[][] scale = new double[sc][];
    int[] leftOut = new int[sc];
    for (int c = 0; c < sc; c++) {
      scale[c] = nulls.get(c).scale;
      leftOut[c] = nulls.get(c).scope.leftOut();
    }
    MatrixFreeBinaryNull.Projected pr = MatrixFreeBinaryNull.project(k::applyLoco, whole.tau(), whole.covariates(),
        whole.covariates().length / whole.n(), scale, leftOut, v, cols, whole.preconditioner(), whole.options(),
        "LOCO variance ratio", cap);
    passes += pr.passes();
    return pr.pv();
  }

  /** One chromosome's LOCO null: μ̂_c, b̂_c, β_c at the whole-genome τ, and P_c by the shared batched solve. */
  private static final class Chromosome implements BinaryNull {
    final Scope scope;
    final double tau;
    final double[] beta;
    final double[] mu;
    final double[] b;
    final double[] scale;
    final boolean converged;
    final String message;
    MatrixFreeBinaryLoco owner;

    Chromosome(Scope scope, Family family, double tau, double[] x, int p, double[] beta, double[] eta, boolean converged,
        double change, double tolerance) {
      int n = eta.length;
      this.scope = scope;
      this.tau = tau;
      this.beta = beta;
      this.mu = new double[n];
      this.scale = new double[n];
      for (int i = 0; i < n; i++) {
        mu[i] = family.mean(eta[i]);
        double d = family.meanDerivative(eta[i]);
        scale[i] = Math.sqrt(d * d / family.variance(mu[i]));
      }
      this.b = eta.clone();
      Blas.dgemv(false, n, p, -1.0, x, beta, 1.0, b);
      this.converged = converged;
      this.message = String.format(Locale.ROOT, "LOCO PQL at the whole-genome τ = %.5g on K without the left-out chromosome %s "
          + "(Σ(Δη)²/Ση² = %.2e, tolerance %.0e)", tau, converged ? "converged" : "did not converge",
          change, tolerance);
    }

    @Override
    public String scope() {
      return scope.label();
    }

    @Override
    public int n() {
      return mu.length;
    }

    @Override
    public double tau() {
      return tau;
    }

    @Override
    public double[] beta() {
      return beta;
    }

    @Override
    public double[] mu() {
      return mu;
    }

    @Override
    public double[] randomPrediction() {
      return b;
    }

    @Override
    public void applyProjection(double[] v, int cols, double[] out) {
      MatrixFreeBinaryNull.Projected pr = MatrixFreeBinaryNull.project(owner.k::applyLoco, tau,
          owner.whole.covariates(), beta.length, new double[][] {scale}, new int[] {scope.leftOut()},
          new double[][] {v}, new int[] {cols}, owner.whole.preconditioner(), owner.whole.options(), scope.label());
      System.arraycopy(pr.pv()[0], 0, out, 0, mu.length * cols);
      owner.passes += pr.passes();
    }

    @Override
    public float[] denseProjection() {
      return null;
    }

    @Override
    public boolean converged() {
      return converged;
    }

    @Override
    public String message() {
      return message;
    }
  }

  /** For messages: the steps and CG work. */
  public String describe() {
    long settled = nulls.stream().filter(BinaryNull::converged).count();
    return String.format(Locale.ROOT, "%d LOCO null(s) at the whole-genome τ, %d of them converged, in %d batched PQL "
        + "step(s), %d genotype passes", nulls.size(), settled, steps, passes)
        + (settled < nulls.size() ? "; unsettled: " + Arrays.toString(nulls.stream().filter(c -> !c.converged())
        .map(c -> c.scope.label()).toArray()) : "");
  }
}
