package org.lmmspark.engine.io;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeSource;

/**
 * A PLINK 1 binary fileset ({@code PREFIX.bed/.bim/.fam}), validated strictly when opened:
 * {@code .bim} lines must have exactly 6 fields, {@code .fam} lines at least 6 (FID IID father mother sex
 * phenotype; further phenotype columns, as GEMMA's example data and other tools' files carry, are
 * accepted as plink2 accepts them, and can be read with {@code --pheno-col}), the same number on every
 * line, sample IDs (FID, IID) must be
 * unique, the {@code .bed} must start with the magic bytes {@code 0x6c 0x1b 0x01} (variant-major)
 * and be exactly {@code 3 + M·ceil(N/4)} bytes long. Duplicate variant IDs are allowed (real data
 * has them) but reported in {@link #warnings()}. Errors name the file and line.
 *
 * <p>The fileset is metadata only (O(N + M) memory); genotype bytes are read by {@link BedReader}.
 */
public final class PlinkFileset implements java.io.Serializable, GenotypeSource {
  private static final long serialVersionUID = 1L;
  public static final byte[] BED_MAGIC = {0x6c, 0x1b, 0x01};

  /**
   * Configuration key (boolean) that lets {@code .bim} chromosome codes outside PLINK's human set
   * through, as PLINK's {@code --allow-extra-chr}: commands set it from that flag, the pipeline from
   * its {@code allow-extra-chr} key. It travels in the Hadoop configuration every reader already gets.
   */
  public static final String ALLOW_EXTRA_CHR = "lmmspark.allow-extra-chr";

  /** PLINK's human chromosome codes: 0 (unplaced), 1–26 (23 = X, 24 = Y, 25 = XY, 26 = MT), X, Y, XY, MT, M. */
  static boolean isPlinkChromosome(String code) {
    String c = code.regionMatches(true, 0, "chr", 0, 3) ? code.substring(3) : code;
    // One or two ASCII digits (checked by hand: this runs once per .bim line).
    if (!c.isEmpty() && c.length() <= 2 && c.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
      return Integer.parseInt(c) <= 26;
    }
    return switch (c.toUpperCase(java.util.Locale.ROOT)) {
      case "X", "Y", "XY", "MT", "M" -> true;
      default -> false;
    };
  }

  private final String prefix;
  private final List<SampleId> samples;
  private final List<Variant> variants;
  private final List<String> warnings;

  private PlinkFileset(String prefix, List<SampleId> samples, List<Variant> variants, List<String> warnings) {
    this.prefix = prefix;
    this.samples = samples;
    this.variants = variants;
    this.warnings = warnings;
  }

  /** Opens and validates {@code prefix.bed/.bim/.fam}. */
  public static PlinkFileset open(String prefix, Configuration conf) {
    List<String> warnings = new ArrayList<>();
    List<SampleId> samples = readFam(famPath(prefix), conf);
    List<Variant> variants = readBim(bimPath(prefix), conf, warnings, conf.getBoolean(ALLOW_EXTRA_CHR, false));
    checkBed(bedPath(prefix), samples.size(), variants.size(), conf);
    return new PlinkFileset(prefix, List.copyOf(samples), List.copyOf(variants), List.copyOf(warnings));
  }

  public static String bedPath(String prefix) {
    return prefix + ".bed";
  }

  public static String bimPath(String prefix) {
    return prefix + ".bim";
  }

  public static String famPath(String prefix) {
    return prefix + ".fam";
  }

  public String prefix() {
    return prefix;
  }

  @Override
  public long position(int v) {
    return byteOffset(v);
  }

  @Override
  public GenotypeReader reader() {
    return new BedGenotypeReader(prefix, samples.size());
  }

  @Override
  public String variantsPath() {
    return bimPath(prefix);
  }

  @Override
  public String samplesPath() {
    return famPath(prefix);
  }

  @Override
  public String famPath() {
    return famPath(prefix);
  }

  @Override
  public List<String> files() {
    return List.of(bedPath(prefix), bimPath(prefix), famPath(prefix));
  }

  @Override
  public String describe() {
    return "PLINK 1 binary " + bedPath(prefix) + " (hard calls; counted allele: .bim column 5, A1)";
  }

  @Override
  public List<SampleId> samples() {
    return samples;
  }

  @Override
  public List<Variant> variants() {
    return variants;
  }

  @Override
  public int sampleCount() {
    return samples.size();
  }

  @Override
  public int variantCount() {
    return variants.size();
  }

  /** Bytes per variant in the {@code .bed}: {@code ceil(N/4)}. */
  public int bytesPerVariant() {
    return bytesPerVariant(samples.size());
  }

  public static int bytesPerVariant(int samples) {
    return (samples + 3) / 4;
  }

  /** Byte offset of variant {@code v} in the {@code .bed}: {@code 3 + v·ceil(N/4)}. */
  public long byteOffset(int v) {
    return BED_MAGIC.length + (long) v * bytesPerVariant();
  }

  /** Problems that are reported but do not stop the run (e.g. duplicate variant IDs). */
  @Override
  public List<String> warnings() {
    return warnings;
  }

