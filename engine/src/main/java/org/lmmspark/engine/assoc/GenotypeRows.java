package org.lmmspark.engine.assoc;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.io.SampleId;

/** Where each analysed sample's genotypes are: its row (index) in the samples of the genotype source. */
public final class GenotypeRows {
  private GenotypeRows() {}

  /** The {@code .fam} row of each sample; a sample absent from the {@code .fam} is a BadInputException naming it. */
  public static int[] of(List<SampleId> samples, GenotypeSource fileset) {
    Map<SampleId, Integer> index = new HashMap<>();
    for (int i = 0; i < fileset.sampleCount(); i++) {
      index.put(fileset.samples().get(i), i);
    }
    int[] rows = new int[samples.size()];
    List<String> absent = new ArrayList<>();
    int missing = 0;
    for (int i = 0; i < rows.length; i++) {
      Integer r = index.get(samples.get(i));
      if (r == null) {
        missing++;
        if (absent.size() < 5) {
          absent.add(samples.get(i).fid() + " " + samples.get(i).iid());
        }
        continue;
      }
      rows[i] = r;
    }
    if (missing > 0) {
      throw BadInputException.inFile(fileset.samplesPath(), missing
          + " analysed sample(s) have no genotypes here, e.g. " + String.join(", ", absent));
    }
    return rows;
  }
}
