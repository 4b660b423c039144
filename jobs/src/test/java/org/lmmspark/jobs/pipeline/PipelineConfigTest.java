package org.lmmspark.jobs.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.BadInputException;

/** The configuration takes the commands' shared options as keys, with paths relative to it. */
class PipelineConfigTest {
  @Test
  void sharedOptionsAreKeys(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("run.conf");
    Files.writeString(config, String.join("\n", "bfile = data/x", "pheno-col = 2", "covar = data/c.csv",
        "covar-names = sex, batch", "iid-only = true", "keep = k1.txt k2.txt", "remove = r.txt",
        "extract = range regions.txt ids.txt", "chr = 1-4,22", "out = out", ""));
    PipelineConfig c = PipelineConfig.read(config);
    // --pheno-col without --pheno reads the fileset's .fam.
    assertEquals(dir.resolve("data/x.fam").toString(), c.trait().pheno());
    assertEquals(2, c.trait().phenoCol());
    assertEquals(List.of("sex", "batch"), c.trait().covarNames());
    assertTrue(c.trait().iidOnly());
    assertEquals(List.of(dir.resolve("k1.txt").toString(), dir.resolve("k2.txt").toString()), c.selection().keep());
    assertEquals(List.of("range", dir.resolve("regions.txt").toString(), dir.resolve("ids.txt").toString()),
        c.selection().extract());
    assertEquals("1-4,22", c.selection().chr());
    assertEquals(5, c.selection().files().size()); // k1 k2 r regions ids

    Files.writeString(config, "bfile = x\npheno = p\nmpheno = 1\npheno-name = y\nout = o\n");
    BadInputException e = assertThrows(BadInputException.class, () -> PipelineConfig.read(config));
    assertTrue(e.getMessage().contains("at most one of --pheno-name, --mpheno and --pheno-col"), e.getMessage());
    // A name list that names nothing is refused (not read as "the first value column", or as no covariate).
    for (String bad : List.of("pheno-name = ,", "pheno-name = A,,B", "qcovar-names = ,age")) {
      Files.writeString(config, "bfile = x\npheno = p\nout = o\n" + bad + "\n");
      BadInputException empty = assertThrows(BadInputException.class, () -> PipelineConfig.read(config));
      assertTrue(empty.getMessage().contains(config.toString()) && empty.getMessage().contains("has an empty name"),
          empty.getMessage());
    }
    // A bad value names the key and the config file once.
    for (String bad : List.of("mpheno = x", "pheno-col = 2.5", "iid-only = yes")) {
      Files.writeString(config, "bfile = x\npheno = p\nout = o\n" + bad + "\n");
      String m = assertThrows(BadInputException.class, () -> PipelineConfig.read(config)).getMessage();
      String key = bad.substring(0, bad.indexOf(' '));
      assertTrue(m.contains(key + " must be") && m.indexOf(config.toString()) == m.lastIndexOf(config.toString()), m);
    }
  }

  @Test
  void kernelAndTestAreKeysCheckedAsTheFlags(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("run.conf");
    Files.writeString(config, "bfile = x\npheno = p\nout = o\n");
    PipelineConfig c = PipelineConfig.read(config);
    assertEquals(org.lmmspark.engine.genotype.GenotypeScaling.GCTA, c.kernel());
    assertEquals("auto", c.test());
    Files.writeString(config, "bfile = x\npheno = p\nout = o\nkernel = Standardized\ntest = f\n");
    c = PipelineConfig.read(config);
    assertEquals(org.lmmspark.engine.genotype.GenotypeScaling.STANDARDIZED, c.kernel());
    assertEquals("f", c.test());
    for (String bad : List.of("kernel = plink", "test = t")) {
      Files.writeString(config, "bfile = x\npheno = p\nout = o\n" + bad + "\n");
      BadInputException e = assertThrows(BadInputException.class, () -> PipelineConfig.read(config));
      String key = bad.substring(0, bad.indexOf(' '));
      assertTrue(e.getMessage().contains(config.toString()) && e.getMessage().contains(key + " must be"),
          e.getMessage());
    }
  }
}
