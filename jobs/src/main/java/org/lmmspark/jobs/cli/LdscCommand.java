package org.lmmspark.jobs.cli;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.OutputSet;
import org.lmmspark.engine.ldsc.Ldsc;
import org.lmmspark.engine.ldsc.LdscAnalysis;
import org.lmmspark.engine.ldsc.LdscRegression;
import org.lmmspark.engine.ldsc.LdScoreTable;
import org.lmmspark.engine.ldsc.Munge;
import org.lmmspark.engine.ldsc.Sumstats;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lmmspark ldsc}: LD score regression with ldsc 1.0.1's flags and printout: {@code --h2}
 * (total and partitioned), {@code --rg}. Small dense work on the driver (no Spark): O(n·p²) for n
 * variants and p LD-score columns.
 */
@Command(name = "ldsc", mixinStandardHelpOptions = true,
    description = {
      "LD score regression as ldsc 1.0.1 (--h2, --rg, partitioned h2 with several LD score columns), with"
          + " ldsc's flags: regression of chi2 (or z1*z2) on LD scores, IRWLS weights, two-step estimator,"
          + " 200-block jackknife SEs.",
      "Summary statistics: ldsc .sumstats (SNP A1 A2 N Z), or any file munge-sumstats reads (e.g. the"
          + " GWAS-SSF OUT.assoc.tsv.gz of lmmspark assoc), munged in memory with munge_sumstats.py's defaults.",
      "LD scores: --ref-ld-chr PREFIX reads PREFIX{1..22}.l2.ldscore[.gz] and M from .l2.M_5_50, as ldsc and"
          + " as lmmspark ldscore writes them.",
      "Prints ldsc's summary; writes OUT.log, OUT.h2.tsv or OUT.rg.tsv (full precision), and for partitioned"
          + " h2 OUT.results (per category: proportion of SNPs, of h2, enrichment, coefficients)."})
