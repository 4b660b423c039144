package org.lmmspark.engine.pca;

import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.linalg.RayleighRitz;
import org.lmmspark.engine.reml.SymmetricOperator;

/**
 * Randomized principal components by block Krylov iteration (block Lanczos with full
 * re-orthogonalization and a Rayleigh–Ritz step; Musco &amp; Musco 2015, "Randomized block Krylov
 * methods for stronger and faster approximate singular value decomposition", NeurIPS; Halko,
 * Martinsson, Shkolnisky &amp; Tygert 2011, the algorithm behind EIGENSOFT's fastpca and plink2's
 * {@code --pca approx}) on the relationship matrix as an operator, {@code K = Z Zᵀ/M}, never formed.
 *
 * <p>With a random n×b start Ω (b = {@link Options#blockFor}, at least 2K as plink2 takes), pass t
 * multiplies the newest block, {@code Y_t = K Q_{t−1}}, appends {@code Q_{t−1}} to the basis
 * {@code B_t = [Q_0 … Q_{t−1}]} (an orthonormal basis of the block Krylov space
 * {@code span{Ω, KΩ, …, K^{t−1}Ω}}), takes the Rayleigh–Ritz pairs of K on it from the products
 * already known ({@code K B_t = [Y_1 … Y_t]}, no further pass), and stops when the K leading pairs
 * have relative residuals {@code ‖K u − λ u‖/λ} at most {@code tol}; otherwise the next block is
 * {@code Y_t} orthogonalized twice against {@code B_t} (classical Gram–Schmidt twice, then Householder
 * QR). Krylov spaces converge on the leading eigenvectors like Chebyshev polynomials, in about
 * {@code log(1/ε)/√gap} passes where subspace iteration needs {@code log(1/ε)/gap}.
 *
 * <p>Cost: each pass is one genotype pass with b columns ({@code 4·N·M·b} flops, the products in single
 * precision: {@link org.lmmspark.engine.matfree.GenotypeProductKernel}), plus {@code O(N·(tb)²)} dense
 * work on the driver for the orthogonalization and Rayleigh–Ritz; memory {@code 16·N·t·b} bytes for
 * the basis and its products. No N×N and no M×M matrix anywhere.
 *
 * <p>Missing calls: the operator is mean-imputed ({@code z = 0}) as plink2's {@code approx} is; the
 * exact route scales each pair by its own count instead (they agree when nothing is missing).
 */
public final class BlockKrylovPca {

  /**
   * @param block     columns per pass (0: {@link #blockFor}(K))
   * @param maxPasses most passes over the genotypes
   * @param tol       stop when every one of the K leading Ritz pairs has {@code ‖K u − λ u‖/λ ≤ tol}
   * @param seed      of the random start
   */
  public record Options(int block, int maxPasses, double tol, long seed) {
    public static final int DEFAULT_MAX_PASSES = 20;
    /**
     * An eigenvector's error is about residual·λ/gap; 10⁻³ places the leading PCs of a structured
     * cohort (gaps of order λ) to ~10⁻³ and their eigenvalues, whose error is quadratic, to ~10⁻⁶.
     */
    public static final double DEFAULT_TOL = 1e-3;

    public Options {
      if (block < 0 || maxPasses < 1 || !(tol > 0)) {
        throw new IllegalArgumentException("block ≥ 0, maxPasses ≥ 1 and tol > 0 needed");
      }
    }

    public static Options defaults(long seed) {
      return new Options(0, DEFAULT_MAX_PASSES, DEFAULT_TOL, seed);
    }

    /** Columns per pass for K components: 2K as plink2's approx takes, at least K + 10 (oversampling). */
    public static int blockFor(int components) {
      return Math.max(2 * components, components + 10);
    }
  }

  private BlockKrylovPca() {}

  /**
   * The K leading eigenpairs of {@code a} (positive semi-definite). {@code progress} is told one line per
   * pass (may be null).
   */
  public static PrincipalComponents compute(SymmetricOperator a, int components, Options o, Consumer<String> progress) {
    int n = a.size();
    ExactPca.checkComponents(components, n, Long.MAX_VALUE);
    int b = Math.min(o.block() > 0 ? Math.max(o.block(), components) : Options.blockFor(components), n);
    int maxWidth = Math.min(n, b * o.maxPasses());
    double[] basis = new double[n * maxWidth];
    double[] products = new double[n * maxWidth];
    SplittableRandom rnd = new SplittableRandom(o.seed());
    double[] next = new double[n * b];
    for (int i = 0; i < next.length; i++) {
      next[i] = rnd.nextBoolean() ? 1 : -1;
    }
    Blas.orthonormalize(n, b, next);
    int width = 0;
    int pass = 0;
    RayleighRitz ritz = null;
    while (true) {
      double[] y = new double[n * b];
      a.apply(next, b, y);
      pass++;
      System.arraycopy(next, 0, basis, width * n, n * b);
      System.arraycopy(y, 0, products, width * n, n * b);
      width += b;
      ritz = RayleighRitz.of(n, width, basis, products, components);
      double worst = 0;
      for (double r : ritz.residuals()) {
        worst = Math.max(worst, r);
      }
      if (progress != null) {
        progress.accept(String.format(java.util.Locale.ROOT, "pass %d: Krylov basis %d columns, λ1 %.6g, λ%d %.6g, "
            + "largest relative residual %.3g", pass, width, ritz.values()[0], components,
            ritz.values()[components - 1], worst));
      }
      int room = Math.min(b, maxWidth - width);
      if (worst <= o.tol() || room < 1 || pass >= o.maxPasses()) {
        break;
      }
      // The next block: Y_t made orthogonal to the basis (twice, for orthogonality to rounding), then orthonormal.
      b = room;
      next = java.util.Arrays.copyOf(y, n * b);
      for (int twice = 0; twice < 2; twice++) {
        double[] c = new double[width * b];
        Blas.dgemm(true, false, width, b, n, 1.0, basis, n, next, n, 0.0, c, width);
        Blas.dgemm(false, false, n, b, width, -1.0, basis, n, c, width, 1.0, next, n);
      }
      Blas.orthonormalize(n, b, next);
    }
    double[] vectors = ritz.vectors();
    PrincipalComponents.orientSigns(n, components, vectors);
    return new PrincipalComponents(n, components, ritz.values(), vectors, false, pass, ritz.residuals());
  }
}
