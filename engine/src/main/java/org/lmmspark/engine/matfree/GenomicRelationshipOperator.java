package org.lmmspark.engine.matfree;

import java.util.Arrays;
import org.lmmspark.engine.reml.SymmetricOperator;

/**
 * The genomic relationship matrix as an operator, never formed: {@code K = Z Zᵀ / M} over the kept
 * variants, restricted to the analysed samples {@code rows} (indices into the fileset's samples, in
 * analysis order), optionally leaving one chromosome out, {@code K_{−c} = Z_{−c} Z_{−c}ᵀ / (M − M_c)}.
 *
 * <p>A product {@code K V} for n×k {@code V} is one {@link GenotypeProducts#multiply} pass: V is
 * placed into the fileset's N rows (zeros for samples not analysed), multiplied, and the analysed
 * rows are read back. {@link #applyLoco} gives each column its own left-out chromosome in the same
 * single pass, so LOCO costs no extra pass over the genotypes; {@link #applyPerChromosome} gives a column's
 * products with every chromosome separately, from which its product with every {@code K_{−c}} follows.
 *
 * <p>With no missing calls K equals GCTA's GRM ({@code --make-grm}); with missing calls it is the
 * mean-imputed form ({@code Z Zᵀ/M} with missing z = 0, as BOLT-LMM), which differs from GCTA's
 * per-pair {@code 1/M_jk} scaling by the missing rate. Memory on the driver: {@code O(N·k)} per product
 * plus {@code C·N} doubles of diagonal sums; the N×N matrix is never held.
 */
public final class GenomicRelationshipOperator implements SymmetricOperator {
  private final GenotypeProducts products;
  private final int[] rows;
  private final int excluded;
  private final long[] perChromosome;
  private final long total;

  /**
   * @param rows     the analysed samples as fileset rows
   * @param excluded chromosome index left out, or −1 for all chromosomes
   */
  public GenomicRelationshipOperator(GenotypeProducts products, int[] rows, int excluded) {
    this.products = products;
    this.rows = rows.clone();
    this.excluded = excluded;
    this.perChromosome = products.variantsPerChromosome();
    long t = 0;
    for (long m : perChromosome) {
      t += m;
    }
    this.total = t;
    if (excluded >= perChromosome.length) {
      throw new IllegalArgumentException("chromosome index " + excluded + " of " + perChromosome.length);
    }
    if (variantsWithout(excluded) == 0) {
      throw new IllegalArgumentException("no variants left " + (excluded < 0 ? "at all" : "outside chromosome " + excluded));
    }
    for (int r : rows) {
      if (r < 0 || r >= products.samples()) {
        throw new IllegalArgumentException("sample row " + r + " outside the fileset's " + products.samples());
      }
    }
  }

  /** The same samples with chromosome {@code c} left out (−1: none). */
  public GenomicRelationshipOperator leaveOut(int c) {
    return new GenomicRelationshipOperator(products, rows, c);
  }

  /** M, or {@code M − M_c} when chromosome c is left out. */
  public long variantsWithout(int c) {
    return c < 0 ? total : total - perChromosome[c];
  }

  public GenotypeProducts products() {
    return products;
  }

  /** The analysed samples as fileset rows, in analysis order (a copy). */
  public int[] rows() {
    return rows.clone();
  }

  /** The chromosome index left out, or −1 for none. */
  public int excluded() {
    return excluded;
  }

  @Override
  public int size() {
    return rows.length;
  }

  @Override
  public void apply(double[] in, int k, double[] out) {
    int[] ex = new int[k];
    Arrays.fill(ex, excluded);
    applyLoco(in, k, ex, out);
  }

  /**
   * {@code out_j = K_{−c_j} in_j} for each column j with {@code c_j = excludedPerColumn[j]} (−1: the
   * full K), all in one pass.
   */
  public void applyLoco(double[] in, int k, int[] excludedPerColumn, double[] out) {
    int n = rows.length;
    int chromosomes = perChromosome.length;
    if (in.length < (long) n * k || out.length < (long) n * k || excludedPerColumn.length < k) {
      throw new IllegalArgumentException("apply: blocks must hold n×k = " + n + "×" + k + " values");
    }
    double[] w = new double[chromosomes * k];
    for (int j = 0; j < k; j++) {
      int c = excludedPerColumn[j];
      double scale = 1.0 / variantsWithout(c);
      for (int d = 0; d < chromosomes; d++) {
        w[d + chromosomes * j] = d == c ? 0 : scale;
      }
    }
    products.multiplyRows(rows, in, k, w, null, out);
  }

