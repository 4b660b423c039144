package org.lmmspark.jobs.cli;

import picocli.CommandLine.Option;

/** The trait and its covariates, as GCTA takes them: the options {@code reml} and {@code assoc} share. */
public final class TraitOptions {
  @Option(names = "--pheno", required = true, paramLabel = "FILE", description = "Phenotypes: FID IID then trait "
      + "columns, header line, whitespace separated, missing NA or -9.")
  String pheno;

  @Option(names = "--pheno-name", paramLabel = "NAME", description = "Trait column (default: the first one).")
  String phenoName;

  @Option(names = "--covar", paramLabel = "FILE", description = "Categorical covariates (FID IID columns...): each "
      + "column expanded into indicators, first level dropped.")
  String covar;

  @Option(names = "--qcovar", paramLabel = "FILE", description = "Quantitative covariates (FID IID columns...).")
  String qcovar;
}
