package org.lmmspark.engine.linalg;

/**
 * Neumaier's compensated summation (Kahan–Babuška): the running sum of n terms with an error bound
 * of about {@code 2ε Σ|x_i|} independent of n, instead of {@code nε Σ|x_i|} for plain summation. Used
 * where a log-likelihood adds up one term per record or unknown (tens of thousands) and the optimizer
 * compares two such sums that differ by 1e-9: plain sums there carry noise of 1e-6.
 */
public final class CompensatedSum {
  private double sum;
  private double compensation;

  public void add(double x) {
    double t = sum + x;
    compensation += Math.abs(sum) >= Math.abs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }

  public double value() {
    return sum + compensation;
  }

  /**
   * Element-wise merge of compensated sums, {@code (sum + compensation)[at + i] += (x + xCompensation)[xAt + i]} for
   * i in [0, len) ({@code xCompensation} null: zero): the sums' rounding errors go to the compensation exactly. So the
   * same terms merged in any order or grouping give the same {@link #resolve resolved} value, the double nearest the
   * exact sum, unless it lies within ~ε²·Σ|terms| of a midpoint between two doubles. This is what makes results
   * reproducible where Spark adds the tasks' partial sums in the order the tasks happen to finish.
   */
  public static void addInto(double[] sum, double[] compensation, int at, double[] x, double[] xCompensation, int xAt,
      int len) {
    for (int i = 0; i < len; i++) {
      double a = sum[at + i];
      double b = x[xAt + i];
      double t = a + b;
      double error = Math.abs(a) >= Math.abs(b) ? (a - t) + b : (b - t) + a;
      compensation[at + i] += xCompensation == null ? error : error + xCompensation[xAt + i];
      sum[at + i] = t;
    }
  }

  /** {@code sum[i] += compensation[i]}: the merged sums' values ({@code compensation} null: nothing to add). */
  public static void resolve(double[] sum, double[] compensation) {
    if (compensation != null) {
      for (int i = 0; i < sum.length; i++) {
        sum[i] += compensation[i];
      }
    }
  }
}
