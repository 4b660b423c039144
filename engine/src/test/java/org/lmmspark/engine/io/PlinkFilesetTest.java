package org.lmmspark.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.testing.BedFixture;

/** Strict reading of PLINK filesets: every malformation is an error naming the file (and line). */
class PlinkFilesetTest {
  private final Configuration conf = new Configuration();

  private String fixture(Path dir) {
    int[] chr = new int[12];
    Arrays.fill(chr, 1);
    return BedFixture.write(dir, "f", BedFixture.random(9, 12, 0.1, 0, 3), chr);
  }

  private String error(String prefix) {
    return assertThrows(BadInputException.class, () -> PlinkFileset.open(prefix, conf)).getMessage();
  }

  @Test
  void readsAValidFileset(@TempDir Path dir) {
    PlinkFileset fs = PlinkFileset.open(fixture(dir), conf);
    assertEquals(9, fs.sampleCount());
    assertEquals(12, fs.variantCount());
    assertEquals(3, fs.bytesPerVariant());
    assertEquals(3 + 5 * 3, fs.byteOffset(5));
    assertEquals(new SampleId("F0", "I0"), fs.samples().get(0));
    assertEquals("A", fs.variants().get(0).a1());
    assertTrue(fs.warnings().isEmpty());
  }

  @Test
  void wrongMagicBytes(@TempDir Path dir) throws IOException {
    String p = fixture(dir);
    byte[] bed = Files.readAllBytes(Path.of(p + ".bed"));
    bed[0] = 0;
    Files.write(Path.of(p + ".bed"), bed);
    assertTrue(error(p).startsWith(p + ".bed: not a PLINK 1 .bed file"), error(p));
  }

  @Test
  void sampleMajorBed(@TempDir Path dir) throws IOException {
    String p = fixture(dir);
    byte[] bed = Files.readAllBytes(Path.of(p + ".bed"));
    bed[2] = 0;
    Files.write(Path.of(p + ".bed"), bed);
    assertTrue(error(p).contains("sample-major"), error(p));
  }

  @Test
  void bedSizeMismatch(@TempDir Path dir) throws IOException {
    String p = fixture(dir);
    Files.write(Path.of(p + ".bed"), new byte[] {0x6c, 0x1b, 0x01, 0, 0}, java.nio.file.StandardOpenOption.APPEND);
    assertTrue(error(p).contains("size 44 bytes, expected 39"), error(p));
  }

  @Test
  void famWithExtraPhenotypeColumnsIsRead(@TempDir Path dir) throws IOException {
    String p = fixture(dir);
    Path fam = Path.of(p + ".fam");
    // GEMMA's example data and other tools' .fam files carry several phenotype columns: plink2 reads them.
    Files.writeString(fam, Files.readString(fam).replaceAll("(?m)$", " 1.5 NA").replaceAll(" 1.5 NA\\z", ""));
    PlinkFileset fs = PlinkFileset.open(p, conf);
    assertEquals(9, fs.sampleCount());
    assertEquals(new SampleId("F8", "I8"), fs.samples().get(8));
  }

  @Test
  void famOneLineShortIsStillRefused(@TempDir Path dir) throws IOException {
    String p = fixture(dir);
    Path fam = Path.of(p + ".fam");
    String text = Files.readString(fam).replaceAll("(?m)$", " 1.5 NA").replaceAll(" 1.5 NA\\z", "");
    Files.writeString(fam, text.substring(0, text.lastIndexOf("F8")));
    assertTrue(error(p).contains("expected 36 = 3 + M·ceil(N/4) with M=12 (.bim lines) and N=8 (.fam lines)")
        || error(p).contains("N=8"), error(p));
    Files.writeString(fam, text.replace("F3 I3 0 0 1 -9 1.5 NA", "F3 I3 0 0 1 -9 1.5"));
    assertEquals(p + ".fam:4: expected 8 fields like the first line, found 7", error(p));
  }

  @Test
  void famLineWithWrongFieldCount(@TempDir Path dir) throws IOException {
    String p = fixture(dir);
    Files.writeString(Path.of(p + ".fam"), "F0 I0 0 0 1 -9\nF1 I1 0 0 1\n");
    assertEquals(p + ".fam:2: expected at least 6 fields (FID IID father mother sex phenotype), found 5", error(p));
  }

  @Test
  void bimLineWithWrongFieldCountOrBadPosition(@TempDir Path dir) throws IOException {
    String p = fixture(dir);
    Path bim = Path.of(p + ".bim");
    String good = Files.readString(bim);
    Files.writeString(bim, good.replaceFirst("rs3\\t0\\t3000\\tA\\tG", "rs3\t0\t3000\tA"));
    assertTrue(error(p).startsWith(p + ".bim:3: expected 6 fields"), error(p));
    Files.writeString(bim, good.replaceFirst("rs4\\t0\\t4000", "rs4\t0\tx4000"));
    assertTrue(error(p).startsWith(p + ".bim:4: base-pair position"), error(p));
  }

  @Test
  void duplicateSampleIsAnErrorDuplicateVariantAWarning(@TempDir Path dir) throws IOException {
    String p = fixture(dir);
    Path fam = Path.of(p + ".fam");
    String good = Files.readString(fam);
    Files.writeString(fam, good.replace("F3 I3", "F1 I1"));
    assertEquals(p + ".fam:4: duplicate sample 'F1 I1' (first at line 2)", error(p));
    Files.writeString(fam, good);
    Path bim = Path.of(p + ".bim");
    Files.writeString(bim, Files.readString(bim).replace("rs7\t", "rs2\t"));
    PlinkFileset fs = PlinkFileset.open(p, conf);
    assertEquals(1, fs.warnings().size());
    assertTrue(fs.warnings().get(0).contains("1 duplicate variant ID(s), first 'rs2' at line 7"), fs.warnings().get(0));
  }

  @Test
  void missingOrEmptyFiles(@TempDir Path dir) throws IOException {
    String p = fixture(dir);
    Files.delete(Path.of(p + ".bim"));
    assertEquals(p + ".bim: file not found", error(p));
    Files.writeString(Path.of(p + ".bim"), "");
    assertEquals(p + ".bim: no variants", error(p));
  }
}
