package org.lmmspark.engine.matfree;

import org.lmmspark.engine.linalg.Blas;

/**
 * The numerics of one genotype block's share of a relationship-matrix product:
 * {@code out += Z_b · diag-scaled(Z_bᵀ V)}, i.e. for each column {@code j} of the block of vectors
 * {@code V} (N×k), {@code out_j += w_j · Z_b Z_bᵀ v_j}, with {@code Z_b} the standardized N×m_b
 * genotypes of the block (decoded on the fly from 2 bits) and {@code w_j} a per-column weight
 * ({@code 1/M} for {@code K = ZZᵀ/M}; {@code 0} drops the block from column j, which is how a
 * leave-one-chromosome-out column excludes its chromosome: such columns are left out of the block's GEMMs).
 *
 * <p>Work: {@code T = Z_bᵀV} ({@code m_b × k}) and {@code Z_b T}, {@code 4·N·m_b·k} flops per block in
 * SGEMMs (k counting only the columns not weighted 0 on the block), so a pass over all blocks is {@code 4·N·M·k}
 * flops, less {@code 4·N·M_c} for each column leaving out chromosome c; and two decodes of the block
 * ({@code O(N·m_b)} each).
 *
 * <p><b>Tiles that stay in cache.</b> With k ≈ 40 columns every genotype value takes part in only k
 * multiply-adds per SGEMM, so OpenBLAS's copy of its large operand into its packed layout weighs as
 * much as the arithmetic: fed a decoded block from memory (N·m_b floats, hundreds of MB at
 * N = 100,000) SGEMM ran at 45–50 GFLOP/s per core here, fed a tile that was just written into L2
 * at 68–75 (the machine's peak: 65–79; measured by {@code lmmspark bench-pass}, docs/benchmarks.md).
 * So the block is taken in variant chunks of at most {@value #VARIANT_CHUNK} and, within one, in tiles
 * of {@value #ROW_CHUNK} samples × the chunk's variants (≤ 1 MB of floats): first every tile is
 * decoded and {@code Tᵀ += V_rowsᵀ · tile} (one SGEMM each, summed in double), then, T complete, every
 * tile is decoded again and {@code out_rows += tile · T} (one SGEMM each). Decoding twice (~0.3 ns per value,
 * below) costs less than streaming a decoded block through memory
 * twice, and the task needs no N·m_b buffer (≈ 1 MB of workspace whatever N).
 *
 * <p><b>A tile's SGEMMs at small k.</b> At these shapes OpenBLAS's copy of the tile into its packed panels
 * costs as much as the k multiply-adds (one 512 × 512 call: a fixed ~0.45 ns per value, measured), and two
 * choices cut it. (1) {@code Z_bᵀV} is computed transposed, {@code Tᵀ(k × count) = V_rowsᵀ · tile} ({@code ws.t},
 * {@code ws.tSum} are k × count): OpenBLAS copies an un-transposed right-hand operand fastest (one call, k = 19:
 * 50–52 GFLOP/s per CPU-s against 35–36 as {@code tileᵀ · V_rows}; k = 44: 69–71 against 55–59), bit for bit the
 * same sums. (2) Where the BLAS has small-matrix kernels ({@link Blas#smallMatrixKernels()}: the bundled OpenBLAS
 * on AVX-512, for calls of {@code m·n·k ≤ 10⁶}), which read the operands in place with no copy, both products
 * are cut into such calls: {@code Tᵀ} in calls of {@link #transposeGemmVariants 32 or 16 of the tile's variants}
 * and {@code tile · T} in calls of {@link #productGemmRows ≤ 10⁶/(k·count) samples}. Measured on 512 × 512 tiles
 * (GFLOP/s per CPU-s, two runs each, loaded machine): k = 19 79–83 ({@code Tᵀ}) and 78–88 ({@code tile · T})
 * against 54–57 and 45–48 in one call; k = 44 78–80 and 84–89 against 60–70 and 57–61; from k ≈ 64 one call is
 * as fast. Every entry is still one dot product summed in float, over the same ≤ {@value #ROW_CHUNK} samples or
 * ≤ {@value #VARIANT_CHUNK} variants, in the small kernel's order: the outputs differ from the one-call form by
 * float rounding (3–5·10⁻⁷ of a column's norm at N = 20,000), and their error against a double triple loop is
 * no larger (GenotypeProductKernelTest, k = 4, 19, 44: 3.0–3.4·10⁻⁷ against 3.8·10⁻⁷ before). For
 * {@code tile · T} the tile as right-hand operand ({@code (Z_b T)ᵀ = Tᵀ · tileᵀ}) would need a sample-major
 * decode, which runs at less than half the speed of the variant-major one in scalar Java (0.6–1.0 against
 * 1.5–2.2 Gvalues/s).
 *
 * <p><b>Centred counts instead of standardized values (2-bit blocks).</b> A tile holds {@code d = x − r_v}, the A1
 * count less {@code r_v = round(2p_v)} (so {@code |d| ≤ 2} and d has no large common offset), exact in float, and
 * {@code z = s_v·d + β_v} ({@link PackedGenotypeBlock.RawCoding}; missing calls are written as the d that makes z
 * their value, 0). Then {@code d} depends on the {@code .bed} byte and r only, so one table of 256 bytes × 3 r
 * (12 KB, in L1 for every variant) decodes four bytes per step with 8-byte stores ({@link RawDecode}), and the
 * standardization moves into the small products: {@code Z_cᵀV = S(D_cᵀV) + β(1ᵀV)} and
 * {@code Z_c t = D_c(S t) + 1(βᵀt)}, the corrections in double ({@code k·count} per chunk). The decode went from
 * the per-variant nibble tables' 1.5–2.4 to 2.7–3.3 Gvalues/s per CPU-s on the same blocks (N = 20,000, loaded
 * machine). Against a V column with a mean m, the sums of {@code d·v} would drift by ~m·δ per term (δ = 2p − r,
 * up to ±0.5), so such columns are centred before {@code D_cᵀV} and {@code (D_cᵀ1)·m} added back exactly
 * ({@link #prepare}). 8-bit dosage blocks keep the standardized decode ({@link PackedGenotypeBlock#decodeRows}).
 *
 * <p><b>Wide V.</b> From {@value #WIDE_COLUMNS} columns on (LOCO solves: (1 + p)·C + S columns) each value
 * takes part in enough multiply-adds that OpenBLAS's own packing is amortized and the second decode is
 * not: the chunk is decoded once over all N samples ({@code 4·N·VARIANT_CHUNK} bytes, 200 MB at
 * N = 100,000; fewer variants above, {@link #WIDE_CHUNK_FLOATS}) and both SGEMMs read it from memory, {@code Z_bᵀV} over row spans of
 * {@value #WIDE_ROW_CHUNK} samples. Measured at N = 20,000 on a loaded machine, the two forms run
 * alternately in one JVM (medians of 15, GFLOP/s per CPU-s): tiles 23.2 against 21.3 for one decode at
 * k = 19, 41.7 against 40.0 at k = 44; at k = 154 tiles 59 against 66–70 ({@code bench-pass}), at k = 80
 * and 112 the two within the spread (docs/benchmarks.md).
 *
 * <p><b>Precision.</b> The GEMMs run in single precision (SGEMM: twice the flops per cycle of DGEMM
 * and half the memory traffic), with every sum that would be long kept short and the long sums
 * done in double: {@code T} is summed over tiles of {@value #ROW_CHUNK} samples, each tile's SGEMM
 * result added into a double {@code T}; {@code Z_b T} sums only a chunk's (≤ {@value #VARIANT_CHUNK})
 * variants in float before it is added into the caller's double accumulator (the wide form: up to
 * {@value #WIDE_ROW_CHUNK} variants, the length of its {@code Z_bᵀV} sums, {@link #wideChunksInFloat}), and
 * chunks, blocks and partitions are summed in double. Rounding then has three sources: z (8-bit blocks; for 2-bit
 * blocks {@code s·t} and the missing calls' d) and v rounded to float (relative 6·10⁻⁸ each, i.e. a K perturbed by ~10⁻⁷
 * relative; for 8-bit blocks still exactly symmetric positive semi-definite because the same rounded Z is used on
 * both sides, for 2-bit ones symmetric to rounding), and float summation
 * of at most {@code L = max(ROW_CHUNK, VARIANT_CHUNK)} terms ({@value #WIDE_ROW_CHUNK} in the wide
 * form; random-walk error ~{@code u·√L} of the sum of the terms' magnitudes, u = 6·10⁻⁸). Measured against a plain double triple loop
 * (GenotypeProductKernelTest: n = 4,500 in nine tiles, blocks of two chunks) the norm-wise relative
 * error of {@code K V} is 2.5–4·10⁻⁷ (a few u, most of it the rounding of z and v) and no entry is off by
 * more than 6·10⁻⁷ of the column's largest one. Conjugate gradients checks its
 * recurrence residual, which keeps falling whatever the product error; the true residual
 * stalls near {@code ε·κ(V)} with ε the product error and κ(V) ≤ 1 + λ_max(K)·σ²_g/σ²_e (tens
 * for genetic data), i.e. ≤ 1e-5: the solutions, and the traces and quadratic forms made from
 * them, are accurate to that, far below the Monte Carlo error of the stochastic traces (~1e-2
 * relative), and the REML estimates agree with double-precision products to ~1e-5
 * (StochasticRemlTest).
 *
 * <p>Memory: the caller's {@link Workspace}: one tile ({@code 4·ROW_CHUNK·VARIANT_CHUNK} bytes), the
 * chunk's decode tables (8-bit: none; 2-bit: the block's {@link PackedGenotypeBlock.RawCoding}, 24 bytes per variant
 * and 4 per missing call, built once), {@code 4·ROW_CHUNK·k} bytes for the centred rows of V, {@code 12·VARIANT_CHUNK·k} bytes for T and {@code 4·ROW_CHUNK·k} for a tile's
 * product; in the wide form the decoded chunk (≤ 256 MB) and an N×k float product
 * instead of the tile's; {@link #transposeProduct} adds the block's double T ({@code 8·m_b·k}); when some columns
 * are weighted 0 on a block, a copy of the others ({@code 4·N·k} bytes).
 */
