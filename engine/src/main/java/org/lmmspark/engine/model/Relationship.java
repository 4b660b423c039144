package org.lmmspark.engine.model;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;

/**
 * A known relationship among the levels of a grouping factor, named in formulas as
 * {@code (1 | id:NAME)}: a GRM ({@code --grm NAME=PREFIX}), its epistatic square {@code K∘K}, or a
 * pedigree {@code A}. {@code ids.get(i)} labels row and column i of {@code k}; the factor's levels
 * are matched to them by their text.
 */
public record Relationship(String name, List<String> ids, DenseSymmetricMatrix k) {
  public Relationship {
    if (ids.size() != k.size()) {
      throw new IllegalArgumentException("relationship " + name + ": " + ids.size() + " ids for a " + k.size() + "×"
          + k.size() + " matrix");
    }
    ids = List.copyOf(ids);
  }

  /** Row of each id. */
  Map<String, Integer> index() {
    Map<String, Integer> m = new HashMap<>();
    for (int i = 0; i < ids.size(); i++) {
      m.put(ids.get(i), i);
    }
    return m;
  }
}
