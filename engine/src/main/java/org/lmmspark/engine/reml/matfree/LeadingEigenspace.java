package org.lmmspark.engine.reml.matfree;

import java.util.SplittableRandom;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.linalg.RayleighRitz;
import org.lmmspark.engine.reml.SmallMatrices;
import org.lmmspark.engine.reml.SymmetricOperator;

/**
 * Approximate leading eigenpairs of a symmetric positive semi-definite operator known only through
 * block products, by randomized subspace iteration with a Rayleigh–Ritz step (Halko, Martinsson &amp;
 * Tropp 2011, SIAM Rev 53:217, alg. 4.4 and 5.3): {@code Q ← orth(Ω)} (Ω random signs), then {@code passes} times
 * {@code Y = A Q} and (but the last time) {@code Q ← orth(Y)}; finally {@code H = QᵀY = QᵀAQ},
 * {@code H = W Λ Wᵀ}, Ritz vectors {@code U = Q W} and values Λ. Every product is one pass over the
 * genotypes for all k columns, and the Rayleigh–Ritz step reuses the last one, so the cost is
 * {@code passes} passes with k columns.
 *
 * <p>Why: a genomic relationship matrix of a structured cohort has a few eigenvalues of order
 * {@code N·F_ST} (population axes; thousands at biobank N) above a Marchenko–Pastur bulk of order 1.
 * Subspace iteration converges on an eigenvalue at the rate {@code (λ_{k+1}/λ_i)^passes}, so such
 * separated eigenpairs are accurate after two or three passes; Ritz pairs inside the bulk are not
 * eigenpairs, but are still an orthonormal basis with their Rayleigh quotients, which is all that the
 * {@link SpectralPreconditioner} built from them needs to stay symmetric positive definite.
 *
 * @param n         rows
 * @param rank      k, the number of Ritz pairs
 * @param vectors   U, n×k column-major, orthonormal columns
 * @param values    Λ, descending, clamped at 0
 * @param restMean  mean eigenvalue of A on the orthogonal complement of U, {@code (tr A − Σλ)/(n − k)}
 * @param residuals per pair, {@code ‖A u − λ u‖ / λ} (how far it is from an eigenpair)
 * @param passes    operator products taken
 */
public record LeadingEigenspace(int n, int rank, double[] vectors, double[] values, double restMean,
    double[] residuals, int passes) {

  /**
   * @param a      the operator (positive semi-definite; its {@link SymmetricOperator#trace} is used)
   * @param rank   k ({@code 1 ≤ k < n})
   * @param passes products with A ({@code ≥ 1}); 4 gives the separated leading eigenpairs of a GRM
   * @param seed   of the random start block
   */
  public static LeadingEigenspace compute(SymmetricOperator a, int rank, int passes, long seed) {
    int n = a.size();
    if (rank < 1 || rank >= n || passes < 1) {
      throw new IllegalArgumentException("need 1 ≤ rank < n and passes ≥ 1, got rank " + rank + ", n " + n
          + ", passes " + passes);
    }
    SplittableRandom rnd = new SplittableRandom(seed);
    double[] q = new double[n * rank];
    for (int i = 0; i < q.length; i++) {
      q[i] = rnd.nextBoolean() ? 1 : -1;
    }
    return iterate(a, rank, passes, q);
  }

  /**
   * The leading Ritz pairs of a nearby operator taken as they are, with no product of A: {@code start}'s columns (the
   * nearby operator's Ritz vectors restricted to these rows) orthonormalized, with its Ritz {@code values}. They are not
   * A's Ritz pairs, but an orthonormal basis with positive values, all that the {@link SpectralPreconditioner} needs to
   * stay symmetric positive definite: CG's solutions do not change, only how fast it gets there. Residuals NaN
   * (unknown), passes 0.
   */
  public static LeadingEigenspace borrowed(SymmetricOperator a, int rank, double[] start, double[] values) {
    int n = a.size();
    if (rank < 1 || rank >= n || start.length != (long) n * rank || values.length < rank) {
      throw new IllegalArgumentException("need 1 ≤ rank < n, an n×rank start and rank values, got rank " + rank
          + ", n " + n + ", start of " + start.length + ", " + values.length + " values");
    }
    double[] u = start.clone();
    Blas.orthonormalize(n, rank, u);
    double[] lambda = new double[rank];
    for (int j = 0; j < rank; j++) {
      lambda[j] = Math.max(0, values[j]);
    }
    double rest = (a.trace() - SmallMatrices.sum(lambda)) / (n - rank);
    double[] residuals = new double[rank];
    java.util.Arrays.fill(residuals, Double.NaN);
    return new LeadingEigenspace(n, rank, u, lambda, Math.max(rest, 0), residuals, 0);
  }

  private static LeadingEigenspace iterate(SymmetricOperator a, int k, int passes, double[] q) {
    int n = a.size();
    Blas.orthonormalize(n, k, q);
    double[] y = new double[n * k];
    for (int pass = 1; pass <= passes; pass++) {
      a.apply(q, k, y);
      if (pass < passes) {
        System.arraycopy(y, 0, q, 0, n * k);
        Blas.orthonormalize(n, k, q);
      }
    }
    // Rayleigh–Ritz on span(Q): H = QᵀAQ, with AQ = Y from the last pass; Ritz values clamped at 0.
    RayleighRitz ritz = RayleighRitz.of(n, k, q, y, k);
    double[] values = ritz.values();
    for (int j = 0; j < k; j++) {
      values[j] = Math.max(0, values[j]);
    }
    double[] u = ritz.vectors();
    double[] residuals = ritz.residuals();
    double rest = (a.trace() - SmallMatrices.sum(values)) / (n - k);
    return new LeadingEigenspace(n, k, u, values, Math.max(rest, 0), residuals, passes);
  }

  /** Pairs whose relative residual is at most {@code tol} (the converged leading eigenpairs). */
  public int converged(double tol) {
    int c = 0;
    for (double r : residuals) {
      if (r <= tol) {
        c++;
      }
    }
    return c;
  }

  /** One line for logs: the leading values, how many pairs converged, and the complement's mean. */
  public String describe() {
    StringBuilder sb = new StringBuilder();
    for (int j = 0; j < Math.min(4, rank); j++) {
      sb.append(j == 0 ? "" : ", ").append(String.format(java.util.Locale.ROOT, "%.4g", values[j]));
    }
    if (passes == 0) {
      return String.format(java.util.Locale.ROOT, "%d Ritz pairs borrowed from a larger sample's, restricted (no pass; "
          + "leading %s%s), mean eigenvalue beyond them %.4g", rank, sb, rank > 4 ? ", …" : "", restMean);
    }
    return String.format(java.util.Locale.ROOT, "%d Ritz pairs from %d passes (leading %s%s; %d within 1e-2 "
        + "relative residual), mean eigenvalue beyond them %.4g", rank, passes, sb, rank > 4 ? ", …" : "",
        converged(1e-2), restMean);
  }
}
