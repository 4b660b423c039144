package org.lmmspark.engine.simulate;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.nio.charset.StandardCharsets;
import org.apache.commons.math3.special.Erf;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.TaskFailures;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.PlinkWriter;
import org.lmmspark.engine.io.SampleId;

/**
 * A seeded simulator of genotypes and traits with known truth: the same configuration (seed
 * included) gives the same bytes, whatever the number of threads.
 *
 * <p><b>Samples</b> ({@link Cohort}): P populations drifted from one ancestral population with
 * Balding–Nichols F (Fst); F nuclear families (two founder parents of one population, 2–3 full
 * sibs, expected GRM entry 0.5 between sibs and between parent and child) and unrelated founders.
 *
 * <p><b>Genotypes</b> ({@link VariantGenerator}, {@link Genome}): M variants over the 22 autosomes,
 * founders in Hardy–Weinberg proportions at their population's frequency, children by Mendelian
 * transmission with free recombination between variants, a few monomorphic variants, calls missing
 * at random with a small rate; optionally linkage disequilibrium ({@code ldRho > 0}: haplotypes
 * correlated along the chromosome and crossovers in meioses, {@link LinkedHaplotypes}). Generated and written variant by variant: memory is O(N) per variant
 * in flight plus O(M) for the layout, never O(N·M); time is O(N·M).
 *
 * <p><b>Traits.</b> With C causal variants c, standardized true genotypes {@code z_c = (x_c −
 * 2p_c)/sqrt(2p_c(1−p_c))} (p_c over all N samples) and raw effects {@code b_c ~ N(0,1)}, the
 * genetic value is {@code g = s Σ_c b_c z_c} with s chosen so that the sample variance of g is
 * exactly h² (as GCTA's {@code --simu-qt} fixes the residual variance from the realized var(g)).
 * Then
 * <ul>
 *   <li>{@code y_quant = β0 + β_age·age + β_sex·[female] + β_pc1·pc1 + β_pc2·pc2 + g + e},
 *       {@code e ~ N(0, 1 − h²)}, so {@code h² = var(g)/(var(g) + var(e))} in expectation (the
 *       heritability of the trait after the covariates, what REML with these covariates estimates);
 *   <li>{@code y_binary = 1[g + e_L > Φ⁻¹(1 − K)]}, {@code e_L ~ N(0, 1 − h²)} independent of e
 *       (liability threshold model, liability variance 1, expected case fraction K; no covariates);
 *   <li>{@code y_null ~ N(0, 1)} independent of everything (for genomic-control checks, λGC ≈ 1).
 * </ul>
 * Covariates: age uniform on [20, 80] (one decimal); sex; pc1, pc2 = the population's centroid on
 * the unit circle plus N(0, 0.3²) noise: stand-ins for genotype principal components, not computed
 * from the genotypes. A few phenotype values are written as NA.
 *
 * <p><b>Outputs</b>, all through one {@link AtomicOutputs} (all appear or none): {@code
 * PREFIX.bed/.bim/.fam}; {@code PREFIX.pheno} ({@code FID IID y_quant y_binary y_null}, binary 0/1,
 * NA missing); {@code PREFIX.covar} ({@code FID IID sex}, categorical M/F); {@code PREFIX.qcovar}
 * ({@code FID IID age pc1 pc2}); {@code PREFIX.ped} (pedigree {@code FID IID father mother sex}, 0
 * for unknown parents, sex 1 male 2 female); {@code PREFIX.truth.tsv} (per sample: population,
 * family, g, liability); {@code PREFIX.truth.json} (parameters, causal variants and effects, β,
 * populations, families, prevalence and realized values). All tables are tab-separated.
 */
public final class Simulator {
  /** The fixed effects of the quantitative trait. */
  public static final SimulationResult.Beta BETA = new SimulationResult.Beta(0.5, 0.02, 0.25, 0.3, -0.2);

