package org.lmmspark.engine.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes small PLINK filesets for tests, encoding the 2-bit codes plainly here (independently of the
 * engine's reader). Genotypes are {@code g[variant][sample]} copies of A1, or -1 for missing.
 */
public final class BedFixture {
  private BedFixture() {}

  /** The fileset at {@code prefix}, opened as a genotype source. */
  public static org.lmmspark.engine.io.PlinkFileset source(String prefix) {
    return org.lmmspark.engine.io.PlinkFileset.open(prefix, new org.apache.hadoop.conf.Configuration());
  }

  /**
   * The calls of {@code prefix.bed} (SNP-major, {@code n} samples, {@code m} variants) decoded plainly here:
   * {@code g[variant][sample]} copies of A1, codes 00 → 2, 01 → missing (−1), 10 → 1, 11 → 0.
   */
  public static int[][] read(String prefix, int n, int m) {
    byte[] bed;
    try {
      bed = Files.readAllBytes(Path.of(prefix + ".bed"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int bpv = (n + 3) / 4;
    assertEquals(3 + (long) m * bpv, bed.length, "size of " + prefix + ".bed for " + n + " samples, " + m + " variants");
    assertEquals(0x6c, bed[0]);
    assertEquals(0x1b, bed[1]);
    assertEquals(0x01, bed[2], "SNP-major");
    int[][] g = new int[m][n];
    for (int v = 0; v < m; v++) {
      for (int j = 0; j < n; j++) {
        int code = (bed[3 + v * bpv + j / 4] >> (2 * (j % 4))) & 3;
        g[v][j] = code == 0 ? 2 : code == 1 ? -1 : code == 2 ? 1 : 0;
      }
    }
    return g;
  }

  /** The calls {@code g[variant][sample]} as numbers (−1 stays −1), for the dense products of plain computations. */
  public static double[][] asDoubles(int[][] g) {
    return java.util.Arrays.stream(g).map(v -> java.util.Arrays.stream(v).asDoubleStream().toArray())
        .toArray(double[][]::new);
  }

  /** Writes {@code dir/name.bed/.bim/.fam}; variant v is on chromosome {@code chromosomes[v]}. Returns the prefix. */
  public static String write(Path dir, String name, int[][] g, int[] chromosomes) {
    int m = g.length;
    int n = g[0].length;
    int bpv = (n + 3) / 4;
    byte[] bed = new byte[3 + m * bpv];
    bed[0] = 0x6c;
    bed[1] = 0x1b;
    bed[2] = 0x01;
    for (int v = 0; v < m; v++) {
      for (int j = 0; j < n; j++) {
        int code = switch (g[v][j]) {
          case 2 -> 0b00;
          case -1 -> 0b01;
          case 1 -> 0b10;
          case 0 -> 0b11;
          default -> throw new IllegalArgumentException("genotype " + g[v][j]);
        };
        bed[3 + v * bpv + j / 4] |= (byte) (code << (2 * (j % 4)));
      }
    }
    StringBuilder bim = new StringBuilder();
    for (int v = 0; v < m; v++) {
      bim.append(chromosomes[v]).append("\trs").append(v + 1).append("\t0\t").append(1000 * (v + 1)).append("\tA\tG\n");
    }
    StringBuilder fam = new StringBuilder();
    for (int j = 0; j < n; j++) {
      fam.append("F").append(j).append(" I").append(j).append(" 0 0 1 -9\n");
    }
    Path prefix = dir.resolve(name);
    try {
      Files.write(Path.of(prefix + ".bed"), bed);
      Files.writeString(Path.of(prefix + ".bim"), bim);
      Files.writeString(Path.of(prefix + ".fam"), fam);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return prefix.toString();
  }

  /**
   * Random genotypes: each variant has its own allele frequency, calls are missing with probability
   * {@code missingRate}; every {@code monomorphicEvery}-th variant is monomorphic (0 disables).
   */
  public static int[][] random(int n, int m, double missingRate, int monomorphicEvery, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    int[][] g = new int[m][n];
    for (int v = 0; v < m; v++) {
      double p = 0.05 + 0.9 * rng.nextDouble();
      boolean mono = monomorphicEvery > 0 && v % monomorphicEvery == monomorphicEvery - 1;
      for (int j = 0; j < n; j++) {
        if (rng.nextDouble() < missingRate) {
          g[v][j] = -1;
        } else if (mono) {
          g[v][j] = 2;
        } else {
          g[v][j] = (rng.nextDouble() < p ? 1 : 0) + (rng.nextDouble() < p ? 1 : 0);
        }
      }
    }
    return g;
  }

  /**
   * Additive genetic values {@code Σ_v β_v z_v} of genotypes {@code g[variant][sample]} (no missing calls):
   * {@code z = (x − 2p)/√(2p(1−p))} with p over the samples, {@code β_v ~ N(0, h²/M)} drawn from {@code rnd}
   * once per polymorphic variant in order (monomorphic ones skipped), so the values have variance ≈ h².
   */
  public static double[] additiveValues(int[][] g, double h2, java.util.Random rnd) {
    int m = g.length;
    int n = g[0].length;
    double[] y = new double[n];
    for (int v = 0; v < m; v++) {
      double s = 0;
      for (int j = 0; j < n; j++) {
        s += g[v][j];
      }
      double p = s / (2.0 * n);
      if (p <= 0 || p >= 1) {
        continue;
      }
      double beta = rnd.nextGaussian() * Math.sqrt(h2 / m);
      double sd = Math.sqrt(2 * p * (1 - p));
      for (int j = 0; j < n; j++) {
        y[j] += beta * (g[v][j] - 2 * p) / sd;
      }
    }
    return y;
  }
}
