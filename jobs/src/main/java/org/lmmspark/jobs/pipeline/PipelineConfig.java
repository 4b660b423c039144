package org.lmmspark.jobs.pipeline;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.genotype.ChromosomeSelection;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.engine.select.SampleSelection;
import org.lmmspark.engine.select.VariantSelection;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.genotype.GenotypeScaling;
import org.lmmspark.jobs.assoc.AssocJob;
import org.lmmspark.jobs.cli.AssocCommand;

/**
 * A batch run's configuration: a Java properties file ({@code key = value}, {@code #} comments).
 * Relative paths are resolved against the folder of the configuration file, so a configuration and
 * its data can move together. Unknown keys are errors (a typo must not silently change a run). The keys
 * are the commands' options without their dashes, with the same meaning:
 *
 * <pre>
 * bfile      = ../sample-data/sim      # PLINK fileset prefix (or bgen = X.bgen with sample = X.sample, or vcf = X.vcf.gz)
 * pheno      = ../sample-data/sim.pheno  # phenotype table (required unless pheno-col reads the .fam)
 * pheno-name = y_quant                 # trait column (default: the first); or mpheno = N, or pheno-col = N;
 *                                      # several (A,B,C) or all-pheno = true: each trait on its own samples
 * covar      = ../sample-data/sim.covar  # categorical covariates (optional); covar-names = A,B picks columns
 * qcovar     = ../sample-data/sim.qcovar # quantitative covariates (optional); qcovar-names = C,D
 * iid-only   = false                   # tables keyed by IID alone
 * pheno-id-col = IID                    # optional: the header column holding the IID (SAIGE's tables)
 * keep       = keep.txt                # --keep / --remove: sample lists (several files: space separated)
 * extract    = range regions.txt       # --extract / --exclude: variant IDs, or range|bed0|bed1 FILE
 * chr        = 1-22                    # --chr / --exclude-chr / from-bp / to-bp / allow-negative-bp
 * out        = ../out/pipeline         # output folder (required unless --out is given)
 * maf        = 0.01                    # variants below this MAF are skipped in GRM and tests
 * loco       = true                    # leave-one-chromosome-out association
 * allow-extra-chr = false               # chromosome codes outside PLINK's set accepted (--allow-extra-chr)
 * solver     = auto                    # auto, spectral (GRM) or matrix-free (no GRM; biobank scale)
 * pcs        = 10                      # principal components computed once, used as quantitative covariates
 * kernel     = gcta                    # GRM definition: gcta, standardized or centered (as --kernel)
 * test       = auto                    # association statistic: auto, mlma, exact, calibrated, f, wald, lrt, score (as --test)
 * </pre>
 */
