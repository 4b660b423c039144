package org.lmmspark.engine.stats;

import org.apache.commons.math3.special.Beta;

/**
 * Upper tail of Fisher's F distribution in log space: {@code P(F_{d1,d2} ≥ f) = I_x(d2/2, d1/2)} with
 * {@code x = d2/(d2 + d1 f)}, the regularized incomplete beta function. On the side where the
 * continued fraction converges fast ({@code x < (a+1)/(a+b+2)}) it is evaluated as
 * {@code log I_x(a,b) = a log x + b log(1−x) − log a − log B(a,b) + log CF} (Numerical Recipes §6.4,
 * modified Lentz), so tails far below 1e-308 keep their value; on the other side the tail is not
 * small and {@code 1 − I_{1−x}(b,a)} is used. This is the distribution of GEMMA's Wald test
 * ({@code F = β̂²/SE²} with {@code d1 = 1}, {@code d2 = n − p − 1}).
 */
public final class FisherF {
  private FisherF() {}

  private static final double EPS = 1e-15;
  private static final int MAX_ITER = 100_000;

  /** {@code log P(F_{d1,d2} ≥ f)} (natural log; 0 for f ≤ 0). */
  public static double logUpperTail(double f, double d1, double d2) {
    if (!(d1 > 0 && d2 > 0)) {
      throw new IllegalArgumentException("degrees of freedom must be > 0, got " + d1 + ", " + d2);
    }
    if (Double.isNaN(f)) {
      return Double.NaN;
    }
    if (f <= 0) {
      return 0.0;
    }
    if (f == Double.POSITIVE_INFINITY) {
      return Double.NEGATIVE_INFINITY;
    }
    double a = d2 / 2;
    double b = d1 / 2;
    // x and 1 − x computed without cancellation.
    double x = d2 / (d2 + d1 * f);
    double oneMinusX = d1 * f / (d2 + d1 * f);
    if (x < (a + 1) / (a + b + 2)) {
      return logIncompleteBetaCf(x, oneMinusX, a, b);
    }
    // I_x(a,b) = 1 − I_{1−x}(b,a); the tail is large here, so the subtraction is harmless.
    return Math.log1p(-Math.exp(logIncompleteBetaCf(oneMinusX, x, b, a)));
  }

  /** {@code log I_x(a,b)} by its continued fraction; needs {@code x < (a+1)/(a+b+2)} for fast convergence. */
  static double logIncompleteBetaCf(double x, double oneMinusX, double a, double b) {
    double logFront = a * Math.log(x) + b * Math.log(oneMinusX) - Math.log(a) - Beta.logBeta(a, b);
    double tiny = 1e-300;
    double qab = a + b;
    double qap = a + 1;
    double qam = a - 1;
    double c = 1;
    double d = 1 - qab * x / qap;
    if (Math.abs(d) < tiny) {
      d = tiny;
    }
    d = 1 / d;
    double h = d;
    for (int m = 1; m < MAX_ITER; m++) {
      int m2 = 2 * m;
      double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
      d = 1 + aa * d;
      if (Math.abs(d) < tiny) {
        d = tiny;
      }
      c = 1 + aa / c;
      if (Math.abs(c) < tiny) {
        c = tiny;
      }
      d = 1 / d;
      h *= d * c;
      aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
      d = 1 + aa * d;
      if (Math.abs(d) < tiny) {
        d = tiny;
      }
      c = 1 + aa / c;
      if (Math.abs(c) < tiny) {
        c = tiny;
      }
      d = 1 / d;
      double del = d * c;
      h *= del;
      if (Math.abs(del - 1) < EPS) {
        return logFront + Math.log(h);
      }
    }
    throw new IllegalStateException("incomplete beta continued fraction did not converge for a=" + a + ", b=" + b
        + ", x=" + x);
  }
}
