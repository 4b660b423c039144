package org.lmmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.genotype.ChromosomeSelection;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.io.PlinkWriter;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.kinship.GrmKernel;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.engine.select.SampleSelection;
import org.lmmspark.engine.select.VariantSelection;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.jobs.assoc.AssocJob;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.matfree.DistributedGenotypeProducts;
import org.lmmspark.jobs.matfree.MatrixFreeRemlJob;
import org.lmmspark.jobs.testing.LmmsparkCli;
import org.lmmspark.jobs.testing.SharedSpark;

/**
 * Inputs as users have them, through the real entry point: {@code --keep/--extract/--exclude/--chr} give
 * exactly what the commands give on a fileset subset beforehand (written here by {@link PlinkWriter}, as
 * {@code plink --keep --extract --make-bed} would), on the GRM, the matrix-free REML and the association;
 * headerless, comma-separated, IID-keyed tables and {@code .fam} phenotype columns give the peer tools'
 * numbers.
 */
class InputsCommandTest {
  private final Configuration conf = new Configuration();

  static Map<String, Double> hsq(String prefix) throws Exception {
    Map<String, Double> rows = new HashMap<>();
    for (String l : Files.readAllLines(Path.of(prefix + ".hsq")).subList(1, 7)) {
      String[] f = l.split("\t");
      rows.put(f[0], Double.parseDouble(f[1]));
    }
    return rows;
  }

