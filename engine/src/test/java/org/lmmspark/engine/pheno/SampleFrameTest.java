package org.lmmspark.engine.pheno;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.StringReader;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;

/**
 * The model frame's steps on a table small enough to follow by hand: which samples are kept, in which
 * order, their rows in every source, the design's columns, the notes, and the errors naming file, line
 * and sample.
 */
class SampleFrameTest {
  private static SampleTable parse(String file, String text) throws Exception {
    return SampleTable.parse(file, new BufferedReader(new StringReader(text)));
  }

  private static final SampleFrame.Source FAM = new SampleFrame.Source("genotypes x.fam", List.of(
      new SampleId("f5", "e"), new SampleId("f4", "d"), new SampleId("f2", "b"), new SampleId("f1", "a"),
      new SampleId("f9", "z")), "genotype fileset");

  /**
   * Kept: a, b, d, e (c has no trait value, f is absent from the .fam), in phenotype-file order; their
   * rows in the .fam are 3, 2, 1, 0; y and age are theirs; the .fam's lack of f is a note.
   */
  @Test
  void keptSamplesTheirRowsAndTheirDesign() throws Exception {
    SampleTable pheno = parse("p.txt", "FID IID y\nf1 a 0\nf2 b 1\nf3 c NA\nf4 d 3\nf5 e 1\nf6 f 0\n");
    SampleTable qcovar = parse("q.txt", "FID IID age\nf6 f 60\nf5 e 50\nf4 d 40\nf3 c 30\nf2 b 20\nf1 a 10\n");
    SampleFrame f = SampleFrame.build(SampleFrame.Spec.of(pheno, "y", null, qcovar, List.of(FAM), 4));
    assertEquals(List.of(new SampleId("f1", "a"), new SampleId("f2", "b"), new SampleId("f4", "d"),
        new SampleId("f5", "e")), f.individuals());
    assertEquals(f.individuals(), f.records());
    assertArrayEquals(new int[] {3, 2, 1, 0}, f.sourceRows(0));
    assertArrayEquals(new int[] {0, 1, 3, 4}, f.phenoRows());
    assertTrue(f.oneRecordEach());
    assertArrayEquals(new double[] {0, 1, 3, 1}, f.design().y());
    assertEquals(List.of("intercept", "age"), f.design().columnNames());
    assertArrayEquals(new double[] {1, 1, 1, 1, 10, 20, 40, 50}, f.design().x());
    assertTrue(f.notes().contains("genotypes x.fam lacks 1 of the phenotyped samples, e.g. f6 f"), f.notes().toString());

    // A value the route cannot model: the phenotype file, its line, the sample and the value as written.
    double[] y = f.design().y();
    BadInputException e = assertThrows(BadInputException.class,
        () -> f.checkTrait(i -> y[i] > 1 ? "takes 0/1" : null));
    assertEquals("p.txt:5: sample f4 d: trait 'y' value 3: takes 0/1", e.getMessage());
  }

  /** Too few samples left because a source lacks them: the source is named as the likely cause. */
  @Test
  void aSourceThatLeavesTooFewIsTheError() throws Exception {
    SampleTable pheno = parse("p.txt", "FID IID y\nf1 a 0\nf2 b 1\nf6 f 0\nf7 g 2\n");
    BadInputException e = assertThrows(BadInputException.class,
        () -> SampleFrame.build(SampleFrame.Spec.of(pheno, null, null, null, List.of(FAM), 4)));
    assertEquals("genotypes x.fam lacks 2 of the phenotyped samples, e.g. f6 f, f7 g; only 2 samples are left in "
        + "common: the genotype fileset does not cover the phenotyped samples (do the FID/IID match?)", e.getMessage());
  }

  /** A labelled column absent from every table names its option and the columns there are. */
  @Test
  void aLabelNowhereIsNamedWithItsOption() throws Exception {
    SampleTable pheno = parse("p.txt", "FID IID y\nf1 a 0\n");
    BadInputException e = assertThrows(BadInputException.class, () -> SampleFrame.build(new SampleFrame.Spec(pheno,
        null, null, null, List.of(), List.of(), List.of(new SampleFrame.Label("env", "--gxe", true)), false, List.of(),
        4)));
    assertEquals("--gxe column 'env' is neither in the phenotype file p.txt [y]", e.getMessage());
  }
}
