package org.lmmspark.engine.pedigree;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.linalg.SparseSymmetric;

/**
 * Wright's numerator relationship matrix {@code A} of a pedigree (twice the coefficient of
 * kinship), its inverse, and the inbreeding coefficients {@code F = diag(A) − 1}.
 *
 * <p><b>Model.</b> With individuals sorted parents-first, sire {@code s} and dam {@code d} of
 * {@code i} (an unknown parent contributes nothing):
 * <pre>
 *   A_ij = ½ (A_j,s + A_j,d)        for j &lt; i          (tabular method, Henderson 1976)
 *   A_ii = 1 + ½ A_s,d = 1 + F_i    (0 when a parent is unknown)
 * </pre>
 * Equivalently {@code A = T D Tᵀ} with {@code T⁻¹ = I − P} ({@code P} holds ½ at each (offspring,
 * parent)) and {@code D} diagonal, the Mendelian sampling variances
 * {@code D_i = 1 − ¼ Σ_{known parents p} (1 + F_p)} (1 for a founder, ¾ − ¼F_p with one known
 * parent, ½ − ¼(F_s + F_d) with both). Hence
 * <pre>
 *   A⁻¹ = (I − P)ᵀ D⁻¹ (I − P),      log|A| = Σ_i log D_i,
 * </pre>
 * which is Henderson's (1976) rules with inbreeding (Quaas 1976): for each {@code i} with
 * {@code δ = 1/D_i} add {@code δ} at (i,i), {@code −δ/2} at (i,p) and (p,i) for each known parent
 * {@code p}, and {@code δ/4} at (p,q) for each pair of known parents (p = q included).
 *
 * <p><b>Algorithms and cost</b> (n individuals):
 * <ul>
 *   <li>{@link #of}: inbreeding coefficients by Meuwissen &amp; Luo (1992, GSE 24:305): for each
 *       {@code i} with both parents known, {@code F_i = Σ_j L_ij² D_j − 1} over its ancestors
 *       {@code j}, where {@code L = T} is traced from {@code L_ii = 1} by passing ½L_ij to each
 *       parent of {@code j}, visiting ancestors from youngest to oldest (a heap here instead of the
 *       paper's linked list; full sibs reuse their sibling's F). Cost O(Σ_i a_i log a_i) time with
 *       {@code a_i} ancestors of {@code i}, O(n) memory: no dense matrix, so it scales to large
 *       pedigrees.
 *   <li>{@link #inverse()}: Henderson's rules, O(n) time and at most 6n stored entries (sparse).
 *   <li>{@link #packedLower}, {@link #dense}, {@link #grm}: the tabular method over the requested
 *       individuals and all their ancestors ({@code m} individuals): O(m²) time and {@code 4m(m+1)}
 *       bytes (a packed double lower triangle), plus the output; {@code m} is limited to
 *       {@value #MAX_DENSE} by Java array indexing. Restrict to the individuals you need (e.g. the
 *       phenotyped ones) — the ancestors are included automatically.
 * </ul>
 */
public final class NumeratorRelationship {
  /** Largest number of individuals (requested plus ancestors) for a dense {@code A}. */
  public static final int MAX_DENSE = 65_535;

  private final Pedigree ped;
  private final double[] f;
  private final double[] d;

  private NumeratorRelationship(Pedigree ped, double[] f, double[] d) {
    this.ped = ped;
    this.f = f;
    this.d = d;
  }

  /** Computes the inbreeding coefficients and Mendelian sampling variances (no dense matrix). */
  public static NumeratorRelationship of(Pedigree ped) {
    int n = ped.size();
    double[] f = new double[n];
    double[] d = new double[n];
    double[] l = new double[n];
    boolean[] queued = new boolean[n];
    int[] heap = new int[n];
    Map<Long, Double> fullSibF = new HashMap<>();
    for (int i = 0; i < n; i++) {
      int s = ped.sire(i);
      int m = ped.dam(i);
      d[i] = 1.0 - (s >= 0 ? 0.25 * (1 + f[s]) : 0) - (m >= 0 ? 0.25 * (1 + f[m]) : 0);
      if (s < 0 || m < 0) {
        f[i] = 0; // an unknown parent is unrelated to everyone: no inbreeding
        continue;
      }
      long pair = ((long) s << 32) | m;
      Double sib = fullSibF.get(pair);
      if (sib != null) {
        f[i] = sib;
        continue;
      }
      // L_i· traced over the ancestors, youngest first: every offspring of j within the ancestry
      // has a larger index, so it is popped (and has passed its share to j) before j is.
      double sum = 0;
      int size = 0;
      l[i] = 1;
      heap[size++] = i;
      queued[i] = true;
      while (size > 0) {
        int j = heap[0];
        size = popMax(heap, size);
        queued[j] = false;
        sum += l[j] * l[j] * d[j];
        double half = 0.5 * l[j];
        l[j] = 0;
        for (int p : new int[] {ped.sire(j), ped.dam(j)}) {
          if (p >= 0) {
            l[p] += half;
            if (!queued[p]) {
              queued[p] = true;
              size = push(heap, size, p);
            }
          }
        }
      }
      f[i] = sum - 1;
      fullSibF.put(pair, f[i]);
    }
    return new NumeratorRelationship(ped, f, d);
  }

