package org.lmmspark.engine.ldsc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.BgzfText;
import org.lmmspark.engine.io.WhitespaceLines;
import org.lmmspark.engine.stats.ChiSquared;

/**
 * Summary statistics into ldsc's {@code .sumstats} layout, as ldsc 1.0.1's {@code munge_sumstats.py}
 * does: column names recognised case-insensitively from ldsc's list plus GWAS-SSF's
 * ({@code variant_id}, {@code effect_allele}, {@code other_allele}, {@code p_value}, {@code n},
 * {@code beta}, {@code effect_allele_frequency}, as {@code lmmspark assoc} writes them); rows with a
 * missing value dropped; {@code INFO ≥ --info-min} (0.9; an INFO column that is NA in every row, as {@code lmmspark
 * assoc} writes it for hard calls, is not filtered on, where ldsc would drop every row); MAF {@code > --maf-min}
 * (0.01) from the frequency column; {@code 0 < P ≤ 1}; only strand-unambiguous SNPs with A/C/G/T alleles; duplicate
 * SNP IDs after the first dropped; {@code N ≥ 90th percentile / 1.5} (or {@code --n-min}); then
 * {@code Z = √(χ²₁ quantile of P)} signed by the signed statistic against its null (0 for BETA, Z,
 * LOG_ODDS; 1 for OR), whose median must be within 0.1 of the null. {@code --merge-alleles} keeps only
 * its SNPs whose alleles match (either way, either strand). Output {@code SNP A1 A2 Z N}.
 */
public final class Munge {
  private Munge() {}

  /**
   * @param n {@code --N} (used when the file has no N column), or null
   * @param signed {@code --signed-sumstats COLUMN,NULL} as column and null value, or null for automatic
   */
  public record Options(Double n, Double nCas, Double nCon, double infoMin, double mafMin, Double nMin, String signed,
      Double signedNull, boolean a1Inc, String mergeAlleles) {
    public static Options defaults() {
      return new Options(null, null, null, 0.9, 0.01, null, null, null, false, null);
    }
  }

  public record Result(Sumstats sumstats, List<String> log) {}

  private static final Map<String, String> NAMES = new HashMap<>();
  private static final Map<String, Double> NULLS = Map.of("LOG_ODDS", 0.0, "BETA", 0.0, "OR", 1.0, "Z", 0.0);

  static {
    String[][] synonyms = {
      {"SNP", "SNP", "MARKERNAME", "SNPID", "RS", "RSID", "RS_NUMBER", "RS_NUMBERS", "VARIANT_ID"},
      {"P", "P", "PVALUE", "P_VALUE", "PVAL", "P_VAL", "GC_PVALUE"},
      {"A1", "A1", "ALLELE1", "ALLELE_1", "EFFECT_ALLELE", "REFERENCE_ALLELE", "INC_ALLELE", "EA"},
      {"A2", "A2", "ALLELE2", "ALLELE_2", "OTHER_ALLELE", "NON_EFFECT_ALLELE", "DEC_ALLELE", "NEA"},
      {"N", "N", "WEIGHT"},
      {"N_CAS", "NCASE", "CASES_N", "N_CASE", "N_CASES", "N_CAS"},
      {"N_CON", "N_CONTROLS", "N_CON", "NCONTROL", "CONTROLS_N", "N_CONTROL"},
      {"Z", "ZSCORE", "Z_SCORE", "GC_ZSCORE", "Z"},
      {"OR", "OR"},
      {"BETA", "B", "BETA", "EFFECTS", "EFFECT"},
      {"LOG_ODDS", "LOG_ODDS"},
      {"INFO", "INFO"},
      {"FRQ", "EAF", "FRQ", "MAF", "FRQ_U", "F_U", "EFFECT_ALLELE_FREQUENCY"},
    };
    for (String[] s : synonyms) {
      for (int i = 1; i < s.length; i++) {
        NAMES.put(s[i], s[0]);
      }
    }
  }

