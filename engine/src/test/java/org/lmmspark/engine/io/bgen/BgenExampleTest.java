package org.lmmspark.engine.io.bgen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.DosageBlock;
import org.lmmspark.engine.genotype.DosageBlockReader;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.testing.RefData;

/**
 * Every file of the BGEN format's own example folder ({@code ../shared/refdata/bgen-example}, see its
 * EXPECTED.md) decoded against the truth given there: the GEN text the files were made from, plink2's
 * dosage exports, the {@code .haps} of the phased file and the VCF of the multi-allelic, mixed-ploidy
 * file.
 */
class BgenExampleTest {
  private static final Configuration CONF = new Configuration();

  private static Path dir() {
    return RefData.dir("bgen-example");
  }

  /** All first-allele dosages of a file, variant by variant (NaN = missing). */
  static double[][] dosages(BgenFile file) {
    int m = file.variants().size();
    double[][] out = new double[m][];
    VariantDosages d = new VariantDosages(file.samples().size());
    try (BgenReader r = new BgenReader(file.header(), file.offset(0), CONF)) {
      for (int v = 0; v < m; v++) {
        BgenReader.VariantHeader h = r.next();
        assertEquals(file.offset(v), h.start(), "variant " + v + " start");
        r.dosages(d);
        out[v] = d.dosage.clone();
      }
    }
    return out;
  }

