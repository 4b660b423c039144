package org.lmmspark.engine.select;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.ChromosomeSelection;
import org.lmmspark.engine.io.Variant;
import org.lmmspark.engine.io.WhitespaceLines;

/**
 * Which variants a run uses, as PLINK selects them: chromosomes ({@code --chr 1-4,22} or
 * {@code --exclude-chr}, {@link ChromosomeSelection}), a base-pair window on the one chromosome
 * {@code --chr} names ({@code --from-bp/--to-bp}, inclusive), variant lists ({@code --extract FILE} keeps,
 * {@code --exclude FILE} drops variants whose {@code .bim} ID is listed; whitespace-separated IDs, any
 * number a line) and range lists ({@code --extract range FILE}: PLINK 1.9's {@code chr start end [label]},
 * 1-based and inclusive, the same as plink2's {@code bed1}; {@code bed0}: UCSC BED, 0-based half-open).
 * Several {@code --extract} lists keep the variants all of them name (plink2); several {@code --exclude}
 * lists drop the variants any names. Variants with a negative position are dropped as PLINK 1.9 drops
 * them (it reads a negative bp as "excluded") unless {@code allowNegativeBp} (GCTA keeps them).
 *
 * <p>The filters are all applied (their order does not change the result); the report counts what each
 * removed of what the previous ones left, in the order above. Cost O(M log R) for R ranges.
 */
public final class VariantSelection implements Serializable {
  private static final long serialVersionUID = 1L;

  /** How a list names variants: by ID, or by PLINK 1-based inclusive ranges, or by BED 0-based half-open ones. */
  public enum ListKind { IDS, RANGE, BED0, BED1 }

  /** One {@code --extract}/{@code --exclude} list. */
  public record VariantList(String file, ListKind kind, Set<String> ids, Map<String, long[][]> ranges)
      implements Serializable {
    boolean names(Variant v) {
      if (ids != null) {
        return ids.contains(v.id());
      }
      long[][] r = ranges.get(ChromosomeSelection.normalize(v.chromosome()));
      if (r == null) {
        return false;
      }
      // r[0] = starts (sorted, merged), r[1] = ends; find the last start ≤ bp.
      int k = Arrays.binarySearch(r[0], v.bp());
      int i = k >= 0 ? k : -k - 2;
      return i >= 0 && v.bp() <= r[1][i];
    }

    String describe() {
      return (kind == ListKind.IDS ? "" : kind.name().toLowerCase(Locale.ROOT) + " ") + file;
    }
  }

  private final ChromosomeSelection chromosomes;
  private final Long fromBp;
  private final Long toBp;
  private final List<VariantList> extract;
  private final List<VariantList> exclude;
  private final boolean allowNegativeBp;

  private VariantSelection(ChromosomeSelection chromosomes, Long fromBp, Long toBp, List<VariantList> extract,
      List<VariantList> exclude, boolean allowNegativeBp) {
    this.chromosomes = chromosomes;
    this.fromBp = fromBp;
    this.toBp = toBp;
    this.extract = List.copyOf(extract);
    this.exclude = List.copyOf(exclude);
    this.allowNegativeBp = allowNegativeBp;
  }

  /** Every variant with a non-negative position. */
  public static VariantSelection all() {
    return new VariantSelection(ChromosomeSelection.all(), null, null, List.of(), List.of(), false);
  }

  /** Only the chromosome filter (non-negative positions). */
  public static VariantSelection of(ChromosomeSelection chromosomes) {
    return new VariantSelection(chromosomes, null, null, List.of(), List.of(), false);
  }

  /**
   * The whole selection. {@code fromBp}/{@code toBp} (either may be null) need a {@code --chr} naming
   * one chromosome, as in PLINK.
   */
  public static VariantSelection of(ChromosomeSelection chromosomes, Long fromBp, Long toBp, List<VariantList> extract,
      List<VariantList> exclude, boolean allowNegativeBp) {
    if ((fromBp != null || toBp != null) && chromosomes.single() == null) {
      throw new BadInputException("--from-bp/--to-bp need --chr with exactly one chromosome (as in PLINK)");
    }
    if (fromBp != null && toBp != null && fromBp > toBp) {
      throw new BadInputException("--from-bp " + fromBp + " is after --to-bp " + toBp);
    }
    return new VariantSelection(chromosomes, fromBp, toBp, extract, exclude, allowNegativeBp);
  }

  /**
   * The selection from its options as written: {@code extract}/{@code exclude} are the words given to
   * the options in order, each a FILE of variant IDs or a kind ({@code range}, {@code bed0},
   * {@code bed1}) followed by its FILE, as in {@code --extract range FILE}.
   */
  public static VariantSelection read(ChromosomeSelection chromosomes, Long fromBp, Long toBp, List<String> extract,
      List<String> exclude, boolean allowNegativeBp, Configuration conf) {
    return of(chromosomes, fromBp, toBp, lists(extract, "--extract", conf), lists(exclude, "--exclude", conf),
        allowNegativeBp);
  }

  private static List<VariantList> lists(List<String> words, String option, Configuration conf) {
    List<VariantList> out = new ArrayList<>();
    for (int i = 0; i < words.size(); i++) {
      ListKind kind = switch (words.get(i).toLowerCase(Locale.ROOT)) {
        case "range" -> ListKind.RANGE;
        case "bed0" -> ListKind.BED0;
        case "bed1" -> ListKind.BED1;
        default -> ListKind.IDS;
      };
      if (kind != ListKind.IDS) {
        if (++i >= words.size()) {
          throw new BadInputException(option + " " + words.get(i - 1) + " needs a FILE after it");
        }
      }
      out.add(readList(words.get(i), kind, conf));
    }
    return out;
  }

