package org.lmmspark.engine.ldscore;

import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;

/**
 * The unit of distributed LD-score work: the pairs {@code (i, j)} of one chromosome with {@code j} in
 * a target range {@code [t0, t1)} of its kept variants. It reads the variants
 * {@code [first[t0], t1)} (the targets plus one window to their left) and returns their partial
 * scores; adding the partial scores of consecutive target ranges gives every variant's LD score, each
 * pair having been computed in exactly one range (the one holding its right member).
 */
public final class LdScoreRange {
  private LdScoreRange() {}

  /**
   * Partial scores of kept variants {@code [first[t0], t1)}, {@code (t1 − first[t0]) × nAnnot} row-major.
   *
   * @param keptFile fileset index of each kept variant of the chromosome
   * @param first first partner of each kept variant ({@link LdWindow#firstPartners})
   * @param annot kept variants × nAnnot row-major annotation values of the chromosome, or null
   */
  public static double[] scores(String prefix, int fileSamples, int[] rows, int[] keptFile, int[] first, int t0, int t1,
      double[] annot, int nAnnot, Configuration conf) {
    int lo = first[t0];
    PanelBlock block = PanelBlock.read(prefix, fileSamples, rows, Arrays.copyOfRange(keptFile, lo, t1), conf);
    return scores(block, first, t0, t1, annot, nAnnot);
  }

  /**
   * The same from a dosage panel (BGEN, VCF/BCF): {@code keptPosition[k]} is the seek position of kept
   * variant {@code k}, where the range's read starts.
   */
  public static double[] scores(DosagePanel panel, int[] keptFile, long[] keptPosition, int[] first, int t0, int t1,
      double[] annot, int nAnnot, Configuration conf) {
    int lo = first[t0];
    PanelBlock block = panel.read(Arrays.copyOfRange(keptFile, lo, t1), keptPosition[lo], conf);
    return scores(block, first, t0, t1, annot, nAnnot);
  }

  /** Partial scores of a range whose block holds kept variants {@code [first[t0], t1)}. */
  private static double[] scores(PanelBlock block, int[] first, int t0, int t1, double[] annot, int nAnnot) {
    int lo = first[t0];
    int[] localFirst = new int[t1 - lo];
    for (int j = t0; j < t1; j++) {
      localFirst[j - lo] = first[j] - lo;
    }
    double[] localAnnot = annot == null ? null : Arrays.copyOfRange(annot, lo * nAnnot, t1 * nAnnot);
    double[] l2 = new double[(t1 - lo) * nAnnot];
    LdScoreKernel.accumulate(block, localFirst, t0 - lo, t1 - lo, localAnnot, nAnnot, l2);
    return l2;
  }

  /**
   * Target ranges of a chromosome's {@code m} kept variants such that one range's block
   * ({@code [first[t0], t1)}, {@code 4n} bytes a variant) stays near {@code targetBytes}; a range
   * holds at least {@link LdScoreKernel#COLUMN_GROUP} targets and at most {@code maxTargets}. Returns
   * the range starts and {@code m}.
   */
  public static int[] ranges(int[] first, int n, long targetBytes, int maxTargets) {
    int m = first.length;
    long budget = Math.max(1, targetBytes / (4L * n));
    int[] starts = new int[m + 1];
    int count = 0;
    int t0 = 0;
    while (t0 < m) {
      starts[count++] = t0;
      int t1 = t0 + LdScoreKernel.COLUMN_GROUP;
      while (t1 < m && t1 + 1 - first[t0] <= budget && t1 - t0 < maxTargets) {
        t1++;
      }
      t0 = Math.min(m, t1);
    }
    starts[count++] = m;
    return Arrays.copyOf(starts, count);
  }

  /** Adds a range's partial scores (from {@link #scores}, starting at kept variant {@code lo}) into a chromosome's. */
  public static void addInto(double[] chromosomeScores, int lo, int nAnnot, double[] partial) {
    int off = lo * nAnnot;
    for (int k = 0; k < partial.length; k++) {
      chromosomeScores[off + k] += partial[k];
    }
  }

  /**
   * One chromosome's scores ({@code m × nAnnot}) computed range by range in this thread: what the
   * Spark job does with one task per range.
   */
  public static double[] chromosome(String prefix, int fileSamples, int[] rows, int[] keptFile, int[] first,
      int[] rangeStarts, double[] annot, int nAnnot, Configuration conf) {
    double[] l2 = new double[keptFile.length * nAnnot];
    for (int r = 0; r + 1 < rangeStarts.length; r++) {
      int t0 = rangeStarts[r];
      double[] part = scores(prefix, fileSamples, rows, keptFile, first, t0, rangeStarts[r + 1], annot, nAnnot, conf);
      addInto(l2, first[t0], nAnnot, part);
    }
    return l2;
  }
}