  /** Rows of a plink2 {@code --export A-transpose} file: the dosages after the 6 leading columns. */
  static List<double[]> traw(Path path) throws IOException {
    List<double[]> rows = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(
        path.toString().endsWith(".gz") ? new GZIPInputStream(Files.newInputStream(path)) : Files.newInputStream(path),
        StandardCharsets.UTF_8))) {
      r.readLine();
      String line;
      while ((line = r.readLine()) != null) {
        String[] f = line.split("\t");
        double[] x = new double[f.length - 6];
        for (int i = 0; i < x.length; i++) {
          x[i] = f[6 + i].equals("NA") ? Double.NaN : Double.parseDouble(f[6 + i]);
        }
        rows.add(x);
      }
    }
    return rows;
  }

  /** The GEN text: per variant, per sample, P(AA), P(AB), P(BB). */
  static List<double[][]> gen() throws IOException {
    List<double[][]> out = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(
        new GZIPInputStream(Files.newInputStream(dir().resolve("example.gen.gz"))), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        String[] f = line.trim().split("\\s+");
        int n = (f.length - 6) / 3;
        double[][] p = new double[n][3];
        for (int i = 0; i < n; i++) {
          for (int k = 0; k < 3; k++) {
            p[i][k] = Double.parseDouble(f[6 + 3 * i + k]);
          }
        }
        out.add(p);
      }
    }
    return out;
  }

  @Test
  void headersAsInExpectedMd() {
    BgenHeader h8 = BgenHeader.read(dir().resolve("example.8bits.bgen").toString(), CONF);
    // EXPECTED.md "Layout facts": flags 0x80000009, offset 6028, M = 199, N = 500.
    assertEquals(BgenHeader.ZLIB, h8.compression());
    assertEquals(2, h8.layout());
    assertTrue(h8.hasSampleIds());
    assertEquals(6028 + 4, h8.firstVariant());
    assertEquals(199, h8.variantCount());
    assertEquals(500, h8.sampleCount());
    BgenHeader v11 = BgenHeader.read(dir().resolve("example.v11.bgen").toString(), CONF);
    // flags 0x00000005: zlib, layout 1, no sample block; offset 5920.
    assertEquals(1, v11.layout());
    assertEquals(BgenHeader.ZLIB, v11.compression());
    assertFalse(v11.hasSampleIds());
    assertEquals(5920 + 4, v11.firstVariant());
    assertEquals(BgenHeader.ZSTD, BgenHeader.read(dir().resolve("example.16bits.zstd.bgen").toString(), CONF).compression());
  }

  /**
   * First-allele dosages of every example file against plink2
   * ({@code plink2 --bgen example.<x>.bgen ref-first --sample example.sample --export A-transpose}):
   * tolerance 1e-4 (plink2's 1/16384 dosage grid and its 5 printed digits); NA ↔ missing. The zstd
   * file is checked against the 16-bit export (EXPECTED.md: byte-identical plink2 output).
   */
  @Test
  void dosagesMatchPlink2() throws IOException {
    String[][] cases = {
        {"example.8bits.bgen", "plink2_8bits"}, {"example.16bits.bgen", "plink2_16bits"},
        {"example.16bits.zstd.bgen", "plink2_16bits"}, {"example.v11.bgen", "plink2_v11"}};
    for (String[] c : cases) {
      BgenFile file = BgenFile.open(dir().resolve(c[0]).toString(), dir().resolve("example.sample").toString(), CONF);
      assertEquals(199, file.variants().size());
      assertEquals("sample_001", file.samples().get(0).iid());
      assertEquals("RSID_2", file.variants().get(0).id());
      assertEquals("A", file.variants().get(0).a1());
      assertEquals("G", file.variants().get(0).a2());
      double[][] ours = dosages(file);
      List<double[]> plink2 = traw(dir().resolve("expected").resolve(c[1] + ".allele1_dosage.traw.gz"));
      assertEquals(199, plink2.size());
      int missing = 0;
      for (int v = 0; v < 199; v++) {
        for (int i = 0; i < 500; i++) {
          assertClose(ours[v][i], plink2.get(v)[i], 1e-4, 0, c[0] + " variant " + v + " sample " + i);
          missing += Double.isNaN(ours[v][i]) ? 1 : 0;
        }
      }
      // EXPECTED.md: sample_001 is missing at RSID_2 and RSID_7.
      assertEquals(2, missing, c[0] + " missing calls");
    }
  }

  /**
   * The stored integers of RSID_2 (EXPECTED.md table): sample_002 is (7, 2) at 8 bits → 16/255 and
   * (1822, 566) at 16 bits → 4210/65535; sample_003 (4, 13) → 21/255 and (1138, 3256) → 5532/65535.
   * Exact to 1e-12 (double arithmetic on exact fractions).
   */
  @Test
  void storedIntegersGiveExactDosages() {
    String sample = dir().resolve("example.sample").toString();
    double[][] d8 = dosages(BgenFile.open(dir().resolve("example.8bits.bgen").toString(), sample, CONF));
    assertClose(d8[0][1], 16.0 / 255, 1e-12, 0, "8-bit RSID_2 sample_002");
    assertClose(d8[0][2], 21.0 / 255, 1e-12, 0, "8-bit RSID_2 sample_003");
    double[][] d16 = dosages(BgenFile.open(dir().resolve("example.16bits.bgen").toString(), sample, CONF));
    assertClose(d16[0][1], 4210.0 / 65535, 1e-12, 0, "16-bit RSID_2 sample_002");
    assertClose(d16[0][2], 5532.0 / 65535, 1e-12, 0, "16-bit RSID_2 sample_003");
    assertTrue(Double.isNaN(d16[0][0]), "sample_001 is missing at RSID_2");
  }

  /**
   * Decoded probabilities against the GEN text they were made from: within {@code 1/(2^B − 1) + 4e-5}
   * per probability (EXPECTED.md: the GEN is rounded to ~6 digits and BGEN renormalises); layout 1
   * stores k/32768, so 1/32768 + 4e-5. A GEN row {@code 0 0 0} is missing.
   */
  @Test
  void probabilitiesMatchGenText() throws IOException {
    List<double[][]> gen = gen();
    String sample = dir().resolve("example.sample").toString();
    Object[][] cases = {{"example.8bits.bgen", 1.0 / 255}, {"example.16bits.bgen", 1.0 / 65535},
        {"example.16bits.zstd.bgen", 1.0 / 65535}, {"example.v11.bgen", 1.0 / 32768}};
    for (Object[] c : cases) {
      BgenFile file = BgenFile.open(dir().resolve((String) c[0]).toString(), sample, CONF);
      double tol = (Double) c[1] + 4e-5;
      try (BgenReader r = new BgenReader(file.header(), file.offset(0), CONF)) {
        for (int v = 0; v < 199; v++) {
          r.next();
          BgenProbabilities p = r.probabilities();
          assertEquals(2, p.alleles);
          assertFalse(p.phased);
          for (int i = 0; i < 500; i++) {
            double[] truth = gen.get(v)[i];
            boolean genMissing = truth[0] == 0 && truth[1] == 0 && truth[2] == 0;
            assertEquals(genMissing, p.missing[i], c[0] + " variant " + v + " sample " + i + " missing");
            if (!genMissing) {
              for (int k = 0; k < 3; k++) {
                assertClose(p.probabilities[i][k], truth[k], tol, 0, c[0] + " variant " + v + " sample " + i + " P" + k);
              }
            }
          }
        }
      }
    }
  }

  /**
   * The diploid 8/16-bit fast path of {@link BgenDosages#layout2} (values read straight from the packed
   * bytes, missing flags from the ploidy bytes, one zstd context reused) against the definition written
   * plainly from the fully decoded probabilities, {@code e = 2P(AA) + P(AB)},
   * {@code f − e² = 4P(AA) + P(AB) − e²}: bit for bit (the same doubles, so the same arithmetic), on the
   * 8-bit, 16-bit and zstd files with their missing samples.
   */
  @Test
  void fastDiploidDosagesEqualTheDefinition() {
    String sample = dir().resolve("example.sample").toString();
    for (String name : List.of("example.8bits.bgen", "example.16bits.bgen", "example.16bits.zstd.bgen")) {
      BgenFile file = BgenFile.open(dir().resolve(name).toString(), sample, CONF);
      org.lmmspark.engine.genotype.VariantDosages d = new org.lmmspark.engine.genotype.VariantDosages(500);
      try (BgenReader fast = new BgenReader(file.header(), file.offset(0), CONF);
          BgenReader plain = new BgenReader(file.header(), file.offset(0), CONF)) {
        for (int v = 0; v < file.variantCount(); v++) {
          fast.next();
          fast.dosages(d);
          plain.next();
          BgenProbabilities p = plain.probabilities();
          for (int i = 0; i < 500; i++) {
            double[] q = p.probabilities[i];
            double e = 2 * q[0] + q[1];
            String at = name + " variant " + v + " sample " + i;
            assertEquals(p.missing[i] ? Double.NaN : e, d.dosage[i], 0, at);
            assertEquals(p.missing[i] ? 0 : 4 * q[0] + q[1] - e * e, d.variance[i], 0, at);
          }
        }
      }
    }
  }

  /**
   * {@code haplotypes.bgen} (phased, 1 bit per probability) against {@code haplotypes.haps}: each
   * haplotype's probability of the second allele is exactly its 0/1 haps entry.
   */
  @Test
  void phasedHaplotypesMatchHaps() throws IOException {
    BgenHeader h = BgenHeader.read(dir().resolve("haplotypes.bgen").toString(), CONF);
    List<String> haps = Files.readAllLines(dir().resolve("haplotypes.haps"));
    try (BgenReader r = new BgenReader(h, h.firstVariant(), CONF)) {
      for (String line : haps) {
        String[] f = line.trim().split("\\s+");
        BgenReader.VariantHeader vh = r.next();
        assertEquals(f[2], vh.rsid());
        assertEquals(List.of(f[4], f[5]), vh.alleles());
        BgenProbabilities p = r.probabilities();
        assertTrue(p.phased);
        for (int i = 0; i < 4; i++) {
          for (int hap = 0; hap < 2; hap++) {
            double secondAllele = Integer.parseInt(f[5 + 1 + 2 * i + hap]);
            assertClose(p.probabilities[i][2 * hap + 1], secondAllele, 1e-12, 0, vh.rsid() + " sample " + i + " hap " + hap);
          }
        }
      }
    }
  }

  /**
   * {@code complex.bgen} (multi-allelic up to 8 alleles, ploidy 1–4, phased and unphased, 16 bits)
   * against {@code complex.vcf}: alleles, ploidy, phasing and every GP/HP probability, exactly.
   */
  @Test
  void complexFileMatchesVcf() throws IOException {
    BgenHeader h = BgenHeader.read(dir().resolve("complex.bgen").toString(), CONF);
    List<String> vcf = Files.readAllLines(dir().resolve("complex.vcf")).stream().filter(l -> !l.startsWith("#")).toList();
    assertEquals(vcf.size(), h.variantCount());
    try (BgenReader r = new BgenReader(h, h.firstVariant(), CONF)) {
      for (String line : vcf) {
        String[] f = line.split("\t");
        BgenReader.VariantHeader vh = r.next();
        List<String> alleles = new ArrayList<>(List.of(f[3]));
        alleles.addAll(List.of(f[4].split(",")));
        assertEquals(alleles, vh.alleles(), f[2] + " alleles");
        assertEquals(Long.parseLong(f[1]), vh.position());
        BgenProbabilities p = r.probabilities();
        for (int i = 0; i < 4; i++) {
          String[] gtAndProbs = f[9 + i].split(":");
          String gt = gtAndProbs[0];
          int ploidy = gt.split("[/|]").length;
          assertEquals(ploidy, p.ploidy[i], f[2] + " sample " + i + " ploidy");
          boolean phasedField = f[8].endsWith("HP");
          if (ploidy > 1) { // one haplotype: phased and unphased distributions are the same thing
            assertEquals(phasedField, p.phased, f[2] + " phased");
          }
          String[] probs = gtAndProbs[1].split(",");
          assertEquals(probs.length, p.probabilities[i].length, f[2] + " sample " + i + " probabilities");
          for (int k = 0; k < probs.length; k++) {
            assertClose(p.probabilities[i][k], Double.parseDouble(probs[k]), 1e-12, 0, f[2] + " sample " + i + " P" + k);
          }
        }
      }
    }
    // As a genotype source it is refused, naming the first multi-allelic variant.
    BadInputException e = assertThrows(BadInputException.class, () -> BgenFile.open(dir().resolve("complex.bgen").toString(),
        dir().resolve("complex.sample").toString(), CONF));
    assertTrue(e.getMessage().contains("M4") && e.getMessage().contains("biallelic"), e.getMessage());
  }

  /**
   * The IMPUTE2 INFO score of every variant ({@link VariantDosages#info}, through {@link DosageDecoder}
   * over all 500 samples), against the definition written plainly on the GEN text's probabilities:
   * {@code e = P(AB) + 2P(AA)}, {@code f = P(AB) + 4P(AA)}, {@code θ = Σe/2n},
   * {@code info = 1 − Σ(f − e²)/(2nθ(1 − θ))} over the non-missing samples. Tolerance 5e-4 (measured
   * 5.2e-5): the 16-bit probabilities differ from the GEN text by up to 3.4e-5 each (EXPECTED.md), and
   * the score divides sums of such differences over 500 samples by {@code 2nθ(1 − θ)}.
   */
  @Test
  void infoScoreMatchesDefinitionOnGenText() throws IOException {
    List<double[][]> gen = gen();
    BgenFile file = BgenFile.open(dir().resolve("example.16bits.bgen").toString(), null, CONF);
    int n = 500;
    int[] rows = new int[n];
    for (int i = 0; i < n; i++) {
      rows[i] = i;
    }
    DosageBlock block = new DosageBlock(n, 199);
    VariantFilterCounts counts = new VariantFilterCounts(n);
    double[] maxDiff = {0};
    new DosageBlockReader(file.reader(), rows, 0, 199).read(0, 199, file.position(0), null, CONF, counts, b -> {
      for (int c = 0; c < b.m; c++) {
        double[][] p = gen.get(b.variantIndex[c]);
        double eSum = 0;
        double spread = 0;
        int called = 0;
        for (double[] q : p) {
          if (q[0] == 0 && q[1] == 0 && q[2] == 0) {
            continue;
          }
          double e = q[1] + 2 * q[0];
          double f = q[1] + 4 * q[0];
          eSum += e;
          spread += f - e * e;
          called++;
        }
        double theta = eSum / (2.0 * called);
        double info = 1 - spread / (2.0 * called * theta * (1 - theta));
        assertClose(b.info[c], info, 5e-4, 0, "INFO of variant " + b.variantIndex[c]);
        maxDiff[0] = Math.max(maxDiff[0], Math.abs(b.info[c] - info));
      }
    });
    assertEquals(199, counts.kept);
    System.out.printf("BgenExampleTest: INFO (16 bits) vs the GEN text, largest |difference| %.2g%n", maxDiff[0]);
  }

  /** The .bgi offsets (read through SQLite) equal those of a walk over the variant headers. */
  @Test
  void indexOffsetsEqualHeaderWalk() {
    BgenFile indexed = BgenFile.open(dir().resolve("example.8bits.bgen").toString(), null, CONF);
    assertTrue(indexed.indexed());
    List<org.lmmspark.engine.io.Variant> walked = new ArrayList<>();
    long[] offsets = BgenFile.walk(indexed.header(), CONF, walked);
    assertEquals(walked, indexed.variants());
    for (int v = 0; v < offsets.length; v++) {
      assertEquals(offsets[v], indexed.offset(v), "variant " + v);
    }
    // Stored identifiers are used as FID and IID when no .sample is given.
    assertEquals("sample_001", indexed.samples().get(0).fid());
    assertEquals("sample_001", indexed.samples().get(0).iid());
  }

  @Test
  void noSampleIdsAndNoSampleFileIsRefused() {
    BadInputException e = assertThrows(BadInputException.class,
        () -> BgenFile.open(dir().resolve("example.v11.bgen").toString(), null, CONF));
    assertTrue(e.getMessage().contains("--sample"), e.getMessage());
  }
}
