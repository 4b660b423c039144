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
  MLMA("MLMA, variance components fixed at the REML null (GCTA --mlma): beta = x'Py/x'Px, chi2 on 1 df"),
  F("F test with the variance ratio fixed at the REML null and the scale re-estimated per variant (EMMAX,"
      + " FaST-LMM single_snp, Hail's fixed-h2 test): F on (1, n - p - 1) df"),
  WALD("Wald test with the variance ratio re-estimated by REML per variant (GEMMA -lmm 1): F on (1, n - p - 1) df"),
  LRT("likelihood-ratio test with the variance ratio re-estimated by ML with and without the variant (GEMMA -lmm 2):"
      + " chi2 on 1 df; the chi2 column holds the LRT, lambda the per-variant ML ratio"),
  SCORE("score test at the null ML variance ratio (GEMMA -lmm 3): F = n(x'Py)^2/(y'Py x'Px) on (1, n - p - 1) df");

  private final String description;

  LmmTest(String description) {
    this.description = description;
  }

  /** One line naming the statistic and the peer it matches, for logs, reports and {@code --help}. */
  public String description() {
    return description;
  }

  /** The {@code --test} spelling. */
  public String option() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
