package org.lmmspark.engine.pedigree;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.io.SampleId;

/**
 * A pedigree: each individual with its sire (father) and dam (mother), either of which may be
 * unknown, held in an order where parents come before their offspring (what the tabular method and
 * Henderson's rules need).
 *
 * <p><b>File formats.</b> Fields are separated by whitespace/tabs, or by commas when the first line
 * holds a comma (R's {@code write.csv}; surrounding double quotes are removed). Lines that are blank
 * or start with {@code #} are skipped. Unknown parents are {@code 0}, {@code NA}, {@code .},
 * {@code -} or an empty field.
 * <ul>
 *   <li>With a header (a first line naming a sire or dam column: {@code sire}, {@code father},
 *       {@code dam}, {@code mother}, …, case-insensitive), columns are found by name, in any order,
 *       and other columns are ignored: e.g. {@code id sire dam}, {@code calf,dam,sire,sex,WWG}
 *       (Mrode's example, dam first), {@code FID IID FATHER MOTHER SEX}. The individual column is
 *       the one named {@code id}/{@code iid}/{@code animal}/…, else the first column that is not the
 *       family column. An optional {@code sex} column ({@code 1}/{@code M}/{@code male},
 *       {@code 2}/{@code F}/{@code female}, else unknown) is checked against the parental roles.
 *   <li>Without a header: 3 columns are {@code ID SIRE DAM}; 4 or more are PLINK's
 *       {@code FID IID FATHER MOTHER [SEX [ignored…]]} (so a {@code .fam} file is a pedigree).
 * </ul>
 * With a family column an individual is the pair (FID, IID) and its parents are looked up in the
 * same family (PLINK's convention); without one, the ID serves as both FID and IID.
 *
 * <p><b>Normalization.</b> Parents that are not listed as individuals are added as founders (both
 * parents unknown). Individuals listed after their offspring are moved: the order kept is the file
 * order, except that each individual is preceded by its not-yet-placed ancestors (a stable
 * depth-first topological sort, so an already sorted file keeps its order and the added founders
 * appear just before their first offspring). A line repeating an individual with the same parents
 * is ignored and counted ({@link #duplicatesIgnored()}).
 *
 * <p><b>Errors</b> ({@link BadInputException} naming the file, the line and the individual): an
 * individual that is its own parent or its own ancestor (a cycle, with its path), a parent used as
 * both sire and dam (on one line or across lines), a sire recorded as female or a dam recorded as
 * male, the same individual listed twice with different parents or sex, a missing individual ID,
 * a wrong number of fields.
 *
 * <p>Cost: O(n) time and memory for n individuals (hash maps keyed by ID).
 */
public final class Pedigree {
  /** Recorded sex of an individual. */
  public enum Sex {
    MALE,
    FEMALE,
    UNKNOWN
  }

  /**
   * One pedigree line as read: the individual, its parents ({@code null} when unknown), its sex and
   * the line number it came from (for error messages; 0 when not from a file).
   */
  public record Entry(SampleId id, SampleId sire, SampleId dam, Sex sex, long line) {}

  private static final Set<String> MISSING = Set.of("0", "na", ".", "-", "");
  private static final Set<String> FID_NAMES = Set.of("fid", "famid", "fam", "family", "family_id", "familyid");
  private static final Set<String> ID_NAMES = Set.of("id", "iid", "animal", "individual", "ind", "indiv",
      "calf", "pig", "progeny", "offspring", "name", "animal_id", "animalid", "id_animal");
  private static final Set<String> SIRE_NAMES = Set.of("sire", "father", "pat", "dad", "sire_id", "sireid",
      "father_id", "fatherid", "paternal", "pid");
  private static final Set<String> DAM_NAMES = Set.of("dam", "mother", "mat", "mom", "mum", "dam_id", "damid",
      "mother_id", "motherid", "maternal", "mid");
  private static final Set<String> SEX_NAMES = Set.of("sex", "gender");

  private final String source;
  private final List<SampleId> ids;
  private final int[] sire;
  private final int[] dam;
  private final Sex[] sex;
  private final long[] line;
  private final Map<SampleId, Integer> index;
  private final Map<String, Integer> iidIndex;
  private final boolean familyIds;
  private final int foundersAdded;
  private final int duplicatesIgnored;
  private final boolean reordered;