  /** variant_id → the numeric columns of PREFIX.assoc.tsv.gz. */
  static Map<String, double[]> assoc(String prefix) throws Exception {
    Map<String, double[]> rows = new HashMap<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(
        new GZIPInputStream(Files.newInputStream(Path.of(prefix + ".assoc.tsv.gz"))), StandardCharsets.UTF_8))) {
      List<String> header = List.of(r.readLine().split("\t"));
      String line;
      while ((line = r.readLine()) != null) {
        String[] f = line.split("\t");
        rows.put(f[header.indexOf("variant_id")], new double[] {Double.parseDouble(f[header.indexOf("beta")]),
            Double.parseDouble(f[header.indexOf("standard_error")]), Double.parseDouble(f[header.indexOf("p_value")])});
      }
    }
    return rows;
  }

  /**
   * 90 samples × 300 variants on chromosomes 1–3 with missing calls; keep 55 samples (a FID IID list and
   * an IID removed), extract the variants of an ID list, drop a bp range, and chromosomes 1-2 only. The
   * subset written plainly here is what PLINK would make of the same options. The {@code grm} command
   * with the options gives the local kernel's GRM of the subset entry by entry (float32, 1e-6) with the
   * same pair counts; the matrix-free route's cache gives the same products {@code Z Zᵀ V} (1e-9) and the
   * same analysed rows; the association (spectral route, GRM computed inside, exact test) equal
   * per variant to 1e-6 relative (the same arithmetic on both sides; the slack covers float32 GRM files),
   * with the phenotype as a headerless CSV keyed by IID (trait by position) on one side and a FID IID
   * table on the other.
   */
  @Test
  void selectionEqualsTheSubsetFileset(@TempDir Path dir) throws Exception {
    int n = 90;
    int m = 300;
    int[][] g = BedFixture.random(n, m, 0.02, 37, 2026);
    int[] chr = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = v < 120 ? 1 : v < 220 ? 2 : 3;
    }
    String full = BedFixture.write(dir, "full", g, chr);
    SplittableRandom rng = new SplittableRandom(5);
    // Samples: keep every sample with j % 5 != 0 up to 70 by FID IID, then remove I7 by IID: 55 kept.
    StringBuilder keep = new StringBuilder("#FID IID\n");
    List<Integer> kept = new ArrayList<>();
    for (int j = 0; j < n; j++) {
      if (j % 5 != 0 && j < 70) {
        keep.append('F').append(j).append(" I").append(j).append('\n');
      }
      if (j % 5 != 0 && j < 70 && j != 7) {
        kept.add(j);
      }
    }
    Files.writeString(dir.resolve("keep.txt"), keep + "F99 I99\n");
    Files.writeString(dir.resolve("remove.txt"), "I7\n");
    // Variants: IDs of every variant but each 4th, minus bp 51000..60000 (variants 51..60, 1-based rs), chr 1-2.
    StringBuilder ids = new StringBuilder();
    for (int v = 0; v < m; v++) {
      if (v % 4 != 3) {
        ids.append("rs").append(v + 1).append(v % 2 == 0 ? '\n' : ' ');
      }
    }
    Files.writeString(dir.resolve("extract.txt"), ids.toString());
    Files.writeString(dir.resolve("drop.txt"), "1 51000 60000 region\n");
    List<Integer> selected = new ArrayList<>();
    for (int v = 0; v < m; v++) {
      long bp = 1000L * (v + 1);
      if (v % 4 != 3 && chr[v] <= 2 && !(chr[v] == 1 && bp >= 51000 && bp <= 60000)) {
        selected.add(v);
      }
    }
    // The subset fileset, written plainly.
    String sub = dir.resolve("sub").toString();
    List<PlinkWriter.Sample> samples = new ArrayList<>();
    for (int j : kept) {
      samples.add(new PlinkWriter.Sample("F" + j, "I" + j, "0", "0", 1, "-9"));
    }
    try (PlinkWriter w = PlinkWriter.create(sub, samples, conf)) {
      for (int v : selected) {
        byte[] counts = new byte[kept.size()];
        for (int k = 0; k < counts.length; k++) {
          counts[k] = (byte) g[v][kept.get(k)];
        }
        w.write(new PlinkWriter.Variant(Integer.toString(chr[v]), "rs" + (v + 1), 0, 1000L * (v + 1), "A", "G"), counts);
      }
      w.commit();
    }
    String[] select = {"--keep", dir.resolve("keep.txt").toString(), "--remove", dir.resolve("remove.txt").toString(),
        "--extract", dir.resolve("extract.txt").toString(), "--exclude", "range", dir.resolve("drop.txt").toString(),
        "--chr", "1-2"};

    // GRM.
    String a = dir.resolve("a").toString();
    String b = dir.resolve("b").toString();
    LmmsparkCli.run(0, concat(new String[] {"grm", "--bfile", full, "--out", a, "--master", "local[2]"}, select));
    Grm ga = GctaGrmFiles.read(a, conf);
    PlinkFileset subset = PlinkFileset.open(sub, conf);
    Grm gb = GrmKernel.computeLocal(subset, null, 0, 4096, 4096, conf);
    assertEquals(gb.ids(), ga.ids());
    assertEquals(55, ga.size());
    for (int j = 0; j < ga.size(); j++) {
      for (int k = 0; k <= j; k++) {
        assertClose(ga.get(j, k), gb.get(j, k), 1e-6, 0, "A(" + j + "," + k + ")");
        assertEquals(gb.count(j, k), ga.count(j, k), "M(" + j + "," + k + ")");
      }
    }
    String log = Files.readString(Path.of(a + ".log"));
    assertTrue(log.contains("55 of 90 samples kept") && log.contains(selected.size() + " of 300 variants selected"), log);

    // A phenotype with a genetic part: FID IID header for the subset, headerless CSV keyed by IID for the full set.
    StringBuilder withHeader = new StringBuilder("FID IID y\n");
    StringBuilder csv = new StringBuilder();
    for (int j = 0; j < n; j++) {
      double y = rng.nextGaussian();
      for (int v = 0; v < m; v += 17) {
        y += g[v][j] < 0 ? 0 : 0.3 * g[v][j];
      }
      String value = String.format(java.util.Locale.ROOT, "%.6f", y);
      withHeader.append('F').append(j).append(" I").append(j).append(' ').append(value).append('\n');
      csv.append('I').append(j).append(',').append(value).append('\n');
    }
    Files.writeString(dir.resolve("pheno.txt"), withHeader);
    Files.writeString(dir.resolve("pheno.csv"), csv);

    // The jobs themselves on the shared session (the commands above start and stop their own).
    Configuration hc = conf;
    SampleSelection keepRemove = SampleSelection.read(List.of(dir.resolve("keep.txt").toString()),
        List.of(dir.resolve("remove.txt").toString()), hc);
    VariantSelection variants = VariantSelection.read(ChromosomeSelection.of("1-2", null), null, null,
        List.of(dir.resolve("extract.txt").toString()), List.of("range", dir.resolve("drop.txt").toString()), false, hc);
    TraitTables.Spec csvByIid = new TraitTables.Spec(dir.resolve("pheno.csv").toString(), null, 1, null, null,
        List.of(), null, List.of(), true);
    TraitTables.Spec withFid = TraitTables.Spec.of(dir.resolve("pheno.txt").toString(), "y", null, null);

    // Matrix-free route: the cached genotypes of the selection are the subset's, product for product.
    PartitionedGenotypes selectedFull = PartitionedGenotypes.open(GenotypeInput.bfile(full), new GenotypeSelection(keepRemove, variants), hc);
    PartitionedGenotypes whole = PartitionedGenotypes.open(GenotypeInput.bfile(sub), GenotypeSelection.all(), hc);
    double[] v = new double[2 * 55];
    for (int i = 0; i < v.length; i++) {
      v[i] = rng.nextGaussian();
    }
    double[] pa = new double[v.length];
    double[] pb = new double[v.length];
    try (DistributedGenotypeProducts da = DistributedGenotypeProducts.cache(SharedSpark.jsc(), selectedFull, 0, 3);
        DistributedGenotypeProducts db = DistributedGenotypeProducts.cache(SharedSpark.jsc(), whole, 0, 3)) {
      assertEquals(db.counts().kept, da.counts().kept);
      double[] w = new double[2 * da.chromosomeCount()];
      java.util.Arrays.fill(w, 1);
      da.multiply(v, 2, w, pa);
      db.multiply(v, 2, w, pb);
    }
    for (int i = 0; i < pa.length; i++) {
      assertClose(pa[i], pb[i], 1e-9, 1e-9, "Z Zᵀ v, entry " + i);
    }
    // ... and the analysed samples' rows there, with the phenotype keyed by IID.
    assertEquals(MatrixFreeRemlJob.assemble(withFid, whole, hc).samples(),
        MatrixFreeRemlJob.assemble(csvByIid, selectedFull, hc).samples());
    assertEquals(java.util.Arrays.toString(MatrixFreeRemlJob.assemble(withFid, whole, hc).famRows()),
        java.util.Arrays.toString(MatrixFreeRemlJob.assemble(csvByIid, selectedFull, hc).famRows()));

    // Association, spectral route with the GRM computed inside.
    AssocJob.run(SharedSpark.jsc(), new AssocJob.Options(GenotypeInput.bfile(full), csvByIid, null, a + "as", false, 0, false,
        AssocJob.Test.EXACT, 100, 0, 0, 0, AssocJob.Solver.SPECTRAL, 0, 0, new GenotypeSelection(keepRemove, variants)));
    AssocJob.run(SharedSpark.jsc(), new AssocJob.Options(GenotypeInput.bfile(sub), withFid, null, b + "as", false, 0, false,
        AssocJob.Test.EXACT, 100, 0, 0, 0, AssocJob.Solver.SPECTRAL, 0, 0, GenotypeSelection.all()));
    Map<String, double[]> sa = assoc(a + "as");
    Map<String, double[]> sb = assoc(b + "as");
    assertEquals(sb.keySet(), sa.keySet());
    for (Map.Entry<String, double[]> e : sb.entrySet()) {
      for (int c = 0; c < 3; c++) {
        assertClose(sa.get(e.getKey())[c], e.getValue()[c], 1e-12, 1e-6, e.getKey() + " column " + c);
      }
    }
  }

  /**
   * refdata/regenie-example, Y2 with covariates V1 V2 V3, the phenotype as a headerless CSV keyed by IID
   * ({@code IID,Y1,Y2}, trait by position {@code --mpheno 2}): GEMMA 0.98.5 {@code -lmm 1} on the same
   * data gives vg = 0.0278827, ve = 0.350056 (EXPECTED.md §2); 1e-3 relative, as RemlCommandTest.
   */
  @Test
  void headerlessCsvKeyedByIidGivesGemmasFit(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("regenie-example");
    StringBuilder csv = new StringBuilder();
    List<String> lines = Files.readAllLines(ref.resolve("phenotype.txt"));
    for (String l : lines.subList(1, lines.size())) {
      String[] f = l.trim().split("\\s+");
      csv.append(f[1]).append(',').append(f[2]).append(',').append(f[3]).append('\n');
    }
    Path pheno = dir.resolve("pheno.csv");
    Files.writeString(pheno, csv);
    String out = dir.resolve("y2").toString();
    LmmsparkCli.run(0, "reml", "--grm", ref.resolve("expected/gcta_grm").toString(), "--pheno", pheno.toString(), "--mpheno", "2",
        "--iid-only", "--qcovar", ref.resolve("covariates.txt").toString(), "--out", out);
    Map<String, Double> h = hsq(out);
    System.out.printf("regenie-example Y2, headerless CSV by IID: vg %.6g (GEMMA 0.0278827), ve %.6g (GEMMA 0.350056)%n",
        h.get("V(G)"), h.get("V(e)"));
    assertClose(h.get("V(G)"), 0.0278827, 0, 1e-3, "V(G)");
    assertClose(h.get("V(e)"), 0.350056, 0, 1e-3, "V(e)");
    // --keep on a GRM read from files: the first 300 samples of the phenotype file, by IID.
    StringBuilder keep = new StringBuilder();
    for (String l : lines.subList(1, 301)) {
      keep.append(l.trim().split("\\s+")[1]).append('\n');
    }
    Files.writeString(dir.resolve("keep.txt"), keep);
    LmmsparkCli.run(0, "reml", "--grm", ref.resolve("expected/gcta_grm").toString(), "--pheno", pheno.toString(), "--mpheno", "2",
        "--iid-only", "--keep", dir.resolve("keep.txt").toString(), "--out", out + "k");
    assertEquals(300, Integer.parseInt(Files.readAllLines(Path.of(out + "k.hsq")).stream()
        .filter(l -> l.startsWith("n\t")).findFirst().orElseThrow().split("\t")[1]));
    assertTrue(Files.readString(Path.of(out + "k.log")).contains("300 of 500 samples kept"));
    // The same file without --iid-only is read as FID IID then one value: refused as a table keyed by FID IID
    // whose samples are not in the GRM (none left), never silently.
    String err = LmmsparkCli.run(2, "reml", "--grm", ref.resolve("expected/gcta_grm").toString(), "--pheno", pheno.toString(),
        "--out", dir.resolve("z").toString());
    assertTrue(err.contains("lmmspark: error:"), err);
  }

  /**
   * refdata/gemma-bxd: GEMMA's example BXD mice (198 strains, 67 phenotyped). The trait sits in a
   * {@code .fam}-layout table as its second phenotype column (GEMMA's {@code -n 2}; the first is -9),
   * read with {@code --pheno-col 2}; the covariates {@code BXD_covariates2.txt} as a headerless CSV keyed
   * by IID; the relationship matrix is GEMMA's own {@code BXD.cXX.txt} (written as a GCTA GRM). GEMMA
   * 0.98.5 on the same data and matrix (EXPECTED.md, "Null model"; {@code -lmm 2 -k BXD.cXX.txt}): ve =
   * 0.222324, beta = 0.0316495 -0.256672 9.22665 (covariates, then the intercept GEMMA adds), pve
   * 0.00100086 with se 0.204166 (a boundary-near fit on a likelihood nearly flat in vg: measured here vg
   * 0.000920942, ve 0.222324). Tolerances: 1e-4 relative for ve and the betas (7 printed digits, an
   * iterative fit), 1e-5 absolute for vg (1% of it; both optimizers stop on a flat likelihood).
   */
  @Test
  void gemmaBxdTraitFromAFamColumn(@TempDir Path dir) throws Exception {
    Path ref = RefData.dir("gemma-bxd");
    List<String> pheno = Files.readAllLines(ref.resolve("data/BXD_pheno.txt"));
    List<String> cov = Files.readAllLines(ref.resolve("data/BXD_covariates2.txt"));
    List<String> kin = Files.readAllLines(ref.resolve("gemma_out/BXD.cXX.txt"));
    int n = pheno.size();
    StringBuilder fam = new StringBuilder();
    StringBuilder covCsv = new StringBuilder();
    List<SampleId> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String id = "BXD" + (i + 1);
      ids.add(new SampleId(id, id));
      fam.append(id).append(' ').append(id).append(" 0 0 0 -9 ").append(pheno.get(i).trim()).append('\n');
      String[] c = cov.get(i).trim().split("\\s+");
      covCsv.append(id).append(',').append(c[0]).append(',').append(c[1]).append('\n');
    }
    float[] lower = new float[n * (n + 1) / 2];
    for (int j = 0; j < n; j++) {
      String[] f = kin.get(j).trim().split("\\s+");
      for (int k = 0; k <= j; k++) {
        lower[(int) Grm.packedIndex(j, k)] = Float.parseFloat(f[k]);
      }
    }
    String grm = dir.resolve("bxd").toString();
    GctaGrmFiles.write(grm, new Grm(ids, lower, null), conf);
    Files.writeString(dir.resolve("bxd.fam"), fam);
    Files.writeString(dir.resolve("cov.csv"), covCsv);
    String out = dir.resolve("r").toString();
    LmmsparkCli.run(0, "reml", "--grm", grm, "--pheno", dir.resolve("bxd.fam").toString(), "--pheno-col", "2", "--qcovar",
        dir.resolve("cov.csv").toString(), "--iid-only", "--out", out);
    Map<String, Double> h = hsq(out);
    System.out.printf("gemma-bxd via --pheno-col: ve %.6g (GEMMA 0.222324), vg %.6g (GEMMA 0.000921085)%n",
        h.get("V(e)"), h.get("V(G)"));
    assertClose(h.get("V(e)"), 0.222324, 0, 1e-4, "ve");
    assertClose(h.get("V(G)"), 0.000921085, 1e-5, 0, "vg");
    String json = Files.readString(Path.of(out + ".json"));
    assertTrue(json.contains("\"analysed\": 67") || json.contains("\"analysed\":67"), json);
    double[] expected = {9.22665, 0.0316495, -0.256672}; // ours: intercept first, then V1 V2
    List<Double> betas = new ArrayList<>();
    java.util.regex.Matcher mt = java.util.regex.Pattern.compile("\"beta\"\\s*:\\s*([-0-9.eE]+)").matcher(json);
    while (mt.find()) {
      betas.add(Double.parseDouble(mt.group(1)));
    }
    System.out.println("gemma-bxd betas (intercept, V1, V2): " + betas.subList(0, 3) + " vs GEMMA 9.22665 0.0316495 -0.256672");
    for (int j = 0; j < 3; j++) {
      assertClose(betas.get(j), expected[j], 0, 1e-4, "beta " + j);
    }
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
