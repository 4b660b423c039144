package org.lmmspark.engine.pheno;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;

/**
 * The trait and covariate tables of a run, read the same way by every command: which file holds the
 * trait and which column it is, which tables hold the covariates and which of their columns are used.
 *
 * <ul>
 *   <li>Trait: a column of {@code --pheno} chosen by name ({@code --pheno-name}), by position among its
 *       value columns ({@code --mpheno N}, GCTA/PLINK; the way to pick one in a headerless table), or a
 *       phenotype column of a {@code .fam}-layout file ({@code --pheno-col N}, GEMMA's {@code -n N}: file
 *       column 5 + N of {@code --pheno}, or of the genotypes' {@code .fam} when no {@code --pheno} is
 *       given). Without any, the first value column not used as a covariate.</li>
 *   <li>Covariates: every column of {@code --covar} (categorical) and {@code --qcovar} (quantitative); with
 *       {@code --covar-names}/{@code --qcovar-names}, only the named columns, taken from the {@code --covar}
 *       (resp. {@code --qcovar}) table when one is given, else from the phenotype table (BOLT's
 *       {@code --covarFile} = {@code --phenoFile} habit: one wide table serves all).</li>
 *   <li>Every table in any layout {@link SampleTable} reads; with {@code iidOnly} keyed by IID, with
 *       {@code idColumn} keyed by the IID in that header column wherever it stands (SAIGE's
 *       {@code --sampleIDColinphenoFile}), then keyed to the samples of the run's genotypes or GRM
 *       ({@link SampleTable#keyedTo}).</li>
 * </ul>
 */
public final class TraitTables {
  private TraitTables() {}

  /**
   * What the options say.
   *
   * @param pheno       the phenotype table, or null with {@code phenoCol} (then the genotypes' .fam)
   * @param mpheno      1-based value column of the phenotype table, or null
   * @param phenoCol    1-based phenotype column of a .fam-layout table (file column 5 + N), or null
   * @param covarNames  categorical covariate columns (empty: every column of {@code covar})
   * @param qcovarNames quantitative covariate columns (empty: every column of {@code qcovar})
   * @param iidOnly     tables are keyed by IID alone
   * @param idColumn    the header column holding the IID in every table ({@code --pheno-id-col}), or null
   */
  public record Spec(String pheno, String phenoName, Integer mpheno, Integer phenoCol, String covar,
      List<String> covarNames, String qcovar, List<String> qcovarNames, boolean iidOnly, String idColumn)
      implements Serializable {

    /** Tables with their ID columns first. */
    public Spec(String pheno, String phenoName, Integer mpheno, Integer phenoCol, String covar, List<String> covarNames,
        String qcovar, List<String> qcovarNames, boolean iidOnly) {
      this(pheno, phenoName, mpheno, phenoCol, covar, covarNames, qcovar, qcovarNames, iidOnly, null);
    }

    public Spec {
      if (idColumn != null && phenoCol != null) {
        throw new BadInputException("--pheno-id-col names a header column; --pheno-col reads a .fam-layout table, "
            + "which has none: give one or the other");
      }
      if (idColumn != null && idColumn.isBlank()) {
        throw new BadInputException("--pheno-id-col needs a column name");
      }
      covarNames = covarNames == null ? List.of() : List.copyOf(covarNames);
      qcovarNames = qcovarNames == null ? List.of() : List.copyOf(qcovarNames);
      int chosen = (phenoName != null ? 1 : 0) + (mpheno != null ? 1 : 0) + (phenoCol != null ? 1 : 0);
      if (chosen > 1) {
        throw new BadInputException("give at most one of --pheno-name, --mpheno and --pheno-col");
      }
      if ((mpheno != null && mpheno < 1) || (phenoCol != null && phenoCol < 1)) {
        throw new BadInputException("--mpheno and --pheno-col count from 1, got " + (mpheno != null ? mpheno : phenoCol));
      }
      if (pheno == null && phenoCol == null) {
        throw new BadInputException("--pheno FILE is required (or --pheno-col N to take the trait from the .fam)");
      }
    }

    /** The same tables and covariates with column {@code name} as the trait. */
    public Spec withPhenoName(String name) {
      return new Spec(pheno, name, null, null, covar, covarNames, qcovar, qcovarNames, iidOnly, idColumn);
    }

    /** A phenotype table with a named (or the first) trait column and whole covariate tables. */
    public static Spec of(String pheno, String phenoName, String covar, String qcovar) {
      return new Spec(pheno, phenoName, null, null, covar, List.of(), qcovar, List.of(), false);
    }

    /**
     * This spec with {@code fam} as the phenotype table when the trait is a {@code .fam} column
     * ({@code --pheno-col}) and no {@code --pheno} was given: for steps that do not see the genotypes.
     */
    public Spec orFam(String fam) {
      return pheno == null && phenoCol != null && fam != null
          ? new Spec(fam, phenoName, mpheno, phenoCol, covar, covarNames, qcovar, qcovarNames, iidOnly, idColumn)
          : this;
    }

    /** The files this spec reads (for fingerprints of pipeline steps); {@code fam} is read with --pheno-col alone. */
    public List<String> files(String fam) {
      return Stream.of(pheno != null ? pheno : fam, covar, qcovar).filter(f -> f != null).distinct().toList();
    }

    /** The options as a text, for logs and fingerprints. */
    public String describe() {
      return "trait=" + (phenoName != null ? phenoName : mpheno != null ? "mpheno " + mpheno
          : phenoCol != null ? "pheno-col " + phenoCol : "first") + " covar-names=" + covarNames + " qcovar-names="
          + qcovarNames + " iid-only=" + iidOnly + (idColumn == null ? "" : " pheno-id-col=" + idColumn);
    }

    /** How every table of this spec is read. */
    public SampleTable.Layout layout(boolean repeatedRecords) {
      return new SampleTable.Layout(repeatedRecords, iidOnly, idColumn);
    }
  }

