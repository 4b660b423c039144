package org.lmmspark.engine.reml;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.kinship.Grm;
import org.lmmspark.engine.pheno.Design;
import org.lmmspark.engine.pheno.SampleMatch;
import org.lmmspark.engine.pheno.SampleTable;

/**
 * Assembles a {@link RemlProblem} from loaded inputs: relationship matrices (GRMs from files, a
 * pedigree A, any {@link Grm}), the phenotype table, categorical ({@code --covar}) and quantitative
 * ({@code --qcovar}) covariate tables, grouping columns ({@code --group}, taken from the categorical
 * covariate table and then not used as fixed effects), and the epistatic flag (adds {@code K∘K} of
 * every relationship matrix marked additive).
 *
 * <p>Samples: those with a phenotype value, every used covariate value and a row in every relationship
 * matrix, in phenotype-file order ({@link SampleMatch}). A relationship matrix that leaves too few
 * samples is an error naming how many phenotyped samples it lacks and a few of them.
 */
public final class RemlInputs {
  private RemlInputs() {}

  /**
   * A relationship matrix input: name used in outputs ("G", "G1", "A"), where it came from (for
   * messages), the matrix, and whether {@code --epistatic} adds its Hadamard square.
   */
  public record Relationship(String name, String source, Grm matrix, boolean additive) {}

  /** What to assemble. {@code covar}, {@code qcovar} may be null; {@code phenoName} null = first trait column. */
  public record Spec(List<Relationship> relationships, boolean epistatic, SampleTable pheno, String phenoName,
      SampleTable covar, SampleTable qcovar, List<String> groups) {}

  /** The assembled problem with the samples used and the per-input drop report. */
  public record Assembled(RemlProblem problem, Design design, List<SampleId> samples, SampleMatch match,
      List<String> notes) {}

