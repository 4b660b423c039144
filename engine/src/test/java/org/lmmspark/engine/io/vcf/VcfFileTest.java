package org.lmmspark.engine.io.vcf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.DosageBlockReader;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.io.Variant;
import org.lmmspark.engine.io.bgen.BgenFile;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.engine.testing.VcfFixture;

/**
 * VCF sources made here from genotypes with known values (the regenie example's {@code .bed}; the BGEN
 * example's dosages), written as VCF text and bgzipped by htsjdk's BGZF writer, then read back through
 * {@link VcfFile}: GT, DS and GP fields, missing values, ranges started at a BGZF virtual offset.
 */
class VcfFileTest {
  private static final Configuration CONF = new Configuration();

  /** Dosages (counted allele) of variants {@code [first, end)} of a source, all samples; also INFO. */
  static double[][] dosages(GenotypeSource s, int first, int end, double[] info) {
    int n = s.sampleCount();
    int[] rows = new int[n];
    for (int i = 0; i < n; i++) {
      rows[i] = i;
    }
    double[][] out = new double[s.variantCount()][];
    new DosageBlockReader(s.reader(), rows, 0, 64).read(first, end, s.position(first), null, CONF,
        new VariantFilterCounts(n), (DosageBlock b) -> {
          for (int c = 0; c < b.m; c++) {
            double[] x = new double[n];
            for (int i = 0; i < n; i++) {
              x[i] = b.values[c * n + i] + 2 * b.a1Frequency[c];
            }
            out[b.variantIndex[c]] = x;
            if (info != null) {
              info[b.variantIndex[c]] = b.info[c];
            }
          }
        });
    return out;
  }

  /**
   * The regenie example's {@code .bed} written as GT calls (REF for the .bim A2, ALT for A1, PLINK's
   * {@code --export vcf} orientation): every ALT count equals the {@code .bed} A1 count exactly, sites and
   * sample names carried over, and a range read from the middle of the file (its BGZF virtual offset)
   * gives the same values.
   */
  @Test
  void genotypeCallsEqualTheBed(@TempDir Path dir) throws IOException {
    Path ref = RefData.dir("regenie-example");
    PlinkFileset bed = PlinkFileset.open(ref.resolve("example_3chr").toString(), CONF);
    double[][] truth = dosages(bed, 0, bed.variantCount(), null);
    Path file = dir.resolve("calls.vcf.gz");
    VcfFixture.writeCalls(bed, file);
    VcfFile f = VcfFile.open(file.toString(), CONF);
    assertEquals(bed.variantCount(), f.variantCount());
    assertEquals(bed.variants().get(0).id(), f.variants().get(0).id());
    assertEquals("2", f.variants().get(60).chromosome());
    assertEquals(new SampleId("1", "1"), f.samples().get(0));
    double[] info = new double[f.variantCount()];
    double[][] got = dosages(f, 0, f.variantCount(), info);
    double[][] mid = dosages(f, 137, f.variantCount(), null);
    for (int v = 0; v < truth.length; v++) {
      for (int i = 0; i < truth[v].length; i++) {
        assertClose(got[v][i], truth[v][i], 1e-5, 0, "variant " + v + " sample " + i);
        if (v >= 137) {
          assertClose(mid[v][i], truth[v][i], 1e-5, 0, "from the middle: variant " + v + " sample " + i);
        }
      }
      assertEquals(1.0, info[v], 1e-12, "INFO of hard calls");
    }
  }

