package org.lmmspark.jobs.genotype;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.engine.testing.VcfFixture;
import org.lmmspark.jobs.assoc.AssocJob;
import org.lmmspark.jobs.assoc.AssocOutputs;
import org.lmmspark.jobs.cli.Lmmspark;
import org.lmmspark.jobs.testing.SharedSpark;

/**
 * Every command on genotype sources other than the {@code .bed}, end to end on Spark, on the regenie
 * example whose BGEN copies hold the same genotypes as its {@code .bed} (refdata BGEN.md).
 */
class GenotypeFormatsJobTest {
  private final Configuration conf = new Configuration();

  /**
   * {@code lmmspark grm --bgen example.bgen --sample example_3chr.sample} through the real entry point,
   * three variant ranges, against PLINK 1.9's {@code --make-grm-bin} on the {@code .bed}
   * (refdata/regenie-example EXPECTED.md §1): 1e-5 per entry (float32 output), pair counts exact.
   */
  @Test
  void grmCommandOnBgenEqualsPlinkOnBed(@TempDir Path dir) {
    Path ref = RefData.dir("regenie-example");
    String out = dir.resolve("g").toString();
    int exit = Lmmspark.run("grm", "--bgen", ref.resolve("example.bgen").toString(), "--sample",
        ref.resolve("example_3chr.sample").toString(), "--out", out, "--partitions", "3", "--tile-size", "128",
        "--master", "local[2]");
    assertEquals(0, exit);
    Grm expected = GctaGrmFiles.read(ref.resolve("expected/gcta_grm").toString(), conf);
    Grm actual = GctaGrmFiles.read(out, conf);
    assertEquals(expected.ids(), actual.ids());
    for (int j = 0; j < 500; j++) {
      for (int k = 0; k <= j; k++) {
        assertClose(actual.get(j, k), expected.get(j, k), 1e-5, 0, "A(" + j + "," + k + ")");
        assertEquals(expected.count(j, k), actual.count(j, k));
      }
    }
  }

  /**
   * Association (exact MLMA, GRM computed by the job, four variant ranges, so three start mid-file at
   * their block offsets) on the zstd BGEN without sample IDs equals the same run on
   * {@code example_3chr.bed}: same variants, χ² and β to 1e-6 relative (the same float
   * genotypes through the same kernels), and the {@code info} column is 1 for these hard calls (NA for
   * the {@code .bed}).
   */
  @Test
  void assocOnZstdBgenEqualsBed(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    String pheno = ref.resolve("phenotype.txt").toString();
    String covar = ref.resolve("covariates.txt").toString();
    GenotypeInput bgen = GenotypeInput.bgen(ref.resolve("example_3chr_zstd.bgen").toString(),
        ref.resolve("example_3chr.sample").toString());
    GenotypeInput bed = GenotypeInput.bfile(ref.resolve("example_3chr").toString());
    String outBgen = dir.resolve("bgen").toString();
    AssocJob.Result a = AssocJob.run(SharedSpark.jsc(), new AssocJob.Options(bgen, pheno, "Y2", null, covar, null,
        outBgen, false, 0, false, AssocJob.Test.EXACT, 4, 64));
    AssocJob.Result b = AssocJob.run(SharedSpark.jsc(), new AssocJob.Options(bed, pheno, "Y2", null, covar, null,
        dir.resolve("bed").toString(), false, 0, false, AssocJob.Test.EXACT, 4, 64));
    assertEquals(500, a.table().size());
    assertEquals(b.table().size(), a.table().size());
    for (int i = 0; i < a.table().size(); i++) {
      assertEquals(b.table().variant(i), a.table().variant(i));
      assertClose(a.table().statistic(i), b.table().statistic(i), 1e-9, 1e-6, "chi2 " + i);
      assertClose(a.table().beta(i), b.table().beta(i), 1e-9, 1e-6, "beta " + i);
      assertEquals(1.0, a.table().info(i), 1e-12);
      assertTrue(Double.isNaN(b.table().info(i)));
    }
    try (BufferedReader in = new BufferedReader(new InputStreamReader(new GZIPInputStream(
        Files.newInputStream(Path.of(AssocOutputs.tsvPath(outBgen)))), StandardCharsets.UTF_8))) {
      List<String> header = List.of(in.readLine().split("\t"));
      String[] row = in.readLine().split("\t");
      assertEquals(1.0, Double.parseDouble(row[header.indexOf("info")]), 1e-12);
    }
  }

