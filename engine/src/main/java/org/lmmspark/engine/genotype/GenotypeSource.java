package org.lmmspark.engine.genotype;

import java.util.List;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.io.Variant;

/**
 * A genotype input opened on the driver: PLINK 1 {@code .bed/.bim/.fam}, BGEN with its {@code .sample},
 * or VCF/BCF. It knows the samples (file order), the variants ({@link Variant#a1()} is the counted
 * allele) and where each variant's data starts ({@link #position}), and hands tasks a small
 * {@link GenotypeReader} that decodes any range {@code [a, b)} from its start position, so every job
 * cuts its work by seek positions and asks the source, never a particular format. Memory O(N + M).
 */
public interface GenotypeSource {
  List<SampleId> samples();

  List<Variant> variants();

  default int sampleCount() {
    return samples().size();
  }

  default int variantCount() {
    return variants().size();
  }

  /** The seek position of variant {@code v}: a byte offset, or a BGZF virtual offset for a VCF. */
  long position(int v);

  /** The reader tasks use; {@link GenotypeReader#scan} takes the {@link #position} of a range's first variant. */
  GenotypeReader reader();

  /** The file that lists the variants, for messages ({@code .bim}, {@code .bgen}, {@code .vcf.gz}). */
  String variantsPath();

  /** The file that lists the samples, for messages ({@code .fam}, {@code .sample}, the BGEN or VCF). */
  String samplesPath();

  /** The {@code .fam} of a PLINK fileset (phenotype columns for {@code --pheno-col}); null for other formats. */
  default String famPath() {
    return null;
  }

  /** Every input file read (for change detection by the pipeline's resume). */
  List<String> files();

  /** What the source is, for logs: format, compression, counted allele. */
  String describe();

  /** Problems reported but not fatal (e.g. duplicate variant IDs). */
  List<String> warnings();
}
