package org.lmmspark.engine.testing;

/** Pearson's correlation, written plainly for tests. */
public final class Correlation {
  private Correlation() {}

  public static double pearson(double[] a, double[] b) {
    double ma = 0;
    double mb = 0;
    for (int i = 0; i < a.length; i++) {
      ma += a[i] / a.length;
      mb += b[i] / a.length;
    }
    double sab = 0;
    double saa = 0;
    double sbb = 0;
    for (int i = 0; i < a.length; i++) {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) * (a[i] - ma);
      sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / Math.sqrt(saa * sbb);
  }

  /** The same for integer data (genotype counts). */
  public static double pearson(int[] a, int[] b) {
    return pearson(java.util.Arrays.stream(a).asDoubleStream().toArray(), java.util.Arrays.stream(b).asDoubleStream().toArray());
  }
}
