package org.lmmspark.engine.pheno;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;

/** Which column is the trait and which tables hold the covariates, as the options say. */
class TraitTablesTest {
  private final Configuration conf = new Configuration();
  private static final List<SampleId> FAM = List.of(new SampleId("f1", "a"), new SampleId("f2", "b"));

  @Test
  void covariatesByNameFromThePhenotypeTableAndTheTraitSkipsThem(@TempDir Path dir) throws Exception {
    Path p = dir.resolve("p.txt");
    Files.writeString(p, "FID IID sex age y\nf1 a M 30 1.5\nf2 b F 40 2.5\n");
    // BOLT's habit: one table for trait and covariates; the default trait is the first column not named.
    TraitTables.Tables t = TraitTables.read(new TraitTables.Spec(p.toString(), null, null, null, null, List.of("sex"),
        null, List.of("age"), false), null, FAM, "x.fam", false, conf);
    assertEquals("y", t.trait());
    assertEquals(List.of("sex"), t.covar().columns());
    assertArrayEquals(new double[] {30, 40}, t.qcovar().numeric(0));
    // With repeated records they stay columns of the phenotype table (per record).
    TraitTables.Tables r = TraitTables.read(new TraitTables.Spec(p.toString(), null, null, null, null, List.of("sex"),
        null, List.of(), false), null, FAM, "x.fam", true, conf);
    assertNull(r.covar());
    assertEquals(List.of("sex"), r.phenoCovarNames());
    assertEquals("age", r.trait());
    BadInputException e = assertThrows(BadInputException.class, () -> TraitTables.read(new TraitTables.Spec(
        p.toString(), "age", null, null, null, List.of(), null, List.of("age"), false), null, FAM, "x", false, conf));
    assertTrue(e.getMessage().contains("trait column 'age' is also used as a covariate"), e.getMessage());
  }

  /** Several traits from tables read once: each trait's tables are the same objects, each trait's column checked. */
  @Test
  void tablesReadOnceServeEveryTrait(@TempDir Path dir) throws Exception {
    Path p = dir.resolve("p.txt");
    Files.writeString(p, "FID IID age y1 y2\nf1 a 30 1.5 NA\nf2 b 40 2.5 3\n");
    TraitTables.Spec spec = new TraitTables.Spec(p.toString(), null, null, null, null, List.of(), null, List.of("age"),
        false);
    TraitTables.Read once = TraitTables.readOnce(spec, null, FAM, "x.fam", false, List.of(), conf);
    TraitTables.Tables y1 = once.forTrait(spec.withPhenoName("y1"));
    TraitTables.Tables y2 = once.forTrait(spec.withPhenoName("y2"));
    assertEquals("y1", y1.trait());
    assertEquals("y2", y2.trait());
    assertTrue(y1.pheno() == y2.pheno() && y1.qcovar() == y2.qcovar(), "one phenotype and covariate table for both");
    assertArrayEquals(new double[] {30, 40}, y2.qcovar().numeric(0));
    // Each trait as TraitTables.read takes it alone: a missing column names the file, a covariate is no trait.
    BadInputException missing = assertThrows(BadInputException.class, () -> once.forTrait(spec.withPhenoName("y3")));
    assertTrue(missing.getMessage().contains(p.toString()) && missing.getMessage().contains("y3"), missing.getMessage());
    BadInputException covariate = assertThrows(BadInputException.class, () -> once.forTrait(spec.withPhenoName("age")));
    assertTrue(covariate.getMessage().contains("also used as a covariate"), covariate.getMessage());
  }