public final class GenotypeProductKernel {
  /**
   * Samples per decoded tile: the most summed in one single-precision GEMM for {@code Z_bᵀV} before the
   * double accumulation, a multiple of 4 (tiles start on a {@code .bed} byte). At 256 the decode's
   * per-variant overhead (a 64-byte run per variant and tile) made it 1.5× slower per value.
   */
  public static final int ROW_CHUNK = 512;
  /**
   * Most variants per chunk: a tile of {@value #ROW_CHUNK} × 512 floats is 1 MB (this machine's L2 per
   * core), and 512 is a long enough inner dimension for {@code Z_b T}. Measured over chunks of 128–2048
   * variants and tiles of 64–1024 samples (k = 44, one thread): tiles of 0.25–1 MB ran both SGEMMs at
   * 68–75 GFLOP/s per CPU-s, tiles of 2 MB and more at 45–60.
   */
  public static final int VARIANT_CHUNK = 512;
  /** Columns from which a chunk is decoded once over all samples instead of twice in tiles (see above). */
  public static final int WIDE_COLUMNS = 80;
  /** Samples per single-precision {@code Z_bᵀV} sum in the wide form (then summed in double). */
  public static final int WIDE_ROW_CHUNK = 4096;
  /**
   * Most floats of the wide form's decoded chunk (256 MB, the bound of the decoded block before the tiles): at
   * N = 100,000 a chunk is 512 variants, at N = 500,000 it is 134, so a task's memory does not grow with N.
   */
  static final long WIDE_CHUNK_FLOATS = 64L << 20;
  /**
   * Largest {@code m·n·k} of the SGEMMs that OpenBLAS (0.3.x on AVX-512) runs in its small-matrix kernels,
   * which read the operands in place instead of copying them into packed panels. Where the BLAS has them
   * ({@link Blas#smallMatrixKernels()}), a tile's products are cut into calls of at most this size where that is
   * faster (see {@link #transposeGemmVariants}, {@link #productGemmRows}); elsewhere they stay one call each.
   */
  static final double SMALL_GEMM_SIZE = 1e6;

