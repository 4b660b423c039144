package org.lmmspark.engine.matfree;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One genotype pass for several computations at once: the products that concurrent computations
 * ({@link #runAll}) ask of the same genotypes are gathered and taken together as one
 * {@link GenotypeProducts#multiply} of the underlying products over all their columns, so that, e.g.,
 * twenty REML fits (one per trait) cost as many passes as the longest of them, not the sum.
 *
 * <p>Each computation sees the ordinary {@link GenotypeProducts} interface: {@code out_j = Σ_c w_cj
 * Z_c Z_cᵀ v_j} over the N samples of the fileset (or, for columns it asks split, the C parts of that sum). A computation over its own analysed samples (a
 * trait with its own missing values) reaches it through a {@link GenomicRelationshipOperator} over its
 * rows, which <i>masks</i> the input (zeros for the samples it does not analyse) and the output (reads
 * back its rows) of the shared pass, so each computation's operator is exactly {@code K} restricted to
 * its samples, with no imputation of anything; a column costs the same in a shared pass as alone
 * ({@code 4·N·M} flops), what is shared is the pass itself (the decode of every genotype block, one
 * Spark job and its scheduling, the broadcast and reduction rounds).
 *
 * <p>How: {@link #runAll} runs each computation on a thread of its own, but only one at a time holds
 * the baton (a lock) and computes on the driver; a computation that asks for a product leaves its
 * request and gives up the baton until the pass that serves it is done. When every live computation is
 * waiting for a product (or has finished), the last one to arrive takes one pass for all requests, in
 * the order of the computations. The computations then go on in that order too, one after the other (each
 * until it asks again or ends), not in the order their threads happen to wake: so a run's sequence of passes
 * does not vary from run to run, also where one computation's requests depend on what another one did
 * before it (runs shared by several traits, {@code SharedProbeRuns}). A computation that finishes stops
 * adding columns; the others go on. The result
 * of each computation is what it would be alone (the same operator, the same order of its own
 * operations), up to the rounding of products taken in a wider batch. Coroutines in effect: the driver
 * work of the computations never overlaps (so BLAS calls on the driver are never concurrent), and a
 * computation blocked on a pass costs a parked thread, O(1).
 *
 * <p>Cost per pass: the underlying product over {@code Σ k_i} columns, plus copying each request's
 * {@code N×k_i} block in and out ({@code O(N·Σk_i)}); a request over some samples ({@link #multiplyRows}) is
 * placed at its rows of the pass's block and read back from them. Memory: the gathered {@code N×Σk_i} input and
 * output on top of each request's own, kept for the next pass until {@link #runAll} ends.
 */
public final class SharedGenotypePasses implements GenotypeProducts {
  private final GenotypeProducts base;
  private final ReentrantLock baton = new ReentrantLock();
  private final List<Request> pending = new ArrayList<>();
  /**
   * The computations that may go on (served, or not yet started), in the order they take their turns; the head has
   * the turn. A computation leaves it when it asks for a product or ends, and joins it again when a pass serves it.
   */
  private final java.util.ArrayDeque<Integer> turns = new java.util.ArrayDeque<>();
  /** Per computation, what it waits on for its turn (only the new head is woken, not every computation). */
  private Condition[] turnSignals = new Condition[0];
  /** The index in {@link #runAll} of the computation on this thread (its requests' place in a pass). */
  private final ThreadLocal<Integer> computation = new ThreadLocal<>();
  private int live;
  private long passes;
  private long columns;
  private int widest;
  /**
   * The pass's gathered input and output (N × its columns), kept from pass to pass while {@link #runAll} runs: a
   * lock-step group's passes take hundreds of columns (20 traits' LOCO solves at N = 20,000: 75 MB each way), and
   * new blocks every pass fed the collector large short-lived arrays, for which it grew the heap by gigabytes.
   */
  private double[] passIn = new double[0];
  private double[] passOut = new double[0];

  private static final class Request {
    final int computation;
    /** Fileset rows of v's and out's rows ({@link #multiplyRows}), or null: all N in order. */
    final int[] rows;
    final double[] v;
    final int k;
    final double[] weights;
    final boolean[] split;
    final double[] out;
    Throwable failure;

    Request(int computation, int[] rows, double[] v, int k, double[] weights, boolean[] split, double[] out) {
      this.computation = computation;
      this.rows = rows;
      this.v = v;
      this.k = k;
      this.weights = weights;
      this.split = split;
      this.out = out;
    }
  }

  public SharedGenotypePasses(GenotypeProducts base) {
    this.base = base;
  }

  /**
   * Runs the computations together, each on its own thread, their products gathered into shared passes
   * as described above; returns their results in order. A computation that fails does not stop the
   * others (it stops asking for products); after all have ended, the first failure is rethrown as it was
   * (a {@link RuntimeException} or {@link Error}; a checked exception wrapped).
   *
   * @param name names the threads ({@code name-0}, {@code name-1}, …) for logs
   */
  public <T> List<T> runAll(List<? extends Callable<T>> computations, String name) {
    baton.lock();
    try {
      if (live != 0) {
        throw new IllegalStateException("runAll is already running on these passes");
      }
      live = computations.size();
      turnSignals = new Condition[live];
      for (int i = 0; i < live; i++) {
        turns.add(i);
        turnSignals[i] = baton.newCondition();
      }
    } finally {
      baton.unlock();
    }
    int count = computations.size();
    List<T> results = new ArrayList<>(count);
    Throwable[] failures = new Throwable[count];
    Thread[] threads = new Thread[count];
    for (int i = 0; i < count; i++) {
      results.add(null);
      int index = i;
      Callable<T> c = computations.get(i);
      threads[i] = new Thread(() -> {
        computation.set(index);
        baton.lock();
        try {
          awaitTurn(index);
          results.set(index, c.call());
        } catch (Throwable t) {
          failures[index] = t;
        } finally {
          live--;
          if (live == 0) {
            passIn = new double[0];
            passOut = new double[0];
          }
          endTurn();
          if (live > 0 && pending.size() == live) {
            pass();
          }
          baton.unlock();
        }
      }, name + "-" + i);
      threads[i].setDaemon(true);
    }
    for (Thread t : threads) {
      t.start();
    }
    for (Thread t : threads) {
      boolean interrupted = false;
      while (t.isAlive()) {
        try {
          t.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    for (Throwable t : failures) {
      if (t instanceof RuntimeException re) {
        throw re;
      }
      if (t instanceof Error e) {
        throw e;
      }
      if (t != null) {
        throw new IllegalStateException("a computation failed", t);
      }
    }
    return results;
  }

  /**
   * From a computation of {@link #runAll}: waits for the shared pass that serves this request (taking it
   * when this is the last live computation to ask). From any other thread: one pass of its own.
   */
  @Override
  public void multiply(double[] v, int k, double[] weights, boolean[] split, double[] out) {
    if (!baton.isHeldByCurrentThread()) {
      synchronized (this) {
        base.multiply(v, k, weights, split, out);
        passes++;
        columns += k;
        widest = Math.max(widest, k);
      }
      return;
    }
    submit(new Request(computation.get(), null, v, k, weights, split, out));
  }

  /**
   * From a computation of {@link #runAll}: as {@link #multiply}, the request placed at its rows in the shared pass's
   * block and read back from them (no N-row blocks of its own). From any other thread: the default, one pass.
   */
  @Override
  public void multiplyRows(int[] rows, double[] in, int k, double[] weights, boolean[] split, double[] out) {
    if (!baton.isHeldByCurrentThread()) {
      GenotypeProducts.super.multiplyRows(rows, in, k, weights, split, out);
      return;
    }
    GenotypeProducts.requireRowBlocks(rows, in, k, split, out, base.chromosomeCount());
    submit(new Request(computation.get(), rows, in, k, weights, split, out));
  }

  /** Leaves the request for the next shared pass (taking it when this is the last live computation to ask) and waits. */
  private void submit(Request r) {
    pending.add(r);
    endTurn();
    if (pending.size() == live) {
      pass();
    }
    awaitTurn(r.computation); // its turn comes once a pass has served it
    if (r.failure instanceof RuntimeException e) {
      throw e;
    }
    if (r.failure instanceof Error e) {
      throw e;
    }
  }

  /**
   * From a computation of {@link #runAll}: waits, holding no columns, until the next shared pass has been taken
   * (or, when no other live computation asks for a product, returns at once). For a computation that needs what
   * another one is computing across passes (runs shared by several traits, {@code SharedProbeRuns}): it waits
   * without stopping the passes, which go on as soon as every live computation has asked. Outside
   * {@link #runAll}: returns at once.
   */
  public void awaitNextPass() {
    if (baton.isHeldByCurrentThread()) {
      multiply(new double[0], 0, new double[0], new double[0]);
    }
  }

  /**
   * One pass of the underlying products for every pending request; called holding the baton. Requests of no
   * columns ({@link #awaitNextPass}) are served by it; when all are such, no pass is taken.
   */
  private void pass() {
    int n = base.samples();
    int c = base.chromosomeCount();
    int total = 0;
    boolean anySplit = false;
    for (Request r : pending) {
      total = Math.addExact(total, r.k);
      anySplit |= r.split != null;
    }
    // The requests in the order of their computations, not of their arrival (which thread got the baton first): a
    // column's product can differ in its last bits with its place in the batch, so this keeps runs reproducible.
    pending.sort(java.util.Comparator.comparingInt(r -> r.computation));
    if (total == 0) {
      serve();
      return;
    }
    try {
      int outColumns = 0;
      boolean anyRows = false;
      for (Request r : pending) {
        outColumns = Math.addExact(outColumns, GenotypeProducts.outputColumns(r.k, r.split, c));
        anyRows |= r.rows != null;
      }
      if (passIn.length < (long) n * total) {
        passIn = new double[Math.multiplyExact(n, total)];
      } else if (anyRows) {
        java.util.Arrays.fill(passIn, 0, n * total, 0.0); // the rows a request does not analyse are zeros
      }
      if (passOut.length < (long) n * outColumns) {
        passOut = new double[Math.multiplyExact(n, outColumns)];
      }
      double[] v = passIn;
      double[] w = new double[c * total];
      boolean[] split = anySplit ? new boolean[total] : null;
      int at = 0;
      for (Request r : pending) {
        if (r.rows == null) {
          System.arraycopy(r.v, 0, v, at * n, n * r.k);
        } else {
          GenotypeProducts.scatterRows(r.rows, r.v, 0, r.k, v, n, at);
        }
        System.arraycopy(r.weights, 0, w, at * c, c * r.k);
        if (r.split != null) {
          System.arraycopy(r.split, 0, split, at, r.k);
        }
        at += r.k;
      }
      double[] out = passOut;
      base.multiply(v, total, w, split, out);
      at = 0;
      for (Request r : pending) {
        int q = GenotypeProducts.outputColumns(r.k, r.split, c);
        if (r.rows == null) {
          System.arraycopy(out, at * n, r.out, 0, n * q);
        } else {
          GenotypeProducts.gatherRows(r.rows, out, n, at, r.out, 0, q);
        }
        at += q;
      }
    } catch (RuntimeException | Error e) {
      // Every request of the pass fails with it (an Error too, e.g. the driver out of heap): were one left
      // pending, the computations waiting for it would wait for ever.
      for (Request r : pending) {
        r.failure = e;
      }
    }
    passes++;
    columns += total;
    widest = Math.max(widest, total);
    serve();
  }

  /** Gives the computations of the pending requests, now served, their turns in the order of the requests. */
  private void serve() {
    for (Request r : pending) {
      turns.add(r.computation);
    }
    pending.clear();
    signalHead();
  }

  /** Waits, holding the baton between checks, until computation {@code index} has the turn. */
  private void awaitTurn(int index) {
    while (turns.isEmpty() || turns.peek() != index) {
      turnSignals[index].awaitUninterruptibly();
    }
  }

  /** The computation holding the turn gives it up (it asks for a product or ends): the next one's turn. */
  private void endTurn() {
    turns.poll();
    signalHead();
  }

  private void signalHead() {
    Integer head = turns.peek();
    if (head != null) {
      turnSignals[head].signal();
    }
  }

  @Override
  public int samples() {
    return base.samples();
  }

  @Override
  public int chromosomeCount() {
    return base.chromosomeCount();
  }

  @Override
  public long[] variantsPerChromosome() {
    return base.variantsPerChromosome();
  }

  @Override
  public double[][] squareSumsPerChromosome() {
    return base.squareSumsPerChromosome();
  }

  /** Shared passes taken (each one pass of the underlying products). */
  @Override
  public long passes() {
    return passes;
  }

  /** Columns multiplied in all, over every pass. */
  public long columns() {
    return columns;
  }

  /** Columns of the widest pass. */
  public int widestPass() {
    return widest;
  }
}