  private Pedigree(String source, List<SampleId> ids, int[] sire, int[] dam, Sex[] sex, long[] line,
      boolean familyIds, int foundersAdded, int duplicatesIgnored, boolean reordered) {
    this.source = source;
    this.ids = Collections.unmodifiableList(ids);
    this.sire = sire;
    this.dam = dam;
    this.sex = sex;
    this.line = line;
    this.familyIds = familyIds;
    this.foundersAdded = foundersAdded;
    this.duplicatesIgnored = duplicatesIgnored;
    this.reordered = reordered;
    this.index = new HashMap<>(ids.size() * 2);
    this.iidIndex = new HashMap<>(ids.size() * 2);
    for (int i = 0; i < ids.size(); i++) {
      index.put(ids.get(i), i);
      // -2 marks an IID shared by individuals of different families (ambiguous without the FID).
      iidIndex.merge(ids.get(i).iid(), i, (a, b) -> -2);
    }
  }

  /** Reads a pedigree file (plain path, {@code file:}, {@code hdfs:}, {@code s3a:}; .gz allowed). */
  public static Pedigree read(String path, Configuration conf) {
    try (BufferedReader r = FileSystems.openText(path, conf)) {
      return parse(path, r);
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
  }

  /** Parses pedigree text; {@code source} names it in error messages. */
  public static Pedigree parse(String source, Reader text) {
    BufferedReader r = text instanceof BufferedReader b ? b : new BufferedReader(text);
    List<Entry> entries = new ArrayList<>();
    boolean comma = false;
    boolean familyIds = false;
    int fidCol = -1;
    int idCol = -1;
    int sireCol = -1;
    int damCol = -1;
    int sexCol = -1;
    int width = -1;
    boolean headerSeen = false;
    long lineNo = 0;
    try {
      String line;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (line.isBlank() || line.stripLeading().startsWith("#")) {
          continue;
        }
        if (width < 0) {
          comma = line.indexOf(',') >= 0;
        }
        String[] f = split(line, comma);
        if (width < 0) {
          width = f.length;
          int[] cols = headerColumns(f);
          if (cols != null) {
            headerSeen = true;
            fidCol = cols[0];
            idCol = cols[1];
            sireCol = cols[2];
            damCol = cols[3];
            sexCol = cols[4];
            if (sireCol < 0 || damCol < 0) {
              throw BadInputException.atLine(source, lineNo, "the header names no "
                  + (sireCol < 0 ? "sire/father" : "dam/mother") + " column: " + String.join(" ", f));
            }
            familyIds = fidCol >= 0;
            continue;
          }
          if (f.length == 3) {
            idCol = 0;
            sireCol = 1;
            damCol = 2;
          } else if (f.length >= 4) {
            familyIds = true;
            fidCol = 0;
            idCol = 1;
            sireCol = 2;
            damCol = 3;
            sexCol = f.length >= 5 ? 4 : -1;
          } else {
            throw BadInputException.atLine(source, lineNo, "expected ID SIRE DAM or FID IID FATHER MOTHER [SEX],"
                + " found " + f.length + " field(s)");
          }
        }
        if (f.length != width) {
          throw BadInputException.atLine(source, lineNo, "found " + f.length + " field(s), expected " + width
              + (headerSeen ? " (as in the header)" : " (as on the first line)"));
        }
        String iid = f[idCol];
        if (isMissing(iid)) {
          throw BadInputException.atLine(source, lineNo, "missing individual ID '" + iid + "'");
        }
        String fid = familyIds ? f[fidCol] : iid;
        SampleId id = new SampleId(fid, iid);
        SampleId s = isMissing(f[sireCol]) ? null : new SampleId(familyIds ? fid : f[sireCol], f[sireCol]);
        SampleId d = isMissing(f[damCol]) ? null : new SampleId(familyIds ? fid : f[damCol], f[damCol]);
        Sex sx = sexCol >= 0 ? parseSex(f[sexCol], source, lineNo) : Sex.UNKNOWN;
        entries.add(new Entry(id, s, d, sx, lineNo));
      }
    } catch (IOException e) {
      throw BadInputException.inFile(source, "cannot read: " + e.getMessage());
    }
    if (entries.isEmpty()) {
      throw BadInputException.inFile(source, "no individuals");
    }
    return of(source, entries, familyIds);
  }

