package org.lmmspark.engine.glmm;

import java.io.Serializable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.assoc.Calibration;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.DosageBlockReader;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.stats.ChiSquared;

/**
 * SAIGE's per-variant score test for a binary trait from a null logistic GLMM ({@link BinaryNull}), with
 * the saddle-point approximation in the tails and a Firth fallback for the smallest p-values.
 *
 * <p>For a variant g (allele counts, mean-imputed), with {@code W = diag(μ̂(1 − μ̂))} and
 * {@code g̃ = g − X(XᵀWX)⁻¹XᵀWg} (g adjusted for the covariates):
 * <pre>  T = g̃ᵀ(y − μ̂)                                   (= gᵀPz at the PQL fixed point)
 *   Var(T) = gᵀPg                                     exact (dense P; 2N² flops per variant)
 *          ≈ r · g̃ᵀWg̃,  r = mean over sampled variants of gᵀPg / g̃ᵀWg̃   (SAIGE's variance ratio; O(Np))
 *   z = T/√Var(T);  |z| &lt; 2: p = 2Φ(−|z|);  otherwise p by {@link SaddlePoint} on T/√r with the
 *   independent-Bernoulli cumulant generating function of g̃ under μ̂ (SAIGE's SPA)</pre>
 * {@code β̂ = T/Var(T)} (one Newton step from β = 0), {@code SE = |β̂|/√χ²} with χ² the χ²₁ quantile of
 * the reported p (= {@code 1/√Var(T)} under the normal approximation), as SAIGE reports them.
 *
 * <p>Firth fallback ({@code p <} firthBelow): Firth's logistic regression {@code y ~ X + g} with the null
 * model's random prediction {@code b̂} (LOCO when the null is) as an offset and the covariates re-estimated
 * (REGENIE's Firth fallback, with its step-1 LOCO prediction as offset), tested by the penalized
 * likelihood ratio ({@link FirthLogistic}); β̂ the Firth estimate, {@code SE = |β̂|/√χ²}. Kept only when
 * both Firth fits converge (otherwise the SPA result stays).
 *
 * <p>Also reported per variant: A1 frequency among cases and among controls (mean-imputed dosages).
 * Cost per variant: {@code O(Np)} (ratio) or {@code 2N²} (exact), SPA {@code O(N)} per Newton step for the
 * ~5% of variants beyond the cutoff, Firth {@code O(N p²)} per step for the few below the threshold.
 */
public final class BinaryScoreTest {
  private BinaryScoreTest() {}

  /** Everything a task needs (broadcast once): null μ̂, covariates and their W-projection, the variance route. */
  public static final class Model implements Serializable {
    private static final long serialVersionUID = 1L;
    public final String scope;
    public final int n;
    public final int p;
    final double[] y;
    final double[] mu;
    final double[] w;
    /** {@code logit μ̂}, for the saddle-point Newton steps ({@link SaddlePoint#logits}). */
    final double[] logitMu;
    /** {@code y − μ̂}: the block's scores are one product {@code g̃ᵀ(y − μ̂)}. */
    final double[] residual;
    /** {@code [y 1]}, n×2: the block's case and all-sample genotype sums are one product {@code gᵀ[y 1]}. */
    final double[] caseAndAll;
    final double[] x;
    /** {@code WX(XᵀWX)⁻¹}, n×p: g̃ = g − X (thisᵀ g). */
    final double[] wxInv;
    final double[] offset;
    /** SAIGE's variance ratio r over the sampled variants. */
    public final Calibration.Gamma ratio;
    /** Dense P (float, n×n) for the exact variance, or null for the ratio. */
    final float[] projection;
    /**
     * The null's covariate coefficients, {@code β̂ = (XᵀWX)⁻¹XᵀW(logit μ̂ − b̂)} (exact at the fit, where
     * {@code logit μ̂ = Xβ̂ + b̂}): the start of the Firth fits, one or two Newton steps from their optimum.
     */
    final double[] nullCoefficients;
    /** ln of the --firth-below threshold (−∞: never). */
    final double firthLogP;
    public final int cases;
    public final int controls;

