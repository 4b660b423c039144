package org.lmmspark.engine.simulate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.Tolerance;

/**
 * Checks the simulator's files against its model, decoding them plainly here (not with the
 * project's reader) and recomputing the truth from the written genotypes.
 */
class SimulatorTest {
  private static final Configuration CONF = new Configuration();
  private static final int N = 1000;
  private static final int M = 3000;
  private static final int FAMILIES = 100;

  @TempDir static Path dir;

  /** The main data set: default rates (0.5 % missing calls, 1 % NA). */
  static String prefix;
  static SimulationResult result;
  static int[][] calls;
  /** The same but without missing calls, so g can be recomputed exactly from the .bed. */
  static String fullPrefix;
  static SimulationResult full;
  static int[][] fullCalls;

  @BeforeAll
  static void simulate() throws IOException {
    SimulationConfig c = SimulationConfig.defaults(N, M).withSeed(7).withFamilies(FAMILIES).withCausal(200);
    prefix = dir.resolve("sim").toString();
    result = Simulator.run(c, prefix, CONF, null);
    calls = BedFixture.read(prefix, N, M);
    fullPrefix = dir.resolve("full").toString();
    full = Simulator.run(c.withMissingRates(0, 0.01).withThreads(2), fullPrefix, CONF, null);
    fullCalls = BedFixture.read(fullPrefix, N, M);
  }

