package org.lmmspark.engine.model;

import java.util.ArrayList;
import java.util.List;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.pedigree.NumeratorRelationship;
import org.lmmspark.engine.pedigree.Pedigree;
import org.lmmspark.engine.reml.GroupingOperator;
import org.lmmspark.engine.reml.RemlInputs;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.VarianceComponent;

/**
 * The {@link MixedModel} of a model assembled for {@code reml} ({@link RemlInputs}), when every
 * component is sparse in the mixed-model equations ({@link MmeLikelihood}):
 * <ul>
 *   <li>a grouping factor ({@code --group}, the permanent environment {@code pe}): a random intercept
 *       per level, {@code K = I};</li>
 *   <li>a pedigree's A ({@code --pedigree}, one record per animal or repeated records): a random
 *       intercept per animal, related through the <em>whole</em> pedigree (the equations use its
 *       {@code A⁻¹} by Henderson's rules, O(animals) entries), so that ancestors without records get
 *       BLUPs too.</li>
 * </ul>
 * A GRM or an epistatic {@code K∘K} is dense (its inverse is as dense as itself): such a model stays
 * on the dense route, and {@link Conversion#reason()} says why. Residual: one variance, unit weights.
 * Parameters in the order of the problem's components, the residual last, as {@link RemlProblem}'s.
 */
public final class SparseModels {
  private SparseModels() {}

  /** The converted model, or null with the reason it is not sparse. */
  public record Conversion(MixedModel model, String reason) {}

  /** Effect name of the random intercepts (in the BLUP table of {@code reml}). */
  static final String INTERCEPT = "intercept";

  public static Conversion of(List<RemlInputs.Relationship> relationships, RemlInputs.Assembled in) {
    RemlProblem prob = in.problem();
    int n = prob.n();
    List<RandomEffectTerm> terms = new ArrayList<>();
    for (VarianceComponent c : prob.components()) {
      if (c.covariance() instanceof GroupingOperator g) {
        List<String> levels = g.levels();
        if (c.name().equals("pe") && levels.size() == in.individuals().size()) {
          // RemlInputs labels the permanent-environment levels by individual index: name them.
          List<String> named = new ArrayList<>(levels.size());
          for (String l : levels) {
            named.add(label(in.individuals().get(Integer.parseInt(l)), false));
          }
          levels = named;
        }
        terms.add(RandomEffectTerm.intercept(c.name(), INTERCEPT, g.levelOfSample(), levels, null, null));
        continue;
      }
      RemlInputs.Relationship rel = relationships.stream().filter(r -> r.name().equals(c.name())).findFirst()
          .orElse(null);
      if (rel == null || rel.pedigree() == null) {
        return new Conversion(null, "component " + c.name() + " is a dense relationship matrix (a GRM or K∘K)");
      }
      terms.add(pedigreeTerm(c.name(), rel.pedigree(), in, n));
    }
    if (terms.isEmpty()) {
      return new Conversion(null, "no random component");
    }
    return new Conversion(MixedModel.of("reml", "y", prob.y(), prob.x(), prob.fixedNames(), terms, null, null, null,
        null), null);
  }

  /** Records point to their animal; the term's levels are the recorded animals, rows of the whole pedigree's A. */
  private static RandomEffectTerm pedigreeTerm(String name, NumeratorRelationship nr, RemlInputs.Assembled in, int n) {
    Pedigree ped = nr.pedigree();
    int[] animalOfIndividual = new int[in.individuals().size()];
    for (int j = 0; j < animalOfIndividual.length; j++) {
      animalOfIndividual[j] = ped.indexOfSample(in.individuals().get(j));
      if (animalOfIndividual[j] < 0) {
        throw new IllegalStateException("individual " + in.individuals().get(j) + " was matched to A but is not in "
            + ped.source());
      }
    }
    List<String> names = new ArrayList<>(ped.size());
    for (int k = 0; k < ped.size(); k++) {
      names.add(label(ped.id(k), ped.hasFamilyIds()));
    }
    Relationship a = Relationship.ofPedigree(name, nr, names);
    int[] levelOfAnimal = new int[ped.size()];
    java.util.Arrays.fill(levelOfAnimal, -1);
    List<String> levelNames = new ArrayList<>();
    List<Integer> relIndex = new ArrayList<>();
    int[] level = new int[n];
    for (int i = 0; i < n; i++) {
      int animal = animalOfIndividual[in.individualOfRecord()[i]];
      if (levelOfAnimal[animal] < 0) {
        levelOfAnimal[animal] = levelNames.size();
        levelNames.add(names.get(animal));
        relIndex.add(animal);
      }
      level[i] = levelOfAnimal[animal];
    }
    return RandomEffectTerm.intercept(name, INTERCEPT, level, levelNames,
        relIndex.stream().mapToInt(Integer::intValue).toArray(), a);
  }

  /** A level name without whitespace: the IID, or {@code FID:IID} when family IDs matter. */
  static String label(SampleId id, boolean withFamily) {
    return withFamily ? id.fid() + ":" + id.iid() : id.iid();
  }
}
