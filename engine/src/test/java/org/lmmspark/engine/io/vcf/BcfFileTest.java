package org.lmmspark.engine.io.vcf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import htsjdk.samtools.util.BlockCompressedOutputStream;
import htsjdk.variant.variantcontext.VariantContext;
import htsjdk.variant.variantcontext.writer.Options;
import htsjdk.variant.variantcontext.writer.VariantContextWriter;
import htsjdk.variant.variantcontext.writer.VariantContextWriterBuilder;
import htsjdk.variant.vcf.VCFFileReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.genotype.GenotypeVisitor;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.io.Variant;
import org.lmmspark.engine.testing.VcfFixture;

/**
 * BCF files written by bcftools 1.16 ({@code src/test/resources/bcf}, README there: GT with missing,
 * phased, partly missing and haploid calls, DS, GP diploid and haploid, INFO and FILTER values, three
 * contigs) read through {@link VcfFile} give exactly the sites and dosages of the VCF they were made
 * from, read through the VCF route (htsjdk's text codec): the reference is the VCF text itself, parsed by
 * htsjdk, independent of the BCF decoder.
 */
class BcfFileTest {
  private static final Configuration CONF = new Configuration();

  /** The raw dosages of every variant (copies, NaN missing), and per variant whether probabilities are known. */
  private static double[][] dosages(GenotypeSource s, boolean[] probabilities) {
    int m = s.variantCount();
    double[][] out = new double[2 * m][];
    s.reader().scan(0, m, s.position(0), null, CONF, new GenotypeVisitor() {
      @Override
      public void hardCalls(byte[] raw, int offset, int v) {
        throw new AssertionError("dosages expected");
      }

      @Override
      public void dosages(VariantDosages d, int v) {
        out[v] = d.dosage.clone();
        out[m + v] = d.variance.clone();
        probabilities[v] = d.probabilitiesKnown;
      }
    });
    return out;
  }

  /** The source VCF text bgzipped (the VCF route's input). */
  private static Path vcf(Path dir, String name) throws IOException {
    Path out = dir.resolve(name + ".vcf.gz");
    VcfFixture.bgzip(out, Files.readString(VcfFixture.bcfResource(name + ".vcf", dir)));
    return out;
  }

  private static void assertSameSource(VcfFile expected, VcfFile actual) {
    assertEquals(expected.samples(), actual.samples());
    assertEquals(expected.variants(), actual.variants());
    boolean[] pe = new boolean[expected.variantCount()];
    boolean[] pa = new boolean[expected.variantCount()];
    double[][] e = dosages(expected, pe);
    double[][] a = dosages(actual, pa);
    for (int v = 0; v < e.length; v++) {
      // Exact: the BCF's floats are read back as the decimals the VCF wrote (assertArrayEquals: NaN == NaN).
      assertArrayEquals(e[v], a[v], 0.0, (v < pe.length ? "dosages" : "variances") + " of variant " + v % pe.length);
    }
    assertArrayEquals(pe, pa);
  }

  @Test
  void bcfGivesTheSitesAndDosagesOfItsVcf(@TempDir Path dir) throws IOException {
    VcfFile text = VcfFile.open(vcf(dir, "mixed").toString(), CONF);
    VcfFile bcf = VcfFile.open(VcfFixture.bcfResource("mixed.bcf", dir).toString(), CONF);
    assertEquals("BCF 2.2", bcf.plan().format());
    assertTrue(bcf.describe().startsWith("BCF 2.2 "), bcf.describe());
    assertEquals(42, bcf.variantCount());
    assertEquals(List.of("1", "2", "X"), bcf.variants().stream().map(Variant::chromosome).distinct().toList());
    assertEquals("1:80615:A:G", bcf.variants().get(3).id(), "a record without ID is named chr:pos:REF:ALT");
    assertSameSource(text, bcf);
    // Without its .csi a BCF is listed in one chunk, and the plan says which command indexes it.
    Path bare = Files.copy(VcfFixture.bcfResource("mixed.bcf", dir), dir.resolve("bare.bcf"));
    VcfFile.Plan unindexed = VcfFile.plan(bare.toString(), CONF, 4);
    assertEquals(1, unindexed.chunks().size());
    assertTrue(unindexed.describe().contains("index it (bcftools index)"), unindexed.describe());
    // Which field gave the dosages: DS (no probabilities) on the GT:DS and DS records, GP or GT otherwise.
    boolean[] p = new boolean[bcf.variantCount()];
    dosages(bcf, p);
    for (int v = 0; v < p.length; v++) {
      assertEquals(v % 14 % 5 != 1 && v % 14 % 5 != 3, p[v], "probabilities known, variant " + v);
    }
  }