  /**
   * Variants of a tile per SGEMM of {@code Tᵀ = V_rowsᵀ · tile} (k × variants × {@value #ROW_CHUNK} samples): 32 up
   * to k = 37 and 16 up to k = 60, else the whole chunk. With a transposed left operand OpenBLAS seems to take only
   * calls of {@code m·n ≤ 1200} (here k × variants) into its small-matrix kernels (fast at 36 × 32 and 60 × 16,
   * as slow as packing at 40 × 32 and 79 × 16), and there they beat one call; at k = 64 one call is as fast.
   * Measured on tiles of 512 × 512 (GFLOP/s per CPU-s, two runs): k = 19 32 variants 79–83, one call 54–57;
   * k = 36 32 variants 86–101, one call 75–80; k = 40 32 variants 48–57, 16 83–95, one call 74–81; k = 60
   * 16 variants 87–95, one call 75–77; k = 64 16 variants 78–79, one call 82–84.
   */
  public static int transposeGemmVariants(int k, int count) {
    if (!Blas.smallMatrixKernels()) {
      return count;
    }
    return k <= 37 ? Math.min(32, count) : k <= 60 ? Math.min(16, count) : count;
  }

  /**
   * Samples of a tile per SGEMM of {@code tile · T} (samples × k × count): the most, a multiple of 16, within
   * {@link #SMALL_GEMM_SIZE} (the small-matrix kernels), else the whole tile. Measured on 512 × 512 tiles
   * (GFLOP/s per CPU-s, two runs): at k = 19 96 samples 78–88, one call 45–48; at k = 44 32 samples 84–89, one
   * call 57–61; at k = 64 and 79 16 samples and one call within each other's spread (67–82).
   */
  public static int productGemmRows(int k, int count, int rows) {
    if (!Blas.smallMatrixKernels()) {
      return rows;
    }
    int most = (int) (SMALL_GEMM_SIZE / ((double) k * count)) / 16 * 16;
    return most >= 16 ? Math.min(most, rows) : rows;
  }

