package org.lmmspark.engine.matfree;

/**
 * Standardized genotypes {@code Z} (N samples × M kept variants, split by chromosome) known through
 * weighted products {@code out_j = Σ_c w_cj Z_c Z_cᵀ v_j}, where {@code Z_c} holds chromosome c's
 * variants, or, for columns asked split, the parts {@code w_cj Z_c Z_cᵀ v_j} of every chromosome separately. Implemented in this JVM ({@link LocalGenotypeProducts}) or as one Spark pass over cached
 * packed blocks (the jobs module). Either way a call is one pass over the genotypes for all k columns.
 */
public interface GenotypeProducts {

  /** N, samples of the fileset (products are over all of them). */
  int samples();

  /** Number of chromosomes C; chromosome indices are 0..C−1. */
  int chromosomeCount();

  /** Kept variants per chromosome, {@code M_c}. */
  long[] variantsPerChromosome();

  /** {@code Σ_{v on c} z_iv²} per chromosome c and sample i: C arrays of N (the diagonal of {@code Z_c Z_cᵀ}). */
  double[][] squareSumsPerChromosome();

  /**
   * {@code out(N×k) = Σ_c Z_c Z_cᵀ V ∘ w}: column j of the result is {@code Σ_c w[c + C·j] Z_c Z_cᵀ v_j}.
   * {@code out} is overwritten.
   *
   * @param weights C×k column-major
   */
  default void multiply(double[] v, int k, double[] weights, double[] out) {
    multiply(v, k, weights, null, out);
  }

  /**
   * As {@link #multiply(double[], int, double[], double[])}, with some columns split by chromosome: a column j
   * with {@code split[j]} gives its C weighted per-chromosome parts {@code w[c + C·j] Z_c Z_cᵀ v_j}
   * (c = 0…C−1, as C output columns) instead of their sum; the other columns give their sum, one output column
   * each. {@code out} holds the outputs in the order of the columns ({@link #outputColumns} in all) and is
   * overwritten. A split column costs the pass what an ordinary one does ({@code Z_bᵀv_j} once per block; every
   * block lies on one chromosome, and its {@code Z_b(Z_bᵀv_j)} is added into that chromosome's output), so the
   * partial sums of all chromosomes take one column of the pass, not C.
   *
   * @param split which columns to split (null: none)
   */
  void multiply(double[] v, int k, double[] weights, boolean[] split, double[] out);

  /**
   * As {@link #multiply(double[], int, double[], boolean[], double[])} over some of the samples: {@code in}
   * (rows.length × k) is placed at the fileset rows {@code rows} with zeros at the others, and {@code out}
   * (rows.length × the output columns) is read back at the same rows; so the operator is {@code Z_cZ_cᵀ} restricted to
   * those samples, as a trait with missing values needs ({@link GenomicRelationshipOperator}). This default copies
   * into and out of N-row blocks of its own; {@link SharedGenotypePasses} places every request straight into its
   * pass's block.
   *
   * @param rows fileset rows of in's and out's rows, each at most once
   */
  default void multiplyRows(int[] rows, double[] in, int k, double[] weights, boolean[] split, double[] out) {
    int bigN = samples();
    int q = requireRowBlocks(rows, in, k, split, out, chromosomeCount());
    double[] full = new double[Math.multiplyExact(bigN, k)];
    scatterRows(rows, in, 0, k, full, bigN, 0);
    double[] res = new double[Math.multiplyExact(bigN, q)];
    multiply(full, k, weights, split, res);
    gatherRows(rows, res, bigN, 0, out, 0, q);
  }

  /** Checks {@link #multiplyRows}'s blocks against its rows; returns the output columns. */
  static int requireRowBlocks(int[] rows, double[] in, int k, boolean[] split, double[] out, int chromosomes) {
    int n = rows.length;
    int q = outputColumns(k, split, chromosomes);
    if (in.length < (long) n * k || out.length < (long) n * q) {
      throw new IllegalArgumentException("multiplyRows: in must hold n×k = " + n + "×" + k + " values, out n×" + q);
    }
    return q;
  }

  /**
   * Columns {@code from … from + count} of {@code in} (rows.length rows) into columns {@code at …} of the
   * {@code bigN}-row block {@code full}, at their rows (the other rows are left as they are).
   */
  static void scatterRows(int[] rows, double[] in, int from, int count, double[] full, int bigN, int at) {
    int n = rows.length;
    for (int j = 0; j < count; j++) {
      int src = (from + j) * n;
      int dst = (at + j) * bigN;
      for (int i = 0; i < n; i++) {
        full[rows[i] + dst] = in[i + src];
      }
    }
  }

  /** Columns {@code at … at + count} of the {@code bigN}-row {@code full}, their rows, into columns {@code from …} of {@code out}. */
  static void gatherRows(int[] rows, double[] full, int bigN, int at, double[] out, int from, int count) {
    int n = rows.length;
    for (int j = 0; j < count; j++) {
      int src = (at + j) * bigN;
      int dst = (from + j) * n;
      for (int i = 0; i < n; i++) {
        out[i + dst] = full[rows[i] + src];
      }
    }
  }

  /** Output columns of a product of k columns of which {@code split} ones are split over C chromosomes. */
  static int outputColumns(int k, boolean[] split, int chromosomes) {
    return outputOffsets(k, split, chromosomes)[k];
  }

  /**
   * Where each column's outputs start in a product's {@code out} (in columns; k + 1 entries, the last the total):
   * C columns for a split column (one per chromosome, in order), one for the others.
   */
  static int[] outputOffsets(int k, boolean[] split, int chromosomes) {
    if (split != null && split.length < k) {
      throw new IllegalArgumentException(split.length + " split flags for " + k + " columns");
    }
    int[] offsets = new int[k + 1];
    for (int j = 0; j < k; j++) {
      offsets[j + 1] = Math.addExact(offsets[j], split != null && split[j] ? chromosomes : 1);
    }
    return offsets;
  }

  /** Passes over the genotypes so far: one per {@link #multiply} call, or more where one call runs its columns in several. */
  long passes();
}
