package org.lmmspark.engine.reml.matfree;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.pheno.CovariateFiles;
import org.lmmspark.engine.pheno.Design;
import org.lmmspark.engine.pheno.TraitMagnitudes;
import org.lmmspark.engine.pheno.SampleMatch;
import org.lmmspark.engine.pheno.SampleTable;

/**
 * The fixed-effect side of a REML run on genotypes instead of a GRM ({@code --bfile} with the
 * matrix-free solver): the samples with a phenotype, every covariate value and a row in the
 * {@code .fam}, in phenotype-file order, their response and design matrix ({@link Design}), and each
 * sample's row in the fileset, for the genomic operator. The trait and covariate steps are
 * {@link CovariateFiles}', shared with {@link org.lmmspark.engine.reml.RemlInputs}: categorical columns
 * ({@code --covar}) become indicator columns, quantitative ones ({@code --qcovar}) one column each.
 */
public final class GenotypeRemlInputs {
  private GenotypeRemlInputs() {}

  /**
   * The assembled inputs. {@code famRows[i]} is sample i's row in the {@code .fam}; {@code match} says
   * which samples each input lost and why (the phenotype first, then covariates, then the fileset).
   */
  public record Assembled(Design design, List<SampleId> samples, int[] famRows, List<String> notes, SampleMatch match) {}

  /**
   * @param famIds   the fileset's samples in {@code .fam} order
   * @param famName  how to name the fileset in messages
   * @param covar    categorical covariates, or null
   * @param qcovar   quantitative covariates, or null
   */
  public static Assembled assemble(List<SampleId> famIds, String famName, SampleTable pheno, String phenoName,
      SampleTable covar, SampleTable qcovar) {
    int traitCol = CovariateFiles.traitColumn(pheno, phenoName, Set.of());
    String trait = pheno.columns().get(traitCol);
    double[] traitValues = pheno.numeric(traitCol);
    List<SampleMatch.Input> inputs = new ArrayList<>();
    boolean[] present = new boolean[traitValues.length];
    for (int i = 0; i < present.length; i++) {
      present[i] = !Double.isNaN(traitValues[i]);
    }
    inputs.add(new SampleMatch.Input("phenotype " + pheno.file(), pheno.ids(), present,
        "missing phenotype '" + trait + "'"));
    CovariateFiles covariates = new CovariateFiles(covar, qcovar, List.of());
    covariates.addInputs(inputs);
    int famInput = inputs.size();
    inputs.add(new SampleMatch.Input("genotypes " + famName, famIds, null, null));
    SampleMatch match = SampleMatch.intersect(inputs);
    List<String> notes = new ArrayList<>(match.report());
    java.util.Optional.ofNullable(pheno.nanNote(traitCol, "trait")).ifPresent(notes::add);
    if (match.size() < 4) {
      int[] count = new int[1];
      List<SampleId> ex = match.absentFrom(famInput, 5, count);
      throw new BadInputException("only " + match.size() + " samples have a phenotype, every covariate and genotypes"
          + (count[0] > 0 ? "; " + famName + " lacks " + count[0] + " phenotyped samples, e.g. " + ex
              + " (do the FID/IID match?)" : ""));
    }
    int n = match.size();
    int[] prow = match.rowsIn(0);
    TraitMagnitudes.check(pheno, traitCol, prow);
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      y[i] = traitValues[prow[i]];
    }
    List<Design.Categorical> cats = new ArrayList<>();
    List<Design.Quantitative> quants = new ArrayList<>();
    covariates.addColumns(match, CovariateFiles.oneRecordEach(n), cats, quants);
    Design design = Design.build(trait, y, quants, cats);
    return new Assembled(design, match.samples(), match.rowsIn(famInput), notes, match);
  }
}
