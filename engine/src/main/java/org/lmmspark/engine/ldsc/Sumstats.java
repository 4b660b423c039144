package org.lmmspark.engine.ldsc;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.WhitespaceLines;

/**
 * Summary statistics in ldsc's {@code .sumstats} layout (what {@code munge_sumstats.py} writes):
 * whitespace-separated with a header naming {@code SNP}, {@code Z} (for allele A1), {@code N} and, for
 * {@code --rg}, {@code A1 A2}; {@code .gz} is decompressed. Missing values ({@code NA}, {@code .}, empty,
 * {@code nan}) are NaN. Duplicate SNP IDs keep their first row, as ldsc, and are counted.
 *
 * @param a1                null when alleles were not read
 * @param duplicatesDropped rows dropped because their SNP ID came earlier in the file (ldsc's "Dropped M SNPs with
 *                          duplicated rs numbers")
 */
public record Sumstats(List<String> snps, String[] a1, String[] a2, double[] n, double[] z, int duplicatesDropped) {
  /** Largest |Z| accepted: far beyond any real association (p = 1e-300 is |Z| ≈ 37), small enough to square. */
  static final double MAX_ABS_Z = 1e100;

  static final Set<String> MISSING = Set.of("", "NA", "NAN", ".", "N/A", "NULL", "-NAN", "NONE");

  public int rows() {
    return snps.size();
  }

  /**
   * Whether the file's header names the columns of ldsc's layout: {@code SNP Z N}, or {@code SNP Z}
   * without a p-value (ldsc's layout without N, which {@code --N} completes; munging needs P).
   */
  public static boolean isLdscLayout(String path, Configuration conf) {
    Set<String> cols = new HashSet<>(List.of(header(path, conf)));
    return cols.contains("SNP") && cols.contains("Z") && (cols.contains("N") || !cols.contains("P"));
  }

