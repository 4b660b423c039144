package org.lmmspark.engine.glmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lmmspark.engine.testing.Tolerance.assertClose;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;
import org.lmmspark.engine.matfree.LocalGenotypeProducts;
import org.lmmspark.engine.reml.matfree.StochasticReml;
import org.lmmspark.engine.testing.BedFixture;
import org.lmmspark.engine.testing.PlainGls;
import org.lmmspark.engine.testing.PlainKinship;

/**
 * {@link MatrixFreeBinaryLoco} on a simulated logistic GLMM (n = 300, 600 variants on 3 chromosomes of 200, no missing
 * calls, τ = 1.5, {@code logit μ = −1 + 0.5x + b}) against a brute-force dense computation written here for every
 * chromosome c: K_{−c} from the genotypes ({@link PlainKinship}), then SAIGE's LOCO null at the whole-genome τ̂ —
 * the PQL iteration {@code z = η + (y − μ)/w}, {@code Σ = W⁻¹ + τK_{−c}} inverted by Cholesky,
 * {@code β = (XᵀΣ⁻¹X)⁻¹XᵀΣ⁻¹z}, {@code η ← Xβ + τK_{−c}Σ⁻¹(z − Xβ)} (the BLUP form, not the engine's
 * {@code z − W⁻¹Pz}) from the whole-genome η̂ until {@code Σ(Δη)²/Ση² < 1e-14}; then the dense
 * {@code P_{−c} = Σ⁻¹ − Σ⁻¹X(XᵀΣ⁻¹X)⁻¹XᵀΣ⁻¹}.
 *
 * <p>Checked: η̂_c = logit μ̂_c and β̂_c within 1e-5 absolute (the engine stops its PQL at {@link GrmPql#TOLERANCE}
 * = 1e-8 on Σ(Δη)²/Ση² — each step contracts the error quadratically, so the last one lands far inside that — and
 * solves by CG to 1e-6; measured 1e-6 for η, 5e-8 for β); {@code b̂_c + Xβ̂_c = logit μ̂_c}; each chromosome's {@code P_{−c}v} from the one batched solve
 * ({@link MatrixFreeBinaryLoco#projectSamples}) and from its null's own {@code applyProjection} within 1e-4 of ‖P v‖∞
 * (CG to 1e-6 on systems of condition ~τλ_max/4 + 1, as {@code MatrixFreeBinaryNullTest}); and the score statistic
 * of every variant of the chromosome, {@code T = g̃ᵀ(y − μ̂_c)} (g̃ the genotype adjusted for X with weights W_c) and
 * its exact variance {@code gᵀP_{−c}g}, within 1e-3 relative of the brute-force ones. Also: the LOCO μ̂ differ from the
 * whole-genome μ̂ (the test would pass trivially otherwise).
 */
public class MatrixFreeBinaryLocoTest {

