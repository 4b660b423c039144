package org.lmmspark.engine.pheno;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;

/** The one table reader over the layouts other tools write: each one read to the same values. */
class SampleTableLayoutsTest {
  private static final List<SampleId> FAM = List.of(new SampleId("f1", "a"), new SampleId("f2", "b"),
      new SampleId("f3", "c"));

  static SampleTable parse(String text, SampleTable.Layout layout) throws Exception {
    return SampleTable.parse("t.txt", new BufferedReader(new StringReader(text)), layout);
  }

  static SampleTable parse(String text) throws Exception {
    return parse(text, SampleTable.Layout.DEFAULT);
  }

  /** Every layout of the same table: samples f1/a, f2/b, f3/c with y = 1.5, missing, 3 and x = 10, 20, 30. */
  private static void assertSameTable(SampleTable t, boolean header) {
    assertEquals(FAM, t.ids());
    assertEquals(header ? List.of("y", "x") : List.of("V1", "V2"), t.columns());
    assertEquals(header, t.hasHeader());
    assertArrayEquals(new double[] {1.5, Double.NaN, 3}, t.numeric(0));
    assertArrayEquals(new double[] {10, 20, 30}, t.numeric(1));
  }

  @Test
  void headerWithFidIidSpaceOrTab() throws Exception {
    assertSameTable(parse("FID IID y x\nf1 a 1.5 10\nf2 b NA 20\nf3 c 3 30\n"), true);
    assertSameTable(parse("FID\tIID\ty\tx\nf1\ta\t1.5\t10\nf2\tb\t-9\t20\n\nf3\tc\t3\t30\n"), true);
    assertSameTable(parse("#FID IID y x\nf1 a 1.5 10\nf2 b NaN 20\nf3 c 3 30\n"), true);
  }

  @Test
  void headerlessAsGctaWritesIt() throws Exception {
    assertSameTable(parse("f1 a 1.5 10\nf2 b -9 20\nf3 c 3 30\n"), false);
  }

  @Test
  void csvWithAndWithoutHeaderQuotesAndEmptyFields() throws Exception {
    assertSameTable(parse("FID,IID,y,x\nf1,a,1.5,10\n\"f2\",\"b\",,20\nf3 , c , 3 , 30\n"), true);
    assertSameTable(parse("f1,a,1.5,10\nf2,b,NA,20\nf3,c,3,30\n"), false);
  }

  @Test
  void keyedByIidAloneThenKeyedToTheGenotypes() throws Exception {
    // Header starting with IID: keyed by IID whatever the option.
    SampleTable t = parse("IID y x\nb NA 20\nc 3 30\na 1.5 10\nzz 4 40\n");
    assertTrue(t.keyedByIid());
    SampleTable keyed = t.keyedTo(FAM, "t.fam");
    assertFalse(keyed.keyedByIid());
    assertEquals(List.of(FAM.get(1), FAM.get(2), FAM.get(0), new SampleId("", "zz")), keyed.ids());
    assertArrayEquals(new double[] {20, 30, 10, 40}, keyed.numeric(1));
    // Headerless with --iid-only: the first column is the IID.
    SampleTable h = parse("a,1.5,10\nb,NA,20\nc,3,30\n", new SampleTable.Layout(false, true)).keyedTo(FAM, "t.fam");
    assertSameTable(h, false);
    // A FID IID header with --iid-only: the FID column is ignored for matching.
    SampleTable g = parse("FID IID y x\nx1 a 1.5 10\nx2 b NA 20\nx3 c 3 30\n", new SampleTable.Layout(false, true))
        .keyedTo(FAM, "t.fam");
    assertSameTable(g, true);
    // An IID in two families of the reference cannot key a row.
    List<SampleId> twoFamilies = List.of(new SampleId("f1", "a"), new SampleId("f9", "a"));
    BadInputException e = assertThrows(BadInputException.class, () -> t.keyedTo(twoFamilies, "t.fam"));
    assertTrue(e.getMessage().contains("IID 'a' is in two families of t.fam"), e.getMessage());
    e = assertThrows(BadInputException.class, () -> parse("IID y\na 1\na 2\n"));
    assertTrue(e.getMessage().contains("t.txt:3: sample IID a is listed twice"), e.getMessage());
  }

  @Test
  void ambiguousHeaderIsRefused() throws Exception {
    // "ID height weight" is a header with other ID names: read as data it would be a sample named "ID height".
    BadInputException e = assertThrows(BadInputException.class,
        () -> parse("ID sample height weight\nf1 a 170 60\nf2 b 180 70\n"));
    assertTrue(e.getMessage().startsWith("t.txt:1: this line looks like a header"), e.getMessage());
    assertTrue(e.getMessage().contains("'FID IID', '#FID IID' or 'IID'"), e.getMessage());
    e = assertThrows(BadInputException.class, () -> parse("#ID y\na 1\n"));
    assertTrue(e.getMessage().contains("must start with '#FID IID' or '#IID'"), e.getMessage());
    // Categorical values on every line are data, not a header.
    SampleTable cat = parse("f1 a M batch1\nf2 b F batch2\n");
    assertEquals(List.of("V1", "V2"), cat.columns());
    assertEquals("F", cat.token(1, 0));
    // Column names of a headerless table say how to pick one.
    e = assertThrows(BadInputException.class, () -> parse("f1 a 1\nf2 b 2\n").column("y", "--pheno-name"));
    assertTrue(e.getMessage().contains("no header line") && e.getMessage().contains("--mpheno"), e.getMessage());
  }

