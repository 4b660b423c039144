package org.lmmspark.engine.io;

import java.io.BufferedOutputStream;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * Writes a PLINK 1 binary fileset ({@code PREFIX.bed}, {@code .bim}, {@code .fam}) variant by
 * variant, so that a writer holds one variant of {@code ceil(N/4)} bytes at a time and never the
 * genotype matrix.
 *
 * <p>Format (PLINK 1.9 documentation, "BED file format"): the {@code .bed} starts with the magic
 * bytes {@code 0x6c 0x1b 0x01} (the last one meaning variant-major), then one record of {@code
 * ceil(N/4)} bytes per variant in {@code .bim} order. Sample {@code j} of a record sits in byte
 * {@code j/4} at bits {@code 2(j%4)} and {@code 2(j%4)+1} (low bits first) with the codes {@code
 * 00} = two copies of A1, {@code 01} = missing, {@code 10} = heterozygous, {@code 11} = two copies
 * of A2; padding bits of the last byte are {@code 00}. The {@code .bim} has one tab-separated line
 * {@code chr id cM bp A1 A2} per variant, the {@code .fam} one line {@code FID IID father mother sex
 * pheno} per sample.
 *
 * <p>All three files go through {@link AtomicOutputs}: either the writer owns them and {@link
 * #commit()} moves them into place, or the caller passes its own {@link AtomicOutputs} (to commit
 * the fileset together with other outputs), calls {@link #finish()} and commits itself.
 */
public final class PlinkWriter implements AutoCloseable {
  /** The {@code .bed} magic: two identification bytes, then {@code 0x01} for variant-major. */
  public static final byte[] MAGIC = {0x6c, 0x1b, 0x01};

  /** 2-bit codes by number of A1 copies (index 0, 1, 2); missing is {@link #CODE_MISSING}. */
  private static final int[] CODE_BY_A1_COUNT = {0b11, 0b10, 0b00};

  public static final int CODE_MISSING = 0b01;

  /** One {@code .fam} line; {@code father}/{@code mother} are {@code "0"} when unknown, sex 1 male, 2 female, 0 unknown. */
  public record Sample(String fid, String iid, String father, String mother, int sex, String pheno) {
    public Sample {
      checkToken(fid, "FID");
      checkToken(iid, "IID");
      checkToken(father, "father");
      checkToken(mother, "mother");
      checkToken(pheno, "phenotype");
      if (sex < 0 || sex > 2) {
        throw new IllegalArgumentException("sex must be 0, 1 or 2, got " + sex + " for " + fid + " " + iid);
      }
    }

    public SampleId id() {
      return new SampleId(fid, iid);
    }
  }

  /** One {@code .bim} line: chromosome, variant id, position in centimorgans, base-pair position, alleles. */
  public record Variant(String chr, String id, double cm, long bp, String a1, String a2) {
    public Variant {
      checkToken(chr, "chromosome");
      checkToken(id, "variant id");
      checkToken(a1, "A1");
      checkToken(a2, "A2");
      if (!Double.isFinite(cm)) {
        throw new IllegalArgumentException("cM must be finite for " + id);
      }
    }
  }

  private final AtomicOutputs outputs;
  private final boolean ownsOutputs;
  private final int n;
  private final int bytesPerVariant;
  private final OutputStream bed;
  private final Writer bim;
  private final byte[] packed;
  private long variants;
  private boolean finished;

  /** A writer that owns its outputs: nothing appears under {@code prefix} until {@link #commit()}. */
  public static PlinkWriter create(String prefix, List<Sample> samples, Configuration conf) {
    AtomicOutputs outputs = new AtomicOutputs(conf);
    try {
      return new PlinkWriter(prefix, samples, outputs, true);
    } catch (RuntimeException e) {
      outputs.close();
      throw e;
    }
  }

  /**
   * A writer into the caller's {@code outputs}: call {@link #finish()} when all variants are
   * written, then commit {@code outputs}.
   */
  public PlinkWriter(String prefix, List<Sample> samples, AtomicOutputs outputs) {
    this(prefix, samples, outputs, false);
  }

  private PlinkWriter(String prefix, List<Sample> samples, AtomicOutputs outputs, boolean ownsOutputs) {
    if (samples.isEmpty()) {
      throw new IllegalArgumentException("a PLINK fileset needs at least one sample");
    }
    this.outputs = outputs;
    this.ownsOutputs = ownsOutputs;
    this.n = samples.size();
    this.bytesPerVariant = bytesPerVariant(n);
    this.packed = new byte[bytesPerVariant];
    try (Writer fam = text(outputs.create(prefix + ".fam"))) {
      StringBuilder sb = new StringBuilder();
      for (Sample s : samples) {
        sb.setLength(0);
        sb.append(s.fid()).append('\t').append(s.iid()).append('\t').append(s.father()).append('\t')
            .append(s.mother()).append('\t').append(s.sex()).append('\t').append(s.pheno()).append('\n');
        fam.write(sb.toString());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + prefix + ".fam", e);
    }
    this.bim = text(outputs.create(prefix + ".bim"));
    this.bed = new BufferedOutputStream(outputs.create(prefix + ".bed"), 1 << 20);
    try {
      bed.write(MAGIC);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + prefix + ".bed", e);
    }
  }

  /** Bytes of one variant record: {@code ceil(n/4)}. */
  public static int bytesPerVariant(int n) {
    return (n + 3) / 4;
  }

  /**
   * Packs one variant's calls into {@code out} ({@code ceil(n/4)} bytes): {@code a1Counts[j]} is
   * the number of A1 copies (0, 1, 2) of sample {@code j}, or any negative value for missing.
   */
  public static void encode(byte[] a1Counts, int n, byte[] out) {
    if (a1Counts.length < n || out.length < bytesPerVariant(n)) {
      throw new IllegalArgumentException("encode: need a1Counts.length >= n=" + n + " (got " + a1Counts.length
          + ") and out.length >= ceil(n/4)=" + bytesPerVariant(n) + " (got " + out.length + ")");
    }
    int full = n / 4;
    for (int b = 0; b < full; b++) {
      int j = 4 * b;
      out[b] = (byte) (code(a1Counts[j]) | code(a1Counts[j + 1]) << 2 | code(a1Counts[j + 2]) << 4
          | code(a1Counts[j + 3]) << 6);
    }
    if (full < bytesPerVariant(n)) {
      int v = 0;
      for (int j = 4 * full; j < n; j++) {
        v |= code(a1Counts[j]) << (2 * (j - 4 * full));
      }
      out[full] = (byte) v;
    }
  }

  private static int code(byte a1Count) {
    if (a1Count < 0) {
      return CODE_MISSING;
    }
    if (a1Count > 2) {
      throw new IllegalArgumentException("A1 count must be 0, 1, 2 or negative (missing), got " + a1Count);
    }
    return CODE_BY_A1_COUNT[a1Count];
  }

  /** Writes one variant from A1 counts (0, 1, 2; negative = missing), one per sample in {@code .fam} order. */
  public void write(Variant v, byte[] a1Counts) {
    if (a1Counts.length != n) {
      throw new IllegalArgumentException("variant " + v.id() + ": " + a1Counts.length + " calls for " + n + " samples");
    }
    encode(a1Counts, n, packed);
    writePacked(v, packed);
  }

  /** Writes one variant whose record is already packed ({@code ceil(N/4)} bytes, see {@link #encode}). */
  public void writePacked(Variant v, byte[] record) {
    if (finished) {
      throw new IllegalStateException("writer already finished");
    }
    if (record.length != bytesPerVariant) {
      throw new IllegalArgumentException("variant " + v.id() + ": record of " + record.length
          + " bytes, expected ceil(N/4)=" + bytesPerVariant);
    }
    try {
      bed.write(record);
      bim.write(v.chr() + '\t' + v.id() + '\t' + formatCm(v.cm()) + '\t' + v.bp() + '\t' + v.a1() + '\t' + v.a2() + '\n');
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    variants++;
  }

  public long variantsWritten() {
    return variants;
  }

  /** Flushes and closes the three files; the caller then commits the {@link AtomicOutputs} it passed in. */
  public void finish() {
    if (finished) {
      return;
    }
    try {
      bed.close();
      bim.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    finished = true;
  }

  /** Finishes and moves the files into place; only for a writer made by {@link #create}. */
  public void commit() {
    if (!ownsOutputs) {
      throw new IllegalStateException("this writer writes into the caller's AtomicOutputs: call finish() and commit those");
    }
    finish();
    outputs.commit();
  }

  @Override
  public void close() {
    try {
      bed.close();
      bim.close();
    } catch (IOException ignored) {
      // The temporary files are removed below (or by the caller's AtomicOutputs) either way.
    }
    if (ownsOutputs) {
      outputs.close();
    }
  }

  /**
   * The centimorgan column as a plain decimal rounded to 12 significant digits (exact for
   * {@code bp/1e6} positions), independent of the JDK's {@code Double.toString}, so that the same
   * input gives the same bytes on every JDK.
   */
  static String formatCm(double cm) {
    if (cm == 0) {
      return "0";
    }
    return new BigDecimal(cm).round(new MathContext(12)).stripTrailingZeros().toPlainString();
  }

  private static Writer text(OutputStream os) {
    return new BufferedWriter(new OutputStreamWriter(os, StandardCharsets.UTF_8), 1 << 16);
  }

  private static void checkToken(String s, String what) {
    if (s == null || s.isEmpty()) {
      throw new IllegalArgumentException(what + " must not be empty");
    }
    for (int i = 0; i < s.length(); i++) {
      if (Character.isWhitespace(s.charAt(i))) {
        throw new IllegalArgumentException(what + " must not contain whitespace: '" + s + "'");
      }
    }
  }
}
