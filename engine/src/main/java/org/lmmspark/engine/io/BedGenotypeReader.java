package org.lmmspark.engine.io;

import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeVisitor;

/** The {@link GenotypeReader} of a PLINK {@code .bed}: positioned reads in chunks ({@link BedReader#scan}), 2-bit calls handed on as they are. */
public record BedGenotypeReader(String prefix, int sampleCount) implements GenotypeReader {
  @Override
  public GenotypeReader qualified(Configuration conf) {
    return new BedGenotypeReader(FileSystems.qualify(prefix, conf), sampleCount);
  }

  @Override
  public boolean dosages() {
    return false;
  }

  @Override
  public void scan(int first, int end, long position, boolean[] include, Configuration conf, GenotypeVisitor visitor) {
    // A .bed offset is a function of the variant index (3 + v·ceil(N/4)): the position adds nothing.
    BedReader.scan(prefix, sampleCount, first, end, include, conf, visitor::hardCalls);
  }
}
