package org.lmmspark.engine.genotype;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.lmmspark.engine.assoc.AssocResults;
import org.lmmspark.engine.assoc.GenotypeRows;
import org.lmmspark.engine.assoc.Mlma;
import org.lmmspark.engine.assoc.NullModel;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.io.bgen.BgenFile;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.kinship.GrmKernel;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;
import org.lmmspark.engine.matfree.LocalGenotypeProducts;
import org.lmmspark.engine.pheno.SampleTable;
import org.lmmspark.engine.reml.RemlFit;
import org.lmmspark.engine.reml.RemlInputs;
import org.lmmspark.engine.reml.SpectralReml;
import org.lmmspark.engine.testing.RefData;

/**
 * The regenie example genotypes as BGEN against the same genotypes as {@code .bed}
 * ({@code ../shared/refdata/regenie-example}, BGEN.md: "same genotypes", hard calls, the BGEN's first
 * allele is the {@code .bim} A1). Through the {@link GenotypeSource} abstraction every consumer must see
 * the same numbers from either file: the dosages, the GRM and the association statistics.
 */
class RegenieBgenTest {
  static final Configuration CONF = new Configuration();
  static Path dir;
  static PlinkFileset bed;
  static BgenFile bgen;

  @BeforeAll
  static void open() {
    dir = RefData.dir("regenie-example");
    bed = PlinkFileset.open(dir.resolve("example").toString(), CONF);
    // BGEN.md: example_3chr.sample "fits both BGENs' sample order" (IDs 1 1 … 500 500, as the .fam).
    bgen = BgenFile.open(dir.resolve("example.bgen").toString(), dir.resolve("example_3chr.sample").toString(), CONF);
  }

  /** All variants of a source as dosages over its samples (hard calls made dosages for the .bed). */
  static double[][] dosages(GenotypeSource source) {
    int n = source.sampleCount();
    int m = source.variantCount();
    double[][] out = new double[m][n];
    int[] rows = new int[n];
    for (int i = 0; i < n; i++) {
      rows[i] = i;
    }
    DosageBlock block = new DosageBlock(n, m);
    new DosageBlockReader(source.reader(), rows, 0, m).read(0, m, source.position(0), null, CONF,
        new VariantFilterCounts(n), b -> {
          for (int c = 0; c < b.m; c++) {
            for (int i = 0; i < n; i++) {
              out[b.variantIndex[c]][i] = b.values[c * n + i] + 2 * b.a1Frequency[c];
            }
          }
        });
    return out;
  }

  /**
   * Every one of the 500 × 1000 dosages of {@code example.bgen} (zlib) equals the {@code .bed} A1 count
   * (BGEN.md: zero differences with plink2), and the per-variant sums are plink2's
   * ({@code bgen_expected/example_bgen_allele1_sums.txt}: variants 1–5 214, 217, 212, 190, 194; total
   * 149712). Exact up to the float rounding of centered values (1e-5).
   */
  @Test
  void dosagesEqualBedCounts() throws IOException {
    assertEquals(bed.variantCount(), bgen.variantCount());
    assertEquals(bed.samples(), bgen.samples());
    for (int v = 0; v < bed.variantCount(); v++) {
      assertEquals(bed.variants().get(v).id(), bgen.variants().get(v).id());
      assertEquals(bed.variants().get(v).a1(), bgen.variants().get(v).a1(), "counted allele of variant " + v);
      assertEquals(bed.variants().get(v).bp(), bgen.variants().get(v).bp());
    }
    double[][] fromBed = dosages(bed);
    double[][] fromBgen = dosages(bgen);
    List<String> sums = Files.readAllLines(dir.resolve("bgen_expected/example_bgen_allele1_sums.txt"));
    double total = 0;
    for (int v = 0; v < fromBed.length; v++) {
      double sum = 0;
      for (int i = 0; i < fromBed[v].length; i++) {
        assertClose(fromBgen[v][i], fromBed[v][i], 1e-5, 0, "variant " + v + " sample " + i);
        sum += fromBgen[v][i];
      }
      String[] f = sums.get(v + 1).trim().split("\\s+");
      assertEquals(bgen.variants().get(v).id(), f[0]);
      assertClose(sum, Double.parseDouble(f[2]), 1e-3, 0, "sum of variant " + f[0]);
      total += sum;
    }
    assertClose(total, 149712, 1e-2, 0, "total dosage");
  }

