package org.lmmspark.engine.select;

import java.io.Serializable;
import org.lmmspark.engine.genotype.ChromosomeSelection;

/**
 * The samples and variants a run takes from its genotypes: {@code --keep/--remove} and
 * {@code --extract/--exclude/--chr/--from-bp/--to-bp}, the one selection every command and every
 * genotype source applies (the GRM, REML and association, on the spectral and the matrix-free route).
 */
public record GenotypeSelection(SampleSelection samples, VariantSelection variants) implements Serializable {
  public GenotypeSelection {
    if (samples == null || variants == null) {
      throw new IllegalArgumentException("samples and variants must be given (all() for no selection)");
    }
  }

  /** Every sample, every variant with a non-negative position. */
  public static GenotypeSelection all() {
    return new GenotypeSelection(SampleSelection.all(), VariantSelection.all());
  }

  /** Every sample, the variants of these chromosomes. */
  public static GenotypeSelection of(ChromosomeSelection chromosomes) {
    return new GenotypeSelection(SampleSelection.all(), VariantSelection.of(chromosomes));
  }
}
