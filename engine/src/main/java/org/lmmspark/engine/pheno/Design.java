package org.lmmspark.engine.pheno;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import org.lmmspark.engine.BadInputException;

/**
 * The fixed-effect part of a linear model over the analysed samples: the response {@code y} (n) and
 * the design matrix {@code X} (n×p, column-major): an intercept, each quantitative covariate as one
 * column, and each categorical covariate expanded into 0/1 indicator columns for all its levels but
 * the first (levels sorted, numerically when they all are numbers), so that with the intercept the
 * columns stay independent. Indicator columns are named {@code COLUMN=level}.
 *
 * <p>Checked on construction: a constant phenotype, fewer samples than columns, and collinear columns
 * are {@link BadInputException}s; collinearity is found by modified Gram–Schmidt with a relative
 * tolerance of 1e-10 on the squared residual norm, and the message names the dependent column and
 * the columns it is a combination of. Cost O(n p²).
 */
public final class Design {
  /** Squared norm of a column's residual, relative to its own squared norm, below which it counts as dependent. */
  static final double COLLINEAR_TOL = 1e-10;

  private final String trait;
  private final double[] y;
  private final double[] x;
  private final int n;
  private final List<String> names;

  private Design(String trait, double[] y, double[] x, List<String> names) {
    this.trait = trait;
    this.y = y;
    this.x = x;
    this.n = y.length;
    this.names = List.copyOf(names);
  }

  /** A named column of per-sample values (aligned with the analysed samples, none missing). */
  public record Quantitative(String name, double[] values) {}

  /** A named categorical column (aligned with the analysed samples, none missing). */
  public record Categorical(String name, String[] labels) {}

  public static Design build(String trait, double[] y, List<Quantitative> quantitative, List<Categorical> categorical) {
    int n = y.length;
    for (double v : y) {
      if (!Double.isFinite(v)) {
        throw new IllegalArgumentException("phenotype values must be finite (missing samples are dropped before)");
      }
    }
    if (n > 0) {
      boolean constant = true;
      for (double v : y) {
        constant &= v == y[0];
      }
      if (constant) {
        throw new BadInputException("phenotype '" + trait + "' is constant (" + y[0] + ") over the " + n
            + " analysed samples: there is no variance to partition");
      }
    }
    List<String> names = new ArrayList<>();
    List<double[]> cols = new ArrayList<>();
    double[] one = new double[n];
    java.util.Arrays.fill(one, 1.0);
    names.add("intercept");
    cols.add(one);
    for (Quantitative q : quantitative) {
      if (q.values().length != n) {
        throw new IllegalArgumentException("covariate " + q.name() + " has " + q.values().length + " values for n = " + n);
      }
      names.add(q.name());
      cols.add(q.values().clone());
    }
    List<String> perCovariate = new ArrayList<>(); // for the message when there are too many columns
    String quantitativeLooking = null; // the first categorical covariate with more levels than n/2, all numbers
    for (Categorical c : categorical) {
      if (c.labels().length != n) {
        throw new IllegalArgumentException("covariate " + c.name() + " has " + c.labels().length + " values for n = " + n);
      }
      List<String> levels = levels(c.labels());
      perCovariate.add(c.name() + ": " + levels.size() + " levels");
      if (quantitativeLooking == null && levels.size() > n / 2 && allNumbers(levels)) {
        quantitativeLooking = "'" + c.name() + "' has " + levels.size() + " levels over " + n + " samples";
      }
      for (int l = 1; l < levels.size(); l++) {
        double[] ind = new double[n];
        for (int i = 0; i < n; i++) {
          ind[i] = levels.get(l).equals(c.labels()[i]) ? 1 : 0;
        }
        names.add(c.name() + "=" + levels.get(l));
        cols.add(ind);
      }
    }
    int p = cols.size();
    if (n <= p) {
      // Name the covariates, not every indicator column (a numeric column read as categorical has n levels).
      throw new BadInputException("only " + n + " analysed samples for " + p + " fixed-effect columns (intercept, "
          + quantitative.size() + " quantitative" + (perCovariate.isEmpty() ? "" : "; categorical " + perCovariate)
          + "): fewer samples than parameters" + (quantitativeLooking == null ? "" : "; categorical covariate "
          + quantitativeLooking + ", all numbers — if it is quantitative, give its table by --qcovar (as GCTA's, "
          + "--covar is for categorical covariates)"));
    }
    double[] x = new double[n * p];
    for (int j = 0; j < p; j++) {
      System.arraycopy(cols.get(j), 0, x, j * n, n);
    }
    double[] q = checkRank(x, n, p, names);
    checkResidualVariance(trait, y, q, n, p, names);
    return new Design(trait, y.clone(), x, names);
  }