  static List<SampleId> readFam(String path, Configuration conf) {
    UniqueSamples samples = new UniqueSamples(path);
    int[] width = {0};
    WhitespaceLines.read(path, conf, (lineNo, f) -> {
      if (f.length < 6) {
        throw BadInputException.atLine(path, lineNo,
            "expected at least 6 fields (FID IID father mother sex phenotype), found " + f.length);
      }
      if (width[0] != 0 && f.length != width[0]) {
        throw BadInputException.atLine(path, lineNo, "expected " + width[0] + " fields like the first line, found "
            + f.length);
      }
      width[0] = f.length;
      samples.add(new SampleId(f[0], f[1]), lineNo);
    });
    return samples.list();
  }

  static List<Variant> readBim(String path, Configuration conf, List<String> warnings, boolean allowExtraChr) {
    List<Variant> variants = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    List<String> duplicates = new ArrayList<>();
    WhitespaceLines.read(path, conf, (lineNo, f) -> {
      if (f.length != 6) {
        throw BadInputException.atLine(path, lineNo, "expected 6 fields (chromosome id cM bp A1 A2), found " + f.length);
      }
      if (!allowExtraChr && !isPlinkChromosome(f[0])) {
        throw BadInputException.atLine(path, lineNo, "unknown chromosome code '" + BadInputException.excerpt(f[0])
            + "' (PLINK's are 1-26, X, Y, XY, MT, 0); --allow-extra-chr accepts others");
      }
      double cm;
      long bp;
      try {
        cm = Double.parseDouble(f[2]);
      } catch (NumberFormatException e) {
        throw BadInputException.atLine(path, lineNo, "genetic position (column 3) is not a number: '" + BadInputException.excerpt(f[2]) + "'");
      }
      try {
        bp = Long.parseLong(f[3]);
      } catch (NumberFormatException e) {
        throw BadInputException.atLine(path, lineNo, "base-pair position (column 4) is not an integer: '" + BadInputException.excerpt(f[3]) + "'");
      }
      if (!ids.add(f[1]) && !".".equals(f[1])) {
        duplicates.add("'" + f[1] + "' at line " + lineNo);
      }
      variants.add(new Variant(f[0], f[1], cm, bp, f[4], f[5]));
    });
    if (variants.isEmpty()) {
      throw BadInputException.inFile(path, "no variants");
    }
    if (!duplicates.isEmpty()) {
      warnings.add(path + ": " + duplicates.size() + " duplicate variant ID(s), first " + duplicates.get(0)
          + "; they are kept and told apart by position in the file");
    }
    return variants;
  }

  static void checkBed(String path, int samples, int variants, Configuration conf) {
    long expected = BED_MAGIC.length + (long) variants * bytesPerVariant(samples);
    long actual = FileSystems.length(path, conf);
    byte[] head = new byte[3];
    try (InputStream in = FileSystems.open(path, conf)) {
      int got = in.readNBytes(head, 0, 3);
      if (got < 3 || head[0] != BED_MAGIC[0] || head[1] != BED_MAGIC[1]) {
        throw BadInputException.inFile(path, "not a PLINK 1 .bed file (wrong magic bytes; expected 6c 1b)");
      }
      if (head[2] != BED_MAGIC[2]) {
        throw BadInputException.inFile(path,
            "sample-major .bed files (mode byte " + head[2] + ") are not supported; convert with plink --make-bed");
      }
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
    if (actual != expected) {
      throw BadInputException.inFile(path, "size " + actual + " bytes, expected " + expected + " = 3 + M·ceil(N/4) with M="
          + variants + " (.bim lines) and N=" + samples + " (.fam lines)");
    }
    checkPadding(path, samples, variants, conf);
  }

  /** Variants whose padding bits {@link #checkPadding} reads: evenly spaced, the first and last included. */
  static final int PADDING_SAMPLE = 1024;

  /**
   * When N is not a multiple of 4 the last byte of each variant has {@code 2·(4 − N mod 4)} unused
   * high bits, which PLINK writes as 0. A {@code .fam} one line short (or long) within the same byte
   * count leaves the {@code .bed} size right but shifts every sample after the gap; the lost sample's
   * calls then sit in those bits (non-zero unless it is homozygous for A1). Reading the last byte of
   * up to {@value #PADDING_SAMPLE} variants costs as many small reads and finds such a shift with
   * near certainty.
   */
  static void checkPadding(String path, int samples, int variants, Configuration conf) {
    int used = samples % 4;
    if (used == 0 || variants == 0) {
      return;
    }
    int mask = 0xff & ~((1 << (2 * used)) - 1);
    int bytes = bytesPerVariant(samples);
    int checks = Math.min(variants, PADDING_SAMPLE);
    byte[] one = new byte[1];
    try (org.apache.hadoop.fs.FSDataInputStream in = FileSystems.of(path, conf).open(new org.apache.hadoop.fs.Path(path))) {
      for (int c = 0; c < checks; c++) {
        int v = checks == 1 ? 0 : (int) ((long) c * (variants - 1) / (checks - 1));
        in.readFully(BED_MAGIC.length + (long) v * bytes + bytes - 1, one, 0, 1);
        if ((one[0] & mask) != 0) {
          throw BadInputException.inFile(path, String.format("variant %d (.bim line %d): the unused bits after sample %d "
              + "of its last byte are not zero (byte 0x%02x): the .bed holds more samples than the %d lines of the "
              + ".fam (a line missing?)", v + 1, v + 1, samples, one[0] & 0xff, samples));
        }
      }
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
  }
}
