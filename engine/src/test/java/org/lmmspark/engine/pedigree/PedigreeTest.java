package org.lmmspark.engine.pedigree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.testing.RefData;

class PedigreeTest {

  private static Pedigree parse(String text) {
    return Pedigree.parse("ped.txt", new StringReader(text));
  }

  private static String errorOf(String text) {
    return assertThrows(BadInputException.class, () -> parse(text)).getMessage();
  }

  private static int idx(Pedigree p, String iid) {
    return p.indexOf(new SampleId(iid, iid));
  }

  private static String sireOf(Pedigree p, String iid) {
    int s = p.sire(idx(p, iid));
    return s < 0 ? null : p.id(s).iid();
  }

  private static String damOf(Pedigree p, String iid) {
    int d = p.dam(idx(p, iid));
    return d < 0 ? null : p.id(d).iid();
  }

  @Test
  void readsMrodeExample21WithHeader() {
    Path dir = RefData.dir("mrode-pedigree");
    Pedigree p = Pedigree.read(dir.resolve("pedigree.txt").toString(), new Configuration());
    assertEquals(6, p.size());
    assertFalse(p.reordered());
    assertFalse(p.hasFamilyIds());
    for (int i = 0; i < 6; i++) {
      assertEquals(new SampleId(String.valueOf(i + 1), String.valueOf(i + 1)), p.id(i));
    }
    assertEquals("4", sireOf(p, "5"));
    assertEquals("3", damOf(p, "5"));
    assertEquals("1", sireOf(p, "4"));
    assertEquals(null, damOf(p, "4"));
  }

  @Test
  void readsCsvWithDamBeforeSireAndExtraColumns() {
    // Mrode3.csv: calf,dam,sire,damGG,sireGG,sex,WWG — columns found by name, dam first.
    Path dir = RefData.dir("mrode-pedigree");
    Pedigree p = Pedigree.read(dir.resolve("Mrode3.csv").toString(), new Configuration());
    assertEquals(10, p.size());
    assertEquals("1", sireOf(p, "4"));
    assertEquals(null, damOf(p, "4"));
    assertEquals("3", sireOf(p, "5"));
    assertEquals("2", damOf(p, "5"));
    assertEquals(Pedigree.Sex.MALE, p.sex(idx(p, "4")));
    assertEquals(Pedigree.Sex.FEMALE, p.sex(idx(p, "5")));

    Pedigree p9 = Pedigree.read(dir.resolve("Mrode9.csv").toString(), new Configuration());
    assertEquals(12, p9.size());
    assertEquals("1", sireOf(p9, "5"));
    assertEquals("2", damOf(p9, "5"));
    assertEquals(null, sireOf(p9, "8"));
    assertEquals("5", damOf(p9, "8"));
  }

  @Test
  void readsPedigreemmCows() {
    Path dir = RefData.dir("pedigreemm-milk");
    Pedigree p = Pedigree.read(dir.resolve("pedCowsR.csv").toString(), new Configuration());
    // EXPECTED.md: "6,547 animals"
    assertEquals(6547, p.size());
    assertEquals(0, p.foundersAdded());
  }

  @Test
  void missingParentCodes() {
    Pedigree p = parse("a 0 0\nb NA na\nc . -\nd a b\ne c 0\n");
    assertEquals(5, p.size());
    assertEquals(-1, p.sire(idx(p, "b")));
    assertEquals(-1, p.dam(idx(p, "c")));
    Pedigree csv = parse("id,sire,dam\na,,\nb,\"a\",\n");
    assertEquals("a", sireOf(csv, "b"));
    assertEquals(null, damOf(csv, "b"));
  }

  @Test
  void headerlessFamilyFormatAndFam() {
    // PLINK .fam: FID IID FATHER MOTHER SEX PHENO; parents looked up within the family.
    Pedigree p = Pedigree.parse("x.fam", new StringReader(
        "F1 p 0 0 1 -9\nF1 m 0 0 2 -9\nF1 k p m 2 1.5\nF2 p 0 0 1 -9\nF2 k p 0 1 -9\n"));
    assertTrue(p.hasFamilyIds());
    assertEquals(5, p.size());
    int k1 = p.indexOf(new SampleId("F1", "k"));
    int k2 = p.indexOf(new SampleId("F2", "k"));
    assertEquals(new SampleId("F1", "p"), p.id(p.sire(k1)));
    assertEquals(new SampleId("F2", "p"), p.id(p.sire(k2)));
    assertEquals(-2, p.indexOfIid("k"));
    Pedigree h = parse("FID IID FATHER MOTHER\nf a 0 0\nf b 0 0\nf c a b\n");
    assertEquals(new SampleId("f", "a"), h.id(h.sire(h.indexOf(new SampleId("f", "c")))));
  }

