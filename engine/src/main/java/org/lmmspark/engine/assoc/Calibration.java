package org.lmmspark.engine.assoc;

import java.io.Serializable;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.DosageDecoder;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.genotype.GenotypeVisitor;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.linalg.BandReduction;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.SpectralReml;

/**
 * The calibration factor of the O(N) association test ({@link CalibratedTest}):
 * {@code γ = mean over sampled variants of xᵀPx / x̃ᵀx̃}, {@code x̃} the genotype with the covariates
 * projected out by ordinary least squares. It rests on {@code xᵀPx ≈ γ x̃ᵀx̃} holding with nearly the
 * same γ for every variant, which is what BOLT-LMM-inf (Loh et al. 2015 Nat Genet 47:284, its
 * "calibration of the infinitesimal statistic" from a few hundred random SNPs), GRAMMAR-γ (Svishcheva et
 * al. 2012 Nat Genet 44:1166) and fastGWA (Jiang et al. 2019 Nat Genet 51:1749) rely on: for a variant
 * of a polygenic background, {@code V⁻¹} acts on x nearly as a scalar because x has only a 1/M share of K.
 * The spread of the ratio (its SD and CV, reported) measures how far that holds; the test's χ² is off by
 * the variant's ratio over γ, i.e. by about the CV.
 *
 * <p>Exact {@code xᵀPx} for the sampled variants comes from the spectral basis when an
 * eigendecomposition of K exists ({@link #spectralRatios}: one rotation per sampled variant,
 * {@code 2n²} flops each, a few hundred in all), from K's band form ({@link #fromBand}: the same
 * rotation by Q, then banded solves, no eigendecomposition at all) or from conjugate-gradient solves
 * ({@link LocoResiduals}, genotype-only runs with LOCO).
 */
public final class Calibration {
  private Calibration() {}

  /**
   * Default number of variants sampled per null model. BOLT-LMM's {@code --numCalibSnps} default is 30;
   * 100 puts γ's own standard error at a tenth of the per-variant CV (which is ~1% here), for
   * {@code 100·2n²} flops per null with the spectral basis.
   */
  public static final int DEFAULT_VARIANTS = 100;

  /**
   * γ and its spread over {@code variants} sampled variants: mean, SD of the per-variant ratio, its
   * range. The mean's own standard error is {@code sd/√variants}.
   */
  public record Gamma(double mean, double sd, int variants, double min, double max) implements Serializable {
    /** Coefficient of variation of the per-variant ratio, {@code sd/mean}. */
    public double cv() {
      return sd / mean;
    }

    /** Standard error of γ itself. */
    public double seOfMean() {
      return variants > 1 ? sd / Math.sqrt(variants) : Double.NaN;
    }

    /** γ = 1 exactly (ordinary least squares, σ²_g = 0, σ²_e = 1: P = I − X(XᵀX)⁻¹Xᵀ). */
    public static Gamma one() {
      return new Gamma(1, 0, 0, 1, 1);
    }

    @Override
    public String toString() {
      return String.format(java.util.Locale.ROOT, "γ = %.6g (SD %.3g, CV %.4f, range %.4g–%.4g, %d variants)", mean,
          sd, cv(), min, max, variants);
    }
  }

