package org.lmmspark.engine.genotype;

import java.io.Serializable;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.Variant;

/**
 * Which chromosomes a run uses, from PLINK-style lists such as {@code 1-22,X} given to
 * {@code --chr} (keep only these) or {@code --exclude-chr} (drop these). Codes are compared as
 * written in the {@code .bim}, with a leading {@code chr} ignored.
 */
public final class ChromosomeSelection implements Serializable {
  private static final long serialVersionUID = 1L;
  private final Set<String> listed;
  private final boolean keep;

  private ChromosomeSelection(Set<String> listed, boolean keep) {
    this.listed = listed;
    this.keep = keep;
  }

  public static ChromosomeSelection all() {
    return new ChromosomeSelection(Set.of(), false);
  }

  /** {@code chr} keeps the listed chromosomes, {@code excludeChr} drops them; at most one may be given. */
  public static ChromosomeSelection of(String chr, String excludeChr) {
    if (chr != null && excludeChr != null) {
      throw new BadInputException("--chr and --exclude-chr cannot be used together");
    }
    if (chr == null && excludeChr == null) {
      return all();
    }
    return new ChromosomeSelection(parse(chr != null ? chr : excludeChr), chr != null);
  }

  static Set<String> parse(String list) {
    Set<String> out = new LinkedHashSet<>();
    for (String part : list.split(",")) {
      String p = normalize(part.trim());
      if (p.isEmpty()) {
        continue;
      }
      int dash = p.indexOf('-');
      if (dash > 0) {
        try {
          int from = Integer.parseInt(p.substring(0, dash));
          int to = Integer.parseInt(normalize(p.substring(dash + 1)));
          for (int c = from; c <= to; c++) {
            out.add(Integer.toString(c));
          }
        } catch (NumberFormatException e) {
          throw new BadInputException("chromosome range '" + part + "' is not of the form A-B with numbers");
        }
      } else {
        out.add(p);
      }
    }
    if (out.isEmpty()) {
      throw new BadInputException("empty chromosome list '" + list + "'");
    }
    return out;
  }

  /** Whether every chromosome is selected (no {@code --chr} or {@code --exclude-chr}). */
  public boolean isAll() {
    return !keep && listed.isEmpty();
  }

  /** The one chromosome {@code --chr} names, or null when it names several or the selection is not a {@code --chr}. */
  public String single() {
    return keep && listed.size() == 1 ? listed.iterator().next() : null;
  }

  /** A chromosome code as compared here: a leading {@code chr} (any case) dropped. */
  public static String normalize(String code) {
    return code.regionMatches(true, 0, "chr", 0, 3) ? code.substring(3) : code;
  }

  @Override
  public String toString() {
    return (keep ? "" : "all but ") + String.join(",", listed);
  }

  public boolean includes(String chromosome) {
    return listed.contains(normalize(chromosome)) == keep;
  }

  /** The inclusion mask over a fileset's variants. */
  public boolean[] mask(List<Variant> variants) {
    boolean[] include = new boolean[variants.size()];
    for (int v = 0; v < include.length; v++) {
      include[v] = includes(variants.get(v).chromosome());
    }
    return include;
  }
}
