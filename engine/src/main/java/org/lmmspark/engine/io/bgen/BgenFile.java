package org.lmmspark.engine.io.bgen;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.io.Variant;

/**
 * A BGEN file opened on the driver: its header, its samples and, for every variant, its identifying
 * data and the byte offset where its block starts (the seek position of a variant range). The offsets
 * come from the bgenix index {@code FILE.bgi} when it is present (no pass over the BGEN), else from one
 * walk over the variant headers that steps over every genotype block by its stored length (reads the
 * headers, never the genotypes). Memory O(N + M).
 *
 * <p>Samples: from the {@code .sample} file when one is given ({@code FID = ID_1}, {@code IID = ID_2}),
 * else from the identifiers stored in the BGEN, each used as both FID and IID (PLINK's
 * {@code --double-id}). Variants must be biallelic; the counted allele ({@link Variant#a1()}) is the
 * first allele, the second is {@link Variant#a2()} (see {@link BgenDosages}).
 */
public final class BgenFile implements GenotypeSource {
  private final BgenHeader header;
  private final String samplePath;
  private final List<SampleId> samples;
  private final List<Variant> variants;
  private final long[] offsets;
  private final boolean indexed;

  private BgenFile(BgenHeader header, String samplePath, List<SampleId> samples, List<Variant> variants,
      long[] offsets, boolean indexed) {
    this.header = header;
    this.samplePath = samplePath;
    this.samples = samples;
    this.variants = variants;
    this.offsets = offsets;
    this.indexed = indexed;
  }

  /** The bgenix index of a BGEN file, {@code FILE.bgi}. */
  public static String indexPath(String path) {
    return path + ".bgi";
  }

  /**
   * Opens {@code path} with samples from {@code samplePath} (null: the identifiers stored in the file);
   * uses {@code path.bgi} when it exists.
   */
  public static BgenFile open(String path, String samplePath, Configuration conf) {
    BgenHeader header = BgenHeader.read(path, conf);
    List<SampleId> samples = samples(header, samplePath, conf);
    List<Variant> variants = new ArrayList<>();
    long[] offsets;
    boolean indexed = org.lmmspark.engine.io.FileSystems.exists(indexPath(path), conf);
    if (indexed) {
      offsets = BgenIndex.read(indexPath(path), header, conf, variants);
    } else {
      offsets = walk(header, conf, variants);
    }
    if (variants.isEmpty()) {
      throw BadInputException.inFile(path, "no variants");
    }
    return new BgenFile(header, samplePath, List.copyOf(samples), List.copyOf(variants), offsets, indexed);
  }

  static List<SampleId> samples(BgenHeader header, String samplePath, Configuration conf) {
    List<String> stored = header.readSampleIds(conf);
    if (samplePath != null) {
      List<SampleId> fromFile = OxfordSampleFile.read(samplePath, conf);
      if (fromFile.size() != header.sampleCount()) {
        throw BadInputException.inFile(samplePath, fromFile.size() + " samples, but " + header.path() + " has "
            + header.sampleCount());
      }
      return fromFile;
    }
    if (stored == null) {
      throw BadInputException.inFile(header.path(), "the file stores no sample identifiers: give its .sample file "
          + "with --sample FILE");
    }
    List<SampleId> out = new ArrayList<>(stored.size());
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < stored.size(); i++) {
      Integer first = seen.putIfAbsent(stored.get(i), i);
      if (first != null) {
        throw BadInputException.inFile(header.path(), "duplicate sample identifier '" + stored.get(i) + "' (samples "
            + (first + 1) + " and " + (i + 1) + ")");
      }
      out.add(new SampleId(stored.get(i), stored.get(i)));
    }
    return out;
  }

  /** Reads every variant header, stepping over genotype blocks: the offsets without an index. */
  static long[] walk(BgenHeader header, Configuration conf, List<Variant> out) {
    long m = header.variantCount();
    if (m > Integer.MAX_VALUE - 8) {
      throw BadInputException.inFile(header.path(), m + " variants: more than one file can hold here; split by chromosome");
    }
    long[] offsets = new long[(int) m];
    try (BgenReader reader = new BgenReader(header, header.firstVariant(), conf)) {
      for (int v = 0; v < m; v++) {
        BgenReader.VariantHeader h = reader.next();
        offsets[v] = h.start();
        out.add(variant(header.path(), h.start(), h.chromosome(), h.id(), h.position(), h.alleles()));
        reader.skipGenotypes();
      }
    }
    return offsets;
  }

  static Variant variant(String path, long start, String chromosome, String id, long position, List<String> alleles) {
    if (alleles.size() != 2) {
      throw BadInputException.inFile(path, "variant '" + id + "' at byte " + start + " has " + alleles.size()
          + " alleles; only biallelic variants can be used (split multi-allelic variants first)");
    }
    return new Variant(chromosome, id, 0, position, alleles.get(0), alleles.get(1));
  }

  public BgenHeader header() {
    return header;
  }

  public String path() {
    return header.path();
  }

  /** The {@code .sample} file the samples came from, or null when they are stored in the BGEN. */
  public String samplePath() {
    return samplePath;
  }

  @Override
  public long position(int v) {
    return offsets[v];
  }

  @Override
  public GenotypeReader reader() {
    return new BgenGenotypeReader(header);
  }

  @Override
  public String variantsPath() {
    return header.path();
  }

  @Override
  public String samplesPath() {
    return samplePath != null ? samplePath : header.path();
  }

  @Override
  public List<String> files() {
    List<String> out = new ArrayList<>(List.of(header.path()));
    if (samplePath != null) {
      out.add(samplePath);
    }
    if (indexed) {
      out.add(indexPath(header.path()));
    }
    return out;
  }

  @Override
  public String describe() {
    return "BGEN " + header.path() + " (layout " + header.layout() + ", " + header.compressionName()
        + (indexed ? ", indexed by .bgi" : "") + "; dosages of the first allele)";
  }

  @Override
  public List<String> warnings() {
    return List.of();
  }

  @Override
  public List<SampleId> samples() {
    return samples;
  }

  @Override
  public List<Variant> variants() {
    return variants;
  }

  /** Byte offset of variant {@code v}'s block. */
  public long offset(int v) {
    return offsets[v];
  }

  /** Whether the offsets came from the {@code .bgi} index. */
  public boolean indexed() {
    return indexed;
  }
}
