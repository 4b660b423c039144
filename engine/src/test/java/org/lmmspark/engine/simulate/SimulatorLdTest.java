package org.lmmspark.engine.simulate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.Correlation;

/**
 * The simulator's LD model ({@code ldRho > 0}, {@link LinkedHaplotypes}) against its own formula:
 * for founders of one population, variants d apart with frequencies p, p' have
 * {@code r = ρ^d (min(p, p') − p p') / √(p(1−p) p'(1−p'))}. The files are decoded plainly
 * ({@link BedFixture#read}) and r̂ is the sample correlation of the A1 counts.
 */
class SimulatorLdTest {
  private static final Configuration CONF = new Configuration();
  private static final double RHO = 0.7;

  @TempDir Path dir;

  /**
   * Adjacent variants (d = 1) and variants two apart (d = 2): the mean of r̂ − r(p̂) is 0 and the mean
   * r̂² equals the model's {@code E r̂² ≈ r² + (1 − r²)²/(N − 1)}, each within 4 standard errors of the
   * mean over pairs (pairs overlap, so the SE from their spread is a little optimistic; 4 SE leaves room).
   */
  @Test
  void neighbouringVariantsHaveTheModelsR2() throws IOException {
    int n = 3000;
    int m = 22 * 120;
    SimulationConfig c = SimulationConfig.defaults(n, m).withPopulations(1, 0).withFamilies(0)
        .withMissingRates(0, 0.01).withCausal(10).withLdRho(RHO).withSeed(11);
    String prefix = dir.resolve("ld").toString();
    Simulator.run(c, prefix, CONF, null);
    int[][] x = BedFixture.read(prefix, n, m);
    List<String[]> bim = Files.readAllLines(Path.of(prefix + ".bim")).stream().map(l -> l.split("\t")).toList();
    for (int d = 1; d <= 2; d++) {
      double rho = Math.pow(RHO, d);
      double sumDiff = 0;
      double sumDiff2 = 0;
      double sumR2 = 0;
      double sumR2Sq = 0;
      double sumModelR2 = 0;
      int pairs = 0;
      for (int v = 0; v + d < m; v++) {
        if (!bim.get(v)[0].equals(bim.get(v + d)[0])) {
          continue;
        }
        double p = mean(x[v]) / 2;
        double q = mean(x[v + d]) / 2;
        if (p <= 0 || p >= 1 || q <= 0 || q >= 1) {
          continue; // a monomorphic variant made on purpose
        }
        double model = rho * (Math.min(p, q) - p * q) / Math.sqrt(p * (1 - p) * q * (1 - q));
        double r = Correlation.pearson(x[v], x[v + d]);
        sumDiff += r - model;
        sumDiff2 += (r - model) * (r - model);
        sumR2 += r * r;
        sumR2Sq += r * r * r * r;
        sumModelR2 += model * model + (1 - model * model) * (1 - model * model) / (n - 1);
        pairs++;
      }
      assertTrue(pairs > 2000, "pairs " + pairs);
      double meanDiff = sumDiff / pairs;
      double seDiff = Math.sqrt((sumDiff2 / pairs - meanDiff * meanDiff) / pairs);
      assertTrue(Math.abs(meanDiff) < 4 * seDiff, "d=" + d + ": mean r̂ − r " + meanDiff + ", SE " + seDiff);
      double meanR2 = sumR2 / pairs;
      double seR2 = Math.sqrt((sumR2Sq / pairs - meanR2 * meanR2) / pairs);
      double modelR2 = sumModelR2 / pairs;
      assertTrue(Math.abs(meanR2 - modelR2) < 4 * seR2,
          "d=" + d + ": mean r̂² " + meanR2 + ", model " + modelR2 + ", SE " + seR2);
      // And there is LD to speak of: ρ^d (min − pp')/… averages well above 0.
      assertTrue(modelR2 > 0.5 * rho * rho * 0.5, "d=" + d + ": model r² " + modelR2);
    }
  }

  /**
   * With families the children inherit haplotypes: every child's genotype is one a child of its
   * parents can have, the output is the same whatever the thread count, and without {@code ldRho}
   * the same configuration gives other genotypes (the LD path is taken only when asked for).
   */
  @Test
  void familiesFollowMendelAndOutputIsThreadIndependent() throws IOException {
    int n = 400;
    int m = 22 * 60;
    SimulationConfig c = SimulationConfig.defaults(n, m).withFamilies(40).withMissingRates(0, 0.01).withLdRho(0.9)
        .withSeed(3);
    String a = dir.resolve("a").toString();
    String b = dir.resolve("b").toString();
    String none = dir.resolve("none").toString();
    SimulationResult r = Simulator.run(c, a, CONF, null);
    Simulator.run(c.withThreads(3), b, CONF, null);
    Simulator.run(c.withLdRho(0), none, CONF, null);
    for (String ext : new String[] {".bed", ".bim", ".fam", ".pheno", ".truth.json"}) {
      assertArrayEquals(Files.readAllBytes(Path.of(a + ext)), Files.readAllBytes(Path.of(b + ext)), ext);
    }
    assertTrue(Files.readString(Path.of(a + ".truth.json")).contains("\"ld_rho\": 0.9"));
    assertTrue(!Files.readString(Path.of(none + ".truth.json")).contains("ld_rho"));
    assertTrue(!java.util.Arrays.equals(Files.readAllBytes(Path.of(a + ".bed")), Files.readAllBytes(Path.of(none + ".bed"))));
    int[][] x = BedFixture.read(a, n, m);
    int children = 0;
    for (int j = 0; j < n; j++) {
      int fa = r.father()[j];
      int mo = r.mother()[j];
      if (fa < 0) {
        continue;
      }
      children++;
      for (int v = 0; v < m; v++) {
        int lo = (x[v][fa] == 2 ? 1 : 0) + (x[v][mo] == 2 ? 1 : 0);
        int hi = (x[v][fa] == 0 ? 0 : 1) + (x[v][mo] == 0 ? 0 : 1);
        assertTrue(x[v][j] >= lo && x[v][j] <= hi, "child " + j + " variant " + v);
      }
    }
    assertEquals(r.offspring(), children);
  }

  private static double mean(int[] a) {
    double s = 0;
    for (int v : a) {
      s += v;
    }
    return s / a.length;
  }
}