  /**
   * Builds a pedigree from entries (in file order), validating and sorting it as described in the
   * class documentation. {@code familyIds} says whether FIDs are meaningful (else FID = IID).
   */
  public static Pedigree of(String source, List<Entry> entries, boolean familyIds) {
    Map<SampleId, Integer> idx = new HashMap<>(entries.size() * 2);
    List<Entry> listed = new ArrayList<>(entries.size());
    int duplicates = 0;
    for (Entry e : entries) {
      if (e.sire() != null && e.sire().equals(e.id()) || e.dam() != null && e.dam().equals(e.id())) {
        throw BadInputException.atLine(source, e.line(), "individual " + e.id().iid() + " is its own parent");
      }
      if (e.sire() != null && e.sire().equals(e.dam())) {
        throw BadInputException.atLine(source, e.line(), "individual " + e.id().iid() + ": parent "
            + e.sire().iid() + " is used as both sire and dam");
      }
      Integer prev = idx.get(e.id());
      if (prev != null) {
        Entry p = listed.get(prev);
        if (java.util.Objects.equals(p.sire(), e.sire()) && java.util.Objects.equals(p.dam(), e.dam())
            && p.sex() == e.sex()) {
          duplicates++;
          continue;
        }
        throw BadInputException.atLine(source, e.line(), "individual " + e.id().iid()
            + " is listed again with different parents or sex (first at line " + p.line() + ": sire "
            + name(p.sire()) + ", dam " + name(p.dam()) + "; here: sire " + name(e.sire()) + ", dam "
            + name(e.dam()) + ")");
      }
      idx.put(e.id(), listed.size());
      listed.add(e);
    }

    // Parental roles: the first line using each parent as sire or as dam, to name both on conflict.
    Map<SampleId, Long> asSire = new HashMap<>();
    Map<SampleId, Long> asDam = new HashMap<>();
    for (Entry e : listed) {
      if (e.sire() != null) {
        asSire.putIfAbsent(e.sire(), e.line());
        Long other = asDam.get(e.sire());
        if (other != null) {
          throw BadInputException.atLine(source, e.line(), "individual " + e.sire().iid()
              + " is used as sire here (offspring " + e.id().iid() + ") and as dam at line " + other);
        }
      }
      if (e.dam() != null) {
        asDam.putIfAbsent(e.dam(), e.line());
        Long other = asSire.get(e.dam());
        if (other != null) {
          throw BadInputException.atLine(source, e.line(), "individual " + e.dam().iid()
              + " is used as dam here (offspring " + e.id().iid() + ") and as sire at line " + other);
        }
      }
    }
    for (Entry e : listed) {
      if (e.sex() == Sex.FEMALE && asSire.containsKey(e.id())) {
        throw BadInputException.atLine(source, e.line(), "individual " + e.id().iid()
            + " is recorded as female but is the sire at line " + asSire.get(e.id()));
      }
      if (e.sex() == Sex.MALE && asDam.containsKey(e.id())) {
        throw BadInputException.atLine(source, e.line(), "individual " + e.id().iid()
            + " is recorded as male but is the dam at line " + asDam.get(e.id()));
      }
    }

    // Parents never listed become founders, numbered after the listed individuals.
    int nListed = listed.size();
    List<SampleId> all = new ArrayList<>(nListed);
    List<Long> lines = new ArrayList<>(nListed);
    for (Entry e : listed) {
      all.add(e.id());
      lines.add(e.line());
    }
    int[] s0 = new int[nListed];
    int[] d0 = new int[nListed];
    for (int i = 0; i < nListed; i++) {
      Entry e = listed.get(i);
      s0[i] = e.sire() == null ? -1 : idOrAdd(e.sire(), idx, all, lines, e.line());
      d0[i] = e.dam() == null ? -1 : idOrAdd(e.dam(), idx, all, lines, e.line());
    }
    int n = all.size();
    int[] sire0 = Arrays.copyOf(s0, n);
    int[] dam0 = Arrays.copyOf(d0, n);
    Arrays.fill(sire0, nListed, n, -1);
    Arrays.fill(dam0, nListed, n, -1);

    int[] order = parentsFirst(source, all, lines, sire0, dam0, nListed);
    int[] rank = new int[n];
    for (int k = 0; k < n; k++) {
      rank[order[k]] = k;
    }
    List<SampleId> ids = new ArrayList<>(n);
    int[] sire = new int[n];
    int[] dam = new int[n];
    Sex[] sex = new Sex[n];
    long[] line = new long[n];
    boolean reordered = false;
    int lastListed = -1;
    for (int k = 0; k < n; k++) {
      int o = order[k];
      ids.add(all.get(o));
      sire[k] = sire0[o] < 0 ? -1 : rank[sire0[o]];
      dam[k] = dam0[o] < 0 ? -1 : rank[dam0[o]];
      line[k] = o < nListed ? lines.get(o) : 0;
      if (o < nListed) {
        sex[k] = listed.get(o).sex();
        reordered |= o < lastListed;
        lastListed = Math.max(lastListed, o);
      } else {
        sex[k] = asSire.containsKey(all.get(o)) ? Sex.MALE : Sex.FEMALE;
      }
    }
    return new Pedigree(source, ids, sire, dam, sex, line, familyIds, n - nListed, duplicates, reordered);
  }