  private GenotypeProductKernel() {}

  /**
   * Reusable buffers of one task; grows as column counts need. Also keeps where the task's products
   * spent their time (a few clock reads per tile, against GEMMs of {@code 2·ROW_CHUNK·VARIANT_CHUNK·k}
   * flops): what {@code lmmspark bench-pass} reports.
   */
  public static final class Workspace {
    float[] tile = new float[0];
    /** The columns of V not weighted 0 on the block, when some are (n × their number). */
    float[] liveColumns = new float[0];
    /** Wide form only: the chunk decoded over all samples (n × chunk). */
    float[] chunk = new float[0];
    float[] tables;
    float[] t = new float[0];
    double[] tSum = new double[0];
    double[] tBlock = new double[0];
    float[] product = new float[0];
    /** 2-bit blocks: {@code Σ_i v_ij} of the product's V (double). */
    double[] columnSum = new double[0];
    /** 2-bit blocks: what each column of V is centred by before {@code Z_cᵀV} (its mean, or 0; see prepare). */
    double[] columnShift = new double[0];
    boolean anyShift;
    /** 2-bit blocks: each column's {@code Σ_v β_v t_vj} over a chunk, added to every row of {@code Z_c t}. */
    double[] shift = new double[0];
    /** 2-bit blocks: a tile's (or wide span's) rows of V less the column means, rows × k. */
    float[] centred = new float[0];
    /** 2-bit blocks: where each variant of the chunk resumes its missing calls, tile after tile. */
    int[] cursor = new int[VARIANT_CHUNK];
    /** Nanoseconds decoding (2-bit codes into centred counts, 8-bit into standardized floats), both decodes per tile. */
    public long decodeNanos;
    /** Nanoseconds in the SGEMMs {@code Z_bᵀV} (all tiles) and {@code Z_b T}. */
    public long transposeGemmNanos;
    public long productGemmNanos;
    /** Nanoseconds adding float results into the double sums (T over tiles, each tile's product into out). */
    public long accumulateNanos;
    /** Flops of the SGEMMs, {@code 2·N·m_b·k} each. */
    public double flops;

    /** Adds one chunk's times and flops ({@code transpose}: the GEMM was {@code Z_bᵀV}, else {@code Z_b T}). */
    void record(long decoding, long gemm, boolean transpose, long adding, double gemmFlops) {
      decodeNanos += decoding;
      if (transpose) {
        transposeGemmNanos += gemm;
      } else {
        productGemmNanos += gemm;
      }
      accumulateNanos += adding;
      flops += gemmFlops;
    }

    void ensure(int n, int k) {
      boolean wide = k >= WIDE_COLUMNS;
      if (wide && chunk.length < (long) n * chunkLimit(n, k)) {
        chunk = new float[Math.multiplyExact(n, chunkLimit(n, k))];
      }
      if (!wide && tile.length < ROW_CHUNK * VARIANT_CHUNK) {
        tile = new float[ROW_CHUNK * VARIANT_CHUNK];
      }
      if (t.length < VARIANT_CHUNK * k) {
        t = new float[VARIANT_CHUNK * k];
        tSum = new double[VARIANT_CHUNK * k];
      }
      if (columnSum.length < k) {
        columnSum = new double[k];
        columnShift = new double[k];
        shift = new double[k];
      }
      if (centred.length < (wide ? WIDE_ROW_CHUNK : ROW_CHUNK) * k) {
        centred = new float[(wide ? WIDE_ROW_CHUNK : ROW_CHUNK) * k];
      }
      long productFloats = (long) (wide ? n : ROW_CHUNK) * k;
      if (product.length < productFloats) {
        product = new float[Math.toIntExact(productFloats)];
      }
    }
  }

  /** V rounded to single precision once per product (not once per block). */
  public static float[] toFloat(double[] v, int length) {
    return toFloat(v, 0, length);
  }

  /** As above for {@code v[from … from + length)} (some columns of a column-major V). */
  public static float[] toFloat(double[] v, int from, int length) {
    return toFloat(v, from, length, new float[length]);
  }

