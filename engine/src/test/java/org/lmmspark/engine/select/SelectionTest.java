package org.lmmspark.engine.select;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.ChromosomeSelection;
import org.lmmspark.engine.genotype.SampleSubset;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.io.Variant;

/** --keep/--remove, --extract/--exclude (IDs and ranges), --chr, --from-bp/--to-bp and negative positions. */
class SelectionTest {
  private final Configuration conf = new Configuration();

  private static List<SampleId> samples(int n) {
    List<SampleId> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(new SampleId("F" + (i / 2), "I" + i));
    }
    return ids;
  }

  private String file(Path dir, String name, String text) throws Exception {
    Path p = dir.resolve(name);
    Files.writeString(p, text);
    return p.toString();
  }

  @Test
  void keepAndRemoveByFidIidOrIid(@TempDir Path dir) throws Exception {
    List<SampleId> ids = samples(6);
    String keep = file(dir, "keep.txt", "F0 I1\nF1 I2 extra columns ignored\nF1 I3\nF9 I99\n");
    String removeIid = file(dir, "remove.txt", "#IID\nI3\n");
    SampleSelection s = SampleSelection.read(List.of(keep), List.of(removeIid), conf);
    SampleSelection.Applied a = s.apply(ids, "x.fam");
    assertEquals(List.of(ids.get(1), ids.get(2)), a.kept());
    assertEquals(1, a.subset().row(0));
    assertEquals(2, a.subset().row(1));
    assertTrue(a.report().contains("2 of 6 samples kept") && a.report().contains("(1 of them not in the input)"),
        a.report());
    // One field a line: IIDs.
    String iids = file(dir, "iids.txt", "I0\nI5\n");
    assertEquals(List.of(ids.get(0), ids.get(5)), SampleSelection.read(List.of(iids), List.of(), conf).apply(ids, "x").kept());
    // A header names the layout.
    String header = file(dir, "h.txt", "FID IID\nF2 I4\n");
    assertEquals(List.of(ids.get(4)), SampleSelection.read(List.of(header), List.of(), conf).apply(ids, "x").kept());
    String mixed = file(dir, "mixed.txt", "I0\nF2 I4\n");
    BadInputException e = assertThrows(BadInputException.class,
        () -> SampleSelection.read(List.of(mixed), List.of(), conf));
    assertTrue(e.getMessage().contains("mixed.txt:2: found 2 fields where earlier lines have one"), e.getMessage());
    String none = file(dir, "none.txt", "Z9 Z9\n");
    e = assertThrows(BadInputException.class, () -> SampleSelection.read(List.of(none), List.of(), conf).apply(ids, "x.fam"));
    assertTrue(e.getMessage().contains("no sample left"), e.getMessage());
  }

  @Test
  void compactionEqualsTheBedOfTheKeptSamples() {
    // Brute force: random calls of up to 13 samples, compacted to a random subset, against packing the subset's calls.
    Random rnd = new Random(7);
    for (int trial = 0; trial < 50; trial++) {
      int n = 1 + rnd.nextInt(13);
      int[] calls = new int[n];
      byte[] bed = new byte[(n + 3) / 4];
      for (int i = 0; i < n; i++) {
        calls[i] = rnd.nextInt(4);
        bed[i / 4] |= (byte) (calls[i] << (2 * (i % 4)));
      }
      List<Integer> rows = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        if (rnd.nextBoolean()) {
          rows.add(i);
        }
      }
      if (rows.isEmpty()) {
        continue;
      }
      SampleSubset s = SampleSubset.of(n, rows.stream().mapToInt(Integer::intValue).toArray());
      byte[] expected = new byte[(rows.size() + 3) / 4];
      for (int k = 0; k < rows.size(); k++) {
        expected[k / 4] |= (byte) (calls[rows.get(k)] << (2 * (k % 4)));
      }
      byte[] got = new byte[s.compactedBytes()];
      byte[] shifted = new byte[bed.length + 3];
      System.arraycopy(bed, 0, shifted, 3, bed.length);
      s.compact(shifted, 3, got);
      assertArrayEquals(expected, got, "trial " + trial);
    }
  }

  private static List<Variant> variants() {
    return List.of(
        new Variant("1", "rs1", 0, 100, "A", "G"),
        new Variant("1", "rs2", 0, 200, "A", "G"),
        new Variant("chr1", "rs3", 0, 300, "A", "G"),
        new Variant("2", "rs4", 0, 150, "A", "G"),
        new Variant("2", "rs5", 0, -5, "A", "G"),
        new Variant("3", "rs6", 0, 250, "A", "G"),
        new Variant("22", "rs7", 0, 10, "A", "G"));
  }

  private static boolean[] mask(VariantSelection s) {
    return s.mask(variants(), "x.bim").include();
  }

  @Test
  void extractExcludeIdsAndRanges(@TempDir Path dir) throws Exception {
    Configuration c = conf;
    String ids = file(dir, "ids.txt", "rs1 rs3\nrs6 rs99\n");
    String ex = file(dir, "ex.txt", "rs3\n");
    VariantSelection s = VariantSelection.of(ChromosomeSelection.all(), null, null,
        List.of(VariantSelection.readList(ids, null, c)), List.of(VariantSelection.readList(ex, null, c)), false);
    assertArrayEquals(new boolean[] {true, false, false, false, false, true, false}, mask(s));
    // PLINK 1.9 ranges: chr start end label, 1-based inclusive; "chr1" and "1" are the same chromosome.
    String range = file(dir, "r.txt", "chr1 150 300 setA\n2 100 150 setB\n");
    s = VariantSelection.of(ChromosomeSelection.all(), null, null,
        List.of(VariantSelection.readList(range, VariantSelection.ListKind.RANGE, c)), List.of(), false);
    assertArrayEquals(new boolean[] {false, true, true, true, false, false, false}, mask(s));
    // BED (0-based half-open): [199, 300) is bp 200..300 ; [149, 150) is bp 150; excluded here.
    String bed = file(dir, "r.bed", "track name=x\n1\t199\t300\n2\t149\t150\n");
    s = VariantSelection.of(ChromosomeSelection.all(), null, null, List.of(),
        List.of(VariantSelection.readList(bed, VariantSelection.ListKind.BED0, c)), false);
    assertArrayEquals(new boolean[] {true, false, false, false, false, true, true}, mask(s));
  }

  @Test
  void chromosomesWindowAndNegativePositions() {
    VariantSelection s = VariantSelection.of(ChromosomeSelection.of("1-2,22", null));
    VariantSelection.Mask m = s.mask(variants(), "x.bim");
    // rs5 (bp -5) is dropped as PLINK drops negative positions.
    assertArrayEquals(new boolean[] {true, true, true, true, false, false, true}, m.include());
    assertTrue(m.report().contains("1 with a negative position"), m.report());
    VariantSelection keepNegative = VariantSelection.of(ChromosomeSelection.of("2", null), null, null, List.of(),
        List.of(), true);
    assertArrayEquals(new boolean[] {false, false, false, true, true, false, false}, mask(keepNegative));
    VariantSelection window = VariantSelection.of(ChromosomeSelection.of("1", null), 150L, 300L, List.of(), List.of(),
        false);
    assertArrayEquals(new boolean[] {false, true, true, false, false, false, false}, mask(window));
    BadInputException e = assertThrows(BadInputException.class,
        () -> VariantSelection.of(ChromosomeSelection.of("1-2", null), 1L, null, List.of(), List.of(), false));
    assertTrue(e.getMessage().contains("--chr with exactly one chromosome"), e.getMessage());
    e = assertThrows(BadInputException.class,
        () -> VariantSelection.of(ChromosomeSelection.of("5", null)).mask(variants(), "x.bim"));
    assertTrue(e.getMessage().contains("no variant left"), e.getMessage());
  }
}
