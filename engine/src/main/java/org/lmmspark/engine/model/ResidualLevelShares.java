package org.lmmspark.engine.model;

import java.util.ArrayList;
import java.util.List;
import org.lmmspark.engine.reml.SmallMatrices;

/**
 * The variance summary of a fit with a residual variance per level of a factor ({@code reml --resid-by}, nlme's
 * {@code varIdent}, ASReml's {@code at(env)} residuals): each component {@code V(k)}, each {@code V(e_L)}, and
 * per level {@code Vp_L = Σ_k V(k) + V(e_L)} and {@code V(k)/Vp_L} (per-environment heritability, as ASReml
 * reports it), their SEs by the delta method from the fit's covariance of the variance parameters.
 */
public final class ResidualLevelShares {
  private ResidualLevelShares() {}

  /** One {@code .hsq} row. */
  public record Row(String source, double value, double se) {}

  /** The rows: {@code V(k)}, {@code V(e_L)}, then per level {@code Vp_L} and {@code V(k)/Vp_L}. */
  public static List<Row> rows(MixedModelFit fit, List<String> names, List<String> levels) {
    int k = names.size();
    int m = fit.theta().length;
    double[] cov = fit.thetaCovariance();
    List<Row> rows = new ArrayList<>();
    for (int c = 0; c < k; c++) {
      rows.add(new Row("V(" + names.get(c) + ")", fit.theta()[c], fit.se()[c]));
    }
    for (int l = 0; l < levels.size(); l++) {
      rows.add(new Row("V(e_" + levels.get(l) + ")", fit.theta()[k + l], fit.se()[k + l]));
    }
    for (int l = 0; l < levels.size(); l++) {
      double[] g = new double[m];
      double vp = fit.theta()[k + l];
      g[k + l] = 1;
      for (int c = 0; c < k; c++) {
        vp += fit.theta()[c];
        g[c] = 1;
      }
      rows.add(new Row("Vp_" + levels.get(l), vp, deltaSe(cov, g)));
      for (int c = 0; c < k; c++) {
        double r = fit.theta()[c] / vp;
        double[] d = new double[m];
        for (int j = 0; j < m; j++) {
          d[j] = g[j] * (-r / vp);
        }
        d[c] += 1 / vp;
        rows.add(new Row("V(" + names.get(c) + ")/Vp_" + levels.get(l), r, deltaSe(cov, d)));
      }
    }
    return rows;
  }

  /** {@code sqrt(gᵀ C g)} for C m×m column-major; NaN when C is not available. */
  private static double deltaSe(double[] cov, double[] g) {
    return cov == null ? Double.NaN : Math.sqrt(SmallMatrices.quadraticForm(cov, g, g.length));
  }
}