    Model(String scope, double[] y, double[] mu, double[] x, int p, double[] offset, Calibration.Gamma ratio,
        float[] projection, double firthLogP) {
      this.scope = scope;
      this.n = y.length;
      this.p = p;
      this.y = y;
      this.mu = mu;
      this.x = x;
      this.offset = offset;
      this.ratio = ratio;
      this.projection = projection;
      this.firthLogP = firthLogP;
      this.w = new double[n];
      int c = 0;
      for (int i = 0; i < n; i++) {
        w[i] = mu[i] * (1 - mu[i]);
        c += y[i] == 1 ? 1 : 0;
      }
      this.cases = c;
      this.controls = n - c;
      this.logitMu = SaddlePoint.logits(mu);
      this.residual = new double[n];
      this.caseAndAll = new double[2 * n];
      for (int i = 0; i < n; i++) {
        residual[i] = y[i] - mu[i];
        caseAndAll[i] = y[i];
        caseAndAll[n + i] = 1;
      }
      double[] wx = new double[n * p];
      for (int j = 0; j < p; j++) {
        for (int i = 0; i < n; i++) {
          wx[i + j * n] = w[i] * x[i + j * n];
        }
      }
      double[] xwx = new double[p * p];
      Blas.dgemm(true, false, p, p, n, 1.0, x, n, wx, n, 0.0, xwx, p);
      if (!Blas.dpotrfLower(p, xwx)) {
        throw new IllegalStateException("XᵀWX is singular: the covariates are collinear");
      }
      Blas.dpotriLowerFull(p, xwx);
      wxInv = new double[n * p];
      Blas.dgemm(false, false, n, p, p, 1.0, wx, n, xwx, p, 0.0, wxInv, n);
      double[] fixedPart = new double[n];
      for (int i = 0; i < n; i++) {
        fixedPart[i] = Math.log(mu[i] / (1 - mu[i])) - (offset == null ? 0 : offset[i]);
      }
      nullCoefficients = new double[p];
      Blas.dgemv(true, n, p, 1.0, wxInv, fixedPart, 0.0, nullCoefficients);
    }

    /** The same null with the variance ratio {@code r} (and dense P {@code projection}, or null). */
    public Model withRatio(Calibration.Gamma r, float[] projection) {
      return new Model(scope, y, mu, x, p, offset, r, projection, firthLogP);
    }

    /** Whether the variance is exact (dense P) rather than the variance ratio times g̃ᵀWg̃. */
    public boolean exact() {
      return projection != null;
    }

    /** Approximate broadcast size in bytes. */
    public long approximateBytes() {
      return 8L * n * (10 + 2L * p) + (projection == null ? 0 : 4L * projection.length);
    }
  }

  /**
   * The model of a null fit: the variance ratio from the sampled variants {@code sample} (their exact
   * {@code gᵀPg} through {@link BinaryNull#applyProjection}), and with {@code exact} the dense P.
   *
   * @param firthBelow p below which Firth's test replaces the score test (0: never)
   */
  public static Model model(BinaryNull fit, double[] y, double[] x, int p, DosageBlock sample, boolean exact,
      double firthBelow) {
    int n = fit.n();
    float[] proj = exact ? fit.denseProjection() : null;
    if (exact && proj == null) {
      throw new IllegalArgumentException("the null fit (" + fit.scope() + ") has no dense projection: use the ratio");
    }
    Model noRatio = new Model(fit.scope(), y, fit.mu(), x, p, fit.randomPrediction(), Calibration.Gamma.one(), proj,
        firthBelow > 0 ? Math.log(firthBelow) : Double.NEGATIVE_INFINITY);
    Calibration.Gamma ratio = Calibration.Gamma.one();
    if (sample != null && sample.m > 0) {
      int m = sample.m;
      double[] g = toDouble(sample, m);
      double[] pg = new double[n * m];
      fit.applyProjection(g, m, pg);
      ratio = Calibration.summarize(varianceRatios(noRatio, sample, pg), m);
    }
    return noRatio.withRatio(ratio, proj);
  }

  /**
   * SAIGE's ratio {@code gᵀPg / g̃ᵀWg̃} of each sampled variant (NaN for one in the span of the covariates), given
   * {@code pg = P g} (n×m) from the model's null; {@link #model} averages them, a LOCO scan pools them over all
   * chromosomes (each with its own null).
   */
  public static double[] varianceRatios(Model model, DosageBlock sample, double[] pg) {
    int n = model.n;
    int m = sample.m;
    double[] g = toDouble(sample, m);
    double[] gt = adjusted(model, g, m);
    double[] ratios = new double[m];
    for (int c = 0; c < m; c++) {
      double gpg = 0;
      double indep = 0;
      for (int i = 0; i < n; i++) {
        gpg += g[i + c * n] * pg[i + c * n];
        indep += model.w[i] * gt[i + c * n] * gt[i + c * n];
      }
      ratios[c] = indep > 1e-12 * n ? gpg / indep : Double.NaN;
    }
    return ratios;
  }

  /** Tests the variants {@code [first, end)} of a genotype source (one Spark task's range). */
  public static BinaryAssocResults testRange(Model model, GenotypeReader reader, int[] famRows, int first, int end,
      long position, boolean[] include, double minMaf, int blockVariants, Configuration conf, VariantFilterCounts counts) {
    BinaryAssocResults out = new BinaryAssocResults();
    new DosageBlockReader(reader, famRows, minMaf, blockVariants).read(first, end, position, include, conf, counts,
        block -> test(model, block, out));
    return out;
  }

