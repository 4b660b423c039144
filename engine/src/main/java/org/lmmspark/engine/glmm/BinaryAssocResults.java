package org.lmmspark.engine.glmm;

import java.io.Serializable;
import java.util.Arrays;
import org.lmmspark.engine.assoc.AssocResults;

/**
 * Per-variant results of the binary-trait scan: the columns of {@link AssocResults} (β and SE on the log
 * odds scale, the χ²₁ equivalent of the p-value, ln p) plus the A1 frequency among cases and among
 * controls and how the p-value was computed ({@link Method}).
 */
public final class BinaryAssocResults implements Serializable {
  private static final long serialVersionUID = 1L;

  /** How a variant's p-value was computed. */
  public enum Method {
    /** |z| below the SPA cutoff: the normal approximation to the score. */
    NORMAL,
    /** The saddle-point approximation to the score's distribution ({@link SaddlePoint}). */
    SPA,
    /** Firth's penalized likelihood-ratio test ({@link FirthLogistic}), for p below {@code --firth-below}. */
    FIRTH,
    /** Not testable (no variance left after the covariates). */
    NONE;

    public String label() {
      return this == NONE ? "NA" : name();
    }
  }

  private final AssocResults base = new AssocResults();
  private int size;
  private double[] afCase = new double[16];
  private double[] afControl = new double[16];
  private byte[] method = new byte[16];

  public void add(int variantIndex, double a1Frequency, int called, double info, double beta, double se, double chi2,
      double lnP, double a1FrequencyCases, double a1FrequencyControls, Method how) {
    base.add(variantIndex, a1Frequency, called, info, beta, se, chi2, lnP, Double.NaN);
    if (size == afCase.length) {
      afCase = Arrays.copyOf(afCase, 2 * size);
      afControl = Arrays.copyOf(afControl, 2 * size);
      method = Arrays.copyOf(method, 2 * size);
    }
    afCase[size] = a1FrequencyCases;
    afControl[size] = a1FrequencyControls;
    method[size] = (byte) how.ordinal();
    size++;
  }

  public BinaryAssocResults addAll(BinaryAssocResults other) {
    AssocResults o = other.base;
    for (int k = 0; k < other.size; k++) {
      add(o.variant(k), o.a1Frequency(k), o.called(k), o.info(k), o.beta(k), o.se(k), o.statistic(k), o.logP(k),
          other.afCase[k], other.afControl[k], other.method(k));
    }
    return this;
  }

  /** The common columns, row k here is row k there. */
  public AssocResults base() {
    return base;
  }

  public int size() {
    return size;
  }

  public double a1FrequencyCases(int k) {
    return afCase[k];
  }

  public double a1FrequencyControls(int k) {
    return afControl[k];
  }

  public Method method(int k) {
    return Method.values()[method[k]];
  }
}
