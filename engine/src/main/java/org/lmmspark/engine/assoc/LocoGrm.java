package org.lmmspark.engine.assoc;

import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.kinship.Grm;

/**
 * Leave-one-chromosome-out relationship matrices from per-chromosome parts, without re-reading
 * genotypes: GCTA's GRM is an average over variants, {@code K_jk = (1/M_jk) Σ_i z_ij z_ik}, so the
 * sum over the variants of chromosome c is {@code M_c,jk K_c,jk} and
 * {@code K_{−c,jk} = (M_jk K_jk − M_c,jk K_c,jk) / (M_jk − M_c,jk)} per pair, with the per-pair counts
 * of the {@code .grm.N.bin} files. Cost {@code O(N²)}.
 */
public final class LocoGrm {
  private LocoGrm() {}

  /**
   * {@code K_{−c}} from the whole-genome matrix and chromosome c's part (same samples, same order, both
   * with counts).
   */
  public static Grm leaveOut(Grm total, Grm part, String partSource) {
    if (!total.ids().equals(part.ids())) {
      throw new BadInputException(partSource + ": its samples differ from the whole-genome GRM's (.grm.id files "
          + "must list the same samples in the same order)");
    }
    float[] kt = total.packedValues();
    float[] mt = total.packedCounts();
    float[] kc = part.packedValues();
    float[] mc = part.packedCounts();
    if (mt == null || mc == null) {
      throw new BadInputException(partSource + ": LOCO needs the per-pair variant counts (.grm.N.bin) of the "
          + "whole-genome GRM and of every chromosome part");
    }
    float[] values = new float[kt.length];
    float[] counts = new float[kt.length];
    for (int e = 0; e < kt.length; e++) {
      double m = (double) mt[e] - mc[e];
      if (!(m > 0)) {
        throw new BadInputException(partSource + ": leaving this chromosome out leaves no variants for some pair "
            + "of samples (its counts equal the whole genome's): LOCO needs variants on other chromosomes");
      }
      values[e] = (float) (((double) mt[e] * kt[e] - (double) mc[e] * kc[e]) / m);
      counts[e] = (float) m;
    }
    return new Grm(total.ids(), values, counts);
  }
}
