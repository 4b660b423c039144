package org.lmmspark.engine.assoc;

import java.util.ArrayList;
import java.util.List;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;
import org.lmmspark.engine.reml.matfree.BatchedPcg;
import org.lmmspark.engine.reml.matfree.CovariateProjection;
import org.lmmspark.engine.reml.matfree.LeadingEigenspace;
import org.lmmspark.engine.reml.matfree.SpectralPreconditioner;

/**
 * The null models of a genotype-only (GRM-free) association run: for every chromosome c, the
 * leave-one-chromosome-out projected residual {@code r_c = P_{−c} y} and the calibration factor
 * {@code γ_c}, from ONE batched conjugate-gradient solve over all chromosomes together, giving a
 * {@link CalibratedModel} ({@code k = 0}) per chromosome for the O(N) test ({@link CalibratedTest}).
 *
 * <p>Model: {@code y = Xβ + g + e}, {@code V_{−c} = σ²_g K_{−c} + σ²_e I}, {@code K_{−c} = Z_{−c}Z_{−c}ᵀ/(M − M_c)}
 * never formed ({@link GenomicRelationshipOperator}), {@code P_{−c} = V_{−c}⁻¹ − V_{−c}⁻¹X C_c⁻¹XᵀV_{−c}⁻¹},
 * {@code C_c = XᵀV_{−c}⁻¹X}. The covariates are projected out first (BOLT-LMM): with {@code Π = I − QQᵀ},
 * Q an orthonormal basis of X's columns, {@code P_{−c} = Π(ΠV_{−c}Π)⁺Π} exactly. For every scope (a chromosome
 * left out, or none) the right-hand sides {@code Π[y | x_1 … x_s]} (the s sampled variants of that chromosome,
 * centered A1 counts) are solved against {@code ΠV_{−c}Π} on the complement of X (preconditioned by the
 * compression {@code (ΠMΠ)⁺} of the preconditioner M); all scopes' columns form one batch and every CG iteration is one
 * genotype pass in which each column leaves out its own chromosome ({@link BatchedPcg.ColumnOperator},
 * {@link GenomicRelationshipOperator#applyLoco}). The first solution is {@code r_c = P_{−c}y}; the others give the
 * exact {@code x_tᵀP_{−c}x_t} of each sampled variant, set against its approximation {@code x̃_tᵀx̃_t} (covariates
 * projected out by least squares, {@link CalibratedModel} with k = 0):
 * {@code γ_c = mean_t x_tᵀP_{−c}x_t / x̃_tᵀx̃_t} with its SD and range ({@link Calibration.Gamma}). Solving
 * against V_{−c} itself would need X's p columns too, per scope: 1 + p + s columns instead of 1 + s (220
 * instead of 132 at 22 chromosomes, p = 4, s = 5), and the X columns go to the tighter tolerance.
 *
 * <p><b>Warm start</b> (optional, as the GRM-free job runs it): the columns of y start from {@code x₀ = Πw}, w the
 * whole-genome {@code Py} the REML fit already has at the same σ²_g, σ²_e, instead of zero; the sampled variants'
 * columns start from zero. Leaving out one chromosome of C changes V by about 1/C of its genetic part, so
 * {@code P_{−c}y} lies near Py and the first residual {@code Πy − ΠV_{−c}Πx₀} is a fraction of Πy. That first
 * residual needs {@code K_{−c}x₀} for every scope, and all of them come from ONE column of one extra pass: the
 * product split by chromosome ({@link GenomicRelationshipOperator#applyPerChromosome}) gives the partial sums
 * {@code S_d = Z_dZ_dᵀx₀} of every chromosome d, and {@code K_{−c}x₀ = (Σ_d S_d − S_c)/(M − M_c)} ({@code K_{−c}}
 * is scaled by {@code 1/(M − M_c)}, so it is not {@code K − K_c}). One column-pass (C before the split product,
 * one product per scope) that saves CG iterations on every column of y. The solution
 * is the same to the CG tolerance (relative to ‖Πy‖ as before).
 *
 * <p><b>The approximation</b> (BOLT-LMM-inf, Loh et al. 2015 Nat Genet 47:284; GRAMMAR-γ, Svishcheva et
 * al. 2012; fastGWA, Jiang et al. 2019): {@code xᵀP_{−c}x ≈ γ_c x̃ᵀx̃} for every variant x of chromosome c.
 * It holds because a variant is one of M columns of Z: V⁻¹ acts on it almost as a scalar; a
 * variant's χ² is off by its own ratio over γ_c, i.e. by about the ratio's CV (reported). Population
 * structure spreads the ratio (no leading eigenvectors are treated exactly in the test; the REML fit's
 * leading Ritz pairs only precondition the solves).
 *
 * <p><b>One γ for all chromosomes</b> ({@link Options#poolGamma}, the default; BOLT-LMM likewise uses one
 * calibration factor for all its LOCO models): γ_c is reported per chromosome, but the test uses the
 * mean ratio over ALL sampled variants, each ratio taken with its own chromosome's {@code V_{−c}}.
 * Leaving out 1/22 of the genome hardly changes γ (on simulated data the SD of γ_c across chromosomes
 * equals their sampling error), while a few variants per chromosome would put a sampling error of
 * {@code CV/√s} on each chromosome's χ² scale; pooling divides it by √C.
 *
 * <p><b>Variance components kept from the whole-genome fit</b> (as BOLT-LMM, not re-estimated per
 * chromosome as GCTA {@code --mlma-loco} and the spectral {@code lmmspark assoc --loco} do): one
 * matrix-free REML costs 20–25 genotype passes (half of a run at N = 100,000), 22 more would multiply the run's
 * cost by ~12,
 * while leaving out chromosome c changes σ²_g by about that chromosome's share of the heritability
 * (≤ ~8%) and V by less. The test stays an exact-in-expectation score test for the V_{−c} used,
 * because γ_c is computed with that same V_{−c}.
 *
 * <p>Cost: one batched solve of {@code r = Σ_c (1 + s_c)} columns, {@code I} iterations (the
 * slowest column: with the deflation preconditioner 14–17 to 1e-6, 7–10 to 5e-4, whatever N; from the warm
 * start the columns of y take ~5–6 instead of 8 to 5e-4 at N = M = 10,000, plus one column-pass in all), each
 * one genotype pass ({@code 2·N·M·(active columns)} flops); columns beyond {@code maxColumns} go in further batches
 * (more passes, bounded memory). Driver memory: about {@code 8·n·(2r + C + 8·maxColumns)} bytes (C: the warm
 * start's per-chromosome parts).
 */
