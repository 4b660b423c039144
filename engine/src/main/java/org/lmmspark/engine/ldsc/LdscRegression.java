package org.lmmspark.engine.ldsc;

import java.util.function.Function;

/**
 * LD score regression (Bulik-Sullivan et al. 2015, Nat Genet 47:291; partitioned: Finucane et al.
 * 2015, Nat Genet 47:1228; rg: Bulik-Sullivan et al. 2015, Nat Genet 47:1236) exactly as ldsc 1.0.1's
 * {@code regressions.LD_Score_Regression} computes it.
 *
 * <p>Model: {@code E[y_j] = N_j Σ_a τ_a ℓ_j(a) + b}, with {@code y = χ²} (h²) or {@code z₁z₂}
 * (genetic covariance), {@code ℓ(a)} the LD scores per annotation and {@code M_a} the number of
 * variants (or annotation sums) behind them; {@code h²_a = M_a τ_a}, {@code h² = Σ_a h²_a}.
 * Regressors are scaled by {@code N/N̄}. Weights ({@link WeightModel}) are the inverse of the
 * heteroskedastic variance under an infinitesimal model times {@code 1/ℓ_w} (over-counting), with
 * {@code ℓ, ℓ_w} floored at 1 and h² clipped to [0, 1]; with one annotation they are re-estimated twice
 * (IRWLS), with several ("old weights") fixed at the aggregate estimate {@code M(ȳ − b₀)/mean(Nℓ)}.
 * The two-step estimator fits the intercept on the rows with {@code y < cutoff} (step 1) and then the
 * slope with the intercept fixed on all rows (step 2), combining the two jackknives as ldsc does.
 * Standard errors: block jackknife over {@code min(n, 200)} contiguous blocks ({@link BlockJackknife}).
 * Cost O(n·p²) for n variants and p annotations.
 */
public final class LdscRegression {
  /** Regression weights given the current estimate: ldsc's {@code Hsq.weights} / {@code Gencov.weights}. */
  public interface WeightModel {
    /** The null intercept: 1 for χ², 0 for z₁z₂. */
    double nullIntercept();

    /**
     * Weights of the rows {@code rows} (indices into the full data; null = all rows in order) given
     * their LD score {@code ld}, weight LD score {@code wLd}, the total {@code M}, the current h² or
     * genetic covariance {@code estimate}, and the current intercept.
     */
    double[] weights(double[] ld, double[] wLd, int[] rows, double m, double estimate, double intercept);
  }

  public final int nAnnot;
  public final boolean constrainedIntercept;
  /** Per-annotation coefficients τ and their jackknife covariance ({@code nAnnot²}). */
  public final double[] coef;
  public final double[] coefCov;
  /** Per-annotation h² (or gencov) {@code M_a τ_a}, and their covariance. */
  public final double[] cat;
  public final double[] catCov;
  public final double tot;
  public final double totSe;
  /** Proportion of the total per annotation (ratio jackknife), its SE, and the proportion of variants. */
  public final double[] prop;
  public final double[] propSe;
  public final double[] mProp;
  public final double[] enrichment;
  public final double intercept;
  /** NaN when the intercept was constrained. */
  public final double interceptSe;
  /** Delete values of the total ({@code blocks}), for ratios of totals (rg). */
  public final double[] totDeleteValues;
  /** Rows left out of step 1 of the two-step estimator, or -1 without it. */
  public final int twostepFiltered;
  public final BlockJackknife jackknife;

