import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.assoc.Mlma;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.genotype.VariantFilterCounts;
import org.lmmspark.engine.glmm.BinaryAssocResults;
import org.lmmspark.engine.glmm.BinaryNull;
import org.lmmspark.engine.glmm.BinaryScoreTest;
import org.lmmspark.jobs.genotype.GenotypeSources;

/**
 * The binary scan's kernel alone (what each Spark task of `assoc --family binomial` runs: decode + score test,
 * SPA and Firth) over a real PLINK fileset, on T threads each taking one range, against the null without
 * random effect (logistic regression with an intercept, τ = 0: plink2 --glm's model), so it runs at sizes where
 * a GLMM null fit does not fit the time at hand. Prints wall, the scan threads' CPU and the p-value methods.
 *
 *   java -cp "jobs/target/lmmspark.jar:$(cat jobs/target/embedded-classpath.txt)" scripts/BinaryScanKernel.java \
 *     PREFIX TRAIT THREADS FIRTH_BELOW REPEATS          (PREFIX.pheno: FID IID columns with a header, NA missing)
 */
public class BinaryScanKernel {
  public static void main(String[] a) throws Exception {
    String prefix = a[0];
    String trait = a[1];
    int threads = Integer.parseInt(a[2]);
    double firthBelow = Double.parseDouble(a[3]);
    int repeats = Integer.parseInt(a[4]);
    Configuration conf = new Configuration();
    GenotypeSource src = GenotypeSources.open(GenotypeInput.bfile(prefix), conf);
    GenotypeReader reader = src.reader().qualified(conf);
    List<String> lines = Files.readAllLines(Paths.get(prefix + ".pheno"));
    int column = Arrays.asList(lines.get(0).split("\t")).indexOf(trait);
    Map<String, Double> pheno = new HashMap<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split("\t");
      if (!f[column].equals("NA")) {
        pheno.put(f[0] + " " + f[1], Double.parseDouble(f[column]));
      }
    }
    List<Integer> rows = new ArrayList<>();
    List<Double> ys = new ArrayList<>();
    for (int i = 0; i < src.sampleCount(); i++) {
      Double v = pheno.get(src.samples().get(i).fid() + " " + src.samples().get(i).iid());
      if (v != null) {
        rows.add(i);
        ys.add(v);
      }
    }
    int n = rows.size();
    int[] famRows = rows.stream().mapToInt(Integer::intValue).toArray();
    double[] y = ys.stream().mapToDouble(Double::doubleValue).toArray();
    double cases = Arrays.stream(y).sum();
    double[] mu = new double[n];
    Arrays.fill(mu, cases / n);
    double[] x = new double[n];
    Arrays.fill(x, 1);
    BinaryNull logistic = new BinaryNull() {
      public String scope() { return "logistic regression, intercept only"; }
      public int n() { return n; }
      public double tau() { return 0; }
      public double[] beta() { return new double[] {Math.log(cases / (n - cases))}; }
      public double[] mu() { return mu; }
      public double[] randomPrediction() { return new double[n]; }
      public void applyProjection(double[] v, int k, double[] out) { throw new UnsupportedOperationException(); }
      public float[] denseProjection() { return null; }
      public boolean converged() { return true; }
      public String message() { return "closed form"; }
    };
    BinaryScoreTest.Model model = BinaryScoreTest.model(logistic, y, x, 1, null, false, firthBelow);
    int m = src.variantCount();
    boolean[] include = new boolean[m];
    Arrays.fill(include, true);
    int block = Mlma.blockVariantsFor(n);
    System.out.printf("n %d (%d cases), m %d, %d threads, blocks of %d, --firth-below %s%n", n, (int) cases, m, threads,
        block, firthBelow);
    var mx = ManagementFactory.getThreadMXBean();
    for (int rep = 0; rep < repeats; rep++) {
      long t0 = System.nanoTime();
      BinaryAssocResults[] res = new BinaryAssocResults[threads];
      long[] cpu = new long[threads];
      Thread[] ts = new Thread[threads];
      for (int t = 0; t < threads; t++) {
        int tt = t;
        int first = (int) ((long) m * t / threads);
        int end = (int) ((long) m * (t + 1) / threads);
        ts[t] = new Thread(() -> {
          res[tt] = BinaryScoreTest.testRange(model, reader, famRows, first, end, src.position(first), include, 0, block,
              conf, new VariantFilterCounts(n));
          cpu[tt] = mx.getCurrentThreadCpuTime();
        });
        ts[t].start();
      }
      for (Thread t : ts) {
        t.join();
      }
      double wall = (System.nanoTime() - t0) / 1e9;
      long[] methods = new long[BinaryAssocResults.Method.values().length];
      List<Double> chi2 = new ArrayList<>();
      for (BinaryAssocResults r : res) {
        for (int k = 0; k < r.size(); k++) {
          methods[r.method(k).ordinal()]++;
          if (!Double.isNaN(r.base().statistic(k))) {
            chi2.add(r.base().statistic(k));
          }
        }
      }
      Collections.sort(chi2);
      System.out.printf("repeat %d: %d variants, wall %.1f s, scan threads' CPU %.1f s; normal %d, SPA %d, Firth %d, NA %d;"
          + " lambda GC %.4f; load %s%n", rep, chi2.size(), wall, Arrays.stream(cpu).sum() / 1e9, methods[0], methods[1],
          methods[2], methods[3], chi2.get(chi2.size() / 2) / 0.454936423119572,
          Files.readString(Paths.get("/proc/loadavg")).trim());
    }
  }
}
