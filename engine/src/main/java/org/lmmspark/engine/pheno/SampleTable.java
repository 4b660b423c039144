package org.lmmspark.engine.pheno;

import java.io.BufferedReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.io.SampleId;

/**
 * A per-sample text table, the one reader of every phenotype and covariate file ({@code --pheno},
 * {@code --covar}, {@code --qcovar}) and of a {@code .fam}'s phenotype columns ({@link #fam}), in the
 * layouts other tools write:
 *
 * <ul>
 *   <li><b>Separator</b>: comma when the first non-blank line holds a comma (CSV; fields trimmed, one pair of
 *       surrounding double quotes dropped, an empty field is missing), otherwise runs of spaces and tabs.
 *   <li><b>Header</b>: the first line is a header when its first field is {@code #FID}, {@code #IID}
 *       (plink2), {@code FID} followed by {@code IID}, or {@code IID} (case-insensitive); the columns
 *       after the ID columns take their names from it. Otherwise the file has no header (GCTA, PLINK 1:
 *       {@code FID IID} then values) and its value columns are named {@code V1, V2, ...} (pick one by
 *       position with {@code --mpheno N}). A first line that does not start with those names but whose
 *       value fields are all non-numeric while the second line has a number in one of those columns
 *       looks like a header with other ID column names: it is refused (which line is data would be a
 *       guess), with a message saying how to name the ID columns.
 *   <li><b>Keys</b>: samples are keyed by FID and IID. A header starting with {@code IID}, or
 *       {@link Layout#iidOnly()} ({@code --iid-only}: a headerless file's first column is the IID, a
 *       header's FID column is ignored), keys them by IID alone; {@link #keyedTo} then gives each row
 *       the (FID, IID) of the genotype or GRM sample with that IID (an IID in two families there is an
 *       error).
 *   <li><b>A named ID column</b> ({@link Layout#idColumn()}, {@code --pheno-id-col NAME}, SAIGE's
 *       {@code --sampleIDColinphenoFile}): the first line is the header, the column so named (anywhere
 *       in it) holds the IID, samples are keyed by IID alone as above, and every other column except one
 *       named {@code FID} is a value column. SAIGE's example table
 *       {@code y_quantitative y_binary x1 x2 IID a1 …} reads this way.
 *   <li><b>Missing values</b>: {@code NA}, {@code -9}, {@code NaN} (and an empty CSV field).
 * </ul>
 *
 * <p>Strict: a line with another number of fields than the first, a sample listed twice, or (when a
 * column is read as numbers) a value that is not a number is a {@link BadInputException} naming file,
 * line and column. Blank lines are skipped.
 *
 * <p><b>Repeated records.</b> Read with {@code repeatedRecords = true}, a sample may appear on several
 * lines (one record per line, e.g. the lactations of a cow); {@link #ids()} then lists the sample once
 * per record, in file order, and {@link #rowOf} gives its first record.
 */
public final class SampleTable {
  private final String file;
  private final List<String> columns;
  private final List<SampleId> ids;
  private final List<String[]> rows;
  private final long[] lineNumbers;
  private final Map<SampleId, Integer> index;
  private final boolean keyedByIid;
  private final boolean header;

  private SampleTable(String file, List<String> columns, List<SampleId> ids, List<String[]> rows, long[] lines,
      boolean keyedByIid, boolean header) {
    this.file = file;
    this.columns = List.copyOf(columns);
    this.ids = List.copyOf(ids);
    this.rows = rows;
    this.lineNumbers = lines;
    this.keyedByIid = keyedByIid;
    this.header = header;
    this.index = new HashMap<>();
    for (int i = 0; i < ids.size(); i++) {
      index.putIfAbsent(ids.get(i), i);
    }
  }

  /**
   * How to read a table: {@code repeatedRecords} lets a sample have several lines; {@code iidOnly} keys
   * samples by IID alone (a headerless file then starts with the IID column); {@code idColumn} (null for
   * the usual layouts) names the header column that holds the IID wherever it stands (SAIGE's
   * {@code --sampleIDColinphenoFile}): the first line is then the header, samples are keyed by that IID
   * alone, and every other column but a {@code FID} one is a value column.
   */
  public record Layout(boolean repeatedRecords, boolean iidOnly, String idColumn) {
    public static final Layout DEFAULT = new Layout(false, false);