  /**
   * Variants per BLAS product in {@link #test}: 32 columns of n doubles (2.5 MB at n = 10,000 for g and as
   * much for g̃) stay in cache between the products and the per-variant passes, where a whole block (up to
   * 1,024 columns) would be streamed from memory three times.
   */
  static final int CHUNK_VARIANTS = 32;

  /**
   * Tests the variants of one block, appending to {@code out}. The work shared by the variants is done
   * {@link #CHUNK_VARIANTS} at a time by BLAS: the covariate adjustment ({@link #adjusted}, two products
   * with n×p), the scores {@code g̃ᵀ(y − μ̂)} and the case and all-sample sums {@code gᵀ[y 1]} (with the
   * exact variance, the product {@code P·g}); per variant there remain {@code g̃ᵀWg̃} (one pass) and, for
   * the few beyond the SPA cutoff or below the Firth threshold, their root finding and fits.
   */
  public static void test(Model model, DosageBlock block, BinaryAssocResults out) {
    int n = model.n;
    int m = block.m;
    if (block.n != n) {
      throw new IllegalArgumentException("block of " + block.n + " samples for a model of " + n);
    }
    Chunk chunk = new Chunk(n, Math.min(m, CHUNK_VARIANTS), model.projection != null);
    for (int first = 0; first < m; first += CHUNK_VARIANTS) {
      test(model, block, first, Math.min(m, first + CHUNK_VARIANTS), chunk, out);
    }
  }

  /** The buffers of one chunk of variants, reused from chunk to chunk. */
  private static final class Chunk {
    final double[] g;
    final double[] gt;
    final double[] scores;
    final double[] sums;
    final float[] pg;
    final double[] col;

    Chunk(int n, int k, boolean exact) {
      g = new double[n * k];
      gt = new double[n * k];
      scores = new double[k];
      sums = new double[2 * k];
      pg = exact ? new float[n * k] : null;
      col = new double[n];
    }
  }

  /** The variants {@code [first, end)} of {@code block}. */
  private static void test(Model model, DosageBlock block, int first, int end, Chunk ch, BinaryAssocResults out) {
    int n = model.n;
    int m = end - first;
    double[] g = ch.g;
    double[] gt = ch.gt;
    for (int i = 0, o = first * n; i < n * m; i++) {
      g[i] = block.values[o + i];
    }
    adjusted(model, g, m, gt);
    double[] scores = ch.scores;
    Blas.dgemv(true, n, m, 1.0, gt, model.residual, 0.0, scores);
    // sums[c] = Σ_cases g_ic, sums[m + c] = Σ_i g_ic (y is 0/1).
    double[] sums = ch.sums;
    Blas.dgemm(true, false, m, 2, n, 1.0, g, n, model.caseAndAll, n, 0.0, sums, m);
    float[] pg = ch.pg;
    if (pg != null) {
      Blas.sgemm(false, false, n, m, n, 1f, model.projection, 0, n, block.values, first * n, n, 0f, pg, 0, n);
    }
    double[] col = ch.col;
    double[] w = model.w;
    for (int c = 0; c < m; c++) {
      int v = block.variantIndex[first + c];
      int base = c * n;
      double af = block.a1Frequency[first + c];
      int called = block.called[first + c];
      double info = block.info[first + c];
      double twoP = 2 * af;
      double t = scores[c];
      double indep = weightedSquares(w, gt, base, n);
      double exactVar = pg == null ? 0 : dot(g, pg, base, n);
      // The block holds g − 2p: add 2p back per sample for the raw A1 counts of each group.
      double sumControl = sums[m + c] - sums[c] + twoP * model.controls;
      double sumCase = sums[c] + twoP * model.cases;
      double afCase = model.cases == 0 ? Double.NaN : sumCase / (2.0 * model.cases);
      double afControl = model.controls == 0 ? Double.NaN : sumControl / (2.0 * model.controls);
      double var = pg != null ? exactVar : model.ratio.mean() * indep;
      if (!(indep > 1e-10 * n) || !(var > 0)) {
        out.add(v, af, called, info, Double.NaN, Double.NaN, Double.NaN, Double.NaN, afCase, afControl,
            BinaryAssocResults.Method.NONE);
        continue;
      }
      double z = t / Math.sqrt(var);
      double beta = t / var;
      double logP;
      double chi2;
      BinaryAssocResults.Method how;
      if (Math.abs(z) < SaddlePoint.NORMAL_CUTOFF) {
        chi2 = z * z;
        logP = ChiSquared.logUpperTail(chi2, 1);
        how = BinaryAssocResults.Method.NORMAL;
      } else {
        System.arraycopy(gt, base, col, 0, n);
        logP = SaddlePoint.logPValue(col, model.mu, model.logitMu, t, var / indep, indep);
        chi2 = chiSquaredOf(logP);
        how = BinaryAssocResults.Method.SPA;
      }
      double se = how == BinaryAssocResults.Method.NORMAL ? 1 / Math.sqrt(var) : Math.abs(beta) / Math.sqrt(chi2);
      if (logP < model.firthLogP) {
        for (int i = 0; i < n; i++) {
          col[i] = g[base + i] + twoP;
        }
        FirthLogistic.Test f = firth(model, col);
        if (f.converged() && !Double.isNaN(f.logP())) {
          beta = f.beta();
          chi2 = f.chiSquared();
          logP = f.logP();
          se = Math.abs(beta) / Math.sqrt(chi2);
          how = BinaryAssocResults.Method.FIRTH;
        }
      }
      out.add(v, af, called, info, beta, se, chi2, logP, afCase, afControl, how);
    }
  }

