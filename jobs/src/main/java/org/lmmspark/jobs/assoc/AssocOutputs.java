package org.lmmspark.jobs.assoc;

import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;
import org.apache.spark.api.java.JavaSparkContext;
import org.lmmspark.engine.TaskFailures;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.BgzfText;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.io.NumberText;
import org.lmmspark.engine.io.Variant;
import org.lmmspark.engine.stats.ChiSquared;

/**
 * Writes an association run's outputs, all or nothing: {@code PREFIX.assoc.tsv.gz} (GWAS-SSF column
 * layout; BGZF, so {@code tabix -s1 -b2 -e2 -S1} indexes it: {@link BgzfText}), {@code PREFIX.assoc.parquet} (the same
 * table, written by parquet-hadoop on the driver), {@code PREFIX.report.md},
 * {@code PREFIX.manhattan.png} and {@code PREFIX.qq.png}. Files go through {@link AtomicOutputs}; the
 * Parquet folder is written under a temporary name and renamed once everything else is complete.
 *
 * <p>Columns: {@code chromosome base_pair_location effect_allele other_allele beta standard_error
 * effect_allele_frequency p_value variant_id n chi2 neg_log10_p info}. The effect allele is the {@code .bim}
 * A1 (the counted allele), {@code n} the analysed samples called at the variant (missing calls are
 * mean-imputed), {@code chi2} is {@code β̂²/SE²} (χ²₁ for the fixed-null test, GEMMA's Wald F for
 * {@code --exact}). {@code p_value} is printed from its logarithm: below 1e-300 as e.g.
 * {@code 3.14159e-420}, never 0; in Parquet it is that same text (a double cannot hold it), and
 * {@code neg_log10_p} is the numeric column to filter on.
 */
public final class AssocOutputs {
  public static final String[] COLUMNS = {"chromosome", "base_pair_location", "effect_allele", "other_allele", "beta",
      "standard_error", "effect_allele_frequency", "p_value", "variant_id", "n", "chi2", "neg_log10_p", "info"};
  static final int TOP_HITS = 20;

  private AssocOutputs() {}

  public static String tsvPath(String out) {
    return out + ".assoc.tsv.gz";
  }

  public static String parquetPath(String out) {
    return out + ".assoc.parquet";
  }

  public static String reportPath(String out) {
    return out + ".report.md";
  }

  public static String manhattanPath(String out) {
    return out + ".manhattan.png";
  }

  public static String qqPath(String out) {
    return out + ".qq.png";
  }

  /** The whole-genome REML of a matrix-free run, in GCTA's {@code .hsq} layout. */
  public static String hsqPath(String out) {
    return out + ".hsq";
  }

  /**
   * Writes the outputs, each under a temporary name renamed when all are complete.
   *
   * @param hsq the whole-genome REML in GCTA's layout ({@link org.lmmspark.engine.reml.HsqFile}), written
   *            as {@link #hsqPath}: the matrix-free route; null on the spectral route, whose null fits (one
   *            per chromosome with LOCO) are in the report
   */
  static List<String> write(JavaSparkContext jsc, AssocJob.Options o, AssocJob.Result r, String hsq) {
    String title = r.trait() + (o.loco() ? ", LOCO" : "") + (o.statistic() != org.lmmspark.engine.assoc.LmmTest.MLMA ? ", " + o.statistic().option() + " test" : "");
    return write(jsc.hadoopConfiguration(), o.out(), r.table(), title, r.lambdaGc(), report(o, r), hsq);
  }

