package org.lmmspark.jobs.cli;

import java.util.List;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.pheno.TraitTables;
import picocli.CommandLine.Option;

/**
 * The trait and its covariates: the options every command that fits a model shares, read by
 * {@link TraitTables} (which column is the trait, which tables hold the covariates) and
 * {@link org.lmmspark.engine.pheno.SampleTable} (the layouts: header or not, CSV/tab/space, FID+IID or IID
 * keys). A picocli mixin that checks its own values ({@link #spec()}).
 */
public final class TraitOptions {
  static final String LAYOUTS = " Any table: FID IID then values, with a header (FID IID ..., #FID IID ..., or IID ... "
      + "keyed by IID) or without one (GCTA/PLINK; columns V1, V2, ... chosen with --mpheno); comma, tab or space "
      + "separated; missing NA, -9 or empty.";

  @Option(names = "--pheno", paramLabel = "FILE", description = "Phenotypes." + LAYOUTS)
  String pheno;

  @Option(names = "--pheno-name", paramLabel = "NAME", split = ",", description = "Trait column by name (default: the "
      + "first value column not used as a covariate); several, comma separated (A,B,C), fit each trait on its own "
      + "samples in one run: outputs PREFIX.TRAIT.* per trait and PREFIX.summary.tsv.")
  List<String> phenoNames;

  @Option(names = "--all-pheno", description = "Every value column of --pheno not used as a covariate is a trait "
      + "(as --pheno-name with all of them).")
  boolean allPheno;

  @Option(names = "--mpheno", paramLabel = "N", description = "Trait column by position: the N-th value column after "
      + "the IDs (GCTA/PLINK --mpheno; for headerless tables).")
  Integer mpheno;

  @Option(names = "--pheno-col", paramLabel = "N", description = "Trait from a .fam-layout table: phenotype column N "
      + "(file column 5+N; GEMMA -n N) of --pheno, or of the --bfile .fam when --pheno is not given.")
  Integer phenoCol;

  @Option(names = "--covar", paramLabel = "FILE", description = "Categorical covariates: each column expanded into "
      + "indicators, first level dropped (all columns, or those of --covar-names).")
  String covar;

  @Option(names = "--covar-names", paramLabel = "COL", split = ",", description = "Categorical covariates by column "
      + "name, comma separated: from the --covar table, or without one from the --pheno table.")
  List<String> covarNames;

  @Option(names = "--qcovar", paramLabel = "FILE", description = "Quantitative covariates (all columns, or those of "
      + "--qcovar-names).")
  String qcovar;

  @Option(names = "--qcovar-names", paramLabel = "COL", split = ",", description = "Quantitative covariates by column "
      + "name: from the --qcovar table, or without one from the --pheno table.")
  List<String> qcovarNames;

  @Option(names = "--iid-only", description = "Tables are keyed by IID alone (a headerless table starts with the IID; "
      + "a header's FID column is ignored); rows are matched to the genotypes' or GRM's samples by IID.")
  boolean iidOnly;

  @Option(names = "--pheno-id-col", paramLabel = "NAME", description = "Tables whose header names the IID column "
      + "NAME, wherever it stands (SAIGE's --sampleIDColinphenoFile; e.g. SAIGE's pheno_both.txt with IID): every "
      + "table read (--pheno, --covar, --qcovar) is keyed by that IID alone and matched by IID as with --iid-only; "
      + "its other columns except a FID one are values.")
  String phenoIdCol;

  /**
   * The tables and columns of the one trait as the engine reads them; inconsistent options, and several
   * traits ({@link #traits()} is for commands that take them), are refused here.
   */
  public TraitTables.Spec spec() {
    TraitTables.Traits t = traits();
    if (t.many()) {
      throw new BadInputException("this command fits one trait: give one --pheno-name (several traits and "
          + "--all-pheno are for reml, assoc and run)");
    }
    return t.spec();
  }

  /** The trait or traits ({@code --pheno-name A,B,…}, {@code --all-pheno}) with their tables. */
  public TraitTables.Traits traits() {
    List<String> phenoNames = TraitTables.columnNames("--pheno-name", this.phenoNames);
    TraitTables.Spec base = new TraitTables.Spec(pheno, phenoNames.size() == 1 ? phenoNames.get(0) : null, mpheno,
        phenoCol, covar, TraitTables.columnNames("--covar-names", covarNames), qcovar,
        TraitTables.columnNames("--qcovar-names", qcovarNames), iidOnly, phenoIdCol);
    return new TraitTables.Traits(base, phenoNames.size() > 1 || allPheno ? phenoNames : List.of(), allPheno);
  }
}
