package org.lmmspark.engine.ldsc;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.lmmspark.engine.BadInputException;

/**
 * ldsc 1.0.1's {@code --h2} and {@code --rg} data handling ({@code sumstats.estimate_h2},
 * {@code estimate_rg}) around the regressions of {@link Ldsc}: LD-score columns with zero variance are
 * dropped; summary statistics are merged on SNP ID into the order of the LD-score files, then with
 * the weight LD scores; {@code min(n, 200)} jackknife blocks. {@code --h2} with one LD-score column
 * and a free intercept uses the two-step estimator (cutoff 30) unless told otherwise; with several
 * columns (partitioned h²) fixed weights and {@code χ² < max(0.001·max N, 80)}. {@code --rg} aligns
 * the second trait's alleles to the first (swap: Z negated; strand flips accepted; ambiguous and
 * mismatched SNPs dropped) and, as ldsc, uses the two-step estimator only when asked.
 */
public final class LdscAnalysis {
  private LdscAnalysis() {}

  /**
   * Options as ldsc's flags.
   *
   * @param intercepts {@code --intercept-h2} (one per trait; null entries are free)
   * @param interceptGencov {@code --intercept-gencov} of the pair, or null
   * @param twoStep {@code --two-step} cutoff, or null for ldsc's default
   * @param chisqMax {@code --chisq-max}, or null
   */
  public record Options(int nBlocks, Double[] intercepts, Double interceptGencov, Double twoStep, Double chisqMax) {}

  /** Summary statistics merged with the LD scores: the regression's rows, in LD-score order. */
  public record Merged(List<String> snps, List<String> ldColumns, double[] ld, double[] wLd, double[] m, double[] n1,
      double[] z1, double[] n2, double[] z2, List<String> log) {
    public int rows() {
      return snps.size();
    }
  }

  public record H2Result(Merged data, Ldsc.Heritability fit, Double twoStep, List<String> log) {}

  public record RgResult(Merged data, Ldsc.Correlation fit, List<String> log) {}

  /** Drops zero-variance LD-score columns (sample variance over all reference rows), as ldsc's {@code _check_variance}. */
  static LdScoreTable dropZeroVariance(LdScoreTable ref, List<String> log) {
    int c = ref.columns().size();
    int rows = ref.rows();
    List<Integer> keep = new ArrayList<>();
    for (int k = 0; k < c; k++) {
      double mean = 0;
      for (int r = 0; r < rows; r++) {
        mean += ref.values()[r * c + k];
      }
      mean /= rows;
      double ss = 0;
      for (int r = 0; r < rows; r++) {
        double d = ref.values()[r * c + k] - mean;
        ss += d * d;
      }
      if (ss > 0) {
        keep.add(k);
      } else {
        log.add("Removing LD score column " + ref.columns().get(k) + " with zero variance.");
      }
    }
    if (keep.isEmpty()) {
      throw new BadInputException("all LD score columns have zero variance");
    }
    if (keep.size() == c) {
      return ref;
    }
    double[] values = new double[rows * keep.size()];
    double[] m = new double[keep.size()];
    List<String> cols = new ArrayList<>();
    for (int j = 0; j < keep.size(); j++) {
      int k = keep.get(j);
      cols.add(ref.columns().get(k));
      m[j] = ref.m()[k];
      for (int r = 0; r < rows; r++) {
        values[r * keep.size() + j] = ref.values()[r * c + k];
      }
    }
    return new LdScoreTable(ref.snps(), cols, values, m);
  }

  /** ldsc's log line for the rows of {@code s} dropped as repeats of an earlier SNP ID, when there are any. */
  private static void dropped(List<String> log, Sumstats s, String name) {
    if (s.duplicatesDropped() > 0) {
      log.add("Dropped " + s.duplicatesDropped() + " SNPs with duplicated rs numbers from " + name + ".");
    }
  }

