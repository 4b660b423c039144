package org.lmmspark.engine.io.vcf;

import htsjdk.variant.variantcontext.Allele;
import htsjdk.variant.variantcontext.Genotype;
import htsjdk.variant.variantcontext.GenotypesContext;
import htsjdk.variant.variantcontext.VariantContext;
import java.util.List;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.VariantDosages;

/**
 * ALT-allele dosages of a biallelic VCF or BCF record, from the first of these FORMAT fields that some
 * sample of the record has a value in:
 * <ul>
 *   <li>{@code DS}: the dosage itself (as minimac, Beagle and bcftools write it); no probabilities, so
 *       no INFO score;
 *   <li>{@code GP}: genotype probabilities {@code P(RR), P(RA), P(AA)} (diploid; haploid {@code P(R), P(A)}):
 *       {@code e = P(RA) + 2P(AA)}, {@code f = P(RA) + 4P(AA)}, as from BGEN;
 *   <li>{@code GT}: the number of ALT alleles called (hard calls: INFO 1), any ploidy.
 * </ul>
 * A sample whose field is missing ({@code .}, {@code ./.}, {@code 0/.}) is missing. A record with none
 * of the three (no GT, and no DS or GP value) is refused. The counted allele is ALT, as PLINK makes it A1
 * on import and as {@code DS} is defined. {@link #fill} applies the rules to a VCF record parsed by
 * htsjdk; {@link BcfRecords} applies them to BCF's typed values through {@link #field} and
 * {@link #fromProbabilities}.
 */
final class VcfDosages {
  private VcfDosages() {}

  /** The FORMAT field a record's dosages come from. */
  enum Field { DS, GP, GT }

  /** The rule above: DS when some sample has a DS value, else GP likewise, else GT when the record has it. */
  static Field field(boolean anyDs, boolean anyGp, boolean hasGt, String where) {
    if (anyDs) {
      return Field.DS;
    }
    if (anyGp) {
      return Field.GP;
    }
    if (!hasGt) {
      throw new BadInputException(where + ": no genotypes: neither GT nor a DS or GP value (FORMAT fields read: "
          + "DS, else GP, else GT)");
    }
    return Field.GT;
  }

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
    Field field = field(hasField(gs, "DS"), hasField(gs, "GP"), gs.stream().anyMatch(Genotype::isAvailable), where);
    out.probabilitiesKnown = field != Field.DS;
    double[] e = out.dosage;
    double[] p = new double[3];
    for (int i = 0; i < gs.size(); i++) {
      Genotype g = gs.get(i);
      out.variance[i] = 0;
      try {
        switch (field) {
          case DS -> {
            String ds = text(g.getExtendedAttribute("DS"));
            e[i] = ds == null ? Double.NaN : Double.parseDouble(ds);
          }
          case GP -> {
            String gp = text(g.getExtendedAttribute("GP"));
            if (gp == null) {
              e[i] = Double.NaN;
              continue;
            }
            String[] values = gp.split(",");
            for (int j = 0; j < Math.min(values.length, p.length); j++) {
              p[j] = Double.parseDouble(values[j]);
            }
            fromProbabilities(p, values.length, out, i, where + ", sample " + g.getSampleName());
          }
          case GT -> e[i] = g.isNoCall() || g.getAlleles().stream().anyMatch(Allele::isNoCall) ? Double.NaN
              : g.countAllele(alt);
        }
      } catch (NumberFormatException ex) {
        throw new BadInputException(where + ", sample " + g.getSampleName() + ": not a number: " + ex.getMessage());
      }
    }
  }

  /**
   * Sample {@code i}'s dosage and variance from its {@code n} genotype probabilities {@code p}: 3 for a
   * diploid ({@code P(RR), P(RA), P(AA)}), 2 for a haploid sample ({@code P(R), P(A)}); any other count is refused.
   */
  static void fromProbabilities(double[] p, int n, VariantDosages out, int i, String whereSample) {
    if (n == 3) {
      double e = p[1] + 2 * p[2];
      out.dosage[i] = e;
      out.variance[i] = p[1] + 4 * p[2] - e * e;
    } else if (n == 2) {
      out.dosage[i] = p[1];
      out.variance[i] = p[1] * (1 - p[1]);
    } else {
      throw new BadInputException(whereSample + ": GP has " + n + " values; expected 3 (diploid) or 2 (haploid) "
          + "for a biallelic record");
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