  /**
   * ldsc's {@code Enrichment_p} ({@code regressions.Hsq._overlap_output}, written with
   * {@code --overlap-annot}): whether the per-variant h² inside category i differs from that outside
   * it. With {@code O} the overlap matrix (variants, or annotation products, in both categories;
   * {@code diag(M)} for disjoint categories), {@code d_i = Σ_j D_ij τ_j},
   * {@code D_ij = O_ij/M_i − (M_j − O_ij)/(M_tot − M_i)}, its SE from the jackknife covariance of τ,
   * {@code se_i² = (D Cov(τ) Dᵀ)_ii}, and {@code p_i = 2 P(T > |d_i/se_i|)} with T Student's t on as
   * many degrees of freedom as jackknife blocks. NaN (ldsc's {@code NA}) where the SE is 0, as for a
   * category that holds every variant.
   *
   * @param overlap {@code nAnnot × nAnnot} row-major
   * @param m M per category
   * @param mTot all variants
   */
  public double[] enrichmentP(double[] overlap, double[] m, double mTot) {
    int a = nAnnot;
    double[] d = new double[a * a];
    for (int i = 0; i < a; i++) {
      if (mTot != m[i]) {
        for (int j = 0; j < a; j++) {
          d[i * a + j] = overlap[i * a + j] / m[i] - (m[j] - overlap[i * a + j]) / (mTot - m[i]);
        }
      }
    }
    double[] p = new double[a];
    for (int i = 0; i < a; i++) {
      double est = 0;
      double var = 0;
      for (int j = 0; j < a; j++) {
        est += d[i * a + j] * coef[j];
        for (int k = 0; k < a; k++) {
          var += d[i * a + j] * coefCov[j * a + k] * d[i * a + k];
        }
      }
      double se = Math.sqrt(var);
      // Two-sided t tail: P(|T_B| > t) = P(F(1, B) > t²).
      p[i] = se == 0 ? Double.NaN
          : Math.exp(org.lmmspark.engine.stats.FisherF.logUpperTail(est * est / var, 1, jackknife.blocks()));
    }
    return p;
  }

  /** {@code diag(m)}: the overlap matrix of disjoint categories, for {@link #enrichmentP}. */
  public static double[] disjointOverlap(double[] m) {
    double[] o = new double[m.length * m.length];
    for (int i = 0; i < m.length; i++) {
      o[i * m.length + i] = m[i];
    }
    return o;
  }