  /** Merges one trait (and optionally a second, aligned to the first) with reference and weight LD scores. */
  public static Merged merge(Sumstats s1, Sumstats s2, LdScoreTable refIn, LdScoreTable w, String name1, String name2) {
    List<String> log = new ArrayList<>();
    LdScoreTable ref = dropZeroVariance(refIn, log);
    if (w.columns().size() != 1) {
      throw new BadInputException("--w-ld-chr must have exactly one LD score column, found " + w.columns());
    }
    Map<String, Integer> i1 = index(s1.snps());
    Map<String, Integer> iw = index(w.snps());
    int c = ref.columns().size();
    List<Integer> refRows = new ArrayList<>();
    List<Integer> rows1 = new ArrayList<>();
    List<Integer> wRows = new ArrayList<>();
    int afterRef = 0;
    for (int r = 0; r < ref.rows(); r++) {
      Integer k = i1.get(ref.snps().get(r));
      if (k == null) {
        continue;
      }
      afterRef++;
      Integer kw = iw.get(ref.snps().get(r));
      if (kw == null) {
        continue;
      }
      refRows.add(r);
      rows1.add(k);
      wRows.add(kw);
    }
    log.add("Read summary statistics for " + s1.rows() + " SNPs from " + name1 + "; LD scores for " + ref.rows() + " SNPs.");
    dropped(log, s1, name1);
    if (s2 != null) {
      dropped(log, s2, name2);
    }
    log.add("After merging with reference panel LD, " + afterRef + " SNPs remain.");
    log.add("After merging with regression SNP LD, " + refRows.size() + " SNPs remain.");
    if (refRows.isEmpty()) {
      throw new BadInputException(name1 + ": no SNP in common with the LD scores (SNP IDs must match the LD score files')");
    }
    List<Integer> rows2 = null;
    boolean[] flip = null;
    if (s2 != null) {
      Map<String, Integer> i2 = index(s2.snps());
      List<Integer> keepIdx = new ArrayList<>();
      rows2 = new ArrayList<>();
      List<Boolean> flips = new ArrayList<>();
      int merged = 0;
      for (int k = 0; k < refRows.size(); k++) {
        Integer j = i2.get(s1.snps().get(rows1.get(k)));
        if (j == null) {
          continue;
        }
        merged++;
        if (Double.isNaN(s2.z()[j]) || Double.isNaN(s2.n()[j])) {
          continue;
        }
        int al = Sumstats.alignment(s1.a1()[rows1.get(k)], s1.a2()[rows1.get(k)], s2.a1()[j], s2.a2()[j]);
        if (al < 0) {
          continue;
        }
        keepIdx.add(k);
        rows2.add(j);
        flips.add(al == 1);
      }
      log.add("After merging with summary statistics of " + name2 + ", " + merged + " SNPs remain.");
      log.add(keepIdx.size() + " SNPs with valid alleles.");
      if (keepIdx.isEmpty()) {
        throw new BadInputException(name2 + ": no SNP whose alleles match " + name1 + "'s (neither way, nor on the other strand)");
      }
      refRows = pick(refRows, keepIdx);
      rows1 = pick(rows1, keepIdx);
      wRows = pick(wRows, keepIdx);
      flip = new boolean[flips.size()];
      for (int k = 0; k < flip.length; k++) {
        flip[k] = flips.get(k);
      }
    }
    int n = refRows.size();
    double[] ld = new double[n * c];
    double[] wld = new double[n];
    double[] n1 = new double[n];
    double[] z1 = new double[n];
    double[] n2 = s2 == null ? null : new double[n];
    double[] z2 = s2 == null ? null : new double[n];
    List<String> snps = new ArrayList<>(n);
    for (int k = 0; k < n; k++) {
      int r = refRows.get(k);
      snps.add(ref.snps().get(r));
      System.arraycopy(ref.values(), r * c, ld, k * c, c);
      wld[k] = w.values()[wRows.get(k)];
      n1[k] = s1.n()[rows1.get(k)];
      z1[k] = s1.z()[rows1.get(k)];
      if (s2 != null) {
        n2[k] = s2.n()[rows2.get(k)];
        z2[k] = flip[k] ? -s2.z()[rows2.get(k)] : s2.z()[rows2.get(k)];
      }
    }
    // Degenerate: the regression has c slopes and an intercept; with fewer than c + 3 SNPs a delete-a-block
    // refit has no residual degree of freedom and every SE (and so every p-value) is meaningless.
    if (n < c + 3) {
      throw new BadInputException(name1 + (name2 == null ? "" : " and " + name2) + ": only " + n + " SNP(s) left after "
          + "merging with the LD scores (" + String.join(" ", log) + "); LD score regression with " + c + " LD score "
          + "column(s) needs at least " + (c + 3));
    }
    if (n < 200_000) {
      log.add("WARNING: number of SNPs less than 200k; this is almost always bad.");
    }
    return new Merged(snps, ref.columns(), ld, wld, ref.m(), n1, z1, n2, z2, log);
  }