  /**
   * Which traits a run analyses: one (the spec's), the named ones ({@code --pheno-name A,B,…}) or every
   * value column of the phenotype table not used as a covariate ({@code --all-pheno}). Each trait is then
   * read as the spec with that name ({@link #spec(String)}), so it keeps its own analysed samples (those
   * with a value of that trait and every covariate): no missing value is filled in.
   *
   * @param spec  the tables and covariates (its {@code phenoName} is ignored when {@code names} is given)
   * @param names the trait columns asked for by name, in order (empty: the spec's one trait, or all)
   * @param all   every value column not used as a covariate
   */
  public record Traits(Spec spec, List<String> names, boolean all) implements Serializable {
    public Traits {
      names = names == null ? List.of() : List.copyOf(names);
      if (all && !names.isEmpty()) {
        throw new BadInputException("give --pheno-name A,B,... or --all-pheno, not both");
      }
      if ((all || names.size() > 1) && (spec.mpheno() != null || spec.phenoCol() != null)) {
        throw new BadInputException("several traits (--pheno-name A,B,... or --all-pheno) are chosen by column name: "
            + "--mpheno and --pheno-col choose one");
      }
      if (new java.util.HashSet<>(names).size() != names.size()) {
        throw new BadInputException("--pheno-name lists a trait twice: " + names);
      }
      if (names.size() > 1) {
        names.forEach(Traits::checkFileNamePart);
      }
    }

    /** One trait: the spec's own choice. */
    public static Traits one(Spec spec) {
      return new Traits(spec, List.of(), false);
    }

    /** More than one trait may be analysed (several names, or every column). */
    public boolean many() {
      return all || names.size() > 1;
    }

    /** The spec of trait {@code name}: the same tables and covariates, that column as the trait. */
    public Spec spec(String name) {
      return spec.withPhenoName(name);
    }

    /**
     * The trait names: those given, or with {@code all} the value columns of the phenotype table that no
     * {@code --covar-names}/{@code --qcovar-names} takes from it (read from its header; refused when there
     * is none left). Every name must be usable in a file name ({@code PREFIX.TRAIT.*}), and every name given
     * must be a column of the phenotype table that is not also a covariate: checked here, once for all
     * traits, so that a run of several traits fails on a bad name before it fits any trait.
     */
    public List<String> resolve(Configuration conf) {
      if (!all && names.isEmpty()) {
        return List.of();
      }
      SampleTable pheno = SampleTable.read(spec.pheno(), conf, spec.layout(false));
      if (!all) {
        for (String name : names) {
          pheno.column(name, "--pheno-name"); // fails naming the file and the columns there are
          if (isCovariate(name)) {
            throw BadInputException.inFile(pheno.file(), "--pheno-name " + name + ": column '" + name
                + "' is also used as a covariate");
          }
        }
        return names;
      }
      List<String> out = new ArrayList<>();
      for (String c : pheno.columns()) {
        if (!isCovariate(c)) {
          checkFileNamePart(c);
          out.add(c);
        }
      }
      if (out.isEmpty()) {
        throw BadInputException.inFile(pheno.file(), "--all-pheno: every value column is used as a covariate; no trait left");
      }
      return out;
    }

