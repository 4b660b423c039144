package org.lmmspark.jobs.reml;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.glmm.Family;
import org.lmmspark.engine.glmm.GlmmFit;
import org.lmmspark.engine.glmm.GlmmFitter;
import org.lmmspark.engine.glmm.GlmmReport;
import org.lmmspark.engine.glmm.MatrixFreePql;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;
import org.lmmspark.engine.model.MixedModelFitter;
import org.lmmspark.engine.reml.matfree.GenotypeRemlInputs;
import org.lmmspark.engine.reml.matfree.StochasticReml;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.matfree.DistributedGenotypeProducts;
import org.lmmspark.jobs.matfree.MatrixFreeRemlJob;
import org.lmmspark.engine.model.MixedModel;
import org.lmmspark.engine.model.ModelFrame;
import org.lmmspark.engine.pheno.SampleFrame;
import org.lmmspark.engine.reml.DenseSymmetricMatrix;
import org.lmmspark.engine.reml.HsqFile;
import org.lmmspark.engine.reml.RemlInputs;
import org.lmmspark.engine.reml.RemlProblem;
import org.lmmspark.engine.reml.SmallMatrices;
import org.lmmspark.engine.reml.SymmetricOperator;
import org.lmmspark.engine.reml.VarianceComponent;

/**
 * {@code lmmspark reml --family binomial|poisson}: the null GLMM of a 0/1 or count trait with {@code reml}'s
 * components (GRMs, {@code K∘K}, a pedigree's A, grouping factors), as GMMAT's {@code glmmkin} and SAIGE's
 * step 1 fit it:
 * <pre>  g(E[y | u]) = Xβ + Σ_k u_k,   u_k ~ N(0, σ²_k C_k)</pre>
 * by PQL with AI-REML on the working model ({@link GlmmFitter}, the {@code fit --family} engine; the
 * dispersion fixed at 1 by default). Each component enters the working model as a term whose relationship
 * is {@code C_k} over the analysed records ({@link ModelFrame#ofCovariances}), so the cost is the dense
 * route's: O(n²) memory per component and O(n³) per working fit, 5–15 working fits.
 *
 * <p>Reported on the link scale, with the latent-scale share {@code σ²_k / (Σ_s σ²_s + σ²_latent)}
 * (σ²_latent = π²/3 logit, 1 probit, {@code log(1 + 1/λ̄)} Poisson; {@link GlmmReport}) and its SE by the delta
 * method from the final working model's inverse average information.
 */
public final class GlmmRemlJob {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(GlmmRemlJob.class);

  private GlmmRemlJob() {}

  /** Fits and writes OUT.hsq, OUT.json, OUT.log; {@code log} holds the input lines so far. */
  static RemlJob.Result run(RemlJob.Options o, RemlJob.TraitScale scale, RemlInputs.Assembled in, List<String> log,
      long t0, Configuration conf) {
    refuseLinearOnlyOptions(o);
    String solver = o.solver() == null ? "auto" : o.solver();
    if (!solver.equals("auto") && !solver.equals("dense")) {
      throw new BadInputException("--family " + scale.family().distribution() + " with --grm: the PQL working model is "
          + "fitted by dense AI-REML (--solver auto or dense), not '" + solver + "'");
    }
    Family family = scale.family();
    RemlProblem prob = in.problem();
    double[] y = response(in.frame(), family, log);
    MixedModel model = ModelFrame.ofCovariances(in.design().trait(), y, prob.x(), prob.fixedNames(),
        denseCovariances(prob));
    List<String> why = new ArrayList<>();
    long tFit = System.nanoTime();
    GlmmFit fit;
    try {
      fit = GlmmFitter.fit(model, family, scale.glmm(), why);
    } catch (BadInputException e) {
      throw new BadInputException((o.trait().pheno() == null ? "" : o.trait().pheno() + ": ") + e.getMessage(), e);
    }
    double seconds = (System.nanoTime() - tFit) / 1e9;
    why.forEach(w -> log.add("route: " + w));
    log.add(String.format(Locale.ROOT, "GLMM %s/%s: %s (%.3f s)", family.distribution(), family.link(), fit.message(),
        seconds));
    List<String> componentNames = prob.components().stream().map(VarianceComponent::name).toList();
    return report(o, fit, model.formula(), in.design().trait(), componentNames, y, log, t0, conf, in, null);
  }

