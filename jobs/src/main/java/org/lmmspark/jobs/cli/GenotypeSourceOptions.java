package org.lmmspark.jobs.cli;

import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.GenotypeInput;
import picocli.CommandLine.Option;

/**
 * Where the genotypes come from, the same options for every command that reads them: a PLINK 1 fileset
 * ({@code --bfile}), a BGEN file ({@code --bgen} with {@code --sample}) or a bgzipped VCF or a BCF ({@code --vcf}).
 * Validates itself
 * ({@link #input}): exactly one source when required, {@code --sample} only with {@code --bgen}.
 */
public final class GenotypeSourceOptions {
  @Option(names = "--bfile", paramLabel = "PREFIX", description = "PLINK 1 binary fileset PREFIX.bed/.bim/.fam "
      + "(local path, file:, hdfs: or s3a:); counts the .bim A1 allele (column 5).")
  String bfile;

  @Option(names = "--bgen", paramLabel = "FILE", description = "BGEN v1.1/v1.2/v1.3 file (layout 1 or 2, zlib or zstd, "
      + "any bit depth; biallelic variants) read as dosages of its first allele; FILE.bgi is used when present.")
  String bgen;

  @Option(names = "--sample", paramLabel = "FILE", description = "With --bgen: Oxford .sample file (ID_1 = FID, "
      + "ID_2 = IID). Without it the IDs stored in the BGEN are used as FID and IID.")
  String sample;

  @Option(names = "--vcf", paramLabel = "FILE", description = "Bgzipped VCF (.vcf.gz, BGZF) or BCF (.bcf, BCF 2.2 "
      + "as bcftools writes it, or 2.1), told apart by content, read as dosages of the ALT allele: FORMAT DS, else GP, "
      + "else GT; biallelic records; sample names are FID and IID. With FILE.tbi or FILE.csi beside it (tabix -p vcf; "
      + "bcftools index) its sites are listed by parallel tasks, else in one task.")
  String vcf;

  /** Whether any genotype option was given. */
  public boolean given() {
    return bfile != null || bgen != null || vcf != null;
  }

  /** The genotype input named by the options; a {@link BadInputException} when none or several are given. */
  public GenotypeInput input() {
    if (sample != null && bgen == null) {
      throw new BadInputException("--sample FILE goes with --bgen FILE");
    }
    return new GenotypeInput(bfile, bgen, sample, vcf);
  }
}
