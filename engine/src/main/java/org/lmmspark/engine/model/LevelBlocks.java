package org.lmmspark.engine.model;

import java.util.List;
import org.lmmspark.engine.reml.SmallMatrices;

/**
 * The quantities of the conditional AIC's correction ({@link ConditionalAic}) in the space of the random
 * effects, block by block, for models whose terms have no relationship matrix ({@code K = I}): the
 * cheap form of the blocks of V when a block has fewer random effects {@code q_b} than records
 * {@code n_b} (a subject's 10 records, 2 effects). With {@code V_b = Z_bG_bZ_bᵀ + R_b} and
 * {@code S_b = Z_bᵀR_b⁻¹Z_b}, Woodbury's identity in the form that holds for a singular {@code G_b}
 * (a variance or correlation on its boundary),
 * <pre>
 *   V_b⁻¹ = R_b⁻¹ − R_b⁻¹Z_b Q_b Z_bᵀR_b⁻¹,   Q_b = (I + G_bS_b)⁻¹G_b  (= (G_b⁻¹ + S_b)⁻¹ if G_b is invertible),
 *   M_b = Z_bᵀV_b⁻¹Z_b = S_b − S_bQ_bS_b,   H_b = Z_bᵀV_b⁻¹X_b = (I − S_bQ_b) Z_bᵀR_b⁻¹X_b,
 * </pre>
 * and, with {@code D_j = Z E_j Zᵀ} ({@code E_j = ∂G/∂θ_j}, one Σ entry repeated over the levels),
 * {@code C = XᵀV⁻¹X = Σ_b X_bᵀV_b⁻¹X_b} and {@code ZᵀPZ = blockdiag(M_b) − H C⁻¹Hᵀ}:
 * <pre>
 *   tr(PD_jPD_k) = Σ_b tr(M_bE_jM_bE_k) − tr(C⁻¹ Σ_b H_bᵀ(E_jM_bE_k + E_kM_bE_j)H_b) + tr(C⁻¹J_jC⁻¹J_k),
 *   J_j = Σ_b H_bᵀE_jH_b;   with ML (V⁻¹ for P) only the first sum.
 * </pre>
 * Cost {@code O(Σ_b (n_b q_b (q_b + p) + q_b³ m + q_b² p m²))} against {@code O(Σ_b n_b³ m)} for the blocks
 * of V. The same traces from the sparse factor of the mixed-model equations alone are not possible:
 * they need every entry of {@code C⁻¹}'s random-effect block, not only the Takahashi subset.
 */
final class LevelBlocks implements ConditionalAic.Operators {
  private final int n;
  private final int p;
  private final int m;
  private final double[] x;
  private final double[] rInv;
  private final int[][] blocks;
  /** Per block: Z_b (n_b × q_b column-major), Q_b, M_b, H_b, and per parameter E_j (q_b², null when zero). */
  private final double[][] z;
  private final double[][] qm;
  private final double[][] mm;
  private final double[][] hm;
  private final double[][][] e;
  private final int[] width;
  /** V⁻¹X (n × p), C⁻¹ (p × p), Py (n). */
  private final double[] vx;
  private final double[] cinv;
  private final double[] py;
  private final boolean reml;

  /** Dense q_b×q_b work per block: beyond this many effects in one block (crossed factors), not here. */
  static final int MAX_EFFECTS_PER_BLOCK = 2_000;

  /**
   * Null when a term has a relationship matrix, when a block has more random effects than records (the
   * blocks of V are then as cheap) or more than {@value #MAX_EFFECTS_PER_BLOCK}, or when C is singular.
   */
  static LevelBlocks of(MixedModel model, double[] theta, boolean reml) {
    return of(model, theta, reml, null);
  }

  /**
   * As {@link #of(MixedModel, double[], boolean)}; with a ledger, the second half of the blocks is worked
   * out on a second thread ({@link SideTask}, its CPU added to the ledger): the blocks share nothing but
   * read-only model arrays (each level belongs to one block, so the level slots they number are disjoint).
   */
  static LevelBlocks of(MixedModel model, double[] theta, boolean reml, java.util.concurrent.atomic.LongAdder sideCpu) {
    for (RandomEffectTerm t : model.terms()) {
      if (t.relationship() != null) {
        return null;
      }
    }
    int[][] blocks = model.blocks();
    LevelSlots slots = new LevelSlots(model.terms());
    for (int b = 0; b < blocks.length; b++) {
      int q = slots.number(blocks[b], b + 1);
      if (q > blocks[b].length || q > MAX_EFFECTS_PER_BLOCK) {
        return null; // the blocks of V are as cheap, or neither is
      }
    }
    LevelBlocks lb = new LevelBlocks(model, blocks, theta, reml, slots, sideCpu);
    return lb.cinv == null ? null : lb;
  }

