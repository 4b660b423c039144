package org.lmmspark.engine.io.vcf;

import htsjdk.variant.variantcontext.VariantContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.io.Variant;

/**
 * A bgzipped VCF ({@code .vcf.gz}, BGZF as written by {@code bgzip}/{@code bcftools}) opened on the
 * driver: samples from the header (each name used as FID and IID, PLINK's {@code --double-id}), and for
 * every record its site (chromosome, position, ID, REF, ALT) and BGZF virtual offset, the seek position
 * of a variant range. Records must be biallelic; the counted allele ({@link Variant#a1()}) is ALT,
 * {@link Variant#a2()} REF (PLINK's import; {@code DS} is the ALT dosage). A record without an ID is
 * named {@code chr:pos:REF:ALT}.
 *
 * <p>Cost: one pass over the file on the driver that decompresses it and parses the 8 site columns of
 * each record through htsjdk (genotype columns are left unparsed); unlike BGEN and {@code .bed}, whose
 * variant lists cost nothing like the genotypes, a VCF has no other variant list (its tabix index maps
 * genomic bins, not records).
 */
public final class VcfFile implements GenotypeSource {
  private final String path;
  private final List<SampleId> samples;
  private final List<Variant> variants;
  private final long[] offsets;

  private VcfFile(String path, List<SampleId> samples, List<Variant> variants, long[] offsets) {
    this.path = path;
    this.samples = samples;
    this.variants = variants;
    this.offsets = offsets;
  }

  public static VcfFile open(String path, Configuration conf) {
    try (VcfRecords records = new VcfRecords(path, conf)) {
      List<String> names = records.header().getGenotypeSamples();
      if (names.isEmpty()) {
        throw BadInputException.inFile(path, "no samples in the header");
      }
      List<SampleId> samples = new ArrayList<>(names.size());
      Map<String, Integer> seen = new HashMap<>();
      for (int i = 0; i < names.size(); i++) {
        Integer first = seen.putIfAbsent(names.get(i), i);
        if (first != null) {
          throw BadInputException.inFile(path, "duplicate sample '" + names.get(i) + "' in the header");
        }
        samples.add(new SampleId(names.get(i), names.get(i)));
      }
      List<Variant> variants = new ArrayList<>();
      long[] offsets = new long[1024];
      long at = records.position();
      String line;
      while ((line = records.nextLine()) != null) {
        if (line.isEmpty()) {
          at = records.position();
          continue;
        }
        VariantContext vc;
        try {
          vc = records.codec().decode(line);
        } catch (RuntimeException e) {
          throw BadInputException.inFile(path, "record " + (variants.size() + 1) + ": " + e.getMessage());
        }
        String where = vc.getContig() + ":" + vc.getStart();
        if (vc.getNAlleles() != 2) {
          throw BadInputException.inFile(path, "record " + (variants.size() + 1) + " (" + where + ") has "
              + vc.getNAlleles() + " alleles; only biallelic records can be used (split them first: bcftools norm -m-)");
        }
        String ref = vc.getReference().getBaseString();
        String alt = vc.getAlternateAllele(0).getDisplayString();
        String id = vc.hasID() ? vc.getID() : vc.getContig() + ":" + vc.getStart() + ":" + ref + ":" + alt;
        if (variants.size() == offsets.length) {
          offsets = Arrays.copyOf(offsets, 2 * offsets.length);
        }
        offsets[variants.size()] = at;
        variants.add(new Variant(vc.getContig(), id, 0, vc.getStart(), alt, ref));
        at = records.position();
      }
      if (variants.isEmpty()) {
        throw BadInputException.inFile(path, "no records");
      }
      return new VcfFile(path, List.copyOf(samples), List.copyOf(variants), Arrays.copyOf(offsets, variants.size()));
    }
  }

  @Override
  public List<SampleId> samples() {
    return samples;
  }

  @Override
  public List<Variant> variants() {
    return variants;
  }

  @Override
  public long position(int v) {
    return offsets[v];
  }

  @Override
  public GenotypeReader reader() {
    return new VcfGenotypeReader(path, samples.size());
  }

  @Override
  public String variantsPath() {
    return path;
  }

  @Override
  public String samplesPath() {
    return path;
  }

  @Override
  public List<String> files() {
    return List.of(path);
  }

  @Override
  public String describe() {
    return "VCF " + path + " (BGZF; dosages of the ALT allele from DS, else GP, else GT)";
  }

  @Override
  public List<String> warnings() {
    return List.of();
  }
}
