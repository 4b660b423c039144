package org.lmmspark.jobs.reml;

import java.util.List;
import org.lmmspark.engine.reml.HsqFile;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.VarianceSummary;
import org.lmmspark.engine.stats.ChiSquared;

/**
 * The one table of a many-traits run ({@code PREFIX.summary.tsv}): a row per trait with its analysed
 * samples, heritability and SE, and, after association, the genomic inflation and the top hit. Tab
 * separated with a header line, {@code NA} for what a command does not compute, so R's
 * {@code read.delim}, pandas' {@code read_csv(sep='\t')} and spreadsheets read it as it is.
 *
 * <p>Columns: {@code trait n h2 h2_se lambda_gc top_variant top_p converged solver error}; {@code h2} is
 * {@code V(G)/Vp} (the sum over genetic components when there are several), {@code top_p} printed from
 * log space ({@link ChiSquared#formatLogP}, never 0), {@code error} the reason a trait has no result.
 */
public final class TraitSummary {
  private TraitSummary() {}

  public static final String HEADER = "trait\tn\th2\th2_se\tlambda_gc\ttop_variant\ttop_p\tconverged\tsolver\terror";

  /**
   * One trait.
   *
   * @param logTopP natural log of the top hit's p-value (NaN: none)
   * @param error   why the trait has no result (null when it has one)
   */
  public record Row(String trait, int n, double h2, double h2Se, double lambdaGc, String topVariant, double logTopP,
      boolean converged, String solver, String error) {

    /** A trait with a REML fit and no association. */
    public static Row ofFit(String trait, RemlFit fit, VarianceSummary s) {
      int k = fit.parameters() - 1;
      VarianceSummary.Row h2 = s.ratios().get(k == 1 ? 0 : k);
      return new Row(trait, s.n(), h2.value(), h2.se(), Double.NaN, null, Double.NaN, fit.converged(), fit.solver(),
          null);
    }

    /** A trait that failed. */
    public static Row failed(String trait, String error) {
      return new Row(trait, 0, Double.NaN, Double.NaN, Double.NaN, null, Double.NaN, false, null, error);
    }

    /** This row with the association's λGC and top hit. */
    public Row withAssociation(double lambdaGc, String topVariant, double logTopP) {
      return new Row(trait, n, h2, h2Se, lambdaGc, topVariant, logTopP, converged, solver, error);
    }
  }

  public static String tsv(List<Row> rows) {
    StringBuilder sb = new StringBuilder(HEADER).append('\n');
    for (Row r : rows) {
      sb.append(r.trait()).append('\t').append(r.error() == null ? Integer.toString(r.n()) : "NA").append('\t')
          .append(HsqFile.num(r.h2())).append('\t').append(HsqFile.num(r.h2Se())).append('\t')
          .append(HsqFile.num(r.lambdaGc())).append('\t')
          .append(r.topVariant() == null ? "NA" : r.topVariant()).append('\t')
          .append(Double.isNaN(r.logTopP()) ? "NA" : ChiSquared.formatLogP(r.logTopP())).append('\t')
          .append(r.error() == null ? Boolean.toString(r.converged()) : "NA").append('\t')
          .append(r.solver() == null ? "NA" : r.solver()).append('\t')
          .append(r.error() == null ? "NA" : r.error().replaceAll("[\\t\\r\\n]+", " ")).append('\n');
    }
    return sb.toString();
  }
}
