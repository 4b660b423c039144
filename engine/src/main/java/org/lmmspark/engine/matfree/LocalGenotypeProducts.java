package org.lmmspark.engine.matfree;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.genotype.VariantFilterCounts;

/**
 * {@link GenotypeProducts} over packed blocks held in this JVM: the single-machine form of the
 * distributed operator (tests, small data). Memory: {@code ceil(N/4)} bytes per kept variant plus the
 * kernel's workspace (≈ 1 MB) and {@code C·N} doubles of diagonal sums.
 */
public final class LocalGenotypeProducts implements GenotypeProducts {
  private final int n;
  private final int chromosomes;
  private final List<PackedGenotypeBlock> blocks;
  private final long[] perChromosome;
  private final double[][] squares;
  private final int maxBlock;
  private final VariantFilterCounts counts;
  private long passes;

  public LocalGenotypeProducts(int n, int chromosomes, List<PackedGenotypeBlock> blocks, VariantFilterCounts counts) {
    this.n = n;
    this.chromosomes = chromosomes;
    this.blocks = List.copyOf(blocks);
    this.counts = counts;
    this.perChromosome = new long[chromosomes];
    this.squares = new double[chromosomes][n];
    int max = 0;
    for (PackedGenotypeBlock b : blocks) {
      if (b.n != n) {
        throw new IllegalArgumentException("block of " + b.n + " samples among blocks of " + n);
      }
      perChromosome[b.chromosome] += b.m;
      b.addSquares(squares[b.chromosome]);
      max = Math.max(max, b.m);
    }
    this.maxBlock = max;
  }

  /** Reads and packs the variants selected by {@code include} (null: all) of a genotype source. */
  public static LocalGenotypeProducts read(GenotypeSource source, boolean[] include, int[] chromosomeOf,
      int chromosomes, double minMaf, int blockVariants, Configuration conf) {
    return read(source, include, chromosomeOf, chromosomes, minMaf, blockVariants,
        org.lmmspark.engine.genotype.GenotypeScaling.GCTA, conf);
  }

  /** As above, each variant scaled by the {@code --kernel} definition {@code scaling}. */
  public static LocalGenotypeProducts read(GenotypeSource source, boolean[] include, int[] chromosomeOf,
      int chromosomes, double minMaf, int blockVariants, org.lmmspark.engine.genotype.GenotypeScaling scaling,
      Configuration conf) {
    List<PackedGenotypeBlock> blocks = new ArrayList<>();
    int n = source.sampleCount();
    VariantFilterCounts counts = new VariantFilterCounts(n);
    new PackedGenotypeReader(source.reader(), minMaf, blockVariants, scaling).read(0, source.variantCount(),
        source.position(0), include, chromosomeOf, conf, counts, blocks::add);
    return new LocalGenotypeProducts(n, chromosomes, blocks, counts);
  }

  /**
   * Variants per packed block of the caches: four of {@link GenotypeProductKernel}'s chunks, so its tiles
   * keep their shape whatever N (the kernel's workspace does not grow with the block); {@code N/4} bytes
   * per variant packed, 51 MB per block at N = 100,000.
   */
  public static final int BLOCK_VARIANTS = 4 * GenotypeProductKernel.VARIANT_CHUNK;

  /** The packed blocks, in fileset order (for passes other than products: loadings, projections). */
  public List<PackedGenotypeBlock> blocks() {
    return blocks;
  }

  public VariantFilterCounts counts() {
    return counts;
  }

  @Override
  public int samples() {
    return n;
  }

  @Override
  public int chromosomeCount() {
    return chromosomes;
  }

  @Override
  public long[] variantsPerChromosome() {
    return perChromosome.clone();
  }

  @Override
  public double[][] squareSumsPerChromosome() {
    return squares;
  }

  @Override
  public void multiply(double[] v, int k, double[] weights, boolean[] split, double[] out) {
    int[] offsets = GenotypeProducts.outputOffsets(k, split, chromosomes);
    if (v.length < (long) n * k || out.length < (long) n * offsets[k] || weights.length < chromosomes * k) {
      throw new IllegalArgumentException("multiply: V must hold N×k = " + n + "×" + k + " values, out N×"
          + offsets[k] + ", the weights C×k = " + chromosomes + "×" + k);
    }
    passes++;
    Arrays.fill(out, 0, n * offsets[k], 0.0);
    GenotypeProductKernel.Workspace ws = new GenotypeProductKernel.Workspace();
    float[] vf = GenotypeProductKernel.toFloat(v, n * k);
    double[] w = new double[k];
    int[] target = new int[k];
    for (PackedGenotypeBlock b : blocks) {
      for (int j = 0; j < k; j++) {
        w[j] = weights[b.chromosome + chromosomes * j];
        target[j] = offsets[j] + (split != null && split[j] ? b.chromosome : 0);
      }
      GenotypeProductKernel.multiplyAdd(b, vf, k, w, target, out, ws);
    }
  }

  @Override
  public long passes() {
    return passes;
  }
}