  /**
   * {@code reml --bfile/--bgen --family … --solver matrix-free} (or {@code auto} above
   * {@code --matrix-free-above}): the same GLMM with one genetic component K = ZZᵀ/M never formed, by
   * {@link MatrixFreePql} (PQL whose REML working model is fitted by stochastic AI-REML over the
   * distributed genotype operator, as SAIGE's step 1). The genotypes are cached once; every product with
   * K is a pass over the cache; the driver holds O(n·(1 + p + R)) doubles. Writes what {@link #run} writes,
   * plus a {@code matrix_free} section of diagnostics.
   *
   * @param log the log so far (command, versions, route)
   */
  static RemlJob.Result runMatrixFree(JavaSparkContext jsc, RemlJob.Options o, RemlJob.TraitScale scale,
      RemlJob.GenotypeInput g, PartitionedGenotypes genotypes, GenotypeRemlInputs.Assembled in, List<String> log,
      long t0) {
    refuseLinearOnlyOptions(o);
    GlmmFitter.Options glmm = scale.glmm();
    if (glmm.route() == GlmmFitter.Route.LAPLACE) {
      throw new BadInputException("--glmm laplace: a relationship matrix needs PQL (--glmm pql or auto)");
    }
    if (glmm.workingMethod() != MixedModelFitter.Method.REML || !glmm.fixDispersion()) {
      throw new BadInputException("--solver matrix-free with --family fits PQL's working model by REML with the "
          + "dispersion fixed at 1 (SAIGE, GMMAT): --pql-working-model ml and --dispersion estimated need the GRM route "
          + "(--solver dense or spectral)");
    }
    Family family = scale.family();
    double[] y = response(in.frame(), family, log);
    Configuration conf = jsc.hadoopConfiguration();
    log.add("trait: " + in.design().trait() + "; fixed effects: " + in.design().columnNames());
    log.add("samples:");
    List<String> notes = new ArrayList<>(genotypes.notes());
    notes.addAll(in.notes());
    notes.forEach(line -> log.add("  " + line));
    long tCache = System.nanoTime();
    DistributedGenotypeProducts products = DistributedGenotypeProducts.cache(jsc, genotypes, g.minMaf(), g.partitions(),
        g.kernel());
    try {
      double cacheSeconds = (System.nanoTime() - tCache) / 1e9;
      log.add(MatrixFreeRemlJob.describeCache(products));
      GenomicRelationshipOperator k = new GenomicRelationshipOperator(products, in.famRows(), -1);
      StochasticReml.Options ro = RemlJob.stochasticOptions(o, g);
      long passes0 = products.passes();
      AtomicInteger jobs = new AtomicInteger();
      long tFit = System.nanoTime();
      final double[] response = y;
      MatrixFreePql.Fit f;
      try {
        f = MatrixFreeRemlJob.countingJobs(jsc, jobs, () -> MatrixFreePql.fit(k, "G", family, response,
            in.design().x(), in.design().columnNames(), ro, glmm.tolerance(), line -> LOG.info("GLMM (matrix-free): {}",
            line)));
      } catch (BadInputException e) {
        throw new BadInputException((o.trait().pheno() == null ? "" : o.trait().pheno() + ": ") + e.getMessage(), e);
      }
      double seconds = (System.nanoTime() - tFit) / 1e9;
      long passes = products.passes() - passes0;
      GlmmFit fit = f.glmm();
      log.add("route: PQL with the working model fitted matrix-free (stochastic AI-REML over the genotype operator)");
      log.add(String.format(Locale.ROOT, "GLMM %s/%s: %s (%.3f s)", family.distribution(), family.link(), fit.message(),
          seconds));
      StochasticReml.Diagnostics dg = f.working().diagnostics();
      log.add(String.format(Locale.ROOT, "M = %d variants; genotypes cached in %.1f s (%d MiB packed, %d partitions); "
          + "PQL %.1f s: %d outer iterations, %d passes over the genotypes, %d Spark jobs", products.counts().kept,
          cacheSeconds, products.cachedBytes() >> 20, products.partitions(), seconds, f.outerIterations(), passes,
          jobs.get()));
      Map<String, Object> mf = new LinkedHashMap<>();
      mf.put("probes", dg.probes());
      mf.put("seed", g.seed());
      mf.put("cg_tolerance", g.cgTolerance());
      mf.put("monte_carlo_se", new double[] {dg.monteCarloSe(0)});
      mf.put("outer_iterations", f.outerIterations());
      mf.put("passes", passes);
      mf.put("spark_jobs", jobs.get());
      mf.put("variants", products.counts().kept);
      mf.put("partitions", products.partitions());
      mf.put("cached_bytes", products.cachedBytes());
      mf.put("cache_seconds", cacheSeconds);
      mf.put("pql_seconds", seconds);
      return report(o, fit, in.design().trait() + " ~ X + G", in.design().trait(), List.of("G"), y, log, t0, conf, null,
          mf);
    } finally {
      products.close();
    }
  }

