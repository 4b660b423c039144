package org.lmmspark.engine.io.vcf;

import htsjdk.samtools.util.BlockCompressedInputStream;
import htsjdk.variant.vcf.VCFCodec;
import htsjdk.variant.vcf.VCFHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.io.Variant;

/**
 * The records of a BCF file (binary VCF, BGZF-compressed), version 2.2 as bcftools has written it since
 * 1.0, and 2.1 (htsjdk's BCF writer), decoded here: htsjdk 4.2's {@code BCF2Codec} reads 2.1 only.
 * Layout (VCF v4.3 specification, section 6, "BCF specification"; htslib {@code vcf.c}):
 * <ul>
 *   <li>magic {@code BCF\2\2} (major, minor version), {@code uint32 l_text}, the VCF header text
 *       ({@code l_text} bytes, NUL-terminated), parsed by htsjdk's {@link VCFCodec};
 *   <li>per record, little-endian: {@code uint32 l_shared, l_indiv}; the shared part {@code int32 CHROM}
 *       (index into the contig dictionary), {@code int32 POS} (0-based), {@code int32 rlen}, {@code float
 *       QUAL}, {@code int32 n_allele << 16 | n_info}, {@code uint32 n_fmt << 24 | n_sample}, then typed
 *       values: ID (string), the {@code n_allele} alleles (strings), FILTER (int vector), {@code n_info}
 *       pairs (key, value); the per-sample part: {@code n_fmt} times a typed key and one type byte, then
 *       {@code n_sample} vectors of that type and length, sample after sample;
 *   <li>a typed value starts with a byte {@code length << 4 | type} (types 1, 2, 3: int8/16/32; 5: float;
 *       7: char; 0: no value), a length of 15 meaning that a typed integer with the length follows;
 *   <li>dictionary keys (INFO/FORMAT keys, FILTER values) index the strings of the header's FILTER, INFO
 *       and FORMAT lines, PASS first, then each ID in order of first appearance unless the line gives its
 *       {@code IDX}; contigs index the {@code ##contig} lines alike (bcftools writes every {@code IDX});
 *   <li>reserved values: missing {@code 0x80}, {@code 0x8000}, {@code 0x80000000} (int8/16/32) and
 *       {@code 0x7F800001} (float); in 2.2 a vector shorter than its field's length ends with
 *       {@code END_OF_VECTOR}, the next value ({@code 0x81}, {@code 0x8001}, {@code 0x80000001},
 *       {@code 0x7F800002}), where 2.1 pads with the missing value, read here as the end too when not first;
 *   <li>GT values are {@code (allele + 1) << 1 | phased}, 0 (or 1) a missing allele.
 * </ul>
 * Only the site (CHROM, POS, ID, alleles) and the FORMAT fields GT, DS and GP are decoded; the rest is
 * skipped by its lengths. Floats are stored in single precision: a DS or GP value is taken as the
 * shortest decimal that rounds to the stored float ({@link FloatDecimals}), which is the number the
 * VCF it came from said when that had at most 6 significant digits (what float holds, and what imputation
 * tools and bcftools print), so a BCF and its VCF give identical dosages.
 *
 * <p>Cost per record: one pass over its bytes; no per-sample objects. Not thread-safe; one per task.
 */
final class BcfRecords extends VariantRecords {
  static final String MAGIC = "BCF";
  private static final int INT8 = 1;
  private static final int INT16 = 2;
  private static final int INT32 = 3;
  private static final int FLOAT = 5;
  private static final int CHAR = 7;
  private static final int FLOAT_MISSING = 0x7F800001;
  private static final int FLOAT_END = 0x7F800002;
  /** Larger records are taken for corruption rather than read into memory. */
  private static final long MAX_RECORD_BYTES = Integer.MAX_VALUE - 64;