  /**
   * The random effects a block reaches, numbered: per term, the first slot of each level's d effects
   * ({@code first[t][level]}, valid while {@code stamp[t][level]} is the block's stamp). Arrays over the
   * levels reused from block to block rather than a map per block: this runs at every fit.
   */
  private static final class LevelSlots {
    private final List<RandomEffectTerm> terms;
    private final int[][] first;
    private final int[][] stamp;

    LevelSlots(List<RandomEffectTerm> terms) {
      this.terms = terms;
      first = new int[terms.size()][];
      stamp = new int[terms.size()][];
      for (int t = 0; t < terms.size(); t++) {
        first[t] = new int[terms.get(t).levelCount()];
        stamp[t] = new int[terms.get(t).levelCount()];
      }
    }

    /** Numbers the effects of {@code rows} (term by term, levels in order of first record) under a new stamp > 0; returns q_b. */
    int number(int[] rows, int blockStamp) {
      int q = 0;
      for (int t = 0; t < terms.size(); t++) {
        int[] level = terms.get(t).level();
        int d = terms.get(t).dimension();
        for (int r : rows) {
          int l = level[r];
          if (stamp[t][l] != blockStamp) {
            stamp[t][l] = blockStamp;
            first[t][l] = q;
            q += d;
          }
        }
      }
      return q;
    }

    int first(int t, int level) {
      return first[t][level];
    }
  }

  /** Below this many blocks one thread does them all (a thread costs more than it saves). */
  static final int MIN_BLOCKS_TO_SHARE = 64;

  private LevelBlocks(MixedModel model, int[][] blocks, double[] theta, boolean reml, LevelSlots slots,
      java.util.concurrent.atomic.LongAdder sideCpu) {
    this.n = model.n();
    this.p = model.p();
    this.m = model.parameters();
    this.x = model.x();
    this.reml = reml;
    this.blocks = blocks;
    int k0 = model.firstResidualParameter();
    rInv = new double[n];
    for (int r = 0; r < n; r++) {
      rInv[r] = model.weights()[r] / theta[k0 + model.residualGroup()[r]];
    }
    int nb = blocks.length;
    z = new double[nb][];
    qm = new double[nb][];
    mm = new double[nb][];
    hm = new double[nb][];
    e = new double[nb][m][];
    width = new int[nb];
    vx = new double[n * p];
    double[] y = model.y();
    // Each record's term of XᵀV⁻¹y, summed below in record order within blocks as one thread would.
    double[] xvyTerms = new double[n * p];
    if (sideCpu != null && nb >= MIN_BLOCKS_TO_SHARE) {
      SideTask<Void> secondHalf = SideTask.start("cAIC-blocks", sideCpu, () -> {
        fillBlocks(model, theta, slots, nb / 2, nb, xvyTerms);
        return null;
      });
      fillBlocks(model, theta, slots, 0, nb / 2, xvyTerms);
      secondHalf.join();
    } else {
      fillBlocks(model, theta, slots, 0, nb, xvyTerms);
    }
    double[] xvy = new double[p];
    for (int[] rows : blocks) {
      for (int k = 0; k < p; k++) {
        for (int r : rows) {
          xvy[k] += xvyTerms[r + k * n];
        }
      }
    }
    double[] c = multiplyTransposed(x, vx, n, p, p);
    SmallMatrices.symmetrize(c, p);
    cinv = SmallMatrices.invertSpd(c, p);
    if (cinv == null) {
      py = null;
      return;
    }
    double[] beta = multiply(cinv, xvy, p, p, 1);
    double[] res = y.clone();
    for (int r = 0; r < n; r++) {
      for (int k = 0; k < p; k++) {
        res[r] -= x[r + k * n] * beta[k];
      }
    }
    py = applyVinv(res);
  }

