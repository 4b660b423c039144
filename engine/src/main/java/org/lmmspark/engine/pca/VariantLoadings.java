package org.lmmspark.engine.pca;

import java.io.Serializable;
import org.lmmspark.engine.matfree.GenotypeProductKernel;
import org.lmmspark.engine.matfree.PackedGenotypeBlock;

/**
 * Variant weights (loadings) of principal components, plink2's {@code --pca biallelic-var-wts}:
 * {@code w_jk = Σ_i z_ij u_ik / √λ_k}, i.e. {@code W = Zᵀ U Λ^{−1/2}} with z the standardized genotype
 * (missing calls 0) and u, λ the components. They project samples onto the components: since
 * {@code Z W = Z Zᵀ U Λ^{−1/2} = M U Λ^{1/2}} for {@code K = ZZᵀ/M},
 * <pre>  u_ik = Σ_j z_ij w_jk / (M √λ_k)</pre>
 * exactly for the samples they were computed from (mean-imputed K) and as a projection for new
 * samples, whose genotypes are standardized with the reference A1 frequencies ({@code p_j}, written
 * beside the weights). Each weight's norm over variants is {@code Σ_j w_jk² = M}.
 *
 * <p>Cost: one pass over the genotypes with K columns ({@code 2·N·M·K} flops, single-precision
 * products summed in double as in {@link GenotypeProductKernel#transposeProduct}).
 */
public final class VariantLoadings {
  private VariantLoadings() {}

  /**
   * One block's weights (in A1-count orientation) and A1 frequencies.
   *
   * @param variantIndex fileset index of each variant
   * @param a1Frequency  p_j
   * @param weights      m×K column-major
   */
  public record Block(int[] variantIndex, double[] a1Frequency, double[] weights) implements Serializable {}

  /** {@code U Λ^{−1/2}} in single precision, the right-hand side of the loadings pass. */
  public static float[] scaledVectors(PrincipalComponents pcs) {
    int n = pcs.n();
    float[] out = new float[n * pcs.k()];
    for (int c = 0; c < pcs.k(); c++) {
      double s = 1.0 / Math.sqrt(pcs.values()[c]);
      for (int i = 0; i < n; i++) {
        out[i + c * n] = (float) (pcs.vector(i, c) * s);
      }
    }
    return out;
  }

  /** The weights of one packed block's variants; {@code scaled} from {@link #scaledVectors}. */
  public static Block of(PackedGenotypeBlock block, float[] scaled, int k, GenotypeProductKernel.Workspace ws) {
    int m = block.m;
    double[] t = GenotypeProductKernel.transposeProduct(block, scaled, k, ws);
    double[] p = new double[m];
    for (int v = 0; v < m; v++) {
      p[v] = block.a1Frequency(v);
    }
    return new Block(block.variantIndex.clone(), p, java.util.Arrays.copyOf(t, m * k));
  }
}
