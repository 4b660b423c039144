package org.lmmspark.engine.io.vcf;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.io.Variant;

/**
 * A bgzipped VCF ({@code .vcf.gz}, BGZF as written by {@code bgzip}/{@code bcftools}) or a BCF
 * ({@code .bcf}, {@link BcfRecords}; told apart by their first bytes, {@link VariantRecords#open}) as a
 * genotype source: samples from the header (each name used as FID and IID, PLINK's {@code --double-id}), and for
 * every record its site (chromosome, position, ID, REF, ALT) and BGZF virtual offset, the seek position
 * of a variant range. Records must be biallelic; the counted allele ({@link Variant#a1()}) is ALT,
 * {@link Variant#a2()} REF (PLINK's import; {@code DS} is the ALT dosage). A record without an ID is
 * named {@code chr:pos:REF:ALT}.
 *
 * <p>Opening is in two steps, so that the file is never read whole in one place. {@link #plan} reads
 * only the header and the tabix/CSI index ({@link VcfIndex}) and cuts the records into chunks of about
 * equal compressed size, each from one record-start virtual offset to the next; {@link #list} reads one
 * chunk's sites (a VCF's 8 site columns parsed by htsjdk, genotype columns left unparsed; a BCF's
 * shared part) and is what a
 * listing task runs; {@link #assemble} joins the chunks' lists, checking that each chunk stopped exactly
 * where the next began. A {@link SiteLister} runs the listing: one chunk after another here
 * ({@link #open(String, Configuration)}), or as Spark tasks (the jobs layer). The listing is done when
 * the variants are first asked for, so a run that needs only the samples never reads the records.
 * Without an index the whole file is one chunk (one pass, one task), as {@link Plan#describe} says.
 *
 * <p>Cost: listing decompresses the file and parses each record's site, O(file) in all, split over the
 * chunks; the driver holds the sites (O(M)), as for a {@code .bim}.
 */
public final class VcfFile implements GenotypeSource {
  /** A listing task's share of the file: the records whose virtual offsets are in {@code [start, end)}. */
  public record Chunk(int index, long start, long end) implements Serializable {}

  /**
   * What is known without reading records: the samples (header), the chunks (from {@code index}, the
   * {@code .tbi}/{@code .csi} used, or one chunk when null).
   */
  public record Plan(String path, String format, List<SampleId> samples, List<Chunk> chunks, String index,
      List<String> warnings) implements Serializable {
    /** How the sites are listed, for the run log. */
    public String describe() {
      return index == null ? "no .tbi/.csi index beside " + path + ": its sites are listed in one pass (one task); "
          + "index it (" + (format.startsWith("BCF") ? "bcftools index" : "tabix -p vcf, or bcftools index -t")
          + ") to list them in parallel"
          : "sites listed in " + chunks.size() + " task(s), from record starts of " + index;
    }
  }

  /**
   * The sites of one chunk in file order, with each record's virtual offset; {@code start} is where
   * reading began and {@code stop} the virtual offset after the last record read (both as htsjdk
   * reports them, a block end given as the next block's start).
   */
  public record Sites(int chunk, long start, long stop, List<Variant> variants, long[] offsets) implements Serializable {}

  /** How the chunks of a plan are listed: here one after the other ({@link #IN_TURN}), or as parallel tasks. */
  public interface SiteLister {
    List<Sites> list(Plan plan, Configuration conf);
  }

  /** Each chunk in turn, in this thread. */
  public static final SiteLister IN_TURN = (plan, conf) -> plan.chunks().stream()
      .map(c -> list(plan.path(), c, conf)).toList();

  private final Plan plan;
  private final Configuration conf;
  private final SiteLister lister;
  private List<Variant> variants;
  private long[] offsets;

  private VcfFile(Plan plan, Configuration conf, SiteLister lister) {
    this.plan = plan;
    this.conf = conf;
    this.lister = lister;
  }

  /** Opens {@code path}, listing its sites in one pass in this thread when they are first asked for. */
  public static VcfFile open(String path, Configuration conf) {
    return open(path, conf, 1, IN_TURN);
  }

  /**
   * Opens {@code path} (header and index now), its sites to be listed in about {@code tasks} chunks by
   * {@code lister} when first asked for.
   */
  public static VcfFile open(String path, Configuration conf, int tasks, SiteLister lister) {
    return new VcfFile(plan(path, conf, tasks), conf, lister);
  }

  /**
   * Reads the header and, when {@code tasks > 1}, the index, and cuts the records into at most
   * {@code tasks} chunks of about equal compressed size: every chunk starts at a record start the index
   * lists, the first at the first record, and the last runs to the end of the file.
   */
  public static Plan plan(String path, Configuration conf, int tasks) {
    List<SampleId> samples;
    long firstRecord;
    String format;
    try (VariantRecords records = VariantRecords.open(path, conf)) {
      samples = samples(path, records.sampleNames());
      firstRecord = records.firstRecord();
      format = records.format();
    }
    String index = VcfIndex.find(path, conf);
    List<Chunk> chunks = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    long from = firstRecord;
    if (index != null && tasks > 1) {
      String stale = VcfIndex.staleness(path, index, conf);
      if (stale != null) {
        warnings.add(stale);
      }
      long firstByte = firstRecord >>> 16;
      long step = Math.max(1, (FileSystems.length(path, conf) - firstByte) / tasks);
      long next = firstByte + step;
      for (long start : VcfIndex.recordStarts(index, conf)) {
        if (start > from && (start >>> 16) >= next) {
          chunks.add(new Chunk(chunks.size(), from, start));
          from = start;
          next = (start >>> 16) + step;
        }
      }
    }
    chunks.add(new Chunk(chunks.size(), from, Long.MAX_VALUE));
    return new Plan(path, format, samples, List.copyOf(chunks), index, List.copyOf(warnings));
  }