  public ChromosomeSelection chromosomes() {
    return chromosomes;
  }

  /** Reads a variant list: {@code kind} null or {@link ListKind#IDS} for IDs, else ranges of that kind. */
  public static VariantList readList(String file, ListKind kind, Configuration conf) {
    if (kind == null || kind == ListKind.IDS) {
      Set<String> ids = new HashSet<>();
      WhitespaceLines.read(file, conf, (lineNo, f) -> ids.addAll(Arrays.asList(f)));
      return new VariantList(file, ListKind.IDS, ids, null);
    }
    Map<String, List<long[]>> byChromosome = new HashMap<>();
    WhitespaceLines.read(file, conf, (lineNo, f) -> {
      if (f[0].startsWith("#") || f[0].equals("track") || f[0].equals("browser")) {
        return; // BED header lines
      }
      if (f.length < 3) {
        throw BadInputException.atLine(file, lineNo, "expected chromosome, start and end (a range list), found "
            + f.length + " field(s)");
      }
      long start;
      long end;
      try {
        start = Long.parseLong(f[1]);
        end = Long.parseLong(f[2]);
      } catch (NumberFormatException e) {
        throw BadInputException.atLine(file, lineNo, "start and end must be integers, found '" + f[1] + "' '" + f[2] + "'");
      }
      if (kind == ListKind.BED0) {
        start += 1; // [start, end) 0-based = [start + 1, end] 1-based
      }
      if (start > end) {
        throw BadInputException.atLine(file, lineNo, "range start " + f[1] + " is after its end " + f[2]);
      }
      byChromosome.computeIfAbsent(ChromosomeSelection.normalize(f[0]), c -> new ArrayList<>()).add(new long[] {start, end});
    });
    Map<String, long[][]> ranges = new HashMap<>();
    byChromosome.forEach((c, list) -> ranges.put(c, merged(list)));
    return new VariantList(file, kind, null, ranges);
  }

  /** Sorted, overlapping or touching ranges merged: {starts[], ends[]}. */
  private static long[][] merged(List<long[]> list) {
    list.sort((a, b) -> Long.compare(a[0], b[0]));
    List<long[]> out = new ArrayList<>();
    for (long[] r : list) {
      long[] last = out.isEmpty() ? null : out.get(out.size() - 1);
      if (last != null && r[0] <= last[1] + 1) {
        last[1] = Math.max(last[1], r[1]);
      } else {
        out.add(r.clone());
      }
    }
    long[][] se = new long[2][out.size()];
    for (int i = 0; i < out.size(); i++) {
      se[0][i] = out.get(i)[0];
      se[1][i] = out.get(i)[1];
    }
    return se;
  }

  /** The selection over a fileset's variants: the inclusion mask, how many it keeps, and one log line. */
  public record Mask(boolean[] include, int selected, String report) {}

  /** Applies the selection to {@code variants} (a {@code .bim} in file order), named {@code name} in the report. */
  public Mask mask(List<Variant> variants, String name) {
    int m = variants.size();
    boolean[] in = new boolean[m];
    Arrays.fill(in, true);
    List<String> removed = new ArrayList<>();
    if (!chromosomes.isAll()) {
      removed.add(drop(in, v -> !chromosomes.includes(variants.get(v).chromosome())) + " not on the selected chromosomes");
    }
    if (fromBp != null || toBp != null) {
      long lo = fromBp == null ? Long.MIN_VALUE : fromBp;
      long hi = toBp == null ? Long.MAX_VALUE : toBp;
      removed.add(drop(in, v -> variants.get(v).bp() < lo || variants.get(v).bp() > hi) + " outside --from-bp/--to-bp");
    }
    for (VariantList l : extract) {
      removed.add(drop(in, v -> !l.names(variants.get(v))) + " not in --extract " + l.describe());
    }
    for (VariantList l : exclude) {
      removed.add(drop(in, v -> l.names(variants.get(v))) + " in --exclude " + l.describe());
    }
    int negative = 0;
    for (Variant v : variants) {
      negative += v.bp() < 0 ? 1 : 0;
    }
    if (negative > 0) {
      if (allowNegativeBp) {
        removed.add("0 with a negative position (" + negative + " kept: --allow-negative-bp)");
      } else {
        removed.add(drop(in, v -> variants.get(v).bp() < 0) + " with a negative position (excluded as PLINK does; "
            + "--allow-negative-bp keeps them)");
      }
    }
    int selected = 0;
    for (boolean b : in) {
      selected += b ? 1 : 0;
    }
    String report = name + ": " + selected + " of " + m + " variants selected"
        + (removed.isEmpty() ? "" : "; removed: " + String.join(", ", removed));
    if (selected == 0) {
      throw BadInputException.inFile(name, "no variant left after the selection (" + report + ")");
    }
    return new Mask(in, selected, report);
  }

  private interface Test {
    boolean drop(int v);
  }

  private static int drop(boolean[] in, Test test) {
    int dropped = 0;
    for (int v = 0; v < in.length; v++) {
      if (in[v] && test.drop(v)) {
        in[v] = false;
        dropped++;
      }
    }
    return dropped;
  }
}