  /**
   * The zstd file without sample IDs, with its {@code .sample}, against {@code example_3chr.bed}: the
   * same dosages (BGEN.md: "zstd file = zlib file exactly"), chromosomes 1/2/3 = 50/400/50 variants.
   */
  @Test
  void zstdFileEqualsBed() {
    BgenFile zstd = BgenFile.open(dir.resolve("example_3chr_zstd.bgen").toString(),
        dir.resolve("example_3chr.sample").toString(), CONF);
    PlinkFileset bed3 = PlinkFileset.open(dir.resolve("example_3chr").toString(), CONF);
    assertEquals(500, zstd.variantCount());
    assertEquals(bed3.samples(), zstd.samples());
    double[][] a = dosages(zstd);
    double[][] b = dosages(bed3);
    for (int v = 0; v < a.length; v++) {
      assertEquals(bed3.variants().get(v).chromosome(), zstd.variants().get(v).chromosome());
      for (int i = 0; i < a[v].length; i++) {
        assertClose(a[v][i], b[v][i], 1e-5, 0, "variant " + v + " sample " + i);
      }
    }
  }

  /**
   * GRM from the BGEN equals the GRM from the {@code .bed} under every {@code --kernel} definition (both
   * through {@link GrmKernel#computeLocal}; the dosages are the hard calls, so the dosage path's scaling
   * must give the code path's values): entries agree to float precision (1e-6 absolute; both sum in
   * double), pair counts exactly.
   */
  @ParameterizedTest
  @EnumSource(GenotypeScaling.class)
  void grmFromBgenEqualsGrmFromBed(GenotypeScaling kernel) {
    Grm a = GrmKernel.computeLocal(bgen, null, 0, 128, 300, kernel, CONF);
    Grm b = GrmKernel.computeLocal(bed, null, 0, 128, 300, kernel, CONF);
    assertEquals(b.ids(), a.ids());
    for (int j = 0; j < a.size(); j++) {
      for (int k = 0; k <= j; k++) {
        assertClose(a.get(j, k), b.get(j, k), 1e-6, 0, "A(" + j + "," + k + ")");
        assertEquals(b.count(j, k), a.count(j, k), "pair count " + j + "," + k);
      }
    }
  }

  /**
   * The matrix-free products from the BGEN's cached 8-bit dosages equal those from the {@code .bed}'s
   * 2-bit calls under every {@code --kernel} (the dosages are hard calls, stored exactly as 0, 127, 254;
   * each variant's line from the decoder's scaling): {@code K v} for a seeded vector to 1e-5 relative
   * (single-precision products on both sides).
   */
  @ParameterizedTest
  @EnumSource(GenotypeScaling.class)
  void matrixFreeProductsFromBgenEqualBed(GenotypeScaling kernel) {
    LocalGenotypeProducts fromBgen = LocalGenotypeProducts.read(bgen, null, null, 1, 0, 128, kernel, CONF);
    LocalGenotypeProducts fromBed = LocalGenotypeProducts.read(bed, null, null, 1, 0, 128, kernel, CONF);
    int n = bed.sampleCount();
    int[] rows = new int[n];
    double[] v = new double[n];
    java.util.Random rnd = new java.util.Random(5);
    for (int i = 0; i < n; i++) {
      rows[i] = i;
      v[i] = rnd.nextGaussian();
    }
    double[] a = new double[n];
    double[] b = new double[n];
    new GenomicRelationshipOperator(fromBgen, rows, -1).apply(v, 1, a);
    new GenomicRelationshipOperator(fromBed, rows, -1).apply(v, 1, b);
    double norm = 0;
    for (double x : b) {
      norm = Math.max(norm, Math.abs(x));
    }
    for (int i = 0; i < n; i++) {
      assertClose(a[i], b[i], 1e-5 * norm, 0, kernel + " K v (" + i + ")");
    }
  }