  private static List<SampleId> samples(String path, List<String> names) {
    if (names.isEmpty()) {
      throw BadInputException.inFile(path, "no samples in the header");
    }
    List<SampleId> samples = new ArrayList<>(names.size());
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < names.size(); i++) {
      if (seen.putIfAbsent(names.get(i), i) != null) {
        throw BadInputException.inFile(path, "duplicate sample '" + names.get(i) + "' in the header");
      }
      samples.add(new SampleId(names.get(i), names.get(i)));
    }
    return List.copyOf(samples);
  }

  /** The sites of one chunk (what a listing task runs): reads from its start to the first record at or past its end. */
  public static Sites list(String path, Chunk chunk, Configuration conf) {
    List<Variant> variants = new ArrayList<>();
    long[] offsets = new long[256];
    try (VariantRecords records = VariantRecords.open(path, conf)) {
      records.seek(chunk.start());
      long start = records.position();
      long at = start;
      while (at < chunk.end() && records.next()) {
        if (variants.size() == offsets.length) {
          offsets = Arrays.copyOf(offsets, 2 * offsets.length);
        }
        offsets[variants.size()] = at;
        variants.add(records.site(where(chunk, variants.size())));
        at = records.position();
      }
      return new Sites(chunk.index(), start, at, variants, Arrays.copyOf(offsets, variants.size()));
    } catch (BadInputException e) {
      // A chunk after the first starts where the index says a record starts.
      throw chunk.index() == 0 ? e : new BadInputException(e.getMessage() + " (reading from a record start given by "
          + "the index: if the file changed after it was indexed, re-index it: tabix -f -p vcf, or bcftools index -f)");
    }
  }

  /** A record by its number: in the file for the first chunk (which starts at the first record), else in its chunk. */
  private static String where(Chunk chunk, int inChunk) {
    return "record " + (inChunk + 1) + (chunk.index() == 0 ? "" : " after compressed byte " + (chunk.start() >>> 16));
  }

  /**
   * Joins the chunks' sites in file order. Each chunk must stop exactly where the next began: a chunk
   * start that is not a record start (an index made for another version of the file) would make them
   * differ, and is refused rather than a record read twice or lost.
   */
  public static VcfFile assemble(Plan plan, List<Sites> listed, Configuration conf) {
    VcfFile f = new VcfFile(plan, conf, null);
    f.join(listed);
    return f;
  }

  private void join(List<Sites> listed) {
    List<Sites> sorted = new ArrayList<>(listed);
    sorted.sort(Comparator.comparingInt(Sites::chunk));
    if (sorted.size() != plan.chunks().size()) {
      throw new IllegalStateException(sorted.size() + " chunk listings for " + plan.chunks().size() + " chunks");
    }
    int m = 0;
    for (int i = 0; i < sorted.size(); i++) {
      Sites s = sorted.get(i);
      if (i > 0 && s.start() != sorted.get(i - 1).stop()) {
        throw BadInputException.inFile(plan.index(), "does not match " + plan.path() + ": a chunk it lists starts "
            + "inside a record (compressed byte " + (plan.chunks().get(i).start() >>> 16) + "); re-index the file "
            + "(tabix -f -p vcf, or bcftools index -f)");
      }
      m += s.variants().size();
    }
    if (m == 0) {
      throw BadInputException.inFile(plan.path(), "no records");
    }
    List<Variant> all = new ArrayList<>(m);
    long[] at = new long[m];
    for (Sites s : sorted) {
      System.arraycopy(s.offsets(), 0, at, all.size(), s.offsets().length);
      all.addAll(s.variants());
    }
    this.variants = List.copyOf(all);
    this.offsets = at;
  }

  /** The {@code .tbi} or {@code .csi} index beside {@code vcf} (a VCF or BCF), null when there is none. */
  public static String indexPath(String vcf, Configuration conf) {
    return VcfIndex.find(vcf, conf);
  }

  /** The listing plan (samples, chunks, index). */
  public Plan plan() {
    return plan;
  }

  private synchronized void listed() {
    if (variants == null) {
      join(lister.list(plan, conf));
    }
  }

  @Override
  public List<SampleId> samples() {
    return plan.samples();
  }

  @Override
  public List<Variant> variants() {
    listed();
    return variants;
  }

  @Override
  public long position(int v) {
    listed();
    return offsets[v];
  }

  @Override
  public GenotypeReader reader() {
    return new VcfGenotypeReader(plan.path(), plan.samples().size());
  }

  @Override
  public String variantsPath() {
    return plan.path();
  }

  @Override
  public String samplesPath() {
    return plan.path();
  }

  @Override
  public List<String> files() {
    return plan.index() == null ? List.of(plan.path()) : List.of(plan.path(), plan.index());
  }

  @Override
  public String describe() {
    return plan.format() + " " + plan.path() + " (BGZF; dosages of the ALT allele from DS, else GP, else GT; " + plan.describe() + ")";
  }

  @Override
  public List<String> warnings() {
    List<String> out = new ArrayList<>(plan.warnings());
    if (plan.index() == null && lister != IN_TURN) {
      out.add(plan.describe()); // to be listed in parallel, but without an index: one task reads the whole file
    }
    return out;
  }
}
