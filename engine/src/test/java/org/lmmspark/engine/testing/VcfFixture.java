package org.lmmspark.engine.testing;

import htsjdk.samtools.util.BlockCompressedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.io.BedReader;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.io.Variant;

/** VCF files made in tests: text written here, bgzipped by htsjdk's BGZF writer. */
public final class VcfFixture {
  private VcfFixture() {}

  /** Writes {@code text} to {@code file} in BGZF (what {@code bgzip} writes). */
  public static void bgzip(Path file, String text) {
    try (OutputStream out = new BlockCompressedOutputStream(file.toFile())) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The hard calls of a {@code .bed} fileset as a GT-only VCF: one record per variant, REF {@code A}
   * standing for the {@code .bim} A2 and ALT {@code C} for A1 (PLINK's {@code --export vcf}
   * orientation; the {@code .bim} alleles of test data, e.g. 1/2, are not VCF bases), so the ALT count
   * is the A1 count; sample names are the IIDs; a missing call is {@code ./.}.
   */
  public static void writeCalls(PlinkFileset bed, Path file) {
    int n = bed.sampleCount();
    StringBuilder vcf = new StringBuilder("##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,"
        + "Description=\"Genotype\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT");
    for (SampleId s : bed.samples()) {
      vcf.append('\t').append(s.iid());
    }
    vcf.append('\n');
    String[] call = {"1/1", "./.", "0/1", "0/0"}; // .bed codes 00 (two A1), 01 (missing), 10, 11 (no A1)
    BedReader.scan(bed.prefix(), n, 0, bed.variantCount(), null, new Configuration(), (raw, offset, v) -> {
      Variant x = bed.variants().get(v);
      vcf.append(x.chromosome()).append('\t').append(x.bp()).append('\t').append(x.id()).append("\tA\tC\t.\t.\t.\tGT");
      for (int i = 0; i < n; i++) {
        vcf.append('\t').append(call[(raw[offset + i / 4] >>> (2 * (i % 4))) & 3]);
      }
      vcf.append('\n');
    });
    bgzip(file, vcf.toString());
  }
}