  /** As above, into the first {@code length} values of {@code into} (a pass's buffer used again); returns it. */
  public static float[] toFloat(double[] v, int from, int length, float[] into) {
    for (int i = 0; i < length; i++) {
      into[i] = (float) v[from + i];
    }
    return into;
  }

  /**
   * Most variants per chunk for n samples and k columns: {@link #VARIANT_CHUNK}, and in the wide form fewer when
   * the decoded chunk would exceed {@link #WIDE_CHUNK_FLOATS} (at least 16).
   */
  public static int chunkLimit(int n, int k) {
    return k < WIDE_COLUMNS ? VARIANT_CHUNK
        : (int) Math.max(16, Math.min(VARIANT_CHUNK, WIDE_CHUNK_FLOATS / Math.max(1, n)));
  }

  /** Variants per chunk when a block of {@code m} is cut into equal chunks of at most {@code most}. */
  public static int chunkVariants(int m, int most) {
    int chunks = (m + most - 1) / most;
    return chunks == 0 ? 0 : (m + chunks - 1) / chunks;
  }

  /**
   * {@code T(m_b×k) = Z_bᵀ V}, decoding the block tile by tile, each tile's SGEMM added into a double T.
   * Returns the workspace's T (m_b×k column-major, valid until the workspace is used again): column j
   * holds {@code Σ_i z_iv v_ij} for each variant v of the block (loadings, projections).
   *
   * @param v n×k column-major in single precision ({@link #toFloat})
   */
  public static double[] transposeProduct(PackedGenotypeBlock block, float[] v, int k, Workspace ws) {
    int n = block.n;
    int m = block.m;
    if (v.length < (long) n * k) {
      throw new IllegalArgumentException("transposeProduct: V must hold n×k = " + n + "×" + k + " values");
    }
    ws.ensure(n, k);
    if (ws.tBlock.length < m * k) {
      ws.tBlock = new double[m * k];
    }
    PackedGenotypeBlock.RawCoding coding = prepare(block, v, k, ws);
    int step = chunkVariants(m, chunkLimit(n, k));
    for (int from = 0; from < m; from += step) {
      int count = Math.min(step, m - from);
      if (coding == null) {
        ws.tables = block.decodeTables(from, count, ws.tables);
      }
      transposeChunk(block, coding, from, count, v, k, ws);
      double[] tSum = ws.tSum;
      for (int c = 0; c < count; c++) {
        for (int j = 0; j < k; j++) {
          ws.tBlock[from + c + j * m] = tSum[j + c * k];
        }
      }
    }
    return ws.tBlock;
  }

  /**
   * {@code out(n×k) += Z_b · (Z_bᵀ V ∘ w)} (column-major; {@code columnWeight[j]} scales column j).
   *
   * @param v   n×k column-major in single precision ({@link #toFloat}), n = {@code block.n}
   * @param out n×k double accumulator
   */
  public static void multiplyAdd(PackedGenotypeBlock block, float[] v, int k, double[] columnWeight, double[] out,
      Workspace ws) {
    multiplyAdd(block, v, k, columnWeight, null, out, ws);
  }