  private static int push(int[] heap, int size, int v) {
    int k = size++;
    while (k > 0) {
      int parent = (k - 1) >>> 1;
      if (heap[parent] >= v) {
        break;
      }
      heap[k] = heap[parent];
      k = parent;
    }
    heap[k] = v;
    return size;
  }

  private static int popMax(int[] heap, int size) {
    int last = heap[--size];
    int k = 0;
    while (true) {
      int c = 2 * k + 1;
      if (c >= size) {
        break;
      }
      if (c + 1 < size && heap[c + 1] > heap[c]) {
        c++;
      }
      if (heap[c] <= last) {
        break;
      }
      heap[k] = heap[c];
      k = c;
    }
    if (size > 0) {
      heap[k] = last;
    }
    return size;
  }

  /** Convenience: {@code A} of every individual of the pedigree as a {@link Grm}. */
  public static Grm compute(Pedigree ped) {
    return of(ped).grm();
  }

  /**
   * Convenience: {@code A} restricted to {@code individuals} (in that order; their ancestors are
   * taken into account), e.g. the phenotyped samples of an analysis.
   */
  public static Grm compute(Pedigree ped, List<SampleId> individuals) {
    return of(ped).grm(ped, individuals);
  }

  /**
   * {@code A} over those of {@code samples} that the pedigree lists (ancestors taken into account),
   * labelled with the samples' own ids, in the order given; samples not in the pedigree are left out
   * (the caller's sample matching then counts them as dropped). A sample is matched on (FID, IID) when
   * the pedigree has a family column, else on its IID alone: an {@code ID SIRE DAM} file has no family
   * IDs, and a phenotype file's FID is then irrelevant. Repeated samples are taken once. Cost as
   * {@link #packedLower}, over the samples found and their ancestors.
   */
  public static Grm forSamples(Pedigree ped, List<SampleId> samples) {
    java.util.Set<SampleId> seen = new java.util.HashSet<>();
    List<SampleId> found = new ArrayList<>();
    List<Integer> idx = new ArrayList<>();
    for (SampleId s : samples) {
      if (!seen.add(s)) {
        continue;
      }
      int i = ped.indexOfSample(s);
      if (i >= 0) {
        found.add(s);
        idx.add(i);
      }
    }
    int[] ix = idx.stream().mapToInt(Integer::intValue).toArray();
    Grm a = of(ped).grm(ix);
    return new Grm(found, a.packedValues(), null);
  }

  public Pedigree pedigree() {
    return ped;
  }

  /** Inbreeding coefficients {@code F_i = A_ii − 1}, in pedigree order (a copy). */
  public double[] inbreeding() {
    return f.clone();
  }

  /** Mendelian sampling variances {@code D_i} (the diagonal of {@code D} in {@code A = T D Tᵀ}), a copy. */
  public double[] mendelianVariances() {
    return d.clone();
  }

  /** {@code log|A| = Σ log D_i} (for REML on the mixed-model equations). */
  public double logDeterminant() {
    double s = 0;
    for (double v : d) {
      s += Math.log(v);
    }
    return s;
  }

  /** {@code A⁻¹} of the whole pedigree by Henderson's rules with inbreeding; sparse, O(n). */
  public SparseSymmetric inverse() {
    int n = ped.size();
    int[] rows = new int[6 * n];
    int[] cols = new int[6 * n];
    double[] vals = new double[6 * n];
    int t = 0;
    for (int i = 0; i < n; i++) {
      double delta = 1.0 / d[i];
      int[] parents = {ped.sire(i), ped.dam(i)};
      rows[t] = i;
      cols[t] = i;
      vals[t++] = delta;
      for (int a = 0; a < 2; a++) {
        int p = parents[a];
        if (p < 0) {
          continue;
        }
        rows[t] = i;
        cols[t] = p;
        vals[t++] = -0.5 * delta;
        for (int b = 0; b <= a; b++) {
          int q = parents[b];
          if (q < 0) {
            continue;
          }
          rows[t] = p;
          cols[t] = q;
          vals[t++] = 0.25 * delta;
        }
      }
    }
    return SparseSymmetric.fromTriplets(n, rows, cols, vals, t);
  }