  private final int minor;
  private final String[] strings;
  private final String[] contigs;
  private final FloatDecimals decimals = new FloatDecimals();
  private final byte[] lengths = new byte[8];
  private byte[] record = new byte[1 << 16];
  private ByteBuffer bytes = ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN);
  private int sharedLength;
  private int totalLength;
  /** Records read since the last seek (for messages). */
  private long read;
  /** Read position in {@link #record}. */
  private int at;

  private BcfRecords(String path, BlockCompressedInputStream in, int minor, VCFHeader header, Dictionaries d) {
    super(path, in, header.getGenotypeSamples(), in.getFilePointer());
    this.minor = minor;
    this.strings = d.strings;
    this.contigs = d.contigs;
  }

  /** Reads the header of {@code in}, positioned just after the magic {@code BCF}. */
  static BcfRecords read(String path, BlockCompressedInputStream in) throws IOException {
    byte[] version = in.readNBytes(6);
    if (version.length < 6) {
      throw BadInputException.inFile(path, "truncated BCF header");
    }
    int minor = version[1];
    if (version[0] != 2 || (minor != 1 && minor != 2)) {
      throw BadInputException.inFile(path, "BCF version " + version[0] + "." + minor + "; versions 2.1 and 2.2 are read");
    }
    long textLength = ByteBuffer.wrap(version, 2, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL;
    if (textLength > MAX_RECORD_BYTES) {
      throw BadInputException.inFile(path, "BCF header of " + textLength + " bytes: corrupt");
    }
    byte[] textBytes = in.readNBytes((int) textLength);
    if (textBytes.length < textLength) {
      throw BadInputException.inFile(path, "truncated BCF header (" + textBytes.length + " of " + textLength + " bytes)");
    }
    int end = textBytes.length;
    while (end > 0 && textBytes[end - 1] == 0) {
      end--;
    }
    String text = new String(textBytes, 0, end, StandardCharsets.UTF_8);
    return new BcfRecords(path, in, minor, header(path, new VCFCodec(), text), Dictionaries.of(path, text));
  }

  @Override
  String format() {
    return "BCF 2." + minor;
  }

  @Override
  void seek(long virtualOffset) {
    super.seek(virtualOffset);
    read = 0;
  }

  @Override
  boolean next() {
    try {
      int n = in.readNBytes(lengths, 0, 8);
      if (n == 0) {
        return false;
      }
      read++;
      if (n < 8) {
        throw truncated();
      }
      ByteBuffer l = ByteBuffer.wrap(lengths).order(ByteOrder.LITTLE_ENDIAN);
      long shared = l.getInt(0) & 0xffffffffL;
      long indiv = l.getInt(4) & 0xffffffffL;
      if (shared < 24 || shared + indiv > MAX_RECORD_BYTES) {
        throw BadInputException.inFile(path, "record " + read + " after the read start: lengths " + shared + " + " + indiv
            + " bytes: corrupt BCF");
      }
      int total = (int) (shared + indiv);
      if (total > record.length) {
        record = new byte[Math.max(total, 2 * record.length)];
        bytes = ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN);
      }
      if (in.readNBytes(record, 0, total) < total) {
        throw truncated();
      }
      sharedLength = (int) shared;
      totalLength = total;
      return true;
    } catch (IOException | RuntimeException e) { // htsjdk reports a corrupt block as SAMFormatException
      if (e instanceof BadInputException b) {
        throw b;
      }
      throw BadInputException.inFile(path, "cannot read record " + (read + 1) + " after the read start: " + e.getMessage());
    }
  }

  private BadInputException truncated() {
    return BadInputException.inFile(path, "truncated: ends inside record " + read + " after the read start");
  }

  private String contig(String where) {
    int c = bytes.getInt(0);
    if (c < 0 || c >= contigs.length || contigs[c] == null) {
      throw BadInputException.inFile(path, where + ": CHROM index " + c + " is not a ##contig of the header");
    }
    return contigs[c];
  }

  @Override
  Variant site(String where) {
    String contig = contig(where);
    int pos = bytes.getInt(4) + 1;
    int alleles = bytes.getInt(16) >>> 16;
    at = 24;
    String id;
    String ref;
    String alt;
    try {
      id = string();
      ref = alleles > 0 ? allele(string()) : null;
      alt = alleles > 1 ? allele(string()) : null;
    } catch (IndexOutOfBoundsException | BadInputException e) {
      throw BadInputException.inFile(path, where + " (" + contig + ":" + pos + "): corrupt BCF: "
          + (e instanceof BadInputException ? e.getMessage() : "a value runs past the record's end"));
    }
    return VariantRecords.site(path, contig, pos, id.isEmpty() || id.equals(".") ? null : id, alleles, ref, alt);
  }

  /** An allele as htsjdk's VCF parsing gives it: bases in upper case, symbolic and breakend alleles as written. */
  private static String allele(String a) {
    return a.startsWith("<") || a.indexOf('[') >= 0 || a.indexOf(']') >= 0 ? a : a.toUpperCase(java.util.Locale.ROOT);
  }

  /** The typed string at {@link #at} (trailing NULs dropped). */
  private String string() {
    int type = record[at] & 0x0f;
    int n = length();
    if (type != CHAR && n > 0) {
      throw new BadInputException("string expected, type " + type);
    }
    int end = at + n;
    if (end > sharedLength) {
      throw new IndexOutOfBoundsException();
    }
    int last = end;
    while (last > at && record[last - 1] == 0) {
      last--;
    }
    String s = new String(record, at, last - at, StandardCharsets.UTF_8);
    at = end;
    return s;
  }

  /** The length of the typed value whose type byte is at {@link #at}; moves {@link #at} to its first value. */
  private int length() {
    int n = (record[at++] & 0xff) >>> 4;
    return n == 15 ? integer() : n;
  }

  /** A typed integer scalar at {@link #at} (a length or a dictionary key). */
  private int integer() {
    int type = record[at] & 0x0f;
    if (length() != 1) {
      throw new BadInputException("a typed integer of length != 1");
    }
    int v = switch (type) {
      case INT8 -> record[at];
      case INT16 -> bytes.getShort(at);
      case INT32 -> bytes.getInt(at);
      default -> throw new BadInputException("integer expected, type " + type);
    };
    at += width(type);
    return v;
  }

  private static int width(int type) {
    return switch (type) {
      case 0, INT8, CHAR -> 1;
      case INT16 -> 2;
      case INT32, FLOAT -> 4;
      default -> throw new BadInputException("unknown BCF type " + type);
    };
  }

  /** Moves {@link #at} past one typed value. */
  private void skip() {
    int type = record[at] & 0x0f;
    int n = length();
    at += n * width(type);
  }

  /** Where one FORMAT field's values are: {@code n_sample} vectors of {@code length} values of {@code type}. */
  private record FormatField(int offset, int type, int length) {}

  @Override
  void dosages(VariantDosages out, int record) {
    String contig = contig("record " + record);
    String where = path + ": record " + record + " (" + contig + ":" + (bytes.getInt(4) + 1) + ")";
    int alleles = bytes.getInt(16) >>> 16;
    if (alleles != 2) {
      throw new BadInputException(where + ": " + alleles + " alleles; only biallelic records can be used "
          + "(split them first: bcftools norm -m-)");
    }
    int samples = bytes.getInt(20) & 0xffffff;
    int formats = bytes.getInt(20) >>> 24;
    if (samples != out.samples()) {
      throw new BadInputException(where + ": " + samples + " samples, the header has " + out.samples());
    }
    FormatField gt = null;
    FormatField ds = null;
    FormatField gp = null;
    try {
      at = sharedLength;
      for (int f = 0; f < formats; f++) {
        int key = integer();
        int type = this.record[at] & 0x0f;
        int length = length();
        FormatField field = new FormatField(at, type, length);
        at += samples * length * width(type);
        if (at > totalLength || key < 0 || key >= strings.length) {
          throw new BadInputException(key < 0 || key >= strings.length ? "FORMAT key " + key + " not in the header"
              : "FORMAT values run past the record's end");
        }
        switch (String.valueOf(strings[key])) {
          case "GT" -> gt = field;
          case "DS" -> ds = field;
          case "GP" -> gp = field;
          default -> { }
        }
      }
    } catch (RuntimeException e) {
      throw new BadInputException(where + ": corrupt BCF: " + e.getMessage());
    }
    VcfDosages.Field use = VcfDosages.field(anyValue(ds, samples), anyValue(gp, samples), gt != null, where);
    out.probabilitiesKnown = use != VcfDosages.Field.DS;
    switch (use) {
      case DS -> fromDs(ds, out, where);
      case GP -> fromGp(gp, out, where);
      case GT -> fromGt(gt, out, where);
    }
  }

  private void fromDs(FormatField ds, VariantDosages out, String where) {
    numeric(ds, "DS", where);
    for (int i = 0; i < out.samples(); i++) {
      out.variance[i] = 0;
      int n = count(ds, i);
      if (sampleMissing(ds, i, n)) {
        out.dosage[i] = Double.NaN;
      } else if (n != 1 || missing(ds, i, 0)) {
        throw new BadInputException(where + ", sample " + sampleNames().get(i) + ": DS has " + (n == 1 ? "a missing "
            + "value" : n + " values") + "; expected one number for a biallelic record");
      } else {
        out.dosage[i] = number(ds, i, 0);
      }
    }
  }

  private void fromGp(FormatField gp, VariantDosages out, String where) {
    numeric(gp, "GP", where);
    double[] p = new double[3];
    for (int i = 0; i < out.samples(); i++) {
      out.variance[i] = 0;
      int n = count(gp, i);
      if (sampleMissing(gp, i, n)) {
        out.dosage[i] = Double.NaN;
        continue;
      }
      for (int j = 0; j < Math.min(n, p.length); j++) {
        if (missing(gp, i, j)) {
          throw new BadInputException(where + ", sample " + sampleNames().get(i) + ": GP value " + (j + 1) + " is missing");
        }
        p[j] = number(gp, i, j);
      }
      VcfDosages.fromProbabilities(p, n, out, i, where + ", sample " + sampleNames().get(i));
    }
  }

  private void fromGt(FormatField gt, VariantDosages out, String where) {
    if (gt.type == FLOAT || gt.type == CHAR) {
      throw new BadInputException(where + ": GT is not stored as integers (BCF type " + gt.type + ")");
    }
    for (int i = 0; i < out.samples(); i++) {
      out.variance[i] = 0;
      int n = count(gt, i);
      double alt = n == 0 ? Double.NaN : 0;
      for (int j = 0; j < n; j++) {
        int allele = (integer(gt, i, j) >> 1) - 1;
        if (allele < 0 || missing(gt, i, j)) {
          alt = Double.NaN;
        } else if (allele > 1) {
          throw new BadInputException(where + ", sample " + sampleNames().get(i) + ": GT allele " + allele
              + " in a biallelic record");
        } else {
          alt += allele;
        }
      }
      out.dosage[i] = alt;
    }
  }

  private static void numeric(FormatField f, String name, String where) {
    if (f.type != INT8 && f.type != INT16 && f.type != INT32 && f.type != FLOAT) {
      throw new BadInputException(where + ": " + name + " is not numeric (BCF type " + f.type + ")");
    }
  }

  /** Whether some sample has a value (not just {@code .}) in {@code f}; false when the record has no {@code f}. */
  private boolean anyValue(FormatField f, int samples) {
    if (f == null || f.type == CHAR || f.type == 0) {
      return false;
    }
    for (int i = 0; i < samples; i++) {
      if (!sampleMissing(f, i, count(f, i))) {
        return true;
      }
    }
    return false;
  }

  /** Whether sample {@code i}'s value is {@code .}: one missing value (or none), as bcftools stores a VCF's {@code .}. */
  private boolean sampleMissing(FormatField f, int i, int n) {
    return n == 0 || n == 1 && missing(f, i, 0);
  }

  /** Sample {@code i}'s value count: its vector up to END_OF_VECTOR (2.2), or up to a padding missing value (2.1). */
  private int count(FormatField f, int i) {
    for (int j = 0; j < f.length; j++) {
      if (endOfVector(f, i, j)) {
        return j;
      }
    }
    return f.length;
  }

  private int bits(FormatField f, int i, int j) {
    int at = f.offset + (i * f.length + j) * width(f.type);
    return switch (f.type) {
      case INT8, CHAR -> record[at];
      case INT16 -> bytes.getShort(at);
      default -> bytes.getInt(at);
    };
  }

  /** The missing value of {@code f}'s type (int8/16/32 smallest value, or the float NaN 0x7F800001). */
  private static int missingBits(int type) {
    return switch (type) {
      case INT8 -> Byte.MIN_VALUE;
      case INT16 -> Short.MIN_VALUE;
      case FLOAT -> FLOAT_MISSING;
      default -> Integer.MIN_VALUE;
    };
  }

  private boolean missing(FormatField f, int i, int j) {
    return bits(f, i, j) == missingBits(f.type);
  }

  private boolean endOfVector(FormatField f, int i, int j) {
    int b = bits(f, i, j);
    if (minor == 1) {
      return j > 0 && b == missingBits(f.type);
    }
    return b == (f.type == FLOAT ? FLOAT_END : missingBits(f.type) + 1);
  }

  private int integer(FormatField f, int i, int j) {
    return bits(f, i, j);
  }

  /** A non-missing numeric value: an integer as is, a float as the shortest decimal that rounds to it. */
  private double number(FormatField f, int i, int j) {
    int b = bits(f, i, j);
    return f.type == FLOAT ? decimals.of(b) : b;
  }

  /**
   * The BCF dictionaries of a header text (htslib's {@code bcf_hdr_parse}): strings of FILTER, INFO and
   * FORMAT IDs, PASS at 0 unless placed by {@code IDX}; contigs of {@code ##contig} lines.
   */
  static final class Dictionaries {
    final String[] strings;
    final String[] contigs;

    private Dictionaries(String[] strings, String[] contigs) {
      this.strings = strings;
      this.contigs = contigs;
    }

    static Dictionaries of(String path, String text) {
      Map<String, Integer> strings = new HashMap<>();
      Map<String, Integer> contigs = new HashMap<>();
      List<String> stringList = new ArrayList<>();
      List<String> contigList = new ArrayList<>();
      put(path, strings, stringList, "PASS", null);
      for (String line : text.split("\n")) {
        int open = line.indexOf("=<");
        if (!line.startsWith("##") || open < 0 || !line.endsWith(">")) {
          continue;
        }
        String kind = line.substring(2, open);
        boolean contig = kind.equals("contig");
        if (!contig && !kind.equals("FILTER") && !kind.equals("INFO") && !kind.equals("FORMAT")) {
          continue;
        }
        Map<String, String> fields = fields(line.substring(open + 2, line.length() - 1));
        String id = fields.get("ID");
        if (id == null) {
          throw BadInputException.inFile(path, "header line without ID: " + BadInputException.excerpt(line));
        }
        Integer idx;
        try {
          idx = fields.containsKey("IDX") ? Integer.valueOf(fields.get("IDX")) : null;
        } catch (NumberFormatException e) {
          throw BadInputException.inFile(path, "header line with IDX not a number: " + BadInputException.excerpt(line));
        }
        if (contig) {
          put(path, contigs, contigList, id, idx);
        } else {
          put(path, strings, stringList, id, idx);
        }
      }
      return new Dictionaries(stringList.toArray(String[]::new), contigList.toArray(String[]::new));
    }

    /** Adds {@code id} at {@code idx} (null: the next free number); an ID seen before keeps its number. */
    private static void put(String path, Map<String, Integer> ids, List<String> list, String id, Integer idx) {
      if (ids.containsKey(id)) {
        return;
      }
      int at = idx != null ? idx : ids.size();
      if (at < 0 || at > 1 << 24) {
        throw BadInputException.inFile(path, "header IDX=" + at + " for " + id + " out of range");
      }
      while (list.size() <= at) {
        list.add(null);
      }
      if (list.get(at) != null) {
        throw BadInputException.inFile(path, "header IDX=" + at + " given to both " + list.get(at) + " and " + id);
      }
      list.set(at, id);
      ids.put(id, at);
    }

    /** The {@code key=value} pairs of a structured header line's {@code <...>}, quoted values unquoted. */
    static Map<String, String> fields(String body) {
      Map<String, String> out = new HashMap<>();
      int i = 0;
      while (i < body.length()) {
        int eq = body.indexOf('=', i);
        if (eq < 0) {
          break;
        }
        String key = body.substring(i, eq).trim();
        StringBuilder value = new StringBuilder();
        int j = eq + 1;
        if (j < body.length() && body.charAt(j) == '"') {
          for (j++; j < body.length() && body.charAt(j) != '"'; j++) {
            if (body.charAt(j) == '\\' && j + 1 < body.length()) {
              j++;
            }
            value.append(body.charAt(j));
          }
          j++;
        } else {
          for (; j < body.length() && body.charAt(j) != ','; j++) {
            value.append(body.charAt(j));
          }
        }
        out.putIfAbsent(key, value.toString());
        int comma = body.indexOf(',', j);
        i = comma < 0 ? body.length() : comma + 1;
      }
      return out;
    }
  }

  /**
   * The shortest decimal that rounds to a float (as a double): the value the text a BCF was made from
   * most likely said. Tries 1 to 10 significant digits (9 always suffice for a float; one more in case {@code log10} rounds the exponent up) ({@code n / 10^s} is computed exactly rounded, as
   * {@link Double#parseDouble} would give it, when {@code |s| <= 22}; beyond, through {@link
   * java.math.BigDecimal}). Results are kept in a small direct-mapped cache: dosages and probabilities
   * repeat few distinct values.
   */
  static final class FloatDecimals {
    private static final double[] POW10 = new double[23];

    static {
      POW10[0] = 1;
      for (int i = 1; i < POW10.length; i++) {
        POW10[i] = POW10[i - 1] * 10;
      }
    }

    private final int[] keys = new int[4096];
    private final double[] values = new double[4096];
    private final boolean[] used = new boolean[4096];

    double of(int bits) {
      int slot = (bits ^ bits >>> 12 ^ bits >>> 24) & 4095;
      if (used[slot] && keys[slot] == bits) {
        return values[slot];
      }
      double d = shortest(Float.intBitsToFloat(bits));
      keys[slot] = bits;
      values[slot] = d;
      used[slot] = true;
      return d;
    }

    static double shortest(float f) {
      if (f == 0 || !Float.isFinite(f)) {
        return f;
      }
      double d = f;
      int exponent = (int) Math.floor(Math.log10(Math.abs(d)));
      for (int digits = 1; digits <= 10; digits++) {
        int s = digits - 1 - exponent;
        double r;
        if (s >= 0 && s < POW10.length) {
          r = Math.rint(d * POW10[s]) / POW10[s];
        } else if (s < 0 && -s < POW10.length) {
          r = Math.rint(d / POW10[-s]) * POW10[-s];
        } else {
          r = new java.math.BigDecimal(d).round(new java.math.MathContext(digits)).doubleValue();
        }
        if ((float) r == f) {
          return r;
        }
      }
      return d;
    }
  }
}