  /** A header's column names for a message: at most 12, each a short excerpt. */
  static String columns(String[] header) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < Math.min(12, header.length); i++) {
      sb.append(i == 0 ? "" : " ").append(BadInputException.excerpt(header[i]));
    }
    return header.length > 12 ? sb + " … (" + header.length + " columns)" : sb.toString();
  }

  static String[] header(String path, Configuration conf) {
    return WhitespaceLines.header(path, conf, "summary statistics");
  }

  /**
   * Reads {@code path}; rows with a missing value are dropped when {@code dropNa} (otherwise kept with
   * NaN), then duplicate SNP IDs after the first.
   */
  public static Sumstats read(String path, boolean alleles, boolean dropNa, Configuration conf) {
    return read(path, alleles, dropNa, null, conf);
  }

  /** As above; {@code n} (ldsc's {@code --N}) is every row's sample size when the file has no N column. */
  public static Sumstats read(String path, boolean alleles, boolean dropNa, Double n0, Configuration conf) {
    List<String> need = new ArrayList<>(alleles ? List.of("SNP", "A1", "A2", "N", "Z") : List.of("SNP", "N", "Z"));
    if (n0 != null && !List.of(header(path, conf)).contains("N")) {
      need.remove("N");
    }
    Map<String, Integer> col = new HashMap<>();
    List<String> snps = new ArrayList<>();
    List<String> a1 = new ArrayList<>();
    List<String> a2 = new ArrayList<>();
    List<Double> n = new ArrayList<>();
    List<Double> z = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    int[] duplicates = new int[1];
    WhitespaceLines.readTable(path, conf, "summary statistics", (lineNo, h) -> {
      for (int i = 0; i < h.length; i++) {
        col.putIfAbsent(h[i], i);
      }
      for (String c : need) {
        if (!col.containsKey(c)) {
          throw BadInputException.atLine(path, lineNo, "missing column " + c + " (ldsc .sumstats needs "
              + String.join(" ", need) + "; found " + columns(h) + "); other "
              + "layouts go through lmmspark munge-sumstats"
              + (c.equals("N") ? "; give --N when the file has no sample size" : ""));
        }
      }
    }, (lineNo, f) -> {
      String snp = f[col.get("SNP")];
      double nv = col.containsKey("N") ? number(f[col.get("N")], path, lineNo, "N") : n0;
      double zv = number(f[col.get("Z")], path, lineNo, "Z");
      if (nv <= 0) {
        throw BadInputException.atLine(path, lineNo, "N must be positive, got " + nv);
      }
      if (Math.abs(zv) > MAX_ABS_Z) {
        throw BadInputException.atLine(path, lineNo, "Z = " + zv + " is beyond ±" + MAX_ABS_Z + " (its square would "
            + "overflow in the regression; a p-value of 1e-300 is Z ≈ 37)");
      }
      String x1 = alleles ? f[col.get("A1")].toUpperCase(Locale.ROOT) : null;
      String x2 = alleles ? f[col.get("A2")].toUpperCase(Locale.ROOT) : null;
      boolean na = Double.isNaN(nv) || Double.isNaN(zv) || MISSING.contains(snp.toUpperCase(Locale.ROOT))
          || (alleles && (MISSING.contains(x1) || MISSING.contains(x2)));
      if (na && dropNa) {
        return;
      }
      if (!seen.add(snp)) {
        duplicates[0]++;
        return;
      }
      snps.add(snp);
      n.add(nv);
      z.add(zv);
      if (alleles) {
        a1.add(x1);
        a2.add(x2);
      }
    });
    if (snps.isEmpty()) {
      throw BadInputException.inFile(path, "no summary statistics left after dropping rows with missing values");
    }
    return new Sumstats(List.copyOf(snps), alleles ? a1.toArray(String[]::new) : null,
        alleles ? a2.toArray(String[]::new) : null, n.stream().mapToDouble(Double::doubleValue).toArray(),
        z.stream().mapToDouble(Double::doubleValue).toArray(), duplicates[0]);
  }

  /** A number of column {@code column}, NaN when missing; not a number, or infinite, is an error. */
  static double number(String s, String path, long lineNo, String column) {
    if (MISSING.contains(s.toUpperCase(Locale.ROOT))) {
      return Double.NaN;
    }
    return WhitespaceLines.finite(s, path, lineNo, column);
  }

  private static final Map<Character, Character> COMPLEMENT = Map.of('A', 'T', 'T', 'A', 'C', 'G', 'G', 'C');

  /** A strand-unambiguous biallelic SNP: two different bases of ACGT that are not each other's complement. */
  public static boolean validSnp(String a1, String a2) {
    if (a1 == null || a2 == null || a1.length() != 1 || a2.length() != 1) {
      return false;
    }
    Character c1 = COMPLEMENT.get(a1.charAt(0));
    Character c2 = COMPLEMENT.get(a2.charAt(0));
    return c1 != null && c2 != null && a1.charAt(0) != a2.charAt(0) && c1 != a2.charAt(0);
  }

  /**
   * ldsc's {@code MATCH_ALLELES}/{@code FLIP_ALLELES}: 0 when {@code (b1, b2)} names the same SNP as
   * {@code (a1, a2)} with the same reference allele (possibly on the other strand), 1 when the alleles
   * are swapped (the second Z must be negated), -1 when they do not match or are not valid SNPs.
   */
  public static int alignment(String a1, String a2, String b1, String b2) {
    if (!validSnp(a1, a2) || !validSnp(b1, b2)) {
      return -1;
    }
    char x1 = a1.charAt(0);
    char x2 = a2.charAt(0);
    char y1 = b1.charAt(0);
    char y2 = b2.charAt(0);
    char cy1 = COMPLEMENT.get(y1);
    char cy2 = COMPLEMENT.get(y2);
    if ((x1 == y1 && x2 == y2) || (x1 == cy1 && x2 == cy2)) {
      return 0;
    }
    if ((x1 == y2 && x2 == y1) || (x1 == cy2 && x2 == cy1)) {
      return 1;
    }
    return -1;
  }
}
