package org.lmmspark.engine.io.vcf;

import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeVisitor;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.io.FileSystems;

/**
 * The {@link GenotypeReader} of a bgzipped VCF or a BCF: parses the header (htsjdk's codec for a VCF,
 * the dictionaries for a BCF), seeks to the range's first record by its BGZF virtual offset and decodes
 * the selected records into ALT dosages ({@link VcfDosages}); unselected records are skipped unparsed.
 */
public record VcfGenotypeReader(String path, int sampleCount) implements GenotypeReader {
  @Override
  public GenotypeReader qualified(Configuration conf) {
    return new VcfGenotypeReader(FileSystems.qualify(path, conf), sampleCount);
  }

  @Override
  public boolean dosages() {
    return true;
  }

  @Override
  public void scan(int first, int end, long position, boolean[] include, Configuration conf, GenotypeVisitor visitor) {
    VariantDosages d = new VariantDosages(sampleCount);
    try (VariantRecords records = VariantRecords.open(path, conf)) {
      records.seek(position);
      for (int v = first; v < end; v++) {
        if (!records.next()) {
          throw BadInputException.inFile(path, "ends before record " + (v + 1) + " (the file changed since it was opened?)");
        }
        if (include != null && !include[v]) {
          continue;
        }
        records.dosages(d, v + 1);
        visitor.dosages(d, v);
      }
    }
  }
}
