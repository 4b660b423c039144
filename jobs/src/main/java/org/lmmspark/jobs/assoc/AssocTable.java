package org.lmmspark.jobs.assoc;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.lmmspark.engine.assoc.AssocResults;
import org.lmmspark.engine.assoc.GenomicControl;
import org.lmmspark.engine.io.Variant;

/**
 * The association results joined with their {@code .bim} records and sorted by genomic position
 * (chromosomes 1–22 numerically, then X, Y, XY, MT, then other codes alphabetically; then base pair;
 * then file order). Held on the driver: about 100 bytes per variant.
 */
public final class AssocTable {
  private final AssocResults results;
  private final List<Variant> variants;
  private final int[] order;
  private final boolean exact;
  private final List<ExtraColumn> extras;

  /**
   * A column beyond the common ones (the binary-trait scan's case/control frequencies, p method): its
   * name and its value for a result index (the row of {@link AssocResults}, before sorting), as text
   * ({@code text} non-null) or as a number (NaN written as NA / null).
   */
  public record ExtraColumn(String name, java.util.function.IntFunction<String> text,
      java.util.function.IntToDoubleFunction number) {}

  private AssocTable(AssocResults results, List<Variant> variants, int[] order, boolean exact, List<ExtraColumn> extras) {
    this.results = results;
    this.variants = variants;
    this.order = order;
    this.exact = exact;
    this.extras = List.copyOf(extras);
  }

  /** The same table with columns appended after the common ones. */
  public AssocTable withExtras(List<ExtraColumn> columns) {
    return new AssocTable(results, variants, order, exact, columns);
  }

  public List<ExtraColumn> extras() {
    return extras;
  }

  /** Text of extra column {@code col} at {@code row} (numbers as {@link AssocOutputs#num}). */
  public String extraText(int row, int col) {
    ExtraColumn c = extras.get(col);
    return c.text() != null ? c.text().apply(order[row]) : AssocOutputs.num(c.number().applyAsDouble(order[row]));
  }

  /** Numeric value of extra column {@code col} at {@code row} (NaN for text columns). */
  public double extraNumber(int row, int col) {
    ExtraColumn c = extras.get(col);
    return c.number() == null ? Double.NaN : c.number().applyAsDouble(order[row]);
  }

  public static AssocTable of(AssocResults results, List<Variant> variants, boolean exact) {
    List<Integer> rows = new ArrayList<>(results.size());
    for (int k = 0; k < results.size(); k++) {
      rows.add(k);
    }
    Comparator<Integer> cmp = Comparator
        .comparing((Integer k) -> chromosomeRank(variants.get(results.variant(k)).chromosome()))
        .thenComparing(k -> variants.get(results.variant(k)).chromosome())
        .thenComparingLong(k -> variants.get(results.variant(k)).bp())
        .thenComparingInt(results::variant);
    rows.sort(cmp);
    return new AssocTable(results, variants, rows.stream().mapToInt(Integer::intValue).toArray(), exact, List.of());
  }

  /** Sort rank of a chromosome code: 1–22 by number, X 23, Y 24, XY 25, MT 26, others after. */
  static int chromosomeRank(String code) {
    String c = code.regionMatches(true, 0, "chr", 0, 3) ? code.substring(3) : code;
    try {
      return Integer.parseInt(c);
    } catch (NumberFormatException e) {
      return switch (c.toUpperCase(java.util.Locale.ROOT)) {
        case "X" -> 23;
        case "Y" -> 24;
        case "XY" -> 25;
        case "MT", "M" -> 26;
        default -> 1000;
      };
    }
  }

  public int size() {
    return order.length;
  }

  /** Whether the statistics are the exact per-variant test (Wald F) rather than the fixed-null χ². */
  public boolean exact() {
    return exact;
  }

  public Variant variant(int row) {
    return variants.get(results.variant(order[row]));
  }

  public int variantIndex(int row) {
    return results.variant(order[row]);
  }

  public double beta(int row) {
    return results.beta(order[row]);
  }

  public double se(int row) {
    return results.se(order[row]);
  }

  public double a1Frequency(int row) {
    return results.a1Frequency(order[row]);
  }

  public int n(int row) {
    return results.called(order[row]);
  }

  /** The variant's imputation INFO score among the analysed samples (NaN for hard calls). */
  public double info(int row) {
    return results.info(order[row]);
  }

  public double statistic(int row) {
    return results.statistic(order[row]);
  }

  public double logP(int row) {
    return results.logP(order[row]);
  }

  public double negLog10P(int row) {
    return results.negLog10P(order[row]);
  }

  public double lambda(int row) {
    return results.lambda(order[row]);
  }

  /**
   * λGC: median χ²₁ / 0.4549; for the exact test (an F statistic) the χ²₁ equivalent of the median
   * p-value is used.
   */
  public double lambdaGc() {
    double[] v = new double[size()];
    for (int r = 0; r < v.length; r++) {
      v[r] = exact ? logP(r) : statistic(r);
    }
    return exact ? GenomicControl.lambdaFromLogP(v) : GenomicControl.lambda(v);
  }

  /** Rows ordered by p-value, smallest first, at most {@code k}, NaN rows excluded. */
  public int[] top(int k) {
    List<Integer> rows = new ArrayList<>();
    for (int r = 0; r < size(); r++) {
      if (!Double.isNaN(logP(r))) {
        rows.add(r);
      }
    }
    rows.sort(Comparator.comparingDouble(this::logP));
    return rows.stream().limit(k).mapToInt(Integer::intValue).toArray();
  }
}
