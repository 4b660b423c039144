package org.lmmspark.engine.model;

import java.util.Arrays;
import java.util.List;

/**
 * One random term of a model frame, the term-level view every likelihood route uses:
 * {@code u = (u_1, …, u_d)} per level, {@code Cov(u_a(l), u_b(l')) = Σ_ab K_ll'}, contributing
 * {@code Σ_ab Z_a K Z_bᵀ} to V, with {@code Z_a} (records × levels) holding effect a's column
 * ({@code 1} for the intercept, the slope value otherwise, 0 on a record the term does not touch) at
 * the record's level.
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
 * @param correlated   unstructured Σ (true) or a single effect of a split {@code ||} term
 */
public record RandomEffectTerm(String group, List<String> effects, double[][] z, int[] level, List<String> levelNames,
    int[] cross, int[] relIndex, Relationship relationship, boolean correlated) {

  public RandomEffectTerm {
    effects = List.copyOf(effects);
    levelNames = List.copyOf(levelNames);
    if (z.length != effects.size()) {
      throw new IllegalArgumentException("term " + group + ": " + z.length + " columns for " + effects.size() + " effects");
    }
    for (double[] col : z) {
      if (col.length != level.length) {
        throw new IllegalArgumentException("term " + group + ": a column of " + col.length + " values for "
            + level.length + " records");
      }
    }
    for (int l : level) {
      if (l < 0 || l >= levelNames.size()) {
        throw new IllegalArgumentException("term " + group + ": level " + l + " outside 0.." + (levelNames.size() - 1));
      }
    }
    if (cross.length != levelNames.size() || (relationship == null) != (relIndex == null)
        || relIndex != null && relIndex.length != levelNames.size()) {
      throw new IllegalArgumentException("term " + group + ": cross factors and relationship rows must be given per "
          + "level, the rows only with a relationship");
    }
  }

  /**
   * A random intercept per level ({@code z = 1}), without a crossed factor: {@code K = I} when
   * {@code relationship} is null, else the rows {@code relIndex} of it.
   */
  public static RandomEffectTerm intercept(String group, String effect, int[] level, List<String> levelNames,
      int[] relIndex, Relationship relationship) {
    double[] one = new double[level.length];
    Arrays.fill(one, 1);
    return new RandomEffectTerm(group, List.of(effect), new double[][] {one}, level, levelNames,
        new int[levelNames.size()], relIndex, relationship, true);
  }

  public int dimension() {
    return effects.size();
  }

  public int levelCount() {
    return levelNames.size();
  }

  /** Whether each level is one id of the relationship (no crossed factor): BLUPs exist for every id. */
  public boolean coversRelationshipIds() {
    return relationship != null && Arrays.stream(cross).allMatch(c -> c == 0);
  }

  /** {@code K} between two levels. */
  double relationship(int l1, int l2) {
    if (relationship == null) {
      return l1 == l2 ? 1 : 0;
    }
    return cross[l1] == cross[l2] ? relationship.k().get(relIndex[l1], relIndex[l2]) : 0;
  }
}
