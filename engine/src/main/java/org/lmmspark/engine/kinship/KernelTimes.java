package org.lmmspark.engine.kinship;

import java.io.Serializable;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * Where a GRM unit of work spent its time: decoding {@code .bed} bytes into standardized blocks, the
 * BLAS products, adding float products into the double accumulators, and counting both-missing
 * pairs. Cheap to keep (a few clock reads per block and tile, against a BLAS call of
 * {@code ~tileSize²·blockVariants} multiply-adds), so every unit keeps one and the Spark job logs
 * their sum, which tells whether the kernel or the plumbing limits a run.
 *
 * <p>Wall times come from {@link System#nanoTime}; the BLAS part and the whole unit also keep the
 * thread's CPU time, which on a shared machine says what the thread achieved while it ran.
 */
public final class KernelTimes implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

  public long decodeNanos;
  public long productNanos;
  public long productCpuNanos;
  public long addNanos;
  public long missingNanos;
  public long unitNanos;
  public long unitCpuNanos;
  /** Flops of the products, 2 per multiply-add over the lower triangle ({@code N²M} for a whole GRM). */
  public double flops;
  public int units;

  /** The current thread's CPU time in nanoseconds (0 where the JVM cannot measure it). */
  public static long threadCpuNanos() {
    return CPU.isCurrentThreadCpuTimeSupported() ? CPU.getCurrentThreadCpuTime() : 0;
  }

  /** Adds {@code other} into this and returns this. */
  public KernelTimes merge(KernelTimes other) {
    decodeNanos += other.decodeNanos;
    productNanos += other.productNanos;
    productCpuNanos += other.productCpuNanos;
    addNanos += other.addNanos;
    missingNanos += other.missingNanos;
    unitNanos += other.unitNanos;
    unitCpuNanos += other.unitCpuNanos;
    flops += other.flops;
    units += other.units;
    return this;
  }

  /** Thread-seconds of BLAS products. */
  public double productSeconds() {
    return productNanos / 1e9;
  }

  /** GFLOP/s of one thread inside the BLAS calls (wall time). */
  public double productGflopsPerThread() {
    return productNanos == 0 ? Double.NaN : flops / productNanos;
  }

  /** GFLOP/s of one thread inside the BLAS calls per CPU second. */
  public double productGflopsPerCpu() {
    return productCpuNanos == 0 ? Double.NaN : flops / productCpuNanos;
  }

  @Override
  public String toString() {
    double other = (unitNanos - decodeNanos - productNanos - addNanos - missingNanos) / 1e9;
    return String.format("%d unit(s), %.1f thread-s (%.1f CPU-s): BLAS %.1f s (%.1f GFLOP/s per thread, %.1f per CPU-s),"
        + " decode %.1f s, add into double %.1f s, missing pairs %.1f s, other %.1f s",
        units, unitNanos / 1e9, unitCpuNanos / 1e9, productNanos / 1e9, productGflopsPerThread(), productGflopsPerCpu(),
        decodeNanos / 1e9, addNanos / 1e9, missingNanos / 1e9, other);
  }
}