  /**
   * The BGEN example's 8-bit dosages written as DS (one VCF) and as GP (another), REF = the BGEN's
   * second allele, ALT = its first, missing samples as {@code .}: DS gives the BGEN dosages to the 6
   * printed decimals (1e-6) with no INFO (NaN: DS carries no probabilities), GP the same dosages and the
   * BGEN's INFO score (1e-5: the probabilities are printed to 7 decimals).
   */
  @Test
  void dosageAndProbabilityFieldsEqualTheBgen(@TempDir Path dir) throws IOException {
    Path ref = RefData.dir("bgen-example");
    BgenFile bgen = BgenFile.open(ref.resolve("example.8bits.bgen").toString(), null, CONF);
    int n = bgen.sampleCount();
    int m = bgen.variantCount();
    double[] bgenInfo = new double[m];
    double[][] truth = dosages(bgen, 0, m, bgenInfo);
    // Probabilities per sample from the BGEN itself, to write GP.
    double[][][] probs = new double[m][][];
    try (org.lmmspark.engine.io.bgen.BgenReader r = new org.lmmspark.engine.io.bgen.BgenReader(bgen.header(),
        bgen.position(0), CONF)) {
      for (int v = 0; v < m; v++) {
        r.next();
        probs[v] = r.probabilities().probabilities;
      }
    }
    String head = "##fileformat=VCFv4.2\n"
        + "##FORMAT=<ID=DS,Number=1,Type=Float,Description=\"ALT dosage\">\n"
        + "##FORMAT=<ID=GP,Number=G,Type=Float,Description=\"Genotype probabilities\">\n"
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT";
    StringBuilder ds = new StringBuilder(head);
    StringBuilder gp = new StringBuilder(head);
    for (SampleId s : bgen.samples()) {
      ds.append('\t').append(s.iid());
      gp.append('\t').append(s.iid());
    }
    ds.append('\n');
    gp.append('\n');
    for (int v = 0; v < m; v++) {
      Variant x = bgen.variants().get(v);
      String site = "1\t" + x.bp() + "\t" + x.id() + "\t" + x.a2() + "\t" + x.a1() + "\t.\t.\t.\t";
      ds.append(site).append("DS");
      gp.append(site).append("GP");
      for (int i = 0; i < n; i++) {
        double[] p = probs[v][i];
        if (Double.isNaN(truth[v][i])) {
          ds.append("\t.");
          gp.append("\t.");
        } else {
          ds.append('\t').append(String.format(Locale.ROOT, "%.6f", truth[v][i]));
          // GP is ordered REF/REF, REF/ALT, ALT/ALT: the BGEN's BB, AB, AA.
          gp.append('\t').append(String.format(Locale.ROOT, "%.7f,%.7f,%.7f", p[2], p[1], p[0]));
        }
      }
      ds.append('\n');
      gp.append('\n');
    }
    Path dsFile = dir.resolve("ds.vcf.gz");
    Path gpFile = dir.resolve("gp.vcf.gz");
    VcfFixture.bgzip(dsFile, ds.toString());
    VcfFixture.bgzip(gpFile, gp.toString());
    double[] dsInfo = new double[m];
    double[] gpInfo = new double[m];
    VcfFile dsVcf = VcfFile.open(dsFile.toString(), CONF);
    assertEquals("A", dsVcf.variants().get(0).a1(), "ALT is the counted allele");
    double[][] fromDs = dosages(dsVcf, 0, m, dsInfo);
    double[][] fromGp = dosages(VcfFile.open(gpFile.toString(), CONF), 0, m, gpInfo);
    for (int v = 0; v < m; v++) {
      for (int i = 0; i < n; i++) {
        assertClose(fromDs[v][i], Double.isNaN(truth[v][i]) ? fromDs[v][i] : truth[v][i], 1e-5, 0, "DS " + v + "," + i);
        assertClose(fromGp[v][i], Double.isNaN(truth[v][i]) ? fromGp[v][i] : truth[v][i], 1e-5, 0, "GP " + v + "," + i);
      }
      assertTrue(Double.isNaN(dsInfo[v]), "no INFO from DS");
      assertClose(gpInfo[v], bgenInfo[v], 1e-5, 0, "INFO from GP, variant " + v);
    }
  }

