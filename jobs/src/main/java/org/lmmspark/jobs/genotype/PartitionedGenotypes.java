package org.lmmspark.jobs.genotype;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.genotype.ChromosomeSelection;
import org.lmmspark.engine.genotype.GenotypeInput;
import org.lmmspark.engine.genotype.GenotypeReader;
import org.lmmspark.engine.genotype.GenotypeSource;
import org.lmmspark.engine.genotype.SampleSubset;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.io.Variant;
import org.lmmspark.engine.pheno.TraitTables;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.engine.select.SampleSelection;
import org.lmmspark.engine.select.VariantSelection;

/**
 * A genotype source ({@code .bed}, BGEN, VCF) seen as Spark work: the selected variants cut into
 * contiguous ranges, each read by one task from its seek position (an exact {@code .bed} byte offset
 * {@code 3 + v·ceil(N/4)}, a BGEN block offset, a BGZF virtual offset) and decoded once per block on the
 * executor ({@link org.lmmspark.engine.genotype.GenotypeBlockReader}). The driver holds only the variant
 * and sample lists; executors receive ranges and a small {@link GenotypeReader}, never the variant list.
 *
 * <p>The run's {@link GenotypeSelection} is applied here, once for every job: the variant mask
 * ({@code --extract/--exclude/--chr/--from-bp/--to-bp}, negative positions) and the kept samples
 * ({@code --keep/--remove}) as a {@link SampleSubset} that the block readers restrict each variant's calls
 * to, so GRM, REML and association all see the genotypes of the kept samples only.
 */
public final class PartitionedGenotypes {
  /**
   * Variants {@code [first, end)} of the source, all on chromosome {@code chromosomes.get(chromosome)}
   * when ranges are split at chromosomes, else {@code chromosome} is 0; {@code position} is the seek
   * position of variant {@code first}.
   */
  public record VariantRange(int index, int first, int end, int chromosome, long position) implements Serializable {}

  private final GenotypeSource fileset;
  private final GenotypeReader reader;
  private final boolean[] include;
  private final int selected;
  private final SampleSelection.Applied samples;
  private final List<String> notes;

  private PartitionedGenotypes(GenotypeSource fileset, GenotypeReader reader, VariantSelection.Mask variants,
      SampleSelection.Applied samples) {
    this.fileset = fileset;
    this.reader = reader;
    this.include = variants.include();
    this.selected = variants.selected();
    this.samples = samples;
    List<String> n = new ArrayList<>();
    n.add(variants.report());
    if (samples.report() != null) {
      n.add(samples.report());
    }
    this.notes = List.copyOf(n);
  }

  public static PartitionedGenotypes open(GenotypeInput input, ChromosomeSelection chromosomes, Configuration conf) {
    return open(input, GenotypeSelection.of(chromosomes), conf);
  }

  /** Opens the genotypes and applies the selection (an empty one is a {@link org.lmmspark.engine.BadInputException}). */
  public static PartitionedGenotypes open(GenotypeInput input, GenotypeSelection selection, Configuration conf) {
    return of(GenotypeSources.open(input, conf), selection, conf);
  }

  /** The ranges of a source already opened, with the selection applied. */
  public static PartitionedGenotypes of(GenotypeSource source, GenotypeSelection selection, Configuration conf) {
    VariantSelection.Mask variants = selection.variants().mask(source.variants(), source.variantsPath());
    SampleSelection.Applied samples = selection.samples().apply(source.samples(), source.samplesPath());
    return new PartitionedGenotypes(source, source.reader().qualified(conf), variants, samples);
  }

  /** The source (driver side: samples, variants, positions). */
  public GenotypeSource fileset() {
    return fileset;
  }

  /** The kept samples, in {@code .fam} order: the samples of every genotype product, GRM and test. */
  public List<SampleId> samples() {
    return samples.kept();
  }

  /**
   * The trait tables of {@code spec} read once ({@link TraitTables#readOnce}; {@code --pheno-col} without a table
   * reads the fileset's {@code .fam}), IID-keyed ones keyed to the kept samples; each trait's are
   * {@code forTrait(spec.withPhenoName(name))}.
   */
  public TraitTables.Read traitTables(TraitTables.Spec spec, Configuration conf) {
    return TraitTables.readOnce(spec, fileset.famPath(), samples(), fileset.samplesPath(), false, List.of(), conf);
  }

  /** The kept samples as rows of the {@code .fam}, for the block readers. */
  public SampleSubset subset() {
    return samples.subset();
  }

  /** What the selection kept, one line each for variants and (when selected) samples. */
  public List<String> notes() {
    return notes;
  }

  /** What tasks read ranges with (paths qualified for executors). */
  public GenotypeReader reader() {
    return reader;
  }

  /** The inclusion mask over all variants of the fileset. */
  public boolean[] include() {
    return include;
  }

  public int selectedVariants() {
    return selected;
  }

  /** Chromosomes of the selected variants, in order of first appearance. */
  public List<String> chromosomes() {
    List<String> out = new ArrayList<>();
    for (int v = 0; v < include.length; v++) {
      String c = fileset.variants().get(v).chromosome();
      if (include[v] && !out.contains(c)) {
        out.add(c);
      }
    }
    return out;
  }

  /**
   * Cuts the selected variants into about {@code target} contiguous ranges of similar size. With
   * {@code splitAtChromosomes} no range spans two chromosomes (each range's chromosome index is set),
   * so per-chromosome sums can be kept apart.
   */
  public List<VariantRange> ranges(int target, boolean splitAtChromosomes) {
    java.util.Map<String, Integer> chromosomeIndex = new java.util.HashMap<>();
    for (String c : chromosomes()) {
      chromosomeIndex.put(c, chromosomeIndex.size());
    }
    List<Variant> variants = fileset.variants();
    long perRange = Math.max(1, (selected + target - 1) / Math.max(1, target));
    List<VariantRange> out = new ArrayList<>();
    int start = -1;
    int count = 0;
    int chromosome = 0;
    int last = -1;
    for (int v = 0; v < include.length; v++) {
      if (!include[v]) {
        continue;
      }
      int c = splitAtChromosomes ? chromosomeIndex.get(variants.get(v).chromosome()) : 0;
      if (start >= 0 && (count >= perRange || c != chromosome)) {
        out.add(new VariantRange(out.size(), start, last + 1, chromosome, fileset.position(start)));
        start = -1;
      }
      if (start < 0) {
        start = v;
        count = 0;
        chromosome = c;
      }
      count++;
      last = v;
    }
    // Unselected variants inside a range (other chromosomes in between) are skipped by the mask.
    out.add(new VariantRange(out.size(), start, last + 1, chromosome, fileset.position(start)));
    return out;
  }
}