  /** ldsc's {@code clean_header}: upper case, '-' and '.' as '_'. */
  static String clean(String h) {
    return h.toUpperCase(Locale.ROOT).replace('-', '_').replace('.', '_');
  }

  public static Result munge(String path, Options o, Configuration conf) {
    List<String> log = new ArrayList<>();
    String[] header = Sumstats.header(path, conf);
    Map<String, Integer> col = new LinkedHashMap<>();
    String signedName = null;
    double signedNull = 0;
    if (o.signed() != null) {
      signedName = "SIGNED_SUMSTAT";
      signedNull = o.signedNull();
    }
    for (int i = 0; i < header.length; i++) {
      String c = clean(header[i]);
      String name = o.signed() != null && c.equals(clean(o.signed())) ? "SIGNED_SUMSTAT" : NAMES.get(c);
      if (name == null) {
        continue;
      }
      if (o.signed() != null && NULLS.containsKey(name)) {
        continue; // --signed-sumstats chooses the signed column
      }
      if (col.containsKey(name)) {
        if (name.equals("SNP") && c.equals("VARIANT_ID")) {
          continue; // GWAS-SSF with both rsid and variant_id: the rsid is the SNP ID
        }
        if (name.equals("SNP") && clean(header[col.get(name)]).equals("VARIANT_ID")) {
          col.put(name, i);
          continue;
        }
        throw BadInputException.atLine(path, 1, "columns " + BadInputException.excerpt(header[col.get(name)]) + " and "
            + BadInputException.excerpt(header[i])
            + " both mean " + name + "; remove one");
      }
      col.put(name, i);
    }
    for (String need : List.of("SNP", "P", "A1", "A2")) {
      if (!col.containsKey(need)) {
        throw BadInputException.atLine(path, 1, "missing column " + need + " (no column munge_sumstats.py reads as "
            + need + "; found: " + Sumstats.columns(header) + ")");
      }
    }
    if (signedName == null && !o.a1Inc()) {
      List<String> signed = col.keySet().stream().filter(NULLS::containsKey).toList();
      if (signed.isEmpty()) {
        throw BadInputException.atLine(path, 1, "no signed summary statistic (Z, BETA, OR, LOG_ODDS; or give"
            + " --signed-sumstats COLUMN,NULL); columns: " + Sumstats.columns(header));
      }
      if (signed.size() > 1) {
        throw BadInputException.atLine(path, 1, "several signed summary statistics " + signed
            + "; choose one with --signed-sumstats COLUMN,NULL");
      }
      signedName = signed.get(0);
      signedNull = NULLS.get(signedName);
    }
    boolean hasN = col.containsKey("N") || (col.containsKey("N_CAS") && col.containsKey("N_CON"));
    if (!hasN && o.n() == null && (o.nCas() == null || o.nCon() == null)) {
      throw BadInputException.atLine(path, 1, "no sample size column (N, or N_CAS and N_CON): give --N (or --N-cas and --N-con)");
    }
    Set<String> mergeSnps = null;
    Map<String, String[]> mergeAlleles = null;
    if (o.mergeAlleles() != null) {
      mergeAlleles = readMergeAlleles(o.mergeAlleles(), conf);
      mergeSnps = mergeAlleles.keySet();
    }

    List<String> snp = new ArrayList<>();
    List<String> a1 = new ArrayList<>();
    List<String> a2 = new ArrayList<>();
    List<Double> p = new ArrayList<>();
    List<Double> signed = new ArrayList<>();
    List<Double> nList = new ArrayList<>();
    Map<Integer, Double> caseFraction = new HashMap<>();
    int[] counts = new int[7]; // total, missing, not in --merge-alleles, INFO, MAF, P, alleles
    Set<String> used = new HashSet<>(col.keySet());
    used.remove("INFO");
    Set<String> mergeSnps0 = mergeSnps;
    String signedCol = signedName;
    // Rows with INFO NA are dropped as munge_sumstats.py drops them (NaN ≥ --info-min is false) only when some row has
    // a number: a column NA throughout is that of hard calls (lmmspark assoc's on a .bed), which ldsc would munge to
    // nothing.
    BitSet infoMissing = new BitSet();
    boolean[] infoSeen = {false};
    WhitespaceLines.readTable(path, conf, "summary statistics", (lineNo, h) -> { }, (lineNo, f) -> {
      counts[0]++;
      for (String u : used) {
        if (Sumstats.MISSING.contains(f[col.get(u)].toUpperCase(Locale.ROOT))) {
          counts[1]++;
          return;
        }
      }
      String id = f[col.get("SNP")];
      if (mergeSnps0 != null && !mergeSnps0.contains(id)) {
        counts[2]++;
        return;
      }
      boolean noInfo = false;
      if (col.containsKey("INFO")) {
        double info = Sumstats.number(f[col.get("INFO")], path, lineNo, "INFO");
        noInfo = Double.isNaN(info);
        infoSeen[0] |= !noInfo;
        if (!noInfo && !(info >= o.infoMin())) {
          counts[3]++;
          return;
        }
      }
      if (col.containsKey("FRQ")) {
        double frq = Sumstats.number(f[col.get("FRQ")], path, lineNo, "FRQ");
        if (frq < 0 || frq > 1 || !(Math.min(frq, 1 - frq) > o.mafMin())) {
          counts[4]++;
          return;
        }
      }
      double pv = Sumstats.number(f[col.get("P")], path, lineNo, "P");
      if (!(pv > 0 && pv <= 1)) {
        counts[5]++;
        return;
      }
      String x1 = f[col.get("A1")].toUpperCase(Locale.ROOT);
      String x2 = f[col.get("A2")].toUpperCase(Locale.ROOT);
      if (!Sumstats.validSnp(x1, x2)) {
        counts[6]++;
        return;
      }
      infoMissing.set(snp.size(), noInfo);
      snp.add(id);
      a1.add(x1);
      a2.add(x2);
      p.add(pv);
      signed.add(signedCol == null ? 1.0 : Sumstats.number(f[col.get(signedCol)], path, lineNo, signedCol));
      double nv;
      if (col.containsKey("N")) {
        nv = Sumstats.number(f[col.get("N")], path, lineNo, "N");
      } else if (col.containsKey("N_CAS") && col.containsKey("N_CON")) {
        double cases = Sumstats.number(f[col.get("N_CAS")], path, lineNo, "N_CAS");
        nv = cases + Sumstats.number(f[col.get("N_CON")], path, lineNo, "N_CON");
        caseFraction.put(nList.size(), cases / nv);
      } else {
        nv = o.n() != null ? o.n() : o.nCas() + o.nCon();
      }
      if (!(nv > 0)) {
        throw BadInputException.atLine(path, lineNo, "sample size " + nv + " for SNP " + BadInputException.excerpt(id)
            + ": N must be positive");
      }
      nList.add(o.n() != null ? o.n() : nv);
    });
    int total = counts[0];
    int na = counts[1];
    int notMerge = counts[2];
    boolean dropNoInfo = infoSeen[0];
    int noInfoDropped = dropNoInfo ? infoMissing.cardinality() : 0;
    int lowInfo = counts[3] + noInfoDropped;
    int lowMaf = counts[4];
    int badP = counts[5];
    int badAlleles = counts[6];
    log.add("Read " + total + " SNPs from " + path + ".");
    if (mergeSnps != null) {
      log.add("Removed " + notMerge + " SNPs not in --merge-alleles.");
    }
    log.add("Removed " + na + " SNPs with missing values.");
    log.add("Removed " + lowInfo + " SNPs with INFO <= " + o.infoMin() + ".");
    if (!dropNoInfo && !infoMissing.isEmpty()) {
      log.add("INFO is NA in every row (hard-call genotypes): not filtered on INFO.");
    }
    log.add("Removed " + lowMaf + " SNPs with MAF <= " + o.mafMin() + ".");
    log.add("Removed " + badP + " SNPs with out-of-bounds p-values.");
    log.add("Removed " + badAlleles + " variants that were not SNPs or were strand-ambiguous.");
    if (snp.size() == noInfoDropped) {
      throw BadInputException.inFile(path, "no SNP left after filtering (see the counts above: " + String.join(" ", log) + ")");
    }
    // Duplicates after the first, then N (its threshold needs every row, so it comes after).
    Set<String> seen = new HashSet<>();
    List<Integer> keep = new ArrayList<>();
    for (int i = 0; i < snp.size(); i++) {
      if (!(dropNoInfo && infoMissing.get(i)) && seen.add(snp.get(i))) {
        keep.add(i);
      }
    }
    log.add("Removed " + (snp.size() - noInfoDropped - keep.size()) + " SNPs with duplicated rs numbers (" + keep.size()
        + " SNPs remain).");
    if (!caseFraction.isEmpty() && o.n() == null) {
      // ldsc's process_n: N·P / mean(P over the rows with the largest N), P the fraction of cases.
      double maxN = keep.stream().mapToDouble(nList::get).max().orElseThrow();
      double pSum = 0;
      int pCount = 0;
      for (int i : keep) {
        if (nList.get(i) == maxN) {
          pSum += caseFraction.get(i);
          pCount++;
        }
      }
      double pMax = pSum / pCount;
      for (int i : keep) {
        nList.set(i, nList.get(i) * caseFraction.get(i) / pMax);
      }
    }
    if (hasN && o.n() == null) {
      double[] ns = keep.stream().mapToDouble(nList::get).toArray();
      double nMin = o.nMin() != null ? o.nMin() : quantile(ns, 0.9) / 1.5;
      List<Integer> k2 = new ArrayList<>();
      for (int i : keep) {
        if (nList.get(i) >= nMin) {
          k2.add(i);
        }
      }
      log.add("Removed " + (keep.size() - k2.size()) + " SNPs with N < " + nMin + " (" + k2.size() + " SNPs remain).");
      keep = k2;
    } else {
      log.add("Using N = " + nList.get(0));
    }
    if (signedName != null) {
      double[] sv = keep.stream().mapToDouble(signed::get).toArray();
      double med = Ldsc.median(sv);
      if (Math.abs(med - signedNull) > 0.1) {
        throw BadInputException.inFile(path, "median value of " + signedName + " is " + med + " (should be close to "
            + signedNull + "); this column may be mislabeled");
      }
      log.add("Median value of " + signedName + " was " + med + ", which seems sensible.");
    }
    NormalDistribution normal = new NormalDistribution();
    List<String> outSnp = new ArrayList<>();
    List<String> outA1 = new ArrayList<>();
    List<String> outA2 = new ArrayList<>();
    List<Double> outN = new ArrayList<>();
    List<Double> outZ = new ArrayList<>();
    int mismatch = 0;
    for (int i : keep) {
      // Z from P: sqrt(chi2.isf(P, 1)) = −Φ⁻¹(P/2); negative when the signed statistic is below its null.
      double z = zFromP(p.get(i), normal);
      if (signedName != null && signed.get(i) < signedNull) {
        z = -z;
      }
      if (mergeAlleles != null) {
        String[] ma = mergeAlleles.get(snp.get(i));
        if (Sumstats.alignment(a1.get(i), a2.get(i), ma[0], ma[1]) < 0) {
          mismatch++;
          continue;
        }
      }
      outSnp.add(snp.get(i));
      outA1.add(a1.get(i));
      outA2.add(a2.get(i));
      outN.add(nList.get(i));
      outZ.add(z);
    }
    if (mergeAlleles != null) {
      log.add("Removed " + mismatch + " SNPs whose alleles did not match --merge-alleles (" + outSnp.size() + " SNPs remain).");
      if (outSnp.isEmpty()) {
        throw BadInputException.inFile(path, "no SNP has alleles that match --merge-alleles " + o.mergeAlleles()
            + " (neither way, nor on the other strand)");
      }
    }
    log.add("Writing summary statistics for " + outSnp.size() + " SNPs.");
    Sumstats s = new Sumstats(List.copyOf(outSnp), outA1.toArray(String[]::new), outA2.toArray(String[]::new),
        outN.stream().mapToDouble(Double::doubleValue).toArray(), outZ.stream().mapToDouble(Double::doubleValue).toArray(),
        0); // duplicates were removed above, and logged
    return new Result(s, log);
  }

