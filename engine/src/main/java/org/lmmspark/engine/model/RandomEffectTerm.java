package org.lmmspark.engine.model;

import java.util.List;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;

/**
 * One random term of a model frame, the term-level view every likelihood route can use:
 * {@code u = (u_1, …, u_d)} per level, {@code Cov(u_a(l), u_b(l')) = Σ_ab K_ll'}, contributing
 * {@code Σ_ab Z_a K Z_bᵀ} to V, with {@code Z_a} (records × levels) holding effect a's column
 * ({@code 1} for the intercept, the slope value otherwise) at the record's level.
 *
 * <p>Levels are the combinations of the term's grouping factors. Without a relationship matrix
 * {@code K = I}. With one ({@code (1 | id:G)}, {@code (1 | env:id:G)}), {@code K_ll'} is
 * {@code G[id(l), id(l')]} when the other factors ({@code env}) agree and 0 otherwise, i.e.
 * {@code I_env ⊗ G}: with {@code env} that is GCTA's GxE component {@code G∘(Z_E Z_Eᵀ)}.
 *
 * @param group        the group name ({@code Subject}, {@code g1:g2}, {@code id:G})
 * @param effects      effect names ({@code (Intercept)}, slope labels)
 * @param z            per effect, its value per record (n)
 * @param level        level of each record
 * @param levelNames   name of each level
 * @param cross        per level, the code of its non-relationship factors (all 0 without a relationship)
 * @param relIndex     per level, its row in {@code relationship} (null without one)
 * @param relationship K over the relationship's ids, or null for identity
 * @param relationshipIds the ids labelling K's rows (null without a relationship)
 * @param correlated   unstructured Σ (true) or a single effect of a split {@code ||} term
 */
public record RandomEffectTerm(String group, List<String> effects, double[][] z, int[] level, List<String> levelNames,
    int[] cross, int[] relIndex, DenseSymmetricMatrix relationship, String relationshipName,
    List<String> relationshipIds, boolean correlated) {

  public int dimension() {
    return effects.size();
  }

  public int levelCount() {
    return levelNames.size();
  }

  /** {@code K} between two levels. */
  double relationship(int l1, int l2) {
    if (relationship == null) {
      return l1 == l2 ? 1 : 0;
    }
    return cross[l1] == cross[l2] ? relationship.get(relIndex[l1], relIndex[l2]) : 0;
  }
}