  @Test
  void locoNullsMatchTheDensePqlAtTheWholeGenomeTau(@TempDir Path dir) {
    int n = 300;
    int m = 600;
    int chromosomes = 3;
    int[][] g = BedFixture.random(n, m, 0, 0, 31);
    int[] chr = new int[m];
    int[] chrIndex = new int[m];
    for (int v = 0; v < m; v++) {
      chrIndex[v] = v / (m / chromosomes);
      chr[v] = chrIndex[v] + 1;
    }
    Random rnd = new Random(5);
    double[] genetic = BedFixture.additiveValues(g, 1.5, rnd);
    double[] x = new double[2 * n];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1;
      x[i + n] = rnd.nextGaussian();
      double eta = -1 + 0.5 * x[i + n] + genetic[i];
      y[i] = rnd.nextDouble() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
    }
    String prefix = BedFixture.write(dir, "loco", g, chr);
    LocalGenotypeProducts products = LocalGenotypeProducts.read(BedFixture.source(prefix), null, chrIndex, chromosomes,
        0, 64, new Configuration());
    int[] rows = new int[n];
    for (int i = 0; i < n; i++) {
      rows[i] = i;
    }
    GenomicRelationshipOperator k = new GenomicRelationshipOperator(products, rows, -1);
    StochasticReml.Options o = StochasticReml.Options.defaults();
    List<String> names = List.of("intercept", "x");
    MatrixFreePql.Fit fit = MatrixFreePql.fit(k, "G", Family.BINOMIAL_LOGIT, y, x, names, o, GrmPql.TOLERANCE,
        line -> {});
    MatrixFreeBinaryNull whole = new MatrixFreeBinaryNull("all", fit, k, x, o);
    double tau = whole.tau();
    assertTrue(tau > 0.3, "τ̂ " + tau);
    List<MatrixFreeBinaryLoco.Scope> scopes = new ArrayList<>();
    for (int c = 0; c < chromosomes; c++) {
      scopes.add(new MatrixFreeBinaryLoco.Scope(c, "LOCO chromosome " + (c + 1)));
    }
    whole.preconditioner(); // its deflation passes belong to the whole-genome null (built once, shared)
    long passes0 = products.passes();
    MatrixFreeBinaryLoco loco = MatrixFreeBinaryLoco.fit(whole, k, Family.BINOMIAL_LOGIT, y, scopes, GrmPql.TOLERANCE);
    System.out.println(loco.describe() + "; passes " + (products.passes() - passes0));
    assertEquals(loco.passes(), products.passes() - passes0, "one genotype pass per CG iteration for all chromosomes");
    List<BinaryNull> nulls = loco.nulls();
    int passesAfterFit = loco.passes();
    assertEquals(chromosomes, nulls.size());

    // Columns to project: 8 genotype-like ones per chromosome in one call; with each chromosome's 2 covariate columns
    // that is 30 columns: in one solve (the cap at this n is 4,096), and again with at most 16 columns per solve,
    // one solve per chromosome (the batching of a large n).
    int q = 8;
    assertEquals(4096, MatrixFreeBinaryNull.maxColumns(n));
    double[][] v = new double[chromosomes][];
    int[] cols = new int[chromosomes];
    for (int c = 0; c < chromosomes; c++) {
      cols[c] = q;
      v[c] = new double[n * q];
      for (int i = 0; i < v[c].length; i++) {
        v[c][i] = rnd.nextInt(3);
      }
    }
    long before = products.passes();
    double[][] batched = loco.projectSamples(v, cols);
    double[][] capped = loco.projectSamples(v, cols, 16);
    assertEquals(loco.passes() - passesAfterFit, products.passes() - before, "passes counted over the solves");

