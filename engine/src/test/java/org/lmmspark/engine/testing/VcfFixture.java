package org.lmmspark.engine.testing;

import htsjdk.samtools.util.BlockCompressedOutputStream;
import htsjdk.tribble.index.IndexFactory;
import htsjdk.tribble.index.tabix.TabixFormat;
import htsjdk.tribble.index.tabix.TabixIndex;
import htsjdk.variant.vcf.VCFCodec;
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
   * Writes {@code text} in BGZF with one block per line (htsjdk's writer flushed after each): a small
   * file then has as many blocks, and its index as many distinct record starts, as records.
   */
  public static void bgzipPerLine(Path file, String text) {
    try (BlockCompressedOutputStream out = new BlockCompressedOutputStream(file.toFile())) {
      for (String line : text.split("(?<=\n)")) {
        out.write(line.getBytes(StandardCharsets.UTF_8));
        if (!line.startsWith("#")) {
          out.flush();
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Copies the test resource {@code /bcf/NAME} (bcftools-made fixtures, README there) and its
   * {@code NAME.csi} when there is one into {@code dir}; through the class loader, so that it works from
   * the engine's test jar too.
   */
  public static Path bcfResource(String name, Path dir) {
    for (String file : new String[] {name, name + ".csi"}) {
      try (java.io.InputStream in = VcfFixture.class.getResourceAsStream("/bcf/" + file)) {
        if (in != null) {
          java.nio.file.Files.copy(in, dir.resolve(file), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } else if (file.equals(name)) {
          throw new IllegalStateException("no test resource /bcf/" + name);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return dir.resolve(name);
  }

  /** Writes {@code vcfGz + ".tbi"}, the tabix index htsjdk's indexer makes (what {@code tabix -p vcf} writes). */
  public static void tabix(Path vcfGz) {
    try {
      TabixIndex index = IndexFactory.createTabixIndex(vcfGz.toFile(), new VCFCodec(), TabixFormat.VCF, null);
      index.write(Path.of(vcfGz + ".tbi"));
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
    bgzip(file, calls(bed, 1));
  }

  /** The text of {@link #writeCalls}, each position multiplied by {@code bpScale} (to spread sites over index windows). */
  public static String calls(PlinkFileset bed, long bpScale) {
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
      vcf.append(x.chromosome()).append('\t').append(x.bp() * bpScale).append('\t').append(x.id())
          .append("\tA\tC\t.\t.\t.\tGT");
      for (int i = 0; i < n; i++) {
        vcf.append('\t').append(call[(raw[offset + i / 4] >>> (2 * (i % 4))) & 3]);
      }
      vcf.append('\n');
    });
    return vcf.toString();
  }
}
