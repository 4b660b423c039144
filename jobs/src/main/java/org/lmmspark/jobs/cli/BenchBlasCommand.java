package org.lmmspark.jobs.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.jobs.bench.BlasPeak;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lmmspark bench-blas}: the BLAS peak the GRM benchmark ({@code scripts/bench-grm.sh}) compares
 * against. Hidden from the command list: it is a tool for benchmarks, not an analysis.
 */
@Command(name = "bench-blas", hidden = true, mixinStandardHelpOptions = true,
    description = {
      "Measures SGEMM, DGEMM and SSYRK throughput (GFLOP/s, 2 flops per multiply-add) through lmmspark's BLAS,"
          + " on 1 and more threads, each thread with its own matrices (run with OPENBLAS_NUM_THREADS=1, as Spark tasks do).",
      "A warm-up call, then the best of --repeats rounds; every product is checked at a few entries."})
public final class BenchBlasCommand implements Callable<Integer> {
  @Option(names = "--size", defaultValue = "3000", paramLabel = "N", description = "Square GEMM size N x N x N (default: ${DEFAULT-VALUE}).")
  int size;

  @Option(names = "--threads", defaultValue = "1,2", split = ",", paramLabel = "LIST",
      description = "Thread counts to measure (default: ${DEFAULT-VALUE}).")
  List<Integer> threads;

  @Option(names = "--repeats", defaultValue = "3", paramLabel = "R", description = "Timed rounds after the warm-up (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--routines", defaultValue = "SGEMM,DGEMM", split = ",", paramLabel = "LIST",
      description = "Any of SGEMM, DGEMM, SSYRK (default: ${DEFAULT-VALUE}).")
  List<BlasPeak.Routine> routines;

  @Option(names = "--kernel-shape", paramLabel = "MxNxK",
      description = "Also measure SGEMM and SSYRK at this shape, e.g. 4096x4096x1600 (the GRM's tile x tile x block).")
  String kernelShape;

  @Override
  public Integer call() {
    if (size < 1 || repeats < 1 || threads.stream().anyMatch(t -> t < 1)) {
      throw new BadInputException("--size, --repeats and --threads must be positive");
    }
    System.out.println("bench-blas: " + Blas.describe());
    System.out.println("bench-blas: flops = 2 per multiply-add (GEMM m x n x k: 2mnk; SSYRK n x k: n(n+1)k);"
        + " t threads = t independent products at once, rate = t*flops / slowest thread");
    List<BlasPeak.Measurement> all = new ArrayList<>();
    for (BlasPeak.Routine r : routines) {
      for (int t : threads) {
        all.add(report(BlasPeak.measure(r, size, size, size, t, repeats)));
      }
    }
    if (kernelShape != null) {
      String[] p = kernelShape.toLowerCase().split("x");
      if (p.length != 3) {
        throw new BadInputException("--kernel-shape must be MxNxK, got " + kernelShape);
      }
      int m = Integer.parseInt(p[0]);
      int n = Integer.parseInt(p[1]);
      int k = Integer.parseInt(p[2]);
      for (int t : threads) {
        all.add(report(BlasPeak.measure(BlasPeak.Routine.SGEMM, m, n, k, t, repeats)));
        all.add(report(BlasPeak.measure(BlasPeak.Routine.SSYRK, m, n, k, t, repeats)));
      }
    }
    return all.isEmpty() ? 2 : 0;
  }

  private static BlasPeak.Measurement report(BlasPeak.Measurement m) {
    // One line per figure, easy to grep: "bench-blas: DGEMM 3000x3000x3000 2 thread(s): 80.1 GFLOP/s ...".
    System.out.println("bench-blas: " + m);
    return m;
  }
}
