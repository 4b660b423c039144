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

  /**
   * A GRM (or a pedigree A held as one) as a relationship among the individuals it lists, matched to
   * the factor's levels by IID; IIDs must be unique.
   */
  public static Relationship of(String name, org.lmmspark.engine.kinship.Grm grm) {
    List<String> ids = new java.util.ArrayList<>();
    java.util.Set<String> seen = new java.util.HashSet<>();
    int[] all = new int[grm.size()];
    for (int i = 0; i < grm.size(); i++) {
      String iid = grm.ids().get(i).iid();
      if (!seen.add(iid)) {
        throw new org.lmmspark.engine.BadInputException("relationship " + name + ": IID " + iid + " appears twice "
            + "(levels are matched by IID)");
      }
      ids.add(iid);
      all[i] = i;
    }
    return new Relationship(name, ids, org.lmmspark.engine.reml.Components.relationship(grm, all));
  }

  /** The epistatic (additive × additive) relationship {@code K∘K}, named {@code NAMExNAME}. */
  public Relationship epistatic() {
    return new Relationship(name + "x" + name, ids, k.hadamardSquare());
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