  /**
   * Writes the table (TSV and Parquet, with its extra columns), the plots titled {@code title}, the
   * report text and the optional {@code .hsq}, all or nothing. The one writer of the quantitative and
   * binary-trait scans.
   *
   * <p>The three large outputs are independent and each single-threaded (number formatting and BGZF; the
   * Parquet row writer and Snappy; Java2D drawing 100,000s of points), and no Spark job runs meanwhile: the
   * TSV and the Parquet file are each written on a thread of their own while the plots, report and
   * {@code .hsq} are written here, so the stage takes about its longest part rather than their sum. The
   * temporary names are all taken here first ({@link AtomicOutputs} is not shared across threads).
   */
  static List<String> write(Configuration conf, String out, AssocTable t, String title, double lambdaGc, String report,
      String hsq) {
    String parquet = parquetPath(out);
    try (AtomicOutputs files = new AtomicOutputs(conf)) {
      OutputStream tsv = files.create(tsvPath(out));
      Path parquetTemp = new Path(files.reserve(parquet));
      List<FutureTask<Void>> writers = List.of(
          new FutureTask<>(() -> {
            try (Writer w = BgzfText.writer(tsv)) {
              writeTsv(t, w);
            }
            return null;
          }),
          new FutureTask<>(() -> {
            writeParquet(t, parquetTemp, conf);
            return null;
          }));
      for (int i = 0; i < writers.size(); i++) {
        Thread thread = new Thread(writers.get(i), "assoc-output-" + i);
        thread.setDaemon(true);
        thread.start();
      }
      try {
        try (OutputStream png = files.create(manhattanPath(out))) {
          AssocPlots.manhattan(t, "Manhattan: " + title, png);
        }
        try (OutputStream png = files.create(qqPath(out))) {
          AssocPlots.qq(t, "QQ: " + title, lambdaGc, png);
        }
        try (Writer w = new OutputStreamWriter(files.create(reportPath(out)), StandardCharsets.UTF_8)) {
          w.write(report);
        }
        if (hsq != null) {
          try (Writer w = new OutputStreamWriter(files.create(hsqPath(out)), StandardCharsets.UTF_8)) {
            w.write(hsq);
          }
        }
      } finally {
        // Never leave a writer running on a temporary file that closing the set deletes.
        awaitAll(writers);
      }
      files.commit();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> written = new ArrayList<>(
        List.of(tsvPath(out), parquet, reportPath(out), manhattanPath(out), qqPath(out)));
    if (hsq != null) {
      written.add(hsqPath(out));
    }
    return written;
  }

  /** Waits for every writer; rethrows the first failure (an I/O error as itself). */
  private static void awaitAll(List<FutureTask<Void>> writers) throws IOException {
    Throwable first = null;
    for (FutureTask<Void> w : writers) {
      try {
        w.get();
      } catch (ExecutionException e) {
        first = first == null ? e.getCause() : first;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        first = first == null ? e : first;
      }
    }
    if (first instanceof IOException io) {
      throw io;
    }
    if (first != null) {
      throw TaskFailures.rethrow(first);
    }
  }

  static void writeTsv(AssocTable t, Writer w) throws IOException {
    w.write(String.join("\t", COLUMNS));
    for (AssocTable.ExtraColumn c : t.extras()) {
      w.write('\t');
      w.write(c.name());
    }
    w.write('\n');
    StringBuilder sb = new StringBuilder(256);
    for (int r = 0; r < t.size(); r++) {
      sb.setLength(0);
      String[] f = fields(t, r);
      for (int c = 0; c < f.length; c++) {
        if (c > 0) {
          sb.append('\t');
        }
        sb.append(f[c]);
      }
      sb.append('\n');
      w.write(sb.toString());
    }
  }

  static String[] fields(AssocTable t, int r) {
    Variant v = t.variant(r);
    String[] common = {v.chromosome(), Long.toString(v.bp()), v.a1(), v.a2(), num(t.beta(r)), num(t.se(r)),
        num(t.a1Frequency(r)), ChiSquared.formatLogP(t.logP(r)), v.id(), Integer.toString(t.n(r)), num(t.statistic(r)),
        Double.isNaN(t.logP(r)) ? "NA" : NumberText.fixed(t.negLog10P(r), 4), num(t.info(r))};
    if (t.extras().isEmpty()) {
      return common;
    }
    String[] all = java.util.Arrays.copyOf(common, common.length + t.extras().size());
    for (int c = 0; c < t.extras().size(); c++) {
      all[common.length + c] = t.extraText(r, c);
    }
    return all;
  }

  static String num(double x) {
    return Double.isNaN(x) ? "NA" : NumberText.general6(x);
  }

  /**
   * {@code PREFIX.assoc.parquet}: a folder with one Parquet file, {@code part-00000.snappy.parquet}, the
   * rows in the table's (position) order, the columns of {@link #COLUMNS} (NaN as null). Written on the
   * driver by parquet-hadoop's row writer, streaming: the table is already here and sorted, while a Spark
   * job would serialize all of it into one task (warned above 1 MiB, refused above
   * {@code spark.rpc.message.maxSize}, 128 MiB by default: a few million variants).
   */
  static void writeParquet(AssocTable t, Path folder, Configuration conf) throws IOException {
    Types.MessageTypeBuilder builder = Types.buildMessage();
    builder
        .required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named("chromosome")
        .required(PrimitiveTypeName.INT64).named("base_pair_location")
        .required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named("effect_allele")
        .required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named("other_allele")
        .optional(PrimitiveTypeName.DOUBLE).named("beta")
        .optional(PrimitiveTypeName.DOUBLE).named("standard_error")
        .required(PrimitiveTypeName.DOUBLE).named("effect_allele_frequency")
        .optional(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named("p_value")
        .required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named("variant_id")
        .required(PrimitiveTypeName.INT32).named("n")
        .optional(PrimitiveTypeName.DOUBLE).named("chi2")
        .optional(PrimitiveTypeName.DOUBLE).named("neg_log10_p")
        .optional(PrimitiveTypeName.DOUBLE).named("info");
    for (AssocTable.ExtraColumn c : t.extras()) {
      if (c.text() != null) {
        builder.optional(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named(c.name());
      } else {
        builder.optional(PrimitiveTypeName.DOUBLE).named(c.name());
      }
    }
    MessageType schema = builder.named("assoc");
    OutputFile file = HadoopOutputFile.fromPath(new Path(folder, "part-00000.snappy.parquet"), conf);
    // Dictionary encoding only where values repeat (chromosome, alleles): in the columns of per-variant numbers and
    // ids nearly every value is new, and the writer spent half its time filling dictionaries it then dropped.
    try (ParquetWriter<Integer> w = new TableRows(file, schema, t).withConf(conf)
        .withCompressionCodec(CompressionCodecName.SNAPPY).withDictionaryEncoding(false)
        .withDictionaryEncoding("chromosome", true).withDictionaryEncoding("effect_allele", true)
        .withDictionaryEncoding("other_allele", true).build()) {
      for (int r = 0; r < t.size(); r++) {
        w.write(r);
      }
    }
  }

  /** Parquet's writer of the table's rows, given by their index. */
  private static final class TableRows extends ParquetWriter.Builder<Integer, TableRows> {
    private final MessageType schema;
    private final AssocTable t;

    TableRows(OutputFile file, MessageType schema, AssocTable t) {
      super(file);
      this.schema = schema;
      this.t = t;
    }

    @Override
    protected TableRows self() {
      return this;
    }

    @Override
    protected WriteSupport<Integer> getWriteSupport(Configuration conf) {
      return new RowWriter(schema, t);
    }
  }

  /**
   * Writes row r of the table straight into Parquet's record consumer, in the schema's column order, a null (NaN, or
   * the text "NA") as an absent field: no row object per variant (the example {@code Group} API made one, with a list
   * per field, and took 1.2 CPU-s a million rows).
   */
  private static final class RowWriter extends WriteSupport<Integer> {
    private final MessageType schema;
    private final AssocTable t;
    private RecordConsumer out;
    private int field;

    RowWriter(MessageType schema, AssocTable t) {
      this.schema = schema;
      this.t = t;
    }

    @Override
    public WriteContext init(Configuration configuration) {
      return new WriteContext(schema, java.util.Map.of());
    }

    @Override
    public void prepareForWrite(RecordConsumer recordConsumer) {
      this.out = recordConsumer;
    }

    @Override
    public void write(Integer row) {
      int r = row;
      Variant v = t.variant(r);
      out.startMessage();
      field = 0;
      text(v.chromosome());
      start();
      out.addLong(v.bp());
      end();
      text(v.a1());
      text(v.a2());
      number(t.beta(r));
      number(t.se(r));
      start();
      out.addDouble(t.a1Frequency(r));
      end();
      text(Double.isNaN(t.logP(r)) ? null : ChiSquared.formatLogP(t.logP(r)));
      text(v.id());
      start();
      out.addInteger(t.n(r));
      end();
      number(t.statistic(r));
      number(t.negLog10P(r));
      number(t.info(r));
      for (int c = 0; c < t.extras().size(); c++) {
        if (t.extras().get(c).text() != null) {
          String x = t.extraText(r, c);
          text("NA".equals(x) ? null : x);
        } else {
          number(t.extraNumber(r, c));
        }
      }
      out.endMessage();
    }

    private void start() {
      out.startField(schema.getFieldName(field), field);
    }

    /** Ends the field being written and moves to the next. */
    private void end() {
      out.endField(schema.getFieldName(field), field);
      field++;
    }

    private void text(String x) {
      if (x == null) {
        field++;
        return;
      }
      start();
      out.addBinary(Binary.fromString(x));
      end();
    }

    private void number(double x) {
      if (Double.isNaN(x)) {
        field++;
        return;
      }
      start();
      out.addDouble(x);
      end();
    }
  }

  static String report(AssocJob.Options o, AssocJob.Result r) {
    StringBuilder sb = new StringBuilder();
    AssocTable t = r.table();
    sb.append("# lmmspark assoc: ").append(r.trait()).append("\n\n");
    sb.append("Test: ").append(o.statistic() != org.lmmspark.engine.assoc.LmmTest.MLMA
        ? "--test " + o.statistic().option() + ": " + o.statistic().description() + "."
        : r.solver() == AssocJob.Solver.MATRIX_FREE
        ? "calibrated MLMA, O(N) per variant, GRM-free (BOLT-LMM-inf / GRAMMAR-γ): β = xᵀr/(γ·x̃ᵀx̃), SE = 1/√(γ·x̃ᵀx̃), χ²₁,"
            + " where r = P_{−c}y from batched conjugate gradients with K = ZZᵀ/M applied from the cached genotypes, x̃ is x"
            + " with the covariates projected out by least squares, and γ is the mean of xᵀPx/x̃ᵀx̃ over a seeded sample of"
            + " variants solved exactly in the same batch (table below; the CV is the typical relative error of a variant's"
            + " χ²). No eigenvectors are treated exactly (no eigendecomposition without a GRM)."
        : r.calibrated()
        ? "calibrated MLMA, O(N) per variant (BOLT-LMM-inf / GRAMMAR-γ / fastGWA): β = xᵀPy/(γ·xᵀP̃x), SE = 1/√(γ·xᵀP̃x), χ²₁,"
            + " where P̃ treats the leading eigenvectors of K exactly and the rest of the space as a constant, and γ is the mean"
            + " of xᵀPx/xᵀP̃x over a seeded sample of variants computed exactly (table below; the CV is the typical relative"
            + " error of a variant's χ²). Chosen by --test " + o.test().name().toLowerCase() + " (auto: calibrated from N ≥ "
            + AssocJob.AUTO_CALIBRATED_SAMPLES + ")."
        : "MLMA with variance components fixed at the null (GCTA --mlma / EMMAX / P3D): β = xᵀPy/xᵀPx, SE = 1/√(xᵀPx), χ²₁,"
            + " exact (spectral rotation of every variant; --test " + o.test().name().toLowerCase() + ").")
        .append("\n");
    sb.append("Effect allele: the .bim A1 allele (x = copies of A1), for BGEN the first allele (x = its dosage; VCF: ALT);"
        + " missing genotypes mean-imputed (x = 2p); info: the IMPUTE2 INFO score of dosage inputs (NA for hard calls).\n");
    sb.append(!o.loco() ? "One null model for all chromosomes (no LOCO).\n"
        : r.solver() == AssocJob.Solver.MATRIX_FREE
        ? "LOCO: each chromosome tested against K without that chromosome, variance components kept from the whole-genome"
            + " REML (as BOLT-LMM; re-estimating them would cost a matrix-free REML per chromosome).\n"
        : "LOCO: each chromosome tested against K without that chromosome, variance components re-estimated per chromosome.\n");
    sb.append("\n## Inputs\n\n");
    sb.append("- genotypes: `").append(o.genotypes()).append("`\n");
    sb.append("- phenotype: `").append(o.trait().pheno() != null ? o.trait().pheno() : o.genotypes().fam())
        .append("` column `").append(r.trait()).append("`\n");
    sb.append("- fixed effects: ").append(String.join(", ", r.fixedEffects())).append("\n");
    if (r.solver() == AssocJob.Solver.MATRIX_FREE) {
      sb.append("- GRM: none (matrix-free: K = ZZᵀ/M applied from the cached genotypes, never formed)\n");
    } else {
      sb.append("- GRM: `").append(o.grm() == null ? o.out() + " (computed)" : o.grm()).append("`\n");
    }
    sb.append("- samples analysed: ").append(r.samples()).append("\n");
    sb.append("- variants: ").append(r.counts()).append(o.maf() > 0 ? ", MAF ≥ " + o.maf() : "").append("\n");
    for (String note : r.notes()) {
      sb.append("- ").append(note).append("\n");
    }
    sb.append("\n## Null model(s)\n\n| scope | n | σ²_g | σ²_e | h² (SE from the average information, as GCTA) | REML logL | variants tested |\n|---|---|---|---|---|---|---|\n");
    for (AssocJob.NullFit f : r.nullFits()) {
      sb.append(String.format(Locale.ROOT, "| %s | %d | %.5g | %.5g | %.4f (%.4f)%s | %.3f | %d |%n", f.scope(), f.samples(),
          f.sigmaG(), f.sigmaE(), f.h2(), f.h2Se(), f.boundary() ? " boundary" : "", f.logL(), f.variantsTested()));
    }
    if (r.calibrated()) {
      sb.append("\n## Calibration factor γ\n\n| scope | γ | SD | CV | range | variants sampled | eigenvectors exact |\n|---|---|---|---|---|---|---|\n");
      for (AssocJob.NullFit f : r.nullFits()) {
        if (f.gamma() != null) {
          sb.append(String.format(Locale.ROOT, "| %s | %.6g | %.3g | %.4f | %.4g–%.4g | %d | %d |%n", f.scope(),
              f.gamma().mean(), f.gamma().sd(), f.gamma().cv(), f.gamma().min(), f.gamma().max(), f.gamma().variants(),
              f.eigenvectors()));
        }
      }
      String spread = org.lmmspark.engine.assoc.Calibration.spread(AssocJob.gammas(r.nullFits()));
      if (spread != null) {
        sb.append("\n").append(spread).append("\n");
      }
    }
    sb.append(String.format(Locale.ROOT, "%n## Calibration%n%nλGC = %.4f (%s over %,d tested variants)%n", r.lambdaGc(),
        t.exact() ? "χ²₁ quantile of the median p-value / 0.4549" : "median χ² / 0.4549", t.size()));
    int gw = 0;
    for (int row = 0; row < t.size(); row++) {
      if (t.negLog10P(row) >= AssocPlots.GENOME_WIDE) {
        gw++;
      }
    }
    sb.append(String.format(Locale.ROOT, "%nVariants with p < 5e-8: %d%n", gw));
    sb.append("\n## Top hits\n\n| chromosome | position | variant | A1 | A2 | A1 freq | beta | SE | p |\n|---|---|---|---|---|---|---|---|---|\n");
    for (int row : t.top(TOP_HITS)) {
      Variant v = t.variant(row);
      sb.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %.4f | %.4g | %.4g | %s |%n", v.chromosome(), v.bp(),
          v.id(), v.a1(), v.a2(), t.a1Frequency(row), t.beta(row), t.se(row), ChiSquared.formatLogP(t.logP(row))));
    }
    sb.append(String.format(Locale.ROOT, "%n## Plots%n%n![Manhattan](%s)%n%n![QQ](%s)%n", fileName(manhattanPath(o.out())),
        fileName(qqPath(o.out()))));
    sb.append(String.format(Locale.ROOT, "%n## Run%n%n%d Spark task(s); GRM %.1f s, null model(s) %.1f s, scan %.1f s.%n",
        r.tasks(), r.grmSeconds(), r.nullSeconds(), r.scanSeconds()));
    for (String stage : r.stages()) {
      sb.append("- ").append(stage).append("\n");
    }
    return sb.toString();
  }

  private static String fileName(String path) {
    int slash = path.lastIndexOf('/');
    return slash < 0 ? path : path.substring(slash + 1);
  }
}
