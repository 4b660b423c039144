package org.lmmspark.engine.io;

import java.io.Serializable;

/** A sample's family and individual IDs, as in PLINK {@code .fam} and GCTA {@code .grm.id} files. */
public record SampleId(String fid, String iid) implements Serializable {
  @Override
  public String toString() {
    return fid + " " + iid;
  }
}
