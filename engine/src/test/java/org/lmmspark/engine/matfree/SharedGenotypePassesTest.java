package org.lmmspark.engine.matfree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.PlainKinship;

/**
 * Products of several computations gathered into shared passes: each computation's masked product
 * {@code K_S v} (K restricted to its own samples S) equals the plain dense {@code K[S,S]·v} written from
 * the genotypes here, and the passes taken are as many as the busiest computation asked for.
 */
class SharedGenotypePassesTest {

  @Test
  void maskedProductsOfConcurrentComputationsEqualDenseProductsInSharedPasses(@TempDir Path dir) {
    int n = 90;
    int m = 160;
    int[][] g = BedFixture.random(n, m, 0.02, 13, 5);
    int[] chr = new int[m];
    int[] chrIndex = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = v < 100 ? 1 : 2;
      chrIndex[v] = chr[v] - 1;
    }
    String prefix = BedFixture.write(dir, "shared", g, chr);
    LocalGenotypeProducts prod = LocalGenotypeProducts.read(BedFixture.source(prefix), null, chrIndex, 2, 0, 32,
        new Configuration());
    double[] k = PlainKinship.k(g, chr, 0);
    SharedGenotypePasses shared = new SharedGenotypePasses(prod);
    Random rnd = new Random(8);
    // Three computations with their own samples (every third dropped, a random half, all) and their own
    // number of products (2, 5, 3) and columns (1, 3, 2).
    int[][] rows = {subset(n, i -> i % 3 != 0), subset(n, i -> rnd.nextBoolean()), subset(n, i -> true)};
    int[] productsAsked = {2, 5, 3};
    int[] widths = {1, 3, 2};
    List<Callable<Double>> work = new ArrayList<>();
    for (int c = 0; c < 3; c++) {
      int[] r = rows[c];
      int times = productsAsked[c];
      int w = widths[c];
      long seed = 100 + c;
      work.add(() -> {
        GenomicRelationshipOperator op = new GenomicRelationshipOperator(shared, r, -1);
        Random local = new Random(seed);
        double worst = 0;
        for (int t = 0; t < times; t++) {
          double[] v = new double[r.length * w];
          for (int i = 0; i < v.length; i++) {
            v[i] = local.nextGaussian();
          }
          double[] out = new double[v.length];
          op.apply(v, w, out);
          for (int j = 0; j < w; j++) {
            for (int a = 0; a < r.length; a++) {
              double e = 0;
              for (int b = 0; b < r.length; b++) {
                e += k[r[a] + r[b] * n] * v[b + j * r.length];
              }
              assertClose(out[a + j * r.length], e, 1e-5 * (1 + Math.abs(e)), 0, "K_S v, sample " + a);
              worst = Math.max(worst, Math.abs(out[a + j * r.length] - e));
            }
          }
        }
        return worst;
      });
    }
    List<Double> worst = shared.runAll(work, "test");
    System.out.println("largest |K_S v − dense| per computation: " + worst);
    assertEquals(5, shared.passes(), "as many shared passes as the busiest computation's products");
    assertEquals(5, prod.passes(), "one pass of the genotypes per shared pass");
    assertEquals(2 * 1 + 5 * 3 + 3 * 2, shared.columns(), "every column of every request, once");
    assertEquals(6, shared.widestPass(), "the first two passes carry all three computations' columns");
  }

  @Test
  void aFailingComputationLetsTheOthersFinishAndIsRethrown(@TempDir Path dir) {
    int n = 40;
    LocalGenotypeProducts prod = oneChromosome(dir, "f", BedFixture.random(n, 60, 0, 0, 9));
    SharedGenotypePasses shared = new SharedGenotypePasses(prod);
    IllegalArgumentException boom = new IllegalArgumentException("trait 1 failed");
    int[] finished = new int[1];
    List<Callable<Integer>> work = List.of(() -> {
      GenomicRelationshipOperator op = new GenomicRelationshipOperator(shared, subset(n, i -> true), -1);
      for (int t = 0; t < 4; t++) {
        op.apply(new double[n], 1, new double[n]);
      }
      finished[0]++;
      return 0;
    }, () -> {
      new GenomicRelationshipOperator(shared, subset(n, i -> true), -1).apply(new double[n], 1, new double[n]);
      throw boom;
    });
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> shared.runAll(work, "test"));
    assertSame(boom, e);
    assertEquals(1, finished[0], "the other computation ran to its end");
    assertEquals(4, shared.passes());
  }

  /**
   * A pass that fails with an Error (the driver out of heap) fails every computation waiting for it, and runAll
   * rethrows it: none is left waiting for a pass that will never come (that hung a 100-trait run).
   */
  @Test
  void anErrorInASharedPassFailsEveryComputationInsteadOfHangingThem(@TempDir Path dir) {
    int n = 30;
    LocalGenotypeProducts prod = oneChromosome(dir, "e", BedFixture.random(n, 40, 0, 0, 5));
    OutOfMemoryError outOfHeap = new OutOfMemoryError("Java heap space (test)");
    GenotypeProducts failingSecondPass = new GenotypeProducts() {
      private long passes;

      @Override
      public int samples() {
        return prod.samples();
      }

      @Override
      public int chromosomeCount() {
        return prod.chromosomeCount();
      }

      @Override
      public long[] variantsPerChromosome() {
        return prod.variantsPerChromosome();
      }

      @Override
      public double[][] squareSumsPerChromosome() {
        return prod.squareSumsPerChromosome();
      }

      @Override
      public void multiply(double[] v, int k, double[] weights, boolean[] split, double[] out) {
        if (++passes == 2) {
          throw outOfHeap;
        }
        prod.multiply(v, k, weights, split, out);
      }

      @Override
      public long passes() {
        return passes;
      }
    };
    SharedGenotypePasses shared = new SharedGenotypePasses(failingSecondPass);
    List<Callable<Integer>> work = new ArrayList<>();
    for (int c = 0; c < 3; c++) {
      work.add(() -> {
        GenomicRelationshipOperator op = new GenomicRelationshipOperator(shared, subset(n, i -> true), -1);
        for (int t = 0; t < 3; t++) {
          op.apply(new double[n], 1, new double[n]);
        }
        return 0;
      });
    }
    OutOfMemoryError e = assertTimeoutPreemptively(java.time.Duration.ofSeconds(20),
        () -> assertThrows(OutOfMemoryError.class, () -> shared.runAll(work, "test")));
    assertSame(outOfHeap, e);
    assertEquals(2, shared.passes(), "the pass that failed ends the run");
  }

  /**
   * {@link SharedGenotypePasses#awaitNextPass} waits, holding no columns, for the next shared pass (it neither takes
   * one nor stops the others'), and returns at once when no other computation asks for one; and
   * {@link GenomicRelationshipOperator#applyJointly} takes K over two sample sets in one pass, each equal to the
   * dense {@code K[S,S]·v}.
   */
  @Test
  void aWaitingComputationHoldsNoColumnsAndJointProductsTakeOnePass(@TempDir Path dir) {
    int n = 50;
    int m = 80;
    int[][] g = BedFixture.random(n, m, 0, 0, 21);
    int[] chr = new int[m];
    java.util.Arrays.fill(chr, 1);
    LocalGenotypeProducts prod = oneChromosome(dir, "w", g);
    double[] k = PlainKinship.k(g, chr, 0);
    SharedGenotypePasses shared = new SharedGenotypePasses(prod);
    int[] all = subset(n, i -> true);
    int[] odd = subset(n, i -> i % 2 == 1);
    long[] passesSeenByWaiter = new long[3];
    List<Callable<Integer>> work = List.of(() -> {
      GenomicRelationshipOperator a = new GenomicRelationshipOperator(shared, all, -1);
      GenomicRelationshipOperator b = new GenomicRelationshipOperator(shared, odd, -1);
      Random rnd = new Random(4);
      for (int t = 0; t < 2; t++) {
        double[] va = new double[n * 2];
        double[] vb = new double[odd.length];
        for (int i = 0; i < va.length; i++) {
          va[i] = rnd.nextGaussian();
        }
        for (int i = 0; i < vb.length; i++) {
          vb[i] = rnd.nextGaussian();
        }
        double[] oa = new double[va.length];
        double[] ob = new double[vb.length];
        GenomicRelationshipOperator.applyJointly(a, va, 2, oa, b, vb, 1, ob);
        for (int i = 0; i < n; i++) {
          for (int j = 0; j < 2; j++) {
            double e = 0;
            for (int c = 0; c < n; c++) {
              e += k[i + c * n] * va[c + j * n];
            }
            assertClose(oa[i + j * n], e, 1e-5 * (1 + Math.abs(e)), 0, "K v, sample " + i);
          }
        }
        for (int i = 0; i < odd.length; i++) {
          double e = 0;
          for (int c = 0; c < odd.length; c++) {
            e += k[odd[i] + odd[c] * n] * vb[c];
          }
          assertClose(ob[i], e, 1e-5 * (1 + Math.abs(e)), 0, "K_odd v, sample " + i);
        }
      }
      return 0;
    }, () -> {
      for (int t = 0; t < 3; t++) {
        shared.awaitNextPass();
        passesSeenByWaiter[t] = shared.passes();
      }
      return 0;
    });
    shared.runAll(work, "test");
    assertEquals(2, shared.passes(), "two joint products, two passes; the waits took none");
    assertEquals(2 * 3, shared.columns(), "3 columns per joint pass, none for the waiter");
    // The waiter was served by the two passes; its third wait, alone, returned without one.
    assertEquals(1, passesSeenByWaiter[0]);
    assertEquals(2, passesSeenByWaiter[1]);
    assertEquals(2, passesSeenByWaiter[2]);
  }

  /**
   * The computations take their turns in their order, at the start and after every pass, whichever thread wakes first
   * or took the pass: the order of their driver work, and so of whatever one reads that another wrote (the shared
   * probes' runs of a lock-step REML), is the same in every run. Four computations of 3, 1, 3 and 2 products; each
   * notes its index before each product and at its end. (Before, the computation that took a pass went on first.)
   */
  @Test
  void computationsGoOnInTheirOrderAfterEveryPass(@TempDir Path dir) {
    int n = 30;
    LocalGenotypeProducts prod = oneChromosome(dir, "order", BedFixture.random(n, 40, 0, 0, 3));
    int[] products = {3, 1, 3, 2};
    List<Integer> expected = List.of(0, 1, 2, 3, 0, 1, 2, 3, 0, 2, 3, 0, 2);
    for (int run = 0; run < 20; run++) {
      SharedGenotypePasses shared = new SharedGenotypePasses(prod);
      List<Integer> order = new ArrayList<>();
      List<Callable<Integer>> work = new ArrayList<>();
      for (int c = 0; c < products.length; c++) {
        int index = c;
        work.add(() -> {
          GenomicRelationshipOperator op = new GenomicRelationshipOperator(shared, subset(n, i -> true), -1);
          for (int t = 0; t < products[index]; t++) {
            order.add(index); // under the baton: one computation at a time
            op.apply(new double[n], 1, new double[n]);
          }
          order.add(index);
          return 0;
        });
      }
      shared.runAll(work, "order");
      assertEquals(expected, order, "run " + run);
      assertEquals(3, shared.passes());
    }
  }

  /** Products over the genotypes {@code g} (variants × samples) written as a one-chromosome fileset {@code name}. */
  static LocalGenotypeProducts oneChromosome(Path dir, String name, int[][] g) {
    int[] chr = new int[g.length];
    java.util.Arrays.fill(chr, 1);
    return LocalGenotypeProducts.read(BedFixture.source(BedFixture.write(dir, name, g, chr)), null, new int[g.length], 1,
        0, 16, new Configuration());
  }

  static int[] subset(int n, java.util.function.IntPredicate keep) {
    return java.util.stream.IntStream.range(0, n).filter(keep).toArray();
  }

  /**
   * A product split by chromosome ({@link GenomicRelationshipOperator#applyPerChromosome}) shares a pass with an
   * ordinary product of another computation: one pass, each gets its own outputs (C columns per split column,
   * one per ordinary one), equal to the plain per-chromosome parts and the plain dense {@code K[S,S]·v}.
   */
  @Test
  void splitAndOrdinaryProductsShareOnePass(@TempDir Path dir) {
    int n = 60;
    int m = 120;
    int[][] g = BedFixture.random(n, m, 0.02, 7, 31);
    int[] chr = new int[m];
    int[] chrIndex = new int[m];
    for (int v = 0; v < m; v++) {
      chr[v] = v < 50 ? 1 : v < 90 ? 2 : 3;
      chrIndex[v] = chr[v] - 1;
    }
    LocalGenotypeProducts prod = LocalGenotypeProducts.read(BedFixture.source(BedFixture.write(dir, "split", g, chr)),
        null, chrIndex, 3, 0, 16, new Configuration());
    double[] k = PlainKinship.k(g, chr, 0);
    SharedGenotypePasses shared = new SharedGenotypePasses(prod);
    int[] even = subset(n, i -> i % 2 == 0);
    int[] most = subset(n, i -> i % 5 != 0);
    Random rnd = new Random(12);
    double[] vs = new double[even.length];
    double[] vo = new double[most.length * 2];
    for (int i = 0; i < vs.length; i++) {
      vs[i] = rnd.nextGaussian();
    }
    for (int i = 0; i < vo.length; i++) {
      vo[i] = rnd.nextGaussian();
    }
    double[] parts = new double[even.length * 3];
    double[] ordinary = new double[vo.length];
    List<Callable<Integer>> work = List.of(() -> {
      new GenomicRelationshipOperator(shared, even, -1).applyPerChromosome(vs, 1, parts);
      return 0;
    }, () -> {
      new GenomicRelationshipOperator(shared, most, -1).apply(vo, 2, ordinary);
      return 0;
    });
    shared.runAll(work, "split");
    assertEquals(1, shared.passes(), "both requests in one shared pass");
    assertEquals(1, prod.passes());
    assertEquals(3, shared.columns(), "the split column costs one column of the pass");
    double[] full = new double[n];
    for (int a = 0; a < even.length; a++) {
      full[even[a]] = vs[a];
    }
    for (int d = 0; d < 3; d++) {
      double[] plain = GenomicRelationshipOperatorTest.plainPart(g, chr, d + 1, full);
      for (int a = 0; a < even.length; a++) {
        // Float GEMMs against a plain double sum (see GenomicRelationshipOperatorTest).
        assertClose(parts[a + d * even.length], plain[even[a]], 1e-5, 1e-6, "part " + d + ", sample " + a);
      }
    }
    for (int j = 0; j < 2; j++) {
      for (int a = 0; a < most.length; a++) {
        double e = 0;
        for (int b = 0; b < most.length; b++) {
          e += k[most[a] + most[b] * n] * vo[b + j * most.length];
        }
        assertClose(ordinary[a + j * most.length], e, 1e-5 * (1 + Math.abs(e)), 0, "K_S v, sample " + a);
      }
    }
  }

  /**
   * A request over all N samples (no rows) and masked ones in the same passes, the passes' blocks used again with
   * fewer columns: each equals its product alone, so nothing of one request or an earlier pass reaches another.
   */
  @Test
  void requestsOverAllSamplesAndMaskedOnesShareReusedPassBlocks(@TempDir Path dir) {
    int n = 48;
    LocalGenotypeProducts prod = oneChromosome(dir, "mix", BedFixture.random(n, 70, 0.02, 0, 17));
    SharedGenotypePasses shared = new SharedGenotypePasses(prod);
    int[] odd = subset(n, i -> i % 2 == 1);
    Random rnd = new Random(5);
    double[][] wide = new double[3][];
    double[][] masked = new double[3][];
    for (int t = 0; t < 3; t++) {
      wide[t] = new double[n * 2];
      masked[t] = new double[odd.length];
      for (int i = 0; i < wide[t].length; i++) {
        wide[t][i] = rnd.nextGaussian();
      }
      for (int i = 0; i < masked[t].length; i++) {
        masked[t][i] = 10 + rnd.nextGaussian(); // far from 0: a stale value left in a masked row would show
      }
    }
    double[][] wideOut = new double[3][n * 2];
    double[][] maskedOut = new double[3][odd.length];
    double[] weights = {1.0 / 70, 1.0 / 70};
    List<Callable<Integer>> work = List.of(() -> {
      for (int t = 0; t < 3; t++) { // two columns over all samples, then (t = 2) nothing more: narrower passes
        if (t < 2) {
          shared.multiply(wide[t], 2, weights, wideOut[t]);
        }
      }
      return 0;
    }, () -> {
      GenomicRelationshipOperator op = new GenomicRelationshipOperator(shared, odd, -1);
      for (int t = 0; t < 3; t++) {
        op.apply(masked[t], 1, maskedOut[t]);
      }
      return 0;
    });
    shared.runAll(work, "mix");
    assertEquals(3, shared.passes());
    assertEquals(3, shared.widestPass());
    GenomicRelationshipOperator alone = new GenomicRelationshipOperator(prod, odd, -1);
    for (int t = 0; t < 3; t++) {
      double[] expected = new double[odd.length];
      alone.apply(masked[t], 1, expected);
      for (int a = 0; a < odd.length; a++) {
        assertClose(maskedOut[t][a], expected[a], 1e-5, 1e-6, "masked product " + t + ", sample " + a);
      }
      if (t < 2) {
        double[] e = new double[n * 2];
        prod.multiply(wide[t], 2, weights, e);
        for (int i = 0; i < e.length; i++) {
          assertClose(wideOut[t][i], e[i], 1e-5, 1e-6, "product over all samples " + t + ", entry " + i);
        }
      }
    }
  }
}