public final class LocoResiduals {
  private LocoResiduals() {}

  /**
   * @param cgTolerance       relative residual at which the column of y (projected) stops
   * @param maxCgIterations   per batch
   * @param maxColumns        columns solved together at most (memory bound); more go in further batches
   * @param poolGamma         give every model the pooled γ (all scopes' sampled ratios together) instead of
   *                          its own γ_c (see the class doc)
   * @param sampleCgTolerance relative residual at which a sampled variant's column stops. Its solution
   *                          enters only {@code xᵀP_{−c}x = (Πx)ᵀ(ΠVΠ)⁺Πx}, and CG's {@code xᵀx_j} misses it by
   *                          {@code ‖e_j‖²_{ΠVΠ} ≤ κ·tol²} relative
   *                          (second order): 5·10⁻³ puts ≲ 10⁻⁴ on a ratio whose spread over variants is 2–10%
   */
  public record Options(double cgTolerance, int maxCgIterations, int maxColumns, boolean poolGamma,
      double sampleCgTolerance) {
    public Options {
      if (!(cgTolerance > 0 && cgTolerance < 1) || !(sampleCgTolerance > 0 && sampleCgTolerance < 1)
          || maxCgIterations < 1 || maxColumns < 1) {
        throw new IllegalArgumentException("CG tolerances in (0, 1), iterations and columns ≥ 1, got " + cgTolerance
            + ", " + sampleCgTolerance + ", " + maxCgIterations + ", " + maxColumns);
      }
    }

    /** Every column to {@code cgTolerance}. */
    public Options(double cgTolerance, int maxCgIterations, int maxColumns, boolean poolGamma) {
      this(cgTolerance, maxCgIterations, maxColumns, poolGamma, cgTolerance);
    }

    public static Options defaults() {
      return new Options(1e-6, 1000, 512, true);
    }
  }

  /**
   * One null model to build.
   *
   * @param leftOut chromosome index left out of K (−1: none, the whole-genome null)
   * @param label   how to name it (e.g. "LOCO chromosome 3")
   * @param sample  the sampled variants for γ (centered A1 counts of the analysed samples; ≥ 1 variant, or none when
   *                the models take the pooled γ, {@link Options#poolGamma}, or one carried over, {@link SharedCalibration})
   */
  public record Scope(int leftOut, String label, DosageBlock sample) {}