  /** A plain-text VCF (not BGZF), a multi-allelic record and broken BCFs are refused, naming the file and the fix. */
  @Test
  void unsupportedInputsAreRefused(@TempDir Path dir) throws IOException {
    Path ref = RefData.dir("bgen-example");
    BadInputException plain = assertThrows(BadInputException.class,
        () -> VcfFile.open(ref.resolve("complex.vcf").toString(), CONF));
    assertTrue(plain.getMessage().contains("complex.vcf") && plain.getMessage().contains("bgzip"), plain.getMessage());
    Path multi = dir.resolve("multi.vcf.gz");
    VcfFixture.bgzip(multi, "##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\n"
        + "1\t10\trs1\tA\tG\t.\t.\t.\tGT\t0/1\t1/1\n"
        + "1\t20\trs2\tA\tG,T\t.\t.\t.\tGT\t0/1\t1/2\n");
    BadInputException e = assertThrows(BadInputException.class, () -> VcfFile.open(multi.toString(), CONF).variants());
    assertTrue(e.getMessage().contains("alleles") && e.getMessage().contains("bcftools norm"), e.getMessage());
    // A BCF's magic then text (read as BCF since BCF is read too: BcfFileTest), bgzipped or not: refused, naming the file.
    Path bcf = dir.resolve("x.bcf");
    VcfFixture.bgzip(bcf, "BCF\u0002\u0002 header and records");
    BadInputException b = assertThrows(BadInputException.class, () -> VcfFile.open(bcf.toString(), CONF));
    assertTrue(b.getMessage().contains("x.bcf") && b.getMessage().contains("truncated BCF header"), b.getMessage());
    Path plainBcf = dir.resolve("plain.bcf");
    java.nio.file.Files.write(plainBcf, new byte[] {'B', 'C', 'F', 2, 2, 0, 0});
    b = assertThrows(BadInputException.class, () -> VcfFile.open(plainBcf.toString(), CONF));
    assertTrue(b.getMessage().contains("uncompressed BCF") && b.getMessage().contains("bcftools view -Ob"),
        b.getMessage());
  }

  /**
   * An indexed VCF (example_3chr as GT calls, positions ×20,000 so that every site has its own 16 kb
   * window, one BGZF block per record, tabix index by htsjdk's indexer) planned into several chunks:
   * each chunk's listing starts where the previous one stopped, and together they give the same sites
   * and virtual offsets as one pass over the file, and dosages equal to the {@code .bed}'s.
   */
  @Test
  void tabixChunksJoinIntoTheOnePassList(@TempDir Path dir) {
    Path ref = RefData.dir("regenie-example");
    PlinkFileset bed = PlinkFileset.open(ref.resolve("example_3chr").toString(), CONF);
    Path file = dir.resolve("calls.vcf.gz");
    VcfFixture.bgzipPerLine(file, VcfFixture.calls(bed, 20_000));
    VcfFixture.tabix(file);
    VcfFile onePass = VcfFile.open(file.toString(), CONF);
    VcfFile.Plan plan = VcfFile.plan(file.toString(), CONF, 7);
    assertEquals(file + ".tbi", plan.index());
    assertTrue(plan.chunks().size() >= 4 && plan.chunks().size() <= 7, plan.chunks().toString());
    List<VcfFile.Sites> listed = new ArrayList<>();
    for (VcfFile.Chunk c : plan.chunks()) {
      listed.add(VcfFile.list(file.toString(), c, CONF));
    }
    assertTrue(listed.stream().allMatch(x -> !x.variants().isEmpty()), "no empty chunk");
    java.util.Collections.reverse(listed); // tasks' results may come back in any order
    VcfFile split = VcfFile.assemble(plan, listed, CONF);
    assertEquals(onePass.variants(), split.variants());
    for (int v = 0; v < bed.variantCount(); v++) {
      assertEquals(onePass.position(v), split.position(v), "virtual offset of " + v);
      assertEquals(bed.variants().get(v).id(), split.variants().get(v).id());
      assertEquals(bed.variants().get(v).bp() * 20_000, split.variants().get(v).bp());
    }
    double[][] truth = dosages(bed, 0, bed.variantCount(), null);
    for (VcfFile.Chunk c : plan.chunks()) { // each chunk's first variant read from its own offset
      int first = split.variants().indexOf(listed.get(plan.chunks().size() - 1 - c.index()).variants().get(0));
      double[][] got = dosages(split, first, first + 1, null);
      for (int i = 0; i < bed.sampleCount(); i++) {
        assertClose(got[first][i], truth[first][i], 1e-6, 0, "chunk " + c.index() + " sample " + i);
      }
    }
  }

