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
}
