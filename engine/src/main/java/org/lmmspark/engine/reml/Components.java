package org.lmmspark.engine.reml;

import org.lmmspark.engine.kinship.Grm;

/** Building the covariance parts of a model from the inputs users give. */
public final class Components {
  private Components() {}

  /** A GRM (or any relationship matrix held as a {@link Grm}, e.g. a pedigree A) restricted to {@code rows}, in that order. */
  public static DenseSymmetricMatrix relationship(Grm grm, int[] rows) {
    return new DenseSymmetricMatrix(rows.length, grm.toDense(rows));
  }

  /** The epistatic (additive × additive) relationship {@code K∘K} (Henderson 1985; Jiang &amp; Reif 2015). */
  public static DenseSymmetricMatrix epistatic(DenseSymmetricMatrix k) {
    return k.hadamardSquare();
  }

  /** {@code Z Zᵀ} of a grouping factor given per sample. */
  public static GroupingOperator grouping(String[] labels) {
    return new GroupingOperator(labels);
  }
}
