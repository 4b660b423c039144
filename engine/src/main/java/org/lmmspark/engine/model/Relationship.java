package org.lmmspark.engine.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.reml.Components;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;

/**
 * A known relationship among the levels of a grouping factor, named in formulas as
 * {@code (1 | id:NAME)}: a GRM ({@code --grm NAME=PREFIX}), its epistatic square {@code K∘K}, or a
 * pedigree's {@code A}. {@code ids().get(i)} labels row and column i of {@link #k()}; the factor's
 * levels are matched to them by their text.
 *
 * <p>A pedigree's relationship also has a sparse inverse ({@link #pedigree()}: Henderson's
 * {@code A⁻¹}, O(animals) entries), which is what the sparse mixed-model equations use; its dense
 * {@code A} (O(animals²)) is then formed only when a dense route asks for {@link #k()}.
 */
public final class Relationship {
  private final String name;
  private final List<String> ids;
  private final NumeratorRelationship pedigree;
  private Supplier<DenseSymmetricMatrix> dense;
  private volatile DenseSymmetricMatrix k;

  /** A relationship given as a dense matrix over {@code ids}. */
  public Relationship(String name, List<String> ids, DenseSymmetricMatrix k) {
    this(name, ids, null, () -> k);
    if (ids.size() != k.size()) {
      throw new IllegalArgumentException("relationship " + name + ": " + ids.size() + " ids for a " + k.size() + "×"
          + k.size() + " matrix");
    }
  }

  private Relationship(String name, List<String> ids, NumeratorRelationship pedigree,
      Supplier<DenseSymmetricMatrix> dense) {
    this.name = name;
    this.ids = List.copyOf(ids);
    this.pedigree = pedigree;
    this.dense = dense;
  }

  /**
   * A GRM (or a pedigree A held as one) as a relationship among the individuals it lists, matched to
   * the factor's levels by IID; IIDs must be unique.
   */
  public static Relationship of(String name, Grm grm) {
    List<String> ids = uniqueIids(name, grm.ids().stream().map(s -> s.iid()).toList());
    int[] all = new int[grm.size()];
    for (int i = 0; i < all.length; i++) {
      all[i] = i;
    }
    return new Relationship(name, ids, Components.relationship(grm, all));
  }

  /**
   * The numerator relationship matrix of a whole pedigree, matched to the factor's levels by IID
   * (unique), rows in pedigree order; kept sparse as {@code A⁻¹} until a dense route asks for A.
   */
  public static Relationship ofPedigree(String name, NumeratorRelationship nr) {
    List<String> ids = new ArrayList<>(nr.pedigree().size());
    for (int i = 0; i < nr.pedigree().size(); i++) {
      ids.add(nr.pedigree().id(i).iid());
    }
    return ofPedigree(name, nr, uniqueIids(name, ids));
  }

  /** As {@link #ofPedigree(String, NumeratorRelationship)} with the rows labelled by {@code ids}. */
  static Relationship ofPedigree(String name, NumeratorRelationship nr, List<String> ids) {
    if (ids.size() != nr.pedigree().size()) {
      throw new IllegalArgumentException("relationship " + name + ": " + ids.size() + " ids for a pedigree of "
          + nr.pedigree().size());
    }
    return new Relationship(name, ids, nr, () -> new DenseSymmetricMatrix(ids.size(), nr.dense()));
  }

  private static List<String> uniqueIids(String name, List<String> iids) {
    Set<String> seen = new HashSet<>();
    for (String iid : iids) {
      if (!seen.add(iid)) {
        throw new BadInputException("relationship " + name + ": IID " + iid + " appears twice "
            + "(levels are matched by IID)");
      }
    }
    return iids;
  }

  public String name() {
    return name;
  }

  /** The ids labelling the rows of K. */
  public List<String> ids() {
    return ids;
  }

  public int size() {
    return ids.size();
  }

  /** K densely (formed on first use for a pedigree). */
  public DenseSymmetricMatrix k() {
    DenseSymmetricMatrix formed = k;
    if (formed != null) {
      return formed;
    }
    synchronized (this) {
      if (k == null) {
        k = dense.get();
        dense = null;
      }
      return k;
    }
  }

  /** The pedigree whose A this is (its sparse inverse, log-determinant, inbreeding), or null for a dense K. */
  public NumeratorRelationship pedigree() {
    return pedigree;
  }

  /** The epistatic (additive × additive) relationship {@code K∘K}, named {@code NAMExNAME}. */
  public Relationship epistatic() {
    return new Relationship(name + "x" + name, ids, null, () -> k().hadamardSquare());
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