  @Test
  void selectKeepsNamedColumnsInOrder() throws Exception {
    SampleTable t = parse("FID IID y sex age\nf1 a 1 M 30\nf2 b 2 F 40\n").select(List.of("age", "sex"), "--covar-names");
    assertEquals(List.of("age", "sex"), t.columns());
    assertArrayEquals(new double[] {30, 40}, t.numeric(0));
    BadInputException e = assertThrows(BadInputException.class,
        () -> parse("FID IID y\nf1 a 1\n").select(List.of("bmi"), "--qcovar-names"));
    assertTrue(e.getMessage().contains("--qcovar-names column 'bmi' not found"), e.getMessage());
  }

  @Test
  void famPhenotypeColumns(@TempDir Path dir) throws Exception {
    Path fam = dir.resolve("x.fam");
    Files.writeString(fam, "f1 a 0 0 1 -9 1.5 10\nf2 b 0 0 2 -9 NA 20\nf3 c 0 0 1 -9 3 30\n");
    SampleTable t = SampleTable.fam(fam.toString(), new Configuration());
    assertEquals(List.of("PHENO1", "PHENO2", "PHENO3"), t.columns());
    assertEquals(FAM, t.ids());
    assertArrayEquals(new double[] {1.5, Double.NaN, 3}, t.numeric(1));
    Files.writeString(fam, "f1 a 0 0 1\n");
    BadInputException e = assertThrows(BadInputException.class, () -> SampleTable.fam(fam.toString(), new Configuration()));
    assertTrue(e.getMessage().endsWith("x.fam:1: expected FID IID father mother sex and at least one phenotype column, "
        + "found 5 field(s)"), e.getMessage());
  }

  /** NaN is missing, like NA and -9, but counted apart with its lines (file lines, blank lines counted). */
  @Test
  void nanValuesAreCountedApartFromOtherMissingCodes() throws Exception {
    SampleTable t = parse("FID IID y x\nf1 a NaN 1\n\nf2 b NA nan\nf3 c -9 2\nf4 d nan 3\n");
    assertArrayEquals(new double[] {Double.NaN, Double.NaN, Double.NaN, Double.NaN}, t.numeric(0));
    assertEquals("trait 'y': 2 NaN values taken as missing (t.txt lines 2, 6)", t.nanNote(0, "trait"));
    assertEquals("trait 'x': 1 NaN value taken as missing (t.txt line 4)", t.nanNote(1, "trait"));
    assertEquals(null, parse("FID IID y\nf1 a NA\nf2 b 1\n").nanNote(0, "trait"));
  }

  /**
   * A header naming the IID column anywhere ({@code --pheno-id-col}, SAIGE's {@code --sampleIDColinphenoFile}):
   * keyed by IID alone, a FID column dropped, every other column a value; a header without the column is an
   * error naming it and the columns there are. Without the option such a table is refused as an ambiguous header.
   */
  @Test
  void namedIdColumnAnywhereInTheHeader() throws Exception {
    SampleTable.Layout byIid = new SampleTable.Layout(false, false, "IID");
    assertSameTable(parse("y IID x\n1.5 a 10\nNA b 20\n3 c 30\n", byIid).keyedTo(FAM, "t.fam"), true);
    assertSameTable(parse("FID,y,x,IID\nzz,1.5,10,a\nzz,,20,b\nzz,3,30,c\n", byIid).keyedTo(FAM, "t.fam"), true);
    BadInputException e = assertThrows(BadInputException.class, () -> parse("y sample x\n1.5 a 10\n", byIid));
    assertEquals("t.txt:1: --pheno-id-col IID: the header has no column 'IID'; its columns are [y, sample, x] (every "
        + "table read, --covar and --qcovar too, is keyed by this column)", e.getMessage());
    e = assertThrows(BadInputException.class, () -> parse("y IID x\n1.5 a 10\n2 b 20\n"));
    assertTrue(e.getMessage().contains("looks like a header") && e.getMessage().contains("--pheno-id-col"),
        e.getMessage());
  }

  /**
   * SAIGE's own example table ({@code saige-family/pheno_both.txt}: {@code y_quantitative y_binary x1 x2 IID a1 …
   * a10}, 1,000 samples) reads with {@code --pheno-id-col IID}; its first data line is
   * {@code 2.0046544617651 0 1.51178116845085 1 1a1 0 0 0 0 0 0 0 0 1 0}.
   */
  @Test
  void saigeExamplePhenotypeTable() {
    Path file = org.lmmspark.engine.testing.RefData.dir("saige-family").resolve("pheno_both.txt");
    SampleTable t = SampleTable.read(file.toString(), new Configuration(), new SampleTable.Layout(false, false, "IID"));
    assertEquals(1000, t.size());
    assertEquals(List.of("y_quantitative", "y_binary", "x1", "x2", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9",
        "a10"), t.columns());
    assertEquals(new SampleId(SampleTable.NO_FID, "1a1"), t.ids().get(0));
    assertEquals(2.0046544617651, t.numeric(0)[0]);
    assertEquals(1.51178116845085, t.numeric(2)[0]);
    assertEquals(2, t.line(0));
  }
}
