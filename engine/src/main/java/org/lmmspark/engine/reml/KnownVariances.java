package org.lmmspark.engine.reml;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.lmmspark.engine.BadInputException;

/**
 * REML with some or all variance parameters held at known values (ASReml's {@code !F}, BLUPF90's
 * fixed variances) for {@code reml --fix}.
 *
 * <p>All known: no optimization; one evaluation at θ gives the GLS β̂ with {@code Cov(β̂) =
 * (XᵀV⁻¹X)⁻¹}, Py and the likelihood — Henderson's BLUE/BLUP setting (Mrode 2005, ch. 3). Some known:
 * the one optimizer, {@link AiReml#maximize}, over a {@link ParameterSpace} whose fixed mask holds the
 * known parameters at their values (the plain GREML space otherwise: variances ≥ 0, residual floor).
 * Known parameters get standard error 0 and zero rows and columns in the sampling covariance, which
 * is the inverse of the AI matrix over the estimated ones.
 */
public final class KnownVariances implements RemlSolver {
  private final String name;
  private final Function<RemlProblem, RemlLikelihood> likelihoods;
  private final double[] known;
  private final int emSteps;
  private final int maxIterations;

  /**
   * @param known one entry per variance parameter (components, then the residual): the known value,
   *              or NaN when the parameter is estimated
   */
  public KnownVariances(String name, Function<RemlProblem, RemlLikelihood> likelihoods, double[] known, int emSteps,
      int maxIterations) {
    this.name = name;
    this.likelihoods = likelihoods;
    this.known = known.clone();
    this.emSteps = emSteps;
    this.maxIterations = maxIterations;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public RemlFit fit(RemlProblem problem) {
    RemlLikelihood full = likelihoods.apply(problem);
    int m = full.parameters();
    if (known.length != m) {
      throw new IllegalArgumentException(known.length + " known values for " + m + " parameters");
    }
    List<String> names = new ArrayList<>();
    for (VarianceComponent c : problem.components()) {
      names.add(c.name());
    }
    int[] free = freeIndices();
    String fixedText = describeKnown(names);
    if (free.length == 0) {
      RemlLikelihood.Evaluation ev = full.evaluate(known.clone());
      if (!ev.ok()) {
        throw new BadInputException("V is not positive definite at the given variances " + fixedText);
      }
      return new RemlFit(name, names, known.clone(), new double[m * m], null, ev.logL(), ev.score(), ev.beta(),
          ev.betaCovariance(), ev.py(), new boolean[m], 0, true,
          "all variance parameters known (" + fixedText + "): no optimization");
    }
    double[] s2 = new double[1];
    problem.nullLogL(s2);
    int n = full.samples();
    ParameterSpace.Builder b = ParameterSpace.builder();
    boolean[] fixed = new boolean[m];
    double[] start = new double[m];
    for (int k = 0; k < m; k++) {
      boolean residual = k == m - 1;
      b.add(residual ? "e" : names.get(k), residual ? ParameterSpace.Kind.RESIDUAL : ParameterSpace.Kind.VARIANCE,
          residual ? AiReml.RESIDUAL_FLOOR * s2[0] : 0, n);
      fixed[k] = !Double.isNaN(known[k]);
      start[k] = fixed[k] ? known[k] : s2[0] / m;
    }
    AiReml.Optimum opt = new AiReml(name, p -> full, emSteps, maxIterations).maximize(full, b.build(fixed), start);
    RemlLikelihood.Evaluation ev = opt.evaluation();
    double[] cov = new double[m * m];
    double[] sub = SmallMatrices.invertSpd(SmallMatrices.select(ev.ai(), m, free), free.length);
    for (int i = 0; i < free.length; i++) {
      for (int j = 0; j < free.length; j++) {
        cov[free[i] + free[j] * m] = sub == null ? Double.NaN : sub[i + j * free.length];
      }
    }
    return new RemlFit(name, names, opt.theta(), cov, null, ev.logL(), ev.score(), ev.beta(), ev.betaCovariance(),
        ev.py(), opt.boundary(), opt.iterations(), opt.converged(), opt.message() + "; known: " + fixedText);
  }

  /**
   * Known values from the command line ({@code NAME=VALUE}, repeatable) and from a file (one
   * {@code NAME VALUE} per line, {@code #} comments; may be null), in order; a name given twice is an
   * error. Names are those of the outputs ({@code A}, {@code herd}, {@code e}); GCTA's {@code V(A)}
   * form is accepted too.
   */
  public static java.util.Map<String, Double> parse(List<String> fixes, String file,
      org.apache.hadoop.conf.Configuration conf) {
    java.util.Map<String, Double> out = new java.util.LinkedHashMap<>();
    for (String f : fixes) {
      int eq = f.lastIndexOf('=');
      if (eq <= 0 || eq == f.length() - 1) {
        throw new BadInputException("--fix '" + f + "': expected NAME=VALUE, e.g. --fix A=20");
      }
      put(out, f.substring(0, eq).trim(), number(f.substring(eq + 1).trim(), "--fix " + f), "--fix " + f);
    }
    if (file != null) {
      org.lmmspark.engine.io.WhitespaceLines.read(file, conf, (line, fields) -> {
        if (fields[0].startsWith("#")) {
          return;
        }
        if (fields.length != 2) {
          throw BadInputException.atLine(file, line, "expected NAME VALUE, found " + fields.length + " fields");
        }
        String where = file + ":" + line;
        put(out, fields[0], number(fields[1], where), where);
      });
    }
    return out;
  }

  private static void put(java.util.Map<String, Double> out, String name, double value, String where) {
    String bare = name.startsWith("V(") && name.endsWith(")") ? name.substring(2, name.length() - 1) : name;
    if (!(value >= 0) || Double.isInfinite(value)) {
      throw new BadInputException(where + ": a variance must be a finite number ≥ 0, got " + value);
    }
    if (out.put(bare, value) != null) {
      throw new BadInputException(where + ": variance " + bare + " is given twice");
    }
  }

  private static double number(String s, String where) {
    try {
      return Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw new BadInputException(where + ": '" + s + "' is not a number");
    }
  }

  /**
   * The known values over the model's parameters (components in order, then the residual "e"), NaN
   * where not given; a name the model does not have is an error listing the names it has.
   */
  public static double[] resolve(java.util.Map<String, Double> given, List<String> componentNames) {
    List<String> names = new ArrayList<>(componentNames);
    names.add("e");
    double[] known = new double[names.size()];
    java.util.Arrays.fill(known, Double.NaN);
    for (java.util.Map.Entry<String, Double> e : given.entrySet()) {
      int k = names.indexOf(e.getKey());
      if (k < 0) {
        throw new BadInputException("--fix " + e.getKey() + ": the model has no variance of that name; its variances are "
            + names);
      }
      known[k] = e.getValue();
    }
    return known;
  }

  private int[] freeIndices() {
    int count = 0;
    int[] idx = new int[known.length];
    for (int k = 0; k < known.length; k++) {
      if (Double.isNaN(known[k])) {
        idx[count++] = k;
      }
    }
    return java.util.Arrays.copyOf(idx, count);
  }

  private String describeKnown(List<String> names) {
    List<String> parts = new ArrayList<>();
    for (int k = 0; k < known.length; k++) {
      if (!Double.isNaN(known[k])) {
        parts.add((k < names.size() ? names.get(k) : "e") + "="
            + new java.math.BigDecimal(Double.toString(known[k])).stripTrailingZeros().toPlainString());
      }
    }
    return String.join(", ", parts);
  }
}
