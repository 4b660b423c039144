package org.lmmspark.engine.io.vcf;

import htsjdk.variant.variantcontext.Allele;
import htsjdk.variant.variantcontext.Genotype;
import htsjdk.variant.variantcontext.GenotypesContext;
import htsjdk.variant.variantcontext.VariantContext;
import java.util.List;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.VariantDosages;

/**
 * ALT-allele dosages of a biallelic VCF record, from the first of these FORMAT fields it has:
 * <ul>
 *   <li>{@code DS}: the dosage itself (as minimac, Beagle and bcftools write it); no probabilities, so
 *       no INFO score;
 *   <li>{@code GP}: genotype probabilities {@code P(RR), P(RA), P(AA)} (diploid; haploid {@code P(R), P(A)}):
 *       {@code e = P(RA) + 2P(AA)}, {@code f = P(RA) + 4P(AA)}, as from BGEN;
 *   <li>{@code GT}: the number of ALT alleles called (hard calls: INFO 1).
 * </ul>
 * A sample whose field is missing ({@code .}, {@code ./.}) is missing. The counted allele is ALT, as
 * PLINK makes it A1 on import and as {@code DS} is defined.
 */
final class VcfDosages {
  private VcfDosages() {}

  static void fill(VariantContext vc, VariantDosages out, String where) {
    if (vc.getNAlleles() != 2) {
      throw new BadInputException(where + ": " + vc.getNAlleles() + " alleles; only biallelic records can be used "
          + "(split them first: bcftools norm -m-)");
    }
    GenotypesContext gs = vc.getGenotypes();
    if (gs.size() != out.samples()) {
      throw new BadInputException(where + ": " + gs.size() + " samples, the header has " + out.samples());
    }
    Allele alt = vc.getAlternateAllele(0);
    boolean hasDs = gs.size() > 0 && hasField(gs, "DS");
    boolean hasGp = !hasDs && gs.size() > 0 && hasField(gs, "GP");
    out.probabilitiesKnown = !hasDs;
    double[] e = out.dosage;
    double[] v = out.variance;
    for (int i = 0; i < gs.size(); i++) {
      Genotype g = gs.get(i);
      v[i] = 0;
      try {
        if (hasDs) {
          String ds = text(g.getExtendedAttribute("DS"));
          e[i] = ds == null ? Double.NaN : Double.parseDouble(ds);
        } else if (hasGp) {
          String gp = text(g.getExtendedAttribute("GP"));
          if (gp == null) {
            e[i] = Double.NaN;
            continue;
          }
          String[] p = gp.split(",");
          if (p.length == 3) {
            double ra = Double.parseDouble(p[1]);
            double aa = Double.parseDouble(p[2]);
            e[i] = ra + 2 * aa;
            v[i] = ra + 4 * aa - e[i] * e[i];
          } else if (p.length == 2) {
            double a = Double.parseDouble(p[1]);
            e[i] = a;
            v[i] = a * (1 - a);
          } else {
            throw new BadInputException(where + ", sample " + g.getSampleName() + ": GP has " + p.length
                + " values; expected 3 (diploid) or 2 (haploid) for a biallelic record");
          }
        } else {
          e[i] = g.isNoCall() || g.getAlleles().stream().anyMatch(Allele::isNoCall) ? Double.NaN : g.countAllele(alt);
        }
      } catch (NumberFormatException ex) {
        throw new BadInputException(where + ", sample " + g.getSampleName() + ": not a number: " + ex.getMessage());
      }
    }
  }

  private static boolean hasField(GenotypesContext gs, String key) {
    for (Genotype g : gs) {
      if (g.hasExtendedAttribute(key)) {
        return true;
      }
    }
    return false;
  }

  /** A FORMAT value as text, null when missing ({@code .}). */
  private static String text(Object value) {
    if (value == null) {
      return null;
    }
    String s = value instanceof List<?> list ? String.join(",", list.stream().map(String::valueOf).toList())
        : value.toString();
    return s.isEmpty() || s.equals(".") ? null : s;
  }
}