  /**
   * @param models       one calibrated model per scope, in order, carrying the γ the test uses (pooled or
   *                     its own, {@link Options#poolGamma})
   * @param own          per scope, γ_c from its own sampled variants (null for a scope sampled none)
   * @param pooled       γ from all scopes' sampled variants together (each ratio with its own V_{−c})
   * @param iterations   per scope, CG iterations of its slowest column
   * @param passes       genotype passes in all (one per CG iteration per batch)
   * @param columnPasses operator products over all columns (each column's CG iterations, summed): the solve's
   *                     share of the genotype passes' per-column work
   * @param columns      right-hand sides solved
   * @param batches      batched solves (1 unless more than {@code maxColumns} columns)
   * @param maxRelResidual largest final relative residual over the columns of y (those solved to
   *                       {@link Options#cgTolerance})
   * @param ratios       every sampled variant's {@code x_tᵀP_{−c}x_t / x̃_tᵀx̃_t}, scope after scope in the samples' order
   *                     (NaN for a variant in the span of the covariates)
   */
  public record Result(List<CalibratedModel> models, List<Calibration.Gamma> own, Calibration.Gamma pooled,
      int[] iterations, int passes, long columnPasses, int columns, int batches, double maxRelResidual,
      double[] ratios) {
    /** The same models with {@code gamma} for the test (e.g. carried over from another trait, {@link Calibration#transfer}). */
    public Result withGamma(Calibration.Gamma gamma) {
      return new Result(models.stream().map(m -> m.withGamma(gamma)).toList(), own, gamma, iterations, passes,
          columnPasses, columns, batches, maxRelResidual, ratios);
    }
  }

  /**
   * @param k       the genomic relationship operator over the analysed samples (its own left-out
   *                chromosome is ignored: every column uses its scope's)
   * @param sigmaG  σ²_g of the whole-genome fit (≥ 0)
   * @param sigmaE  σ²_e (&gt; 0)
   * @param leading the whole-genome K's leading Ritz pairs for the deflation preconditioner (the REML
   *                fit's, {@link org.lmmspark.engine.reml.matfree.StochasticReml.Diagnostics#eigenspace});
   *                null: Jacobi, each column with its own {@code diag(V_{−c})}
   * @param y       response, length n
   * @param x       covariates n×p column-major, with an intercept
   * @param famRows {@code .fam} row of each analysed sample (carried into the models)
   */
  public static Result compute(GenomicRelationshipOperator k, double sigmaG, double sigmaE, LeadingEigenspace leading,
      double[] y, double[] x, int p, int[] famRows, List<Scope> scopes, Options o) {
    return compute(k, sigmaG, sigmaE, leading, y, x, p, famRows, scopes, o, null);
  }