  /**
   * As above, column j's product added into column {@code target[j]} of {@code out} instead of column j: how a
   * product split by chromosome ({@link GenotypeProducts#multiply(double[], int, double[], boolean[], double[])})
   * routes each block's {@code Z_b(Z_bᵀv_j)} to its chromosome's column, at no extra GEMM work.
   *
   * @param target output column of each input column (null: column j into column j); {@code out} must hold
   *               n × (the largest target + 1) values
   */
  public static void multiplyAdd(PackedGenotypeBlock block, float[] v, int k, double[] columnWeight, int[] target,
      double[] out, Workspace ws) {
    int n = block.n;
    int m = block.m;
    int outColumns = k;
    if (target != null) {
      if (target.length < k) {
        throw new IllegalArgumentException("multiplyAdd: " + target.length + " output columns for k = " + k);
      }
      outColumns = 0;
      for (int j = 0; j < k; j++) {
        if (target[j] < 0) {
          throw new IllegalArgumentException("multiplyAdd: output column " + target[j]);
        }
        outColumns = Math.max(outColumns, target[j] + 1);
      }
    }
    if (v.length < (long) n * k || out.length < (long) n * outColumns || columnWeight.length < k) {
      throw new IllegalArgumentException("multiplyAdd: V must hold n×k = " + n + "×" + k + " values, out n×"
          + outColumns + " and the weights k");
    }
    int live = 0;
    for (int j = 0; j < k; j++) {
      live += columnWeight[j] != 0 ? 1 : 0;
    }
    if (live == 0 || m == 0) {
      return;
    }
    if (live < k) {
      // The columns weighted 0 here (a LOCO column on its own chromosome's blocks) are left out of both GEMMs: the
      // others copied into the workspace (N·live floats, against 4·N·m_b·live flops), each still routed to its output.
      if (ws.liveColumns.length < (long) n * live) {
        ws.liveColumns = new float[Math.multiplyExact(n, live)];
      }
      double[] liveWeight = new double[live];
      int[] liveTarget = new int[live];
      for (int j = 0, at = 0; j < k; j++) {
        if (columnWeight[j] != 0) {
          System.arraycopy(v, j * n, ws.liveColumns, at * n, n);
          liveWeight[at] = columnWeight[j];
          liveTarget[at++] = target == null ? j : target[j];
        }
      }
      v = ws.liveColumns;
      k = live;
      columnWeight = liveWeight;
      target = liveTarget;
    }
    ws.ensure(n, k);
    PackedGenotypeBlock.RawCoding coding = prepare(block, v, k, ws);
    int step = chunkVariants(m, chunkLimit(n, k));
    // The wide form sums consecutive chunks' Z_c t in float, in the SGEMM itself, up to WIDE_ROW_CHUNK variants (the
    // length of its Z_bᵀV sums), before they go into the double accumulator: see wideChunksInFloat.
    int inFloat = k >= WIDE_COLUMNS ? wideChunksInFloat(step) : 1;
    for (int from = 0, chunk = 0; from < m; from += step, chunk++) {
      int count = Math.min(step, m - from);
      if (coding == null) {
        ws.tables = block.decodeTables(from, count, ws.tables);
      }
      transposeChunk(block, coding, from, count, v, k, ws);
      double[] tSum = ws.tSum;
      float[] t = ws.t;
      double[] shift = ws.shift;
      boolean first = chunk % inFloat == 0;
      boolean last = chunk % inFloat == inFloat - 1 || from + step >= m;
      if (first) {
        java.util.Arrays.fill(shift, 0, k, 0.0);
      }
      // Weighted, rounded to float and back to count × k for tile · T; 2-bit: z = s·d + β, so
      // Z_c t = D_c (s ∘ t) + 1 (βᵀ t), the first an SGEMM over the centred counts, the second a shift per column.
      for (int c = 0; c < count; c++) {
        int o = c * k;
        double scale = coding == null ? 1 : coding.scale[from + c];
        double offset = coding == null ? 0 : coding.offset[from + c];
        for (int j = 0; j < k; j++) {
          double tw = tSum[o + j] * columnWeight[j];
          t[c + j * count] = (float) (tw * scale);
          shift[j] += offset * tw;
        }
      }
      productChunk(block, coding, from, count, k, target, out, ws, first, last);
    }
  }

  /**
   * Chunks of {@code step} variants whose products the wide form sums in float before adding them into the double
   * accumulator: as many as make {@link #WIDE_ROW_CHUNK} variants (8 of 512; a block ends them sooner, 2,048 variants
   * by default), so that its float sums are no longer than those of its {@code Z_bᵀV} over row spans. Why: at k in
   * the hundreds (LOCO solves) each chunk's N×k float product was added into the N×k double output on its own,
   * 0.24 GB of memory traffic per chunk at N = 20,000 and k = 600, and OpenBLAS first zeroed the product for
   * {@code beta = 0}: 5 % of 20 traits' {@code assoc --loco} run, where the SGEMMs are 40 %.
   */
  static int wideChunksInFloat(int step) {
    return Math.max(1, WIDE_ROW_CHUNK / Math.max(1, step));
  }