  /**
   * Blocks {@code [from, to)}: Z_b, G_b and the E_j, Q_b, M_b, H_b, the block's rows of V⁻¹X and its records'
   * terms of XᵀV⁻¹y ({@code xvyTerms}, record-major per column).
   */
  private void fillBlocks(MixedModel model, double[] theta, LevelSlots slots, int from, int to, double[] xvyTerms) {
    int k0 = model.firstResidualParameter();
    // Each Σ parameter's term and effects (a, b), read for every pair of a block's effects.
    int[] termOfParam = new int[k0];
    int[][] effectsOfParam = new int[k0][];
    for (int j = 0; j < k0; j++) {
      termOfParam[j] = model.parameterTerm(j);
      effectsOfParam[j] = model.parameterEffects(j);
    }
    for (int b = from; b < to; b++) {
      fillBlock(model, theta, slots, b, xvyTerms, termOfParam, effectsOfParam);
    }
  }

  /**
   * One block of {@link #fillBlocks}, a method of its own for the JIT: compiled after a few blocks by its calls, where
   * the one large method was compiled again on the stack for each of its loops (a short fit runs them once).
   */
  private void fillBlock(MixedModel model, double[] theta, LevelSlots slots, int b, double[] xvyTerms,
      int[] termOfParam, int[][] effectsOfParam) {
    int k0 = model.firstResidualParameter();
    double[] y = model.y();
    int[] rows = blocks[b];
    int nr = rows.length;
    // The block's effects: (term, effect, level) for each level its records reach.
    int q = slots.number(rows, blocks.length + 1 + b); // stamps past those LevelBlocks.of used
    int[] termOf = new int[q];
    int[] effectOf = new int[q];
    int[] levelOf = new int[q];
    for (int t = 0; t < model.terms().size(); t++) {
      RandomEffectTerm term = model.terms().get(t);
      for (int r : rows) {
        int first = slots.first(t, term.level()[r]);
        for (int a = 0; a < term.dimension(); a++) {
          termOf[first + a] = t;
          effectOf[first + a] = a;
          levelOf[first + a] = term.level()[r];
        }
      }
    }
    width[b] = q;
    double[] zb = new double[nr * q];
    for (int t = 0; t < model.terms().size(); t++) {
      RandomEffectTerm term = model.terms().get(t);
      for (int i = 0; i < nr; i++) {
        int r = rows[i];
        int first = slots.first(t, term.level()[r]);
        for (int a = 0; a < term.dimension(); a++) {
          zb[i + (first + a) * nr] = term.z()[a][r];
        }
      }
    }
    z[b] = zb;
    // G_b and E_j: Σ_t(a, c) between the effects of one level.
    double[] g = new double[q * q];
    for (int u = 0; u < q; u++) {
      for (int v = 0; v < q; v++) {
        if (termOf[u] == termOf[v] && levelOf[u] == levelOf[v]) {
          int t = termOf[u];
          for (int j = 0; j < k0; j++) {
            if (termOfParam[j] != t) {
              continue;
            }
            int[] ab = effectsOfParam[j];
            if (ab[0] == effectOf[u] && ab[1] == effectOf[v] || ab[1] == effectOf[u] && ab[0] == effectOf[v]) {
              g[u + v * q] += theta[j];
              if (e[b][j] == null) {
                e[b][j] = new double[q * q];
              }
              e[b][j][u + v * q] = 1;
            }
          }
        }
      }
    }
    // S_b = Z_bᵀR⁻¹Z_b, U = Z_bᵀR⁻¹X_b, Z_bᵀR⁻¹y_b.
    double[] s = new double[q * q];
    double[] ux = new double[q * p];
    double[] uy = new double[q];
    for (int i = 0; i < nr; i++) {
      int r = rows[i];
      double w = rInv[r];
      for (int u = 0; u < q; u++) {
        double zu = zb[i + u * nr] * w;
        if (zu == 0) {
          continue;
        }
        for (int v = 0; v < q; v++) {
          s[u + v * q] += zu * zb[i + v * nr];
        }
        for (int k = 0; k < p; k++) {
          ux[u + k * q] += zu * x[r + k * n];
        }
        uy[u] += zu * y[r];
      }
    }
    // Q_b = (I + G_bS_b)⁻¹G_b.
    double[] igs = multiply(g, s, q, q, q);
    for (int u = 0; u < q; u++) {
      igs[u + u * q] += 1;
    }
    double[] qb = multiply(ConditionalAic.invert(igs, q), g, q, q, q);
    SmallMatrices.symmetrize(qb, q);
    qm[b] = qb;
    double[] sq = multiply(s, qb, q, q, q);
    mm[b] = subtract(s, multiply(sq, s, q, q, q));
    SmallMatrices.symmetrize(mm[b], q);
    hm[b] = subtract(ux, multiply(sq, ux, q, q, p));
    // XᵀV⁻¹X and XᵀV⁻¹y by blocks; V⁻¹X rows of the block.
    double[] qux = multiply(qb, ux, q, q, p);
    double[] quy = multiply(qb, uy, q, q, 1);
    for (int i = 0; i < nr; i++) {
      int r = rows[i];
      for (int k = 0; k < p; k++) {
        double zq = 0;
        for (int u = 0; u < q; u++) {
          zq += zb[i + u * nr] * qux[u + k * q];
        }
        vx[r + k * n] = rInv[r] * (x[r + k * n] - zq);
      }
    }
    for (int k = 0; k < p; k++) {
      for (int i = 0; i < nr; i++) {
        int r = rows[i];
        double zq = 0;
        for (int u = 0; u < q; u++) {
          zq += zb[i + u * nr] * quy[u];
        }
        xvyTerms[r + k * n] = x[r + k * n] * rInv[r] * (y[r] - zq);
      }
    }
  }

