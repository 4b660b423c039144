package org.lmmspark.jobs.pca;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.io.AtomicOutputs;
import org.lmmspark.engine.io.PcaFiles;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.linalg.Blas;
import org.lmmspark.engine.matfree.GenomicRelationshipOperator;
import org.lmmspark.engine.matfree.GenotypeProductKernel;
import org.lmmspark.engine.matfree.PackedGenotypeBlock;
import org.lmmspark.engine.pca.BlockKrylovPca;
import org.lmmspark.engine.pca.ExactPca;
import org.lmmspark.engine.pca.PrincipalComponents;
import org.lmmspark.engine.pca.VariantLoadings;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.jobs.genotype.PartitionedGenotypes;
import org.lmmspark.jobs.grm.GrmJob;
import org.lmmspark.jobs.matfree.DistributedGenotypeProducts;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lmmspark pca}: the top K principal components of the kept samples of a PLINK fileset, as plink2
 * {@code --pca} defines them (the leading eigenpairs of the variance-standardized relationship
 * matrix {@code K = ZZᵀ/M}, {@link PrincipalComponents}), by one of two routes chosen in
 * {@link #exactRoute}:
 * <ul>
 *   <li><b>exact</b> (default up to {@link ExactPca#DEFAULT_MAX_SAMPLES} samples, plink2's
 *       {@code --pca}): the GRM on Spark ({@link GrmJob#computeInMemory}, GCTA's matrix with per-pair
 *       counts under missing calls), then LAPACK on the driver for the K leading pairs; {@code N²M} +
 *       {@code ~1.3N³} flops, 12·N² bytes on the driver;
 *   <li><b>randomized</b> ({@code --approx}, plink2's {@code --pca approx}): genotypes cached on the
 *       executors in 2-bit form ({@link DistributedGenotypeProducts}), block Krylov iteration
 *       ({@link BlockKrylovPca}), each pass one Spark job of {@code 4·N·M·b} single-precision flops;
 *       no N×N and no M×M matrix; driver memory {@code 16·N·(passes·b)} bytes.
 * </ul>
 * With {@code loadings}, one more pass over the cached genotypes gives the variant weights
 * ({@link VariantLoadings}), collected to the driver ({@code 8·M·K} bytes) and written in variant order.
 *
 * <p>Cluster use: {@code spark-submit --class org.lmmspark.jobs.cli.Lmmspark --driver-memory 4g
 * --executor-memory 8g lmmspark.jar pca --bfile hdfs:///data/cohort --pcs 10 --approx --out
 * hdfs:///out/cohort}; executors need {@code N·M/4} bytes of cache in all.
 */
public final class PcaJob {
  private static final Logger log = LoggerFactory.getLogger(PcaJob.class);

  /** Which computation: exact eigendecomposition, randomized block Krylov, or by the number of samples. */
  public enum Route { AUTO, EXACT, APPROX }

  /**
   * @param out        output prefix, or null for no files (the pipeline reads the result)
   * @param partitions variant ranges (≤ 0: one per core)
   */
  public record Options(GenotypeInput genotypes, String out, int components, Route route, double minMaf,
      GenotypeSelection selection, boolean loadings, BlockKrylovPca.Options krylov, int partitions) {}

  /**
   * @param passes products with K over the genotypes (randomized route), 0 for the exact one
   */
  public record Result(List<SampleId> samples, PrincipalComponents pcs, VariantFilterCounts counts, boolean exact,
      double seconds, List<String> outputs) {}

  private PcaJob() {}

  /** The exact route when asked for, or by default up to {@link ExactPca#DEFAULT_MAX_SAMPLES} samples. */
  public static boolean exactRoute(Route route, int samples) {
    return switch (route) {
      case EXACT -> true;
      case APPROX -> false;
      case AUTO -> samples <= ExactPca.DEFAULT_MAX_SAMPLES;
    };
  }

  public static Result run(JavaSparkContext jsc, Options o) {
    long t0 = System.nanoTime();
    Configuration conf = jsc.hadoopConfiguration();
    PartitionedGenotypes genotypes = PartitionedGenotypes.open(o.genotypes(), o.selection(), conf);
    genotypes.fileset().warnings().forEach(log::warn);
    genotypes.notes().forEach(log::info);
    List<SampleId> samples = genotypes.samples();
    int n = samples.size();
    checkComponents(o.components(), n, genotypes.selectedVariants(), o.genotypes());
    boolean exact = exactRoute(o.route(), n);
    DistributedGenotypeProducts products = null;
    try {
      PrincipalComponents pcs;
      VariantFilterCounts counts;
      if (exact) {
        GrmJob.InMemory grm = GrmJob.computeInMemory(jsc, o.genotypes(), o.minMaf(), o.selection(), o.partitions());
        counts = grm.counts();
        checkComponents(o.components(), n, counts.kept, o.genotypes());
        log.info("PCA (exact): GRM of {} samples in {} s; {}; LAPACK dsyevr for the {} leading pairs", n,
            String.format("%.1f", grm.seconds()), counts, o.components());
        pcs = ExactPca.of(grm.grm().toDense(), n, o.components());
      } else {
        products = DistributedGenotypeProducts.cache(jsc, genotypes, o.minMaf(), o.partitions());
        counts = products.counts();
        checkComponents(o.components(), n, counts.kept, o.genotypes());
        log.info("PCA (randomized block Krylov): {} samples, {}; {}", n, counts, Blas.describe());
        int[] rows = java.util.stream.IntStream.range(0, n).toArray();
        pcs = BlockKrylovPca.compute(new GenomicRelationshipOperator(products, rows, -1), o.components(), o.krylov(),
            line -> log.info("PCA (randomized): {}", line));
      }
      List<VariantLoadings.Block> loadings = null;
      if (o.loadings()) {
        if (products == null) {
          products = DistributedGenotypeProducts.cache(jsc, genotypes, o.minMaf(), o.partitions());
        }
        loadings = loadings(jsc, products, pcs);
      }
      List<String> outputs = o.out() == null ? List.of() : write(o.out(), samples, genotypes, pcs, loadings, conf);
      return new Result(samples, pcs, counts, exact, (System.nanoTime() - t0) / 1e9, outputs);
    } finally {
      if (products != null) {
        products.close();
      }
    }
  }

  /**
   * K must be in [1, min(N, M) − 1] (the standardized genotypes have rank at most min(N − 1, M)), and
   * some variant must be left after the filters: bad input otherwise.
   */
  static void checkComponents(int components, int samples, long variants, GenotypeInput genotypes) {
    String bfile = genotypes.bfile();
    if (variants == 0) {
      throw BadInputException.inFile(bfile != null ? bfile + ".bim" : genotypes.label(), "no usable variants for PCA (every selected variant is "
          + "monomorphic, below the MAF threshold or missing in all samples, or no chromosome is selected)");
    }
    try {
      ExactPca.checkComponents(components, samples, variants);
    } catch (IllegalArgumentException e) {
      throw BadInputException.inFile(bfile != null ? bfile + ".bed" : genotypes.label(), e.getMessage());
    }
  }

  /** One pass over the cached genotypes: every variant's weights, blocks in any order. */
  static List<VariantLoadings.Block> loadings(JavaSparkContext jsc, DistributedGenotypeProducts products,
      PrincipalComponents pcs) {
    int k = pcs.k();
    Broadcast<float[]> scaled = jsc.broadcast(VariantLoadings.scaledVectors(pcs));
    try {
      return products.cachedRanges().mapPartitions((Iterator<DistributedGenotypeProducts.CachedRange> it) -> {
        List<VariantLoadings.Block> out = new ArrayList<>();
        GenotypeProductKernel.Workspace ws = new GenotypeProductKernel.Workspace();
        while (it.hasNext()) {
          for (PackedGenotypeBlock b : it.next().blocks()) {
            out.add(VariantLoadings.of(b, scaled.value(), k, ws));
          }
        }
        return out.iterator();
      }).collect();
    } finally {
      scaled.destroy();
    }
  }

  private static List<String> write(String prefix, List<SampleId> samples, PartitionedGenotypes genotypes,
      PrincipalComponents pcs, List<VariantLoadings.Block> loadings, Configuration conf) {
    List<String> outputs = new ArrayList<>(List.of(prefix + ".eigenval", prefix + ".eigenvec"));
    try (AtomicOutputs files = new AtomicOutputs(conf)) {
      PcaFiles.writeEigenvalues(files.create(prefix + ".eigenval"), pcs);
      PcaFiles.writeEigenvectors(files.create(prefix + ".eigenvec"), samples, pcs);
      if (loadings != null) {
        PcaFiles.writeVariantWeights(files.create(prefix + ".eigenvec.var"), files.create(prefix + ".afreq"),
            genotypes.fileset().variants(), loadings, pcs.k());
        outputs.add(prefix + ".eigenvec.var");
        outputs.add(prefix + ".afreq");
      }
      files.commit();
    }
    return outputs;
  }
}