    /** Whether the phenotype-table column {@code c} is taken as a covariate ({@code --covar-names}/{@code --qcovar-names}). */
    private boolean isCovariate(String c) {
      return (spec.covar() == null && spec.covarNames().contains(c))
          || (spec.qcovar() == null && spec.qcovarNames().contains(c));
    }

    private static void checkFileNamePart(String name) {
      if (name.isEmpty() || name.startsWith(".") || !name.matches("[\\p{L}\\p{N}._+-]+")) {
        throw new BadInputException("trait name '" + name + "' cannot be part of an output file name (PREFIX."
            + name + ".*): use letters, digits, '.', '_', '+', '-', not starting with '.'");
      }
    }
  }

  /**
   * The tables read: the phenotype table and its trait column's name, the covariate tables (null when
   * none), and with repeated records the phenotype-table covariate columns, which stay per record
   * ({@link org.lmmspark.engine.reml.RemlInputs.Spec#phenoCovarNames()}).
   */
  public record Tables(SampleTable pheno, String trait, SampleTable covar, SampleTable qcovar,
      List<String> phenoCovarNames, List<String> phenoQcovarNames) {}

  /**
   * A comma-separated list of column names as given for {@code option} ({@code --pheno-name}, {@code --covar-names},
   * {@code --qcovar-names}, or the run config's key of that name): empty when not given (null); refused when given but
   * naming nothing ("," or "A,,B"), which would otherwise read as no list at all (the first value column, every
   * covariate column).
   */
  public static List<String> columnNames(String option, List<String> given) {
    if (given == null) {
      return List.of();
    }
    if (given.isEmpty() || given.stream().anyMatch(String::isBlank)) {
      throw new BadInputException(option + " has an empty name " + given + ": give column names, comma separated "
          + "(A or A,B,C)");
    }
    return List.copyOf(given);
  }

  /**
   * Reads the tables of {@code s}.
   *
   * @param fam             the genotypes' {@code .fam}, read for {@code --pheno-col} without {@code --pheno}; may be null
   * @param reference       the samples IID-keyed tables are keyed to (genotypes or GRM), or null to leave them
   * @param referenceName   how to name {@code reference} in messages
   * @param repeatedRecords the phenotype table may hold several records per sample
   */
  public static Tables read(Spec s, String fam, List<SampleId> reference, String referenceName,
      boolean repeatedRecords, Configuration conf) {
    return read(s, fam, reference, referenceName, repeatedRecords, List.of(), conf);
  }

  /** As above; {@code otherUsed} are phenotype-table columns used otherwise (grouping factors), never the default trait. */
  public static Tables read(Spec s, String fam, List<SampleId> reference, String referenceName,
      boolean repeatedRecords, List<String> otherUsed, Configuration conf) {
    return readOnce(s, fam, reference, referenceName, repeatedRecords, otherUsed, conf).forTrait(s);
  }

