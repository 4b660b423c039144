package org.lmmspark.engine.matfree;

import java.util.Arrays;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.genotype.BedDecoder;
import org.lmmspark.engine.genotype.GenotypeBlock;
import org.lmmspark.engine.genotype.SampleSubset;
import org.lmmspark.engine.genotype.GenotypeScaling;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.io.BedReader;
import org.lmmspark.engine.io.PlinkFileset;

/**
 * Reads a contiguous variant range of a {@code .bed} once and keeps it as {@link PackedGenotypeBlock}s:
 * the variants {@link BedDecoder} keeps (polymorphic, MAF at least {@code minMaf}, some calls) with
 * their raw 2-bit bytes and their per-code standardized values. Filtering is exactly the decoder's,
 * so the kept variants are those the GRM job uses. A block never spans two chromosomes.
 */
public final class PackedGenotypeReader {
  private final String prefix;
  private final SampleSubset samples;
  private final double minMaf;
  private final int blockVariants;
  private final GenotypeScaling scaling;

  /**
   * @param blockVariants most variants per packed block (the unit of a Spark record and of caching)
   */
  public PackedGenotypeReader(String prefix, int n, double minMaf, int blockVariants) {
    this(prefix, SampleSubset.all(n), minMaf, blockVariants, GenotypeScaling.GCTA);
  }

  /** As above, each variant's code values by {@code scaling} (the {@code --kernel} definition). */
  public PackedGenotypeReader(String prefix, int n, double minMaf, int blockVariants, GenotypeScaling scaling) {
    this(prefix, SampleSubset.all(n), minMaf, blockVariants, scaling);
  }

  /**
   * Packs the kept samples of {@code samples} only (their calls compacted, {@link SampleSubset}): blocks
   * have {@code samples.size()} rows and allele frequencies are over the kept samples.
   */
  public PackedGenotypeReader(String prefix, SampleSubset samples, double minMaf, int blockVariants) {
    this(prefix, samples, minMaf, blockVariants, GenotypeScaling.GCTA);
  }

  /** As above, each variant's code values by {@code scaling} over the kept samples. */
  public PackedGenotypeReader(String prefix, SampleSubset samples, double minMaf, int blockVariants,
      GenotypeScaling scaling) {
    if (blockVariants < 1) {
      throw new IllegalArgumentException("blockVariants must be positive");
    }
    this.prefix = prefix;
    this.samples = samples;
    this.minMaf = minMaf;
    this.blockVariants = blockVariants;
    this.scaling = scaling;
  }

  /**
   * Packs variants {@code [first, end)} selected by {@code include} (null: all); {@code chromosomeOf[v]}
   * is the chromosome index of fileset variant {@code v} (null: all 0). Kept and dropped variants are
   * recorded in {@code counts} (not the per-sample missing counts).
   */
  public void read(int first, int end, boolean[] include, int[] chromosomeOf, Configuration conf,
      VariantFilterCounts counts, Consumer<PackedGenotypeBlock> sink) {
    int n = samples.size();
    BedDecoder decoder = new BedDecoder(n, minMaf, scaling);
    GenotypeBlock probe = new GenotypeBlock(n, 1);
    Builder b = new Builder(PlinkFileset.bytesPerVariant(n));
    BedReader.scan(prefix, samples.fileSamples(), first, end, include, samples, conf, (raw, offset, v) -> {
      probe.clear();
      int result = decoder.decodeInto(raw, offset, v, probe);
      counts.record(result);
      if (result != BedDecoder.KEPT) {
        return;
      }
      int chr = chromosomeOf == null ? 0 : chromosomeOf[v];
      if (b.m > 0 && (b.m == blockVariants || chr != b.chromosome)) {
        sink.accept(b.build(n));
      }
      b.add(raw, offset, v, chr, decoder.lastCodeValues());
    });
    if (b.m > 0) {
      sink.accept(b.build(n));
    }
  }

  private final class Builder {
    final int bpv;
    int m;
    int chromosome;
    byte[] packed;
    double[] codes;
    int[] index;

    Builder(int bpv) {
      this.bpv = bpv;
      reset();
    }

    void reset() {
      int cap = Math.min(blockVariants, 256);
      m = 0;
      packed = new byte[cap * bpv];
      codes = new double[4 * cap];
      index = new int[cap];
    }

    void add(byte[] raw, int offset, int variant, int chr, double[] codeValues) {
      if (m == index.length) {
        int cap = Math.min(blockVariants, 2 * m);
        packed = Arrays.copyOf(packed, cap * bpv);
        codes = Arrays.copyOf(codes, 4 * cap);
        index = Arrays.copyOf(index, cap);
      }
      chromosome = chr;
      System.arraycopy(raw, offset, packed, m * bpv, bpv);
      System.arraycopy(codeValues, 0, codes, 4 * m, 4);
      index[m] = variant;
      m++;
    }

    PackedGenotypeBlock build(int n) {
      PackedGenotypeBlock out = new PackedGenotypeBlock(n, m, chromosome, Arrays.copyOf(packed, m * bpv),
          Arrays.copyOf(codes, 4 * m), Arrays.copyOf(index, m));
      reset();
      return out;
    }
  }
}