  /**
   * The BCF with one BGZF block per record and its CSI by {@code bcftools index}: planned into several
   * chunks from the index's record starts, the chunks join into the one-pass listing, and dosages read from
   * any record's virtual offset equal the VCF's.
   */
  @Test
  void csiChunksJoinIntoTheOnePassListing(@TempDir Path dir) throws IOException {
    String path = VcfFixture.bcfResource("mixed-blocks.bcf", dir).toString();
    VcfFile.Plan plan = VcfFile.plan(path, CONF, 6);
    assertEquals(path + ".csi", plan.index());
    assertTrue(plan.chunks().size() >= 3, plan.chunks().toString());
    VcfFile onePass = VcfFile.open(path, CONF);
    List<VcfFile.Sites> listed = new ArrayList<>();
    for (VcfFile.Chunk c : plan.chunks()) {
      listed.add(VcfFile.list(path, c, CONF));
    }
    VcfFile chunked = VcfFile.assemble(plan, listed, CONF);
    assertEquals(onePass.variants(), chunked.variants());
    for (int v = 0; v < onePass.variantCount(); v++) {
      assertEquals(onePass.position(v), chunked.position(v));
    }
    assertSameSource(VcfFile.open(vcf(dir, "mixed").toString(), CONF), chunked);
    // A range started mid-file at its record's virtual offset.
    VcfFile text = VcfFile.open(vcf(dir, "mixed").toString(), CONF);
    boolean[] p = new boolean[text.variantCount()];
    double[][] all = dosages(text, p);
    chunked.reader().scan(20, 30, chunked.position(20), null, CONF, new GenotypeVisitor() {
      @Override
      public void hardCalls(byte[] raw, int offset, int v) {
        throw new AssertionError();
      }

      @Override
      public void dosages(VariantDosages d, int v) {
        assertArrayEquals(all[v], d.dosage, 0.0, "variant " + v);
      }
    });
  }

  /**
   * A BCF 2.1 (htsjdk's writer, the version GATK writes; vectors padded with the missing value instead of
   * END_OF_VECTOR) of the same VCF, bgzipped: the same sites and dosages.
   */
  @Test
  void bcf21FromHtsjdkReadsAlike(@TempDir Path dir) throws IOException {
    Path source = vcf(dir, "mixed");
    Path bcf21 = dir.resolve("mixed21.bcf");
    try (VCFFileReader reader = new VCFFileReader(source, false)) {
      // The writer closes the BGZF stream.
      VariantContextWriter writer = new VariantContextWriterBuilder().setOutputBCFStream(
          new BlockCompressedOutputStream(bcf21.toFile())).unsetOption(Options.INDEX_ON_THE_FLY).build();
      writer.writeHeader(reader.getFileHeader());
      for (VariantContext vc : reader) {
        writer.add(vc);
      }
      writer.close();
    }
    VcfFile bcf = VcfFile.open(bcf21.toString(), CONF);
    assertEquals("BCF 2.1", bcf.plan().format());
    assertSameSource(VcfFile.open(source.toString(), CONF), bcf);
  }

  /** Decompressed bytes of a BGZF file. */
  private static byte[] inflate(Path bgzf) throws IOException {
    try (InputStream in = new GZIPInputStream(Files.newInputStream(bgzf))) {
      return in.readAllBytes();
    }
  }