  /**
   * A CSI index written by bcftools 1.16 ({@code bcftools index -c}; fixture in
   * {@code src/test/resources/vcf}): chunks planned from it list the same sites as one pass, and the ALT
   * counts read back equal the GT text counted here by hand.
   */
  @Test
  void csiChunksFromBcftoolsJoinIntoTheOnePassList(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("three-contigs.vcf.gz");
    for (String name : List.of("three-contigs.vcf.gz", "three-contigs.vcf.gz.csi")) {
      try (java.io.InputStream in = VcfFileTest.class.getResourceAsStream("/vcf/" + name)) {
        java.nio.file.Files.copy(in, dir.resolve(name));
      }
    }
    VcfFile.Plan plan = VcfFile.plan(file.toString(), CONF, 3);
    assertEquals(file + ".csi", plan.index());
    assertEquals(3, plan.chunks().size(), plan.chunks().toString());
    VcfFile split = VcfFile.assemble(plan, VcfFile.IN_TURN.list(plan, CONF), CONF);
    VcfFile onePass = VcfFile.open(file.toString(), CONF);
    assertEquals(30, split.variantCount());
    assertEquals(onePass.variants(), split.variants());
    double[][] got = dosages(split, 0, 30, null);
    List<String> lines;
    try (java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(
        new java.util.zip.GZIPInputStream(java.nio.file.Files.newInputStream(file)), java.nio.charset.StandardCharsets.UTF_8))) {
      lines = r.lines().filter(l -> !l.startsWith("#")).toList();
    }
    for (int v = 0; v < 30; v++) {
      String[] f = lines.get(v).split("\t");
      assertEquals(split.position(v), onePass.position(v));
      for (int i = 0; i < 8; i++) {
        String gt = f[9 + i];
        if (!gt.equals("./.")) { // a missing call comes back mean-imputed
          // 1e-6: the block holds float32 centered values, read back as value + 2p
          assertClose(got[v][i], (gt.charAt(0) - '0') + (gt.charAt(2) - '0'), 1e-6, 0, "record " + v + " sample " + i);
        }
      }
    }
  }

  /**
   * Without an index the plan is one chunk, whatever the number of tasks asked for, and says so; an
   * index that belongs to another file is refused by name when the chunks are listed.
   */
  @Test
  void withoutIndexOneChunkAndAForeignIndexIsRefused(@TempDir Path dir) throws IOException {
    Path ref = RefData.dir("regenie-example");
    PlinkFileset bed = PlinkFileset.open(ref.resolve("example_3chr").toString(), CONF);
    Path file = dir.resolve("calls.vcf.gz");
    VcfFixture.bgzipPerLine(file, VcfFixture.calls(bed, 20_000));
    VcfFile.Plan plan = VcfFile.plan(file.toString(), CONF, 8);
    assertEquals(1, plan.chunks().size());
    assertTrue(plan.describe().contains("no .tbi/.csi index") && plan.describe().contains("one task"), plan.describe());
    VcfFile noIndex = VcfFile.open(file.toString(), CONF, 8, VcfFile.IN_TURN);
    assertEquals(bed.variantCount(), noIndex.variantCount());
    // The index of another file: its record starts are not this file's.
    Path other = dir.resolve("other.vcf.gz");
    VcfFixture.bgzipPerLine(other, VcfFixture.calls(bed, 10_000).replace("\tA\tC\t", "\tAT\tCG\t"));
    VcfFixture.tabix(other);
    java.nio.file.Files.move(Path.of(other + ".tbi"), Path.of(file + ".tbi"));
    BadInputException e = assertThrows(BadInputException.class,
        () -> VcfFile.open(file.toString(), CONF, 8, VcfFile.IN_TURN).variants());
    assertTrue(e.getMessage().contains("re-index"), e.getMessage());
  }
}