  @Override
  public double[] py() {
    return py.clone();
  }

  @Override
  public boolean isReml() {
    return reml;
  }

  /** {@code V⁻¹u = R⁻¹u − R⁻¹Z Q ZᵀR⁻¹u} block by block. */
  private double[] applyVinv(double[] u) {
    double[] out = new double[n];
    for (int b = 0; b < blocks.length; b++) {
      int[] rows = blocks[b];
      int nr = rows.length;
      int q = width[b];
      double[] ztu = new double[q];
      for (int uu = 0; uu < q; uu++) {
        double sum = 0;
        for (int i = 0; i < nr; i++) {
          sum += z[b][i + uu * nr] * rInv[rows[i]] * u[rows[i]];
        }
        ztu[uu] = sum;
      }
      double[] qz = multiply(qm[b], ztu, q, q, 1);
      for (int i = 0; i < nr; i++) {
        int r = rows[i];
        double sum = 0;
        for (int uu = 0; uu < q; uu++) {
          sum += z[b][i + uu * nr] * qz[uu];
        }
        out[r] = rInv[r] * (u[r] - sum);
      }
    }
    return out;
  }

  /** {@code Pu}, under ML as well (the correction's {@code A = σ²P} either way, as with the blocks of V). */
  @Override
  public double[] applyP(double[] u) {
    double[] out = applyVinv(u);
    double[] xvu = new double[p];
    for (int k = 0; k < p; k++) {
      double sum = 0;
      for (int r = 0; r < n; r++) {
        sum += vx[r + k * n] * u[r];
      }
      xvu[k] = sum;
    }
    double[] w = multiply(cinv, xvu, p, p, 1);
    for (int r = 0; r < n; r++) {
      double sum = 0;
      for (int k = 0; k < p; k++) {
        sum += vx[r + k * n] * w[k];
      }
      out[r] -= sum;
    }
    return out;
  }

  /** P always (the correction's {@code tr(RA)} uses P under ML as well, as the blocks of V do). */
  @Override
  public double[] diagonalP() {
    double[] out = new double[n];
    for (int b = 0; b < blocks.length; b++) {
      int[] rows = blocks[b];
      int nr = rows.length;
      int q = width[b];
      for (int i = 0; i < nr; i++) {
        int r = rows[i];
        double zqz = 0;
        for (int u = 0; u < q; u++) {
          for (int v = 0; v < q; v++) {
            zqz += z[b][i + u * nr] * qm[b][u + v * q] * z[b][i + v * nr];
          }
        }
        double proj = 0;
        for (int k = 0; k < p; k++) {
          for (int l = 0; l < p; l++) {
            proj += vx[r + k * n] * cinv[k + l * p] * vx[r + l * n];
          }
        }
        out[r] = rInv[r] - rInv[r] * rInv[r] * zqz - proj;
      }
    }
    return out;
  }