  /**
   * {@code lmmspark assoc --vcf} through the real entry point (the GRM computed from the VCF, exact MLMA,
   * two variant ranges) on a VCF made here from {@code example_3chr.bed} (GT calls, ALT = A1): the same
   * χ² as {@code AssocJob} on the {@code .bed} itself, to 1e-6 relative.
   */
  @Test
  void assocCommandOnVcfEqualsBed(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    String pheno = ref.resolve("phenotype.txt").toString();
    String covar = ref.resolve("covariates.txt").toString();
    String bfile = ref.resolve("example_3chr").toString();
    Path vcf = dir.resolve("example_3chr.vcf.gz");
    VcfFixture.writeCalls(PlinkFileset.open(bfile, conf), vcf);
    String out = dir.resolve("vcf").toString();
    int exit = Lmmspark.run("assoc", "--vcf", vcf.toString(), "--pheno", pheno, "--pheno-name", "Y2", "--qcovar",
        covar, "--test", "exact", "--partitions", "2", "--out", out, "--master", "local[2]");
    assertEquals(0, exit);
    AssocJob.Result b = AssocJob.run(SharedSpark.jsc(), new AssocJob.Options(GenotypeInput.bfile(bfile), pheno, "Y2",
        null, covar, null, dir.resolve("bed").toString(), false, 0, false, AssocJob.Test.EXACT, 2, 64));
    try (BufferedReader in = new BufferedReader(new InputStreamReader(new GZIPInputStream(
        Files.newInputStream(Path.of(AssocOutputs.tsvPath(out)))), StandardCharsets.UTF_8))) {
      List<String> header = List.of(in.readLine().split("\t"));
      for (int i = 0; i < b.table().size(); i++) {
        String[] row = in.readLine().split("\t");
        assertEquals(b.table().variant(i).id(), row[header.indexOf("variant_id")]);
        assertEquals("C", row[header.indexOf("effect_allele")]);
        assertClose(Double.parseDouble(row[header.indexOf("chi2")]), b.table().statistic(i), 1e-9, 1e-5,
            "chi2 of " + row[header.indexOf("variant_id")]);
        assertEquals(1.0, Double.parseDouble(row[header.indexOf("info")]), 1e-12);
      }
    }
  }

  /**
   * An indexed VCF (the regenie example's {@code .bed} as GT calls, positions ×20,000, one BGZF block per
   * record, tabix index by htsjdk): its sites are listed by several Spark tasks planned from the index,
   * giving the same sites and virtual offsets as one pass; {@code lmmspark grm --vcf} on it equals PLINK
   * 1.9's {@code --make-grm-bin} on the {@code .bed} (refdata/regenie-example EXPECTED.md §1; 1e-5 per
   * entry, float32 output); and with {@code --from-bp/--to-bp} (positions scaled alike) it equals
   * {@code grm --bfile} with the same selection, pair counts included.
   */
  @Test
  void indexedVcfListedByTasksGivesPlinksGrm(@TempDir Path dir) {
    Path ref = RefData.dir("regenie-example");
    String bfile = ref.resolve("example").toString();
    Path vcf = dir.resolve("example.vcf.gz");
    VcfFixture.bgzipPerLine(vcf, VcfFixture.calls(PlinkFileset.open(bfile, conf), 20_000));
    VcfFixture.tabix(vcf);
    SharedSpark.jsc();
    org.lmmspark.engine.io.vcf.VcfFile listed = (org.lmmspark.engine.io.vcf.VcfFile) GenotypeSources.open(
        GenotypeInput.vcf(vcf.toString()), conf);
    org.lmmspark.engine.io.vcf.VcfFile onePass = org.lmmspark.engine.io.vcf.VcfFile.open(vcf.toString(), conf);
    assertTrue(listed.plan().chunks().size() > 1, listed.plan().describe());
    assertEquals(onePass.variants(), listed.variants());
    for (int v = 0; v < onePass.variantCount(); v++) {
      assertEquals(onePass.position(v), listed.position(v));
    }
    String out = dir.resolve("g").toString();
    assertEquals(0, Lmmspark.run("grm", "--vcf", vcf.toString(), "--out", out, "--partitions", "3", "--master", "local[2]"));
    Grm expected = GctaGrmFiles.read(ref.resolve("expected/gcta_grm").toString(), conf);
    Grm actual = GctaGrmFiles.read(out, conf);
    for (int j = 0; j < 500; j++) {
      assertEquals(expected.ids().get(j).iid(), actual.ids().get(j).iid());
      for (int k = 0; k <= j; k++) {
        assertClose(actual.get(j, k), expected.get(j, k), 1e-5, 0, "A(" + j + "," + k + ")");
        assertEquals(expected.count(j, k), actual.count(j, k));
      }
    }
    String sub = dir.resolve("sub").toString();
    String bedSub = dir.resolve("bedsub").toString();
    assertEquals(0, Lmmspark.run("grm", "--vcf", vcf.toString(), "--chr", "1", "--from-bp", "4000000", "--to-bp",
        "12000000", "--out", sub, "--master", "local[2]"));
    assertEquals(0, Lmmspark.run("grm", "--bfile", bfile, "--chr", "1", "--from-bp", "200", "--to-bp", "600", "--out",
        bedSub, "--master", "local[2]"));
    Grm a = GctaGrmFiles.read(sub, conf);
    Grm b = GctaGrmFiles.read(bedSub, conf);
    for (int j = 0; j < 500; j++) {
      for (int k = 0; k <= j; k++) {
        assertEquals(b.get(j, k), a.get(j, k), "selected A(" + j + "," + k + ")");
        assertEquals(b.count(j, k), a.count(j, k));
      }
    }
  }