  /** Summary of per-variant ratios ({@code NaN} entries, e.g. variants in the span of the covariates, skipped). */
  public static Gamma summarize(double[] ratios, int count) {
    int k = 0;
    double sum = 0;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < count; i++) {
      double r = ratios[i];
      if (Double.isNaN(r)) {
        continue;
      }
      k++;
      sum += r;
      min = Math.min(min, r);
      max = Math.max(max, r);
    }
    if (k == 0) {
      throw new IllegalArgumentException("no usable variant to estimate the calibration factor γ");
    }
    double mean = sum / k;
    double ss = 0;
    for (int i = 0; i < count; i++) {
      if (!Double.isNaN(ratios[i])) {
        ss += (ratios[i] - mean) * (ratios[i] - mean);
      }
    }
    return new Gamma(mean, k > 1 ? Math.sqrt(ss / (k - 1)) : 0, k, min, max);
  }

  /**
   * γ of one trait carried over from another's (the reference's) full calibration sample by the ratio of the two
   * traits' per-variant ratios over a few variants both sampled (a ratio estimator, the reference's ratios serving as
   * control variates): {@code γ = γ_ref · Σ_j ρ_j / Σ_j ρ_ref,j}.
   *
   * <p>Why it pays: a variant's ratio {@code ρ = xᵀP_{−c}x / x̃ᵀx̃} departs from γ mostly through how x falls on K's
   * eigenvectors, which two traits over mostly the same samples share; their h² only reweights it. So {@code ρ/ρ_ref}
   * varies far less across variants than ρ does (CV 0.4–0.7% against 1.1–1.6% in a dense simulation of 3,000 samples,
   * h² 0.14–0.45, 3–22% missing), and a handful of shared variants set γ as well as the reference's 30 do. Its
   * relative standard error: {@code √(CV_ref²/n_ref + CV_q²/k)}, {@code q = ρ/ρ_ref}, k the variants shared.
   *
   * @param reference      the reference trait's γ from its own sample ({@link #summarize})
   * @param referenceRatios the reference's ratios of the shared variants
   * @param ownRatios      this trait's ratios of the same variants, in the same order (NaN pairs skipped)
   * @return γ (its per-variant SD and range the reference's, rescaled), its relative SE, and the pairs used
   */
  public static Transfer transfer(Gamma reference, double[] referenceRatios, double[] ownRatios) {
    if (referenceRatios.length != ownRatios.length) {
      throw new IllegalArgumentException(referenceRatios.length + " reference ratios against " + ownRatios.length);
    }
    double own = 0;
    double ref = 0;
    int k = 0;
    for (int j = 0; j < ownRatios.length; j++) {
      if (Double.isFinite(ownRatios[j]) && Double.isFinite(referenceRatios[j])) {
        own += ownRatios[j];
        ref += referenceRatios[j];
        k++;
      }
    }
    if (k == 0) {
      throw new IllegalArgumentException("no variant with a ratio in both traits to carry γ over");
    }
    double scale = own / ref;
    double[] q = new double[k];
    for (int j = 0, i = 0; j < ownRatios.length; j++) {
      if (Double.isFinite(ownRatios[j]) && Double.isFinite(referenceRatios[j])) {
        q[i++] = ownRatios[j] / referenceRatios[j];
      }
    }
    Gamma spread = summarize(q, k);
    double cvRef = reference.cv();
    double cvQ = k > 1 ? spread.cv() : Double.NaN;
    double relativeSe = Math.sqrt(cvRef * cvRef / reference.variants() + cvQ * cvQ / k);
    Gamma g = new Gamma(reference.mean() * scale, reference.sd() * scale, reference.variants(), reference.min() * scale,
        reference.max() * scale);
    return new Transfer(g, relativeSe, k);
  }

  /**
   * @param gamma      the trait's γ
   * @param relativeSe its relative standard error (that of every χ²'s scale)
   * @param shared     variants sampled in both traits that carried it over
   */
  public record Transfer(Gamma gamma, double relativeSe, int shared) {}

  /**
   * γ across several null models (LOCO chromosomes): range, SD of the γ_c across models against the mean
   * standard error of each γ_c (their sampling error; over the models with at least two sampled variants), and the
   * median CV of the per-variant ratio (the typical relative error of a χ²; over the same models). Null with fewer
   * than two models.
   */
  public static String spread(java.util.List<Gamma> g) {
    if (g.size() < 2) {
      return null;
    }
    double mean = 0;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    double se = 0;
    int withSe = 0;
    for (Gamma x : g) {
      mean += x.mean() / g.size();
      min = Math.min(min, x.mean());
      max = Math.max(max, x.mean());
      if (!Double.isNaN(x.seOfMean())) {
        se += x.seOfMean();
        withSe++;
      }
    }
    se = withSe > 0 ? se / withSe : Double.NaN;
    double ss = 0;
    for (Gamma x : g) {
      ss += (x.mean() - mean) * (x.mean() - mean);
    }
    double[] cvs = g.stream().filter(x -> x.variants() > 1).mapToDouble(Gamma::cv).sorted().toArray();
    return String.format(java.util.Locale.ROOT, "γ across %d null models: mean %.6g, range %.6g–%.6g, SD across models "
        + "%.3g (mean standard error of one γ_c %.3g); median CV of the per-variant ratio %.4f", g.size(), mean, min, max,
        Math.sqrt(ss / (g.size() - 1)), se, cvs.length == 0 ? Double.NaN : cvs[cvs.length / 2]);
  }

  /**
   * A seeded random order of {@code candidates} (Fisher–Yates over a copy): callers take variants from
   * the front until enough pass the filters, so the sample is reproducible and independent of how the
   * scan is partitioned.
   */
  public static int[] shuffled(int[] candidates, long seed) {
    int[] a = candidates.clone();
    SplittableRandom rng = new SplittableRandom(seed);
    for (int i = a.length - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /**
   * Decodes the first {@code count} variants of {@code order} that pass the decoder's filters
   * (polymorphic, some call, MAF ≥ {@code minMaf} among the analysed samples) into one block, reading
   * each variant at its own seek position. Cost: {@code count} small reads, {@code O(n)} each.
   */
  public static DosageBlock readSample(GenotypeSource source, int[] famRows, int[] order, int count,
      double minMaf, Configuration conf) {
    DosageDecoder decoder = new DosageDecoder(famRows, minMaf);
    DosageBlock block = new DosageBlock(famRows.length, Math.max(1, Math.min(count, order.length)));
    GenotypeReader reader = source.reader();
    // Dropped variants (monomorphic, MAF) leave block.m as is; the block is the result, never flushed.
    GenotypeVisitor visitor = new GenotypeVisitor() {
      @Override
      public void hardCalls(byte[] raw, int offset, int v) {
        decoder.decodeInto(raw, offset, v, block);
      }

      @Override
      public void dosages(VariantDosages d, int v) {
        decoder.decodeDosages(d, v, block);
      }
    };
    for (int k = 0; k < order.length && block.m < block.capacity(); k++) {
      reader.scan(order[k], order[k] + 1, source.position(order[k]), null, conf, visitor);
    }
    return block;
  }

  /**
   * Per-variant ratios {@code xᵀPx / xᵀP̃x} for the variants of {@code block}, with {@code xᵀPx} exact
   * in the spectral basis of {@code exact} (one SGEMM rotation) and {@code xᵀP̃x} from
   * {@code calibrated} (whose γ is ignored). Both models must describe the same samples and covariates.
   */
  public static double[] spectralRatios(NullModel exact, CalibratedModel calibrated, DosageBlock block) {
    int n = exact.n;
    int m = block.m;
    if (calibrated.n != n || block.n != n || calibrated.p != exact.p) {
      throw new IllegalArgumentException("models and block disagree on n or p");
    }
    double[] ratios = new double[m];
    if (m == 0) {
      return ratios;
    }
    float[] rotated = new float[n * m + n];
    Blas.sgemm(true, false, n, m, n, 1f, exact.u, 0, n, block.values, 0, n, 0f, rotated, 0, n);
    double[] xr = new double[m];
    double[] approx = new double[m];
    new CalibratedTest.Kernel(calibrated, m).products(block, xr, approx);
    double[] x = new double[n];
    double[] b = new double[exact.p];
    for (int c = 0; c < m; c++) {
      for (int i = 0; i < n; i++) {
        x[i] = rotated[c * n + i];
      }
      ratios[c] = Mlma.quadraticP(exact, x, b) / approx[c];
    }
    return ratios;
  }

  /**
   * The calibrated model of a null fitted in K's band form ({@code K = Q B Qᵀ},
   * {@link SpectralReml#fit(RemlProblem, SpectralReml.Band)}): what {@link #fromSpectral} builds, without
   * an eigendecomposition. The residual is the fit's {@code Py}; for k &gt; 0, K's eigenvalues come from B
   * ({@link BandReduction#eigenvalues}, {@code O(n²·kd)}: the fit itself needs none) and the k leading eigenvectors
   * of K from inverse iteration on B ({@link BandReduction#leadingEigenvectors}); {@code γ₀} is the mean weight
   * {@code 1/(σ²_g d_i + σ²_e)} of the other eigenvalues; exact {@code xᵀPx} of the sampled variants is
   * {@code x̃ᵀV_B⁻¹x̃ − bᵀC⁻¹b} with {@code x̃ = Qᵀx}, {@code V_B = σ²_g B + σ²_e I} (banded Cholesky),
   * {@code b = (V_B⁻¹X̃)ᵀx̃}, {@code C = X̃ᵀV_B⁻¹X̃}. Cost {@code O(n²·(k + sample.m + p))}, and {@code O(n²·kd)} for
   * the eigenvalues when k &gt; 0.
   *
   * @param fit the REML fit in this band form (θ = (σ²_g, σ²_e), Py)
   */
  public static CalibratedModel fromBand(RemlProblem problem, SpectralReml.Band band, RemlFit fit, int[] famRows,
      DosageBlock sample, int k, String label) {
    int n = problem.n();
    int p = problem.p();
    if (k < 0 || k >= n) {
      throw new IllegalArgumentException("eigenvectors treated exactly must be in [0, n), got " + k);
    }
    if (band.n() != n || sample.n != n) {
      throw new IllegalArgumentException("band form of size " + band.n() + ", sample of " + sample.n + " for n = " + n);
    }
    double sg = fit.theta()[0];
    double se = fit.theta()[1];
    BandReduction red = band.reduction();
    // K's eigenvalues only for k > 0 (the fit needs none): O(n²·kd) on one OpenBLAS thread.
    double[] d = k > 0 ? Blas.withThreads(1, red::eigenvalues) : null;
    double[] uk = k > 0 ? red.leadingEigenvectors(d, k) : new double[0];
    double[] wk = new double[k];
    for (int j = 0; j < k; j++) {
      wk[j] = 1 / (sg * d[n - k + j] + se);
    }
    double gamma0 = 1;
    if (k > 0) {
      double s = 0;
      for (int i = 0; i < n - k; i++) {
        s += 1 / (sg * d[i] + se);
      }
      gamma0 = s / (n - k);
    }
    CalibratedModel unscaled = CalibratedModel.of(fit.py(), problem.x(), n, p, uk, wk, k, gamma0, Gamma.one(), famRows,
        label);

    // Exact xᵀPx of the sampled variants in B's basis.
    int kd = red.bandwidth();
    double[] factor = BandReduction.choleskyOfShifted(red.band(), n, kd, sg, se);
    if (factor == null) {
      throw new IllegalStateException("V is not positive definite at σ²_g = " + sg + ", σ²_e = " + se);
    }
    double[] xRot = problem.x().clone();
    red.applyQt(xRot, p);
    double[] g = BandReduction.solveCholesky(factor, n, kd, xRot, p);
    double[] cinv = new double[p * p];
    Blas.dgemm(true, false, p, p, n, 1.0, xRot, n, g, n, 0.0, cinv, p);
    if (!Blas.dpotrfLower(p, cinv)) {
      throw new IllegalStateException("XᵀV⁻¹X is not positive definite (collinear covariates should have been caught)");
    }
    Blas.dpotriLowerFull(p, cinv);
    int m = sample.m;
    double[] xs = new double[n * m];
    for (int i = 0; i < n * m; i++) {
      xs[i] = sample.values[i];
    }
    red.applyQt(xs, m);
    double[] vx = BandReduction.solveCholesky(factor, n, kd, xs, m);
    double[] b = new double[p * m];
    Blas.dgemm(true, false, p, m, n, 1.0, g, n, xs, n, 0.0, b, p);
    double[] xr = new double[m];
    double[] approx = new double[m];
    new CalibratedTest.Kernel(unscaled, m).products(sample, xr, approx);
    double[] ratios = new double[m];
    for (int c = 0; c < m; c++) {
      double xvx = 0;
      for (int i = 0; i < n; i++) {
        xvx += xs[i + c * n] * vx[i + c * n];
      }
      double quad = 0;
      for (int j = 0; j < p; j++) {
        for (int l = 0; l < p; l++) {
          quad += b[j + c * p] * cinv[j + l * p] * b[l + c * p];
        }
      }
      double xPx = xvx - quad;
      ratios[c] = xPx > 1e-8 * xvx ? xPx / approx[c] : Double.NaN;
    }
    return unscaled.withGamma(summarize(ratios, m));
  }

  /**
   * The calibrated model of a spectral null: residual {@code Py = U P̃ ỹ}, the covariates {@code x}
   * (n×p, the ones the null was fitted with), the {@code k} leading eigenvectors of K treated exactly
   * (0: the plain test, {@code γ₀ = 1}; else {@code γ₀} = mean weight of the other eigenvectors), and
   * γ from the variants of {@code sample} (exact {@code xᵀPx} by rotation). Cost
   * {@code O(n²·(1 + sample.m) + n·k·p)}.
   */
  public static CalibratedModel fromSpectral(NullModel exact, double[] x, DosageBlock sample, int k) {
    int n = exact.n;
    if (k < 0 || k >= n) {
      throw new IllegalArgumentException("eigenvectors treated exactly must be in [0, n), got " + k);
    }
    double[] uk = new double[n * k];
    double[] wk = new double[k];
    for (int j = 0; j < k; j++) {
      int col = n - k + j; // eigenvalues ascending: the last k are the leading ones
      for (int i = 0; i < n; i++) {
        uk[i + j * n] = exact.u[i + col * n];
      }
      wk[j] = exact.w[col];
    }
    double gamma0 = 1;
    if (k > 0) {
      double s = 0;
      for (int i = 0; i < n - k; i++) {
        s += exact.w[i];
      }
      gamma0 = s / (n - k);
    }
    CalibratedModel unscaled = CalibratedModel.of(exact.sampleResidual(), x, n, exact.p, uk, wk, k, gamma0, Gamma.one(),
        exact.famRows, exact.label);
    double[] ratios = spectralRatios(exact, unscaled, sample);
    return unscaled.withGamma(summarize(ratios, sample.m));
  }
}