  /**
   * @param y response (χ² or z₁z₂), n
   * @param x LD scores, {@code n × nAnnot} row-major
   * @param wLd weight LD scores, n
   * @param n per-row sample size (√(N₁N₂) for gencov), n
   * @param m M per annotation
   * @param nBlocks jackknife blocks
   * @param fixedIntercept the constrained intercept, or null for a free one
   * @param step1 rows of step 1 of the two-step estimator, or null
   * @param oldWeights fixed weights (ldsc's choice for partitioned regressions)
   */
  public LdscRegression(double[] y, double[] x, double[] wLd, double[] n, double[] m, int nBlocks,
      Double fixedIntercept, boolean[] step1, boolean oldWeights, WeightModel model) {
    int rowsN = y.length;
    int a = m.length;
    this.nAnnot = a;
    this.constrainedIntercept = fixedIntercept != null;
    if (step1 != null && constrainedIntercept) {
      throw new IllegalArgumentException("the two-step estimator needs a free intercept");
    }
    if (step1 != null && a > 1) {
      throw new IllegalArgumentException("the two-step estimator takes one LD score column");
    }
    double mTot = 0;
    for (double v : m) {
      mTot += v;
    }
    double[] xTot = new double[rowsN];
    for (int r = 0; r < rowsN; r++) {
      for (int k = 0; k < a; k++) {
        xTot[r] += x[r * a + k];
      }
    }
    double null0 = constrainedIntercept ? fixedIntercept : model.nullIntercept();
    double aggregate = mTot * (mean(y) - null0) / meanProduct(xTot, n);
    double[] initialW = model.weights(xTot, wLd, null, mTot, aggregate, null0);
    double nBar = mean(n);
    int p = constrainedIntercept ? a : a + 1;
    double[] xs = new double[rowsN * p];
    double[] yp = new double[rowsN];
    for (int r = 0; r < rowsN; r++) {
      for (int k = 0; k < a; k++) {
        xs[r * p + k] = n[r] * x[r * a + k] / nBar;
      }
      if (!constrainedIntercept) {
        xs[r * p + a] = 1;
      }
      yp[r] = constrainedIntercept ? y[r] - fixedIntercept : y[r];
    }
    final double mt = mTot;
    BlockJackknife jk;
    int filtered = -1;
    if (step1 != null) {
      int[] rows1 = indices(step1);
      int n1 = rows1.length;
      filtered = rowsN - n1;
      double[] x1 = new double[n1 * p];
      double[] y1 = new double[n1];
      double[] w1 = new double[n1];
      double[] wLd1 = new double[n1];
      double[] ld1 = new double[n1];
      for (int k = 0; k < n1; k++) {
        int r = rows1[k];
        System.arraycopy(xs, r * p, x1, k * p, p);
        y1[k] = yp[r];
        w1[k] = initialW[r];
        wLd1[k] = wLd[r];
        // ldsc passes the N-scaled design matrix as the LD score of step 1's weights.
        ld1[k] = xs[r * p];
      }
      int[] sep1 = BlockJackknife.separators(n1, Math.min(nBlocks, n1));
      BlockJackknife s1 = irwls(x1, y1, p, c -> model.weights(ld1, wLd1, rows1, mt, mt * c[0] / nBar, c[1]), sep1, w1);
      double int1 = s1.est()[a];
      double[] x2 = new double[rowsN];
      double[] y2 = new double[rowsN];
      for (int r = 0; r < rowsN; r++) {
        x2[r] = xs[r * p];
        y2[r] = yp[r] - int1;
      }
      int[] sep2 = new int[sep1.length];
      for (int i = 1; i + 1 < sep1.length; i++) {
        sep2[i] = rows1[sep1[i]];
      }
      sep2[sep1.length - 1] = rowsN;
      BlockJackknife s2 = irwls(x2, y2, 1, c -> model.weights(xTot, wLd, null, mt, mt * c[0] / nBar, int1), sep2, initialW);
      double num = 0;
      double den = 0;
      for (int r = 0; r < rowsN; r++) {
        num += initialW[r] * x2[r];
        den += initialW[r] * x2[r] * x2[r];
      }
      double c = num / den;
      int blocks = s1.blocks();
      double[] delete = new double[blocks * 2];
      for (int b = 0; b < blocks; b++) {
        double d1 = s1.deleteValues()[b * 2 + 1];
        delete[b * 2 + 1] = d1;
        delete[b * 2] = s2.deleteValues()[b] - c * (d1 - int1);
      }
      jk = BlockJackknife.fromDeleteValues(new double[] {s2.est()[0], int1}, delete, 2);
    } else if (oldWeights) {
      double[] sw = new double[rowsN];
      for (int r = 0; r < rowsN; r++) {
        sw[r] = Math.sqrt(initialW[r]);
      }
      jk = BlockJackknife.leastSquares(weightRows(xs, p, sw), weightRows(yp, 1, sw), p,
          BlockJackknife.separators(rowsN, Math.min(nBlocks, rowsN)));
    } else {
      Function<double[], double[]> update = c -> model.weights(xTot, wLd, null, mt,
          mt * c[0] / nBar, constrainedIntercept ? fixedIntercept : c[a]);
      jk = irwls(xs, yp, p, update, BlockJackknife.separators(rowsN, Math.min(nBlocks, rowsN)), initialW);
    }
    this.jackknife = jk;
    this.twostepFiltered = filtered;
    int jp = jk.p();
    coef = new double[a];
    coefCov = new double[a * a];
    for (int i = 0; i < a; i++) {
      coef[i] = jk.est()[i] / nBar;
      for (int j = 0; j < a; j++) {
        coefCov[i * a + j] = jk.covariance()[i * jp + j] / (nBar * nBar);
      }
    }
    cat = new double[a];
    catCov = new double[a * a];
    double t = 0;
    double tc = 0;
    for (int i = 0; i < a; i++) {
      cat[i] = m[i] * coef[i];
      t += cat[i];
      for (int j = 0; j < a; j++) {
        catCov[i * a + j] = m[i] * m[j] * coefCov[i * a + j];
        tc += catCov[i * a + j];
      }
    }
    tot = t;
    totSe = Math.sqrt(tc);
    int blocks = jk.blocks();
    double[] numer = new double[blocks * a];
    double[] denom = new double[blocks * a];
    totDeleteValues = new double[blocks];
    for (int b = 0; b < blocks; b++) {
      double s = 0;
      for (int i = 0; i < a; i++) {
        numer[b * a + i] = m[i] * jk.deleteValues()[b * jp + i] / nBar;
        s += numer[b * a + i];
      }
      totDeleteValues[b] = s;
      for (int i = 0; i < a; i++) {
        denom[b * a + i] = s;
      }
    }
    double[] ratio = new double[a];
    mProp = new double[a];
    enrichment = new double[a];
    for (int i = 0; i < a; i++) {
      ratio[i] = cat[i] / tot;
      mProp[i] = m[i] / mTot;
      enrichment[i] = (cat[i] / m[i]) / (tot / mTot);
    }
    BlockJackknife pj = BlockJackknife.ratio(ratio, numer, denom, a);
    prop = pj.est();
    propSe = new double[a];
    for (int i = 0; i < a; i++) {
      propSe[i] = pj.se(i);
    }
    if (constrainedIntercept) {
      intercept = fixedIntercept;
      interceptSe = Double.NaN;
    } else {
      intercept = jk.est()[a];
      interceptSe = jk.se(a);
    }
  }

