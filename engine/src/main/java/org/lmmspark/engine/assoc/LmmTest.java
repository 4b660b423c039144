package org.lmmspark.engine.assoc;

/**
 * The per-variant statistic of a spectral (exact) association scan, each the one a peer tool reports.
 * With {@code H = λK + I}, {@code P_H} the projection of {@code H⁻¹} orthogonal to the covariates, and
 * {@code df = n − p − 1}:
 * <ul>
 *   <li>{@link #MLMA}: both variance components fixed at the REML null; {@code β̂ = xᵀPy/xᵀPx},
 *       {@code χ² = (xᵀPy)²/xᵀPx} on 1 df (GCTA {@code --mlma}).</li>
 *   <li>{@link #F}: the ratio λ fixed at the REML null, the scale re-estimated with the variant in the
 *       model: {@code σ̂² = yᵀP_{H,x}y/df}, {@code F = β̂²/(σ̂²/xᵀP_Hx)} on (1, df) (EMMAX, FaST-LMM
 *       {@code single_snp}, Hail's fixed-h² test).</li>
 *   <li>{@link #WALD}: λ re-estimated by REML for each variant, then the same F (GEMMA {@code -lmm 1}).</li>
 *   <li>{@link #LRT}: λ re-estimated by ML with and without the variant;
 *       {@code 2(ℓ_ML(λ̂₁; x) − ℓ_ML(λ̂₀))} on χ²₁ (GEMMA {@code -lmm 2}).</li>
 *   <li>{@link #SCORE}: λ fixed at the null ML estimate λ̂₀; {@code F = n(xᵀP_Hy)²/(yᵀP_Hy · xᵀP_Hx)} on
 *       (1, df) (GEMMA {@code -lmm 3}).</li>
 * </ul>
 */
public enum LmmTest {
  MLMA, F, WALD, LRT, SCORE
}