  /**
   * A BCF written by bcftools (the CSI-indexed fixture of {@code BcfFileTest}, one BGZF block per record)
   * read by Spark: its sites listed by several tasks planned from the CSI give the one-pass list, and
   * {@code lmmspark grm --vcf X.bcf --spark} equals {@code grm} on the VCF it was made from entry for entry,
   * pair counts included (the same dosages, BcfFileTest, through the same kernels and partitions); so does
   * {@code pca}.
   */
  @Test
  void grmAndPcaOnBcfEqualThoseOnItsVcf(@TempDir Path dir) throws Exception {
    Path bcf = VcfFixture.bcfResource("mixed-blocks.bcf", dir);
    Path vcf = dir.resolve("mixed.vcf.gz");
    VcfFixture.bgzip(vcf, Files.readString(VcfFixture.bcfResource("mixed.vcf", dir)));
    SharedSpark.jsc();
    org.lmmspark.engine.io.vcf.VcfFile listed = (org.lmmspark.engine.io.vcf.VcfFile) GenotypeSources.open(
        GenotypeInput.vcf(bcf.toString()), conf);
    assertTrue(listed.plan().chunks().size() > 1, listed.plan().describe());
    assertEquals(org.lmmspark.engine.io.vcf.VcfFile.open(bcf.toString(), conf).variants(), listed.variants());
    String outBcf = dir.resolve("bcf").toString();
    String outVcf = dir.resolve("vcf").toString();
    assertEquals(0, Lmmspark.run("grm", "--vcf", bcf.toString(), "--out", outBcf, "--partitions", "3", "--spark",
        "--master", "local[2]"));
    assertEquals(0, Lmmspark.run("grm", "--vcf", vcf.toString(), "--out", outVcf, "--partitions", "3", "--spark",
        "--master", "local[2]"));
    Grm a = GctaGrmFiles.read(outBcf, conf);
    Grm b = GctaGrmFiles.read(outVcf, conf);
    assertEquals(b.ids(), a.ids());
    assertEquals(12, a.ids().size());
    for (int j = 0; j < 12; j++) {
      for (int k = 0; k <= j; k++) {
        assertEquals(b.get(j, k), a.get(j, k), "A(" + j + "," + k + ")");
        assertEquals(b.count(j, k), a.count(j, k));
      }
    }
    // pca takes the same option: the same eigenvalues and eigenvectors, to the printed digit.
    String pcaBcf = dir.resolve("pca-bcf").toString();
    String pcaVcf = dir.resolve("pca-vcf").toString();
    assertEquals(0, Lmmspark.run("pca", "--vcf", bcf.toString(), "--pcs", "3", "--out", pcaBcf, "--master", "local[2]"));
    assertEquals(0, Lmmspark.run("pca", "--vcf", vcf.toString(), "--pcs", "3", "--out", pcaVcf, "--master", "local[2]"));
    for (String ext : List.of(".eigenval", ".eigenvec")) {
      assertEquals(Files.readAllLines(Path.of(pcaVcf + ext)), Files.readAllLines(Path.of(pcaBcf + ext)), ext);
    }
  }

  /** Genotype options are checked before anything runs: one line, exit code 2. */
  @Test
  void genotypeOptionsAreValidated(@TempDir Path dir) {
    Path ref = RefData.dir("regenie-example");
    String out = dir.resolve("x").toString();
    assertEquals(2, Lmmspark.run("grm", "--sample", ref.resolve("example_3chr.sample").toString(), "--bfile",
        ref.resolve("example").toString(), "--out", out));
    assertEquals(2, Lmmspark.run("grm", "--bfile", ref.resolve("example").toString(), "--bgen",
        ref.resolve("example.bgen").toString(), "--out", out));
    assertEquals(2, Lmmspark.run("grm", "--out", out));
    // No sample IDs in the file and no --sample: refused, naming the option.
    assertEquals(2, Lmmspark.run("grm", "--bgen", ref.resolve("example_3chr_zstd.bgen").toString(), "--out", out));
  }
}
