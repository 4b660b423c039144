package org.lmmspark.jobs.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.OutputSet;
import org.lmmspark.engine.ldsc.Munge;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lmmspark munge-sumstats}: summary statistics into ldsc's {@code .sumstats} layout, as munge_sumstats.py. */
@Command(name = "munge-sumstats", mixinStandardHelpOptions = true,
    description = {
      "Summary statistics (GWAS-SSF as lmmspark assoc writes it, or the column names ldsc's munge_sumstats.py"
          + " knows) into ldsc's .sumstats layout SNP A1 A2 Z N, with munge_sumstats.py's filters: rows with"
          + " missing values, INFO < --info-min, MAF <= --maf-min, P outside (0,1], alleles that are not"
          + " strand-unambiguous SNPs, duplicate SNP IDs, N < 90th percentile / 1.5. An INFO column that is NA in"
          + " every row (lmmspark assoc on hard calls) is not filtered on, where munge_sumstats.py drops every row.",
      "Z = sqrt(chi2 quantile of P) with the sign of the signed statistic (BETA, Z, OR, LOG_ODDS).",
      "Writes OUT.sumstats.gz (BGZF, which any gzip reader reads) and OUT.log."})
public final class MungeCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--sumstats", required = true, paramLabel = "FILE", description = "Input summary statistics (.gz is decompressed).")
  String sumstats;

  @Mixin OutputOptions output;

  /** The files of one run: existing ones are refused without --overwrite. */
  static final List<String> OUTPUTS = List.of(".sumstats.gz", ".log");

  @Option(names = "--N", paramLabel = "N", description = "Sample size, when the file has no N column (it then overrides the column).")
  Double n;

  @Option(names = "--N-cas", paramLabel = "N", description = "Number of cases, when the file has no N column.")
  Double nCas;

  @Option(names = "--N-con", paramLabel = "N", description = "Number of controls, when the file has no N column.")
  Double nCon;

  @Option(names = "--info-min", defaultValue = "0.9", paramLabel = "X", description = "Minimum INFO score (default ${DEFAULT-VALUE}).")
  double infoMin;

  @Option(names = "--maf-min", defaultValue = "0.01", paramLabel = "X", description = "Keep MAF > X (default ${DEFAULT-VALUE}).")
  double mafMin;

  @Option(names = "--n-min", paramLabel = "N", description = "Minimum N (default: 90th percentile of N / 1.5).")
  Double nMin;

  @Option(names = "--signed-sumstats", paramLabel = "COLUMN,NULL", description = "The signed statistic and its null value, e.g. BETA,0 or OR,1 (default: the one signed column found).")
  String signedSumstats;

  @Option(names = "--a1-inc", description = "A1 is always the trait-increasing allele (no signed statistic).")
  boolean a1Inc;

  @Option(names = "--merge-alleles", paramLabel = "FILE", description = "Keep only these SNPs (columns SNP A1 A2) whose alleles match, e.g. HapMap 3 w_hm3.snplist.")
  String mergeAlleles;

  @Override
  public Integer call() {
    String signedCol = null;
    Double signedNull = null;
    if (signedSumstats != null) {
      String[] parts = signedSumstats.split(",");
      if (parts.length != 2) {
        throw new BadInputException("--signed-sumstats takes COLUMN,NULL, e.g. BETA,0; got " + signedSumstats);
      }
      signedCol = parts[0];
      try {
        signedNull = Double.parseDouble(parts[1]);
      } catch (NumberFormatException e) {
        throw new BadInputException("--signed-sumstats: null value is not a number: " + parts[1]);
      }
    }
    NumericRange.FINITE.check("--info-min", infoMin);
    NumericRange.MAF.check("--maf-min", mafMin);
    for (Object[] o : new Object[][] {{"--N", n}, {"--N-cas", nCas}, {"--N-con", nCon}, {"--n-min", nMin}}) {
      if (o[1] != null) {
        NumericRange.POSITIVE.check((String) o[0], (Double) o[1]);
      }
    }
    if (signedNull != null) {
      NumericRange.FINITE.check("--signed-sumstats", signedNull);
    }
    RunLog runLog = new RunLog(spec);
    Configuration conf = new Configuration();
    String out = output.out();
    try (OutputSet set = output.open(OUTPUTS, conf, sumstats, mergeAlleles)) {
      Munge.Result r = Munge.munge(sumstats, new Munge.Options(n, nCas, nCon, infoMin, mafMin, nMin, signedCol,
          signedNull, a1Inc, mergeAlleles), conf);
      r.log().forEach(runLog::say);
      try (AtomicOutputs outputs = new AtomicOutputs(conf)) {
        String path = Munge.write(r.sumstats(), out, outputs);
        outputs.commit();
        runLog.say("Wrote " + r.sumstats().rows() + " SNPs to " + path);
      }
      runLog.write(out + ".log", conf);
      set.commit();
    }
    return 0;
  }
}
