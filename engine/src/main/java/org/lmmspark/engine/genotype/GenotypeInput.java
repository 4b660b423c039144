package org.lmmspark.engine.genotype;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.PlinkFileset;
import org.lmmspark.engine.io.bgen.BgenFile;
import org.lmmspark.engine.io.vcf.VcfFile;

/**
 * Which genotype files a run reads: exactly one of a PLINK 1 fileset prefix ({@code --bfile}), a
 * BGEN file ({@code --bgen}, with its {@code .sample} file {@code --sample} unless the BGEN stores
 * sample IDs) or a bgzipped VCF or a BCF ({@code --vcf}). Paths only; {@link #open} reads and validates them.
 */
public record GenotypeInput(String bfile, String bgen, String sample, String vcf) implements Serializable {
  public GenotypeInput {
    int given = (bfile != null ? 1 : 0) + (bgen != null ? 1 : 0) + (vcf != null ? 1 : 0);
    if (given != 1) {
      throw new BadInputException(given == 0 ? "no genotypes: give --bfile PREFIX, --bgen FILE or --vcf FILE"
          : "give one genotype input: --bfile, --bgen or --vcf, not several");
    }
    if (sample != null && bgen == null) {
      throw new BadInputException("--sample FILE goes with --bgen FILE (a .bed has its .fam)");
    }
  }

  public static GenotypeInput bfile(String prefix) {
    return new GenotypeInput(prefix, null, null, null);
  }

  public static GenotypeInput bgen(String path, String sample) {
    return new GenotypeInput(null, path, sample, null);
  }

  public static GenotypeInput vcf(String path) {
    return new GenotypeInput(null, null, null, path);
  }

  /**
   * Opens and validates the files (driver side: reads the variant and sample lists; a VCF's sites are
   * listed in this thread when first asked for; the jobs layer lists them as Spark tasks instead).
   */
  public GenotypeSource open(Configuration conf) {
    if (bfile != null) {
      return PlinkFileset.open(bfile, conf);
    }
    if (vcf != null) {
      return VcfFile.open(vcf, conf);
    }
    return BgenFile.open(bgen, sample, conf);
  }

  /** The same input with its paths made absolute and given their scheme (for tasks on other machines). */
  public GenotypeInput qualified(Configuration conf) {
    return new GenotypeInput(q(bfile, conf), q(bgen, conf), q(sample, conf), q(vcf, conf));
  }

  private static String q(String path, Configuration conf) {
    return path == null ? null : org.lmmspark.engine.io.FileSystems.qualify(path, conf);
  }

  /** The input files, without opening them (for the pipeline's change detection). */
  public List<String> files(Configuration conf) {
    if (bfile != null) {
      return List.of(PlinkFileset.bedPath(bfile), PlinkFileset.bimPath(bfile), PlinkFileset.famPath(bfile));
    }
    if (vcf != null) {
      String index = VcfFile.indexPath(vcf, conf);
      return index == null ? List.of(vcf) : List.of(vcf, index);
    }
    List<String> out = new ArrayList<>(List.of(bgen));
    if (sample != null) {
      out.add(sample);
    }
    if (org.lmmspark.engine.io.FileSystems.exists(BgenFile.indexPath(bgen), conf)) {
      out.add(BgenFile.indexPath(bgen));
    }
    return out;
  }

  /** The {@code .fam} of a PLINK fileset (phenotype columns for {@code --pheno-col}); null for BGEN and VCF. */
  public String fam() {
    return bfile == null ? null : PlinkFileset.famPath(bfile);
  }

  /** The path a user would recognise: the {@code .bed} prefix, the BGEN or the VCF file. */
  public String label() {
    return bfile != null ? bfile : bgen != null ? bgen : vcf;
  }

  /** The options that name this input as typed ({@code --bfile P}, {@code --bgen F --sample S}, {@code --vcf F}). */
  @Override
  public String toString() {
    if (bfile != null) {
      return "--bfile " + bfile;
    }
    if (vcf != null) {
      return "--vcf " + vcf;
    }
    return "--bgen " + bgen + (sample != null ? " --sample " + sample : "");
  }
}