  /**
   * A stable depth-first topological order: for each listed individual in file order, its unplaced
   * ancestors (sire's line first), then itself. An ancestor met again while still on the path is a
   * cycle. Iterative, so a long chain of generations cannot overflow the stack. O(n).
   */
  private static int[] parentsFirst(String source, List<SampleId> all, List<Long> lines, int[] sire, int[] dam,
      int nListed) {
    int n = all.size();
    byte[] state = new byte[n]; // 0 unseen, 1 on the current path, 2 placed
    int[] order = new int[n];
    int placed = 0;
    int[] stack = new int[n];
    for (int root = 0; root < nListed; root++) {
      if (state[root] == 2) {
        continue;
      }
      int top = 0;
      stack[top++] = root;
      state[root] = 1;
      while (top > 0) {
        int v = stack[top - 1];
        int next = -1;
        for (int p : new int[] {sire[v], dam[v]}) {
          if (p < 0 || state[p] == 2) {
            continue;
          }
          if (state[p] == 1) {
            throw cycle(source, all, lines, stack, top, p);
          }
          next = p;
          break;
        }
        if (next >= 0) {
          state[next] = 1;
          stack[top++] = next;
        } else {
          state[v] = 2;
          order[placed++] = v;
          top--;
        }
      }
    }
    if (placed != n) {
      throw new IllegalStateException("placed " + placed + " of " + n + " individuals");
    }
    return order;
  }

  private static BadInputException cycle(String source, List<SampleId> all, List<Long> lines, int[] stack, int top,
      int p) {
    // The path on the stack from p down to the top is offspring → parent → … → p's offspring; p is
    // the parent of the top element, so p is its own ancestor.
    StringBuilder path = new StringBuilder();
    int from = top - 1;
    while (stack[from] != p) {
      from--;
    }
    for (int k = from; k < top; k++) {
      path.append(all.get(stack[k]).iid()).append(" → ");
    }
    path.append(all.get(p).iid());
    return BadInputException.atLine(source, lines.get(p), "individual " + all.get(p).iid()
        + " is its own ancestor (pedigree cycle, offspring → parent: " + path + ")");
  }

  private static int idOrAdd(SampleId parent, Map<SampleId, Integer> idx, List<SampleId> all, List<Long> lines,
      long line) {
    Integer i = idx.get(parent);
    if (i == null) {
      i = all.size();
      idx.put(parent, i);
      all.add(parent);
      lines.add(line); // for errors: the line that first mentions this parent
    }
    return i;
  }

  /** Finds the header's columns {fid, id, sire, dam, sex}, or null when the line is not a header. */
  private static int[] headerColumns(String[] f) {
    int fid = -1;
    int id = -1;
    int sire = -1;
    int dam = -1;
    int sex = -1;
    boolean header = false;
    for (int c = 0; c < f.length; c++) {
      String name = f[c].toLowerCase(Locale.ROOT);
      if (SIRE_NAMES.contains(name) && sire < 0) {
        sire = c;
        header = true;
      } else if (DAM_NAMES.contains(name) && dam < 0) {
        dam = c;
        header = true;
      } else if (FID_NAMES.contains(name) && fid < 0) {
        fid = c;
      } else if (ID_NAMES.contains(name) && id < 0) {
        id = c;
      } else if (SEX_NAMES.contains(name) && sex < 0) {
        sex = c;
      }
    }
    if (!header) {
      return null;
    }
    if (id < 0) {
      for (int c = 0; c < f.length; c++) {
        if (c != fid && c != sire && c != dam && c != sex) {
          id = c;
          break;
        }
      }
    }
    return new int[] {fid, id, sire, dam, sex};
  }

  private static String[] split(String line, boolean comma) {
    if (!comma) {
      return line.trim().split("\\s+");
    }
    String[] f = line.split(",", -1);
    for (int i = 0; i < f.length; i++) {
      String t = f[i].trim();
      if (t.length() >= 2 && t.startsWith("\"") && t.endsWith("\"")) {
        t = t.substring(1, t.length() - 1).trim();
      }
      f[i] = t;
    }
    return f;
  }

