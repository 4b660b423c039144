package org.lmmspark.jobs.ldscore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.jobs.cli.Lmmspark;

/**
 * {@code lmmspark ldsc} and {@code munge-sumstats} through the real entry point on
 * {@code ../shared/refdata/ldsc-sim}: ldsc's own 4-digit printout (EXPECTED.raw.txt) reproduced line
 * by line, and bad input as one line with exit code 2.
 */
class LdscCommandTest {
  @TempDir
  Path tmp;

  @Test
  void printsWhatLdscPrints() {
    Path ref = RefData.dir("ldsc-sim");
    String ld = ref.resolve("ldscores/sim_cm1.").toString();
    String t1 = ref.resolve("sumstats/trait1.sumstats.gz").toString();
    String t2 = ref.resolve("sumstats/trait2.sumstats.gz").toString();
    // ldsc.py --h2 sumstats/trait1.sumstats.gz --ref-ld-chr ldscores/sim_cm1. --w-ld-chr ldscores/sim_cm1.
    String h2 = run(0, "ldsc", "--h2", t1, "--ref-ld-chr", ld, "--w-ld-chr", ld, "--out", tmp.resolve("h2").toString());
    for (String line : new String[] {"Total Observed scale h2: 0.3256 (0.0514)", "Lambda GC: 2.0142",
        "Mean Chi^2: 2.4379", "Intercept: 1.0301 (0.0868)", "Ratio: 0.021 (0.0604)"}) {
      assertTrue(h2.contains(line + "\n"), "missing '" + line + "' in\n" + h2);
    }
    // ldsc.py --rg sumstats/trait1.sumstats.gz,sumstats/trait2.sumstats.gz $R
    String rg = run(0, "ldsc", "--rg", t1 + "," + t2, "--ref-ld-chr", ld, "--w-ld-chr", ld, "--out",
        tmp.resolve("rg").toString());
    for (String line : new String[] {"Total Observed scale h2: 0.3345 (0.0514)", "Intercept: 1.0938 (0.0703)",
        "Ratio: 0.1493 (0.1119)", "Total Observed scale gencov: 0.1276 (0.035)", "Mean z1*z2: 0.7548",
        "Intercept: 0.3785 (0.0605)", "Genetic Correlation: 0.5084 (0.1136)", "Z-score: 4.4768", "P: 7.5787e-06"}) {
      assertTrue(rg.contains(line + "\n"), "missing '" + line + "' in\n" + rg);
    }
    // Liability scale: h2_obs · K²(1−K)²/(P(1−P)φ(Φ⁻¹(1−K))²); P = 0.5, K = 0.01: Φ⁻¹(0.99) = 2.32635,
    // φ = 0.026652, factor 0.01²·0.99²/(0.25·0.026652²) = 0.55191, so 0.325572 · 0.55191 = 0.1797.
    String liab = run(0, "ldsc", "--h2", t1, "--ref-ld-chr", ld, "--w-ld-chr", ld, "--samp-prev", "0.5", "--pop-prev",
        "0.01", "--out", tmp.resolve("liab").toString());
    assertTrue(liab.contains("Total Liability scale h2: 0.1797 ("), liab);
  }

  @Test
  void badInputIsOneLineWithExitCode2() throws IOException {
    Path ref = RefData.dir("ldsc-sim");
    String ld = ref.resolve("ldscores/sim_cm1.").toString();
    // Missing column: a .sumstats-like file without Z or any p-value.
    Path noZ = tmp.resolve("noz.sumstats");
    Files.writeString(noZ, "SNP A1 A2 N\nsnp1_0001 A G 100\n");
    assertTrue(run(2, "ldsc", "--h2", noZ.toString(), "--ref-ld-chr", ld, "--w-ld-chr", ld, "--out",
        tmp.resolve("x").toString()).contains("missing column"));
    // N absent: munge asks for --N.
    Path noN = tmp.resolve("non.txt");
    Files.writeString(noN, "SNP A1 A2 BETA P\nsnp1_0001 A G 0.1 0.5\n");
    assertTrue(run(2, "munge-sumstats", "--sumstats", noN.toString(), "--out", tmp.resolve("m").toString())
        .contains("give --N"));
    // Alleles that match neither way: trait 2 with every allele pair replaced by one that does not match.
    Path bad = tmp.resolve("bad.sumstats");
    StringBuilder sb = new StringBuilder("SNP\tA1\tA2\tN\tZ\n");
    for (String line : Files.readAllLines(Path.of(ref.resolve("panel/sim.1.bim").toString()))) {
      String[] f = line.split("\\s+");
      String other = "ACGT".chars().mapToObj(c -> String.valueOf((char) c))
          .filter(b -> !b.equals(f[4]) && !b.equals(f[5])).findFirst().orElseThrow();
      sb.append(f[1]).append('\t').append(f[4]).append('\t').append(other).append("\t1000\t0.5\n");
    }
    Files.writeString(bad, sb.toString());
    String err = run(2, "ldsc", "--rg", ref.resolve("sumstats/trait1.sumstats.gz") + "," + bad, "--ref-ld-chr", ld,
        "--w-ld-chr", ld, "--out", tmp.resolve("y").toString());
    assertTrue(err.contains("no SNP whose alleles match"), err);
    // ldsc's --overlap-annot is named and refused, not an unknown option.
    err = run(2, "ldsc", "--h2", ref.resolve("sumstats/trait1.sumstats.gz").toString(), "--ref-ld-chr", ld,
        "--w-ld-chr", ld, "--overlap-annot", "--frqfile-chr", ld, "--out", tmp.resolve("z").toString());
    assertTrue(err.contains("--overlap-annot/--frqfile-chr") && err.contains("disjoint"), err);
    assertTrue(!Files.exists(tmp.resolve("z.log")), "nothing written");
  }

  /** Runs a command line, checks its exit code, returns stdout and stderr together. */
  private static String run(int expectedCode, String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(buf, true);
    System.setOut(ps);
    System.setErr(ps);
    int code;
    try {
      code = Lmmspark.run(args);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
    assertEquals(expectedCode, code, buf.toString());
    return buf.toString();
  }
}