  /**
   * {@code Σ_i w_i a_{base+i}²}: four partial sums, so that the multiply-adds of consecutive samples do not
   * wait on one another (a single running sum is one dependent chain).
   */
  static double weightedSquares(double[] w, double[] a, int base, int n) {
    double s0 = 0;
    double s1 = 0;
    double s2 = 0;
    double s3 = 0;
    int i = 0;
    for (; i + 3 < n; i += 4) {
      double a0 = a[base + i];
      double a1 = a[base + i + 1];
      double a2 = a[base + i + 2];
      double a3 = a[base + i + 3];
      s0 += w[i] * a0 * a0;
      s1 += w[i + 1] * a1 * a1;
      s2 += w[i + 2] * a2 * a2;
      s3 += w[i + 3] * a3 * a3;
    }
    for (; i < n; i++) {
      s0 += w[i] * a[base + i] * a[base + i];
    }
    return (s0 + s1) + (s2 + s3);
  }

  /** {@code Σ_i a_{base+i} b_{base+i}} (the exact variance gᵀ(Pg) of one column). */
  private static double dot(double[] a, float[] b, int base, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += a[base + i] * b[base + i];
    }
    return s;
  }

  /** Firth's penalized LRT of {@code y ~ X + g} with the null model's random prediction as offset. */
  static FirthLogistic.Test firth(Model model, double[] g) {
    int n = model.n;
    int p = model.p;
    double[] design = new double[n * (p + 1)];
    System.arraycopy(model.x, 0, design, 0, n * p);
    System.arraycopy(g, 0, design, n * p, n);
    return FirthLogistic.test(design, n, p + 1, model.y, model.offset, p,
        java.util.Arrays.copyOf(model.nullCoefficients, p + 1));
  }

  /** {@code g̃ = g − X(XᵀWX)⁻¹XᵀWg} for the m columns of {@code g} (n×m). */
  static double[] adjusted(Model model, double[] g, int m) {
    double[] gt = new double[model.n * m];
    adjusted(model, g, m, gt);
    return gt;
  }

  /** {@link #adjusted(Model, double[], int)} into {@code gt} (n×m, its first n·m entries overwritten). */
  static void adjusted(Model model, double[] g, int m, double[] gt) {
    int n = model.n;
    int p = model.p;
    double[] coef = new double[p * m];
    Blas.dgemm(true, false, p, m, n, 1.0, model.wxInv, n, g, n, 0.0, coef, p);
    System.arraycopy(g, 0, gt, 0, n * m);
    Blas.dgemm(false, false, n, m, p, -1.0, model.x, n, coef, p, 1.0, gt, n);
  }

  static double[] toDouble(DosageBlock block, int m) {
    int n = block.n;
    double[] g = new double[n * m];
    for (int i = 0; i < n * m; i++) {
      g[i] = block.values[i];
    }
    return g;
  }

  /** The χ²₁ value whose upper tail is {@code e^logP} (bisection on the log tail: exact below 1e-300 too). */
  static double chiSquaredOf(double logP) {
    if (Double.isNaN(logP)) {
      return Double.NaN;
    }
    if (logP >= 0) {
      return 0;
    }
    if (logP == Double.NEGATIVE_INFINITY) {
      return Double.POSITIVE_INFINITY;
    }
    double lo = 0;
    double hi = 1;
    while (ChiSquared.logUpperTail(hi, 1) > logP) {
      lo = hi;
      hi *= 2;
    }
    for (int it = 0; it < 200 && hi - lo > 1e-12 * hi; it++) {
      double mid = 0.5 * (lo + hi);
      if (ChiSquared.logUpperTail(mid, 1) > logP) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return 0.5 * (lo + hi);
  }
}
