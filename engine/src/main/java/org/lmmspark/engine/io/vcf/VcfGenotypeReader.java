package org.lmmspark.engine.io.vcf;

import htsjdk.variant.variantcontext.VariantContext;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeVisitor;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.io.FileSystems;

/**
 * The {@link GenotypeReader} of a bgzipped VCF: parses the header (to build htsjdk's codec), seeks to
 * the range's first record by its BGZF virtual offset and decodes the selected records into ALT dosages
 * ({@link VcfDosages}); unselected records are skipped as text, never parsed.
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
    try (VcfRecords records = new VcfRecords(path, conf)) {
      records.seek(position);
      for (int v = first; v < end; v++) {
        String line = records.nextLine();
        if (line == null) {
          throw BadInputException.inFile(path, "ends before record " + (v + 1) + " (the file changed since it was opened?)");
        }
        if (include != null && !include[v]) {
          continue;
        }
        VariantContext vc;
        try {
          vc = records.codec().decode(line);
        } catch (RuntimeException e) {
          throw BadInputException.inFile(path, "record " + (v + 1) + ": " + e.getMessage());
        }
        VcfDosages.fill(vc, d, path + ": record " + (v + 1) + " (" + vc.getContig() + ":" + vc.getStart() + ")");
        visitor.dosages(d, v);
      }
    }
  }
}
