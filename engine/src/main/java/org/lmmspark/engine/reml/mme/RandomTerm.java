package org.lmmspark.engine.reml.mme;

import java.util.List;
import org.lmmspark.engine.linalg.SparseSymmetric;

/**
 * One random-effect term of a {@link MixedModel}: {@code Z u} with {@code u ~ N(0, Σ ⊗ K)}, u
 * ordered effect by effect ({@code u = (u_1ᵀ, …, u_dᵀ)ᵀ}, each over the m levels), so that
 * {@code Cov(u_a, u_b) = Σ_ab K}. Effect {@code a} of record {@code i} enters {@code y_i} as
 * {@code covariates[a][i] · u_a[levelOfRecord[i]]}: a random intercept has {@code d = 1} and the
 * covariate 1; intercept and slopes on {@code x} have {@code d = 2}, covariates {@code (1, x)}.
 *
 * <p>{@code K} is known only through its sparse inverse (identity for a grouping factor: levels are
 * independent; {@code A⁻¹} for a pedigree, over every animal including ancestors without records),
 * with {@code log|K|} for the likelihood and {@code diag(K)} for reliabilities.
 *
 * @param name          name of the term ("herd", "A")
 * @param levelNames    the m levels (animals, herds), for outputs
 * @param levelOfRecord level of each of the n records in {@code 0..m-1}, or −1 when the term does not
 *                      apply to the record
 * @param effectNames   the d effects ("intercept", a slope's covariate)
 * @param covariates    {@code d} arrays of n values; null means {@code d = 1} with covariate 1
 * @param precision     {@code K⁻¹} (m×m), or null for {@code K = I}
 * @param logDetK       {@code log|K|} (0 for the identity)
 * @param kDiagonal     {@code diag(K)} (m values), or null for all ones
 */
public record RandomTerm(String name, List<String> levelNames, int[] levelOfRecord, List<String> effectNames,
    double[][] covariates, SparseSymmetric precision, double logDetK, double[] kDiagonal) {

  public RandomTerm {
    int m = levelNames.size();
    for (int i = 0; i < levelOfRecord.length; i++) {
      if (levelOfRecord[i] < -1 || levelOfRecord[i] >= m) {
        throw new IllegalArgumentException("term " + name + ": record " + i + " has level " + levelOfRecord[i]
            + " outside 0.." + (m - 1));
      }
    }
    if (covariates != null && covariates.length != effectNames.size()) {
      throw new IllegalArgumentException("term " + name + ": " + covariates.length + " covariates for "
          + effectNames.size() + " effects");
    }
    if (covariates == null && effectNames.size() != 1) {
      throw new IllegalArgumentException("term " + name + ": several effects need their covariates");
    }
    if (precision != null && precision.size() != m) {
      throw new IllegalArgumentException("term " + name + ": K⁻¹ is " + precision.size() + "×" + precision.size()
          + " for " + m + " levels");
    }
  }

  /** A random intercept per level: {@code d = 1}, covariate 1. */
  public static RandomTerm intercept(String name, List<String> levelNames, int[] levelOfRecord,
      SparseSymmetric precision, double logDetK, double[] kDiagonal) {
    return new RandomTerm(name, levelNames, levelOfRecord, List.of("intercept"), null, precision, logDetK, kDiagonal);
  }

  public int levels() {
    return levelNames.size();
  }

  /** d, the number of correlated effects per level. */
  public int dimension() {
    return effectNames.size();
  }

  /** Covariate of effect {@code a} on record {@code i}. */
  double covariate(int a, int i) {
    return covariates == null ? 1.0 : covariates[a][i];
  }

  double kDiagonal(int level) {
    return kDiagonal == null ? 1.0 : kDiagonal[level];
  }

  /** Names of the {@code d(d+1)/2} parameters of Σ, in the order (0,0), (1,0), (1,1), (2,0), …. */
  List<String> parameterNames() {
    int d = dimension();
    if (d == 1) {
      return List.of(name);
    }
    java.util.List<String> out = new java.util.ArrayList<>();
    for (int a = 0; a < d; a++) {
      for (int b = 0; b <= a; b++) {
        out.add(a == b ? name + ":" + effectNames.get(a) : name + ":" + effectNames.get(a) + "," + effectNames.get(b));
      }
    }
    return out;
  }
}