  /** Standard deviation of the noise around a population's centroid in the pc-like covariates. */
  static final double PC_NOISE_SD = 0.3;

  /** Told how many variants are done; called about every 10 % and at the end. */
  public interface Progress {
    void variantsDone(long done, long total);
  }

  private Simulator() {}

  /** Simulates, writes all outputs under {@code prefix} atomically and returns the truth. */
  public static SimulationResult run(SimulationConfig c, String prefix, Configuration conf, Progress progress) {
    Cohort cohort = new Cohort(c);
    Genome genome = new Genome(c);
    int n = cohort.n;
    List<PlinkWriter.Sample> fam = new ArrayList<>(n);
    List<SampleId> ids = new ArrayList<>(n);
    for (int j = 0; j < n; j++) {
      fam.add(new PlinkWriter.Sample(cohort.fid[j], cohort.iid[j], cohort.fatherId(j), cohort.motherId(j), cohort.sex[j], "-9"));
      ids.add(new SampleId(cohort.fid[j], cohort.iid[j]));
    }
    try (AtomicOutputs outputs = new AtomicOutputs(conf)) {
      Genotypes geno;
      try (PlinkWriter writer = new PlinkWriter(prefix, fam, outputs)) {
        geno = writeGenotypes(c, cohort, genome, writer, progress);
        writer.finish();
      }
      SimulationResult result = traits(c, cohort, genome, ids, geno);
      writeTables(prefix, result, cohort, outputs);
      writeTruthJson(prefix + ".truth.json", result, cohort, outputs);
      outputs.commit();
      return result;
    }
  }

  /** What the genotype pass keeps: raw genetic values and per-causal facts, O(N + C). */
  private record Genotypes(double[] gRaw, double[] rawEffect, double[] freq, String[] causalId, String[] causalChr,
      long[] causalBp, List<String> monomorphicIds, long missingCalls) {}

  /** One chunk of consecutive variants generated by one worker. */
  private record Chunk(int first, byte[][] packed, VariantGenerator.Info[] info, byte[][] causalGenotypes) {}

  private static Genotypes writeGenotypes(SimulationConfig c, Cohort cohort, Genome genome, PlinkWriter writer,
      Progress progress) {
    int n = cohort.n;
    int m = genome.m;
    int bpv = PlinkWriter.bytesPerVariant(n);
    boolean[] isCausal = new boolean[m];
    for (int v : genome.causal) {
      isCausal[v] = true;
    }
    int[] starts = chunkStarts(c, genome, bpv);
    int chunks = starts.length;
    SplittableRandom effects = Rng.stream(c.seed(), Rng.EFFECTS, 0);
    int nc = genome.causal.length;
    double[] rawEffect = new double[nc];
    for (int k = 0; k < nc; k++) {
      rawEffect[k] = Rng.normal(effects);
    }
    double[] gRaw = new double[n];
    double[] freq = new double[nc];
    String[] causalId = new String[nc];
    String[] causalChr = new String[nc];
    long[] causalBp = new long[nc];
    List<String> mono = new ArrayList<>();
    long missing = 0;
    int causalSeen = 0;
    long step = Math.max(1, m / 10);
    long nextReport = step;
    ExecutorService pool = Executors.newFixedThreadPool(c.threads(), r -> {
      Thread t = new Thread(r, "lmmspark-simulate");
      t.setDaemon(true);
      return t;
    });
    try {
      Deque<Future<Chunk>> inFlight = new ArrayDeque<>();
      int submitted = 0;
      for (int done = 0; done < chunks; done++) {
        while (submitted < chunks && inFlight.size() < 2 * c.threads()) {
          int first = starts[submitted];
          int count = (submitted + 1 < chunks ? starts[submitted + 1] : m) - first;
          inFlight.add(pool.submit(() -> generateChunk(c, cohort, genome, isCausal, first, count, bpv)));
          submitted++;
        }
        Chunk chunk = await(inFlight.removeFirst());
        for (int i = 0; i < chunk.packed.length; i++) {
          int v = chunk.first + i;
          VariantGenerator.Info info = chunk.info[i];
          writer.writePacked(info.variant(), chunk.packed[i]);
          missing += info.missingCalls();
          if (genome.monomorphic[v]) {
            mono.add(info.variant().id());
          }
          if (isCausal[v]) {
            int k = causalSeen++;
            byte[] x = chunk.causalGenotypes[i];
            long a1 = 0;
            for (int j = 0; j < n; j++) {
              a1 += x[j];
            }
            double p = a1 / (2.0 * n);
            freq[k] = p;
            causalId[k] = info.variant().id();
            causalChr[k] = info.variant().chr();
            causalBp[k] = info.variant().bp();
            double sd = Math.sqrt(2 * p * (1 - p));
            if (sd > 0) {
              // g_raw += b_c (x_c − 2p_c) / sqrt(2p_c(1−p_c)); a monomorphic causal variant adds nothing.
              double w = rawEffect[k] / sd;
              for (int j = 0; j < n; j++) {
                gRaw[j] += w * (x[j] - 2 * p);
              }
            }
          }
          if (progress != null && (v + 1 >= nextReport || v + 1 == m)) {
            progress.variantsDone(v + 1, m);
            nextReport += step;
          }
        }
      }
    } finally {
      pool.shutdownNow();
    }
    return new Genotypes(gRaw, rawEffect, freq, causalId, causalChr, causalBp, mono, missing);
  }