  /**
   * ldsc's IRWLS: weights {@code √w}, two re-weightings from weighted least squares fits, then the
   * block jackknife of the fit with the final weights (rows scaled by {@code w/Σw}).
   */
  static BlockJackknife irwls(double[] x, double[] y, int p, Function<double[], double[]> update, int[] separators,
      double[] w0) {
    int n = y.length;
    double[] w = new double[n];
    for (int r = 0; r < n; r++) {
      w[r] = Math.sqrt(w0[r]);
    }
    for (int it = 0; it < 2; it++) {
      double[] xw = weightRows(x, p, w);
      double[] yw = weightRows(y, 1, w);
      double[] coef = BlockJackknife.solve(gram(xw, p), crossProduct(xw, yw, p), p);
      double[] nw = update.apply(coef);
      for (int r = 0; r < n; r++) {
        w[r] = Math.sqrt(nw[r]);
      }
    }
    return BlockJackknife.leastSquares(weightRows(x, p, w), weightRows(y, 1, w), p, separators);
  }

  /** Rows scaled by {@code w/Σw} (ldsc's {@code IRWLS._weight}); weights must be positive. */
  static double[] weightRows(double[] x, int p, double[] w) {
    double sum = 0;
    for (double v : w) {
      if (!(v > 0)) {
        throw new ArithmeticException("regression weights must be > 0, got " + v);
      }
      sum += v;
    }
    double[] out = new double[x.length];
    for (int r = 0; r < w.length; r++) {
      double f = w[r] / sum;
      for (int k = 0; k < p; k++) {
        out[r * p + k] = x[r * p + k] * f;
      }
    }
    return out;
  }

  private static double[] gram(double[] x, int p) {
    double[] g = new double[p * p];
    for (int r = 0; r < x.length / p; r++) {
      for (int i = 0; i < p; i++) {
        for (int j = 0; j < p; j++) {
          g[i * p + j] += x[r * p + i] * x[r * p + j];
        }
      }
    }
    return g;
  }

  private static double[] crossProduct(double[] x, double[] y, int p) {
    double[] c = new double[p];
    for (int r = 0; r < y.length; r++) {
      for (int i = 0; i < p; i++) {
        c[i] += x[r * p + i] * y[r];
      }
    }
    return c;
  }

  static double mean(double[] v) {
    double s = 0;
    for (double x : v) {
      s += x;
    }
    return s / v.length;
  }

  private static double meanProduct(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s / a.length;
  }

  static int[] indices(boolean[] mask) {
    int c = 0;
    for (boolean b : mask) {
      c += b ? 1 : 0;
    }
    int[] out = new int[c];
    int k = 0;
    for (int i = 0; i < mask.length; i++) {
      if (mask[i]) {
        out[k++] = i;
      }
    }
    return out;
  }
}
