package org.lmmspark.engine.assoc;

import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.DosageBlockReader;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.stats.ChiSquared;

/**
 * Mixed-model association with the variance components fixed at the null model (GCTA {@code --mlma},
 * Yang et al. 2014 Nat Genet 46:100; EMMAX, Kang et al. 2010; "P3D", Zhang et al. 2010): for each
 * variant {@code x} (copies of the {@code .bim} A1 allele, missing calls mean-imputed),
 * {@code β̂ = xᵀPy / xᵀPx}, {@code SE = 1/√(xᵀPx)}, {@code χ² = β̂²/SE² = (xᵀPy)²/xᵀPx} on 1 degree of
 * freedom, with {@code P = V⁻¹ − V⁻¹X(XᵀV⁻¹X)⁻¹XᵀV⁻¹} and {@code V = σ̂²_g K + σ̂²_e I} from the null fit
 * ({@link NullModel}). The p-value is computed in log space ({@link ChiSquared#logUpperTail}), so it is
 * never 0.
 *
 * <p>Cost: with {@code K = U diag(d) Uᵀ} the rotated block {@code X̃ = Uᵀ X_block} is one SGEMM
 * ({@code 2n²m} flops for m variants), after which {@code xᵀPy = x̃ᵀr} ({@code r = P̃ỹ}) and
 * {@code xᵀPx = Σ w_i x̃_i² − (Gᵀx̃)ᵀC⁻¹(Gᵀx̃)} are {@code O(n p)} per variant. The genotypes are centered
 * before rotation, which leaves the statistic unchanged (X has an intercept, so {@code P1 = 0}) and
 * avoids losing digits to the mean. With {@code exact} each variant instead gets its own REML
 * estimate of {@code λ = σ²_g/σ²_e} and a Wald test ({@link ExactLmm}, GEMMA {@code -lmm 1}); the other
 * statistics of {@link LmmTest} (F with λ fixed, LRT, score) come from {@link ExactLmm} too.
 */
public final class Mlma {
  private Mlma() {}

  /** Variants per SGEMM: big enough for BLAS efficiency, small enough to stay in cache-friendly memory. */
  public static int blockVariantsFor(int n) {
    long target = 16L << 20;
    return (int) Math.max(32, Math.min(1024, target / (4L * n)));
  }

  /**
   * Tests every selected variant of {@code [first, end)}: decodes blocks of {@code blockVariants},
   * rotates each with one SGEMM and computes the statistics. Counts what decoding kept and dropped.
   */
  public static AssocResults testRange(NullModel model, GenotypeReader reader, int first, int end, long position,
      boolean[] include, double minMaf, int blockVariants, boolean exact, Configuration conf,
      VariantFilterCounts counts) {
    return testRange(model, reader, first, end, position, include, minMaf, blockVariants,
        exact ? LmmTest.WALD : LmmTest.MLMA, conf, counts);
  }

  /** As above, with the per-variant statistic {@code test} ({@link LmmTest}). */
  public static AssocResults testRange(NullModel model, GenotypeReader reader, int first, int end, long position,
      boolean[] include, double minMaf, int blockVariants, LmmTest test, Configuration conf,
      VariantFilterCounts counts) {
    return testRange(java.util.List.of(model), reader, first, end, position, include, minMaf, blockVariants, test, conf,
        counts).get(0);
  }

  /**
   * Several traits over the same analysed samples, whose null models share the eigenvectors of K
   * ({@link NullModel#of(RemlProblem, SpectralReml.Eigen, double, double, int[], String, NullModel)}): each block
   * is decoded once and rotated once ({@code X̃ = Uᵀ X_block}, one SGEMM), then tested against every model
   * ({@code O(n·p)} per variant and trait). Each trait's results are exactly those of {@link #testRange} with its
   * model alone. Returns them in the order of {@code models}; {@code counts} is the samples' decoding, shared.
   */
  public static java.util.List<AssocResults> testRange(java.util.List<NullModel> models, GenotypeReader reader,
      int first, int end, long position, boolean[] include, double minMaf, int blockVariants, LmmTest test,
      Configuration conf, VariantFilterCounts counts) {
    NullModel model = models.get(0);
    java.util.List<AssocResults> out = new java.util.ArrayList<>();
    java.util.List<ExactLmm> exact = new java.util.ArrayList<>();
    for (NullModel m : models) {
      if (m.u != model.u || !java.util.Arrays.equals(m.famRows, model.famRows)) {
        throw new IllegalArgumentException("null models tested together must share the samples and eigenvectors");
      }
      out.add(new AssocResults());
      exact.add(test == LmmTest.MLMA ? null : new ExactLmm(m));
    }
    float[] rotated = new float[model.n * blockVariants + model.n];
    new DosageBlockReader(reader, model.famRows, minMaf, blockVariants).read(first, end, position, include, conf,
        counts, block -> {
          if (block.m == 0) {
            return;
          }
          testBlock(model, block, rotated, exact.get(0), test, out.get(0));
          for (int t = 1; t < models.size(); t++) {
            testRotated(models.get(t), block, rotated, exact.get(t), test, out.get(t));
          }
        });
    return out;
  }

