package org.lmmspark.jobs.cli;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.linalg.SparseSymmetric;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.pedigree.Pedigree;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lmmspark pedigree-grm}: the pedigree numerator relationship matrix {@code A} (tabular
 * method, inbreeding on the diagonal) in GCTA's GRM format, the inbreeding coefficients, and
 * optionally the sparse {@code A⁻¹} (Henderson's rules with inbreeding). Runs on the driver, no
 * Spark: {@code A} is dense, O(n²) time and {@code 8·n(n+1)/2} bytes while it is built (n = number
 * of individuals, at most {@value NumeratorRelationship#MAX_DENSE}); {@code A⁻¹} and {@code F} are
 * O(n)-ish and would scale much further.
 *
 * <pre>{@code
 * lmmspark pedigree-grm --pedigree ped.txt --out ped_A --inverse
 * }</pre>
 */
@Command(
    name = "pedigree-grm",
    mixinStandardHelpOptions = true,
    description = {
      "Pedigree numerator relationship matrix A (Henderson's tabular method with inbreeding) written as a"
          + " GCTA GRM, with the inbreeding coefficients and optionally the sparse inverse A^-1.",
      "",
      "Pedigree file: whitespace/tab or comma separated. With a header, columns are found by name (id/iid/animal,"
          + " sire/father, dam/mother, optional fid and sex; others ignored). Without a header: 3 columns = ID SIRE DAM,"
          + " 4 or more = FID IID FATHER MOTHER [SEX ...] (a PLINK .fam works). Unknown parents: 0, NA, ., - or empty."
          + " Parents not listed are added as founders; individuals listed after their offspring are moved up."
          + " Cycles, self-parenting, a parent used as both sire and dam and conflicting duplicates are errors.",
      "",
      "Outputs: PREFIX.grm.bin + PREFIX.grm.id (GCTA format, float32 lower triangle; FID = the pedigree's FID"
          + " column, else the ID itself; individuals in pedigree order, parents first), PREFIX.inbreeding.txt"
          + " (FID IID F), and with --inverse PREFIX.Ainv.txt (ASReml .giv style: 'row col value', 1-based row"
          + " numbers of PREFIX.grm.id, lower triangle nonzeros, row by row).",
      "",
      "Cost: A is dense, O(n^2) time and memory on the driver (n <= " + NumeratorRelationship.MAX_DENSE + ")."
    })
public final class PedigreeGrmCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--pedigree", required = true, paramLabel = "FILE", description = "Pedigree file (see above).")
  String pedigree;

  @picocli.CommandLine.Mixin OutputOptions output;

  /** The files of one run. */
  static final java.util.List<String> OUTPUTS = java.util.List.of(".grm.bin", ".grm.id", ".inbreeding.txt", ".Ainv.txt",
      ".log");

  @Option(names = "--inverse", description = "Also write the sparse inverse A^-1 to PREFIX.Ainv.txt.")
  boolean inverse;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    RunLog runLog = new RunLog(spec);
    Configuration conf = new Configuration();
    try (org.lmmspark.engine.io.OutputSet set = output.open(OUTPUTS, conf, pedigree)) {
      java.io.StringWriter text = new java.io.StringWriter();
      run(pedigree, output.out(), inverse, conf, new PrintWriter(text));
      out.print(text);
      out.flush();
      text.toString().lines().forEach(runLog::note);
      runLog.write(output.out() + ".log", conf);
      set.commit();
    }
    return 0;
  }

  /** Reads the pedigree and writes all outputs together (none appear if any fails). */
  public static void run(String pedigreeFile, String prefix, boolean withInverse, Configuration conf,
      PrintWriter log) {
    Pedigree ped = Pedigree.read(pedigreeFile, conf);
    NumeratorRelationship nr = NumeratorRelationship.of(ped);
    double[] f = nr.inbreeding();
    log.printf("pedigree %s: %d individuals (%d parents added as founders%s%s)%n", pedigreeFile, ped.size(),
        ped.foundersAdded(), ped.reordered() ? ", reordered so parents come first" : "",
        ped.duplicatesIgnored() > 0 ? ", " + ped.duplicatesIgnored() + " identical duplicate lines ignored" : "");
    double sum = 0;
    double max = 0;
    int inbred = 0;
    for (double v : f) {
      sum += v;
      max = Math.max(max, v);
      inbred += v > 0 ? 1 : 0;
    }
    log.printf("inbreeding: %d inbred individuals, mean F %.6g, max F %.6g%n", inbred, sum / f.length, max);

    Grm a = nr.grm();
    try (AtomicOutputs outputs = new AtomicOutputs(conf)) {
      try (Writer w = new OutputStreamWriter(outputs.create(prefix + ".inbreeding.txt"), StandardCharsets.UTF_8)) {
        StringBuilder sb = new StringBuilder("FID\tIID\tF\n");
        for (int i = 0; i < ped.size(); i++) {
          SampleId id = ped.id(i);
          sb.append(id.fid()).append('\t').append(id.iid()).append('\t').append(f[i]).append('\n');
        }
        w.write(sb.toString());
      }
      if (withInverse) {
        SparseSymmetric ainv = nr.inverse();
        try (Writer w = new java.io.BufferedWriter(
            new OutputStreamWriter(outputs.create(prefix + ".Ainv.txt"), StandardCharsets.UTF_8), 1 << 16)) {
          StringBuilder sb = new StringBuilder();
          ainv.forEachLower((i, j, v) -> {
            if (v != 0) {
              sb.append(i + 1).append(' ').append(j + 1).append(' ').append(v).append('\n');
            }
          });
          w.write(sb.toString());
        }
        log.printf("A^-1: %d stored lower-triangle entries, log|A| = %.6f%n", ainv.storedEntries(),
            nr.logDeterminant());
      }
      // The GRM files commit as their own set; the text files follow only once they are in place.
      GctaGrmFiles.write(prefix, a, conf);
      outputs.commit();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    log.printf("wrote %s, %s, %s.inbreeding.txt%s%n", GctaGrmFiles.binPath(prefix), GctaGrmFiles.idPath(prefix),
        prefix, withInverse ? ", " + prefix + ".Ainv.txt" : "");
  }
}