    for (int c = 0; c < chromosomes; c++) {
      BinaryNull nul = nulls.get(c);
      assertTrue(nul.converged(), nul.message());
      assertEquals("LOCO chromosome " + (c + 1), nul.scope());
      assertClose(nul.tau(), tau, 0, 0, "τ kept from the whole-genome fit");
      double[] kc = PlainKinship.k(g, chr, c + 1);
      Plain plain = Plain.pql(kc, tau, x, 2, y, fit.eta());
      double[] eta = new double[n];
      double moved = 0;
      for (int i = 0; i < n; i++) {
        eta[i] = Math.log(nul.mu()[i] / (1 - nul.mu()[i]));
        double linear = x[i] * nul.beta()[0] + x[i + n] * nul.beta()[1] + nul.randomPrediction()[i];
        assertClose(linear, eta[i], 1e-9, 0, "b̂ + Xβ̂ = logit μ̂, chromosome " + (c + 1) + ", sample " + i);
        moved = Math.max(moved, Math.abs(eta[i] - fit.eta()[i]));
      }
      double maxEta = 0;
      for (int i = 0; i < n; i++) {
        maxEta = Math.max(maxEta, Math.abs(eta[i] - plain.eta[i]));
      }
      System.out.printf(Locale.ROOT, "chromosome %d: LOCO η moved up to %.3f from the whole-genome η; matrix-free vs "
          + "dense LOCO η max |diff| %.2e; beta %s vs %s (%d dense steps)%n", c + 1, moved, maxEta,
          java.util.Arrays.toString(nul.beta()), java.util.Arrays.toString(plain.beta), plain.steps);
      assertTrue(moved > 0.01, "LOCO moves η (by " + moved + ")");
      assertClose(eta, plain.eta, 1e-5, 0, "LOCO η, chromosome " + (c + 1));
      assertClose(nul.beta(), plain.beta, 1e-5, 0, "LOCO β, chromosome " + (c + 1));

      double[] expected = new double[n * q];
      Blas.dgemm(false, false, n, q, n, 1.0, plain.projection, n, v[c], n, 0.0, expected, n);
      double[] own = new double[n * q];
      nul.applyProjection(v[c], q, own);
      for (int col = 0; col < q; col++) {
        double norm = 0;
        for (int i = 0; i < n; i++) {
          norm = Math.max(norm, Math.abs(expected[i + col * n]));
        }
        for (int i = 0; i < n; i++) {
          assertClose(batched[c][i + col * n], expected[i + col * n], 1e-4 * norm, 0, "batched P_−c v, chromosome "
              + (c + 1) + ", column " + col + ", row " + i);
          assertClose(capped[c][i + col * n], expected[i + col * n], 1e-4 * norm, 0, "P_−c v, 16 columns per solve, "
              + "chromosome " + (c + 1) + ", column " + col + ", row " + i);
          assertClose(own[i + col * n], expected[i + col * n], 1e-4 * norm, 0, "P_−c v, chromosome " + (c + 1)
              + ", column " + col + ", row " + i);
        }
      }

      // Score and exact variance of every variant of chromosome c, against the dense LOCO null.
      double[] w = new double[n];
      for (int i = 0; i < n; i++) {
        w[i] = nul.mu()[i] * (1 - nul.mu()[i]);
      }
      double[] gc = new double[n * (m / chromosomes)];
      int used = 0;
      for (int vv = 0; vv < m; vv++) {
        if (chrIndex[vv] != c) {
          continue;
        }
        for (int i = 0; i < n; i++) {
          gc[i + used * n] = g[vv][i];
        }
        used++;
      }
      double[] pg = new double[gc.length];
      nul.applyProjection(gc, used, pg);
      double[] pgPlain = new double[gc.length];
      Blas.dgemm(false, false, n, used, n, 1.0, plain.projection, n, gc, n, 0.0, pgPlain, n);
      double[] muPlain = new double[n];
      for (int i = 0; i < n; i++) {
        muPlain[i] = 1 / (1 + Math.exp(-plain.eta[i]));
      }
      for (int t = 0; t < used; t++) {
        double[] col = java.util.Arrays.copyOfRange(gc, t * n, (t + 1) * n);
        double score = adjustedScore(col, x, 2, w, y, nul.mu());
        double scorePlain = adjustedScore(col, x, 2, w, y, muPlain);
        double var = 0;
        double varPlain = 0;
        for (int i = 0; i < n; i++) {
          var += col[i] * pg[i + t * n];
          varPlain += col[i] * pgPlain[i + t * n];
        }
        assertClose(score, scorePlain, 1e-3 * Math.sqrt(varPlain), 0, "T, chromosome " + (c + 1) + ", variant " + t);
        assertClose(var, varPlain, 0, 1e-3, "gᵀP_−c g, chromosome " + (c + 1) + ", variant " + t);
      }
    }
  }

  /** {@code T = g̃ᵀ(y − μ)} with {@code g̃ = g − X(XᵀWX)⁻¹XᵀWg}, written plainly (also for the Spark scan's test). */
  public static double adjustedScore(double[] g, double[] x, int p, double[] w, double[] y, double[] mu) {
    int n = g.length;
    double[] xwx = new double[p * p];
    double[] xwg = new double[p];
    for (int a = 0; a < p; a++) {
      for (int i = 0; i < n; i++) {
        xwg[a] += x[i + a * n] * w[i] * g[i];
        for (int b = 0; b < p; b++) {
          xwx[a + b * p] += x[i + a * n] * w[i] * x[i + b * n];
        }
      }
    }
    double[] inv = org.lmmspark.engine.reml.SmallMatrices.invertSpd(xwx, p);
    double t = 0;
    for (int i = 0; i < n; i++) {
      double fitted = 0;
      for (int a = 0; a < p; a++) {
        for (int b = 0; b < p; b++) {
          fitted += x[i + a * n] * inv[a + b * p] * xwg[b];
        }
      }
      t += (g[i] - fitted) * (y[i] - mu[i]);
    }
    return t;
  }

  /** The dense LOCO null at a fixed τ, written out: η, β and P at the PQL fixed point (also for the Spark scan's test). */
  public record Plain(double[] eta, double[] beta, double[] projection, int steps) {
    public static Plain pql(double[] k, double tau, double[] x, int p, double[] y, double[] eta0) {
      int n = y.length;
      double[] eta = eta0.clone();
      for (int step = 1; step <= 200; step++) {
        double[] z = new double[n];
        double[] sigma = new double[n * n];
        for (int i = 0; i < n; i++) {
          double mu = 1 / (1 + Math.exp(-eta[i]));
          double w = mu * (1 - mu);
          z[i] = eta[i] + (y[i] - mu) / w;
          for (int j = 0; j < n; j++) {
            sigma[i + j * n] = tau * k[i + j * n];
          }
          sigma[i + i * n] += 1 / w;
        }
        assertTrue(Blas.dpotrfLower(n, sigma));
        Blas.dpotriLowerFull(n, sigma); // Σ⁻¹
        double[] sx = new double[n * p];
        Blas.dgemm(false, false, n, p, n, 1.0, sigma, n, x, n, 0.0, sx, n);
        double[] c = new double[p * p];
        Blas.dgemm(true, false, p, p, n, 1.0, x, n, sx, n, 0.0, c, p);
        double[] cInv = org.lmmspark.engine.reml.SmallMatrices.invertSpd(c, p);
        double[] xsz = new double[p];
        Blas.dgemv(true, n, p, 1.0, sx, z, 0.0, xsz);
        double[] beta = new double[p];
        Blas.dgemv(false, p, p, 1.0, cInv, xsz, 0.0, beta);
        double[] r = z.clone();
        Blas.dgemv(false, n, p, -1.0, x, beta, 1.0, r); // z − Xβ
        double[] sr = new double[n];
        Blas.dgemv(false, n, n, 1.0, sigma, r, 0.0, sr);
        double[] next = new double[n];
        Blas.dgemv(false, n, n, tau, k, sr, 0.0, next); // τKΣ⁻¹(z − Xβ)
        Blas.dgemv(false, n, p, 1.0, x, beta, 1.0, next);
        double num = 0;
        double den = 0;
        for (int i = 0; i < n; i++) {
          num += (next[i] - eta[i]) * (next[i] - eta[i]);
          den += next[i] * next[i];
        }
        eta = next;
        if (num / den < 1e-14) {
          // P at this η's weights: Σ⁻¹ − Σ⁻¹X C⁻¹ XᵀΣ⁻¹ (with the final η's W).
          double[] sig = new double[n * n];
          for (int i = 0; i < n; i++) {
            double mu = 1 / (1 + Math.exp(-eta[i]));
            for (int j = 0; j < n; j++) {
              sig[i + j * n] = tau * k[i + j * n];
            }
            sig[i + i * n] += 1 / (mu * (1 - mu));
          }
          return new Plain(eta, beta, PlainGls.projection(sig, x, n, p), step);
        }
      }
      throw new AssertionError("the dense LOCO PQL did not settle");
    }
  }
}
