package org.lmmspark.engine.select;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.SampleSubset;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.io.WhitespaceLines;

/**
 * Which samples a run keeps, from PLINK's {@code --keep FILE} and {@code --remove FILE}: a sample is kept
 * when some {@code --keep} list names it (no {@code --keep}: every sample) and no {@code --remove} list
 * does; several files of one kind are a union. The selection applies to the samples of every input that
 * holds samples (the {@code .fam}, a GRM's {@code .grm.id}), before any matching with phenotypes.
 *
 * <p>A list is whitespace separated, one sample a line, as PLINK 1.9 and 2 read it: a header line
 * {@code #FID IID}, {@code FID IID}, {@code #IID} or {@code IID} says which columns hold the IDs; without
 * one, a file whose lines have one field lists IIDs, otherwise the first two fields are FID and IID
 * (further columns, such as a {@code .fam}'s, are ignored). An IID-only list keeps every sample with that
 * IID. A file mixing one-field and longer lines is refused (which column is the IID would be a guess).
 */
public final class SampleSelection implements Serializable {
  private static final long serialVersionUID = 1L;

  /** One list: its file, and the samples it names either as (FID, IID) pairs or, for an IID-only file, as IIDs. */
  record IdList(String file, Set<SampleId> pairs, Set<String> iids) implements Serializable {
    boolean names(SampleId id) {
      return iids != null ? iids.contains(id.iid()) : pairs.contains(id);
    }

    int size() {
      return iids != null ? iids.size() : pairs.size();
    }
  }

  private final List<IdList> keep;
  private final List<IdList> remove;

  private SampleSelection(List<IdList> keep, List<IdList> remove) {
    this.keep = List.copyOf(keep);
    this.remove = List.copyOf(remove);
  }

  /** Every sample. */
  public static SampleSelection all() {
    return new SampleSelection(List.of(), List.of());
  }

  /** Reads the {@code --keep} and {@code --remove} lists (either may be empty). */
  public static SampleSelection read(List<String> keepFiles, List<String> removeFiles, Configuration conf) {
    List<IdList> keep = new ArrayList<>();
    for (String f : keepFiles) {
      keep.add(readList(f, conf));
    }
    List<IdList> remove = new ArrayList<>();
    for (String f : removeFiles) {
      remove.add(readList(f, conf));
    }
    return new SampleSelection(keep, remove);
  }

  /** Parses one ID list (see the class doc for the layout). */
  static IdList readList(String file, Configuration conf) {
    Set<SampleId> pairs = new HashSet<>();
    Set<String> iids = new HashSet<>();
    int[] layout = {0}; // 0 undecided, 1 IID only, 2 FID IID
    boolean[] header = {false};
    WhitespaceLines.read(file, conf, (lineNo, f) -> {
      if (layout[0] == 0) {
        String a = f[0].startsWith("#") ? f[0].substring(1) : f[0];
        if (a.equalsIgnoreCase("FID") && f.length >= 2 && f[1].equalsIgnoreCase("IID")) {
          layout[0] = 2;
          header[0] = true;
          return;
        }
        if (a.equalsIgnoreCase("IID")) {
          layout[0] = 1;
          header[0] = true;
          return;
        }
        if (f[0].startsWith("#")) {
          throw BadInputException.atLine(file, lineNo, "a header line must be '#FID IID' or '#IID', found '"
              + String.join(" ", f) + "'");
        }
        layout[0] = f.length == 1 ? 1 : 2;
      }
      if (layout[0] == 1) {
        if (f.length != 1 && !header[0]) {
          throw BadInputException.atLine(file, lineNo, "found " + f.length + " fields where earlier lines have one "
              + "(an IID list); a list of FID IID pairs has two fields on every line");
        }
        iids.add(f[0]);
      } else {
        if (f.length < 2) {
          throw BadInputException.atLine(file, lineNo, "expected FID IID, found one field '" + f[0]
              + "' (a list of IIDs has one field on every line)");
        }
        pairs.add(new SampleId(f[0], f[1]));
      }
    });
    if (layout[0] == 0) {
      throw BadInputException.inFile(file, "empty sample list");
    }
    return new IdList(file, layout[0] == 2 ? pairs : null, layout[0] == 1 ? iids : null);
  }

  public boolean isAll() {
    return keep.isEmpty() && remove.isEmpty();
  }

  /** Whether the sample is kept. */
  public boolean keeps(SampleId id) {
    boolean kept = keep.isEmpty();
    for (IdList l : keep) {
      kept |= l.names(id);
    }
    for (IdList l : remove) {
      kept &= !l.names(id);
    }
    return kept;
  }

  /** The selection applied to one input's samples: the kept rows (ascending) and one line for the log. */
  public record Applied(SampleSubset subset, List<SampleId> kept, String report) {}

  /**
   * Applies the selection to {@code ids} (an input's samples in file order), named {@code name} in the
   * report. Keeping no sample at all is a {@link BadInputException}.
   */
  public Applied apply(List<SampleId> ids, String name) {
    if (isAll()) {
      return new Applied(SampleSubset.all(ids.size()), ids, null);
    }
    List<Integer> rows = new ArrayList<>();
    List<SampleId> kept = new ArrayList<>();
    Map<String, Integer> iidCount = new HashMap<>();
    Set<SampleId> present = new HashSet<>(ids);
    for (SampleId id : ids) {
      iidCount.merge(id.iid(), 1, Integer::sum);
    }
    for (int i = 0; i < ids.size(); i++) {
      if (keeps(ids.get(i))) {
        rows.add(i);
        kept.add(ids.get(i));
      }
    }
    StringBuilder report = new StringBuilder(name).append(": ").append(kept.size()).append(" of ").append(ids.size())
        .append(" samples kept");
    for (IdList l : keep) {
      report.append("; --keep ").append(l.file()).append(" lists ").append(l.size())
          .append(notPresent(l, present, iidCount));
    }
    for (IdList l : remove) {
      report.append("; --remove ").append(l.file()).append(" lists ").append(l.size())
          .append(notPresent(l, present, iidCount));
    }
    if (kept.isEmpty()) {
      throw new BadInputException(report + ": no sample left (do the FID/IID of the lists match " + name + "?)");
    }
    return new Applied(SampleSubset.of(ids.size(), rows.stream().mapToInt(Integer::intValue).toArray()),
        List.copyOf(kept), report.toString());
  }

  private static String notPresent(IdList l, Set<SampleId> present, Map<String, Integer> iidCount) {
    long absent = l.iids() != null ? l.iids().stream().filter(i -> !iidCount.containsKey(i)).count()
        : l.pairs().stream().filter(p -> !present.contains(p)).count();
    return absent == 0 ? "" : " (" + absent + " of them not in the input)";
  }
}
