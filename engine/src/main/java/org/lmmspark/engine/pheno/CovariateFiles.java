package org.lmmspark.engine.pheno;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * The covariate files of a model frame and the steps {@link SampleFrame} takes with them (for every
 * table-driven route: {@code reml} on GRMs or a pedigree, {@code reml}/{@code assoc} on genotypes), each a
 * named method:
 * <ol>
 *   <li>{@link #traitColumn}: the trait, {@code --pheno-name} or the first phenotype column no
 *       covariate or group uses;</li>
 *   <li>{@link #CovariateFiles the constructor}: each column of the categorical ({@code --covar}) and
 *       quantitative ({@code --qcovar}) files read once, samples with a missing value flagged;</li>
 *   <li>{@link #addInputs}: one {@link SampleMatch.Input} per file, for the intersection of samples
 *       (with those of the phenotype, relationship matrices or genotypes that the caller adds);</li>
 *   <li>{@link #addColumns}: after the intersection, each covariate's value at each analysed record
 *       (through its individual, so that with repeated records a file keyed by individual applies to
 *       all of the individual's records), as {@link Design} columns: categorical columns become
 *       indicator columns, quantitative ones one column each ({@link Design#build}).</li>
 * </ol>
 * Columns of the categorical file named as grouping factors ({@code --group}) are not covariates;
 * {@link #groupLabels} gives their values per record instead.
 */
public final class CovariateFiles {
  private final SampleTable covar;
  private final SampleTable qcovar;
  private final Set<String> groupColumns;
  private final List<String[]> catValues = new ArrayList<>();
  private final List<double[]> qValues = new ArrayList<>();
  private final boolean[] covarOk;
  private final boolean[] qcovarOk;
  private int covarInput = -1;
  private int qcovarInput = -1;

  /**
   * Reads every column of both files (either may be null).
   *
   * @param groupColumns columns of {@code covar} that are grouping factors, not covariates
   */
  public CovariateFiles(SampleTable covar, SampleTable qcovar, Collection<String> groupColumns) {
    this.covar = covar;
    this.qcovar = qcovar;
    this.groupColumns = Set.copyOf(groupColumns);
    covarOk = covar == null ? null : allTrue(covar.size());
    if (covar != null) {
      for (int col = 0; col < covar.columns().size(); col++) {
        String[] v = covar.categorical(col);
        for (int i = 0; i < v.length; i++) {
          covarOk[i] &= v[i] != null;
        }
        catValues.add(v);
      }
    }
    qcovarOk = qcovar == null ? null : allTrue(qcovar.size());
    if (qcovar != null) {
      for (int col = 0; col < qcovar.columns().size(); col++) {
        double[] v = qcovar.numeric(col);
        for (int i = 0; i < v.length; i++) {
          qcovarOk[i] &= !Double.isNaN(v[i]);
        }
        qValues.add(v);
      }
    }
  }

  /**
   * The trait column of {@code pheno}, {@code phenoName} or (null) the first column not in
   * {@code used} (covariates and groups taken from the phenotype file).
   */
  public static int traitColumn(SampleTable pheno, String phenoName, Set<String> used) {
    if (phenoName != null) {
      int col = pheno.column(phenoName, "--pheno-name");
      if (used.contains(phenoName)) {
        throw new org.lmmspark.engine.BadInputException("--pheno-name '" + phenoName
            + "' is also used as a covariate or group");
      }
      return col;
    }
    for (int c = 0; c < pheno.columns().size(); c++) {
      if (!used.contains(pheno.columns().get(c))) {
        return c;
      }
    }
    throw org.lmmspark.engine.BadInputException.inFile(pheno.file(),
        "every column is used as a covariate or group; no trait column left");
  }

  /** Appends one input per file to {@code inputs}, remembering their positions. */
  public void addInputs(List<SampleMatch.Input> inputs) {
    if (covar != null) {
      covarInput = inputs.size();
      inputs.add(new SampleMatch.Input("covariates " + covar.file(), covar.ids(), covarOk, "missing covariate value"));
    }
    if (qcovar != null) {
      qcovarInput = inputs.size();
      inputs.add(new SampleMatch.Input("quantitative covariates " + qcovar.file(), qcovar.ids(), qcovarOk,
          "missing covariate value"));
    }
  }

  /**
   * Appends the covariates' values at each record to {@code cats} and {@code quants}, in file
   * column order; {@code individualOfRecord[i]} is record i's position among {@code match}'s samples.
   */
  public void addColumns(SampleMatch match, int[] individualOfRecord, List<Design.Categorical> cats,
      List<Design.Quantitative> quants) {
    if (covar != null) {
      int[] rows = viaIndividual(match.rowsIn(covarInput), individualOfRecord);
      for (int col = 0; col < catValues.size(); col++) {
        if (!groupColumns.contains(covar.columns().get(col))) {
          cats.add(new Design.Categorical(covar.columns().get(col), pick(catValues.get(col), rows)));
        }
      }
    }
    if (qcovar != null) {
      int[] rows = viaIndividual(match.rowsIn(qcovarInput), individualOfRecord);
      for (int col = 0; col < qValues.size(); col++) {
        quants.add(new Design.Quantitative(qcovar.columns().get(col), pick(qValues.get(col), rows)));
      }
    }
  }

  /** Whether the categorical file has this column (a grouping factor may come from it). */
  public boolean hasCategorical(String column) {
    return covar != null && covar.columns().contains(column);
  }

  /** A grouping column of the categorical file at each record (see {@link #addColumns}). */
  public String[] groupLabels(String column, SampleMatch match, int[] individualOfRecord) {
    int[] rows = viaIndividual(match.rowsIn(covarInput), individualOfRecord);
    return pick(catValues.get(covar.column(column, "--group")), rows);
  }

  /** The identity map of one record per individual. */
  public static int[] oneRecordEach(int n) {
    int[] z = new int[n];
    for (int j = 0; j < n; j++) {
      z[j] = j;
    }
    return z;
  }

  /** For each record, the row of its individual in an input: {@code rows[z[i]]}. */
  private static int[] viaIndividual(int[] rowsOfIndividuals, int[] z) {
    int[] out = new int[z.length];
    for (int i = 0; i < z.length; i++) {
      out[i] = rowsOfIndividuals[z[i]];
    }
    return out;
  }

  static double[] pick(double[] v, int[] rows) {
    double[] out = new double[rows.length];
    for (int i = 0; i < rows.length; i++) {
      out[i] = v[rows[i]];
    }
    return out;
  }

  static String[] pick(String[] v, int[] rows) {
    String[] out = new String[rows.length];
    for (int i = 0; i < rows.length; i++) {
      out[i] = v[rows[i]];
    }
    return out;
  }

  private static boolean[] allTrue(int n) {
    boolean[] ok = new boolean[n];
    Arrays.fill(ok, true);
    return ok;
  }
}