  /**
   * First variant of each chunk of work. Without LD, chunks of ~4 MB of records keep the workers busy
   * without holding much; with LD a chunk is one LD segment ({@link LinkedHaplotypes#SEGMENT} variants
   * of one chromosome), generated in order by one worker.
   */
  private static int[] chunkStarts(SimulationConfig c, Genome genome, int bpv) {
    int m = genome.m;
    if (c.ldRho() > 0) {
      return java.util.stream.IntStream.range(0, m).filter(v -> LinkedHaplotypes.startsSegment(genome, v)).toArray();
    }
    int chunkSize = Math.max(1, Math.min(1024, (4 << 20) / bpv));
    return java.util.stream.IntStream.iterate(0, v -> v < m, v -> v + chunkSize).toArray();
  }

  private static Chunk generateChunk(SimulationConfig c, Cohort cohort, Genome genome, boolean[] isCausal, int first,
      int count, int bpv) {
    VariantGenerator gen = new VariantGenerator(c, cohort, genome);
    byte[][] packed = new byte[count][bpv];
    VariantGenerator.Info[] info = new VariantGenerator.Info[count];
    byte[][] causal = new byte[count][];
    for (int i = 0; i < count; i++) {
      info[i] = gen.generate(first + i, packed[i]);
      if (isCausal[first + i]) {
        causal[i] = gen.genotypes.clone();
      }
    }
    return new Chunk(first, packed, info, causal);
  }

  private static Chunk await(Future<Chunk> f) {
    return TaskFailures.join(f, "simulating genotypes");
  }