  /**
   * The per-chromosome parts {@code S_dj = Z_d Z_dᵀ in_j} (unscaled, over this operator's samples) of every
   * chromosome d, for each column j, all from one column of ONE pass ({@link GenotypeProducts#multiply(double[],
   * int, double[], boolean[], double[])} with the columns split): {@code out} is n×(C·k), column {@code d + C·j}
   * holding {@code S_dj}. Then {@code K_{−c} in_j = (Σ_d S_dj − S_cj)/(M − M_c)} for every c, C LOCO products for
   * the price of one (the left-out chromosome of this operator plays no part).
   */
  public void applyPerChromosome(double[] in, int k, double[] out) {
    int n = rows.length;
    int chromosomes = perChromosome.length;
    if (in.length < (long) n * k || out.length < (long) n * chromosomes * k) {
      throw new IllegalArgumentException("applyPerChromosome: in must hold n×k = " + n + "×" + k + " values, out n×Ck = "
          + n + "×" + chromosomes * k);
    }
    double[] w = new double[chromosomes * k];
    Arrays.fill(w, 1.0);
    boolean[] split = new boolean[k];
    Arrays.fill(split, true);
    products.multiplyRows(rows, in, k, w, split, out);
  }

  /**
   * {@code outA = K_a inA} (n_a×k_a) and {@code outB = K_b inB} (n_b×k_b) for two operators over the same products
   * (each over its own samples, each with its own left-out chromosome) in ONE pass: for a computation that
   * extends runs on two restrictions of K at once (a trait's own probes and runs shared with other traits).
   */
  public static void applyJointly(GenomicRelationshipOperator a, double[] inA, int ka, double[] outA,
      GenomicRelationshipOperator b, double[] inB, int kb, double[] outB) {
    if (a.products != b.products) {
      throw new IllegalArgumentException("applyJointly: the operators read different genotype products");
    }
    int bigN = a.products.samples();
    int chromosomes = a.perChromosome.length;
    int k = ka + kb;
    double[] full = new double[Math.multiplyExact(bigN, k)];
    double[] w = new double[chromosomes * k];
    for (int j = 0; j < k; j++) {
      GenomicRelationshipOperator op = j < ka ? a : b;
      GenotypeProducts.scatterRows(op.rows, j < ka ? inA : inB, j < ka ? j : j - ka, 1, full, bigN, j);
      double scale = 1.0 / op.variantsWithout(op.excluded);
      for (int d = 0; d < chromosomes; d++) {
        w[d + chromosomes * j] = d == op.excluded ? 0 : scale;
      }
    }
    double[] res = new double[full.length];
    a.products.multiply(full, k, w, res);
    for (int j = 0; j < k; j++) {
      GenomicRelationshipOperator op = j < ka ? a : b;
      GenotypeProducts.gatherRows(op.rows, res, bigN, j, j < ka ? outA : outB, j < ka ? j : j - ka, 1);
    }
  }

  /** The diagonal of K (or K_{−c}) over the analysed samples, from the cached square sums. */
  public double[] diagonal() {
    double[][] sq = products.squareSumsPerChromosome();
    double scale = 1.0 / variantsWithout(excluded);
    double[] d = new double[rows.length];
    for (int c = 0; c < sq.length; c++) {
      if (c == excluded) {
        continue;
      }
      for (int i = 0; i < rows.length; i++) {
        d[i] += sq[c][rows[i]] * scale;
      }
    }
    return d;
  }

  /** Refused: the point of this operator is that the N×N matrix is never formed. */
  @Override
  public double[] toDense() {
    throw new UnsupportedOperationException("the matrix-free genomic relationship operator is never formed densely "
        + "(n = " + rows.length + "); use a GRM (--grm) for the dense and spectral solvers");
  }
}