  /**
   * The GLMM's response: the analysed trait values, PLINK's 1/2 recoded to 0/1 for a binomial trait (said in
   * the log); a value the family cannot model is refused naming the phenotype file, its line and sample.
   */
  static double[] response(SampleFrame frame, Family family, List<String> log) {
    double[] y = frame.design().y();
    if (family.isBinomial()) {
      double[] recoded = Family.plinkCaseControlAsZeroOne(y);
      if (recoded != null) {
        log.add("the trait is coded 1/2 (PLINK: 1 control, 2 case): recoded to 0/1");
        y = recoded;
      }
    }
    double[] response = y;
    frame.checkTrait(i -> family.invalidResponse(response[i], 1) == null ? null : family.isBinomial()
        ? "--family binomial takes 0/1 (control/case) or PLINK's 1/2, not other values or a mix"
        : "--family " + family.distribution() + ": " + family.invalidResponse(response[i], 1));
    return y;
  }

  /** Each component's covariance over the analysed records as a dense matrix, by name in order (for {@link ModelFrame#ofCovariances}). */
  static Map<String, DenseSymmetricMatrix> denseCovariances(RemlProblem prob) {
    Map<String, DenseSymmetricMatrix> covariances = new LinkedHashMap<>();
    for (VarianceComponent c : prob.components()) {
      SymmetricOperator op = c.covariance();
      covariances.put(c.name(), op instanceof DenseSymmetricMatrix d ? d : new DenseSymmetricMatrix(op.size(), op.toDense()));
    }
    return covariances;
  }

  /** Writes OUT.hsq, OUT.json (with {@code matrixFree} diagnostics when not null) and OUT.log of a GLMM fit. */
  private static RemlJob.Result report(RemlJob.Options o, GlmmFit fit, String formula, String trait,
      List<String> componentNames, double[] y, List<String> log, long t0, Configuration conf, RemlInputs.Assembled in,
      Map<String, Object> matrixFree) {
    RemlJob.checkConvergence("the GLMM", fit.converged(), fit.message(), o.out(), o.allowNonconvergence(), log,
        conf);
    double meanCount = SmallMatrices.sum(y) / y.length;
    String hsq = hsq(fit, componentNames, meanCount);
    log.add(String.format(Locale.ROOT, "total time %.3f s", (System.nanoTime() - t0) / 1e9));
    Map<String, Object> doc = GlmmReport.toMap(fit, formula, String.valueOf(o.trait().pheno()), meanCount);
    doc.put("trait", trait);
    doc.put("scale", "link: variances of the linear predictor; latent_share = variance / (sum of variances + "
        + GlmmReport.latentName(fit.family()) + ")");
    doc.put("components", componentNames);
    double[] se = new double[fit.variances().length];
    double[] latentSe = GlmmReport.latentProportionSe(fit, meanCount);
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> random = (List<Map<String, Object>>) doc.get("random");
    for (int k = 0; k < random.size(); k++) {
      se[k] = fit.varianceSe(k);
      random.get(k).put("name", componentNames.get(k));
      random.get(k).put("se", se[k]);
      random.get(k).put("latent_share_se", latentSe[k]);
    }
    if (componentNames.size() > 1) {
      double[] sum = GlmmReport.latentSum(fit, meanCount, all(componentNames.size()));
      doc.put("sum_latent_share", sum[0]);
      doc.put("sum_latent_share_se", sum[1]);
    }
    doc.put("se_method", "variance SEs from the final PQL working model's inverse average information (GMMAT, SAIGE);"
        + " latent shares by the delta method with the latent residual variance taken as known");
    if (matrixFree != null) {
      doc.put("matrix_free", matrixFree);
    }
    doc.put("command", o.commandLine());
    doc.put("version", RemlJob.version());
    RemlJob.writeFit(conf, o.out(), hsq, doc, log);
    return new RemlJob.Result(null, null, in, log, null, hsq, fit);
  }