  private static SimulationResult traits(SimulationConfig c, Cohort cohort, Genome genome, List<SampleId> ids, Genotypes geno) {
    int n = cohort.n;
    double varRaw = SimulationResult.variance(geno.gRaw);
    double scale;
    if (c.h2() == 0) {
      scale = 0;
    } else if (varRaw > 0) {
      scale = Math.sqrt(c.h2() / varRaw);
    } else {
      throw new BadInputException("simulate: all " + genome.causal.length
          + " causal variants are monomorphic in the sample, so h2 > 0 cannot be reached; use more samples or causal variants");
    }
    double[] g = new double[n];
    for (int j = 0; j < n; j++) {
      g[j] = scale * geno.gRaw[j];
    }
    List<SimulationResult.Causal> causal = new ArrayList<>();
    for (int k = 0; k < genome.causal.length; k++) {
      double p = geno.freq[k];
      double sd = Math.sqrt(2 * p * (1 - p));
      double effStd = sd > 0 ? scale * geno.rawEffect[k] : 0;
      causal.add(new SimulationResult.Causal(genome.causal[k], geno.causalId[k], geno.causalChr[k], geno.causalBp[k], p,
          effStd, sd > 0 ? effStd / sd : 0));
    }

    // Covariates, drawn sample by sample from their own stream; rounded to what is written, so
    // that the written covariates reproduce y_quant exactly.
    SplittableRandom cov = Rng.stream(c.seed(), Rng.SAMPLES, 1);
    double[] age = new double[n];
    double[] pc1 = new double[n];
    double[] pc2 = new double[n];
    for (int j = 0; j < n; j++) {
      age[j] = round(20 + 60 * cov.nextDouble(), 1);
      double angle = 2 * Math.PI * cohort.population[j] / c.populations();
      pc1[j] = round(StrictMath.cos(angle) + PC_NOISE_SD * Rng.normal(cov), 4);
      pc2[j] = round(StrictMath.sin(angle) + PC_NOISE_SD * Rng.normal(cov), 4);
    }

    SplittableRandom noise = Rng.stream(c.seed(), Rng.NOISE, 0);
    SplittableRandom na = Rng.stream(c.seed(), Rng.MISSING_PHENO, 0);
    double sdE = Math.sqrt(1 - c.h2());
    // Φ⁻¹(1 − K) = √2 erf⁻¹(1 − 2K)
    double threshold = Math.sqrt(2) * Erf.erfInv(1 - 2 * c.prevalence());
    double[] e = new double[n];
    double[] liability = new double[n];
    double[] yq = new double[n];
    int[] yb = new int[n];
    double[] yn = new double[n];
    boolean[] qMiss = new boolean[n];
    boolean[] bMiss = new boolean[n];
    boolean[] nMiss = new boolean[n];
    SimulationResult.Beta b = BETA;
    for (int j = 0; j < n; j++) {
      e[j] = sdE * Rng.normal(noise);
      liability[j] = g[j] + sdE * Rng.normal(noise);
      yn[j] = Rng.normal(noise);
      double female = cohort.sex[j] == 2 ? 1 : 0;
      yq[j] = b.intercept() + b.age() * age[j] + b.sexFemale() * female + b.pc1() * pc1[j] + b.pc2() * pc2[j] + g[j] + e[j];
      yb[j] = liability[j] > threshold ? 1 : 0;
      qMiss[j] = na.nextDouble() < c.phenoMissingRate();
      bMiss[j] = na.nextDouble() < c.phenoMissingRate();
      nMiss[j] = na.nextDouble() < c.phenoMissingRate();
    }
    return new SimulationResult(c, ids, cohort.father.clone(), cohort.mother.clone(), cohort.sex.clone(),
        cohort.population.clone(), cohort.family.clone(), cohort.familyMembers, cohort.offspring, age, pc1, pc2, g, e,
        liability, yq, yb, yn, qMiss, bMiss, nMiss, List.copyOf(causal), b, threshold, List.copyOf(geno.monomorphicIds),
        geno.missingCalls, genome.perChromosome.clone());
  }

