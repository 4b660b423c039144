package org.lmmspark.jobs.cli;

import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.GenotypeScaling;
import picocli.CommandLine.Option;

/** {@code --kernel}: which peer's definition of the genomic relationship matrix a command computes. */
public final class KernelOptions {
  @Option(names = "--kernel", defaultValue = "gcta", paramLabel = "K",
      description = "GRM definition (default: ${DEFAULT-VALUE}). gcta: z = (x-2p)/sqrt(2p(1-p)), A_jk = sum z_ij z_ik / M_jk"
          + " over variants called in both samples (gcta --make-grm, plink --make-grm-bin). standardized: z = (x-mean)/sd,"
          + " sd the population SD of the mean-imputed variant over the analysed samples, K = ZZ'/M (GEMMA -gk 2,"
          + " FaST-LMM, Hail, BOLT-LMM). centered: z = x-mean, K = ZZ'/M (GEMMA -gk 1). Missing calls count as the"
          + " mean (z = 0) in all three; monomorphic variants are skipped.")
  String kernel;

  /** The parsed definition; a bad value is bad input (exit code 2). */
  public GenotypeScaling scaling() {
    try {
      return GenotypeScaling.parse(kernel);
    } catch (IllegalArgumentException e) {
      throw new BadInputException(e.getMessage());
    }
  }
}
