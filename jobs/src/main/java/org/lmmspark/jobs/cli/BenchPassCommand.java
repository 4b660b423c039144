package org.lmmspark.jobs.cli;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.NumericRange;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.matfree.GenotypeProductKernel;
import org.lmmspark.engine.matfree.LocalGenotypeProducts;
import org.lmmspark.engine.matfree.PackedGenotypeBlock;
import org.lmmspark.jobs.bench.BlasPeak;
import org.lmmspark.jobs.bench.PassProfile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lmmspark bench-pass}: where the matrix-free genotype pass spends its time on one core
 * ({@link PassProfile}), against SGEMM at the pass's own shapes. Hidden: a tool for benchmarks.
 */
@Command(name = "bench-pass", hidden = true, mixinStandardHelpOptions = true,
    description = {
      "Times the matrix-free pass kernel (what each Spark task of matrix-free REML runs per cached block) on one"
          + " thread over the first --variants variants of a .bed: decode of 2-bit codes, the SGEMMs Z'V and Z T, and"
          + " the float-into-double sums; prints the split, the pass's GFLOP/s (4*N*M*k flops) and SGEMM's rate at"
          + " the same shapes. Run with OPENBLAS_NUM_THREADS=1 (scripts/lmmspark does)."})
public final class BenchPassCommand implements Callable<Integer> {
  @Option(names = "--bfile", required = true, paramLabel = "PREFIX", description = "PLINK 1 binary fileset (e.g. from lmmspark simulate).")
  String bfile;

  @Option(names = "--variants", defaultValue = "4096", paramLabel = "M", description = "Variants to pass over (default: ${DEFAULT-VALUE}).")
  int variants;

  @Option(names = "--columns", defaultValue = "41", paramLabel = "K",
      description = "Columns of V per pass (default: ${DEFAULT-VALUE}: 40 probes and y, matrix-free REML's default).")
  int columns;

  @Option(names = "--block-variants", defaultValue = "0", paramLabel = "B",
      description = "Variants per cached block (default 0: the Spark cache's own, 2048).")
  int blockVariants;

  @Option(names = "--passes", defaultValue = "3", paramLabel = "R", description = "Timed passes after a warm-up (default: ${DEFAULT-VALUE}).")
  int passes;

  @Option(names = "--project", defaultValue = "100000,50000,2", split = ",", paramLabel = "N,M,C",
      description = "Projects the pass time at N samples x M variants on C cores from the measured rate (default:"
          + " ${DEFAULT-VALUE}, the end-to-end benchmark of docs/scaling.md).")
  long[] project;

  @Override
  public Integer call() {
    if (project.length != 3) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
          "--project takes N,M,C (three numbers)");
    }
    NumericRange.atLeast("--project", project[0], 1);
    NumericRange.atLeast("--project", project[1], 1);
    NumericRange.atLeast("--project", project[2], 1);
    long projectSamples = project[0];
    long projectVariants = project[1];
    long projectCores = project[2];
    NumericRange.atLeast("--variants", variants, 1);
    NumericRange.atLeast("--columns", columns, 1);
    NumericRange.atLeast("--block-variants", blockVariants, 0);
    NumericRange.atLeast("--passes", passes, 1);
    Configuration conf = new Configuration();
    GenotypeSource source = GenotypeInput.bfile(bfile).open(conf);
    int n = source.samples().size();
    int b = blockVariants > 0 ? blockVariants : LocalGenotypeProducts.BLOCK_VARIANTS;
    List<PackedGenotypeBlock> blocks = PassProfile.pack(source, variants, b, conf);
    long m = blocks.stream().mapToLong(x -> x.m).sum();
    System.out.println("bench-pass: " + Blas.describe());
    System.out.printf(Locale.ROOT, "bench-pass: N = %d, M = %d in %d block(s) of up to %d variants, k = %d columns;"
        + " best of %d passes after a warm-up, one thread%n", n, m, blocks.size(), b, columns, passes);
    PassProfile.Pass pass = PassProfile.measure(blocks, columns, passes);
    System.out.println("bench-pass: pass " + pass);
    double[] decode = PassProfile.decodeOnly(blocks, passes);
    boolean wide = columns >= GenotypeProductKernel.WIDE_COLUMNS;
    System.out.printf(Locale.ROOT, "bench-pass: decode alone %.3f s wall (%.3f s CPU): %.2f Gvalues/s per CPU-s"
        + " (%.0f MB/s of packed codes); the pass decodes every value %s%n", decode[0], decode[1],
        n * (double) m / decode[1] / 1e9, m * ((n + 3) / 4) / decode[1] / 1e6,
        wide ? "once (wide form)" : "twice (tiles)");
    // SGEMM at the kernel's shapes, with fresh Gaussian matrices (no decode): the rate the pass could reach.
    // Tiles: both operands small and in cache; wide form: the decoded chunk spans all N samples.
    int chunk = GenotypeProductKernel.chunkVariants(b, GenotypeProductKernel.chunkLimit(n, columns));
    int rows = Math.min(n, wide ? GenotypeProductKernel.WIDE_ROW_CHUNK : GenotypeProductKernel.ROW_CHUNK);
    BlasPeak.Measurement tShape = BlasPeak.measure(BlasPeak.Routine.SGEMM, chunk, columns, rows, 1, 5 * passes);
    BlasPeak.Measurement pShape = BlasPeak.measure(BlasPeak.Routine.SGEMM, wide ? n : rows, columns, chunk, 1,
        5 * passes);
    System.out.println("bench-pass: SGEMM at Z'V's shape: " + tShape);
    System.out.println("bench-pass: SGEMM at Z T's shape:  " + pShape);
    if (!wide) {
      // The kernel cuts a tile's products into small-matrix calls where the BLAS has them (Blas.smallMatrixKernels).
      System.out.printf(Locale.ROOT, "bench-pass: the pass's SGEMMs per tile: Z'V in calls of %d variants, Z T in calls of"
          + " %d samples (%s)%n", GenotypeProductKernel.transposeGemmVariants(columns, chunk),
          GenotypeProductKernel.productGemmRows(columns, chunk, rows),
          Blas.smallMatrixKernels() ? "OpenBLAS's small-matrix kernels, no packing; the shapes above are one packed call"
              : "one call each: no small-matrix kernels");
    }
    double ideal = pass.flops() / 2 / (tShape.cpuGflops() * 1e9) + pass.flops() / 2 / (pShape.cpuGflops() * 1e9);
    System.out.printf(Locale.ROOT, "bench-pass: the pass at %.0f%% of SGEMM at its shapes (%.3f CPU-s of GEMM at those"
        + " rates against %.3f CPU-s)%n", 100 * ideal / pass.cpuSeconds(), ideal, pass.cpuSeconds());
    double rate = pass.flops() / pass.cpuSeconds();
    double projected = 4.0 * projectSamples * projectVariants * columns / rate;
    System.out.printf(Locale.ROOT, "bench-pass: at this rate a pass of k = %d over N = %d x M = %d (4NMk = %.3g flops)"
        + " takes %.1f CPU-s: %.1f s on %d cores, plus the Spark job's fixed part%n", columns, projectSamples,
        projectVariants, 4.0 * projectSamples * projectVariants * columns, projected, projected / projectCores,
        projectCores);
    return 0;
  }
}