  /**
   * The tables of {@code s} read and keyed once, for several traits ({@link Read#forTrait}): each trait's {@link Tables}
   * share them. Reading them once per trait would parse the phenotype table T times and keep T copies (each trait's
   * inputs keep their table): 100 traits of a 20,000-row table ran a 4 GB driver out of heap before any fit.
   */
  public static Read readOnce(Spec s, String fam, List<SampleId> reference, String referenceName,
      boolean repeatedRecords, List<String> otherUsed, Configuration conf) {
    SampleTable.Layout layout = s.layout(repeatedRecords);
    SampleTable pheno;
    if (s.phenoCol() != null) {
      String file = s.pheno() != null ? s.pheno() : fam;
      if (file == null) {
        throw new BadInputException("--pheno-col N reads a .fam-layout table: give --pheno FILE or --bfile PREFIX");
      }
      pheno = SampleTable.fam(file, conf);
    } else {
      pheno = SampleTable.read(s.pheno(), conf, layout);
    }
    pheno = keyed(pheno, reference, referenceName);
    SampleTable.Layout single = s.layout(false);
    List<String> phenoCovar = new ArrayList<>();
    List<String> phenoQcovar = new ArrayList<>();
    SampleTable covar = covariates(s.covar(), s.covarNames(), "--covar-names", pheno, phenoCovar, single, reference,
        referenceName, conf);
    SampleTable qcovar = covariates(s.qcovar(), s.qcovarNames(), "--qcovar-names", pheno, phenoQcovar, single,
        reference, referenceName, conf);
    List<String> used = new ArrayList<>(phenoCovar);
    used.addAll(otherUsed);
    if (!repeatedRecords) {
      // One record per sample: covariates from the phenotype table are a table like any other.
      if (!phenoCovar.isEmpty()) {
        covar = pheno.select(phenoCovar, "--covar-names");
      }
      if (!phenoQcovar.isEmpty()) {
        qcovar = pheno.select(phenoQcovar, "--qcovar-names");
      }
      return new Read(pheno, covar, qcovar, List.of(), List.of(), used, phenoQcovar);
    }
    return new Read(pheno, covar, qcovar, List.copyOf(phenoCovar), List.copyOf(phenoQcovar), used, phenoQcovar);
  }

  /**
   * The tables of a spec, read once ({@link #readOnce}); {@code used} and {@code qcovarInPheno} are the phenotype-table
   * columns taken otherwise (never a trait).
   */
  public record Read(SampleTable pheno, SampleTable covar, SampleTable qcovar, List<String> phenoCovarNames,
      List<String> phenoQcovarNames, List<String> used, List<String> qcovarInPheno) {
    /** The tables of the trait {@code s} names (its column checked against these tables; the rest of s as read). */
    public Tables forTrait(Spec s) {
      return new Tables(pheno, trait(s, pheno, used, qcovarInPheno), covar, qcovar, phenoCovarNames, phenoQcovarNames);
    }
  }

  private static SampleTable keyed(SampleTable t, List<SampleId> reference, String referenceName) {
    return reference == null ? t : t.keyedTo(reference, referenceName);
  }

  /** A covariate table: the file (all or the named columns), or null with the names left in {@code fromPheno}. */
  private static SampleTable covariates(String file, List<String> names, String option, SampleTable pheno,
      List<String> fromPheno, SampleTable.Layout layout, List<SampleId> reference, String referenceName,
      Configuration conf) {
    if (file == null) {
      for (String name : names) {
        pheno.column(name, option); // fails naming the columns there are
        fromPheno.add(name);
      }
      return null;
    }
    SampleTable t = keyed(SampleTable.read(file, conf, layout), reference, referenceName);
    return names.isEmpty() ? t : t.select(names, option);
  }

  private static String trait(Spec s, SampleTable pheno, List<String> covar, List<String> qcovar) {
    String name;
    if (s.phenoName() != null) {
      name = pheno.columns().get(pheno.column(s.phenoName(), "--pheno-name"));
    } else if (s.mpheno() != null || s.phenoCol() != null) {
      int k = s.mpheno() != null ? s.mpheno() : s.phenoCol();
      if (k > pheno.columns().size()) {
        throw BadInputException.inFile(pheno.file(), (s.mpheno() != null ? "--mpheno " : "--pheno-col ") + k
            + ": the table has " + pheno.columns().size() + " " + (s.phenoCol() != null ? "phenotype" : "value")
            + " column(s) " + pheno.columns());
      }
      name = pheno.columns().get(k - 1);
    } else {
      name = pheno.columns().stream().filter(c -> !covar.contains(c) && !qcovar.contains(c)).findFirst()
          .orElseThrow(() -> BadInputException.inFile(pheno.file(), "every column is used as a covariate; no trait column left"));
    }
    if (covar.contains(name) || qcovar.contains(name)) {
      throw new BadInputException("trait column '" + name + "' is also used as a covariate");
    }
    return name;
  }
}
