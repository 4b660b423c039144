package org.lmmspark.jobs.pca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.jobs.cli.Lmmspark;

/**
 * {@code lmmspark pca} through the real entry point on Spark local[2] with three variant ranges, on the
 * regenie example (refdata/regenie-example/PCA.md: {@code plink2 --bfile example --pca 10}, and R 4.2.2
 * {@code eigen()} of the same matrix to 12 digits, pca_check.R). Tolerances from PCA.md: exact, eigenvalues
 * 1e-6 relative to R and eigenvectors 2e-6 absolute after matching signs; randomized, eigenvalues 1e-3
 * relative and |corr| ≥ 0.99 per PC. The files are read back as plink2 would write them, and the exact
 * route's variant weights with the written frequencies project the samples back onto their
 * eigenvectors (no missing calls here, so the projection is exact up to the single-precision products
 * and the 10 printed digits: 1e-5).
 */
class PcaCommandTest {
  @TempDir Path dir;

  @Test
  void exactAndRandomizedRoutesMatchR() throws IOException {
    Path ref = RefData.dir("regenie-example");
    String bfile = ref.resolve("example").toString();
    double[] rValues = Files.readAllLines(ref.resolve("pca/regenie_R_eigenval_12digits.txt")).stream()
        .mapToDouble(l -> Double.parseDouble(l.trim())).toArray();
    Map<String, double[]> rVectors = table(ref.resolve("pca/regenie_R_eigenvec_12digits.txt"));

    String exact = dir.resolve("exact").toString();
    assertEquals(0, Lmmspark.run("pca", "--bfile", bfile, "--out", exact, "--pca-loadings", "--partitions", "3",
        "--master", "local[2]"));
    assertClose(values(exact), rValues, 0, 1e-6, "exact eigenvalues");
    Map<String, double[]> ev = table(Path.of(exact + ".eigenvec"));
    assertEquals(rVectors.keySet(), ev.keySet());
    for (int c = 0; c < 10; c++) {
      double sign = Math.signum(dot(ev, rVectors, c));
      for (Map.Entry<String, double[]> e : rVectors.entrySet()) {
        assertClose(sign * ev.get(e.getKey())[c], e.getValue()[c], 2e-6, 0, "exact PC" + (c + 1) + " of " + e.getKey());
      }
    }
    assertTrue(Files.readString(Path.of(exact + ".log")).contains("route: exact"));

    String approx = dir.resolve("approx").toString();
    assertEquals(0, Lmmspark.run("pca", "--bfile", bfile, "--out", approx, "--approx", "--partitions", "3", "--master",
        "local[2]"));
    assertClose(values(approx), rValues, 0, 1e-3, "randomized eigenvalues");
    Map<String, double[]> av = table(Path.of(approx + ".eigenvec"));
    for (int c = 0; c < 10; c++) {
      double corr = Math.abs(dot(av, rVectors, c));
      assertTrue(corr >= 0.99, "randomized PC" + (c + 1) + " |corr| " + corr);
    }
    // The weights of exact eigenvectors project the samples back exactly (for Ritz vectors, up to their residual).
    checkProjection(bfile, exact, ev, values(exact));
  }