  /**
   * A sample subset ({@code --keep}) restricts dosage sources as it compacts 2-bit calls: the standardized
   * blocks of every 3rd sample from the BGEN equal those from the {@code .bed} (frequencies over the kept
   * samples in both), to float rounding.
   */
  @Test
  void sampleSubsetRestrictsBgenAsBed() {
    int[] rows = new int[167];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = 3 * i;
    }
    SampleSubset keep = SampleSubset.of(500, rows);
    float[][] fromBgen = standardized(bgen, keep);
    float[][] fromBed = standardized(bed, keep);
    for (int v = 0; v < fromBed.length; v++) {
      assertEquals(fromBed[v] == null, fromBgen[v] == null, "variant " + v + " kept in both or neither");
      for (int i = 0; fromBed[v] != null && i < rows.length; i++) {
        assertClose(fromBgen[v][i], fromBed[v][i], 1e-5, 0, "variant " + v + " kept sample " + i);
      }
    }
  }

  static float[][] standardized(GenotypeSource s, SampleSubset keep) {
    int n = keep.size();
    float[][] out = new float[s.variantCount()][];
    new GenotypeBlockReader(s.reader(), keep, 0, 128).read(0, s.variantCount(), s.position(0), null, CONF,
        new VariantFilterCounts(n), b -> {
          for (int c = 0; c < b.m; c++) {
            out[b.variantIndex[c]] = java.util.Arrays.copyOfRange(b.values, c * n, (c + 1) * n);
          }
        });
    return out;
  }

  /**
   * Association χ² (fixed-null MLMA, Y2 with covariates V1–V3, the engine's own null fit) from the BGEN
   * equals that from the {@code .bed} to 1e-6 relative (same float genotypes, same rotation), and the
   * INFO score of hard calls is exactly 1 (NaN from the {@code .bed}, which has no probabilities).
   */
  @Test
  void associationFromBgenEqualsBed() {
    Grm grm = GrmKernel.computeLocal(bed, null, 0, 256, 256, CONF);
    SampleTable pheno = SampleTable.read(dir.resolve("phenotype.txt").toString(), CONF);
    SampleTable covars = SampleTable.read(dir.resolve("covariates.txt").toString(), CONF);
    RemlInputs.Assembled a = RemlInputs.assemble(new RemlInputs.Spec(
        List.of(new RemlInputs.Relationship("G", "engine GRM", grm, true)), false, pheno, "Y2", null, covars, List.of()));
    SpectralReml.Eigen eigen = SpectralReml.decompose(a.problem().components().get(0).covariance());
    RemlFit fit = new SpectralReml().fit(a.problem(), eigen);
    NullModel model = NullModel.of(a.problem(), eigen, fit.theta()[0], fit.theta()[1],
        GenotypeRows.of(a.samples(), bgen), "all");
    // Blocks of 96 variants, starting mid-file (variant 37) to exercise a range's seek position.
    AssocResults fromBgen = Mlma.testRange(model, bgen.reader(), 37, 1000, bgen.position(37), null, 0, 96, false, CONF,
        new VariantFilterCounts(model.n()));
    AssocResults fromBed = Mlma.testRange(model, bed.reader(), 37, 1000, bed.position(37), null, 0, 96, false, CONF,
        new VariantFilterCounts(model.n()));
    assertEquals(963, fromBed.size());
    assertEquals(fromBed.size(), fromBgen.size());
    for (int k = 0; k < fromBed.size(); k++) {
      assertEquals(fromBed.variant(k), fromBgen.variant(k));
      assertClose(fromBgen.statistic(k), fromBed.statistic(k), 1e-9, 1e-6, "chi2 of variant " + fromBed.variant(k));
      assertClose(fromBgen.beta(k), fromBed.beta(k), 1e-9, 1e-6, "beta of variant " + fromBed.variant(k));
      assertEquals(1.0, fromBgen.info(k), 1e-12, "INFO of hard calls");
      assertTrue(Double.isNaN(fromBed.info(k)));
    }
  }
}
