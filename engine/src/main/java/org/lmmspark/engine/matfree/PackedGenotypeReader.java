package org.lmmspark.engine.matfree;

import java.util.Arrays;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.genotype.BedDecoder;
import org.lmmspark.engine.genotype.GenotypeBlock;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeVisitor;
import org.lmmspark.engine.genotype.SampleSubset;
import org.lmmspark.engine.genotype.GenotypeScaling;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.genotype.VariantFilterCounts;

/**
 * Reads a contiguous variant range of a genotype source once and keeps it as {@link PackedGenotypeBlock}s:
 * the variants {@link BedDecoder} keeps (polymorphic, MAF at least {@code minMaf}, some calls) with
 * their raw 2-bit bytes (a {@code .bed}) or 8-bit dosages (BGEN, VCF) and their standardization.
 * Filtering and allele frequencies are exactly the decoder's (from the exact dosages, before
 * quantization), so the kept variants are those the GRM job uses. A block never spans two chromosomes.
 */
public final class PackedGenotypeReader {
  private final GenotypeReader reader;
  private final SampleSubset samples;
  private final double minMaf;
  private final int blockVariants;
  private final GenotypeScaling scaling;

  /**
   * @param blockVariants most variants per packed block (the unit of a Spark record and of caching)
   */
  public PackedGenotypeReader(GenotypeReader reader, double minMaf, int blockVariants) {
    this(reader, SampleSubset.all(reader.sampleCount()), minMaf, blockVariants, GenotypeScaling.GCTA);
  }

  /** As above, each variant's code values by {@code scaling} (the {@code --kernel} definition). */
  public PackedGenotypeReader(GenotypeReader reader, double minMaf, int blockVariants, GenotypeScaling scaling) {
    this(reader, SampleSubset.all(reader.sampleCount()), minMaf, blockVariants, scaling);
  }

  /**
   * Packs the kept samples of {@code samples} only ({@link SampleSubset#restrict}): blocks have
   * {@code samples.size()} rows and allele frequencies are over the kept samples.
   */
  public PackedGenotypeReader(GenotypeReader reader, SampleSubset samples, double minMaf, int blockVariants) {
    this(reader, samples, minMaf, blockVariants, GenotypeScaling.GCTA);
  }

  /** As above, each variant's code values by {@code scaling} over the kept samples. */
  public PackedGenotypeReader(GenotypeReader reader, SampleSubset samples, double minMaf, int blockVariants,
      GenotypeScaling scaling) {
    if (blockVariants < 1) {
      throw new IllegalArgumentException("blockVariants must be positive");
    }
    this.reader = reader;
    this.samples = samples;
    this.minMaf = minMaf;
    this.blockVariants = blockVariants;
    this.scaling = scaling;
  }

  /**
   * Packs variants {@code [first, end)} (the first at seek position {@code position}) selected by
   * {@code include} (null: all); {@code chromosomeOf[v]} is the chromosome index of source variant
   * {@code v} (null: all 0). Kept and dropped variants are recorded in {@code counts} (not the
   * per-sample missing counts).
   */
  public void read(int first, int end, long position, boolean[] include, int[] chromosomeOf, Configuration conf,
      VariantFilterCounts counts, Consumer<PackedGenotypeBlock> sink) {
    int n = samples.size();
    BedDecoder decoder = new BedDecoder(n, minMaf, scaling);
    GenotypeBlock probe = new GenotypeBlock(n, 1);
    boolean dosages = reader.dosages();
    Builder b = new Builder(PackedGenotypeBlock.bytesPerVariant(n, dosages), dosages);
    reader.scan(first, end, position, include, conf, samples.restrict(new GenotypeVisitor() {
      @Override
      public void hardCalls(byte[] raw, int offset, int v) {
        probe.clear();
        int result = decoder.decodeInto(raw, offset, v, probe);
        counts.record(result);
        if (result == BedDecoder.KEPT) {
          b.next(v, chromosomeOf, sink);
          System.arraycopy(raw, offset, b.packed, b.m * b.bpv, b.bpv);
          System.arraycopy(decoder.lastCodeValues(), 0, b.codes, 4 * b.m, 4);
          b.m++;
        }
      }

      @Override
      public void dosages(VariantDosages d, int v) {
        probe.clear();
        int result = decoder.decodeDosages(d, v, probe);
        counts.record(result);
        if (result == BedDecoder.KEPT) {
          b.next(v, chromosomeOf, sink);
          int o = b.m * b.bpv;
          double sum = 0;
          double varSum = 0;
          int called = 0;
          for (int i = 0; i < n; i++) {
            double x = d.dosage[i];
            if (x == x) {
              b.packed[o + i] = (byte) Math.max(0, Math.min(254, Math.round(x * PackedGenotypeBlock.DOSAGE_STEPS)));
              sum += x;
              varSum += d.variance[i];
              called++;
            } else {
              b.packed[o + i] = (byte) PackedGenotypeBlock.MISSING_DOSAGE;
            }
          }
          // z = (x − mean)·scale: slope and intercept from the decoder's values at dosages 1 and 0.
          double[] line = decoder.lastCodeValues();
          b.codes[4 * b.m] = (line[2] - line[3]) / PackedGenotypeBlock.DOSAGE_STEPS;
          b.codes[4 * b.m + 1] = line[3];
          b.info[b.m] = VariantDosages.info(d.probabilitiesKnown, sum, varSum, called);
          b.m++;
        }
      }
    }));
    if (b.m > 0) {
      sink.accept(b.build(n));
    }
  }

  private final class Builder {
    final int bpv;
    final boolean dosages;
    int m;
    int chromosome;
    byte[] packed;
    double[] codes;
    int[] index;
    double[] info;

    Builder(int bpv, boolean dosages) {
      this.bpv = bpv;
      this.dosages = dosages;
      reset();
    }

    void reset() {
      int cap = Math.min(blockVariants, 256);
      m = 0;
      packed = new byte[cap * bpv];
      codes = new double[4 * cap];
      index = new int[cap];
      info = new double[cap];
    }

    /** Makes room for kept variant {@code v}: emits the block first if full or on another chromosome. */
    void next(int v, int[] chromosomeOf, Consumer<PackedGenotypeBlock> sink) {
      int chr = chromosomeOf == null ? 0 : chromosomeOf[v];
      if (m > 0 && (m == blockVariants || chr != chromosome)) {
        sink.accept(build(samples.size()));
      }
      if (m == index.length) {
        int cap = Math.min(blockVariants, 2 * m);
        packed = Arrays.copyOf(packed, cap * bpv);
        codes = Arrays.copyOf(codes, 4 * cap);
        index = Arrays.copyOf(index, cap);
        info = Arrays.copyOf(info, cap);
      }
      chromosome = chr;
      index[m] = v;
    }

    PackedGenotypeBlock build(int n) {
      PackedGenotypeBlock out = new PackedGenotypeBlock(n, m, chromosome, dosages, Arrays.copyOf(packed, m * bpv),
          Arrays.copyOf(codes, 4 * m), Arrays.copyOf(index, m), dosages ? Arrays.copyOf(info, m) : null);
      reset();
      return out;
    }
  }
}