  /**
   * As above, the columns of y started from {@code warm} instead of zero (see the class doc).
   *
   * @param warm the whole-genome {@code Py} at the same σ²_g, σ²_e (the REML fit's,
   *             {@link org.lmmspark.engine.reml.RemlFit#py}), length n; null: every column from zero
   */
  public static Result compute(GenomicRelationshipOperator k, double sigmaG, double sigmaE, LeadingEigenspace leading,
      double[] y, double[] x, int p, int[] famRows, List<Scope> scopes, Options o, double[] warm) {
    int n = k.size();
    if (y.length != n || x.length != (long) n * p || famRows.length != n || (warm != null && warm.length != n)) {
      throw new IllegalArgumentException("y " + y.length + ", X " + x.length + ", rows " + famRows.length
          + (warm == null ? "" : ", warm start " + warm.length) + " for n = " + n + ", p = " + p);
    }
    if (!(sigmaE > 0) || !(sigmaG >= 0)) {
      throw new IllegalArgumentException("need σ²_g ≥ 0 and σ²_e > 0, got " + sigmaG + ", " + sigmaE);
    }
    if (scopes.isEmpty()) {
      throw new IllegalArgumentException("no scope to compute");
    }
    int sc = scopes.size();
    // The covariates projected out (BOLT-LMM's projection): with Π = I − QQᵀ, Q an orthonormal basis of X's
    // columns, P_{−c} = Π(ΠV_{−c}Π)⁺Π, so each scope solves only [Πy | Πx_1 … Πx_s] against ΠV_{−c}Π on the
    // complement of X (CG stays there: right-hand sides, products and preconditioned residuals are all
    // projected), instead of [y | X | x_1 … x_s] against V_{−c}: p columns fewer per scope, the same P_{−c}.
    CovariateProjection proj = new CovariateProjection(x, n, p);
    double[] warmStart = warm == null ? null : proj.projected(warm, 1);
    int[] offset = new int[sc + 1];
    for (int s = 0; s < sc; s++) {
      DosageBlock b = scopes.get(s).sample();
      // A scope may go unsampled when the models take a γ from all scopes' samples (or a reference trait's).
      if (b.n != n || b.m < (o.poolGamma() ? 0 : 1)) {
        throw new IllegalArgumentException(scopes.get(s).label() + ": sample of " + b.m + " variants over " + b.n
            + " samples, need ≥ " + (o.poolGamma() ? 0 : 1) + " over " + n);
      }
      offset[s + 1] = offset[s] + 1 + b.m;
    }
    int r = offset[sc];
    int[] leftOut = new int[r];
    int[] scopeOf = new int[r];
    double[] rhs = new double[Math.multiplyExact(n, r)];
    for (int s = 0; s < sc; s++) {
      Scope scope = scopes.get(s);
      int o0 = offset[s];
      for (int j = o0; j < offset[s + 1]; j++) {
        leftOut[j] = scope.leftOut();
        scopeOf[j] = s;
      }
      System.arraycopy(y, 0, rhs, o0 * n, n);
      float[] v = scope.sample().values;
      int base = (o0 + 1) * n;
      for (int i = 0; i < n * scope.sample().m; i++) {
        rhs[base + i] = v[i];
      }
    }
    proj.project(rhs, 0, r);
    // Deflation on the whole-genome K's leading pairs (they serve every K_{−c}); else Jacobi per scope.
    SpectralPreconditioner deflation = leading == null ? null : new SpectralPreconditioner(leading, sigmaG, sigmaE);
    double[][] scopeDiagonals = deflation == null ? locoDiagonals(k, scopes, sigmaG, sigmaE, n) : null;
    // On the complement of X the preconditioner is M's compression, (ΠMΠ)⁺ = M⁻¹ − M⁻¹Q(QᵀM⁻¹Q)⁻¹QᵀM⁻¹ there: since
    // (1−ε)M ≤ V ≤ (1+ε)M implies the same between ΠMΠ and ΠVΠ, CG keeps M's condition number (ΠM⁻¹Π does not:
    // 11 iterations instead of 8 at N = M = 10,000, where two of the covariates are principal components). Per scope
    // (Jacobi has a diagonal per scope; the deflation's M is one for all): M⁻¹Q and the Cholesky factor of QᵀM⁻¹Q
    // ({@link CovariateProjection.Compression}).
    CovariateProjection.Compression[] compressions = new CovariateProjection.Compression[sc];
    for (int s = 0; s < sc; s++) {
      compressions[s] = deflation != null && s > 0 ? compressions[0] : proj.compression(deflation != null ? deflation
          : BatchedPcg.Preconditioner.diagonal(scopeDiagonals[s]));
    }
    // One batch (the scopes' order) solves rhs itself and its solution is the batch's; several copy in and out.
    boolean oneBatch = r <= o.maxColumns();
    double[] solution = oneBatch ? null : new double[rhs.length];
    int[] iterations = new int[sc];
    int passes = 0;
    long columnPasses = 0;
    int batches = 0;
    double worst = 0;
    List<String> failed = new ArrayList<>();
    // In several batches, the columns of y (solved to the tighter tolerance, the last to converge) go first and
    // the sampled variants' after: a batch takes as many passes as its slowest column, so batches of sampled
    // variants alone end sooner than batches that each hold a y or two. One batch keeps the scopes' order.
    int[] order = new int[r];
    if (!oneBatch) {
      int next = 0;
      for (int s = 0; s < sc; s++) {
        order[next++] = offset[s];
      }
      for (int s = 0; s < sc; s++) {
        for (int j = offset[s] + 1; j < offset[s + 1]; j++) {
          order[next++] = j;
        }
      }
    } else {
      for (int j = 0; j < r; j++) {
        order[j] = j;
      }
    }
    // Warm start: the per-chromosome parts S_d = Z_dZ_dᵀx₀ of K's product with x₀ (n×C) and their sum, from ONE
    // column of one pass; every scope's K_{−c}x₀ = (Σ_d S_d − S_c)/(M − M_c) follows (see the class doc).
    double[] parts = null;
    double[] whole = null;
    if (warmStart != null && sigmaG != 0) {
      int chromosomes = k.products().chromosomeCount();
      parts = new double[Math.multiplyExact(n, chromosomes)];
      k.applyPerChromosome(warmStart, 1, parts);
      passes++;
      columnPasses++;
      whole = new double[n];
      for (int d = 0; d < chromosomes; d++) {
        for (int i = 0; i < n; i++) {
          whole[i] += parts[i + d * n];
        }
      }
    }
    for (int a = 0; a < r; a += o.maxColumns()) {
      int first = a;
      int cols = Math.min(o.maxColumns(), r - a);
      BatchedPcg.Preconditioner m = deflation;
      if (m == null) {
        double[] d = new double[n * cols];
        for (int j = 0; j < cols; j++) {
          System.arraycopy(scopeDiagonals[scopeOf[order[first + j]]], 0, d, j * n, n);
        }
        m = BatchedPcg.Preconditioner.diagonal(d);
      }
      BatchedPcg.Preconditioner full = m;
      // (ΠMΠ)⁺ on the complement of X, where the residuals lie: z = M⁻¹r − M⁻¹Q (QᵀM⁻¹Q)⁻¹ Qᵀ(M⁻¹r), so Qᵀz = 0.
      BatchedPcg.Preconditioner pre = (res, z, nn, columns, count) -> {
        full.apply(res, z, nn, columns, count);
        for (int t = 0; t < count; t++) {
          compressions[scopeOf[order[first + columns[t]]]].correct(z, columns[t]);
        }
      };
      int[] passCount = new int[1];
      double[] projectedIn = new double[n * cols]; // one per batch: a new block per product fed the collector gigabytes
      BatchedPcg.ColumnOperator v = (in, kk, columns, out) -> {
        double[] pin = proj.projected(in, kk, projectedIn);
        if (sigmaG == 0) {
          for (int i = 0; i < n * kk; i++) {
            out[i] = sigmaE * pin[i];
          }
          return;
        }
        passCount[0]++;
        int[] ex = new int[kk];
        for (int t = 0; t < kk; t++) {
          ex[t] = leftOut[order[first + columns[t]]];
        }
        k.applyLoco(pin, kk, ex, out);
        for (int i = 0; i < n * kk; i++) {
          out[i] = sigmaG * out[i] + sigmaE * pin[i];
        }
        proj.project(out, 0, kk);
      };
      double[] b = rhs;
      if (!oneBatch) {
        b = new double[n * cols];
        for (int j = 0; j < cols; j++) {
          System.arraycopy(rhs, order[first + j] * n, b, j * n, n);
        }
      }
      double[] tol = new double[cols];
      int[] ys = new int[cols];
      int ny = 0;
      for (int j = 0; j < cols; j++) {
        int s = scopeOf[order[first + j]];
        boolean isY = order[first + j] == offset[s];
        tol[j] = isY ? o.cgTolerance() : o.sampleCgTolerance();
        if (isY) {
          ys[ny++] = j;
        }
      }
      BatchedPcg.Result res;
      if (warmStart != null && ny > 0) {
        // The columns of y from x₀ = Πw (w the whole-genome Py): their first residuals Πy − ΠV_{−c}x₀ from the
        // parts above, ΠV_{−c}x₀ = Π(σ²_g K_{−c}x₀ + σ²_e x₀); the sampled variants' columns start from zero (A·0 = 0).
        double[] x0 = new double[n * cols];
        double[] ax0 = new double[n * cols];
        for (int t = 0; t < ny; t++) {
          int j = ys[t];
          int c = leftOut[order[first + j]];
          double scale = 1.0 / k.variantsWithout(c);
          System.arraycopy(warmStart, 0, x0, j * n, n);
          for (int i = 0; i < n; i++) {
            double kx = parts == null ? 0 : (whole[i] - (c < 0 ? 0 : parts[i + c * n])) * scale;
            ax0[i + j * n] = sigmaG * kx + sigmaE * warmStart[i];
          }
        }
        proj.project(ax0, 0, cols);
        res = BatchedPcg.solve(n, v, b, cols, x0, ax0, pre, tol, o.maxCgIterations());
      } else {
        res = BatchedPcg.solve(n, v, b, cols, null, pre, tol, o.maxCgIterations(), false);
      }
      if (oneBatch) {
        solution = res.x();
      } else {
        for (int j = 0; j < cols; j++) {
          System.arraycopy(res.x(), j * n, solution, order[first + j] * n, n);
        }
      }
      passes += passCount[0];
      batches++;
      for (int j = 0; j < cols; j++) {
        int s = scopeOf[order[first + j]];
        iterations[s] = Math.max(iterations[s], res.iterations()[j]);
        columnPasses += sigmaG == 0 ? 0 : res.iterations()[j];
        if (tol[j] == o.cgTolerance()) {
          worst = Math.max(worst, res.relResidual()[j]);
        }
        if (!res.converged()[j] && failed.size() < 3) {
          failed.add(scopes.get(s).label() + " column " + (order[first + j] - offset[s]) + " (relative residual "
              + res.relResidual()[j] + ", tolerance " + tol[j] + ")");
        }
      }
    }
    if (!failed.isEmpty()) {
      throw new IllegalStateException("conjugate gradients did not converge in "
          + o.maxCgIterations() + " iterations: " + String.join(", ", failed));
    }
    // The solutions lie in the complement of X up to rounding: project once more, so that P_{−c}y is exactly
    // orthogonal to the covariates' columns.
    proj.project(solution, 0, r);
    List<CalibratedModel> models = new ArrayList<>();
    List<Calibration.Gamma> own = new ArrayList<>();
    List<double[]> ratios = new ArrayList<>();
    int total = 0;
    for (int s = 0; s < sc; s++) {
      double[] rs = new double[scopes.get(s).sample().m];
      models.add(model(scopes.get(s), solution, offset[s], n, p, x, famRows, s == 0 ? null : models.get(0), rs));
      own.add(rs.length == 0 ? null : models.get(s).gamma());
      ratios.add(rs);
      total += rs.length;
    }
    double[] all = new double[total];
    int at = 0;
    for (double[] rs : ratios) {
      System.arraycopy(rs, 0, all, at, rs.length);
      at += rs.length;
    }
    Calibration.Gamma pooled = Calibration.summarize(all, total);
    if (o.poolGamma()) {
      models.replaceAll(mo -> mo.withGamma(pooled));
    }
    return new Result(models, own, pooled, iterations, passes, columnPasses, r, batches, worst, all);
  }