public record PipelineConfig(String source, GenotypeInput genotypes, TraitTables.Spec trait, String out, double maf,
    boolean loco, AssocJob.Solver solver, Selection selection, boolean allowExtraChr, int pcs, GenotypeScaling kernel,
    String test, List<String> phenoNames, boolean allPheno) {

  /**
   * The trait or traits: {@code pheno-name = A,B,C} (several: each on its own samples, outputs per trait and a
   * summary table) or {@code all-pheno = true}, as {@code --pheno-name}/{@code --all-pheno}.
   */
  public TraitTables.Traits traits() {
    return new TraitTables.Traits(trait, phenoNames, allPheno);
  }

  static final Set<String> KEYS = Set.of("bfile", "bgen", "sample", "vcf", "pheno", "pheno-name", "mpheno", "pheno-col", "covar", "covar-names",
      "qcovar", "qcovar-names", "iid-only", "pheno-id-col", "keep", "remove", "extract", "exclude", "chr", "exclude-chr", "from-bp",
      "to-bp", "allow-negative-bp", "out", "maf", "loco", "solver", "allow-extra-chr", "pcs", "kernel", "test",
      "all-pheno");

  /**
   * The sample and variant selection as written (paths resolved), read into a {@link GenotypeSelection}
   * when the run starts ({@link #read(Configuration)}).
   */
  public record Selection(List<String> keep, List<String> remove, List<String> extract, List<String> exclude,
      String chr, String excludeChr, Long fromBp, Long toBp, boolean allowNegativeBp) {
    public GenotypeSelection read(Configuration conf) {
      return new GenotypeSelection(SampleSelection.read(keep, remove, conf), VariantSelection.read(
          ChromosomeSelection.of(chr, excludeChr), fromBp, toBp, extract, exclude, allowNegativeBp, conf));
    }

    /** The list files, for the fingerprints of the steps that use them. */
    public List<String> files() {
      return Stream.of(keep, remove, extract, exclude).flatMap(List::stream)
          .filter(w -> !List.of("range", "bed0", "bed1").contains(w)).toList();
    }

    /** The selection as text, for the fingerprints. */
    public String describe() {
      return "keep=" + keep + " remove=" + remove + " extract=" + extract + " exclude=" + exclude + " chr=" + chr
          + " exclude-chr=" + excludeChr + " from-bp=" + fromBp + " to-bp=" + toBp + " allow-negative-bp="
          + allowNegativeBp;
    }
  }

  public static PipelineConfig read(Path file) {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    } catch (IOException e) {
      throw BadInputException.inFile(file.toString(), "cannot read: " + e.getMessage());
    }
    rejectRepeatedKeys(file);
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
    // The same range as the --maf flag of the commands the steps run.
    try {
      NumericRange.MAF.check("maf", maf);
    } catch (BadInputException e) {
      throw BadInputException.inFile(src, e.getMessage());
    }
    boolean loco = bool(p, "loco", "true", src);
    boolean allowExtraChr = bool(p, "allow-extra-chr", "false", src);
    String solver = value(p, "solver", "auto").trim();
    AssocJob.Solver s = switch (solver) {
      case "auto" -> AssocJob.Solver.AUTO;
      case "spectral" -> AssocJob.Solver.SPECTRAL;
      case "matrix-free" -> AssocJob.Solver.MATRIX_FREE;
      default -> throw BadInputException.inFile(src, "solver must be auto, spectral or matrix-free, got '" + solver
          + "'");
    };
    TraitTables.Spec trait;
    List<String> phenoNames;
    boolean allPheno = bool(p, "all-pheno", "false", src);
    // Read before the try: these parsers name the config file themselves (the catch would name it again).
    Integer mpheno = integer(p, "mpheno", src);
    Integer phenoCol = integer(p, "pheno-col", src);
    boolean iidOnly = bool(p, "iid-only", "false", src);
    try {
      phenoNames = names(p, "pheno-name");
      trait = new TraitTables.Spec(pathOrNull(base, optional(p, "pheno")), phenoNames.size() == 1 ? phenoNames.get(0) : null,
          mpheno, phenoCol, pathOrNull(base, optional(p, "covar")), names(p, "covar-names"),
          pathOrNull(base, optional(p, "qcovar")), names(p, "qcovar-names"), iidOnly, optional(p, "pheno-id-col"));
      // Checks the choice of several traits (names, all-pheno) as the flags are checked.
      new TraitTables.Traits(trait, phenoNames.size() > 1 || allPheno ? phenoNames : List.of(), allPheno);
    } catch (BadInputException e) {
      throw BadInputException.inFile(src, e.getMessage());
    }
    if (phenoNames.size() == 1 && !allPheno) {
      phenoNames = List.of();
    }
    Long fromBp = integer(p, "from-bp", src) == null ? null : Long.parseLong(optional(p, "from-bp"));
    Long toBp = integer(p, "to-bp", src) == null ? null : Long.parseLong(optional(p, "to-bp"));
    Selection selection = new Selection(paths(base, p, "keep"), paths(base, p, "remove"), paths(base, p, "extract"),
        paths(base, p, "exclude"), optional(p, "chr"), optional(p, "exclude-chr"), fromBp, toBp,
        bool(p, "allow-negative-bp", "false", src));
    Integer pcs = integer(p, "pcs", src);
    if (pcs != null && pcs < 0) {
      throw BadInputException.inFile(src, "pcs must be 0 (none) or a positive number of principal components, got " + pcs);
    }
    if (pcs != null && pcs > 0 && (trait.iidOnly() || trait.idColumn() != null)) {
      throw BadInputException.inFile(src, "pcs is not supported with iid-only = true or pheno-id-col (the PC table is "
          + "keyed FID IID)");
    }
    GenotypeInput genotypes;
    try {
      genotypes = new GenotypeInput(pathOrNull(base, optional(p, "bfile")), pathOrNull(base, optional(p, "bgen")),
          pathOrNull(base, optional(p, "sample")), pathOrNull(base, optional(p, "vcf")));
    } catch (BadInputException e) {
      throw BadInputException.inFile(src, "genotypes: " + e.getMessage().replace("--", "")
          + " (keys bfile, bgen, sample, vcf)");
    }
    // kernel and test: the same values and checks as the --kernel and --test flags.
    GenotypeScaling kernel;
    String test = value(p, "test", "auto").trim();
    try {
      kernel = GenotypeScaling.parse(value(p, "kernel", "gcta").trim());
      AssocCommand.parseStatistic(test);
    } catch (IllegalArgumentException | BadInputException e) {
      throw BadInputException.inFile(src, e.getMessage().replace("--test", "test").replace("--kernel", "kernel"));
    }
    return new PipelineConfig(src, genotypes, trait.orFam(genotypes.fam()), pathOrNull(base, optional(p, "out")), maf,
        loco, s, selection, allowExtraChr, pcs == null ? 0 : pcs, kernel, test, phenoNames, allPheno);
  }

  /**
   * A key given twice is an error: {@link Properties} would silently keep the last one. Keys are
   * found as {@link Properties#load} finds them (up to the first unescaped {@code =}, {@code :} or
   * blank; {@code #}/{@code !} comments; a line ending in an odd number of backslashes continues).
   */
  private static void rejectRepeatedKeys(Path file) {
    java.util.Map<String, Integer> first = new java.util.HashMap<>();
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw BadInputException.inFile(file.toString(), "cannot read: " + e.getMessage());
    }
    boolean continuation = false;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).stripLeading();
      boolean wasContinuation = continuation;
      int trailing = 0;
      for (int j = line.length() - 1; j >= 0 && line.charAt(j) == '\\'; j--) {
        trailing++;
      }
      continuation = trailing % 2 == 1 && !(line.startsWith("#") || line.startsWith("!"));
      if (wasContinuation || line.isEmpty() || line.startsWith("#") || line.startsWith("!")) {
        continue;
      }
      int end = 0;
      while (end < line.length() && "=: \t\f".indexOf(line.charAt(end)) < 0) {
        end += line.charAt(end) == '\\' ? 2 : 1;
      }
      String key = line.substring(0, Math.min(end, line.length()));
      Integer before = first.putIfAbsent(key, i + 1);
      if (before != null) {
        throw BadInputException.atLine(file.toString(), i + 1, "key '" + key + "' given again (first at line " + before
            + "); give each key once");
      }
    }
  }

  /** The output folder: {@code --out} when given, else the configuration's {@code out}; one of them is required. */
  public PipelineConfig withOutOverride(String override) {
    if (override != null) {
      return withOut(override);
    }
    if (out == null) {
      throw BadInputException.inFile(source, "missing required key 'out' (or give --out DIR)");
    }
    return this;
  }

  /** The same run writing to another folder (the demo uses its own). */
  public PipelineConfig withOut(String folder) {
    return new PipelineConfig(source, genotypes, trait, folder, maf, loco, solver, selection, allowExtraChr, pcs, kernel,
        test, phenoNames, allPheno);
  }

  private static String value(Properties p, String key, String fallback) {
    String v = p.getProperty(key);
    return v == null || v.isBlank() ? fallback : v;
  }

  private static boolean bool(Properties p, String key, String fallback, String src) {
    String v = value(p, key, fallback).trim();
    if (!v.equals("true") && !v.equals("false")) {
      throw BadInputException.inFile(src, key + " must be true or false, got '" + v + "'");
    }
    return Boolean.parseBoolean(v);
  }

  private static Integer integer(Properties p, String key, String src) {
    String v = optional(p, key);
    if (v == null) {
      return null;
    }
    try {
      long x = Long.parseLong(v);
      return x > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) x;
    } catch (NumberFormatException e) {
      throw BadInputException.inFile(src, key + " must be an integer, got '" + v + "'");
    }
  }

  /** Comma-separated column names ({@link TraitTables#columnNames}: one that names nothing is refused). */
  private static List<String> names(Properties p, String key) {
    String v = optional(p, key);
    return TraitTables.columnNames(key, v == null ? null : List.of(v.split("\\s*,\\s*")));
  }

  /** Space-separated words, each a path resolved against the configuration's folder except the list kinds. */
  private static List<String> paths(Path base, Properties p, String key) {
    String v = optional(p, key);
    List<String> out = new ArrayList<>();
    if (v != null) {
      for (String w : v.split("\\s+")) {
        out.add(List.of("range", "bed0", "bed1").contains(w) ? w : path(base, w));
      }
    }
    return out;
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