  /**
   * A 2-bit block's {@link PackedGenotypeBlock.RawCoding} (its tiles hold centred counts d, {@code z = s·d + β}) with
   * {@code ws.columnSum} set to V's column sums, which {@code Z_cᵀ V = S (D_cᵀ V) + β (1ᵀ V)} needs, and
   * {@code ws.columnShift} to the means of the columns whose mean exceeds a quarter of their standard deviation (0
   * for the others); null for a block decoded to standardized values ({@link PackedGenotypeBlock#decodeRows}).
   *
   * <p>Why centre those columns: a variant's counts d have a mean (up to ±0.5, the distance of 2p from the nearest
   * integer) where z has none, so against a column with a mean m the float sums of {@code d·v} drift by ~m·δ per term
   * and their rounding grows with the partial sums (GenotypeProductKernelTest, columns with m = 3 sd: 1.3–2.1·10⁻⁶ of
   * Zᵀv's norm in tiles and 5–9·10⁻⁶ in the wide form's sums of 4,096, against 1.0–1.6·10⁻⁶ for standardized
   * values). Sums over {@code V − 1mᵀ} have no drift, and {@code D_cᵀ 1 m ᵀ} is added back in double from the exact
   * {@link PackedGenotypeBlock.RawCoding#countSum}. Columns of mean ≈ 0 (probes) are left as they are: centring
   * rounds V once more (u·|v| per value), which for them would double the error.
   */
  private static PackedGenotypeBlock.RawCoding prepare(PackedGenotypeBlock block, float[] v, int k, Workspace ws) {
    PackedGenotypeBlock.RawCoding coding = block.rawCoding();
    ws.anyShift = false;
    if (coding != null) {
      int n = block.n;
      for (int j = 0; j < k; j++) {
        double sum = 0;
        double squares = 0;
        for (int i = j * n, end = i + n; i < end; i++) {
          sum += v[i];
          squares += (double) v[i] * v[i];
        }
        double mean = sum / n;
        double variance = Math.max(0, squares / n - mean * mean);
        ws.columnSum[j] = sum;
        ws.columnShift[j] = 16 * mean * mean > variance ? mean : 0;
        ws.anyShift |= ws.columnShift[j] != 0;
      }
    }
    return coding;
  }

  /**
   * {@code ws.tSum(k×count) = (Z_cᵀ V)ᵀ} for the chunk c = variants {@code [from, from + count)}, tables already
   * in {@code ws.tables}: each tile of {@link #ROW_CHUNK} samples decoded, one SGEMM, added in double; in the
   * wide form the chunk is decoded once into {@code ws.chunk} (kept for {@link #productChunk}) and the
   * SGEMMs take row spans of {@link #WIDE_ROW_CHUNK} of it.
   */
  private static void transposeChunk(PackedGenotypeBlock block, PackedGenotypeBlock.RawCoding coding, int from,
      int count, float[] v, int k, Workspace ws) {
    int n = block.n;
    boolean wide = k >= WIDE_COLUMNS;
    float[] t = ws.t;
    double[] tSum = ws.tSum;
    int size = count * k;
    java.util.Arrays.fill(tSum, 0, size, 0.0);
    long decoding = 0;
    long gemm = 0;
    long adding = 0;
    if (wide) {
      long t0 = System.nanoTime();
      decode(block, coding, from, count, 0, n, ws, ws.chunk);
      decoding += System.nanoTime() - t0;
    }
    int span = wide ? WIDE_ROW_CHUNK : ROW_CHUNK;
    for (int r0 = 0; r0 < n; r0 += span) {
      int rows = Math.min(span, n - r0);
      long t0 = System.nanoTime();
      if (!wide) {
        decode(block, coding, from, count, r0, rows, ws, ws.tile);
      }
      // 2-bit: V's rows less the column shifts (see prepare), ld = rows.
      float[] vRows = v;
      int vOff = r0;
      int ldv = n;
      if (coding != null && ws.anyShift) {
        float[] centred = ws.centred;
        double[] columnShift = ws.columnShift;
        for (int j = 0; j < k; j++) {
          double mean = columnShift[j];
          for (int i = 0, from0 = r0 + j * n, o = j * rows; i < rows; i++) {
            centred[o + i] = (float) (v[from0 + i] - mean);
          }
        }
        vRows = centred;
        vOff = 0;
        ldv = rows;
      }
      long t1 = System.nanoTime();
      if (wide) {
        Blas.sgemm(true, false, k, count, rows, 1f, vRows, vOff, ldv, ws.chunk, r0, n, 0f, t, 0, k);
      } else {
        int step = transposeGemmVariants(k, count);
        for (int c0 = 0; c0 < count; c0 += step) {
          Blas.sgemm(true, false, k, Math.min(step, count - c0), rows, 1f, vRows, vOff, ldv, ws.tile, c0 * rows,
              rows, 0f, t, c0 * k, k);
        }
      }
      long t2 = System.nanoTime();
      for (int i = 0; i < size; i++) {
        tSum[i] += t[i];
      }
      decoding += t1 - t0;
      gemm += t2 - t1;
      adding += System.nanoTime() - t2;
    }
    if (coding != null) {
      // Z_cᵀ V = S (D_cᵀ (V − 1 mᵀ) + (D_cᵀ 1) mᵀ) + β (1ᵀ V), the last two terms in double.
      double[] columnSum = ws.columnSum;
      double[] columnShift = ws.columnShift;
      for (int c = 0; c < count; c++) {
        double scale = coding.scale[from + c];
        double offset = coding.offset[from + c];
        double counts = coding.countSum[from + c];
        for (int j = 0, o = c * k; j < k; j++) {
          tSum[o + j] = scale * (tSum[o + j] + counts * columnShift[j]) + offset * columnSum[j];
        }
      }
    }
    ws.record(decoding, gemm, true, adding, 2.0 * n * count * k);
  }