  public static Assembled assemble(Spec spec) {
    SampleTable pheno = spec.pheno();
    int traitCol = spec.phenoName() == null ? 0 : pheno.column(spec.phenoName(), "--pheno-name");
    String trait = pheno.columns().get(traitCol);
    double[] traitValues = pheno.numeric(traitCol);

    List<String> groups = spec.groups() == null ? List.of() : spec.groups();
    if (!groups.isEmpty() && spec.covar() == null) {
      throw new BadInputException("--group " + groups + " needs --covar FILE holding the grouping column(s)");
    }
    List<SampleMatch.Input> inputs = new ArrayList<>();
    inputs.add(new SampleMatch.Input("phenotype " + pheno.file(), pheno.ids(), present(traitValues),
        "missing phenotype '" + trait + "'"));
    int[] groupCols = new int[groups.size()];
    List<Integer> catCols = new ArrayList<>();
    List<String[]> catValues = new ArrayList<>();
    if (spec.covar() != null) {
      SampleTable c = spec.covar();
      for (int g = 0; g < groups.size(); g++) {
        groupCols[g] = c.column(groups.get(g), "--group");
      }
      boolean[] ok = new boolean[c.size()];
      java.util.Arrays.fill(ok, true);
      for (int col = 0; col < c.columns().size(); col++) {
        String[] v = c.categorical(col);
        for (int i = 0; i < v.length; i++) {
          ok[i] &= v[i] != null;
        }
        catValues.add(v);
        if (!groups.contains(c.columns().get(col))) {
          catCols.add(col);
        }
      }
      inputs.add(new SampleMatch.Input("covariates " + c.file(), c.ids(), ok, "missing covariate value"));
    }
    List<double[]> qValues = new ArrayList<>();
    if (spec.qcovar() != null) {
      SampleTable q = spec.qcovar();
      boolean[] ok = new boolean[q.size()];
      java.util.Arrays.fill(ok, true);
      for (int col = 0; col < q.columns().size(); col++) {
        double[] v = q.numeric(col);
        for (int i = 0; i < v.length; i++) {
          ok[i] &= !Double.isNaN(v[i]);
        }
        qValues.add(v);
      }
      inputs.add(new SampleMatch.Input("quantitative covariates " + q.file(), q.ids(), ok, "missing covariate value"));
    }
    int firstRel = inputs.size();
    for (Relationship r : spec.relationships()) {
      inputs.add(new SampleMatch.Input("relationship matrix " + r.name() + " (" + r.source() + ")", r.matrix().ids(),
          null, null));
    }
    SampleMatch match = SampleMatch.intersect(inputs);
    List<String> notes = new ArrayList<>(match.report());
    int minSamples = 1 + 1 + spec.relationships().size() + groups.size() + 2;
    for (int k = firstRel; k < inputs.size(); k++) {
      int[] count = new int[1];
      List<SampleId> ex = match.absentFrom(k, 5, count);
      if (count[0] > 0) {
        String what = inputs.get(k).name() + " lacks " + count[0] + " of the phenotyped samples, e.g. "
            + ex.stream().map(s -> s.fid() + " " + s.iid()).collect(Collectors.joining(", "));
        if (match.size() < minSamples) {
          throw new BadInputException(what + "; only " + match.size()
              + " samples are left in common: the relationship matrix does not cover the phenotyped samples "
              + "(do the FID/IID match?)");
        }
        notes.add(what);
      }
    }
    if (match.size() < minSamples) {
      throw new BadInputException("only " + match.size() + " samples have a phenotype and every covariate in all inputs ("
          + String.join("; ", match.report()) + ")");
    }
    int n = match.size();
    int[] prow = match.rowsIn(0);
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      y[i] = traitValues[prow[i]];
    }
    List<Design.Categorical> cats = new ArrayList<>();
    List<String[]> groupLabels = new ArrayList<>();
    int next = 1;
    if (spec.covar() != null) {
      int[] rows = match.rowsIn(next++);
      for (int col : catCols) {
        cats.add(new Design.Categorical(spec.covar().columns().get(col), pick(catValues.get(col), rows)));
      }
      for (int g = 0; g < groups.size(); g++) {
        groupLabels.add(pick(catValues.get(groupCols[g]), rows));
      }
    }
    List<Design.Quantitative> quants = new ArrayList<>();
    if (spec.qcovar() != null) {
      int[] rows = match.rowsIn(next++);
      for (int col = 0; col < qValues.size(); col++) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
          v[i] = qValues.get(col)[rows[i]];
        }
        quants.add(new Design.Quantitative(spec.qcovar().columns().get(col), v));
      }
    }
    Design design = Design.build(trait, y, quants, cats);
    List<VarianceComponent> comps = new ArrayList<>();
    List<VarianceComponent> epi = new ArrayList<>();
    for (int r = 0; r < spec.relationships().size(); r++) {
      Relationship rel = spec.relationships().get(r);
      DenseSymmetricMatrix k = Components.relationship(rel.matrix(), match.rowsIn(firstRel + r));
      comps.add(new VarianceComponent(rel.name(), k));
      if (spec.epistatic() && rel.additive()) {
        epi.add(new VarianceComponent(rel.name() + "x" + rel.name(), Components.epistatic(k)));
      }
    }
    comps.addAll(epi);
    for (int g = 0; g < groups.size(); g++) {
      GroupingOperator op = Components.grouping(groupLabels.get(g));
      if (op.levelCount() == n) {
        notes.add("--group " + groups.get(g) + ": every sample is its own level, so this component is confounded "
            + "with the residual");
      }
      comps.add(new VarianceComponent(groups.get(g), op));
    }
    if (spec.epistatic() && epi.isEmpty()) {
      throw new BadInputException("--epistatic needs a GRM (--grm) to square");
    }
    RemlProblem problem = new RemlProblem(design.y(), design.x(), design.columnNames(), comps);
    return new Assembled(problem, design, match.samples(), match, notes);
  }

  private static boolean[] present(double[] v) {
    boolean[] ok = new boolean[v.length];
    for (int i = 0; i < v.length; i++) {
      ok[i] = !Double.isNaN(v[i]);
    }
    return ok;
  }

  private static String[] pick(String[] v, int[] rows) {
    String[] out = new String[rows.length];
    for (int i = 0; i < rows.length; i++) {
      out[i] = v[rows[i]];
    }
    return out;
  }
}