  private static boolean isMissing(String field) {
    return MISSING.contains(field.toLowerCase(Locale.ROOT));
  }

  private static Sex parseSex(String field, String source, long line) {
    switch (field.toLowerCase(Locale.ROOT)) {
      case "1", "m", "male":
        return Sex.MALE;
      case "2", "f", "female":
        return Sex.FEMALE;
      case "0", "-9", "na", ".", "-", "", "u", "unknown":
        return Sex.UNKNOWN;
      default:
        throw BadInputException.atLine(source, line, "sex '" + field
            + "' is not 1/M/male, 2/F/female or 0/NA (unknown)");
    }
  }

  private static String name(SampleId id) {
    return id == null ? "unknown" : id.iid();
  }

  /** The file (or name) this pedigree came from. */
  public String source() {
    return source;
  }

  /** Number of individuals, including parents added as founders. */
  public int size() {
    return ids.size();
  }

  /** The individuals in parents-first order (index {@code i} is individual {@code i} everywhere). */
  public List<SampleId> ids() {
    return ids;
  }

  public SampleId id(int i) {
    return ids.get(i);
  }

  /** Index of the sire of individual {@code i} (always {@code < i}), or −1 when unknown. */
  public int sire(int i) {
    return sire[i];
  }

  /** Index of the dam of individual {@code i} (always {@code < i}), or −1 when unknown. */
  public int dam(int i) {
    return dam[i];
  }

  /** Recorded sex; parents added as founders get the sex of their parental role. */
  public Sex sex(int i) {
    return sex[i];
  }

  /** The line listing individual {@code i}, or 0 for a parent added as a founder. */
  public long line(int i) {
    return line[i];
  }

  /** Whether individual {@code i} was listed in the file (false: a parent added as a founder). */
  public boolean listed(int i) {
    return line[i] > 0;
  }

  /** Whether the file had a family-ID column (else every FID equals its IID). */
  public boolean hasFamilyIds() {
    return familyIds;
  }

  /** Index of an individual, or −1 when it is not in the pedigree. */
  public int indexOf(SampleId id) {
    Integer i = index.get(id);
    return i == null ? -1 : i;
  }

  /**
   * Index of an individual by IID alone (to match phenotype files against an {@code ID SIRE DAM}
   * pedigree): −1 when absent, −2 when several families use this IID.
   */
  public int indexOfIid(String iid) {
    Integer i = iidIndex.get(iid);
    return i == null ? -1 : i;
  }

  /**
   * Index of a phenotyped sample: by (FID, IID) when the pedigree has a family column, else by IID
   * alone (an {@code ID SIRE DAM} file has no family IDs, and a phenotype file's FID is then
   * irrelevant); −1 when absent.
   */
  public int indexOfSample(SampleId s) {
    return familyIds ? indexOf(s) : indexOfIid(s.iid());
  }

  /** Parents that were not listed as individuals and were added as founders. */
  public int foundersAdded() {
    return foundersAdded;
  }

  /** Lines repeating an individual with identical parents, skipped. */
  public int duplicatesIgnored() {
    return duplicatesIgnored;
  }

  /** Whether some individual was listed after one of its offspring and so moved up. */
  public boolean reordered() {
    return reordered;
  }

  /**
   * The individuals in {@code individuals} together with all their ancestors, as sorted indices
   * (so still parents-first). O(size of the result) beyond a boolean mark per individual.
   */
  public int[] withAncestors(int[] individuals) {
    boolean[] mark = new boolean[size()];
    ArrayDeque<Integer> todo = new ArrayDeque<>();
    for (int i : individuals) {
      if (i < 0 || i >= size()) {
        throw new IllegalArgumentException("individual index " + i + " out of range 0.." + (size() - 1));
      }
      if (!mark[i]) {
        mark[i] = true;
        todo.add(i);
      }
    }
    while (!todo.isEmpty()) {
      int i = todo.poll();
      for (int p : new int[] {sire[i], dam[i]}) {
        if (p >= 0 && !mark[p]) {
          mark[p] = true;
          todo.add(p);
        }
      }
    }
    int count = 0;
    for (boolean m : mark) {
      count += m ? 1 : 0;
    }
    int[] out = new int[count];
    int k = 0;
    for (int i = 0; i < mark.length; i++) {
      if (mark[i]) {
        out[k++] = i;
      }
    }
    return out;
  }
}