  /**
   * {@code √(χ²₁ upper quantile of p)}: {@code −Φ⁻¹(p/2)}, and below {@code p = 1e-15} (where the
   * normal inverse runs out of precision) Newton steps on {@code log P(χ²₁ ≥ x) = log p} with the
   * project's log-space tail, so that p-values down to 1e-300 keep their z.
   */
  static double zFromP(double p, NormalDistribution normal) {
    if (p > 1e-15) {
      return -normal.inverseCumulativeProbability(p / 2);
    }
    double logP = Math.log(p);
    double x = -2 * logP; // start: the tail is about exp(−x/2)
    for (int it = 0; it < 100; it++) {
      double logQ = ChiSquared.logUpperTail(x, 1);
      double logPdf = -x / 2 - 0.5 * Math.log(2 * Math.PI * x);
      double step = (logQ - logP) / Math.exp(logPdf - logQ);
      x += step;
      if (Math.abs(step) < 1e-12 * x) {
        break;
      }
    }
    return Math.sqrt(x);
  }

  /** {@code --merge-alleles}: a file with columns {@code SNP A1 A2} (header). */
  static Map<String, String[]> readMergeAlleles(String path, Configuration conf) {
    Map<String, String[]> out = new HashMap<>();
    int[] cols = new int[3];
    WhitespaceLines.readTable(path, conf, "--merge-alleles SNPs", (lineNo, f) -> {
      List<String> h = Arrays.stream(f).map(Munge::clean).toList();
      cols[0] = h.indexOf("SNP");
      cols[1] = h.indexOf("A1");
      cols[2] = h.indexOf("A2");
      if (cols[0] < 0 || cols[1] < 0 || cols[2] < 0) {
        throw BadInputException.atLine(path, lineNo, "--merge-alleles needs columns SNP A1 A2");
      }
    }, (lineNo, f) -> {
      out.putIfAbsent(f[cols[0]], new String[] {f[cols[1]].toUpperCase(Locale.ROOT), f[cols[2]].toUpperCase(Locale.ROOT)});
    });
    return out;
  }

  /** pandas' default quantile (linear interpolation between order statistics). */
  static double quantile(double[] v, double q) {
    double[] s = v.clone();
    Arrays.sort(s);
    double pos = q * (s.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(s.length - 1, lo + 1);
    return s[lo] + (pos - lo) * (s[hi] - s[lo]);
  }

  /**
   * Writes {@code OUT.sumstats.gz} ({@code SNP A1 A2 Z N}, Z and N with 3 decimals as munge_sumstats.py), BGZF
   * ({@link BgzfText}).
   */
  public static String write(Sumstats s, String out, AtomicOutputs outputs) {
    String path = out + ".sumstats.gz";
    try (Writer w = BgzfText.writer(outputs.create(path))) {
      w.write("SNP\tA1\tA2\tZ\tN\n");
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < s.rows(); i++) {
        sb.setLength(0);
        sb.append(s.snps().get(i)).append('\t').append(s.a1()[i]).append('\t').append(s.a2()[i]).append('\t')
            .append(String.format(Locale.ROOT, "%.3f\t%.3f", s.z()[i], s.n()[i])).append('\n');
        w.write(sb.toString());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return path;
  }
}