public final class LdscCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Analysis analysis;

  static final class Analysis {
    @Option(names = "--h2", paramLabel = "FILE", description = "Heritability of the trait in FILE.")
    String h2;

    @Option(names = "--rg", paramLabel = "FILE1,FILE2[,...]", description = "Genetic correlation of the first trait with each of the others.")
    String rg;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  RefLd ref;

  static final class RefLd {
    @Option(names = "--ref-ld-chr", paramLabel = "PREFIX[,PREFIX]", description = "LD scores split by chromosome: PREFIX{1..22}.l2.ldscore[.gz]; several prefixes give several columns.")
    String chr;

    @Option(names = "--ref-ld", paramLabel = "PREFIX[,PREFIX]", description = "LD scores in one file per prefix: PREFIX.l2.ldscore[.gz].")
    String whole;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  WLd w;

  static final class WLd {
    @Option(names = "--w-ld-chr", paramLabel = "PREFIX", description = "Regression-weight LD scores split by chromosome (one column).")
    String chr;

    @Option(names = "--w-ld", paramLabel = "PREFIX", description = "Regression-weight LD scores in one file.")
    String whole;
  }

  /** {@code --out} is required here (ldsc.py defaults it to {@code ldsc}): outputs are never placed implicitly. */
  @Mixin OutputOptions output;

  /** The output prefix. */
  private String out;

  /** The files of one run: existing ones are refused without --overwrite. */
  static final List<String> OUTPUTS = List.of(".log", ".h2.tsv", ".rg.tsv", ".results");

  @Option(names = "--samp-prev", paramLabel = "P[,P]", description = "Sample prevalence per trait (with --pop-prev: liability scale).")
  String sampPrev;

  @Option(names = "--pop-prev", paramLabel = "K[,K]", description = "Population prevalence per trait.")
  String popPrev;

  @Option(names = "--intercept-h2", paramLabel = "B[,B]", description = "Fix the h2 intercept (per trait for --rg; N leaves one free).")
  String interceptH2;

  @Option(names = "--intercept-gencov", paramLabel = "B[,B]", description = "Fix the genetic covariance intercept (per trait, first entry unused).")
  String interceptGencov;

  @Option(names = "--no-intercept", description = "Fix the h2 intercepts at 1 and the gencov intercepts at 0.")
  boolean noIntercept;

  @Option(names = "--two-step", paramLabel = "CUTOFF", description = "Two-step estimator with this chi2 cutoff (default for --h2 with one LD score and a free intercept: 30).")
  Double twoStep;

  @Option(names = "--chisq-max", paramLabel = "X", description = "Drop SNPs with chi2 above X.")
  Double chisqMax;

  @Option(names = "--n-blocks", defaultValue = "200", paramLabel = "B", description = "Jackknife blocks (default ${DEFAULT-VALUE}).")
  int nBlocks;

  @Option(names = "--not-M-5-50", description = "M from .l2.M (all SNPs) instead of .l2.M_5_50.")
  boolean notM550;

  @Option(names = "--N", paramLabel = "N", description = "Sample size for summary statistics without an N column (an ldsc .sumstats without N, or a file munged in memory).")
  Double n;

  @Option(names = "--overlap-annot", hidden = true, description = "ldsc's flag for overlapping categories: refused (not read here).")
  boolean overlapAnnot;

  @Option(names = {"--frqfile-chr", "--frqfile"}, hidden = true, paramLabel = "PREFIX",
      description = "ldsc's frequency files for --overlap-annot: refused (not read here).")
  String frqfile;

  @Override
  public Integer call() {
    if (overlapAnnot || frqfile != null) {
      // Named rather than "unknown option": an ldsc user's command line carries them, and the reason matters.
      throw new BadInputException("--overlap-annot/--frqfile-chr (ldsc's overlap matrix of overlapping categories) "
          + "are not supported: several LD score columns are taken as disjoint categories, as ldsc does without "
          + "--overlap-annot; drop the flags for that analysis");
    }
    if (nBlocks < 2) {
      throw new BadInputException("--n-blocks must be at least 2");
    }
    checkIfGiven("--two-step", twoStep, NumericRange.POSITIVE);
    checkIfGiven("--chisq-max", chisqMax, NumericRange.POSITIVE);
    checkIfGiven("--N", n, NumericRange.POSITIVE);
    int traits = analysis.h2 != null ? 1 : analysis.rg.split(",").length;
    for (Double p : list(sampPrev, traits, "--samp-prev")) {
      checkIfGiven("--samp-prev", p, NumericRange.OPEN_UNIT);
    }
    for (Double k : list(popPrev, traits, "--pop-prev")) {
      checkIfGiven("--pop-prev", k, NumericRange.OPEN_UNIT);
    }
    Configuration conf = new Configuration();
    out = output.out();
    List<String> inputs = new ArrayList<>(List.of((analysis.h2 != null ? analysis.h2 : analysis.rg).split(",")));
    try (OutputSet set = output.open(OUTPUTS, conf, inputs.toArray(String[]::new))) {
      int rc = analyse(conf);
      set.commit();
      return rc;
    }
  }

  private int analyse(Configuration conf) {
    RunLog runLog = new RunLog(spec);
    LdScoreTable refLd = LdScoreTable.read(ref.chr != null ? ref.chr : ref.whole, ref.chr != null, notM550, conf);
    LdScoreTable wLd = LdScoreTable.read(w.chr != null ? w.chr : w.whole, w.chr != null, notM550, conf);
    runLog.say("Read reference panel LD scores for " + refLd.rows() + " SNPs (" + refLd.columns().size()
        + " column(s), M = " + java.util.Arrays.toString(refLd.m()) + "); weight LD scores for " + wLd.rows() + " SNPs.");
    if (analysis.h2 != null) {
      return h2(refLd, wLd, conf, runLog);
    }
    return rg(refLd, wLd, conf, runLog);
  }

  private int h2(LdScoreTable refLd, LdScoreTable wLd, Configuration conf, RunLog runLog) {
    Sumstats s = load(analysis.h2, false, true, conf, runLog);
    Double[] icpt = noIntercept ? new Double[] {1.0} : list(interceptH2, 1, "--intercept-h2");
    LdscAnalysis.Merged d = LdscAnalysis.merge(s, null, refLd, wLd, analysis.h2, null);
    LdscAnalysis.H2Result r = LdscAnalysis.h2(d, new LdscAnalysis.Options(nBlocks, icpt, null, twoStep, chisqMax));
    r.log().forEach(runLog::say);
    Double[] p = list(sampPrev, 1, "--samp-prev");
    Double[] k = list(popPrev, 1, "--pop-prev");
    double c = p[0] != null && k[0] != null ? Ldsc.liabilityFactor(p[0], k[0]) : Double.NaN;
    summary(r.fit(), d.ldColumns(), c).forEach(runLog::say);
    LdscRegression f = r.fit().fit();
    List<String[]> tsv = new ArrayList<>();
    tsv.add(new String[] {"quantity", "estimate", "se"});
    tsv.add(row("h2_observed", f.tot, f.totSe));
    if (!Double.isNaN(c)) {
      tsv.add(row("h2_liability", c * f.tot, c * f.totSe));
    }
    tsv.add(row("intercept", f.intercept, f.interceptSe));
    tsv.add(row("ratio", r.fit().ratio(), r.fit().ratioSe()));
    tsv.add(row("mean_chisq", r.fit().meanChisq(), Double.NaN));
    tsv.add(row("lambda_gc", r.fit().lambdaGc(), Double.NaN));
    tsv.add(row("snps", r.data().rows(), Double.NaN));
    tsv.add(row("M", sum(d.m()), Double.NaN));
    try (AtomicOutputs outputs = new AtomicOutputs(conf)) {
      writeTsv(outputs, out + ".h2.tsv", tsv);
      if (f.nAnnot > 1) {
        List<String[]> results = new ArrayList<>();
        // ldsc --overlap-annot --print-coefficients' layout; the categories are taken as disjoint (overlap diag(M)).
        results.add(new String[] {"Category", "Prop._SNPs", "Prop._h2", "Prop._h2_std_error", "Enrichment",
            "Enrichment_std_error", "Enrichment_p", "Coefficient", "Coefficient_std_error", "Coefficient_z-score"});
        double[] enrichmentP = f.enrichmentP(LdscRegression.disjointOverlap(d.m()), d.m(), sum(d.m()));
        for (int a = 0; a < f.nAnnot; a++) {
          double coefSe = Math.sqrt(f.coefCov[a * f.nAnnot + a]);
          results.add(new String[] {d.ldColumns().get(a), g(f.mProp[a]), g(f.prop[a]), g(f.propSe[a]),
              g(f.prop[a] / f.mProp[a]), g(f.propSe[a] / f.mProp[a]), g(enrichmentP[a]), g(f.coef[a]), g(coefSe),
              g(f.coef[a] / coefSe)});
        }
        writeTsv(outputs, out + ".results", results);
        runLog.say("Results printed to " + out + ".results");
      }
      outputs.commit();
    }
    runLog.write(out + ".log", conf);
    return 0;
  }

  private int rg(LdScoreTable refLd, LdScoreTable wLd, Configuration conf, RunLog runLog) {
    String[] files = analysis.rg.split(",");
    if (files.length < 2) {
      throw new BadInputException("--rg needs at least two summary statistics files, comma-separated");
    }
    int np = files.length;
    Double[] icpt = noIntercept ? filled(np, 1.0) : list(interceptH2, np, "--intercept-h2");
    Double[] gcov = noIntercept ? filled(np, 0.0) : list(interceptGencov, np, "--intercept-gencov");
    Double[] p = list(sampPrev, np, "--samp-prev");
    Double[] k = list(popPrev, np, "--pop-prev");
    Sumstats s1 = load(files[0], true, true, conf, runLog);
    List<String[]> tsv = new ArrayList<>();
    tsv.add(new String[] {"p1", "p2", "rg", "se", "z", "p", "h2_obs", "h2_obs_se", "h2_int", "h2_int_se", "gcov_int",
        "gcov_int_se", "gencov", "gencov_se", "snps"});
    for (int i = 1; i < np; i++) {
      runLog.say("Computing rg for phenotype " + (i + 1) + "/" + np);
      Sumstats s2 = load(files[i], true, false, conf, runLog);
      LdscAnalysis.Merged d = LdscAnalysis.merge(s1, s2, refLd, wLd, files[0], files[i]);
      LdscAnalysis.RgResult r = LdscAnalysis.rg(d, new LdscAnalysis.Options(nBlocks, new Double[] {icpt[0], icpt[i]},
          gcov[i], twoStep, chisqMax));
      r.log().forEach(runLog::say);
      Ldsc.Correlation c = r.fit();
      double c1 = p[0] != null && k[0] != null ? Ldsc.liabilityFactor(p[0], k[0]) : Double.NaN;
      double c2 = p[i] != null && k[i] != null ? Ldsc.liabilityFactor(p[i], k[i]) : Double.NaN;
      if (i == 1) {
        runLog.say("");
        runLog.say("Heritability of phenotype 1");
        runLog.say("---------------------------");
        summary(c.h1(), d.ldColumns(), c1).forEach(runLog::say);
      }
      runLog.say("");
      runLog.say("Heritability of phenotype " + (i + 1) + "/" + np);
      runLog.say("-----------------------------");
      summary(c.h2(), d.ldColumns(), c2).forEach(runLog::say);
      runLog.say("");
      runLog.say("Genetic Covariance");
      runLog.say("------------------");
      LdscRegression gf = c.gencov().fit();
      runLog.say("Total Observed scale gencov: " + fmt(gf.tot) + " (" + fmt(gf.totSe) + ")");
      runLog.say("Mean z1*z2: " + fmt(c.gencov().meanZ1Z2()));
      runLog.say(gf.constrainedIntercept ? "Intercept: constrained to " + fmt(gf.intercept)
          : "Intercept: " + fmt(gf.intercept) + " (" + fmt(gf.interceptSe) + ")");
      runLog.say("");
      runLog.say("Genetic Correlation");
      runLog.say("-------------------");
      if (Double.isNaN(c.rg())) {
        runLog.say("Genetic Correlation: nan (nan) (h2  out of bounds)");
        runLog.say("WARNING: One of the h2's was out of bounds.");
      } else {
        runLog.say("Genetic Correlation: " + fmt(c.rg()) + " (" + fmt(c.se()) + ")");
        runLog.say("Z-score: " + fmt(c.z()));
        runLog.say("P: " + fmt(c.p()));
      }
      LdscRegression h2f = c.h2().fit();
      tsv.add(new String[] {files[0], files[i], g(c.rg()), g(c.se()), g(c.z()), g(c.p()), g(h2f.tot), g(h2f.totSe),
          g(h2f.intercept), g(h2f.interceptSe), g(gf.intercept), g(gf.interceptSe), g(gf.tot), g(gf.totSe),
          String.valueOf(d.rows())});
    }
    runLog.say("");
    runLog.say("Summary of Genetic Correlation Results");
    for (String[] row : tsv) {
      runLog.say(String.join(" ", java.util.Arrays.copyOf(row, 12)));
    }
    try (AtomicOutputs outputs = new AtomicOutputs(conf)) {
      writeTsv(outputs, out + ".rg.tsv", tsv);
      outputs.commit();
    }
    runLog.write(out + ".log", conf);
    return 0;
  }

  /** ldsc's {@code Hsq.summary} lines; {@code c} the liability factor or NaN. */
  static List<String> summary(Ldsc.Heritability h, List<String> columns, double c) {
    List<String> out = new ArrayList<>();
    LdscRegression f = h.fit();
    boolean liab = !Double.isNaN(c);
    String t = liab ? "Liability" : "Observed";
    double k = liab ? c : 1;
    out.add("Total " + t + " scale h2: " + fmt(k * f.tot) + " (" + fmt(k * f.totSe) + ")");
    if (f.nAnnot > 1) {
      out.add("Categories: " + String.join(" ", columns));
      double[] catSe = new double[f.nAnnot];
      double[] cat = new double[f.nAnnot];
      double[] coefSe = new double[f.nAnnot];
      for (int a = 0; a < f.nAnnot; a++) {
        cat[a] = k * f.cat[a];
        catSe[a] = k * Math.sqrt(f.catCov[a * f.nAnnot + a]);
        coefSe[a] = Math.sqrt(f.coefCov[a * f.nAnnot + a]);
      }
      out.add(t + " scale h2: " + fmtAll(cat));
      out.add(t + " scale h2 SE: " + fmtAll(catSe));
      out.add("Proportion of SNPs: " + fmtAll(f.mProp));
      out.add("Proportion of h2g: " + fmtAll(f.prop));
      out.add("Enrichment: " + fmtAll(f.enrichment));
      out.add("Coefficients: " + fmtAll(f.coef));
      out.add("Coefficient SE: " + fmtAll(coefSe));
    }
    out.add("Lambda GC: " + fmt(h.lambdaGc()));
    out.add("Mean Chi^2: " + fmt(h.meanChisq()));
    if (f.constrainedIntercept) {
      out.add("Intercept: constrained to " + fmt(f.intercept));
    } else {
      out.add("Intercept: " + fmt(f.intercept) + " (" + fmt(f.interceptSe) + ")");
      if (h.meanChisq() > 1) {
        out.add(h.ratio() < 0 ? "Ratio < 0 (usually indicates GC correction)."
            : "Ratio: " + fmt(h.ratio()) + " (" + fmt(h.ratioSe()) + ")");
      } else {
        out.add("Ratio: NA (mean chi^2 < 1)");
      }
    }
    return out;
  }

  /** numpy's printout at precision 4 as ldsc uses it: 4 decimals without trailing zeros, scientific below 1e-4. */
  static String fmt(double x) {
    if (Double.isNaN(x)) {
      return "NA";
    }
    if (x != 0 && Math.abs(x) < 1e-4) {
      String s = String.format(Locale.ROOT, "%.4e", x);
      String mant = s.substring(0, s.indexOf('e')).replaceAll("0+$", "").replaceAll("\\.$", "");
      return mant + s.substring(s.indexOf('e'));
    }
    return new BigDecimal(x).setScale(4, RoundingMode.HALF_EVEN).stripTrailingZeros().toPlainString();
  }

  private static String fmtAll(double[] xs) {
    List<String> s = new ArrayList<>();
    for (double x : xs) {
      s.add(fmt(x));
    }
    return String.join(" ", s);
  }

  /** ldsc .sumstats as is; any other layout through munge-sumstats with its defaults (and --N). */
  private Sumstats load(String path, boolean alleles, boolean dropNa, Configuration conf, RunLog runLog) {
    if (Sumstats.isLdscLayout(path, conf)) {
      runLog.say("Reading summary statistics from " + path + " ...");
      return Sumstats.read(path, alleles, dropNa, n, conf);
    }
    runLog.say("Munging " + path + " in memory (not in ldsc's .sumstats layout) ...");
    Munge.Options d = Munge.Options.defaults();
    Munge.Result r = Munge.munge(path, new Munge.Options(n, null, null, d.infoMin(), d.mafMin(), null, null, null, false,
        null), conf);
    r.log().forEach(runLog::say);
    return r.sumstats();
  }

  private static void checkIfGiven(String option, Double value, NumericRange range) {
    if (value != null) {
      range.check(option, value);
    }
  }

  /** A comma list of finite numbers per trait ({@code N} or {@code NA}: none), or all null when absent. */
  static Double[] list(String s, int count, String flag) {
    Double[] out = new Double[count];
    if (s == null) {
      return out;
    }
    String[] parts = s.split(",");
    if (parts.length != count) {
      throw new BadInputException(flag + " needs " + count + " value(s) (one per trait), got " + s);
    }
    for (int i = 0; i < count; i++) {
      String v = parts[i].trim();
      if (v.equalsIgnoreCase("N") || v.equalsIgnoreCase("NA")) {
        continue;
      }
      try {
        out[i] = NumericRange.FINITE.check(flag, Double.parseDouble(v));
      } catch (NumberFormatException e) {
        throw new BadInputException(flag + ": not a number: " + BadInputException.excerpt(v));
      }
    }
    return out;
  }

  private static Double[] filled(int n, double v) {
    Double[] out = new Double[n];
    java.util.Arrays.fill(out, v);
    return out;
  }

  private static double sum(double[] v) {
    double s = 0;
    for (double x : v) {
      s += x;
    }
    return s;
  }

  private static String g(double x) {
    return Double.isNaN(x) ? "NA" : String.format(Locale.ROOT, "%.12g", x);
  }

  private static String[] row(String name, double est, double se) {
    return new String[] {name, g(est), g(se)};
  }

  private static void writeTsv(AtomicOutputs outputs, String path, List<String[]> rows) {
    try (Writer wr = new OutputStreamWriter(outputs.create(path), StandardCharsets.UTF_8)) {
      for (String[] r : rows) {
        wr.write(String.join("\t", r) + "\n");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