    /** The usual layouts (ID columns first). */
    public Layout(boolean repeatedRecords, boolean iidOnly) {
      this(repeatedRecords, iidOnly, null);
    }
  }

  /** The FID given to rows keyed by IID alone until {@link #keyedTo} gives them their sample's. */
  static final String NO_FID = "";

  /** True for the tokens that mean "missing": {@code NA}, {@code -9}, {@code NaN} (case-insensitive). */
  public static boolean isMissing(String token) {
    return token.equalsIgnoreCase("NA") || token.equals("-9") || token.equalsIgnoreCase("NaN") || token.isEmpty();
  }

  /** Reads a table with one line per sample (a repeated sample is an error). */
  public static SampleTable read(String path, Configuration conf) {
    return read(path, conf, Layout.DEFAULT);
  }

  /** Reads a table; {@code repeatedRecords}: a sample may have several lines (records). */
  public static SampleTable read(String path, Configuration conf, boolean repeatedRecords) {
    return read(path, conf, new Layout(repeatedRecords, false));
  }

  /** Reads a table in any of the layouts of the class doc. */
  public static SampleTable read(String path, Configuration conf, Layout layout) {
    try (BufferedReader in = FileSystems.openText(path, conf)) {
      return parse(path, in, layout);
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage()); // e.g. a truncated gzip stream
    }
  }

  /** Parses a table with one line per sample from a reader; {@code file} names it in error messages. */
  public static SampleTable parse(String file, BufferedReader in) throws IOException {
    return parse(file, in, Layout.DEFAULT);
  }

  /** Parses a table from a reader; {@code repeatedRecords}: a sample may have several lines. */
  public static SampleTable parse(String file, BufferedReader in, boolean repeatedRecords) throws IOException {
    return parse(file, in, new Layout(repeatedRecords, false));
  }

  /** Parses a table from a reader in any of the layouts of the class doc. */
  public static SampleTable parse(String file, BufferedReader in, Layout layout) throws IOException {
    List<String[]> lines = new ArrayList<>();
    List<Long> numbers = new ArrayList<>();
    Boolean csv = null;
    String line;
    long lineNo = 0;
    while ((line = in.readLine()) != null) {
      lineNo++;
      if (line.isBlank()) {
        continue;
      }
      if (csv == null) {
        csv = line.indexOf(',') >= 0;
      }
      lines.add(csv ? splitCsv(line) : line.trim().split("\\s+"));
      numbers.add(lineNo);
    }
    if (lines.isEmpty()) {
      throw BadInputException.inFile(file, "empty file (expected FID IID then values, with or without a header)");
    }
    String[] first = lines.get(0);
    String lead = first[0].startsWith("#") ? first[0].substring(1) : first[0];
    boolean fidHeader = lead.equalsIgnoreCase("FID") && first.length > 1 && first[1].equalsIgnoreCase("IID");
    boolean iidHeader = lead.equalsIgnoreCase("IID");
    if (first[0].startsWith("#") && !fidHeader && !iidHeader && layout.idColumn() == null) {
      throw BadInputException.atLine(file, numbers.get(0), "a header line must start with '#FID IID' or '#IID', found '"
          + String.join(" ", first) + "'");
    }
    boolean hasHeader = fidHeader || iidHeader || layout.idColumn() != null;
    // Columns holding the sample ID in the file, and whether samples are keyed by IID alone.
    int idColumns = iidHeader || (!hasHeader && layout.iidOnly()) ? 1 : 2;
    boolean byIid = iidHeader || layout.iidOnly() || layout.idColumn() != null;
    // The IID's column when keyed by IID alone, and the value columns.
    int iidColumn = layout.idColumn() != null ? namedIdColumn(file, numbers.get(0), first, layout.idColumn())
        : idColumns - 1;
    int[] valueColumns = layout.idColumn() == null ? IntStream.range(idColumns, first.length).toArray()
        : IntStream.range(0, first.length).filter(c -> c != iidColumn
            && !(first[c].startsWith("#") ? first[c].substring(1) : first[c]).equalsIgnoreCase("FID")).toArray();
    if (valueColumns.length == 0) {
      throw BadInputException.atLine(file, numbers.get(0), "expected the sample ID column(s) ("
          + (layout.idColumn() != null ? layout.idColumn() : idColumns == 2 ? "FID IID" : "IID")
          + ") and at least one value column, found " + first.length + " field(s): '" + String.join(" ", first) + "'");
    }
    if (!hasHeader && lines.size() > 1) {
      refuseUnnamedHeader(file, lines, numbers, idColumns);
    }
    List<String> columns = new ArrayList<>();
    for (int k = 0; k < valueColumns.length; k++) {
      columns.add(hasHeader ? first[valueColumns[k]] : "V" + (k + 1));
    }
    Map<String, Integer> seenColumn = new HashMap<>();
    for (int c = 0; c < columns.size(); c++) {
      if (seenColumn.put(columns.get(c), c) != null) {
        throw BadInputException.atLine(file, numbers.get(0), "column name '" + columns.get(c) + "' appears twice in the header");
      }
    }
    List<SampleId> ids = new ArrayList<>();
    List<String[]> rows = new ArrayList<>();
    long[] ln = new long[lines.size() - (hasHeader ? 1 : 0)];
    Map<SampleId, Long> seen = new HashMap<>();
    for (int k = hasHeader ? 1 : 0; k < lines.size(); k++) {
      String[] f = lines.get(k);
      long no = numbers.get(k);
      if (f.length != first.length) {
        throw BadInputException.atLine(file, no, "expected " + first.length + " fields like "
            + (hasHeader ? "the header" : "line " + numbers.get(0)) + ", found " + f.length);
      }
      SampleId id = byIid ? new SampleId(NO_FID, f[iidColumn]) : new SampleId(f[0], f[1]);
      Long before = seen.putIfAbsent(id, no);
      if (before != null && !layout.repeatedRecords()) {
        throw BadInputException.atLine(file, no, "sample " + (byIid ? "IID " + id.iid() : f[0] + " " + f[1])
            + " is listed twice (first at line " + before + "); several records per individual need --repeated-records");
      }
      ln[ids.size()] = no;
      ids.add(id);
      String[] values = new String[valueColumns.length];
      for (int c = 0; c < values.length; c++) {
        values[c] = f[valueColumns[c]];
      }
      rows.add(values);
    }
    return new SampleTable(file, columns, ids, rows, ln, byIid, hasHeader);
  }

  /** The position of the ID column named {@code name} in the header {@code first} (a leading '#' ignored). */
  private static int namedIdColumn(String file, long line, String[] first, String name) {
    for (int c = 0; c < first.length; c++) {
      if ((c == 0 && first[c].startsWith("#") ? first[c].substring(1) : first[c]).equals(name)) {
        return c;
      }
    }
    throw BadInputException.atLine(file, line, "--pheno-id-col " + name + ": the header has no column '" + name
        + "'; its columns are " + Arrays.toString(first) + " (every table read, --covar and --qcovar too, is keyed by "
        + "this column)");
  }

  /**
   * A headerless reading whose first line looks like a header (names where the next line has numbers)
   * is refused: e.g. {@code ID height} over {@code 1 172.5} would otherwise make "ID height" a sample.
   */
  private static void refuseUnnamedHeader(String file, List<String[]> lines, List<Long> numbers, int idColumns) {
    String[] first = lines.get(0);
    String[] second = lines.get(1);
    boolean allNames = true;
    for (int c = idColumns; c < first.length; c++) {
      allNames &= !isMissing(first[c]) && !isNumber(first[c]);
    }
    boolean numbersBelow = false;
    for (int c = idColumns; c < Math.min(first.length, second.length); c++) {
      numbersBelow |= isNumber(second[c]);
    }
    if (allNames && numbersBelow) {
      throw BadInputException.atLine(file, numbers.get(0), "this line looks like a header (its value columns "
          + Arrays.toString(Arrays.copyOfRange(first, idColumns, first.length)) + " are names where line "
          + numbers.get(1) + " has numbers) but does not start with the ID columns 'FID IID', '#FID IID' or 'IID'; "
          + "rename its first column(s) so, name the IID column with --pheno-id-col NAME, or remove the line for a "
          + "headerless table");
    }
  }

  private static boolean isNumber(String token) {
    try {
      Double.parseDouble(token);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static String[] splitCsv(String line) {
    String[] f = line.split(",", -1);
    for (int i = 0; i < f.length; i++) {
      String t = f[i].trim();
      if (t.length() >= 2 && t.startsWith("\"") && t.endsWith("\"")) {
        t = t.substring(1, t.length() - 1);
      }
      f[i] = t;
    }
    return f;
  }

  /**
   * The phenotype columns of a PLINK {@code .fam} (or any file of that layout): FID IID father mother
   * sex, then one or more phenotypes (PLINK writes one; GEMMA's and other tools' files carry more). The
   * value columns are named {@code PHENO1, PHENO2, ...}: {@code --pheno-col N} (GEMMA's {@code -n N})
   * is {@code PHENON}, the file's column 5 + N. Missing values as for any table ({@code -9}, {@code NA}).
   */
  public static SampleTable fam(String path, Configuration conf) {
    List<SampleId> ids = new ArrayList<>();
    List<String[]> rows = new ArrayList<>();
    List<Long> lines = new ArrayList<>();
    int[] width = {0};
    Map<SampleId, Long> seen = new HashMap<>();
    org.lmmspark.engine.io.WhitespaceLines.read(path, conf, (lineNo, f) -> {
      if (f.length < 6 || (width[0] != 0 && f.length != width[0])) {
        throw BadInputException.atLine(path, lineNo, width[0] == 0 || f.length < 6
            ? "expected FID IID father mother sex and at least one phenotype column, found " + f.length + " field(s)"
            : "expected " + width[0] + " fields like the first line, found " + f.length);
      }
      width[0] = f.length;
      SampleId id = new SampleId(f[0], f[1]);
      Long before = seen.putIfAbsent(id, lineNo);
      if (before != null) {
        throw BadInputException.atLine(path, lineNo, "duplicate sample '" + id + "' (first at line " + before + ")");
      }
      ids.add(id);
      rows.add(Arrays.copyOfRange(f, 5, f.length));
      lines.add(lineNo);
    });
    if (ids.isEmpty()) {
      throw BadInputException.inFile(path, "no samples");
    }
    List<String> columns = new ArrayList<>();
    for (int c = 1; c <= width[0] - 5; c++) {
      columns.add("PHENO" + c);
    }
    return new SampleTable(path, columns, ids, rows, lines.stream().mapToLong(Long::longValue).toArray(), false, false);
  }

  /** Whether rows are keyed by IID alone (until {@link #keyedTo}). */
  public boolean keyedByIid() {
    return keyedByIid;
  }

  /** Whether the file had a header line (else its value columns are named V1, V2, ...). */
  public boolean hasHeader() {
    return header;
  }

  /**
   * This table with each row keyed by the (FID, IID) of the sample of {@code reference} (the genotypes'
   * or a GRM's samples, named {@code referenceName}) that has its IID; rows whose IID is not there keep
   * an empty FID (they are then absent from the reference when samples are matched). Keyed by FID and
   * IID already: this table. An IID that two reference samples share is a {@link BadInputException}.
   */
  public SampleTable keyedTo(List<SampleId> reference, String referenceName) {
    if (!keyedByIid) {
      return this;
    }
    Map<String, SampleId> byIid = new HashMap<>();
    for (SampleId r : reference) {
      SampleId before = byIid.put(r.iid(), r);
      if (before != null && !before.equals(r)) {
        throw BadInputException.inFile(file, "samples are keyed by IID alone, but IID '" + r.iid() + "' is in two "
            + "families of " + referenceName + " (" + before + " and " + r + "); key this table by FID and IID");
      }
    }
    List<SampleId> keyed = new ArrayList<>(ids.size());
    for (SampleId id : ids) {
      keyed.add(byIid.getOrDefault(id.iid(), id));
    }
    return new SampleTable(file, columns, keyed, rows, lineNumbers, false, header);
  }

  /** The same rows with only the named columns, in that order ({@code option} names the option in errors). */
  public SampleTable select(List<String> names, String option) {
    int[] cols = new int[names.size()];
    for (int k = 0; k < cols.length; k++) {
      cols[k] = column(names.get(k), option);
    }
    List<String[]> selected = new ArrayList<>(rows.size());
    for (String[] r : rows) {
      String[] s = new String[cols.length];
      for (int k = 0; k < cols.length; k++) {
        s[k] = r[cols[k]];
      }
      selected.add(s);
    }
    return new SampleTable(file, names, ids, selected, lineNumbers, keyedByIid, header);
  }

  public String file() {
    return file;
  }

  /** The column names after FID and IID. */
  public List<String> columns() {
    return columns;
  }

  public List<SampleId> ids() {
    return ids;
  }

  public int size() {
    return ids.size();
  }

  /** The file line of a row (1-based). */
  public long line(int row) {
    return lineNumbers[row];
  }

  /** Row of a sample (its first record), or -1. */
  public int rowOf(SampleId id) {
    Integer r = index.get(id);
    return r == null ? -1 : r;
  }

  /** The position of a named column, or a BadInputException listing the columns there are. */
  public int column(String name, String option) {
    int c = columns.indexOf(name);
    if (c < 0) {
      throw BadInputException.inFile(file, option + " column '" + name + "' not found; columns are " + columns
          + (header ? "" : " (the file has no header line: choose a column by position, e.g. --mpheno N)"));
    }
    return c;
  }

  /** The raw token at (row, column). */
  public String token(int row, int column) {
    return rows.get(row)[column];
  }

  /** A column as numbers, NaN where missing; a non-numeric value names file:line and the column. */
  public double[] numeric(int column) {
    double[] v = new double[rows.size()];
    for (int r = 0; r < v.length; r++) {
      String t = rows.get(r)[column];
      if (isMissing(t)) {
        v[r] = Double.NaN;
        continue;
      }
      try {
        v[r] = Double.parseDouble(t);
      } catch (NumberFormatException e) {
        throw BadInputException.atLine(file, lineNumbers[r],
            "column '" + columns.get(column) + "': '" + BadInputException.excerpt(t) + "' is not a number (missing values are NA or -9)");
      }
      if (!Double.isFinite(v[r])) {
        throw BadInputException.atLine(file, lineNumbers[r],
            "column '" + columns.get(column) + "': '" + t + "' is not a finite number");
      }
    }
    return v;
  }

  /**
   * How many values of {@code column} are written {@code NaN} (read as missing, like {@code NA} and
   * {@code -9}, but worth a word: a NaN is often a failed computation upstream rather than a value
   * nobody measured), as a log line naming the file and the first lines; null when there are none.
   */
  public String nanNote(int column, String what) {
    List<Long> at = new ArrayList<>();
    for (int r = 0; r < rows.size(); r++) {
      if (rows.get(r)[column].equalsIgnoreCase("NaN")) {
        at.add(lineNumbers[r]);
      }
    }
    if (at.isEmpty()) {
      return null;
    }
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < Math.min(at.size(), NAN_LINES_LISTED); i++) {
      lines.append(i == 0 ? "" : ", ").append(at.get(i));
    }
    return String.format(java.util.Locale.ROOT, "%s '%s': %d NaN value%s taken as missing (%s line%s %s%s)", what,
        columns.get(column), at.size(), at.size() == 1 ? "" : "s", file, at.size() == 1 ? "" : "s", lines,
        at.size() > NAN_LINES_LISTED ? ", ..." : "");
  }

  /** Lines listed by {@link #nanNote}. */
  static final int NAN_LINES_LISTED = 5;

  /** A column as category labels, null where missing. */
  public String[] categorical(int column) {
    String[] v = new String[rows.size()];
    for (int r = 0; r < v.length; r++) {
      String t = rows.get(r)[column];
      v[r] = isMissing(t) ? null : t;
    }
    return v;
  }
}
