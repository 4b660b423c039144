package org.lmmspark.jobs.cli;

import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.genotype.ChromosomeSelection;
import org.lmmspark.engine.select.GenotypeSelection;
import org.lmmspark.engine.select.VariantSelection;
import picocli.CommandLine.Option;

/**
 * {@code --extract/--exclude/--chr/--exclude-chr/--from-bp/--to-bp/--allow-negative-bp}: the variants a
 * command uses, as PLINK selects them ({@link VariantSelection}). A picocli mixin shared by every command
 * that reads genotypes; it builds and checks its own selection.
 */
public final class VariantSelectionOptions {
  @Option(names = "--chr", paramLabel = "LIST", description = "Use only these chromosomes, e.g. 1-4,22 or 1,3,X.")
  String chr;

  @Option(names = "--exclude-chr", paramLabel = "LIST", description = "Use every chromosome but these.")
  String excludeChr;

  @Option(names = "--from-bp", paramLabel = "BP", description = "With --chr naming one chromosome: only variants at "
      + "or after this position (PLINK).")
  Long fromBp;

  @Option(names = "--to-bp", paramLabel = "BP", description = "With --chr naming one chromosome: only variants at or "
      + "before this position.")
  Long toBp;

  @Option(names = "--extract", arity = "1..2", hideParamSyntax = true, paramLabel = "[range|bed0|bed1] FILE", description = "Use only the "
      + "variants listed: FILE of variant IDs (whitespace separated), or 'range FILE' of 'chr start end [label]' lines, "
      + "1-based inclusive (plink --extract range; = plink2 bed1), or 'bed0 FILE' (UCSC BED, 0-based half-open). "
      + "Repeatable: variants in every list.")
  List<String> extract = new ArrayList<>();

  @Option(names = "--exclude", arity = "1..2", hideParamSyntax = true, paramLabel = "[range|bed0|bed1] FILE", description = "Leave out the "
      + "variants listed (layout as --extract). Repeatable.")
  List<String> exclude = new ArrayList<>();

  @Option(names = "--allow-negative-bp", description = "Keep variants with a negative position (GCTA keeps them; "
      + "by default they are excluded as PLINK excludes them, and counted in the log).")
  boolean allowNegativeBp;

  /** The names of the options given, for commands that accept them only with genotypes. */
  public List<String> given() {
    List<String> g = new ArrayList<>();
    if (chr != null) {
      g.add("--chr");
    }
    if (excludeChr != null) {
      g.add("--exclude-chr");
    }
    if (fromBp != null || toBp != null) {
      g.add("--from-bp/--to-bp");
    }
    if (!extract.isEmpty()) {
      g.add("--extract");
    }
    if (!exclude.isEmpty()) {
      g.add("--exclude");
    }
    if (allowNegativeBp) {
      g.add("--allow-negative-bp");
    }
    return g;
  }

  /** Reads the lists and checks the options together (bad values fail here). */
  public VariantSelection selection(Configuration conf) {
    return VariantSelection.read(ChromosomeSelection.of(chr, excludeChr), fromBp, toBp, extract, exclude,
        allowNegativeBp, conf);
  }

  /** This selection with the samples of {@code samples}. */
  public GenotypeSelection selection(SampleSelectionOptions samples, Configuration conf) {
    return new GenotypeSelection(samples.selection(conf), selection(conf));
  }
}
