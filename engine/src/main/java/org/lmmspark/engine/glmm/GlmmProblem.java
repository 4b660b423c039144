package org.lmmspark.engine.glmm;

import java.util.List;
import org.lmmspark.engine.BadInputException;

/**
 * A generalized linear mixed model to fit: {@code g(E[y_i | b]) = η_i = o_i + x_iᵀβ + Σ_t z_{t,i} b_{t,l_t(i)}}
 * with {@code b_t ~ N(0, σ²_t I)} per term t, {@code y_i} from the {@link Family} (binomial: {@code y_i}
 * successes of {@code n_i} trials; Poisson: a count with log-offset {@code o_i}).
 *
 * <p>A term is a grouping factor ({@code (1 | g)}: {@code z = 1}) or a slope on one
 * ({@code (0 + t | g)}: {@code z = t_i}), each with its own variance; correlated intercept–slope terms are
 * not expressed here yet.
 *
 * @param y        responses (successes or counts), n
 * @param trials   binomial trials per record (null: all 1); ignored for the Poisson
 * @param offset   known part of η (null: 0)
 * @param x        fixed-effect design, n×p column-major
 * @param fixedNames  the p column names
 * @param terms    the random terms
 */
public record GlmmProblem(Family family, double[] y, double[] trials, double[] offset, double[] x,
    List<String> fixedNames, List<Term> terms) {

  /**
   * One random term: record i belongs to level {@code level[i]} of {@code levels}, with covariate value
   * {@code values[i]} (null: 1, an intercept).
   */
  public record Term(String name, int[] level, int levels, double[] values) {
    public double value(int i) {
      return values == null ? 1 : values[i];
    }
  }

  public GlmmProblem {
    int n = y.length;
    if (x.length != (long) n * fixedNames.size()) {
      throw new IllegalArgumentException("X has " + x.length + " entries for n×p = " + n + "×" + fixedNames.size());
    }
    if (trials != null && trials.length != n || offset != null && offset.length != n) {
      throw new IllegalArgumentException("trials/offset must have n = " + n + " entries");
    }
    for (Term t : terms) {
      if (t.level().length != n || t.values() != null && t.values().length != n) {
        throw new IllegalArgumentException("term " + t.name() + " does not have n = " + n + " records");
      }
    }
    for (int i = 0; i < n; i++) {
      String why = family.invalidResponse(y[i], trials == null ? 1 : trials[i]);
      if (why != null) {
        throw new BadInputException("analysed record " + (i + 1) + ": " + why + " (family " + family + ")");
      }
    }
    terms = List.copyOf(terms);
    fixedNames = List.copyOf(fixedNames);
  }

  public int n() {
    return y.length;
  }

  public int p() {
    return fixedNames.size();
  }

  public double trials(int i) {
    return trials == null || !family.isBinomial() ? 1 : trials[i];
  }

  public double offset(int i) {
    return offset == null ? 0 : offset[i];
  }

  /** Total number of random effects q = Σ_t levels_t. */
  public int randomEffects() {
    int q = 0;
    for (Term t : terms) {
      q += t.levels();
    }
    return q;
  }
}