  /**
   * {@code A} restricted to {@code individuals} (pedigree indices, distinct, any order) as a packed
   * lower triangle in double ({@code (r, c)}, {@code c ≤ r}, at {@code r(r+1)/2 + c}, positions in
   * the given order). Tabular method over the individuals and their ancestors: see class doc for cost.
   */
  public double[] packedLower(int[] individuals) {
    int[] closure = ped.withAncestors(individuals);
    int m = closure.length;
    if (m > MAX_DENSE) {
      throw new BadInputException(ped.source() + ": a dense relationship matrix of " + m
          + " individuals (requested plus ancestors) exceeds the limit of " + MAX_DENSE
          + "; request fewer individuals or use the sparse inverse");
    }
    int[] local = new int[ped.size()];
    java.util.Arrays.fill(local, -1);
    for (int k = 0; k < m; k++) {
      local[closure[k]] = k;
    }
    double[] a = new double[(int) ((long) m * (m + 1) / 2)];
    for (int i = 0; i < m; i++) {
      int g = closure[i];
      int s = ped.sire(g) < 0 ? -1 : local[ped.sire(g)];
      int dm = ped.dam(g) < 0 ? -1 : local[ped.dam(g)];
      int row = packed(i, 0);
      for (int j = 0; j < i; j++) {
        double v = 0;
        if (s >= 0) {
          v += a[packedAny(s, j)];
        }
        if (dm >= 0) {
          v += a[packedAny(dm, j)];
        }
        a[row + j] = 0.5 * v;
      }
      a[row + i] = 1.0 + (s >= 0 && dm >= 0 ? 0.5 * a[packedAny(s, dm)] : 0.0);
    }
    boolean identity = m == individuals.length;
    for (int k = 0; identity && k < m; k++) {
      identity = closure[k] == individuals[k];
    }
    if (identity) {
      return a;
    }
    int r = individuals.length;
    int[] pos = new int[r];
    for (int k = 0; k < r; k++) {
      pos[k] = local[individuals[k]];
    }
    double[] out = new double[(int) ((long) r * (r + 1) / 2)];
    for (int i = 0; i < r; i++) {
      int row = packed(i, 0);
      for (int j = 0; j <= i; j++) {
        out[row + j] = a[packedAny(pos[i], pos[j])];
      }
    }
    return out;
  }

  /** {@code A} restricted to {@code individuals} as a column-major {@code double[r·r]}. */
  public double[] dense(int[] individuals) {
    double[] p = packedLower(individuals);
    int r = individuals.length;
    double[] out = new double[r * r];
    for (int i = 0; i < r; i++) {
      for (int j = 0; j <= i; j++) {
        double v = p[packed(i, j)];
        out[i + j * r] = v;
        out[j + i * r] = v;
      }
    }
    return out;
  }

  /** {@code A} of the whole pedigree as a column-major {@code double[n·n]}. */
  public double[] dense() {
    return dense(all());
  }

  /** {@code A} of the whole pedigree, in pedigree order, as a float {@link Grm} without counts. */
  public Grm grm() {
    return grm(all());
  }

  /** {@code A} restricted to {@code individuals} (pedigree indices, in that order) as a {@link Grm}. */
  public Grm grm(int[] individuals) {
    double[] p = packedLower(individuals);
    float[] lower = new float[p.length];
    for (int k = 0; k < p.length; k++) {
      lower[k] = (float) p[k];
    }
    List<SampleId> ids = new ArrayList<>(individuals.length);
    for (int i : individuals) {
      ids.add(ped.id(i));
    }
    return new Grm(ids, lower, null);
  }

  private Grm grm(Pedigree pedigree, List<SampleId> individuals) {
    int[] idx = new int[individuals.size()];
    for (int k = 0; k < idx.length; k++) {
      idx[k] = pedigree.indexOf(individuals.get(k));
      if (idx[k] < 0) {
        throw BadInputException.inFile(pedigree.source(), "individual " + individuals.get(k) + " is not in the pedigree");
      }
    }
    return grm(idx);
  }

  private int[] all() {
    int[] idx = new int[ped.size()];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = i;
    }
    return idx;
  }

  private static int packed(int row, int col) {
    return (int) ((long) row * (row + 1) / 2 + col); // row·(row+1) overflows int from row 46341
  }

  private static int packedAny(int i, int j) {
    return i >= j ? packed(i, j) : packed(j, i);
  }
}
