package org.lmmspark.engine.io;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.lmmspark.engine.BadInputException;

/**
 * The samples of a sample file ({@code .fam}, Oxford {@code .sample}) collected line by line: a sample
 * listed twice, or a file with none, is a {@link BadInputException} naming the file and lines.
 */
public final class UniqueSamples {
  private final String path;
  private final List<SampleId> samples = new ArrayList<>();
  private final Map<SampleId, Long> seen = new HashMap<>();

  public UniqueSamples(String path) {
    this.path = path;
  }

  public void add(SampleId id, long lineNo) {
    Long first = seen.putIfAbsent(id, lineNo);
    if (first != null) {
      throw BadInputException.atLine(path, lineNo, "duplicate sample '" + id + "' (first at line " + first + ")");
    }
    samples.add(id);
  }

  /** The samples in file order. */
  public List<SampleId> list() {
    if (samples.isEmpty()) {
      throw BadInputException.inFile(path, "no samples");
    }
    return samples;
  }
}