  static List<String[]> table(String path) throws IOException {
    List<String[]> rows = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(path))) {
      rows.add(line.split("\t", -1));
    }
    return rows;
  }

  @Test
  void sameSeedSameBytesWhateverTheThreadCount() throws IOException {
    SimulationConfig c = SimulationConfig.defaults(203, 500).withSeed(99).withFamilies(10);
    String a = dir.resolve("repA").toString();
    String b = dir.resolve("repB").toString();
    String d = dir.resolve("repC").toString();
    Simulator.run(c, a, CONF, null);
    Simulator.run(c.withThreads(3), b, CONF, null);
    Simulator.run(c.withSeed(100), d, CONF, null);
    for (String ext : new String[] {".bed", ".bim", ".fam", ".pheno", ".covar", ".qcovar", ".ped", ".truth.tsv", ".truth.json"}) {
      assertArrayEquals(Files.readAllBytes(Path.of(a + ext)), Files.readAllBytes(Path.of(b + ext)), ext);
    }
    assertFalse(java.util.Arrays.equals(Files.readAllBytes(Path.of(a + ".bed")), Files.readAllBytes(Path.of(d + ".bed"))),
        "another seed gives other genotypes");
    try (Stream<Path> files = Files.list(dir)) {
      assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary files left");
    }
  }

  @Test
  void pedigreeMatchesFamAndFamiliesAreNuclear() throws IOException {
    List<String[]> fam = table(prefix + ".fam");
    List<String[]> ped = table(prefix + ".ped");
    assertEquals(List.of("FID", "IID", "father", "mother", "sex"), List.of(ped.get(0)));
    assertEquals(N, fam.size());
    assertEquals(N + 1, ped.size());
    Map<String, Integer> row = new HashMap<>();
    Map<String, Integer> childrenPerFamily = new HashMap<>();
    for (int j = 0; j < N; j++) {
      String[] f = fam.get(j);
      String[] p = ped.get(j + 1);
      assertEquals(6, f.length);
      assertEquals(List.of(f).subList(0, 5), List.of(p), "ped line " + (j + 2) + " equals the .fam");
      for (int k = 2; k <= 3; k++) {
        if (!f[k].equals("0")) {
          Integer parent = row.get(f[k]);
          assertTrue(parent != null, "parent " + f[k] + " of " + f[1] + " is listed before the child");
          assertEquals(f[0], fam.get(parent)[0], "parent in the same family");
          assertEquals(k == 2 ? "1" : "2", fam.get(parent)[4], "father male, mother female");
          assertEquals("0", fam.get(parent)[2], "parents are founders");
        }
      }
      assertEquals(f[2].equals("0"), f[3].equals("0"), "both parents known or neither");
      if (!f[2].equals("0")) {
        childrenPerFamily.merge(f[0], 1, Integer::sum);
      }
      assertTrue(row.put(f[1], j) == null, "unique IID " + f[1]);
    }
    assertEquals(FAMILIES, childrenPerFamily.size());
    assertTrue(childrenPerFamily.values().stream().allMatch(k -> k == 2 || k == 3), "2 or 3 sibs per family");
    int kids = childrenPerFamily.values().stream().mapToInt(Integer::intValue).sum();
    assertEquals(result.offspring(), kids);
    assertEquals(2 * FAMILIES + kids, result.familyMembers());
  }

  /** Every non-missing trio is Mendelian-consistent, and heterozygous parents pass A1 half the time. */
  @Test
  void offspringFollowMendel() {
    long trios = 0;
    long violations = 0;
    long hetTransmissions = 0;
    long a1Transmitted = 0;
    for (int v = 0; v < M; v++) {
      for (int j = 0; j < N; j++) {
        int fa = result.father()[j];
        if (fa < 0) {
          continue;
        }
        int mo = result.mother()[j];
        int x = calls[v][j];
        int f = calls[v][fa];
        int m = calls[v][mo];
        if (x < 0 || f < 0 || m < 0) {
          continue;
        }
        trios++;
        // child = (allele from father) + (allele from mother); parent with k A1 copies can pass
        // A1 iff k >= 1 and A2 iff k <= 1.
        int min = (f == 2 ? 1 : 0) + (m == 2 ? 1 : 0);
        int max = (f == 0 ? 0 : 1) + (m == 0 ? 0 : 1);
        if (x < min || x > max) {
          violations++;
        }
        // het father × hom-A2 mother: the child's A1 count is what the father passed
        if (f == 1 && m == 0) {
          hetTransmissions++;
          a1Transmitted += x;
        }
      }
    }
    assertTrue(trios > 100_000, "enough trios: " + trios);
    assertEquals(0, violations, "Mendelian violations among " + trios + " trios");
    double frac = a1Transmitted / (double) hetTransmissions;
    double se = Math.sqrt(0.25 / hetTransmissions);
    // Mendel: a heterozygous parent passes A1 with probability 1/2; allow 4 standard errors.
    assertTrue(Math.abs(frac - 0.5) < 4 * se, "A1 transmitted by het fathers " + frac + " ± " + se);
  }

  /**
   * The GCTA GRM entry (p over all samples, computed plainly) is ≈ 0.5 for full sibs and parent–child
   * pairs and ≈ 0 on average for unrelated pairs; the bounds allow the population structure (Fst
   * 0.05 raises same-population pairs by a few hundredths) and M = 3000 variants of sampling noise.
   */
  @Test
  void relatednessShowsInTheGrm() {
    int m = M;
    double[][] z = new double[m][];
    for (int v = 0; v < m; v++) {
      double sum = 0;
      int cnt = 0;
      for (int j = 0; j < N; j++) {
        if (calls[v][j] >= 0) {
          sum += calls[v][j];
          cnt++;
        }
      }
      double p = sum / (2.0 * cnt);
      if (p == 0 || p == 1) {
        continue;
      }
      z[v] = new double[N];
      for (int j = 0; j < N; j++) {
        z[v][j] = calls[v][j] < 0 ? Double.NaN : (calls[v][j] - 2 * p) / Math.sqrt(2 * p * (1 - p));
      }
    }
    double sib = 0;
    int sibPairs = 0;
    double po = 0;
    int poPairs = 0;
    for (int j = 0; j < N; j++) {
      if (result.father()[j] < 0) {
        continue;
      }
      po += grm(z, j, result.father()[j]) + grm(z, j, result.mother()[j]);
      poPairs += 2;
      for (int k = 0; k < j; k++) {
        if (result.father()[k] == result.father()[j]) {
          sib += grm(z, j, k);
          sibPairs++;
        }
      }
    }
    double unrel = 0;
    int unrelPairs = 0;
    for (int j = result.familyMembers(); j < N; j += 7) {
      for (int k = result.familyMembers(); k < j; k += 5) {
        unrel += grm(z, j, k);
        unrelPairs++;
      }
    }
    sib /= sibPairs;
    po /= poPairs;
    unrel /= unrelPairs;
    assertTrue(sib > 0.45 && sib < 0.6, "mean full-sib GRM " + sib);
    assertTrue(po > 0.45 && po < 0.6, "mean parent-offspring GRM " + po);
    assertTrue(Math.abs(unrel) < 0.05, "mean unrelated GRM " + unrel);
  }

  private static double grm(double[][] z, int a, int b) {
    double s = 0;
    int cnt = 0;
    for (double[] zv : z) {
      if (zv != null && !Double.isNaN(zv[a]) && !Double.isNaN(zv[b])) {
        s += zv[a] * zv[b];
        cnt++;
      }
    }
    return s / cnt;
  }

  /**
   * The genetic value recomputed from the written genotypes and the effects in truth.json equals
   * the one in truth.tsv, its variance is h², and the realized var(g)/(var(g)+var(e)) of y_quant
   * after removing the written covariates' effects (β from truth.json) is h² within sampling error.
   */
  @Test
  void quantitativeTraitHasTheTargetHeritability() throws IOException {
    String json = Files.readString(Path.of(fullPrefix + ".truth.json"));
    Map<String, Integer> index = new HashMap<>();
    List<String[]> bim = table(fullPrefix + ".bim");
    for (int v = 0; v < M; v++) {
      index.put(bim.get(v)[1], v);
    }
    Matcher mt = Pattern.compile("\\{\"id\": \"(v\\d+)\".*?\"freq_a1\": ([-0-9.E]+), \"effect_std\": [-0-9.E]+, \"effect_per_a1\": ([-0-9.E]+)\\}")
        .matcher(json);
    double[] g = new double[N];
    int causal = 0;
    while (mt.find()) {
      int v = index.get(mt.group(1));
      double p = Double.parseDouble(mt.group(2));
      double b = Double.parseDouble(mt.group(3));
      for (int j = 0; j < N; j++) {
        g[j] += b * (fullCalls[v][j] - 2 * p);
      }
      causal++;
    }
    assertEquals(200, causal);
    List<String[]> truth = table(fullPrefix + ".truth.tsv");
    List<String[]> pheno = table(fullPrefix + ".pheno");
    List<String[]> qcovar = table(fullPrefix + ".qcovar");
    List<String[]> covar = table(fullPrefix + ".covar");
    assertEquals(List.of("FID", "IID", "y_quant", "y_binary", "y_null"), List.of(pheno.get(0)));
    assertEquals(List.of("FID", "IID", "age", "pc1", "pc2"), List.of(qcovar.get(0)));
    assertEquals(List.of("FID", "IID", "sex"), List.of(covar.get(0)));
    double[] gTruth = new double[N];
    for (int j = 0; j < N; j++) {
      gTruth[j] = Double.parseDouble(truth.get(j + 1)[4]);
    }
    // truth.tsv has 6 decimals, effects and frequencies 10 significant digits
    Tolerance.assertClose(g, gTruth, 2e-6, 0, "g from .bed and truth.json vs truth.tsv");
    Tolerance.assertClose(SimulationResult.variance(g), 0.5, 1e-6, 0, "var(g) = h2 by construction");

    SimulationResult.Beta beta = Simulator.BETA;
    assertTrue(json.contains("\"beta\": {\"intercept\": 0.5, \"age\": 0.02, \"sex_female\": 0.25, \"pc1\": 0.3, \"pc2\": -0.2}"), json);
    List<Double> gs = new ArrayList<>();
    List<Double> es = new ArrayList<>();
    int na = 0;
    for (int j = 0; j < N; j++) {
      String y = pheno.get(j + 1)[2];
      if (y.equals("NA")) {
        na++;
        continue;
      }
      String[] q = qcovar.get(j + 1);
      double female = covar.get(j + 1)[2].equals("F") ? 1 : 0;
      double xb = beta.intercept() + beta.age() * Double.parseDouble(q[2]) + beta.sexFemale() * female
          + beta.pc1() * Double.parseDouble(q[3]) + beta.pc2() * Double.parseDouble(q[4]);
      gs.add(g[j]);
      es.add(Double.parseDouble(y) - xb - g[j]);
    }
    assertTrue(na > 0 && na < 30, "a few NA in y_quant: " + na);
    double[] gv = gs.stream().mapToDouble(Double::doubleValue).toArray();
    double[] ge = new double[gv.length];
    double[] ev = es.stream().mapToDouble(Double::doubleValue).toArray();
    for (int i = 0; i < gv.length; i++) {
      ge[i] = gv[i] + ev[i];
    }
    double h2 = SimulationResult.variance(gv) / SimulationResult.variance(ge);
    // var(e) has relative SE sqrt(2/n) and cov(g, e) SE sqrt(h2(1-h2)/n): SE(h2_realized) ≈ 0.02 at n ≈ 990.
    double se = 0.5 * Math.sqrt(0.25 * 2.0 / gv.length + 4 * 0.25 / gv.length);
    assertTrue(Math.abs(h2 - 0.5) < 4 * se, "realized h2 " + h2 + " vs 0.5 (SE " + se + ")");
    Tolerance.assertClose(full.realizedH2(), h2, 0.02, 0, "in-memory realized h2 (all samples) vs from the files");
  }

  /** Case fraction ≈ K; the null trait is N(0,1) and unrelated to g. */
  @Test
  void binaryAndNullTraits() throws IOException {
    List<String[]> pheno = table(prefix + ".pheno");
    int cases = 0;
    int controls = 0;
    double sum = 0;
    double ss = 0;
    double sg = 0;
    int nn = 0;
    for (int j = 0; j < N; j++) {
      String[] r = pheno.get(j + 1);
      if (r[3].equals("1")) {
        cases++;
      } else if (r[3].equals("0")) {
        controls++;
      } else {
        assertEquals("NA", r[3]);
      }
      if (!r[4].equals("NA")) {
        double y = Double.parseDouble(r[4]);
        sum += y;
        ss += y * y;
        sg += y * result.geneticValue()[j];
        nn++;
      }
    }
    double k = cases / (double) (cases + controls);
    double se = Math.sqrt(0.2 * 0.8 / (cases + controls));
    // liability g + e_L ~ N(0, 1) with threshold Φ⁻¹(1 − 0.2) = 0.8416
    Tolerance.assertClose(result.liabilityThreshold(), 0.8416212335729143, 1e-12, 0, "Φ⁻¹(0.8)");
    assertTrue(Math.abs(k - 0.2) < 4 * se, "case fraction " + k);
    double mean = sum / nn;
    double var = ss / nn - mean * mean;
    assertTrue(Math.abs(mean) < 4 / Math.sqrt(nn), "null mean " + mean);
    assertTrue(Math.abs(var - 1) < 4 * Math.sqrt(2.0 / nn), "null variance " + var);
    // corr(y_null, g) with var(g) = 0.5: SE 1/sqrt(n)
    double corr = (sg / nn) / Math.sqrt(var * 0.5);
    assertTrue(Math.abs(corr) < 4 / Math.sqrt(nn), "null trait unrelated to g: corr " + corr);
  }

  /**
   * Allele frequencies: designated monomorphic variants are monomorphic; few very rare variants
   * (ancestral A1 frequency U(0.05, 0.95)); mean MAF near that of U(0.05, 0.5) folded (0.275); and
   * Hudson's Fst between populations (unrelated founders) ≈ the Balding–Nichols F = 0.05, since
   * for Balding–Nichols E(p1−p2)² = 2F p(1−p) and E[p1(1−p2) + p2(1−p1)] = 2p(1−p).
   */
  @Test
  void alleleFrequenciesAndPopulationStructure() throws IOException {
    Set<String> mono = new HashSet<>(result.monomorphicIds());
    assertEquals(SimulationConfig.defaultMonomorphic(M), mono.size());
    List<String[]> bim = table(prefix + ".bim");
    double mafSum = 0;
    int rare = 0;
    int poly = 0;
    long missing = 0;
    int pops = result.config().populations();
    double[] num = new double[pops * pops];
    double[] den = new double[pops * pops];
    for (int v = 0; v < M; v++) {
      long a1 = 0;
      int called = 0;
      long[] popA1 = new long[pops];
      long[] popN = new long[pops];
      for (int j = 0; j < N; j++) {
        int x = calls[v][j];
        if (x < 0) {
          missing++;
          continue;
        }
        a1 += x;
        called++;
        if (j >= result.familyMembers()) {
          popA1[result.population()[j]] += x;
          popN[result.population()[j]]++;
        }
      }
      double p = a1 / (2.0 * called);
      double maf = Math.min(p, 1 - p);
      if (mono.contains(bim.get(v)[1])) {
        assertEquals(0.0, maf, "designated monomorphic " + bim.get(v)[1]);
        continue;
      }
      poly++;
      mafSum += maf;
      rare += maf < 0.01 ? 1 : 0;
      for (int a = 0; a < pops; a++) {
        for (int b = 0; b < a; b++) {
          double pa = popA1[a] / (2.0 * popN[a]);
          double pb = popA1[b] / (2.0 * popN[b]);
          num[a * pops + b] += (pa - pb) * (pa - pb) - pa * (1 - pa) / (2 * popN[a] - 1) - pb * (1 - pb) / (2 * popN[b] - 1);
          den[a * pops + b] += pa * (1 - pb) + pb * (1 - pa);
        }
      }
    }
    double meanMaf = mafSum / poly;
    assertTrue(meanMaf > 0.24 && meanMaf < 0.30, "mean MAF " + meanMaf);
    assertTrue(rare < 0.02 * poly, "variants with MAF < 0.01: " + rare + " of " + poly);
    for (int a = 0; a < pops; a++) {
      for (int b = 0; b < a; b++) {
        double fst = num[a * pops + b] / den[a * pops + b];
        // Per-variant Fst is noisy (a ratio of averages over ~3000 variants, ~270 founders per population);
        // ±0.01 is several standard errors.
        assertTrue(Math.abs(fst - 0.05) < 0.01, "Hudson Fst pop" + (a + 1) + "-pop" + (b + 1) + " = " + fst);
      }
    }
    double missRate = missing / ((double) N * M);
    double se = Math.sqrt(0.005 * 0.995 / ((double) N * M));
    assertTrue(Math.abs(missRate - 0.005) < 4 * se, "missing-call rate " + missRate);
    assertEquals(result.missingCalls(), missing);
  }

  @Test
  void positionsIncreaseOnTwentyTwoChromosomes() throws IOException {
    List<String[]> bim = table(prefix + ".bim");
    assertEquals(M, bim.size());
    int[] perChr = new int[23];
    String prevChr = "";
    long prevBp = 0;
    Set<String> ids = new HashSet<>();
    for (String[] b : bim) {
      assertEquals(6, b.length);
      int chr = Integer.parseInt(b[0]);
      long bp = Long.parseLong(b[3]);
      if (b[0].equals(prevChr)) {
        assertTrue(bp > prevBp, "bp increasing at " + b[1]);
      } else {
        assertTrue(prevChr.isEmpty() || chr == Integer.parseInt(prevChr) + 1, "chromosomes in order");
      }
      assertTrue(bp >= 1 && bp <= Genome.LENGTHS[chr - 1]);
      assertEquals(bp / 1e6, Double.parseDouble(b[2]), 1e-12, "cM = bp/1e6");
      assertNotEquals(b[4], b[5]);
      assertTrue(ids.add(b[1]));
      perChr[chr]++;
      prevChr = b[0];
      prevBp = bp;
    }
    for (int c = 1; c <= 22; c++) {
      assertTrue(perChr[c] > 0, "chromosome " + c);
      // proportional to length: chromosome 1 holds 8.1 % of the genome
    }
    assertEquals(Math.round(M * 249250621.0 / 2881033286L), perChr[1], 1);
  }

  @Test
  void badParametersAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> SimulationConfig.defaults(10, 21));
    assertThrows(IllegalArgumentException.class, () -> SimulationConfig.defaults(100, 100).withFamilies(21));
    assertThrows(IllegalArgumentException.class, () -> SimulationConfig.defaults(100, 100).withH2(1));
    assertThrows(IllegalArgumentException.class, () -> SimulationConfig.defaults(100, 100).withCausal(0));
    assertThrows(IllegalArgumentException.class, () -> SimulationConfig.defaults(100, 100).withCausal(100));
    assertThrows(IllegalArgumentException.class, () -> SimulationConfig.defaults(100, 100).withPrevalence(0));
    assertThrows(IllegalArgumentException.class, () -> SimulationConfig.defaults(100, 100).withPopulations(0, 0.05));
    // h2 = 0 with no causal variant is a valid null data set
    SimulationConfig.defaults(100, 100).withH2(0).withCausal(0);
  }

  @Test
  void allocationIsProportionalWithOneEach() {
    int[] a = Genome.allocate(22, Genome.LENGTHS);
    for (int k : a) {
      assertEquals(1, k);
    }
    int[] b = Genome.allocate(10_007, Genome.LENGTHS);
    assertEquals(10_007, java.util.Arrays.stream(b).sum());
  }
}
