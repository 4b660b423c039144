package org.lmmspark.engine.pheno;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lmmspark.engine.io.SampleId;

/**
 * The samples an analysis can use: those present, with every needed value, in all of its inputs
 * (relationship matrices, phenotype, covariate files). The order is that of the first input (the
 * phenotype file, by convention of the callers), so results are deterministic whatever the order of
 * the other files. For each input it counts the samples dropped and why, so the command can log it.
 *
 * <p>Cost O(Σ input sizes) with hash lookups.
 */
public final class SampleMatch {

  /**
   * One input: its samples in file order, and which of them carry all the values the analysis needs
   * ({@code usable == null}: all do; otherwise {@code whyNot} describes a false entry, e.g.
   * "missing phenotype").
   */
  public record Input(String name, List<SampleId> ids, boolean[] usable, String whyNot) {
    public Input {
      if (usable != null && usable.length != ids.size()) {
        throw new IllegalArgumentException(name + ": usable mask has " + usable.length + " entries for " + ids.size() + " samples");
      }
    }
  }

  private final List<Input> inputs;
  private final List<SampleId> samples;
  private final List<int[]> rows;
  private final List<Map<String, Integer>> dropped;

  private SampleMatch(List<Input> inputs, List<SampleId> samples, List<int[]> rows, List<Map<String, Integer>> dropped) {
    this.inputs = inputs;
    this.samples = samples;
    this.rows = rows;
    this.dropped = dropped;
  }

  public static SampleMatch intersect(List<Input> inputs) {
    if (inputs.isEmpty()) {
      throw new IllegalArgumentException("no inputs to intersect");
    }
    List<Map<SampleId, Integer>> index = new ArrayList<>();
    for (Input in : inputs) {
      Map<SampleId, Integer> m = new HashMap<>(in.ids().size() * 2);
      for (int i = 0; i < in.ids().size(); i++) {
        m.put(in.ids().get(i), i);
      }
      index.add(m);
    }
    // Each sample's reason once ("": usable), whichever inputs list it: not once per input listing it.
    Map<SampleId, String> reasons = new HashMap<>(inputs.get(0).ids().size() * 2);
    java.util.function.Function<SampleId, String> why = id -> reasons.computeIfAbsent(id,
        i -> java.util.Objects.requireNonNullElse(reason(i, inputs, index), ""));
    List<SampleId> kept = new ArrayList<>();
    for (SampleId id : inputs.get(0).ids()) {
      if (why.apply(id).isEmpty()) {
        kept.add(id);
      }
    }
    List<int[]> rows = new ArrayList<>();
    List<Map<String, Integer>> dropped = new ArrayList<>();
    for (int k = 0; k < inputs.size(); k++) {
      int[] r = new int[kept.size()];
      for (int i = 0; i < r.length; i++) {
        r[i] = index.get(k).get(kept.get(i));
      }
      rows.add(r);
      Map<String, Integer> counts = new LinkedHashMap<>();
      for (SampleId id : inputs.get(k).ids()) {
        String reason = why.apply(id);
        if (!reason.isEmpty()) {
          counts.merge(reason, 1, Integer::sum);
        }
      }
      dropped.add(counts);
    }
    return new SampleMatch(List.copyOf(inputs), List.copyOf(kept), rows, dropped);
  }

  /** Why a sample cannot be used (the first input, in order, that lacks it or its values), or null. */
  private static String reason(SampleId id, List<Input> inputs, List<Map<SampleId, Integer>> index) {
    for (int k = 0; k < inputs.size(); k++) {
      Integer row = index.get(k).get(id);
      if (row == null) {
        return "absent from " + inputs.get(k).name();
      }
      boolean[] usable = inputs.get(k).usable();
      if (usable != null && !usable[row]) {
        return inputs.get(k).whyNot() + " in " + inputs.get(k).name();
      }
    }
    return null;
  }

  /** The usable samples, in the order of the first input. */
  public List<SampleId> samples() {
    return samples;
  }

  public int size() {
    return samples.size();
  }

  /** For input k, the row of each usable sample in that input. */
  public int[] rowsIn(int k) {
    return rows.get(k).clone();
  }

  /** For input k, the number of its samples not used, by reason. */
  public Map<String, Integer> droppedFrom(int k) {
    return dropped.get(k);
  }

  /** Samples of input k that are not used. */
  public int droppedCount(int k) {
    return dropped.get(k).values().stream().mapToInt(Integer::intValue).sum();
  }

  /** One line per input: "phenotype FILE: 500 samples, 480 used, 20 dropped (12 missing phenotype in ..., 8 absent from ...)". */
  public List<String> report() {
    List<String> lines = new ArrayList<>();
    for (int k = 0; k < inputs.size(); k++) {
      StringBuilder sb = new StringBuilder();
      sb.append(inputs.get(k).name()).append(": ").append(inputs.get(k).ids().size()).append(" samples, ")
          .append(samples.size()).append(" used, ").append(droppedCount(k)).append(" dropped");
      if (!dropped.get(k).isEmpty()) {
        sb.append(" (");
        boolean first = true;
        String here = " in " + inputs.get(k).name();
        for (Map.Entry<String, Integer> e : dropped.get(k).entrySet()) {
          // "12 missing phenotype", not "... in phenotype FILE" on the line of that very file.
          String why = e.getKey().endsWith(here) ? e.getKey().substring(0, e.getKey().length() - here.length()) : e.getKey();
          sb.append(first ? "" : "; ").append(e.getValue()).append(' ').append(why);
          first = false;
        }
        sb.append(')');
      }
      lines.add(sb.toString());
    }
    return lines;
  }

  /**
   * Samples of the first input (usable there) that input k does not list: the count and up to
   * {@code limit} examples, for messages such as "the GRM lacks 40 phenotyped samples, e.g. ...".
   */
  public List<SampleId> absentFrom(int k, int limit, int[] countOut) {
    Input first = inputs.get(0);
    java.util.Set<SampleId> there = new java.util.HashSet<>(inputs.get(k).ids());
    List<SampleId> examples = new ArrayList<>();
    int count = 0;
    for (int i = 0; i < first.ids().size(); i++) {
      if (first.usable() != null && !first.usable()[i]) {
        continue;
      }
      SampleId id = first.ids().get(i);
      if (!there.contains(id)) {
        count++;
        if (examples.size() < limit) {
          examples.add(id);
        }
      }
    }
    if (countOut != null) {
      countOut[0] = count;
    }
    return examples;
  }

  public List<Input> inputs() {
    return inputs;
  }
}
