package org.lmmspark.engine.ldscore;

import java.io.Serializable;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeVisitor;
import org.lmmspark.engine.genotype.VariantDosages;

/**
 * A reference panel read as dosages (BGEN, VCF/BCF through {@link GenotypeReader}), beside
 * {@link PanelDecoder}'s {@code .bed} route and feeding the same {@link LdScoreKernel}: each variant's
 * expected counts {@code d_i} of the counted allele over the chosen samples, a missing sample imputed
 * by the mean {@code μ = Σ_called d_i / n_called}, and {@code σ² = Σ_called (d_i − μ)² / n} (ddof 0 over
 * the imputed vector, imputed samples adding 0), exactly ldsc's standardization of hard calls. The block
 * is marked {@link PanelBlock#fractional}, so the kernel takes its double route
 * ({@code r = zᵢᵀzⱼ/n}, DGEMM/DSYRK); dosages are stored as float (24-bit mantissa: finer than BGEN's
 * usual 8–16-bit probabilities; relative rounding below 6e-8).
 *
 * <p>Kept-variant rule, the dosage analogue of ldsc's: MAF {@code min(f, 1 − f) > minMaf} with
 * {@code f = (2·n_called − Σ d_i)/(2·n_called)} (the other allele's frequency, the order
 * {@link PanelDecoder} uses, so hard-call dosages give its MAF bit for bit), and not every called
 * dosage equal (σ would be 0; for hard calls this is ldsc's "all heterozygous or missing" drop, and a
 * constant fractional dosage is dropped alike). Cost O(n) per variant, two passes.
 *
 * <p>{@code rows[i]} is the source sample of analysed sample {@code i} ({@code --keep}); null: all.
 */
public final class DosagePanel implements Serializable {
  private final GenotypeReader reader;
  private final int[] rows;

  /** @param reader a reader whose {@link GenotypeReader#dosages} is true, paths qualified for tasks */
  public DosagePanel(GenotypeReader reader, int[] rows) {
    if (!reader.dosages()) {
      throw new IllegalArgumentException("a .bed panel goes through PanelDecoder");
    }
    this.reader = reader;
    this.rows = rows == null ? null : rows.clone();
  }

  public int samples() {
    return rows == null ? reader.sampleCount() : rows.length;
  }

  /** One variant's summary: mean, σ, MAF, missing samples, and whether it is kept. */
  static final class Summary {
    double mean;
    double sd;
    double maf;
    int missing;

    /** Summarizes {@code d} over the chosen samples; returns whether the variant is kept. */
    boolean of(VariantDosages d, int[] rows, int n, double minMaf) {
      double sum = 0;
      int called = 0;
      double firstCalled = Double.NaN;
      boolean constant = true;
      for (int i = 0; i < n; i++) {
        double x = d.dosage[rows == null ? i : rows[i]];
        if (Double.isNaN(x)) {
          continue;
        }
        if (called == 0) {
          firstCalled = x;
        } else if (x != firstCalled) {
          constant = false;
        }
        sum += x;
        called++;
      }
      missing = n - called;
      double f = called == 0 ? 0 : (2.0 * called - sum) / (2.0 * called);
      maf = Math.min(f, 1 - f);
      if (!(maf > minMaf) || constant) {
        return false;
      }
      mean = sum / called;
      double ss = 0;
      for (int i = 0; i < n; i++) {
        double x = d.dosage[rows == null ? i : rows[i]];
        if (!Double.isNaN(x)) {
          ss += (x - mean) * (x - mean);
        }
      }
      sd = Math.sqrt(ss / n);
      return true;
    }
  }

  /**
   * Visits, for each variant of {@code [first, end)} (the first at seek position {@code position}),
   * whether it is kept and its MAF.
   */
  public void scanKept(double minMaf, int first, int end, long position, Configuration conf,
      PanelBlock.KeptVisitor visitor) {
    Summary s = new Summary();
    int n = samples();
    reader.scan(first, end, position, null, conf, new DosagesOnly() {
      @Override
      public void dosages(VariantDosages d, int v) {
        visitor.variant(v, s.of(d, rows, n, minMaf), s.maf);
      }
    });
  }

  /**
   * Reads variants {@code fileIndex[0..m)} (ascending, each one kept by {@link #scanKept} with any
   * {@code minMaf}), the first at seek position {@code position}, into a fractional block.
   */
  public PanelBlock read(int[] fileIndex, long position, Configuration conf) {
    int n = samples();
    PanelBlock block = new PanelBlock(n, fileIndex.length);
    block.fractional = true;
    if (fileIndex.length == 0) {
      return block;
    }
    int end = fileIndex[fileIndex.length - 1] + 1;
    boolean[] include = new boolean[end];
    for (int v : fileIndex) {
      include[v] = true;
    }
    Summary s = new Summary();
    int[] col = {0};
    reader.scan(fileIndex[0], end, position, include, conf, new DosagesOnly() {
      @Override
      public void dosages(VariantDosages d, int v) {
        int c = col[0]++;
        if (!s.of(d, rows, n, 0)) {
          throw new IllegalStateException("variant " + v + " is not kept by the LD-score filter");
        }
        int o = c * n;
        for (int i = 0; i < n; i++) {
          block.counts[o + i] = (float) d.dosage[rows == null ? i : rows[i]];
        }
        block.mean[c] = s.mean;
        block.sd[c] = s.sd;
        block.missing[c] = s.missing;
      }
    });
    if (col[0] != fileIndex.length) {
      throw new IllegalStateException("read " + col[0] + " of " + fileIndex.length + " panel variants");
    }
    return block;
  }

  /** A visitor for sources that deliver dosages. */
  private abstract static class DosagesOnly implements GenotypeVisitor {
    @Override
    public void hardCalls(byte[] raw, int offset, int v) {
      throw new IllegalStateException("a dosage source delivered hard calls");
    }
  }
}