  private static Path bgzip(Path file, byte[] content) {
    try (OutputStream out = new BlockCompressedOutputStream(file.toFile())) {
      out.write(content);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  private static BadInputException refused(Path file) {
    return assertThrows(BadInputException.class, () -> {
      VcfFile f = VcfFile.open(file.toString(), CONF);
      dosages(f, new boolean[f.variantCount()]);
    });
  }

  private static void assertSays(BadInputException e, String... parts) {
    for (String part : parts) {
      assertTrue(e.getMessage().contains(part), "'" + part + "' in: " + e.getMessage());
    }
  }

  @Test
  void badBcfsAreRefusedNamingFileAndRecord(@TempDir Path dir) throws IOException {
    byte[] raw = inflate(VcfFixture.bcfResource("mixed.bcf", dir));
    // Cut inside the last record, with a valid BGZF layer: the BCF ends inside a record.
    assertSays(refused(bgzip(dir.resolve("cut.bcf"), Arrays.copyOf(raw, raw.length - 10))), "cut.bcf", "truncated",
        "record 42");
    // Cut inside a compressed block: BGZF itself is truncated.
    byte[] compressed = Files.readAllBytes(VcfFixture.bcfResource("mixed.bcf", dir));
    Path cutBlock = Files.write(dir.resolve("cutblock.bcf"), Arrays.copyOf(compressed, compressed.length - 400));
    assertSays(refused(cutBlock), "cutblock.bcf");
    // Uncompressed BCF (bcftools view -Ou): the command that compresses it.
    Path plain = Files.write(dir.resolve("plain.bcf"), raw);
    assertSays(refused(plain), "plain.bcf", "uncompressed BCF", "bcftools view -Ob");
    // Another BCF version.
    byte[] v3 = raw.clone();
    v3[3] = 3;
    assertSays(refused(bgzip(dir.resolve("v3.bcf"), v3)), "v3.bcf", "BCF version 3.2", "2.1 and 2.2");
    // A CHROM index the header does not have.
    byte[] badContig = raw.clone();
    int text = java.nio.ByteBuffer.wrap(raw, 5, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
    badContig[5 + 4 + text + 8] = 9;
    assertSays(refused(bgzip(dir.resolve("contig.bcf"), badContig)), "contig.bcf", "record 1", "CHROM index 9");
    // A multi-allelic record (bcftools-written): its position and the command that splits it.
    assertSays(refused(VcfFixture.bcfResource("multiallelic.bcf", dir)), "multiallelic.bcf", "1:20", "3 alleles", "bcftools norm -m-");
    // A record with neither GT nor DS/GP (only DP), as for its VCF.
    assertSays(refused(VcfFixture.bcfResource("no-genotypes.bcf", dir)), "no-genotypes.bcf", "record 2 (1:20)", "no genotypes");
    assertSays(refused(vcf(dir, "no-genotypes")), "no-genotypes.vcf.gz", "record 2 (1:20)", "no genotypes");
  }

  /** The shortest decimal of a float is what a VCF with up to 6 significant digits wrote. */
  @Test
  void floatsReadBackAsTheirDecimals() {
    for (String s : new String[] {"0.247", "0.1", "1.776", "0.001", "2", "1e-7", "0.333333", "123456", "1.5e30",
        "0.999999", "-0.75", "7e-45"}) {
      assertEquals(Double.parseDouble(s), BcfRecords.FloatDecimals.shortest(Float.parseFloat(s)), s);
    }
    BcfRecords.FloatDecimals cache = new BcfRecords.FloatDecimals();
    for (int i = 0; i <= 2000; i++) {
      String s = String.valueOf(i / 1000.0);
      assertEquals(Double.parseDouble(s), cache.of(Float.floatToIntBits(Float.parseFloat(s))), s);
      assertEquals(Double.parseDouble(s), cache.of(Float.floatToIntBits(Float.parseFloat(s))), s + " (cached)");
    }
  }

  /** Header dictionaries: IDX honoured, else PASS first and IDs in order of first appearance. */
  @Test
  void dictionariesFollowIdxOrFirstAppearance() {
    BcfRecords.Dictionaries d = BcfRecords.Dictionaries.of("h", "##fileformat=VCFv4.2\n"
        + "##INFO=<ID=DP,Number=1,Type=Integer,Description=\"a, \\\"quoted\\\" text\">\n"
        + "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"x\">\n##FORMAT=<ID=DP,Number=1,Type=Integer,"
        + "Description=\"y\">\n##contig=<ID=2>\n##contig=<ID=1,length=5>\n");
    assertEquals(List.of("PASS", "DP", "GT"), Arrays.asList(d.strings));
    assertEquals(List.of("2", "1"), Arrays.asList(d.contigs));
    BcfRecords.Dictionaries idx = BcfRecords.Dictionaries.of("h", "##FORMAT=<ID=GT,Number=1,Type=String,"
        + "Description=\"x\",IDX=3>\n##FILTER=<ID=PASS,Description=\"p\",IDX=0>\n##contig=<ID=1,IDX=1>\n"
        + "##contig=<ID=2,IDX=0>\n");
    assertEquals(Arrays.asList("PASS", null, null, "GT"), Arrays.asList(idx.strings));
    assertEquals(List.of("2", "1"), Arrays.asList(idx.contigs));
    assertEquals("a, \"quoted\" text", BcfRecords.Dictionaries.fields("ID=DP,Description=\"a, \\\"quoted\\\" text\"")
        .get("Description"));
  }
}