  /** Jacobi diagonals, one per scope: diag(V_{−c}) = σ²_g diag(K_{−c}) + σ²_e. */
  private static double[][] locoDiagonals(GenomicRelationshipOperator k, List<Scope> scopes, double sigmaG,
      double sigmaE, int n) {
    double[][] diagonals = new double[scopes.size()][];
    for (int s = 0; s < diagonals.length; s++) {
      double[] d = sigmaG == 0 ? new double[n] : k.leaveOut(scopes.get(s).leftOut()).diagonal();
      for (int i = 0; i < n; i++) {
        d[i] = sigmaG * d[i] + sigmaE;
      }
      diagonals[s] = d;
    }
    return diagonals;
  }

  /**
   * The calibrated model of one scope from its solved columns {@code (ΠV_{−c}Π)⁺Π[y | x_1 … x_s]} at {@code off}:
   * {@code r_c = P_{−c}y} is the first, and {@code x_tᵀP_{−c}x_t} the sampled variant's column dotted with x_t.
   * {@code first}: the first scope's model, whose covariates this one shares (null: this is the first).
   */
  private static CalibratedModel model(Scope scope, double[] sol, int off, int n, int p, double[] x, int[] famRows,
      CalibratedModel first, double[] ratios) {
    DosageBlock sample = scope.sample();
    int m = sample.m;
    double[] residual = java.util.Arrays.copyOfRange(sol, off * n, (off + 1) * n);
    // Exact xᵀPx of the sampled variants (their solved columns lie in the complement of X).
    double[] exact = new double[m];
    int base = (off + 1) * n;
    for (int t = 0; t < m; t++) {
      double q = 0;
      for (int i = 0; i < n; i++) {
        q += sample.values[i + t * n] * sol[base + i + t * n];
      }
      exact[t] = q;
    }
    CalibratedModel unscaled = first == null
        ? CalibratedModel.of(residual, x, n, p, Calibration.Gamma.one(), famRows, scope.label())
        : first.withResidual(residual, Calibration.Gamma.one(), scope.label());
    double[] xr = new double[m];
    double[] approx = new double[m];
    new CalibratedTest.Kernel(unscaled, m).products(sample, xr, approx);
    for (int t = 0; t < m; t++) {
      ratios[t] = exact[t] / approx[t]; // NaN (skipped) for a variant in the span of the covariates
    }
    return m == 0 ? unscaled : unscaled.withGamma(Calibration.summarize(ratios, m));
  }
}