  /** Several traits: every value column but the covariates taken from the table, each read as its own spec. */
  @Test
  void allPhenoIsEveryValueColumnButTheCovariatesAndNamesAreChecked(@TempDir Path dir) throws Exception {
    Path p = dir.resolve("p.txt");
    Files.writeString(p, "FID IID sex age y1 y.2\nf1 a M 30 1.5 NA\nf2 b F 40 2.5 3\n");
    TraitTables.Spec base = new TraitTables.Spec(p.toString(), null, null, null, null, List.of("sex"), null,
        List.of("age"), false);
    TraitTables.Traits all = new TraitTables.Traits(base, List.of(), true);
    assertTrue(all.many());
    assertEquals(List.of("y1", "y.2"), all.resolve(conf));
    TraitTables.Tables y2 = TraitTables.read(all.spec("y.2"), null, FAM, "x.fam", false, conf);
    assertEquals("y.2", y2.trait());
    assertEquals(List.of("sex"), y2.covar().columns());
    assertTrue(Double.isNaN(y2.pheno().numeric(y2.pheno().column("y.2", "--pheno-name"))[0]), "missing stays missing");
    assertEquals(List.of("y1", "y.2"), new TraitTables.Traits(base, List.of("y1", "y.2"), false).resolve(conf));
    for (Runnable bad : List.<Runnable>of(
        () -> new TraitTables.Traits(base, List.of("y1"), true),
        () -> new TraitTables.Traits(base, List.of("y1", "y1"), false),
        () -> new TraitTables.Traits(base, List.of("y1", "a/b"), false),
        () -> new TraitTables.Traits(new TraitTables.Spec(p.toString(), null, 2, null, null, List.of(), null, List.of(),
            false), List.of(), true))) {
      assertThrows(BadInputException.class, bad::run);
    }
    // A named trait that is no column, or a covariate, fails here, naming the file: before any trait is fitted.
    BadInputException missing = assertThrows(BadInputException.class,
        () -> new TraitTables.Traits(base, List.of("y1", "nope"), false).resolve(conf));
    assertTrue(missing.getMessage().contains(p.toString()) && missing.getMessage().contains("'nope' not found"),
        missing.getMessage());
    BadInputException covariate = assertThrows(BadInputException.class,
        () -> new TraitTables.Traits(base, List.of("y1", "age"), false).resolve(conf));
    assertTrue(covariate.getMessage().contains("'age' is also used as a covariate"), covariate.getMessage());
    Path covOnly = dir.resolve("c.txt");
    Files.writeString(covOnly, "FID IID age\nf1 a 30\n");
    BadInputException e = assertThrows(BadInputException.class, () -> new TraitTables.Traits(new TraitTables.Spec(
        covOnly.toString(), null, null, null, null, List.of(), null, List.of("age"), false), List.of(), true)
        .resolve(conf));
    assertTrue(e.getMessage().contains("no trait left"), e.getMessage());
  }

  @Test
  void traitFromTheFilesetFamAndByPosition(@TempDir Path dir) throws Exception {
    Path fam = dir.resolve("x.fam");
    Files.writeString(fam, "f1 a 0 0 1 -9 7.5\nf2 b 0 0 2 -9 NA\n");
    TraitTables.Tables t = TraitTables.read(new TraitTables.Spec(null, null, null, 2, null, List.of(), null, List.of(),
        false), fam.toString(), FAM, "x.fam", false, conf);
    assertEquals("PHENO2", t.trait());
    assertArrayEquals(new double[] {7.5, Double.NaN}, t.pheno().numeric(1));
    Path csv = dir.resolve("p.csv");
    Files.writeString(csv, "b,1,2\na,3,4\n");
    TraitTables.Tables m = TraitTables.read(new TraitTables.Spec(csv.toString(), null, 2, null, null, List.of(), null,
        List.of(), true), null, FAM, "x.fam", false, conf);
    assertEquals("V2", m.trait());
    assertEquals(List.of(FAM.get(1), FAM.get(0)), m.pheno().ids());
    BadInputException e = assertThrows(BadInputException.class, () -> TraitTables.read(new TraitTables.Spec(
        csv.toString(), null, 3, null, null, List.of(), null, List.of(), true), null, FAM, "x.fam", false, conf));
    assertTrue(e.getMessage().contains("--mpheno 3: the table has 2 value column(s)"), e.getMessage());
    e = assertThrows(BadInputException.class, () -> new TraitTables.Spec(null, null, null, null, null, List.of(), null,
        List.of(), false));
    assertTrue(e.getMessage().contains("--pheno FILE is required"), e.getMessage());
  }
}