  /**
   * Tests the variants of one block, appending to {@code out}. {@code rotated} is scratch space of at
   * least {@code n·block.m} floats; {@code exact} null for the fixed-null test.
   */
  public static void testBlock(NullModel model, DosageBlock block, float[] rotated, ExactLmm exact, LmmTest test,
      AssocResults out) {
    int n = model.n;
    int m = block.m;
    if (m == 0) {
      return;
    }
    if (block.n != n) {
      throw new IllegalArgumentException("block of " + block.n + " samples for a null model of " + n);
    }
    // X̃ = Uᵀ X_block (n×m), one SGEMM.
    Blas.sgemm(true, false, n, m, n, 1f, model.u, 0, n, block.values, 0, n, 0f, rotated, 0, n);
    testRotated(model, block, rotated, exact, test, out);
  }

  /**
   * The statistics of a block already rotated by the eigenvectors of {@code model} (any null model with
   * the same eigenvectors may reuse one rotation, e.g. several traits over the same samples).
   */
  static void testRotated(NullModel model, DosageBlock block, float[] rotated, ExactLmm exact, AssocResults out) {
    testRotated(model, block, rotated, exact, exact == null ? LmmTest.MLMA : LmmTest.WALD, out);
  }

  /** As above with the statistic {@code test}; {@code exact} (not null unless MLMA) computes the others. */
  static void testRotated(NullModel model, DosageBlock block, float[] rotated, ExactLmm exact, LmmTest test,
      AssocResults out) {
    int n = model.n;
    int m = block.m;
    double[] x = new double[n];
    double[] b = new double[model.p];
    for (int c = 0; c < m; c++) {
      int base = c * n;
      for (int i = 0; i < n; i++) {
        x[i] = rotated[base + i];
      }
      int v = block.variantIndex[c];
      double af = block.a1Frequency[c];
      int called = block.called[c];
      double info = block.info[c];
      if (test != LmmTest.MLMA) {
        ExactLmm.Result t = exact.test(x, test);
        out.add(v, af, called, info, t.beta(), t.se(), t.statistic(), t.logP(), t.lambda());
        continue;
      }
      double xPx = quadraticP(model, x, b);
      double xPy = 0;
      for (int i = 0; i < n; i++) {
        xPy += model.r[i] * x[i];
      }
      if (Double.isNaN(xPx)) {
        out.add(v, af, called, info, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        continue;
      }
      double chi2 = xPy * xPy / xPx;
      out.add(v, af, called, info, xPy / xPx, 1 / Math.sqrt(xPx), chi2, ChiSquared.logUpperTail(chi2, 1), Double.NaN);
    }
  }

  /**
   * {@code x̃ᵀP̃x̃ = Σ w_i x̃_i² − bᵀC⁻¹b}, {@code b = Gᵀx̃}; NaN when {@code x} is (to 1e-8 relative) in
   * the span of the covariates, where the test is undefined. {@code b} is scratch of length p.
   */
  static double quadraticP(NullModel model, double[] x, double[] b) {
    int n = model.n;
    int p = model.p;
    double xwx = 0;
    for (int i = 0; i < n; i++) {
      xwx += model.w[i] * x[i] * x[i];
    }
    for (int j = 0; j < p; j++) {
      double s = 0;
      int off = j * n;
      for (int i = 0; i < n; i++) {
        s += model.g[off + i] * x[i];
      }
      b[j] = s;
    }
    double quad = 0;
    for (int j = 0; j < p; j++) {
      double s = 0;
      for (int l = 0; l < p; l++) {
        s += model.cinv[j + l * p] * b[l];
      }
      quad += b[j] * s;
    }
    double xPx = xwx - quad;
    return xPx > 1e-8 * xwx ? xPx : Double.NaN;
  }
}
