package org.lmmspark.engine.assoc;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.lmmspark.engine.genotype.DosageBlock;

/**
 * The calibration of several traits' null models run together: one trait, the reference, solves its whole
 * calibration sample; every other trait solves only {@code shared} of those variants and takes its γ from the
 * reference's by the ratio of the two traits' ratios over them ({@link Calibration#transfer}).
 *
 * <p>Why: with LOCO a trait's solve is one column of y per chromosome plus one per sampled variant (22 + 30 at 22
 * chromosomes), each variant's column a CG solve of its own against that trait's {@code V_{−c}}; the variants'
 * columns are about 40% of the trait's column-passes. The ratio {@code ρ = xᵀP_{−c}x / x̃ᵀx̃} of one variant moves
 * nearly alike in two traits over mostly the same samples, so a few shared variants carry the reference's γ over as
 * precisely as the trait's own 30 would set it ({@link Calibration#transfer} gives the relative standard error).
 *
 * <p>The shared variants are spread evenly over the reference's sample (genome order, so over the chromosomes);
 * a trait that sampled fewer than two of them (its own filters dropped them) solves its whole sample instead. Every
 * trait draws its sample from the same seeded order, so they nearly always share them.
 */
public final class SharedCalibration {
  private final int reference;
  /** The reference's sampled variants, in the order of its result's ratios. */
  private final List<Integer> referenceVariants;
  private final List<List<LocoResiduals.Scope>> solved;
  private final boolean[] carried;

  private SharedCalibration(int reference, List<Integer> referenceVariants, List<List<LocoResiduals.Scope>> solved,
      boolean[] carried) {
    this.reference = reference;
    this.referenceVariants = referenceVariants;
    this.solved = solved;
    this.carried = carried;
  }

  /**
   * @param sampled   per trait, its null models' scopes with its whole calibration sample
   * @param reference the trait that solves its whole sample (e.g. the one with the most analysed samples)
   * @param shared    variants the other traits solve (when the reference sampled more)
   */
  public static SharedCalibration plan(List<List<LocoResiduals.Scope>> sampled, int reference, int shared) {
    int traits = sampled.size();
    boolean[] carried = new boolean[traits];
    List<Integer> referenceVariants = variants(sampled.get(reference));
    if (traits == 1 || shared < 2 || referenceVariants.size() <= shared) {
      return new SharedCalibration(reference, referenceVariants, sampled, carried);
    }
    Set<Integer> chosen = new HashSet<>();
    for (int i = 0; i < shared; i++) {
      chosen.add(referenceVariants.get((int) ((i + 0.5) * referenceVariants.size() / shared)));
    }
    List<List<LocoResiduals.Scope>> solved = new ArrayList<>();
    for (int t = 0; t < traits; t++) {
      List<LocoResiduals.Scope> mine = sampled.get(t);
      if (t == reference) {
        solved.add(mine);
        continue;
      }
      List<LocoResiduals.Scope> subset = new ArrayList<>();
      int kept = 0;
      for (LocoResiduals.Scope s : mine) {
        DosageBlock b = s.sample();
        boolean[] keep = new boolean[b.m];
        for (int j = 0; j < b.m; j++) {
          keep[j] = chosen.contains(b.variantIndex[j]);
          kept += keep[j] ? 1 : 0;
        }
        subset.add(new LocoResiduals.Scope(s.leftOut(), s.label(), b.columns(keep)));
      }
      carried[t] = kept >= 2;
      solved.add(carried[t] ? subset : mine);
    }
    return new SharedCalibration(reference, referenceVariants, solved, carried);
  }

  /** Per trait, the scopes to solve: the reference's and the non-carried traits' whole samples, the others' shared variants. */
  public List<List<LocoResiduals.Scope>> solved() {
    return solved;
  }

  public int reference() {
    return reference;
  }

  /** Whether trait {@code t} takes its γ from the reference's. */
  public boolean carried(int t) {
    return carried[t];
  }

  /**
   * Trait {@code t}'s γ from the reference's pooled γ and the two traits' ratios over the variants both solved
   * ({@link Calibration#transfer}); {@code own} is t's result over {@link #solved}, {@code referenceResult} the reference's.
   */
  public Calibration.Transfer transfer(int t, LocoResiduals.Result referenceResult, LocoResiduals.Result own) {
    if (!carried[t]) {
      throw new IllegalArgumentException("trait " + t + " solved its own calibration sample");
    }
    Map<Integer, Double> referenceRatio = new HashMap<>();
    for (int j = 0; j < referenceVariants.size(); j++) {
      referenceRatio.put(referenceVariants.get(j), referenceResult.ratios()[j]);
    }
    List<Integer> mine = variants(solved.get(t));
    double[] ref = new double[mine.size()];
    double[] ratios = new double[mine.size()];
    for (int j = 0; j < mine.size(); j++) {
      ref[j] = referenceRatio.get(mine.get(j));
      ratios[j] = own.ratios()[j];
    }
    return Calibration.transfer(referenceResult.pooled(), ref, ratios);
  }

  /** The sampled variants' fileset indices, scope after scope, in the order {@link LocoResiduals.Result#ratios} has them. */
  private static List<Integer> variants(List<LocoResiduals.Scope> scopes) {
    List<Integer> out = new ArrayList<>();
    for (LocoResiduals.Scope s : scopes) {
      for (int j = 0; j < s.sample().m; j++) {
        out.add(s.sample().variantIndex[j]);
      }
    }
    return out;
  }
}
