package org.lmmspark.jobs.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.matfree.GenotypeProductKernel;
import org.lmmspark.engine.matfree.PackedGenotypeBlock;
import org.lmmspark.engine.matfree.PackedGenotypeReader;

/**
 * Where one thread's genotype pass spends its time: the matrix-free pass kernel
 * ({@link GenotypeProductKernel#multiplyAdd}, what every Spark task of a matrix-free REML or LOCO solve
 * runs per cached block) over real packed blocks, timed by parts: decoding 2-bit codes into centred counts
 * (8-bit ones into standardized floats), the SGEMM {@code T = Z_bᵀV} (row chunks), the SGEMM {@code Z_b T}, and
 * the float-into-double accumulations. A pass over {@code M} variants with {@code k} columns does {@code 4·N·M·k} flops in
 * the two SGEMMs, so the pass rate against the SGEMM rate at the same shapes says what decoding and
 * accumulating cost.
 *
 * <p>One thread, one BLAS thread ({@code OPENBLAS_NUM_THREADS=1}, as Spark tasks run): the per-core
 * rate. The first pass is a warm-up (JIT, page faults on the workspace); of the later passes the one with
 * the least CPU time is kept, its wall time beside it: on a shared machine the CPU seconds are what the
 * thread needed, the wall time adds what other processes took (the CPU split is the same up to noise).
 */
public final class PassProfile {
  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

  private PassProfile() {}

  /** The split of one pass (seconds), its flops and CPU seconds. */
  public record Pass(double seconds, double cpuSeconds, double decode, double transposeGemm, double productGemm,
      double accumulate, double flops) {
    double other() {
      return seconds - decode - transposeGemm - productGemm - accumulate;
    }

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%.3f s wall (%.3f s CPU), %.1f GFLOP/s over the pass (%.1f per CPU-s):"
          + " decode %.3f s (%.0f%%), SGEMM Z'V %.3f s (%.0f%%, %.1f GFLOP/s), SGEMM Z T %.3f s (%.0f%%, %.1f GFLOP/s),"
          + " accumulate in double %.3f s (%.0f%%), other %.3f s",
          seconds, cpuSeconds, flops / seconds / 1e9, flops / cpuSeconds / 1e9,
          decode, 100 * decode / seconds, transposeGemm, 100 * transposeGemm / seconds, flops / 2 / transposeGemm / 1e9,
          productGemm, 100 * productGemm / seconds, flops / 2 / productGemm / 1e9, accumulate, 100 * accumulate / seconds,
          other());
    }
  }

  /**
   * Reads the first {@code maxVariants} variants of {@code source} (all samples) into packed blocks of
   * {@code blockVariants}, as the Spark cache does.
   */
  public static List<PackedGenotypeBlock> pack(GenotypeSource source, int maxVariants, int blockVariants,
      Configuration conf) {
    List<PackedGenotypeBlock> blocks = new ArrayList<>();
    int end = Math.min(maxVariants, source.variantCount());
    new PackedGenotypeReader(source.reader().qualified(conf), 0, blockVariants).read(0, end, source.position(0), null,
        null, conf, new VariantFilterCounts(0), blocks::add);
    return blocks;
  }

  /** Times {@code passes} passes (after one warm-up) of {@code k} seeded Gaussian columns; returns the best. */
  public static Pass measure(List<PackedGenotypeBlock> blocks, int k, int passes) {
    int n = blocks.get(0).n;
    Random rng = new Random(17);
    double[] v = new double[n * k];
    for (int i = 0; i < v.length; i++) {
      v[i] = rng.nextGaussian();
    }
    float[] vf = GenotypeProductKernel.toFloat(v, v.length);
    double[] weights = new double[k];
    java.util.Arrays.fill(weights, 1.0);
    double[] out = new double[n * k];
    Pass best = null;
    for (int p = 0; p <= passes; p++) {
      GenotypeProductKernel.Workspace ws = new GenotypeProductKernel.Workspace();
      java.util.Arrays.fill(out, 0);
      long cpu0 = CPU.getCurrentThreadCpuTime();
      long t0 = System.nanoTime();
      for (PackedGenotypeBlock b : blocks) {
        GenotypeProductKernel.multiplyAdd(b, vf, k, weights, out, ws);
      }
      Pass pass = new Pass((System.nanoTime() - t0) / 1e9, (CPU.getCurrentThreadCpuTime() - cpu0) / 1e9,
          ws.decodeNanos / 1e9, ws.transposeGemmNanos / 1e9, ws.productGemmNanos / 1e9, ws.accumulateNanos / 1e9,
          ws.flops);
      if (p > 0 && (best == null || pass.cpuSeconds() < best.cpuSeconds())) {
        best = pass;
      }
    }
    return best;
  }

  /**
   * Decoding alone, best of {@code passes}: wall and CPU seconds per decode of every value, in the
   * kernel's tiles ({@link GenotypeProductKernel#ROW_CHUNK} samples × a chunk of at most
   * {@link GenotypeProductKernel#VARIANT_CHUNK} variants, one tile buffer), each the best over the passes: centred
   * counts for 2-bit blocks ({@link PackedGenotypeBlock#decodeRaw}), standardized values for 8-bit ones. The kernel
   * decodes every value twice per pass.
   */
  public static double[] decodeOnly(List<PackedGenotypeBlock> blocks, int passes) {
    GenotypeProductKernel.Workspace ws = new GenotypeProductKernel.Workspace();
    double best = Double.POSITIVE_INFINITY;
    double bestCpu = Double.POSITIVE_INFINITY;
    for (int p = 0; p <= passes; p++) {
      long cpu0 = CPU.getCurrentThreadCpuTime();
      long t0 = System.nanoTime();
      for (PackedGenotypeBlock b : blocks) {
        int step = GenotypeProductKernel.chunkVariants(b.m, GenotypeProductKernel.VARIANT_CHUNK);
        for (int from = 0; from < b.m; from += step) {
          GenotypeProductKernel.decodeTiles(b, from, Math.min(step, b.m - from), ws);
        }
      }
      if (p > 0) {
        best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        bestCpu = Math.min(bestCpu, (CPU.getCurrentThreadCpuTime() - cpu0) / 1e9);
      }
    }
    return new double[] {best, bestCpu};
  }
}