  /**
   * One of a pass's two decodes of the chunk {@code [from, from + count)}, alone: tile after tile of
   * {@link #ROW_CHUNK} samples into {@code ws}'s tile buffer, as the products decode them (what
   * {@code lmmspark bench-pass} times as the decode).
   */
  public static void decodeTiles(PackedGenotypeBlock block, int from, int count, Workspace ws) {
    PackedGenotypeBlock.RawCoding coding = block.rawCoding();
    if (coding == null) {
      ws.tables = block.decodeTables(from, count, ws.tables);
    }
    if (ws.tile.length < ROW_CHUNK * VARIANT_CHUNK) {
      ws.tile = new float[ROW_CHUNK * VARIANT_CHUNK];
    }
    for (int r0 = 0; r0 < block.n; r0 += ROW_CHUNK) {
      decode(block, coding, from, count, r0, Math.min(ROW_CHUNK, block.n - r0), ws, ws.tile);
    }
  }

  /** A tile (or the wide form's chunk) of the chunk's variants: centred counts for a 2-bit block, else standardized. */
  private static void decode(PackedGenotypeBlock block, PackedGenotypeBlock.RawCoding coding, int from, int count,
      int row, int rows, Workspace ws, float[] out) {
    if (coding != null) {
      block.decodeRaw(from, count, row, rows, coding, out, ws.cursor);
    } else {
      block.decodeRows(from, count, row, rows, ws.tables, out);
    }
  }

  /**
   * {@code out(n×k) += Z_c ws.t} (column j into column {@code target[j]}, null: j) for the chunk c = variants {@code [from, from + count)} (T in float,
   * count×k): each tile decoded again, one SGEMM of the chunk's ≤ {@link #VARIANT_CHUNK}-term sums in
   * float, added into the double accumulator; in the wide form one SGEMM over the decoded chunk into the N×k float
   * product, started afresh on the {@code first} of {@link #wideChunksInFloat} chunks and added (with their shifts)
   * into the accumulator after the {@code last}.
   */
  private static void productChunk(PackedGenotypeBlock block, PackedGenotypeBlock.RawCoding coding, int from,
      int count, int k, int[] target, double[] out, Workspace ws, boolean first, boolean last) {
    int n = block.n;
    double[] shift = ws.shift;
    if (k >= WIDE_COLUMNS) {
      float[] p = ws.product;
      long t0 = System.nanoTime();
      Blas.sgemm(false, false, n, k, count, 1f, ws.chunk, 0, n, ws.t, 0, count, first ? 0f : 1f, p, 0, n);
      long t1 = System.nanoTime();
      if (!last) {
        ws.record(0, t1 - t0, false, 0, 2.0 * n * count * k);
        return;
      }
      for (int j = 0; j < k; j++) {
        double a = shift[j];
        for (int i = j * n, end = i + n, o = (target == null ? j : target[j]) * n - i; i < end; i++) {
          out[o + i] += p[i] + a;
        }
      }
      ws.record(0, t1 - t0, false, System.nanoTime() - t1, 2.0 * n * count * k);
      return;
    }
    float[] tile = ws.tile;
    float[] p = ws.product;
    long decoding = 0;
    long gemm = 0;
    long adding = 0;
    for (int r0 = 0; r0 < n; r0 += ROW_CHUNK) {
      int rows = Math.min(ROW_CHUNK, n - r0);
      long t0 = System.nanoTime();
      decode(block, coding, from, count, r0, rows, ws, tile);
      long t1 = System.nanoTime();
      int step = productGemmRows(k, count, rows);
      for (int i0 = 0; i0 < rows; i0 += step) {
        Blas.sgemm(false, false, Math.min(step, rows - i0), k, count, 1f, tile, i0, rows, ws.t, 0, count, 0f, p, i0,
            rows);
      }
      long t2 = System.nanoTime();
      for (int j = 0; j < k; j++) {
        int o = r0 + (target == null ? j : target[j]) * n;
        int q = j * rows;
        double a = shift[j];
        for (int i = 0; i < rows; i++) {
          out[o + i] += p[q + i] + a;
        }
      }
      decoding += t1 - t0;
      gemm += t2 - t1;
      adding += System.nanoTime() - t2;
    }
    ws.record(decoding, gemm, false, adding, 2.0 * n * count * k);
  }
}