  /** PC_ik = Σ_j z_ij w_jk / (M √λ_k), z from the .bed (read plainly) and the written A1 frequencies. */
  private static void checkProjection(String bfile, String prefix, Map<String, double[]> eigenvec, double[] lambda)
      throws IOException {
    List<String> fam = Files.readAllLines(Path.of(bfile + ".fam"));
    List<String> bim = Files.readAllLines(Path.of(bfile + ".bim"));
    byte[] bed = Files.readAllBytes(Path.of(bfile + ".bed"));
    int n = fam.size();
    int bpv = (n + 3) / 4;
    Map<String, Integer> index = new HashMap<>();
    for (int v = 0; v < bim.size(); v++) {
      index.put(bim.get(v).trim().split("\\s+")[1], v);
    }
    List<String> weights = Files.readAllLines(Path.of(prefix + ".eigenvec.var"));
    List<String> freqs = Files.readAllLines(Path.of(prefix + ".afreq"));
    assertTrue(weights.get(0).startsWith("#CHROM\tID\tMAJ\tNONMAJ\tPC1\t"), weights.get(0));
    assertEquals("#CHROM\tID\tREF\tALT\tALT_FREQS", freqs.get(0));
    int m = weights.size() - 1;
    double[] projected = new double[n * 10];
    for (int line = 1; line <= m; line++) {
      String[] w = weights.get(line).split("\t");
      String[] f = freqs.get(line).split("\t");
      assertEquals(w[1], f[1]);
      int v = index.get(w[1]);
      String[] b = bim.get(v).trim().split("\\s+");
      double p = Double.parseDouble(f[4]); // frequency of ALT = A1
      boolean a1Major = w[2].equals(b[4]);
      double sd = Math.sqrt(2 * p * (1 - p));
      for (int i = 0; i < n; i++) {
        int code = (bed[3 + v * bpv + i / 4] >> (2 * (i % 4))) & 3;
        double x = code == 0 ? 2 : code == 2 ? 1 : code == 3 ? 0 : Double.NaN;
        double z = Double.isNaN(x) ? 0 : (x - 2 * p) / sd;
        double zMajor = a1Major ? z : -z;
        for (int c = 0; c < 10; c++) {
          projected[i + c * n] += zMajor * Double.parseDouble(w[4 + c]);
        }
      }
    }
    for (int i = 0; i < n; i++) {
      String[] id = fam.get(i).trim().split("\\s+");
      for (int c = 0; c < 10; c++) {
        assertClose(projected[i + c * n] / (m * Math.sqrt(lambda[c])), eigenvec.get(id[0] + " " + id[1])[c], 1e-5, 0,
            "projection of " + id[1] + " on PC" + (c + 1));
      }
    }
  }

  @Test
  void badInputIsOneLineWithExitCode2() {
    Path ref = RefData.dir("regenie-example");
    String bfile = ref.resolve("example").toString();
    String out = dir.resolve("bad").toString();
    // 500 samples: at most 499 components.
    assertEquals(2, Lmmspark.run("pca", "--bfile", bfile, "--pcs", "500", "--out", out, "--master", "local[2]"));
    // No variant left: a chromosome the fileset does not have.
    assertEquals(2, Lmmspark.run("pca", "--bfile", bfile, "--chr", "22", "--out", out, "--master", "local[2]"));
    assertEquals(2, Lmmspark.run("pca", "--bfile", bfile, "--pcs", "0", "--out", out));
    assertEquals(2, Lmmspark.run("pca", "--bfile", bfile, "--maf", "NaN", "--out", out));
    assertEquals(2, Lmmspark.run("pca", "--bfile", bfile, "--tol", "NaN", "--out", out));
    assertEquals(2, Lmmspark.run("pca", "--bfile", bfile, "--exact", "--approx", "--out", out));
    assertTrue(!Files.exists(Path.of(out + ".eigenvec")));
  }

  private static double[] values(String prefix) throws IOException {
    return Files.readAllLines(Path.of(prefix + ".eigenval")).stream().mapToDouble(l -> Double.parseDouble(l.trim()))
        .toArray();
  }

  /** FID IID then numbers, header skipped (with or without '#'). */
  private static Map<String, double[]> table(Path file) throws IOException {
    Map<String, double[]> t = new HashMap<>();
    List<String> lines = Files.readAllLines(file);
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.trim().split("\\s+");
      double[] v = new double[f.length - 2];
      for (int i = 2; i < f.length; i++) {
        v[i - 2] = Double.parseDouble(f[i]);
      }
      t.put(f[0] + " " + f[1], v);
    }
    return t;
  }

  private static double dot(Map<String, double[]> a, Map<String, double[]> b, int c) {
    double s = 0;
    for (Map.Entry<String, double[]> e : b.entrySet()) {
      s += a.get(e.getKey())[c] * e.getValue()[c];
    }
    return s;
  }
}
