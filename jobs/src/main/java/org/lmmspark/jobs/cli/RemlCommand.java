package org.lmmspark.jobs.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.reml.RemlInputs;
import org.lmmspark.jobs.reml.RemlJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lmmspark reml}: parses and checks options, then calls {@link RemlJob#run}.
 *
 * <pre>
 * lmmspark reml --grm data/grm --pheno pheno.txt --pheno-name Y1 --qcovar pcs.txt --out results/y1
 * spark-submit --class org.lmmspark.jobs.cli.Lmmspark --driver-memory 4g lmmspark-jobs.jar reml ...
 * </pre>
 *
 * Runs on the driver (no executors needed): give the driver ≈ 3·8·n² bytes (n = 10,000: 4 GB).
 */
@Command(
    name = "reml",
    mixinStandardHelpOptions = true,
    description = {
      "Variance components and heritability by REML (GCTA-GREML style): V = Σ σ²_k V_k + σ²_e I.",
      "Writes OUT.hsq (GCTA layout), OUT.json, OUT.log and with --blup OUT.blup.txt.",
      "Samples are those in every input with a phenotype and all covariates (the log counts the rest)."
    })
public final class RemlCommand implements Callable<Integer> {

  @Option(names = "--grm", paramLabel = "PREFIX", description = "GCTA binary GRM (PREFIX.grm.bin/.grm.N.bin/.grm.id); "
      + "repeat for several genetic components.")
  List<String> grms = new ArrayList<>();

  @Option(names = "--epistatic", description = "Add the epistatic (additive×additive) component K∘K of each --grm.")
  boolean epistatic;

  @Option(names = "--group", paramLabel = "COLUMN", description = "A random intercept per level of this column of "
      + "the --covar file (plot, batch, family, litter): component Z Zᵀ; repeatable. The column is then not a fixed effect.")
  List<String> groups = new ArrayList<>();

  @Option(names = "--pheno", paramLabel = "FILE", required = true, description = "Phenotypes: FID IID then trait "
      + "columns, header line, whitespace separated, missing NA or -9.")
  String pheno;

  @Option(names = "--pheno-name", paramLabel = "NAME", description = "Trait column (default: the first one).")
  String phenoName;

  @Option(names = "--covar", paramLabel = "FILE", description = "Categorical covariates (FID IID columns...): each "
      + "column expanded into indicators, first level dropped.")
  String covar;

  @Option(names = "--qcovar", paramLabel = "FILE", description = "Quantitative covariates (FID IID columns...).")
  String qcovar;

  @Option(names = "--blup", description = "Also write OUT.blup.txt: BLUP of each random effect per sample "
      + "(GCTA --reml-pred-rand).")
  boolean blup;

  @Option(names = "--solver", paramLabel = "auto|spectral|dense", defaultValue = "auto", description = "spectral: "
      + "eigendecomposition, one component only; dense: AI-REML with Cholesky of V; auto: spectral when possible "
      + "(default: ${DEFAULT-VALUE}).")
  String solver;

  @Option(names = "--max-iterations", paramLabel = "N", defaultValue = "100", description = "AI-REML iteration "
      + "limit (default: ${DEFAULT-VALUE}).")
  int maxIterations;

  @Option(names = "--allow-nonconvergence", description = "Write the last iterate (flagged) instead of failing "
      + "when REML does not converge.")
  boolean allowNonconvergence;

  @Option(names = "--out", paramLabel = "PREFIX", required = true, description = "Output prefix.")
  String out;

  /**
   * Relationship matrices from other inputs, added as components after the GRMs. The pedigree
   * numerator relationship matrix of {@code --pedigree FILE} goes here, as
   * {@code new RemlInputs.Relationship("A", file, grmOfA, false)}.
   */
  List<RemlInputs.Relationship> extraRelationships() {
    return List.of();
  }

  @Override
  public Integer call() {
    if (maxIterations < 1) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
          "--max-iterations must be at least 1");
    }
    RemlJob.Options o = new RemlJob.Options(grms, epistatic, extraRelationships(), groups, pheno, phenoName, covar, qcovar,
        blup, solver, allowNonconvergence, maxIterations, out, commandLine());
    RemlJob.Result r = RemlJob.run(o, new Configuration());
    System.out.print(String.join("\n", r.logLines()) + "\n");
    System.out.print("\n" + RemlJob.hsq(r.summary()));
    System.out.println("written: " + out + ".hsq, " + out + ".json, " + out + ".log" + (blup ? ", " + out + ".blup.txt" : ""));
    return 0;
  }

  private String commandLine() {
    StringBuilder sb = new StringBuilder("lmmspark reml");
    for (String g : grms) {
      sb.append(" --grm ").append(g);
    }
    if (epistatic) {
      sb.append(" --epistatic");
    }
    for (String g : groups) {
      sb.append(" --group ").append(g);
    }
    sb.append(" --pheno ").append(pheno);
    if (phenoName != null) {
      sb.append(" --pheno-name ").append(phenoName);
    }
    if (covar != null) {
      sb.append(" --covar ").append(covar);
    }
    if (qcovar != null) {
      sb.append(" --qcovar ").append(qcovar);
    }
    if (blup) {
      sb.append(" --blup");
    }
    sb.append(" --solver ").append(solver).append(" --max-iterations ").append(maxIterations);
    if (allowNonconvergence) {
      sb.append(" --allow-nonconvergence");
    }
    return sb.append(" --out ").append(out).toString();
  }
}