  /** {@code --h2}. */
  public static H2Result h2(Merged d, Options o) {
    List<String> log = new ArrayList<>(d.log());
    int nAnnot = d.m().length;
    int nBlocks = Math.min(d.rows(), o.nBlocks());
    Double intercept = o.intercepts() == null ? null : o.intercepts()[0];
    Double twoStep = o.twoStep();
    Double chisqMax = o.chisqMax();
    boolean oldWeights = false;
    if (twoStep != null && (nAnnot > 1 || intercept != null)) {
      throw new BadInputException("--two-step needs one LD score column and a free intercept (as ldsc); "
          + (nAnnot > 1 ? nAnnot + " LD score columns were given" : "--intercept-h2 fixes the intercept"));
    }
    if (nAnnot == 1) {
      if (twoStep == null && intercept == null) {
        twoStep = 30.0;
      }
    } else {
      oldWeights = true;
      if (chisqMax == null) {
        double maxN = 0;
        for (double x : d.n1()) {
          maxN = Math.max(maxN, x);
        }
        chisqMax = Math.max(0.001 * maxN, 80);
      }
    }
    Merged data = d;
    if (chisqMax != null) {
      List<Integer> keep = new ArrayList<>();
      for (int k = 0; k < d.rows(); k++) {
        if (d.z1()[k] * d.z1()[k] < chisqMax) {
          keep.add(k);
        }
      }
      log.add("Removed " + (d.rows() - keep.size()) + " SNPs with chi^2 > " + chisqMax + " (" + keep.size() + " SNPs remain)");
      data = subset(d, keep);
    }
    if (twoStep != null) {
      log.add("Using two-step estimator with cutoff at " + twoStep + ".");
    }
    double[] chisq = new double[data.rows()];
    for (int k = 0; k < chisq.length; k++) {
      chisq[k] = data.z1()[k] * data.z1()[k];
    }
    Ldsc.Heritability fit;
    try {
      fit = Ldsc.heritability(chisq, data.ld(), data.wLd(), data.n1(), data.m(), nBlocks, intercept, twoStep, oldWeights);
    } catch (ArithmeticException e) {
      throw unfit(e, data);
    }
    return new H2Result(data, fit, twoStep, log);
  }

  /** {@code --rg} of the pair in {@code d} (merged with a second trait). */
  public static RgResult rg(Merged d, Options o) {
    List<String> log = new ArrayList<>(d.log());
    Double int1 = o.intercepts() == null ? null : o.intercepts()[0];
    Double int2 = o.intercepts() == null ? null : o.intercepts()[1];
    Merged data = d;
    if (o.chisqMax() != null) {
      double c2 = o.chisqMax() * o.chisqMax();
      List<Integer> keep = new ArrayList<>();
      for (int k = 0; k < d.rows(); k++) {
        if (d.z1()[k] * d.z1()[k] * d.z2()[k] * d.z2()[k] < c2) {
          keep.add(k);
        }
      }
      data = subset(d, keep);
    }
    if (o.twoStep() != null) {
      if (d.m().length > 1 || int1 != null || int2 != null || o.interceptGencov() != null) {
        throw new BadInputException("--two-step needs one LD score column and free intercepts (as ldsc)");
      }
      log.add("Using two-step estimator with cutoff at " + o.twoStep() + ".");
    }
    int nBlocks = Math.min(data.rows(), o.nBlocks());
    Ldsc.Correlation fit;
    try {
      fit = Ldsc.correlation(data.z1(), data.z2(), data.ld(), data.wLd(), data.n1(), data.n2(), data.m(), nBlocks, int1,
          int2, o.interceptGencov(), o.twoStep());
    } catch (ArithmeticException e) {
      throw unfit(e, data);
    }
    return new RgResult(data, fit, log);
  }

  /** A regression that cannot be fitted (collinear LD score columns, non-positive weights) is bad input. */
  private static BadInputException unfit(ArithmeticException e, Merged d) {
    return new BadInputException("LD score regression on " + d.rows() + " SNPs with LD score columns " + d.ldColumns()
        + " cannot be fitted: " + e.getMessage() + " (remove collinear LD scores, or check fixed intercepts)", e);
  }

  private static Merged subset(Merged d, List<Integer> keep) {
    int c = d.m().length;
    int n = keep.size();
    double[] ld = new double[n * c];
    double[] wld = new double[n];
    double[] n1 = new double[n];
    double[] z1 = new double[n];
    double[] n2 = d.n2() == null ? null : new double[n];
    double[] z2 = d.z2() == null ? null : new double[n];
    List<String> snps = new ArrayList<>(n);
    for (int k = 0; k < n; k++) {
      int r = keep.get(k);
      snps.add(d.snps().get(r));
      System.arraycopy(d.ld(), r * c, ld, k * c, c);
      wld[k] = d.wLd()[r];
      n1[k] = d.n1()[r];
      z1[k] = d.z1()[r];
      if (n2 != null) {
        n2[k] = d.n2()[r];
        z2[k] = d.z2()[r];
      }
    }
    return new Merged(snps, d.ldColumns(), ld, wld, d.m(), n1, z1, n2, z2, d.log());
  }

  private static Map<String, Integer> index(List<String> ids) {
    Map<String, Integer> m = new HashMap<>(ids.size() * 2);
    for (int i = 0; i < ids.size(); i++) {
      m.putIfAbsent(ids.get(i), i);
    }
    return m;
  }

  private static List<Integer> pick(List<Integer> list, List<Integer> idx) {
    List<Integer> out = new ArrayList<>(idx.size());
    for (int i : idx) {
      out.add(list.get(i));
    }
    return out;
  }
}
