package org.lmmspark.jobs.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.glmm.Family;
import org.lmmspark.engine.glmm.GlmmFit;
import org.lmmspark.engine.glmm.GlmmFitter;
import org.lmmspark.engine.glmm.GlmmReport;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.GctaGrmFiles;
import org.lmmspark.engine.io.OutputSet;
import org.lmmspark.engine.io.WhitespaceLines;
import org.lmmspark.engine.model.DataTable;
import org.lmmspark.engine.model.FitReport;
import org.lmmspark.engine.model.Formula;
import org.lmmspark.engine.model.MixedModel;
import org.lmmspark.engine.model.MixedModelFit;
import org.lmmspark.engine.model.MixedModelFitter;
import org.lmmspark.engine.model.ModelFrame;
import org.lmmspark.engine.model.Relationship;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.pedigree.Pedigree;
import org.lmmspark.jobs.reml.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lmmspark fit}: a linear mixed model from a table and an lme4 formula, fitted on the driver
 * without Spark (the numerics are {@link MixedModelFitter}; this class parses options and writes
 * files).
 *
 * <pre>
 * lmmspark fit --data sleepstudy.csv --formula 'Reaction ~ Days + (Days | Subject)' --out fits/ss
 * lmmspark fit --data bw.csv --formula 'weight ~ Time * Diet + (Time | Rat)' --factor Diet --resid-by Diet --out fits/bw
 * lmmspark fit --data trial.csv --formula 'y ~ env + (1 + env | id:G)' --grm G=data/grm --out fits/rn
 * </pre>
 * Memory: the sparse route (grouping factors, slopes, a pedigree) holds the Cholesky factor of the
 * mixed-model equations (see the log's "entries in L"); the dense route (a GRM)
 * {@code 8 · (parameters + 2) · Σ_b n_b²} bytes over the independent blocks of V (one block of n
 * records with a relationship matrix).
 */
@Command(
    name = "fit",
    mixinStandardHelpOptions = true,
    description = {
      "Linear mixed model from a formula, as lme4::lmer and nlme::lme: random intercepts and slopes with unstructured"
          + " (|) or diagonal (||) covariance, nested (g1/g2) and crossed factors, relationship matrices"
          + " ((1 | id:G) with --grm G=PREFIX, K o K as GxG, (1 | id:A) with --pedigree; (1 | env:id:G) is GCTA's"
          + " GxE component G o (Z_E Z_E')), a residual variance per group (--resid-by) and known weights.",
      "Fitted by average-information REML or ML through the sparse mixed-model equations (grouping factors, slopes,"
          + " pedigree; see --solver) or over the independent blocks of V (subjects, genotypes; one dense"
          + " block when a GRM links everyone). Writes OUT.json, OUT.summary.txt (like lme4's"
          + " summary()), OUT.ranef.tsv (BLUPs and their prediction error variances for every level, and for every"
          + " id of a relationship matrix: ancestors without records included) and OUT.log.",
      "",
      "Formula: y ~ x + f + a:b + a*b + factor(n) + log(x) + (1 + t | g) + (t || g) + (1 | g1/g2) + (0 + t | g)."
          + " Text columns are factors (treatment contrasts, reference level the first in sorted order;"
          + " --ref-level col=level changes it); --factor COL makes a numeric column a factor. Records with a missing"
          + " value (NA, empty, .) in a model column are dropped. Parameter names (for --fix): GROUP:EFFECT for a"
          + " variance, GROUP:EFFECT1,EFFECT2 for a covariance, residual or residual:COL=LEVEL.",
    })
public final class FitCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--data", required = true, paramLabel = "TABLE", description = "CSV or whitespace-separated table "
      + "with a header line.")
  String data;

  @Option(names = "--formula", required = true, paramLabel = "FORMULA", description = "lme4 model formula (quote it).")
  String formula;

  @Option(names = "--method", paramLabel = "reml|ml", defaultValue = "reml", description = "REML (default) or "
      + "maximum likelihood (to compare fixed effects by LRT or AIC).")
  String method;

  @Option(names = "--resid-by", paramLabel = "COL", description = "A residual variance per level of this column "
      + "(nlme varIdent(~1|COL), ASReml at(COL) residuals).")
  String residBy;

  @Option(names = "--weights", paramLabel = "COL", description = "Known positive weights: residual variance "
      + "sigma^2/w (lme4 weights).")
  String weights;

  @Option(names = "--fix", paramLabel = "NAME=VALUE", description = "Hold a variance parameter at VALUE (repeatable;"
      + " fix all entries of a correlated term or none). Fixing all gives BLUE/BLUP at known variances.")
  List<String> fix = new ArrayList<>();

  @Option(names = "--fix-file", paramLabel = "FILE", description = "Lines 'NAME VALUE' of parameters to fix.")
  String fixFile;

  @Option(names = "--ref-level", paramLabel = "COL=LEVEL", description = "Reference level of a factor (repeatable).")
  List<String> refLevels = new ArrayList<>();

  @Option(names = "--factor", paramLabel = "COL", split = ",", description = "Use these numeric columns as factors.")
  List<String> factors = new ArrayList<>();

  @Option(names = "--grm", paramLabel = "NAME=PREFIX", description = "GCTA GRM usable as (… | id:NAME) (and its "
      + "epistatic square as (… | id:NAMExNAME)); levels matched by IID (repeatable).")
  List<String> grms = new ArrayList<>();

  @Option(names = "--pedigree", paramLabel = "FILE", description = "Pedigree (see 'lmmspark pedigree-grm --help'):"
      + " its numerator relationship matrix is usable as (… | animal:A); levels matched by ID.")
  String pedigree;

  @Mixin GlmmOptions glmmOptions;

  @Option(names = "--solver", paramLabel = "auto|sparse|dense", defaultValue = "auto", description = "Likelihood "
      + "route: sparse = Henderson's mixed-model equations by a sparse Cholesky (grouping factors, slopes on them, "
      + "a pedigree through A^-1; as lme4), dense = the independent blocks of V (any term, a GRM included); auto "
      + "(default) takes sparse where every random term allows it. The log says which and why.")
  String solver;

  @Option(names = "--max-iterations", paramLabel = "N", defaultValue = "200", description = "Iteration limit "
      + "(default: ${DEFAULT-VALUE}).")
  int maxIterations;

  @Option(names = "--allow-nonconvergence", description = "Write the last iterate (flagged) instead of failing when "
      + "the fit does not converge.")
  boolean allowNonconvergence;

  @picocli.CommandLine.Mixin OutputOptions output;

  /** The output prefix ({@code --out}). */
  private String out;

  /** The files of one run: existing ones are refused without --overwrite. */
  static final List<String> OUTPUTS = List.of(".json", ".summary.txt", ".ranef.tsv", ".log");

  @Override
  public Integer call() {
    out = output.out();
    List<String> inputs = new ArrayList<>(List.of(data));
    inputs.addAll(pairs("--grm", grms).values());
    inputs.add(pedigree);
    inputs.add(fixFile);
    try (OutputSet set = output.open(OUTPUTS, new Configuration(), inputs.toArray(String[]::new))) {
      int rc = fitAndWrite();
      set.commit();
      return rc;
    }
  }

  /** Everything after the output set is open: options, the table, the fit, its files. */
  private int fitAndWrite() {
    RunLog log = new RunLog(spec);
    Configuration conf = new Configuration();
    MixedModelFitter.Method m = switch (method.toLowerCase(Locale.ROOT)) {
      case "reml" -> MixedModelFitter.Method.REML;
      case "ml" -> MixedModelFitter.Method.ML;
      default -> throw new BadInputException("--method must be reml or ml, got " + method);
    };
    if (maxIterations < 1) {
      throw new BadInputException("--max-iterations must be at least 1");
    }
    Formula f = Formula.parse(formula);
    ModelFrame.Options options = new ModelFrame.Options(pairs("--ref-level", refLevels), new LinkedHashSet<>(factors),
        residBy, weights, relationships(conf, log));
    Map<String, Double> fixedValues = fixed(conf);
    DataTable table = DataTable.read(data, conf);
    // Timed as lme4's lmer() is: model frame, optimization and the fitted object, not the table's reading.
    java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
    long t0 = System.nanoTime();
    long cpu0 = threads.getCurrentThreadCpuTime();
    // CPU of work the frame and the fit put on a second thread (SideTask.secondCoreFree), reported with this thread's.
    java.util.concurrent.atomic.LongAdder frameSideCpu = new java.util.concurrent.atomic.LongAdder();
    MixedModel model = ModelFrame.build(table, f, options, frameSideCpu);
    if (glmmOptions.family() != null) {
      return fitGlmm(model, m, fixedValues, log, conf, t0, cpu0 - frameSideCpu.sum()); // Z's CPU counted
    }
    if (glmmOptions.linkGiven() || model.trials() != null || model.offset() != null) {
      throw new BadInputException("--link, cbind(successes, failures) and offset() are for --family binomial or "
          + "poisson: a gaussian fit takes the response as it is");
    }
    MixedModelFitter.Solver route = switch (solver.toLowerCase(Locale.ROOT)) {
      case "auto" -> MixedModelFitter.Solver.AUTO;
      case "sparse" -> MixedModelFitter.Solver.SPARSE;
      case "dense" -> MixedModelFitter.Solver.DENSE;
      default -> throw new BadInputException("--solver must be auto, sparse or dense, got " + solver);
    };
    MixedModelFit fit = MixedModelFitter.fit(model, m, fixedValues, maxIterations, route);
    double seconds = (System.nanoTime() - t0) / 1e9;
    // This thread's CPU and that of the fit's side tasks (on the second core: see MixedModelFitter).
    double sideCpu = frameSideCpu.sum() / 1e9 + fit.sideCpuSeconds();
    double cpu = (threads.getCurrentThreadCpuTime() - cpu0) / 1e9 + sideCpu;
    fit.notes().forEach(log::say);
    log.say("route: " + fit.route());
    log.say(String.format(Locale.ROOT, "fitted in %.3f s (%.3f s CPU; model frame, %s, cAIC, BLUPs; of which cAIC "
        + "%.3f s CPU; %.3f s CPU on a second thread): %s", seconds, cpu, m == MixedModelFitter.Method.REML ? "AI-REML"
        : "AI-ML", fit.caicCpuSeconds(), sideCpu, fit.message()));
    if (!fit.converged() && !allowNonconvergence) {
      log.say("error: the fit did not converge; no results written (--allow-nonconvergence writes the last iterate)");
      log.writeDiagnostic(out + ".log", conf);
      throw new BadInputException("the fit did not converge: " + fit.message() + "; see " + out + ".log");
    }
    String summary = FitReport.text(fit, model, data);
    try (AtomicOutputs outs = new AtomicOutputs(conf)) {
      write(outs, out + ".json", Json.write(FitReport.toMap(fit, model, data)));
      write(outs, out + ".summary.txt", summary);
      write(outs, out + ".ranef.tsv", FitReport.blupTable(fit));
      outs.commit();
    }
    System.out.print("\n" + summary);
    log.note(summary);
    log.say("written: " + out + ".json, " + out + ".summary.txt, " + out + ".ranef.tsv, " + out + ".log");
    log.write(out + ".log", conf);
    return 0;
  }

  /** The GLMM route: {@link GlmmFitter} on the same model frame; JSON, a glmer-like summary, the log. */
  private int fitGlmm(MixedModel model, MixedModelFitter.Method m, Map<String, Double> fixedValues, RunLog log,
      Configuration conf, long t0, long cpu0) {
    Family fam = glmmOptions.family();
    if (!fixedValues.isEmpty()) {
      throw new BadInputException("--fix is for linear mixed models; a GLMM's variances are all estimated");
    }
    if (weights != null || residBy != null) {
      throw new BadInputException("--weights and --resid-by are for linear mixed models (a GLMM's residual variance "
          + "follows from its family)");
    }
    GlmmFitter.Options glmm = glmmOptions.options(m);
    List<String> why = new ArrayList<>();
    model = recodePlinkCaseControl(model, fam, log);
    // A response the family cannot take is named by the table's file and line (the model frame keeps them).
    GlmmFit fit = GlmmFitter.fit(model, fam, glmm, why);
    double seconds = (System.nanoTime() - t0) / 1e9;
    double cpu = (java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpu0) / 1e9;
    model.notes().forEach(log::say);
    why.forEach(w -> log.say("route: " + w));
    log.say(String.format(Locale.ROOT, "fitted in %.3f s (%.3f s CPU; model frame and %s): %s", seconds, cpu,
        fit.method().equals("laplace") ? "Laplace fit" : "PQL fit", fit.message()));
    if (!fit.converged() && !allowNonconvergence) {
      log.say("error: the fit did not converge; no results written (--allow-nonconvergence writes the last iterate)");
      log.writeDiagnostic(out + ".log", conf);
      throw new BadInputException("the fit did not converge: " + fit.message() + "; see " + out + ".log");
    }
    double meanCount = 0;
    for (double v : model.y()) {
      meanCount += v / model.n();
    }
    String summary = GlmmReport.text(fit, formula, data, meanCount);
    try (AtomicOutputs outs = new AtomicOutputs(conf)) {
      write(outs, out + ".json", Json.write(GlmmReport.toMap(fit, formula, data, meanCount)));
      write(outs, out + ".summary.txt", summary);
      outs.commit();
    }
    System.out.print("\n" + summary);
    log.note(summary);
    log.say("written: " + out + ".json, " + out + ".summary.txt, " + out + ".log");
    log.write(out + ".log", conf);
    return 0;
  }

  /** A binomial 0/1 response coded 1/2 (PLINK's control/case) is recoded to 0/1, and the log says so. */
  private static MixedModel recodePlinkCaseControl(MixedModel model, Family fam, RunLog log) {
    if (!fam.isBinomial() || model.trials() != null) {
      return model;
    }
    double[] recoded = Family.plinkCaseControlAsZeroOne(model.y());
    if (recoded == null) {
      return model;
    }
    log.say("the response is coded 1/2 (PLINK: 1 control, 2 case): recoded to 0/1");
    return model.withResponse(recoded, model.weights());
  }

  private static void write(AtomicOutputs outs, String path, String text) {
    try (OutputStream os = outs.create(path)) {
      os.write(text.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Map<String, String> pairs(String option, List<String> values) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String v : values) {
      int eq = v.indexOf('=');
      if (eq <= 0 || eq == v.length() - 1) {
        throw new BadInputException(option + " " + v + ": expected NAME=VALUE");
      }
      out.put(v.substring(0, eq), v.substring(eq + 1));
    }
    return out;
  }

  private Map<String, Double> fixed(Configuration conf) {
    Map<String, String> raw = new LinkedHashMap<>();
    if (fixFile != null) {
      WhitespaceLines.read(fixFile, conf, (lineNo, fields) -> {
        if (fields.length != 2) {
          throw BadInputException.atLine(fixFile, lineNo, "expected 'NAME VALUE'");
        }
        raw.put(fields[0], fields[1]);
      });
    }
    raw.putAll(pairs("--fix", fix));
    Map<String, Double> out = new HashMap<>();
    raw.forEach((k, v) -> {
      try {
        out.put(k, org.lmmspark.engine.NumericRange.FINITE.check("--fix " + k, Double.parseDouble(v)));
      } catch (NumberFormatException e) {
        throw new BadInputException("--fix " + k + "=" + v + ": not a number");
      }
    });
    return out;
  }

  private Map<String, Relationship> relationships(Configuration conf, RunLog log) {
    Map<String, Relationship> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : pairs("--grm", grms).entrySet()) {
      Relationship r = Relationship.of(e.getKey(), GctaGrmFiles.read(e.getValue(), conf));
      out.put(r.name(), r);
      out.put(r.name() + "x" + r.name(), r.epistatic());
      log.say("relationship " + r.name() + ": GRM " + e.getValue() + " over " + r.ids().size() + " individuals");
    }
    if (pedigree != null) {
      Pedigree ped = Pedigree.read(pedigree, conf);
      Relationship a = Relationship.ofPedigree("A", NumeratorRelationship.of(ped));
      out.put("A", a);
      log.say("relationship A: pedigree " + pedigree + ", " + ped.size() + " individuals");
    }
    return out;
  }
}