  private static boolean allNumbers(List<String> labels) {
    for (String s : labels) {
      try {
        Double.parseDouble(s);
      } catch (NumberFormatException e) {
        return false;
      }
    }
    return true;
  }

  /** Distinct labels, sorted numerically when all parse as numbers, else as strings. */
  static List<String> levels(String[] labels) {
    boolean numeric = allNumbers(java.util.Arrays.asList(labels));
    Comparator<String> order = numeric ? Comparator.comparingDouble(Double::parseDouble) : Comparator.naturalOrder();
    TreeSet<String> set = new TreeSet<>(order.thenComparing(Comparator.naturalOrder()));
    java.util.Collections.addAll(set, labels);
    return new ArrayList<>(set);
  }

  /**
   * Modified Gram–Schmidt over the columns in order; the first column whose residual is (relatively)
   * zero is reported with the earlier columns that have a non-negligible coefficient in it.
   */
  static double[] checkRank(double[] x, int n, int p, List<String> names) {
    double[] q = x.clone();
    double[] r = new double[p * p];
    for (int j = 0; j < p; j++) {
      double norm0 = 0;
      for (int i = 0; i < n; i++) {
        norm0 += q[i + j * n] * q[i + j * n];
      }
      if (norm0 == 0) {
        throw new BadInputException("collinear covariates: column '" + names.get(j) + "' is zero for all "
            + n + " analysed samples");
      }
      for (int k = 0; k < j; k++) {
        double dot = 0;
        for (int i = 0; i < n; i++) {
          dot += q[i + k * n] * q[i + j * n];
        }
        r[k + j * p] = dot;
        for (int i = 0; i < n; i++) {
          q[i + j * n] -= dot * q[i + k * n];
        }
      }
      double norm = 0;
      for (int i = 0; i < n; i++) {
        norm += q[i + j * n] * q[i + j * n];
      }
      if (norm <= COLLINEAR_TOL * norm0) {
        // x_j = Σ_k c_k x_k: solve R[0..j,0..j] c = r[0..j, j] by back substitution.
        double[] c = new double[j];
        for (int k = j - 1; k >= 0; k--) {
          double s = r[k + j * p];
          for (int l = k + 1; l < j; l++) {
            s -= r[k + l * p] * c[l];
          }
          c[k] = s / r[k + k * p];
        }
        double scale = 0;
        for (int k = 0; k < j; k++) {
          scale = Math.max(scale, Math.abs(c[k]));
        }
        List<String> with = new ArrayList<>();
        for (int k = 0; k < j; k++) {
          if (Math.abs(c[k]) > 1e-8 * scale) {
            with.add("'" + names.get(k) + "'");
          }
        }
        throw new BadInputException("collinear covariates: column '" + names.get(j)
            + "' is a linear combination of " + String.join(", ", with)
            + " over the analysed samples; remove one of these columns");
      }
      double s = Math.sqrt(norm);
      r[j + j * p] = s;
      for (int i = 0; i < n; i++) {
        q[i + j * n] /= s;
      }
    }
    return q;
  }

  /**
   * A trait the fixed effects explain exactly leaves REML nothing to partition (its likelihood has
   * no maximum and the eigen-solvers fail): the residual {@code (I − QQᵀ) y} after the columns'
   * orthonormal basis {@code q} (projected twice, for accuracy) must keep more than
   * {@link #COLLINEAR_TOL} of the trait's own variance about its mean.
   */
  static void checkResidualVariance(String trait, double[] y, double[] q, int n, int p, List<String> names) {
    double mean = 0;
    for (double v : y) {
      mean += v / n;
    }
    double total = 0;
    for (double v : y) {
      total += (v - mean) * (v - mean);
    }
    double[] r = y.clone();
    for (int pass = 0; pass < 2; pass++) {
      for (int j = 0; j < p; j++) {
        double dot = 0;
        for (int i = 0; i < n; i++) {
          dot += q[i + j * n] * r[i];
        }
        for (int i = 0; i < n; i++) {
          r[i] -= dot * q[i + j * n];
        }
      }
    }
    double residual = 0;
    for (double v : r) {
      residual += v * v;
    }
    if (!(residual > COLLINEAR_TOL * total)) {
      throw new BadInputException("phenotype '" + trait + "' has no variance left after the fixed effects " + names
          + " over the " + n + " analysed samples (residual sum of squares " + residual + " of " + total
          + "): the covariates explain it exactly, there is nothing to partition");
    }
  }

  public String trait() {
    return trait;
  }

  /** The response (a copy). */
  public double[] y() {
    return y.clone();
  }

  /** X, n×p column-major (a copy). */
  public double[] x() {
    return x.clone();
  }

  public int n() {
    return n;
  }

  public int p() {
    return names.size();
  }

  public List<String> columnNames() {
    return names;
  }
}