  /**
   * GCTA's {@code .hsq} rows for a GLMM: {@code V(·)} of each component on the link scale with its SE,
   * {@code V(e)} the latent residual variance (a constant of the link: SE 0), {@code Vp} their sum,
   * {@code V(·)/Vp} the latent-scale shares (h² on the liability scale for a relationship component) with
   * delta-method SEs, then which family, link and scale they are on, and n.
   */
  static String hsq(GlmmFit fit, List<String> names, double meanCount) {
    StringBuilder sb = new StringBuilder("Source\tVariance\tSE\n");
    int k = names.size();
    double latent = fit.family().latentResidualVariance(meanCount);
    double vp = latent;
    for (int c = 0; c < k; c++) {
      sb.append("V(").append(names.get(c)).append(")\t").append(HsqFile.num(fit.variances()[c])).append('\t')
          .append(HsqFile.num(fit.varianceSe(c))).append('\n');
      vp += fit.variances()[c];
    }
    sb.append("V(e)\t").append(HsqFile.num(latent)).append("\t0\n");
    double[] cov = fit.varianceCovariance();
    double vpSe = cov == null ? Double.NaN : Math.sqrt(SmallMatrices.sum(cov));
    sb.append("Vp\t").append(HsqFile.num(vp)).append('\t').append(HsqFile.num(vpSe)).append('\n');
    double[] share = GlmmReport.latentProportions(fit, meanCount);
    double[] shareSe = GlmmReport.latentProportionSe(fit, meanCount);
    for (int c = 0; c < k; c++) {
      sb.append("V(").append(names.get(c)).append(")/Vp\t").append(HsqFile.num(share[c])).append('\t')
          .append(HsqFile.num(shareSe[c])).append('\n');
    }
    if (k > 1) {
      double[] sum = GlmmReport.latentSum(fit, meanCount, all(k));
      sb.append("Sum of V(G)/Vp\t").append(HsqFile.num(sum[0])).append('\t').append(HsqFile.num(sum[1]))
          .append('\n');
    }
    sb.append("family\t").append(fit.family().distribution()).append('\n');
    sb.append("link\t").append(fit.family().link()).append('\n');
    sb.append("method\t").append(fit.method().toUpperCase(Locale.ROOT)).append('\n');
    sb.append("scale\tlink: V(.) on the linear predictor; V(e) = ").append(GlmmReport.latentName(fit.family()))
        .append(" (latent residual); V(.)/Vp on the latent scale\n");
    sb.append("n\t").append(fit.n()).append('\n');
    return sb.toString();
  }

  /** Options of the linear model that a GLMM has no counterpart for. */
  private static void refuseLinearOnlyOptions(RemlJob.Options o) {
    List<String> refused = new ArrayList<>();
    if (!o.knownVariances().isEmpty()) {
      refused.add("--fix/--fix-file");
    }
    if (o.blup()) {
      refused.add("--blup");
    }
    if (!refused.isEmpty()) {
      throw new BadInputException(String.join(", ", refused) + " are for a linear model (--family gaussian): a GLMM's "
          + "variances are all estimated and its BLUPs are not written yet");
    }
  }

  private static boolean[] all(int k) {
    boolean[] b = new boolean[k];
    java.util.Arrays.fill(b, true);
    return b;
  }
}
