package org.lmmspark.engine.reml;

import org.lmmspark.engine.pedigree.NumeratorRelationship;

/**
 * A pedigree's numerator relationship matrix A over the analysed individuals, formed only when a
 * dense route asks for it: the sparse route reads the pedigree's {@code A⁻¹} instead and never calls
 * {@link #apply} or {@link #toDense}. The diagonal {@code 1 + F} and the trace come from the
 * inbreeding coefficients without A. Forming A is the tabular method over the individuals and their
 * ancestors ({@link NumeratorRelationship#dense(int[])}: O(m²) time and memory, m ≤
 * {@value NumeratorRelationship#MAX_DENSE}); it is done once and kept.
 */
public final class PedigreeRelationshipOperator implements SymmetricOperator {
  private final NumeratorRelationship pedigree;
  private final int[] animals;
  private DenseSymmetricMatrix dense;

  /** @param animals pedigree index of each analysed individual, in the analysis order */
  public PedigreeRelationshipOperator(NumeratorRelationship pedigree, int[] animals) {
    this.pedigree = pedigree;
    this.animals = animals.clone();
  }

  @Override
  public int size() {
    return animals.length;
  }

  private synchronized DenseSymmetricMatrix dense() {
    if (dense == null) {
      dense = new DenseSymmetricMatrix(animals.length, pedigree.dense(animals));
    }
    return dense;
  }

  @Override
  public void apply(double[] in, int k, double[] out) {
    dense().apply(in, k, out);
  }

  @Override
  public double[] diagonal() {
    double[] f = pedigree.inbreeding();
    double[] d = new double[animals.length];
    for (int j = 0; j < animals.length; j++) {
      d[j] = 1 + f[animals[j]];
    }
    return d;
  }

  @Override
  public double[] toDense() {
    return dense().toDense();
  }
}
