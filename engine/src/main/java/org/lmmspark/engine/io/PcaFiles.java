package org.lmmspark.engine.io;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import org.lmmspark.engine.pca.PrincipalComponents;
import org.lmmspark.engine.pca.VariantLoadings;

/**
 * plink2's principal-component files, tab-separated:
 * <ul>
 *   <li>{@code .eigenval}: one eigenvalue per line, λ_1 first;
 *   <li>{@code .eigenvec}: header {@code #FID IID PC1 … PCK}, then one line per sample with its
 *       eigenvector entries (unit-length columns), readable as a covariate table by plink2
 *       {@code --covar} and by this project's {@code --qcovar};
 *   <li>{@code .eigenvec.var} ({@code --pca biallelic-var-wts}, default columns): header
 *       {@code #CHROM ID MAJ NONMAJ PC1 … PCK}, one line per variant used, the weights
 *       ({@link VariantLoadings}) oriented to the count of the major allele (MAJ: the more frequent
 *       one; A1 when its frequency exceeds 1/2, else A2), as plink2 writes them;
 *   <li>{@code .afreq} (plink2 {@code --freq} layout, for {@code --read-freq} when projecting):
 *       {@code #CHROM ID REF ALT ALT_FREQS} with ALT = A1 (the counted allele) and REF = A2.
 * </ul>
 * Numbers are written with 10 significant digits.
 */
public final class PcaFiles {
  private PcaFiles() {}

  public static void writeEigenvalues(OutputStream os, PrincipalComponents pcs) {
    try (Writer w = writer(os)) {
      for (double v : pcs.values()) {
        w.write(num(v));
        w.write('\n');
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static void writeEigenvectors(OutputStream os, List<SampleId> ids, PrincipalComponents pcs) {
    if (ids.size() != pcs.n()) {
      throw new IllegalArgumentException(ids.size() + " sample IDs for " + pcs.n() + " eigenvector rows");
    }
    try (Writer w = writer(os)) {
      w.write("#FID\tIID");
      for (int c = 1; c <= pcs.k(); c++) {
        w.write("\tPC" + c);
      }
      w.write('\n');
      for (int i = 0; i < pcs.n(); i++) {
        w.write(ids.get(i).fid() + '\t' + ids.get(i).iid());
        for (int c = 0; c < pcs.k(); c++) {
          w.write('\t');
          w.write(num(pcs.vector(i, c)));
        }
        w.write('\n');
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The variant weights, variants in fileset order; {@code blocks} in any order (each variant once).
   *
   * @param afreq where the A1 frequencies go ({@code .afreq})
   */
  public static void writeVariantWeights(OutputStream os, OutputStream afreq, List<Variant> variants,
      List<VariantLoadings.Block> blocks, int k) {
    List<VariantLoadings.Block> sorted = blocks.stream().filter(b -> b.variantIndex().length > 0)
        .sorted(java.util.Comparator.comparingInt(b -> b.variantIndex()[0])).toList();
    try (Writer w = writer(os); Writer f = writer(afreq)) {
      w.write("#CHROM\tID\tMAJ\tNONMAJ");
      for (int c = 1; c <= k; c++) {
        w.write("\tPC" + c);
      }
      w.write('\n');
      f.write("#CHROM\tID\tREF\tALT\tALT_FREQS\n");
      for (VariantLoadings.Block b : sorted) {
        int m = b.variantIndex().length;
        for (int v = 0; v < m; v++) {
          Variant var = variants.get(b.variantIndex()[v]);
          double p = b.a1Frequency()[v];
          boolean a1Major = p > 0.5;
          w.write(var.chromosome() + '\t' + var.id() + '\t' + (a1Major ? var.a1() + '\t' + var.a2()
              : var.a2() + '\t' + var.a1()));
          double sign = a1Major ? 1 : -1;
          for (int c = 0; c < k; c++) {
            w.write('\t');
            w.write(num(sign * b.weights()[v + c * m]));
          }
          w.write('\n');
          f.write(var.chromosome() + '\t' + var.id() + '\t' + var.a2() + '\t' + var.a1() + '\t' + num(p) + '\n');
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Writer writer(OutputStream os) {
    return new BufferedWriter(new OutputStreamWriter(os, StandardCharsets.UTF_8), 1 << 16);
  }

  private static String num(double x) {
    return String.format(Locale.ROOT, "%.10g", x).replaceFirst("\\.?0+(e|$)", "$1");
  }
}
