package org.lmmspark.jobs.pipeline;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.jobs.assoc.AssocJob;

/**
 * A batch run's configuration: a Java properties file ({@code key = value}, {@code #} comments).
 * Relative paths are resolved against the folder of the configuration file, so a configuration and
 * its data can move together. Unknown keys are errors (a typo must not silently change a run).
 *
 * <pre>
 * bfile      = ../sample-data/sim      # PLINK fileset prefix (required)
 * pheno      = ../sample-data/sim.pheno  # phenotype table (required)
 * pheno-name = y_quant                 # trait column (default: the first)
 * covar      = ../sample-data/sim.covar  # categorical covariates (optional)
 * qcovar     = ../sample-data/sim.qcovar # quantitative covariates (optional)
 * out        = ../out/pipeline         # output folder (required)
 * maf        = 0.01                    # variants below this MAF are skipped in GRM and tests
 * loco       = true                    # leave-one-chromosome-out association
 * solver     = auto                    # auto, spectral (GRM) or matrix-free (no GRM; biobank scale)
 * </pre>
 */
public record PipelineConfig(String source, String bfile, String pheno, String phenoName, String covar, String qcovar,
    String out, double maf, boolean loco, AssocJob.Solver solver) {

  static final Set<String> KEYS = Set.of("bfile", "pheno", "pheno-name", "covar", "qcovar", "out", "maf", "loco",
      "solver");

  public static PipelineConfig read(Path file) {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    } catch (IOException e) {
      throw BadInputException.inFile(file.toString(), "cannot read: " + e.getMessage());
    }
    Set<String> unknown = new TreeSet<>(p.stringPropertyNames());
    unknown.removeAll(KEYS);
    if (!unknown.isEmpty()) {
      throw BadInputException.inFile(file.toString(), "unknown key(s) " + unknown + "; known: " + new TreeSet<>(KEYS));
    }
    Path base = file.toAbsolutePath().getParent();
    String src = file.toString();
    double maf;
    try {
      maf = Double.parseDouble(value(p, "maf", "0").trim());
    } catch (NumberFormatException e) {
      throw BadInputException.inFile(src, "maf is not a number: '" + p.getProperty("maf") + "'");
    }
    String loco = value(p, "loco", "true").trim();
    if (!loco.equals("true") && !loco.equals("false")) {
      throw BadInputException.inFile(src, "loco must be true or false, got '" + loco + "'");
    }
    String solver = value(p, "solver", "auto").trim();
    AssocJob.Solver s = switch (solver) {
      case "auto" -> AssocJob.Solver.AUTO;
      case "spectral" -> AssocJob.Solver.SPECTRAL;
      case "matrix-free" -> AssocJob.Solver.MATRIX_FREE;
      default -> throw BadInputException.inFile(src, "solver must be auto, spectral or matrix-free, got '" + solver
          + "'");
    };
    return new PipelineConfig(src, path(base, required(p, "bfile", src)), path(base, required(p, "pheno", src)),
        optional(p, "pheno-name"), pathOrNull(base, optional(p, "covar")), pathOrNull(base, optional(p, "qcovar")),
        path(base, required(p, "out", src)), maf, Boolean.parseBoolean(loco), s);
  }

  /** The same run writing to another folder (the demo uses its own). */
  public PipelineConfig withOut(String folder) {
    return new PipelineConfig(source, bfile, pheno, phenoName, covar, qcovar, folder, maf, loco, solver);
  }

  private static String value(Properties p, String key, String fallback) {
    String v = p.getProperty(key);
    return v == null || v.isBlank() ? fallback : v;
  }

  private static String required(Properties p, String key, String src) {
    String v = optional(p, key);
    if (v == null) {
      throw BadInputException.inFile(src, "missing required key '" + key + "'");
    }
    return v;
  }

  private static String optional(Properties p, String key) {
    String v = p.getProperty(key);
    return v == null || v.isBlank() ? null : v.trim();
  }

  private static String path(Path base, String value) {
    return value.contains(":") ? value : base.resolve(value).normalize().toString();
  }

  private static String pathOrNull(Path base, String value) {
    return value == null ? null : path(base, value);
  }
}