  private static void writeTables(String prefix, SimulationResult r, Cohort cohort, AtomicOutputs outputs) {
    int n = r.n();
    try (Writer pheno = text(outputs, prefix + ".pheno");
        Writer covar = text(outputs, prefix + ".covar");
        Writer qcovar = text(outputs, prefix + ".qcovar");
        Writer ped = text(outputs, prefix + ".ped");
        Writer truth = text(outputs, prefix + ".truth.tsv")) {
      pheno.write("FID\tIID\ty_quant\ty_binary\ty_null\n");
      covar.write("FID\tIID\tsex\n");
      qcovar.write("FID\tIID\tage\tpc1\tpc2\n");
      ped.write("FID\tIID\tfather\tmother\tsex\n");
      truth.write("FID\tIID\tpopulation\tfamily\tg\tliability\n");
      for (int j = 0; j < n; j++) {
        String id = cohort.fid[j] + '\t' + cohort.iid[j] + '\t';
        pheno.write(id + (r.quantMissing()[j] ? "NA" : fixed(r.yQuant()[j], 6)) + '\t'
            + (r.binaryMissing()[j] ? "NA" : Integer.toString(r.yBinary()[j])) + '\t'
            + (r.nullMissing()[j] ? "NA" : fixed(r.yNull()[j], 6)) + '\n');
        covar.write(id + (cohort.sex[j] == 1 ? "M" : "F") + '\n');
        qcovar.write(id + fixed(r.age()[j], 1) + '\t' + fixed(r.pc1()[j], 4) + '\t' + fixed(r.pc2()[j], 4) + '\n');
        ped.write(id + cohort.fatherId(j) + '\t' + cohort.motherId(j) + '\t' + cohort.sex[j] + '\n');
        truth.write(id + "pop" + (cohort.population[j] + 1) + '\t'
            + (cohort.family[j] < 0 ? "NA" : cohort.fid[j]) + '\t' + fixed(r.geneticValue()[j], 6) + '\t'
            + fixed(r.liability()[j], 6) + '\n');
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void writeTruthJson(String path, SimulationResult r, Cohort cohort, AtomicOutputs outputs) {
    SimulationConfig c = r.config();
    StringBuilder j = new StringBuilder();
    j.append("{\n");
    j.append("  \"generator\": \"lmmspark simulate\",\n");
    j.append("  \"seed\": ").append(c.seed()).append(",\n");
    j.append("  \"samples\": ").append(c.samples()).append(",\n");
    j.append("  \"variants\": ").append(c.variants()).append(",\n");
    j.append("  \"variants_per_chromosome\": [");
    for (int i = 0; i < r.variantsPerChromosome().length; i++) {
      j.append(i == 0 ? "" : ", ").append(r.variantsPerChromosome()[i]);
    }
    j.append("],\n");
    j.append("  \"h2\": ").append(num(c.h2())).append(",\n");
    j.append("  \"h2_definition\": \"var(g) / (var(g) + var(e)) of y_quant after the covariates; also the liability-scale h2 of y_binary\",\n");
    j.append("  \"realized\": {\"var_g\": ").append(num(r.varG())).append(", \"var_e\": ").append(num(r.varE()))
        .append(", \"h2\": ").append(num(r.realizedH2())).append(", \"cases\": ").append(r.cases())
        .append(", \"controls\": ").append(r.n() - r.cases()).append("},\n");
    j.append("  \"prevalence\": ").append(num(c.prevalence())).append(",\n");
    j.append("  \"liability_threshold\": ").append(num(r.liabilityThreshold())).append(",\n");
    SimulationResult.Beta b = r.beta();
    j.append("  \"beta\": {\"intercept\": ").append(num(b.intercept())).append(", \"age\": ").append(num(b.age()))
        .append(", \"sex_female\": ").append(num(b.sexFemale())).append(", \"pc1\": ").append(num(b.pc1()))
        .append(", \"pc2\": ").append(num(b.pc2())).append("},\n");
    j.append("  \"model\": \"y_quant = intercept + age*beta_age + [sex==F]*beta_sex_female + pc1*beta_pc1 + pc2*beta_pc2"
        + " + g + e, e ~ N(0, 1-h2); g = sum_c effect_per_a1_c * (x_c - 2 freq_a1_c), var(g) = h2 exactly;"
        + " y_binary = [g + e_L > liability_threshold], e_L ~ N(0, 1-h2); y_null ~ N(0, 1);"
        + " genotypes: Balding-Nichols population frequencies, Hardy-Weinberg founders,"
        + " Mendelian transmission with free recombination between variants"
        + (c.ldRho() > 0 ? "; except LD: founder haplotypes keep a latent uniform U from one variant to the next with"
            + " probability ld_rho (A1 when U < p), restarting every " + LinkedHaplotypes.SEGMENT + " variants of a"
            + " chromosome, and children inherit parental haplotypes with Poisson crossovers (1 cM per Mb)" : "")
        + "\",\n");
    if (c.ldRho() > 0) {
      j.append("  \"ld_rho\": ").append(num(c.ldRho())).append(",\n");
    }
    j.append("  \"populations\": [");
    for (int p = 0; p < c.populations(); p++) {
      j.append(p == 0 ? "" : ", ").append("{\"name\": \"pop").append(p + 1).append("\", \"fst\": ").append(num(c.fst()))
          .append(", \"samples\": ").append(cohort.populationSize(p)).append('}');
    }
    j.append("],\n");
    j.append("  \"families\": {\"count\": ").append(c.families()).append(", \"members\": ").append(r.familyMembers())
        .append(", \"founders\": ").append(2 * c.families()).append(", \"offspring\": ").append(r.offspring())
        .append(", \"unrelated\": ").append(r.n() - r.familyMembers()).append("},\n");
    j.append("  \"genotype_missing_rate\": ").append(num(c.missingRate())).append(",\n");
    j.append("  \"missing_calls\": ").append(r.missingCalls()).append(",\n");
    j.append("  \"phenotype_missing_rate\": ").append(num(c.phenoMissingRate())).append(",\n");
    j.append("  \"phenotype_na\": {\"y_quant\": ").append(count(r.quantMissing())).append(", \"y_binary\": ")
        .append(count(r.binaryMissing())).append(", \"y_null\": ").append(count(r.nullMissing())).append("},\n");
    j.append("  \"monomorphic\": [");
    for (int i = 0; i < r.monomorphicIds().size(); i++) {
      j.append(i == 0 ? "" : ", ").append('"').append(r.monomorphicIds().get(i)).append('"');
    }
    j.append("],\n");
    j.append("  \"causal\": [");
    for (int i = 0; i < r.causal().size(); i++) {
      SimulationResult.Causal k = r.causal().get(i);
      j.append(i == 0 ? "\n" : ",\n").append("    {\"id\": \"").append(k.id()).append("\", \"chr\": \"").append(k.chr())
          .append("\", \"bp\": ").append(k.bp()).append(", \"freq_a1\": ").append(num(k.freqA1()))
          .append(", \"effect_std\": ").append(num(k.effectStd())).append(", \"effect_per_a1\": ")
          .append(num(k.effectPerA1())).append('}');
    }
    j.append(r.causal().isEmpty() ? "]\n" : "\n  ]\n");
    j.append("}\n");
    try (Writer w = text(outputs, path)) {
      w.write(j.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int count(boolean[] x) {
    int k = 0;
    for (boolean b : x) {
      k += b ? 1 : 0;
    }
    return k;
  }

  private static Writer text(AtomicOutputs outputs, String path) {
    return new BufferedWriter(new OutputStreamWriter(outputs.create(path), StandardCharsets.UTF_8), 1 << 16);
  }

  /** x rounded half-even to {@code scale} decimals, as a double. */
  static double round(double x, int scale) {
    return new BigDecimal(x).setScale(scale, RoundingMode.HALF_EVEN).doubleValue();
  }

  /**
   * x with exactly {@code scale} decimals, computed from the exact binary value, so the text does
   * not depend on the JDK's {@code Double.toString} (which changed in JDK 19).
   */
  static String fixed(double x, int scale) {
    return new BigDecimal(x).setScale(scale, RoundingMode.HALF_EVEN).toPlainString();
  }

  /** A JSON number with 10 significant digits, JDK-independent for the same reason. */
  static String num(double x) {
    if (x == 0) {
      return "0";
    }
    return new BigDecimal(x).round(new MathContext(10)).stripTrailingZeros().toPlainString();
  }
}
