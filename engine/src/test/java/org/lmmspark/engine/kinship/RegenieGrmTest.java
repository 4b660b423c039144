package org.lmmspark.engine.kinship;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.RefData;

/**
 * The engine's GRM against PLINK 1.9's GCTA-format GRM of the regenie example
 * (refdata/regenie-example/EXPECTED.md §1: {@code plink1.9 --bfile example --make-grm-bin};
 * mean diagonal 0.99865046, mean off-diagonal −0.00200130). Tolerance 1e-5 absolute per entry,
 * as EXPECTED.md states (float32 output).
 */
class RegenieGrmTest {
  @Test
  void equalsPlinkGctaGrm() {
    Configuration conf = new Configuration();
    String dir = RefData.dir("regenie-example").toString();
    PlinkFileset fs = PlinkFileset.open(dir + "/example", conf);
    Grm expected = GctaGrmFiles.read(dir + "/expected/gcta_grm", conf);
    // Small tiles and blocks on purpose: several tiles and blocks must add up to the same matrix.
    Grm actual = GrmKernel.computeLocal(BedFixture.source(fs.prefix()), null, 0.0, 128, 300, conf);
    assertEquals(expected.ids(), actual.ids());
    double diagSum = 0;
    double offSum = 0;
    int n = actual.size();
    for (int j = 0; j < n; j++) {
      for (int k = 0; k <= j; k++) {
        assertClose(actual.get(j, k), expected.get(j, k), 1e-5, 0, "A(" + j + "," + k + ")");
        assertClose(actual.count(j, k), expected.count(j, k), 0, 0, "N(" + j + "," + k + ")");
        if (j == k) {
          diagSum += actual.get(j, k);
        } else {
          offSum += actual.get(j, k);
        }
      }
    }
    assertClose(diagSum / n, 0.99865046, 1e-6, 0, "mean diagonal");
    assertClose(offSum / (n * (n - 1) / 2.0), -0.00200130, 1e-7, 0, "mean off-diagonal");
  }
}
