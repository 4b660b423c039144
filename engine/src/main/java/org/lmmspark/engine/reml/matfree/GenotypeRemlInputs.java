package org.lmmspark.engine.reml.matfree;

import java.util.List;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.pheno.Design;
import org.lmmspark.engine.pheno.SampleFrame;
import org.lmmspark.engine.pheno.SampleMatch;
import org.lmmspark.engine.pheno.SampleTable;

/**
 * The fixed-effect side of a REML run on genotypes instead of a GRM ({@code --bfile} with the
 * matrix-free solver): the model frame ({@link SampleFrame}, the same steps as
 * {@link org.lmmspark.engine.reml.RemlInputs}) with the genotype fileset's {@code .fam} as its one added
 * source: the samples with a phenotype, every covariate value and a row in the {@code .fam}, in
 * phenotype-file order, their response and design matrix, and each sample's row in the fileset, for the
 * genomic operator.
 */
public final class GenotypeRemlInputs {
  /** Fewest analysed samples: the intercept, the genetic and residual variances, one degree of freedom left. */
  public static final int MIN_SAMPLES = 4;

  private GenotypeRemlInputs() {}

  /** The assembled inputs: the frame, whose one added source is the fileset. */
  public record Assembled(SampleFrame frame) {
    public Design design() {
      return frame.design();
    }

    /** The analysed samples, in phenotype-file order. */
    public List<SampleId> samples() {
      return frame.individuals();
    }

    /** {@code famRows()[i]}: sample i's row in the {@code .fam}. */
    public int[] famRows() {
      return frame.sourceRows(0);
    }

    /** What each input lost and why (the phenotype first, then covariates, then the fileset). */
    public List<String> notes() {
      return frame.notes();
    }

    public SampleMatch match() {
      return frame.match();
    }
  }

  /**
   * @param famIds   the fileset's samples in {@code .fam} order
   * @param famName  how to name the fileset in messages
   * @param covar    categorical covariates, or null
   * @param qcovar   quantitative covariates, or null
   */
  public static Assembled assemble(List<SampleId> famIds, String famName, SampleTable pheno, String phenoName,
      SampleTable covar, SampleTable qcovar) {
    return new Assembled(SampleFrame.build(SampleFrame.Spec.of(pheno, phenoName, covar, qcovar,
        List.of(new SampleFrame.Source("genotypes " + famName, famIds, "genotype fileset")), MIN_SAMPLES)));
  }
}