  @Test
  void offspringBeforeParentsIsReorderedAndUnlistedParentsAdded() {
    Pedigree p = parse("ID SIRE DAM\nc a b\nd c x\na 0 0\nb 0 0\n");
    assertTrue(p.reordered());
    assertEquals(1, p.foundersAdded()); // x
    assertEquals(5, p.size());
    for (int i = 0; i < p.size(); i++) {
      assertTrue(p.sire(i) < i && p.dam(i) < i, "parents first at " + i);
    }
    assertFalse(p.listed(idx(p, "x")));
    assertEquals(Pedigree.Sex.FEMALE, p.sex(idx(p, "x")));
    // Stable: a, b before c; x just before d.
    assertEquals("a b c x d", String.join(" ", p.ids().stream().map(SampleId::iid).toList()));
  }

  @Test
  void identicalDuplicateIsIgnoredAndCounted() {
    Pedigree p = parse("a 0 0\nb 0 0\nc a b\nc a b\n");
    assertEquals(3, p.size());
    assertEquals(1, p.duplicatesIgnored());
  }

  @Test
  void cycleIsAnError() {
    String msg = errorOf("a c 0\nb a 0\nc b 0\n");
    assertTrue(msg.contains("ped.txt:") && msg.contains("own ancestor"), msg);
    String two = errorOf("a b 0\nb a 0\n");
    assertTrue(two.contains("own ancestor") && two.contains("individual "), two);
  }

  @Test
  void longCycleNamesItsPath() {
    String msg = errorOf("id sire dam\nd c 0\nc b 0\nb a 0\na d 0\n");
    assertTrue(msg.contains("own ancestor"), msg);
    assertTrue(msg.contains("→"), msg);
    assertTrue(msg.startsWith("ped.txt:"), msg);
  }

  @Test
  void selfParentingIsAnError() {
    String msg = errorOf("a 0 0\nb b a\n");
    assertEquals("ped.txt:2: individual b is its own parent", msg);
    assertTrue(errorOf("a 0 0\nb a b\n").contains("its own parent"));
  }

  @Test
  void parentUsedAsSireAndDamIsAnError() {
    String same = errorOf("a 0 0\nb a a\n");
    assertTrue(same.startsWith("ped.txt:2:") && same.contains("both sire and dam"), same);
    String across = errorOf("a 0 0\nb 0 0\nc a b\nd b a\n");
    assertTrue(across.startsWith("ped.txt:4:") && across.contains("individual b") && across.contains("line 3"), across);
  }

  @Test
  void sexContradictingRoleIsAnError() {
    String msg = errorOf("FID IID FATHER MOTHER SEX\nf a 0 0 2\nf b 0 0 2\nf c a b 1\n");
    assertTrue(msg.startsWith("ped.txt:2:") && msg.contains("female") && msg.contains("sire"), msg);
  }

  @Test
  void duplicateWithDifferentParentsIsAnError() {
    String msg = errorOf("a 0 0\nb 0 0\nc a b\nc a 0\n");
    assertTrue(msg.startsWith("ped.txt:4:") && msg.contains("individual c") && msg.contains("line 3"), msg);
  }

  @Test
  void malformedLinesAreErrors() {
    assertTrue(errorOf("a 0 0\nb a\n").startsWith("ped.txt:2: found 2 field(s), expected 3"));
    assertTrue(errorOf("a 0\n").contains("expected ID SIRE DAM"));
    assertTrue(errorOf("id sire dam\nNA 0 0\n").contains("missing individual ID"));
    assertTrue(errorOf("id sire other\na 0 0\n").contains("no dam/mother column"));
    assertTrue(errorOf("FID IID FATHER MOTHER SEX\nf a 0 0 7\n").contains("sex '7'"));
    assertTrue(errorOf("# only a comment\n\n").contains("no individuals"));
  }

  @Test
  void withAncestorsIsClosedAndSorted() {
    Pedigree p = parse("a 0 0\nb 0 0\nc a b\nd 0 0\ne c d\nf 0 0\n");
    int[] c = p.withAncestors(new int[] {idx(p, "e")});
    assertEquals("a b c d e", String.join(" ", java.util.Arrays.stream(c).mapToObj(i -> p.id(i).iid()).toList()));
  }
}
