package org.lmmspark.engine.io.bgen;

import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeVisitor;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.io.FileSystems;

/**
 * The {@link GenotypeReader} of a BGEN file: seeks to the range's first block and reads blocks in
 * sequence, decompressing and decoding only the selected variants into first-allele dosages.
 */
public record BgenGenotypeReader(BgenHeader header) implements GenotypeReader {
  @Override
  public int sampleCount() {
    return header.sampleCount();
  }

  @Override
  public GenotypeReader qualified(Configuration conf) {
    return new BgenGenotypeReader(header.withPath(FileSystems.qualify(header.path(), conf)));
  }

  @Override
  public boolean dosages() {
    return true;
  }

  @Override
  public void scan(int first, int end, long position, boolean[] include, Configuration conf, GenotypeVisitor visitor) {
    VariantDosages d = new VariantDosages(header.sampleCount());
    try (BgenReader r = new BgenReader(header, position, conf)) {
      for (int v = first; v < end; v++) {
        r.next();
        if (include == null || include[v]) {
          r.dosages(d);
          visitor.dosages(d, v);
        } else {
          r.skipGenotypes();
        }
      }
    }
  }
}