  @Override
  public double[] applyD(int j, double[] u) {
    double[] out = new double[n];
    for (int b = 0; b < blocks.length; b++) {
      double[] ej = e[b][j];
      if (ej == null) {
        continue;
      }
      int[] rows = blocks[b];
      int nr = rows.length;
      int q = width[b];
      double[] ztu = new double[q];
      for (int uu = 0; uu < q; uu++) {
        for (int i = 0; i < nr; i++) {
          ztu[uu] += z[b][i + uu * nr] * u[rows[i]];
        }
      }
      double[] ez = multiply(ej, ztu, q, q, 1);
      for (int i = 0; i < nr; i++) {
        double sum = 0;
        for (int uu = 0; uu < q; uu++) {
          sum += z[b][i + uu * nr] * ez[uu];
        }
        out[rows[i]] = sum;
      }
    }
    return out;
  }

  @Override
  public double[] traceProducts(boolean project, int[] params) {
    int k = params.length;
    double[] t = new double[k * k];
    double[][] jj = new double[k][p * p];
    double[][] hh = new double[k * k][p * p];
    double[][] em = new double[k][];
    double[][] eh = new double[k][];
    double[][] meh = new double[k][];
    for (int b = 0; b < blocks.length; b++) {
      int q = width[b];
      for (int a = 0; a < k; a++) {
        double[] ea = e[b][params[a]];
        em[a] = ea == null ? null : multiply(ea, mm[b], q, q, q);
        if (project && ea != null) {
          eh[a] = multiply(ea, hm[b], q, q, p);
          meh[a] = multiply(mm[b], eh[a], q, q, p);
          add(jj[a], multiplyTransposed(hm[b], eh[a], q, p, p));
        }
      }
      for (int a = 0; a < k; a++) {
        for (int c = a; c < k; c++) {
          if (em[a] == null || em[c] == null) {
            continue;
          }
          t[a + c * k] += traceOfProduct(em[a], em[c], q);
          if (project) {
            // H_bᵀ E_a M_b E_c H_b = (E_a H_b)ᵀ (M_b E_c H_b): E_a symmetric; one product per pair, not three.
            add(hh[a + c * k], multiplyTransposed(eh[a], meh[c], q, p, p));
          }
        }
      }
    }
    for (int a = 0; a < k; a++) {
      for (int c = a; c < k; c++) {
        double v = t[a + c * k];
        if (project) {
          // tr(C⁻¹(X + Xᵀ)) = 2 tr(C⁻¹X) for symmetric C⁻¹.
          v += -2 * traceOfProduct(cinv, hh[a + c * k], p)
              + traceOfProduct(multiply(cinv, jj[a], p, p, p), multiply(cinv, jj[c], p, p, p), p);
        }
        t[a + c * k] = v;
        t[c + a * k] = v;
      }
    }
    return t;
  }

  /** A (r×s) B (s×c), column-major. */
  private static double[] multiply(double[] a, double[] b, int r, int s, int c) {
    double[] out = new double[r * c];
    for (int j = 0; j < c; j++) {
      for (int l = 0; l < s; l++) {
        double blj = b[l + j * s];
        if (blj == 0) {
          continue;
        }
        for (int i = 0; i < r; i++) {
          out[i + j * r] += a[i + l * r] * blj;
        }
      }
    }
    return out;
  }

  /** Aᵀ B with A (s×r), B (s×c). */
  private static double[] multiplyTransposed(double[] a, double[] b, int s, int r, int c) {
    double[] out = new double[r * c];
    for (int j = 0; j < c; j++) {
      for (int i = 0; i < r; i++) {
        double sum = 0;
        for (int l = 0; l < s; l++) {
          sum += a[l + i * s] * b[l + j * s];
        }
        out[i + j * r] = sum;
      }
    }
    return out;
  }

  private static double[] subtract(double[] a, double[] b) {
    double[] out = a.clone();
    for (int i = 0; i < out.length; i++) {
      out[i] -= b[i];
    }
    return out;
  }

  private static void add(double[] acc, double[] v) {
    for (int i = 0; i < acc.length; i++) {
      acc[i] += v[i];
    }
  }

  /** tr(AB) of q×q matrices. */
  private static double traceOfProduct(double[] a, double[] b, int q) {
    double s = 0;
    for (int i = 0; i < q; i++) {
      for (int l = 0; l < q; l++) {
        s += a[i + l * q] * b[l + i * q];
      }
    }
    return s;
  }
}
