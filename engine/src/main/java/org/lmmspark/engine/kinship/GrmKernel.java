package org.lmmspark.engine.kinship;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.genotype.GenotypeBlockReader;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.genotype.SampleSubset;
import org.lmmspark.engine.genotype.GenotypeScaling;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.io.SampleId;

/**
 * The genomic relationship matrix of GCTA ({@code --make-grm}, {@code --make-grm-alg 0}):
 * {@code A_jk = (1/M_jk) Σ_i z_ij z_ik} over variants {@code i}, with {@code z} the standardized
 * genotype of {@link org.lmmspark.engine.genotype.GenotypeBlock}, the diagonal by the same formula,
 * missing calls contributing nothing and {@code M_jk} the number of variants called in both samples
 * (Yang et al. 2011, AJHG 88:76); or another definition of {@link GenotypeScaling} (standardized by
 * the sample SD as FaST-LMM/GEMMA {@code -gk 2}, centered as GEMMA {@code -gk 1}), those dividing by
 * the number of variants M for every pair.
 *
 * <p>The work is {@code Σ_b Z_b Z_bᵀ} over variant blocks {@code b}: {@code N²M} flops (counting
 * 2 per multiply-add over the lower triangle), done as one SSYRK/SGEMM per block and tile. A unit
 * of work is a contiguous variant range and a group of tiles; it holds one decoded block
 * ({@code 4·N·blockVariants} bytes) and its tiles' accumulators (12 bytes per entry). Units are
 * independent and their results add, so the same kernel runs in one thread here or as Spark tasks
 * whose partial sums are reduced per tile.
 */
public final class GrmKernel {
  private GrmKernel() {}

  /** One unit of work's result: partial sums of some tiles, and variant counts if it kept them. */
  public record Partial(List<GrmTileSums> tiles, VariantFilterCounts counts, KernelTimes times) implements Serializable {}

  /**
   * Accumulates tiles {@code tiles} over variants {@code [first, end)} selected by {@code include} (the
   * first at seek position {@code position}), over the kept samples of {@code samples} only
   * ({@code tiling.n()} of them): their calls are restricted before decoding, so allele frequencies are
   * over them, as GCTA's {@code --keep}.
   *
   * @param countVariants whether this unit reports variant and missing counts (exactly one unit per
   *     variant range should, so that the counts add up once)
   */
  public static Partial accumulate(GenotypeReader reader, SampleSubset samples, GrmTiling tiling, int[] tiles,
      int first, int end, long position, boolean[] include, double minMaf, int blockVariants, boolean countVariants,
      Configuration conf) {
    return accumulate(reader, samples, tiling, tiles, first, end, position, include, minMaf, blockVariants,
        countVariants, GenotypeScaling.GCTA, conf);
  }

  /**
   * As above, each variant scaled by the {@code --kernel} definition {@code scaling} over the kept
   * samples (hard calls and dosages alike).
   */
  public static Partial accumulate(GenotypeReader reader, SampleSubset samples, GrmTiling tiling, int[] tiles,
      int first, int end, long position, boolean[] include, double minMaf, int blockVariants, boolean countVariants,
      GenotypeScaling scaling,
      Configuration conf) {
    if (samples.size() != tiling.n()) {
      throw new IllegalArgumentException("tiling of " + tiling.n() + " samples for " + samples.size() + " kept samples");
    }
    List<GrmTileSums> sums = new ArrayList<>(tiles.length);
    for (int t : tiles) {
      sums.add(new GrmTileSums(tiling, t));
    }
    VariantFilterCounts counts = new VariantFilterCounts(tiling.n());
    KernelTimes times = new KernelTimes();
    long start = System.nanoTime();
    long cpuStart = KernelTimes.threadCpuNanos();
    long[] inSink = {0};
    new GenotypeBlockReader(reader, samples, minMaf, blockVariants, scaling).read(first, end, position, include, conf,
        counts, block -> {
      long sinkStart = System.nanoTime();
      float[] indicator = null;
      for (GrmTileSums s : sums) {
        if (indicator == null && s.prefersDenseMissing(block)) {
          indicator = GrmTileSums.missingIndicator(block);
        }
        s.add(block, indicator, times);
      }
      inSink[0] += System.nanoTime() - sinkStart;
    });
    times.units = 1;
    times.unitNanos = System.nanoTime() - start;
    times.unitCpuNanos = KernelTimes.threadCpuNanos() - cpuStart;
    times.decodeNanos = times.unitNanos - inSink[0]; // reading and decoding: everything outside the products
    return new Partial(sums, countVariants ? counts : null, times);
  }

  /** The whole GRM in this thread (tests, small data): one unit with every tile. */
  public static Grm computeLocal(GenotypeSource source, boolean[] include, double minMaf, int tileSize,
      int blockVariants, Configuration conf) {
    return computeLocal(source, include, minMaf, tileSize, blockVariants, GenotypeScaling.GCTA, conf);
  }

  /** As above, with the GRM definition {@code scaling}. */
  public static Grm computeLocal(GenotypeSource source, boolean[] include, double minMaf, int tileSize,
      int blockVariants, GenotypeScaling scaling, Configuration conf) {
    List<SampleId> samples = source.samples();
    GrmTiling tiling = new GrmTiling(samples.size(), tileSize);
    int[] all = new int[tiling.tileCount()];
    for (int t = 0; t < all.length; t++) {
      all[t] = t;
    }
    Partial p = accumulate(source.reader(), SampleSubset.all(samples.size()), tiling, all, 0, source.variantCount(),
        source.position(0), include, minMaf, blockVariants, true, scaling, conf);
    return assemble(samples, tiling, p.counts(), p.tiles(), scaling);
  }

  /** Assembles tiles (in index order) into an in-memory {@link Grm}. */
  public static Grm assemble(List<SampleId> samples, GrmTiling tiling, VariantFilterCounts counts,
      Iterable<GrmTileSums> tilesInOrder, GenotypeScaling scaling) {
    long n = samples.size();
    float[] values = new float[Math.toIntExact(n * (n + 1) / 2)];
    float[] pairCounts = new float[values.length];
    int[] pos = {0};
    GrmAssembler assembler = new GrmAssembler(tiling, counts, scaling, (v, c, offset, length) -> {
      System.arraycopy(v, offset, values, pos[0], length);
      System.arraycopy(c, offset, pairCounts, pos[0], length);
      pos[0] += length;
    });
    for (GrmTileSums t : tilesInOrder) {
      assembler.accept(t);
    }
    assembler.finish();
    return new Grm(samples, values, pairCounts);
  }
}
