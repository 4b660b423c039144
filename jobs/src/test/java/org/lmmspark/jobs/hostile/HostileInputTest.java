package org.lmmspark.jobs.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.testing.RefData;
import org.lmmspark.jobs.cli.Lmmspark;

/**
 * The hostile-input corpus: malformed, degenerate and conflicting inputs for every command, generated
 * here from {@code sample-data/sim} (a tiny cut: 42 samples, so that N is not a multiple of 4, and the
 * first 100 variants of chromosomes 1–3) into a temporary folder, each run in-process through
 * {@link Lmmspark#run}. Every case must end with exit code 2, exactly one {@code lmmspark: error:} line
 * on stderr that names what it expects (a file, line, sample, option or key), no stack trace, and the
 * case's folder exactly as it was before the run (nothing written, nothing left behind, nothing
 * replaced).
 */
class HostileInputTest {
  static final int N = 42;
  static final int PER_CHROMOSOME = 100;

  @TempDir static Path root;
  static Path base;
  static int variants;

  /** The cut of sample-data every case starts from: base.{bed,bim,fam,pheno,covar,qcovar,ped}, and its GRM. */
  @BeforeAll
  static void cutSampleData() throws IOException {
    Path sim = RefData.projectRoot().resolve("sample-data");
    base = root.resolve("base");
    Files.createDirectories(base);
    List<String> bim = Files.readAllLines(sim.resolve("sim.bim"));
    List<Integer> keep = new ArrayList<>();
    int[] perChr = new int[4];
    for (int v = 0; v < bim.size(); v++) {
      int c = Integer.parseInt(bim.get(v).split("\t")[0]);
      if (c <= 3 && perChr[c]++ < PER_CHROMOSOME) {
        keep.add(v);
      }
    }
    variants = keep.size();
    List<String> fam = Files.readAllLines(sim.resolve("sim.fam"));
    int simBytes = (fam.size() + 3) / 4;
    byte[] simBed = Files.readAllBytes(sim.resolve("sim.bed"));
    int bytes = (N + 3) / 4;
    byte[] bed = new byte[3 + variants * bytes];
    System.arraycopy(simBed, 0, bed, 0, 3);
    int padding = 0xff >> (2 * (4 - N % 4)) & 0xff;
    for (int i = 0; i < variants; i++) {
      System.arraycopy(simBed, 3 + keep.get(i) * simBytes, bed, 3 + i * bytes, bytes);
      bed[3 + i * bytes + bytes - 1] &= (byte) padding; // PLINK's zero padding after sample N
    }
    Files.write(base.resolve("base.bed"), bed);
    Files.write(base.resolve("base.bim"), keep.stream().map(bim::get).toList());
    Files.write(base.resolve("base.fam"), fam.subList(0, N));
    for (String ext : List.of("pheno", "covar", "qcovar", "ped")) {
      Files.write(base.resolve("base." + ext), Files.readAllLines(sim.resolve("sim." + ext)).subList(0, N + 1));
    }
    int rc = quiet("grm", "--bfile", b(), "--out", base.resolve("g").toString(), "--master", "local[2]");
    assertEquals(0, rc, "the corpus' GRM");
  }

  /** One hostile case: set up files in its folder, the command line, and what the message must name. */
  record Case(String name, Setup setup, Function<Path, String[]> args, Function<Path, String> expect) {}

  @FunctionalInterface
  interface Setup {
    void in(Path dir) throws IOException;
  }

  @TestFactory
  Stream<DynamicTest> everyCaseIsOneLineExitTwoAndLeavesNothing() {
    List<Case> cases = cases();
    assertTrue(cases.size() >= 60, "corpus size " + cases.size());
    return cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> runCase(c)));
  }

  private static void runCase(Case c) throws IOException {
    Path dir = root.resolve("cases").resolve(c.name().replaceAll("[^A-Za-z0-9]+", "_"));
    Files.createDirectories(dir);
    c.setup().in(dir);
    Set<String> before = listing(dir);
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldErr = System.err;
    PrintStream oldOut = System.out;
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    System.setOut(new PrintStream(OutputStream.nullOutputStream()));
    int rc;
    try {
      rc = Lmmspark.run(c.args().apply(dir));
    } finally {
      System.setErr(oldErr);
      System.setOut(oldOut);
    }
    String text = err.toString(StandardCharsets.UTF_8);
    List<String> ours = text.lines().filter(l -> l.startsWith("lmmspark:")).toList();
    System.out.println("hostile " + c.name() + ": " + (ours.isEmpty() ? "(no message)" : ours.get(0)));
    assertEquals(2, rc, c.name() + ": " + text);
    assertEquals(1, ours.size(), c.name() + ": one error line, got " + ours);
    String line = ours.get(0);
    assertTrue(line.startsWith("lmmspark: error: "), c.name() + ": " + line);
    assertTrue(line.length() < 600, c.name() + ": message of " + line.length() + " characters");
    assertTrue(line.chars().noneMatch(ch -> Character.isISOControl(ch) || Character.getType(ch) == Character.FORMAT
        || ch == 0xfffd), c.name() + ": invisible, control or undecodable characters in the message: " + line);
    assertTrue(text.lines().noneMatch(l -> l.startsWith("\tat ") || l.contains("internal error")),
        c.name() + ": stack trace or internal error: " + text);
    String expect = c.expect().apply(dir);
    assertTrue(line.contains(expect), c.name() + ": message should name '" + expect + "': " + line);
    assertEquals(before, listing(dir), c.name() + ": files written or left behind");
  }

  /**
   * Not errors: a trait value written NaN is missing, and the log counts it apart from the other
   * missing codes, naming the file and lines; a UTF-8 byte-order mark before the header is dropped
   * (as PLINK ignores it), so the header is still recognised.
   */
  @org.junit.jupiter.api.Test
  void nanTraitValuesAreCountedInTheLogAndABomIsTolerated() throws IOException {
    Path d = root.resolve("nan-and-bom");
    Files.createDirectories(d);
    editPheno(d, (i, y) -> i == 3 ? "NaN" : i == 7 ? "nan" : y);
    prepend(d.resolve("p.txt"), BOM);
    String p = d.resolve("p.txt").toString();
    assertEquals(0, quiet("reml", "--grm", g(), "--pheno", p, "--pheno-name", "y_quant", "--out", out(d)));
    String log = Files.readString(Path.of(out(d) + ".log"));
    assertTrue(log.contains("trait 'y_quant': 2 NaN values taken as missing (" + p + " lines 5, 9)"), log);
  }

  // ---- the corpus ----

  static List<Case> cases() {
    List<Case> all = new ArrayList<>();
    // Numeric options out of range, NaN included, the same from flags and from the pipeline config.
    for (String[] o : new String[][] {{"--maf", "NaN"}, {"--maf", "0.7"}, {"--maf", "-0.1"}, {"--partitions", "-5"},
        {"--tile-size", "0"}, {"--tile-memory", "0"}}) {
      all.add(grm("grm " + o[0] + " " + o[1], d -> {}, b(), o[0], o[0], o[1]));
    }
    for (String[] o : new String[][] {{"--maf", "NaN"}, {"--partitions", "-1"}, {"--block-variants", "-3"},
        {"--calibration-variants", "0"}, {"--test", "bogus"}, {"--solver", "magic"}}) {
      all.add(assoc("assoc " + o[0] + " " + o[1], d -> {}, d -> o[0], o[0], o[1]));
    }
    for (String[] o : new String[][] {{"--probes", "1"}, {"--cg-tol", "2"}, {"--cg-tol", "NaN"}, {"--maf", "0.5"},
        {"--matrix-free-above", "-2"}}) {
      all.add(new Case("reml --bfile " + o[0] + " " + o[1], d -> {}, d -> args("reml", "--bfile", b(), "--pheno",
          bp("pheno"), "--out", out(d), o[0], o[1]), d -> o[0]));
    }
    all.add(new Case("reml --max-iterations 0", d -> {}, d -> args("reml", "--grm", g(), "--pheno", bp("pheno"), "--out",
        out(d), "--max-iterations", "0"), d -> "--max-iterations"));
    all.add(grm("grm --chr with --exclude-chr", d -> {}, b(), "--chr", "--chr", "1", "--exclude-chr", "2"));
    all.add(grm("grm --chr 7 (no variant selected)", d -> {}, b(), "selected chromosomes", "--chr", "7"));

    // PLINK fileset format checks (already strict: kept so).
    all.add(grm("bed truncated", d -> {
      copyBase(d);
      byte[] bed = Files.readAllBytes(d.resolve("x.bed"));
      Files.write(d.resolve("x.bed"), Arrays.copyOf(bed, bed.length - 1));
    }, "x", "x.bed"));
    all.add(grm("bed wrong magic", d -> patchBed(d, 0, (byte) 0x00), "x", "magic"));
    all.add(grm("bed sample-major", d -> patchBed(d, 2, (byte) 0x00), "x", "sample-major"));
    all.add(grm("fam five fields", d -> editLine(d, "x.fam", 3, l -> l.substring(0, l.lastIndexOf('\t'))), "x", "x.fam:4"));
    all.add(grm("fam duplicate sample", d -> editLine(d, "x.fam", 5, l -> famLine(d, 0)), "x", "x.fam:6"));
    all.add(grm("fam missing", d -> {
      copyBase(d);
      Files.delete(d.resolve("x.fam"));
    }, "x", "x.fam"));
    all.add(grm("fam empty", d -> {
      copyBase(d);
      Files.writeString(d.resolve("x.fam"), "");
    }, "x", "x.fam"));
    all.add(grm("bim five fields", d -> editLine(d, "x.bim", 10, l -> l.substring(0, l.lastIndexOf('\t'))), "x", "x.bim:11"));
    all.add(grm("bim position not a number", d -> editLine(d, "x.bim", 0, l -> l.replaceFirst("\t(\\d+)\t([ACGT])\t", "\tabc\t$2\t")),
        "x", "x.bim:1"));
    all.add(grm("bim empty", d -> {
      copyBase(d);
      Files.writeString(d.resolve("x.bim"), "\n\n");
    }, "x", "x.bim"));
    all.add(grm("fam one line short (bed padding)", d -> editLine(d, "x.fam", N - 1, l -> null), "x", "x.bed"));
    all.add(grm("bim field of 5000 characters", d -> editLine(d, "x.bim", 2, l -> l.replaceFirst("\t", "\t" + "q".repeat(5000))),
        "x", "x.bim:3"));
    all.add(grm("bim unknown chromosome code", d -> editLine(d, "x.bim", 20, l -> "chrZ9" + l.substring(l.indexOf('\t'))),
        "x", "x.bim:21"));
    all.add(new Case("assoc bim unknown chromosome code", d -> editLine(d, "x.bim", 0, l -> "scaffold_7"
        + l.substring(l.indexOf('\t'))), d -> args("assoc", "--bfile", d.resolve("x").toString(), "--pheno", bp("pheno"),
        "--out", out(d)), d -> "--allow-extra-chr"));
    all.add(grm("fam is a folder", d -> {
      copyBase(d);
      Files.delete(d.resolve("x.fam"));
      Files.createDirectory(d.resolve("x.fam"));
    }, "x", "folder"));

    // Degenerate genotypes: errors before anything is written, naming what was filtered.
    all.add(grm("all variants monomorphic", d -> fillBed(d, (byte) 0x00), "x", "no usable variant"));
    all.add(grm("all calls missing", d -> fillBed(d, (byte) 0x55), "x", "no usable variant"));
    all.add(grm("one sample", d -> {
      copyBase(d);
      Files.write(d.resolve("x.fam"), Files.readAllLines(d.resolve("x.fam")).subList(0, 1));
      byte[] bed = new byte[3 + variants];
      System.arraycopy(Files.readAllBytes(d.resolve("x.bed")), 0, bed, 0, 3);
      Files.write(d.resolve("x.bed"), bed);
    }, "x", "x.fam"));
    all.add(grm("sample with no call", d -> {
      copyBase(d);
      byte[] bed = Files.readAllBytes(d.resolve("x.bed"));
      int bytes = (N + 3) / 4;
      for (int v = 0; v < variants; v++) {
        int at = 3 + v * bytes; // sample 0: the lowest two bits
        bed[at] = (byte) ((bed[at] & ~0x03) | 0x01);
      }
      Files.write(d.resolve("x.bed"), bed);
    }, "x", "has no genotype call"));
    all.add(new Case("assoc with zero variants tested", d -> fillBed(d, (byte) 0x00), d -> args("assoc", "--bfile",
        d.resolve("x").toString(), "--grm", g(), "--pheno", bp("pheno"), "--pheno-name", "y_quant", "--out", out(d),
        "--master", "local[2]"), d -> "no variant tested"));
    all.add(new Case("reml --bfile no usable variant", d -> fillBed(d, (byte) 0x00), d -> args("reml", "--bfile",
        d.resolve("x").toString(), "--pheno", bp("pheno"), "--pheno-name", "y_quant", "--out", out(d), "--master",
        "local[2]"), d -> "no usable variant"));

    // BCF through --vcf (bcftools-made fixtures, engine test resources /bcf): broken or unusable files.
    all.add(new Case("grm --vcf truncated BCF", d -> {
      byte[] whole = Files.readAllBytes(org.lmmspark.engine.testing.VcfFixture.bcfResource("mixed.bcf", d));
      Files.delete(d.resolve("mixed.bcf.csi"));
      Files.write(d.resolve("mixed.bcf"), Arrays.copyOf(whole, whole.length - 400));
    }, d -> args("grm", "--vcf", d.resolve("mixed.bcf").toString(), "--out", out(d)), d -> "mixed.bcf"));
    all.add(new Case("assoc --vcf multi-allelic BCF record", d -> org.lmmspark.engine.testing.VcfFixture.bcfResource(
        "multiallelic.bcf", d), d -> args("assoc", "--vcf", d.resolve("multiallelic.bcf").toString(), "--pheno",
        bp("pheno"), "--pheno-name", "y_quant", "--out", out(d)), d -> "multiallelic.bcf"));
    all.add(new Case("grm --vcf BCF record without GT, DS or GP", d -> org.lmmspark.engine.testing.VcfFixture
        .bcfResource("no-genotypes.bcf", d), d -> args("grm", "--vcf", d.resolve("no-genotypes.bcf").toString(),
        "--out", out(d)), d -> "no-genotypes.bcf: record 2 (1:20)"));
    // Phenotypes: format, magnitudes, degenerate traits.
    all.add(new Case("pheno unknown trait", d -> {}, d -> args("reml", "--grm", g(), "--pheno", bp("pheno"),
        "--pheno-name", "nope", "--out", out(d)), d -> "nope"));
    all.add(new Case("option given twice", d -> {}, d -> args("grm", "--bfile", b(), "--maf", "0.1", "--maf", "0.2",
        "--out", out(d)), d -> "--maf"));
    all.add(new Case("unknown option", d -> {}, d -> args("grm", "--bfile", b(), "--mfa", "0.1", "--out", out(d)),
        d -> "--mfa"));
    all.add(new Case("option value not a number", d -> {}, d -> args("grm", "--bfile", b(), "--maf", "lots", "--out",
        out(d)), d -> "lots"));
    all.add(reml("pheno duplicate sample", d -> editLine(d, "p.txt", 4, l -> phenoLine(1)), "p.txt:5"));
    all.add(reml("pheno not a number", d -> setTrait(d, 3, "abc"), "p.txt:5"));
    all.add(reml("pheno infinite", d -> setTrait(d, 3, "Inf"), "p.txt:5"));
    all.add(reml("pheno 1e200", d -> setTrait(d, 7, "1e200"), "p.txt:9"));
    all.add(reml("pheno 1e308", d -> setTrait(d, 7, "1e308"), "p.txt:9"));
    all.add(reml("pheno -1e300", d -> setTrait(d, 9, "-1e300"), "p.txt:11"));
    all.add(reml("pheno spread lost in the magnitude", d -> editPheno(d, (i, y) -> String.valueOf(1e17 + i * 16)), "p.txt"));
    all.add(reml("pheno wrong field count", d -> editLine(d, "p.txt", 6, l -> l + "\t9.9"), "p.txt:7"));
    all.add(reml("pheno constant", d -> editPheno(d, (i, y) -> "2.5"), "constant"));
    // A trait value the family or --prevalence cannot take: the phenotype file's line and the sample, on every route.
    for (String[] o : new String[][] {{"--family", "binomial"}, {"--prevalence", "0.1"}}) {
      for (String input : List.of("--grm", "--bfile")) {
        all.add(new Case("reml " + o[0] + " trait value 3 " + input, d -> {
          editLine(d, "p.txt", 5, l -> {
            String[] f = l.split("\t");
            f[3] = "3";
            return String.join("\t", f);
          });
          copyBase(d);
        }, d -> input.equals("--grm")
            ? args("reml", "--grm", g(), "--solver", "dense", "--pheno", d.resolve("p.txt").toString(), "--pheno-name",
                "y_binary", o[0], o[1], "--out", out(d))
            : args("reml", "--bfile", d.resolve("x").toString(), "--solver", "matrix-free", "--pheno",
                d.resolve("p.txt").toString(), "--pheno-name", "y_binary", o[0], o[1], "--out", out(d), "--master",
                "local[2]"), d -> "p.txt:6: sample fam0001 fam0001_c3: trait 'y_binary' value 3: "));
      }
    }
    all.add(reml("pheno one analysed sample", d -> editPheno(d, (i, y) -> i == 0 ? y : "NA"), "only"));
    all.add(reml("pheno matches no sample", d -> editPheno(d, null), "only"));
    all.add(new Case("trait explained by covariates", d -> {
      copyPheno(d);
      List<String> p = Files.readAllLines(d.resolve("p.txt"));
      List<String> q = new ArrayList<>(List.of("FID\tIID\tcopy"));
      for (String l : p.subList(1, p.size())) {
        String[] f = l.split("\t");
        q.add(f[0] + "\t" + f[1] + "\t" + (f[2].equals("NA") ? "NA" : String.valueOf(2 * Double.parseDouble(f[2]) + 1)));
      }
      Files.write(d.resolve("q.txt"), q);
    }, d -> args("reml", "--grm", g(), "--pheno", d.resolve("p.txt").toString(), "--qcovar", d.resolve("q.txt").toString(),
        "--out", out(d)), d -> "no variance left"));
    all.add(new Case("collinear covariates", d -> {
      List<String> q = Files.readAllLines(base.resolve("base.qcovar"));
      List<String> twice = new ArrayList<>();
      for (String l : q) {
        String[] f = l.split("\t");
        twice.add(l + "\t" + (f[2].equals("age") ? "age2" : f[2]));
      }
      Files.write(d.resolve("q.txt"), twice);
    }, d -> args("reml", "--grm", g(), "--pheno", bp("pheno"), "--qcovar", d.resolve("q.txt").toString(), "--out",
        out(d)), d -> "collinear"));
    all.add(reml("pheno is /dev/zero", d -> {}, "/dev/zero", "--pheno", "/dev/zero"));
    all.add(reml("pheno endless line", d -> {
      try (OutputStream os = Files.newOutputStream(d.resolve("p.txt"))) {
        byte[] chunk = "a".repeat(1 << 20).getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < 17; i++) {
          os.write(chunk);
        }
      }
    }, "longer than"));
    all.add(reml("pheno binary garbage", d -> {
      byte[] junk = new byte[4096];
      new java.util.Random(7).nextBytes(junk);
      junk[100] = 0;
      Files.write(d.resolve("p.txt"), junk);
    }, "p.txt"));
    all.add(reml("pheno gzip of a table with a bad value", d -> {
      setTrait(d, 3, "abc");
      byte[] text = Files.readAllBytes(d.resolve("p.txt"));
      try (OutputStream os = new GZIPOutputStream(Files.newOutputStream(d.resolve("p.txt")))) {
        os.write(text);
      }
    }, "p.txt:5"));
    all.add(reml("pheno is a folder", d -> Files.createDirectory(d.resolve("p.txt")), "folder"));

    // GRM inputs: entries checked, sets checked against their marker and lock.
    all.add(remlGrm("GRM with a NaN entry", d -> patchGrm(d, 4, Float.NaN), "NaN"));
    all.add(remlGrm("GRM with a negative diagonal", d -> patchGrm(d, 2, -0.5f), "diagonal"));
    all.add(remlGrm("GRM with an infinite entry", d -> patchGrm(d, 1, Float.POSITIVE_INFINITY), "Infinity"));
    all.add(remlGrm("GRM .bin one entry short", d -> {
      copyGrm(d);
      byte[] bin = Files.readAllBytes(d.resolve("k.grm.bin"));
      Files.write(d.resolve("k.grm.bin"), Arrays.copyOf(bin, bin.length - 4));
    }, "k.grm.bin"));
    all.add(remlGrm("GRM .id missing", d -> {
      copyGrm(d);
      Files.delete(d.resolve("k.grm.id"));
    }, "k.grm.id"));
    all.add(remlGrm("GRM .id line with one field", d -> {
      copyGrm(d);
      Files.delete(d.resolve("k.done")); // a GRM from elsewhere (GCTA, PLINK) has no marker
      List<String> ids = new ArrayList<>(Files.readAllLines(d.resolve("k.grm.id")));
      ids.set(3, ids.get(3).split("\t")[0]);
      Files.write(d.resolve("k.grm.id"), ids);
    }, "k.grm.id:4"));
    all.add(remlGrm("GRM being written by another run", d -> {
      copyGrm(d);
      Files.writeString(d.resolve("k.lock"), "pid 1 on host elsewhere, started 2020-01-01T00:00:00Z\n");
    }, "k.lock"));
    all.add(remlGrm("GRM changed after its marker", d -> {
      copyGrm(d);
      String done = Files.readString(d.resolve("k.done"));
      Files.writeString(d.resolve("k.done"), done.replaceFirst("(\\.grm\\.N\\.bin\\t)\\d+", "$1" + 1));
    }, "k.grm.N.bin"));

    // Pedigrees.
    all.add(ped("pedigree cycle", "id sire dam\na c 0\nb a 0\nc b 0\n", "ped.txt"));
    all.add(ped("pedigree self-parent", "id sire dam\na 0 0\nb b a\n", "ped.txt"));
    all.add(ped("pedigree sire is dam", "id sire dam\na 0 0\nb 0 0\nc a b\nd a a\n", "ped.txt"));
    all.add(ped("pedigree endless line", null, "longer than"));

    // Outputs: checked before any work.
    all.add(new Case("out under a regular file", d -> Files.writeString(d.resolve("file"), "x\n"), d -> args("grm",
        "--bfile", b(), "--out", d.resolve("file").resolve("g").toString()), d -> "cannot write"));
    all.add(new Case("out ends in a slash", d -> {}, d -> args("grm", "--bfile", b(), "--out", d.resolve("o") + "/"),
        d -> "must name files"));
    all.add(new Case("out is a folder", d -> Files.createDirectory(d.resolve("o")), d -> args("grm", "--bfile", b(),
        "--out", d.resolve("o").toString()), d -> "folder"));
    all.add(new Case("reml --out equal to the --grm prefix", d -> copyGrm(d), d -> args("reml", "--grm",
        d.resolve("k").toString(), "--pheno", bp("pheno"), "--out", d.resolve("k").toString()), d -> "would write over"));
    all.add(new Case("grm --out equal to the --bfile prefix", d -> copyBase(d), d -> args("grm", "--bfile",
        d.resolve("x").toString(), "--out", d.resolve("x").toString()), d -> "would write over"));
    all.add(new Case("existing outputs without --overwrite", d -> copyGrm(d), d -> args("grm", "--bfile", b(), "--out",
        d.resolve("k").toString()), d -> "--overwrite"));
    all.add(new Case("a live run holds the lock", d -> {
      Process sleeper = new ProcessBuilder("sleep", "120").start();
      SLEEPERS.add(sleeper);
      ProcessHandle h = sleeper.toHandle();
      Files.writeString(d.resolve("o.lock"), "pid " + h.pid() + " on host " + java.net.InetAddress.getLocalHost()
          .getHostName() + ", started " + h.info().startInstant().map(Instant::toString).orElse("?") + "\n");
    }, d -> args("grm", "--bfile", b(), "--out", d.resolve("o").toString()), d -> "another run"));

    // The pipeline configuration: the same checks as the flags.
    all.add(conf("config maf = 0.7", "maf = 0.7", "maf"));
    all.add(conf("config maf = NaN", "maf = NaN", "maf"));
    all.add(conf("config key twice", "maf = 0.01\nmaf = 0.02", "given again"));
    all.add(conf("config unknown key", "mfa = 0.01", "unknown key"));
    all.add(conf("config loco = maybe", "loco = maybe", "loco"));
    all.add(conf("config solver = fast", "solver = fast", "solver"));
    all.add(conf("config allow-extra-chr = maybe", "allow-extra-chr = maybe", "allow-extra-chr"));
    all.add(new Case("config without out and no --out", d -> Files.writeString(d.resolve("run.conf"), String.join("\n",
        "bfile = " + b(), "pheno = " + bp("pheno"), "")), d -> args("run", "--config", d.resolve("run.conf").toString()),
        d -> "out"));
    all.add(new Case("config bfile missing", d -> Files.writeString(d.resolve("run.conf"), String.join("\n",
        "bfile = nothing", "pheno = " + bp("pheno"), "out = o", "")), d -> args("run", "--config",
        d.resolve("run.conf").toString()), d -> "nothing"));
    all.add(conf("config keep file missing (found inside the run: its out folder goes again)", "keep = nokeep.txt",
        "nokeep.txt"));
    all.add(new Case("config trait column unknown", d -> Files.writeString(d.resolve("run.conf"), String.join("\n",
        "bfile = " + b(), "pheno = " + bp("pheno"), "pheno-name = nope", "out = o", "")), d -> args("run", "--config",
        d.resolve("run.conf").toString()), d -> "nope"));
    all.addAll(encodingCases());
    all.addAll(summaryStatisticsCases());
    all.addAll(fitCases());
    all.addAll(panelCases());
    all.addAll(outputSetCases());
    return all;
  }

  // ---- NaN, byte-order marks, gzip ----

  static final String BOM = "\uFEFF";

  static List<Case> encodingCases() {
    List<Case> all = new ArrayList<>();
    all.add(reml("pheno every value NaN", d -> editPheno(d, (i, y) -> "NaN"), "NaN"));
    all.add(grm("fam with a BOM and a duplicate sample", d -> {
      editLine(d, "x.fam", 5, l -> famLine(d, 0));
      prepend(d.resolve("x.fam"), BOM);
    }, "x", "x.fam:6"));
    all.add(reml("pheno with a BOM and a bad value", d -> {
      setTrait(d, 3, "abc");
      prepend(d.resolve("p.txt"), BOM);
    }, "p.txt:5"));
    all.add(reml("pheno with a BOM inside a value", d -> setTrait(d, 3, BOM + "1.5"), "p.txt:5"));
    all.add(new Case("covar with a BOM, column asked for missing", d -> {
      Files.writeString(d.resolve("c.txt"), BOM + Files.readString(base.resolve("base.covar")));
    }, d -> args("reml", "--grm", g(), "--pheno", bp("pheno"), "--pheno-name", "y_quant", "--covar",
        d.resolve("c.txt").toString(), "--covar-names", "nope", "--out", out(d)), d -> "nope"));
    all.add(new Case("qcovar gzip with a short line", d -> {
      List<String> q = new ArrayList<>(Files.readAllLines(base.resolve("base.qcovar")));
      q.set(4, q.get(4).substring(0, q.get(4).lastIndexOf('\t')));
      gzip(d.resolve("q.txt"), String.join("\n", q) + "\n");
    }, d -> args("reml", "--grm", g(), "--pheno", bp("pheno"), "--pheno-name", "y_quant", "--qcovar",
        d.resolve("q.txt").toString(), "--out", out(d)), d -> "q.txt:5"));
    all.add(new Case("pheno gzip truncated", d -> {
      gzip(d.resolve("p.txt.gz"), Files.readString(base.resolve("base.pheno")).repeat(50));
      byte[] z = Files.readAllBytes(d.resolve("p.txt.gz"));
      Files.write(d.resolve("p.txt.gz"), Arrays.copyOf(z, z.length / 2));
    }, d -> args("reml", "--grm", g(), "--pheno", d.resolve("p.txt.gz").toString(), "--out", out(d)), d -> "p.txt.gz"));
    return all;
  }

  // ---- summary statistics and LD scores (munge-sumstats, ldsc) ----

  /** Variants of the corpus panel used as summary statistics: the first 150 of the .bim. */
  static final int SUMSTATS_ROWS = 150;

  static List<Case> summaryStatisticsCases() {
    List<Case> all = new ArrayList<>();
    all.add(munge("munge P column missing", d -> writeSumstats(d, "s.txt", "SNP A1 A2 BETA N", r -> r[0] + " " + r[1]
        + " " + r[2] + " 0.1 1000"), "missing column P"));
    all.add(munge("munge N absent", d -> writeSumstats(d, "s.txt", "SNP A1 A2 P BETA", r -> r[0] + " " + r[1] + " "
        + r[2] + " 0.5 0.1"), "--N"));
    all.add(munge("munge gzip with a bad P", d -> {
      writeSumstats(d, "s.txt", "SNP A1 A2 P BETA N", r -> r[0] + " " + r[1] + " " + r[2] + " " + (r[3].equals("3")
          ? "zero" : "0.5") + " 0.1 1000");
      gzip(d.resolve("s.txt.gz"), Files.readString(d.resolve("s.txt")));
      Files.delete(d.resolve("s.txt"));
    }, "s.txt.gz:3", "s.txt.gz"));
    all.add(munge("munge gzip truncated", d -> {
      writeSumstats(d, "s.txt", "SNP A1 A2 P BETA N", r -> r[0] + " " + r[1] + " " + r[2] + " 0.5 0.1 1000");
      gzip(d.resolve("s.txt.gz"), Files.readString(d.resolve("s.txt")).repeat(20));
      byte[] z = Files.readAllBytes(d.resolve("s.txt.gz"));
      Files.write(d.resolve("s.txt.gz"), Arrays.copyOf(z, z.length / 2));
      Files.delete(d.resolve("s.txt"));
    }, "s.txt.gz", "s.txt.gz"));
    all.add(munge("munge N of zero", d -> writeSumstats(d, "s.txt", "SNP A1 A2 P BETA N", r -> r[0] + " " + r[1] + " "
        + r[2] + " 0.5 0.1 " + (r[3].equals("5") ? "0" : "1000")), "s.txt:5"));
    all.add(munge("munge field of 5000 characters", d -> writeSumstats(d, "s.txt", "SNP A1 A2 P BETA N", r -> r[0]
        + " " + r[1] + " " + r[2] + " 0.5 0.1 " + (r[3].equals("7") ? "9".repeat(5000) : "1000")), "s.txt:7"));
    all.add(ldsc("ldsc sumstats Z column missing", d -> writeSumstats(d, "s.sumstats", "SNP A1 A2 N ZZ", r -> r[0]
        + " " + r[1] + " " + r[2] + " 1000 0.5"), "s.sumstats", "missing column P"));
    all.add(ldsc("ldsc sumstats N absent", d -> writeSumstats(d, "s.sumstats", "SNP A1 A2 Z", r -> r[0] + " " + r[1]
        + " " + r[2] + " 0.5"), "s.sumstats", "--N"));
    all.add(ldsc("ldsc sumstats gzip with an infinite Z", d -> {
      writeSumstats(d, "s.sumstats", "SNP A1 A2 N Z", r -> r[0] + " " + r[1] + " " + r[2] + " 1000 "
          + (r[3].equals("9") ? "Infinity" : "0.5"));
      gzip(d.resolve("s.sumstats.gz"), Files.readString(d.resolve("s.sumstats")));
      Files.delete(d.resolve("s.sumstats"));
    }, "s.sumstats.gz", "s.sumstats.gz:9"));
    all.add(ldsc("ldsc sumstats row with a missing field", d -> writeSumstats(d, "s.sumstats", "SNP A1 A2 N Z",
        r -> r[0] + " " + r[1] + " " + r[2] + (r[3].equals("4") ? " 1000" : " 1000 0.5")), "s.sumstats", "s.sumstats:4"));
    all.add(ldsc("ldsc LD score NaN", d -> editLines(d.resolve("ld.1.l2.ldscore"), 2, l -> l.replaceFirst("\t[^\t]+$",
        "\tNaN")), "s.sumstats", "ld.1.l2.ldscore:3"));
    all.add(ldsc("ldsc LD scores missing", d -> Files.delete(d.resolve("ld.1.l2.ldscore")), "s.sumstats",
        "no LD score file"));
    all.add(ldsc("ldsc M file missing", d -> Files.delete(d.resolve("ld.1.l2.M_5_50")), "s.sumstats", "l2.M_5_50"));
    all.add(ldsc("ldsc LD score header without SNP", d -> editLines(d.resolve("ld.1.l2.ldscore"), 0,
        l -> l.replace("SNP", "RSID")), "s.sumstats", "ld.1.l2.ldscore:1"));
    for (String[] o : new String[][] {{"--samp-prev", "1.5"}, {"--pop-prev", "NaN"}, {"--two-step", "NaN"},
        {"--chisq-max", "-1"}, {"--N", "0"}, {"--intercept-h2", "Infinity"}}) {
      all.add(new Case("ldsc " + o[0] + " " + o[1], d -> ldscInputs(d), d -> args("ldsc", "--h2",
          d.resolve("s.sumstats").toString(), "--ref-ld-chr", d.resolve("ld.") + "", "--w-ld-chr", d.resolve("ld.") + "",
          o[0], o[1], "--samp-prev".equals(o[0]) ? "--pop-prev" : "--samp-prev", "0.1", "--out", out(d)), d -> o[0]));
    }
    for (String[] o : new String[][] {{"--maf-min", "NaN"}, {"--info-min", "Infinity"}, {"--N", "-5"},
        {"--n-min", "NaN"}, {"--signed-sumstats", "BETA,NaN"}}) {
      all.add(new Case("munge " + o[0] + " " + o[1], d -> ldscInputs(d), d -> args("munge-sumstats", "--sumstats",
          d.resolve("s.sumstats").toString(), o[0], o[1], "--out", out(d)), d -> o[0]));
    }
    all.add(ldsc("ldsc three SNPs left after the merge", d -> {
      List<String> ss = Files.readAllLines(d.resolve("s.sumstats"));
      Files.write(d.resolve("s.sumstats"), ss.subList(0, 4));
    }, "s.sumstats", "only 3 SNP"));
    all.add(new Case("ldsc --n-blocks 1", d -> ldscInputs(d), d -> args("ldsc", "--h2", d.resolve("s.sumstats").toString(),
        "--ref-ld-chr", d.resolve("ld.") + "", "--w-ld-chr", d.resolve("ld.") + "", "--n-blocks", "1", "--out", out(d)),
        d -> "--n-blocks"));
    return all;
  }

  /** The corpus' first 150 variants as {@code SNP A1 A2 index} rows written through {@code row} under {@code header}. */
  static void writeSumstats(Path d, String name, String header, Function<String[], String> row) throws IOException {
    List<String> bim = Files.readAllLines(base.resolve("base.bim"));
    List<String> lines = new ArrayList<>(List.of(header));
    for (int i = 0; i < SUMSTATS_ROWS; i++) {
      String[] f = bim.get(i).split("\t");
      lines.add(row.apply(new String[] {f[1], f[4], f[5], String.valueOf(i + 2)})); // index: the file line
    }
    Files.write(d.resolve(name), lines);
  }

  /** LD scores of the first 150 variants ({@code ld.1.l2.ldscore}, M) and valid ldsc summary statistics. */
  static void ldscInputs(Path d) throws IOException {
    List<String> bim = Files.readAllLines(base.resolve("base.bim"));
    List<String> ld = new ArrayList<>(List.of("CHR\tSNP\tBP\tL2"));
    for (int i = 0; i < SUMSTATS_ROWS; i++) {
      String[] f = bim.get(i).split("\t");
      ld.add(f[0] + "\t" + f[1] + "\t" + f[3] + "\t" + (1 + i % 7));
    }
    Files.write(d.resolve("ld.1.l2.ldscore"), ld);
    Files.writeString(d.resolve("ld.1.l2.M_5_50"), "150\n");
    Files.writeString(d.resolve("ld.1.l2.M"), "150\n");
    writeSumstats(d, "s.sumstats", "SNP A1 A2 N Z", r -> r[0] + " " + r[1] + " " + r[2] + " 1000 " + (Integer.parseInt(r[3])
        % 5 - 2) * 0.7);
  }

  static Case munge(String name, Setup setup, String expect, String... file) {
    String f = file.length > 0 ? file[0] : "s.txt";
    return new Case(name, setup, d -> args("munge-sumstats", "--sumstats", d.resolve(f).toString(), "--out", out(d)),
        d -> expect);
  }

  /** ldsc --h2 on the case's {@code sumstats} file (after {@link #ldscInputs} and {@code setup}) with its LD scores. */
  static Case ldsc(String name, Setup setup, String sumstats, String expect) {
    return new Case(name, d -> {
      ldscInputs(d);
      setup.in(d);
    }, d -> args("ldsc", "--h2", d.resolve(sumstats).toString(), "--ref-ld-chr", d.resolve("ld.").toString(), "--w-ld-chr",
        d.resolve("ld.").toString(), "--out", out(d)), d -> expect);
  }

  // ---- fit and lrt ----

  static List<Case> fitCases() {
    List<Case> all = new ArrayList<>();
    all.add(fit("fit formula with a stray token", d -> fitData(d), "y ~ x + $ + (1 | g)", "$"));
    all.add(fit("fit formula response unknown", d -> fitData(d), "nope ~ x + (1 | g)", "nope"));
    all.add(fit("fit formula unbalanced parenthesis", d -> fitData(d), "y ~ x + (1 | g", "formula"));
    all.add(fit("fit data with a short line", d -> {
      fitData(d);
      editLines(d.resolve("t.csv"), 5, l -> l.substring(0, l.lastIndexOf(',')));
    }, "y ~ x + (1 | g)", "t.csv"));
    all.add(fit("fit data value of 5000 characters", d -> {
      fitData(d);
      editLines(d.resolve("t.csv"), 5, l -> "9".repeat(5000) + l.substring(l.indexOf(',')));
    }, "y ~ x + (1 | g)", "t.csv"));
    all.add(fit("fit response NaN everywhere", d -> {
      fitData(d);
      List<String> t = new ArrayList<>(Files.readAllLines(d.resolve("t.csv")));
      for (int i = 1; i < t.size(); i++) {
        t.set(i, "NaN" + t.get(i).substring(t.get(i).indexOf(',')));
      }
      Files.write(d.resolve("t.csv"), t);
    }, "y ~ x + (1 | g)", "y"));
    all.add(fit("fit response 1e200", d -> {
      fitData(d);
      editLines(d.resolve("t.csv"), 7, l -> "1e200" + l.substring(l.indexOf(',')));
    }, "y ~ x + (1 | g)", "t.csv:8"));
    all.add(fit("fit response spread lost in its magnitude", d -> {
      fitData(d);
      List<String> t = new ArrayList<>(Files.readAllLines(d.resolve("t.csv")));
      for (int i = 1; i < t.size(); i++) {
        t.set(i, String.valueOf(1e17 + 16 * i) + t.get(i).substring(t.get(i).indexOf(',')));
      }
      Files.write(d.resolve("t.csv"), t);
    }, "y ~ x + (1 | g)", "lost to rounding"));
    all.add(new Case("fit --fix at NaN", d -> fitData(d), d -> args("fit", "--data", d.resolve("t.csv").toString(),
        "--formula", "y ~ x + (1 | g)", "--fix", "g:(Intercept)=NaN", "--out", out(d)), d -> "--fix"));
    all.add(new Case("fit --method bogus", d -> fitData(d), d -> args("fit", "--data", d.resolve("t.csv").toString(),
        "--formula", "y ~ x + (1 | g)", "--method", "bogus", "--out", out(d)), d -> "--method"));
    all.add(new Case("fit --out over its --data", d -> {
      fitData(d);
      Files.move(d.resolve("t.csv"), d.resolve("t.json"));
    }, d -> args("fit", "--data", d.resolve("t.json").toString(), "--formula", "y ~ x + (1 | g)", "--out",
        d.resolve("t").toString()), d -> "would write over"));
    all.add(new Case("lrt on a JSON that is not a fit", d -> {
      Files.writeString(d.resolve("a.json"), "{\"formula\": \"y ~ 1\"}\n");
      Files.writeString(d.resolve("b.json"), "{\"formula\": \"y ~ 1\"}\n");
    }, d -> args("lrt", d.resolve("a.json").toString(), d.resolve("b.json").toString()), d -> "a.json"));
    // A fit's JSON edited by hand: a field missing, of the wrong type, or an entry without its name.
    String fitJson = "{\"formula\": \"y ~ x + (1 | g)\", \"method\": \"REML\", \"n\": 48, \"logLik\": -70.5, "
        + "\"fixed_effects\": [{\"name\": \"(Intercept)\"}, {\"name\": \"x\"}], "
        + "\"estimated_parameters\": [\"g:(Intercept)\", \"residual\"], \"converged\": true}\n";
    for (String[] edit : new String[][] {
        {"without converged", ", \"converged\": true", "", "no 'converged'"},
        {"fixed effect without a name", "{\"name\": \"x\"}", "{\"estimate\": 0.5}", "'fixed_effects' has an entry"},
        {"logLik as text", "-70.5", "\"high\"", "'logLik' is \"high\", not a number"},
        {"n as text", "48", "\"many\"", "'n' is \"many\", not a whole number"},
        {"estimated_parameters not a list", "[\"g:(Intercept)\", \"residual\"]", "\"residual\"",
            "'estimated_parameters' is \"residual\", not a list"}}) {
      all.add(new Case("lrt fit JSON " + edit[0], d -> {
        Files.writeString(d.resolve("a.json"), fitJson.replace(edit[1], edit[2]));
        Files.writeString(d.resolve("b.json"), fitJson);
      }, d -> args("lrt", d.resolve("a.json").toString(), d.resolve("b.json").toString()),
          d -> d.resolve("a.json") + ": " + edit[3]));
    }
    all.add(new Case("lrt on binary garbage", d -> {
      byte[] junk = new byte[2048];
      new java.util.Random(3).nextBytes(junk);
      Files.write(d.resolve("a.json"), junk);
      Files.write(d.resolve("b.json"), junk);
    }, d -> args("lrt", d.resolve("a.json").toString(), d.resolve("b.json").toString()), d -> "a.json"));
    return all;
  }

  /** A small table for fit: y, x, g (6 groups of 8). */
  static void fitData(Path d) throws IOException {
    List<String> t = new ArrayList<>(List.of("y,x,g"));
    java.util.SplittableRandom rng = new java.util.SplittableRandom(2);
    for (int i = 0; i < 48; i++) {
      t.add(String.format(java.util.Locale.ROOT, "%.4f,%.3f,g%d", rng.nextGaussian() + i % 6, rng.nextDouble(), i % 6));
    }
    Files.write(d.resolve("t.csv"), t);
  }

  static Case fit(String name, Setup setup, String formula, String expect) {
    return new Case(name, setup, d -> args("fit", "--data", d.resolve("t.csv").toString(), "--formula", formula, "--out",
        out(d)), d -> expect);
  }

  // ---- reference panels: ldscore and pca ----

  static List<Case> panelCases() {
    List<Case> all = new ArrayList<>();
    all.add(new Case("ldscore window larger than the chromosome", d -> {}, d -> args("ldscore", "--bfile", b(),
        "--ld-wind-snps", "5000", "--out", out(d), "--master", "local[2]"), d -> "larger than the chromosome"));
    all.add(new Case("ldscore annotation not matching the panel", d -> {
      List<String> bim = Files.readAllLines(base.resolve("base.bim"));
      for (int c = 1; c <= 3; c++) {
        List<String> a = new ArrayList<>(List.of("CHR\tBP\tSNP\tCM\tbase"));
        for (String l : bim) {
          String[] f = l.split("\t");
          if (f[0].equals(String.valueOf(c))) {
            a.add(f[0] + "\t" + f[3] + "\t" + (c == 2 && a.size() == 10 ? "rs_other" : f[1]) + "\t" + f[2] + "\t1");
          }
        }
        Files.write(d.resolve("a." + c + ".annot"), a);
      }
    }, d -> args("ldscore", "--bfile", b(), "--ld-wind-snps", "20", "--annot", d.resolve("a.").toString(), "--out", out(d),
        "--master", "local[2]"), d -> "a.2.annot:11"));
    all.add(new Case("ldscore one chromosome, --out ends in a slash", d -> {}, d -> args("ldscore", "--bfile", b(),
        "--chr", "2", "--ld-wind-snps", "20", "--out", d.resolve("o") + "/"), d -> "must name files"));
    all.add(new Case("ldscore one chromosome, --out is a folder", d -> Files.createDirectory(d.resolve("o")),
        d -> args("ldscore", "--bfile", b(), "--chr", "2", "--ld-wind-snps", "20", "--out", d.resolve("o").toString()),
        d -> "folder"));
    all.add(new Case("ldscore --maf NaN", d -> {}, d -> args("ldscore", "--bfile", b(), "--ld-wind-snps", "20", "--maf",
        "NaN", "--out", out(d)), d -> "--maf"));
    all.add(new Case("ldscore --ld-wind-cm -1", d -> {}, d -> args("ldscore", "--bfile", b(), "--ld-wind-cm", "-1",
        "--out", out(d)), d -> "window"));
    all.add(new Case("pca --pcs larger than the samples", d -> {}, d -> args("pca", "--bfile", b(), "--pcs", "60",
        "--out", out(d), "--master", "local[2]"), d -> "--pcs"));
    all.add(new Case("ldscore --task-memory beyond a petabyte", d -> {}, d -> args("ldscore", "--bfile", b(),
        "--ld-wind-snps", "20", "--task-memory", "9000000000000", "--out", out(d)), d -> "--task-memory"));
    all.add(new Case("pca --partitions -5", d -> {}, d -> args("pca", "--bfile", b(), "--partitions", "-5", "--out",
        out(d)), d -> "--partitions"));
    all.add(new Case("pca --tol NaN", d -> {}, d -> args("pca", "--bfile", b(), "--tol", "NaN", "--out", out(d)),
        d -> "--tol"));
    return all;
  }

  // ---- output sets of every command: existing outputs, unwritable locations ----

  static List<Case> outputSetCases() {
    List<Case> all = new ArrayList<>();
    Function<Path, String[]> fitArgs = d -> args("fit", "--data", d.resolve("t.csv").toString(), "--formula",
        "y ~ x + (1 | g)", "--out", out(d));
    Function<Path, String[]> mungeArgs = d -> args("munge-sumstats", "--sumstats", d.resolve("s.sumstats").toString(),
        "--out", out(d));
    Function<Path, String[]> ldscArgs = d -> args("ldsc", "--h2", d.resolve("s.sumstats").toString(), "--ref-ld-chr",
        d.resolve("ld.").toString(), "--w-ld-chr", d.resolve("ld.").toString(), "--out", out(d));
    Function<Path, String[]> pcaArgs = d -> args("pca", "--bfile", b(), "--pcs", "2", "--out", out(d));
    Function<Path, String[]> ldscoreArgs = d -> args("ldscore", "--bfile", b(), "--ld-wind-snps", "20", "--out", out(d));
    Function<Path, String[]> lrtArgs = d -> args("lrt", d.resolve("a.json").toString(), d.resolve("a.json").toString(),
        "--out", out(d));
    Setup lrtInput = d -> Files.writeString(d.resolve("a.json"), "{}\n");
    Object[][] commands = {
      {"fit", (Setup) HostileInputTest::fitData, fitArgs, ".summary.txt"},
      {"munge-sumstats", (Setup) HostileInputTest::ldscInputs, mungeArgs, ".sumstats.gz"},
      {"ldsc", (Setup) HostileInputTest::ldscInputs, ldscArgs, ".h2.tsv"},
      {"pca", (Setup) d -> {}, pcaArgs, ".eigenvec"},
      {"ldscore", (Setup) d -> {}, ldscoreArgs, ".2.l2.ldscore.gz"},
      {"lrt --out", lrtInput, lrtArgs, ".lrt.txt"},
    };
    for (Object[] c : commands) {
      Setup setup = (Setup) c[1];
      @SuppressWarnings("unchecked")
      Function<Path, String[]> a = (Function<Path, String[]>) c[2];
      String suffix = (String) c[3];
      all.add(new Case(c[0] + ": existing output without --overwrite", d -> {
        setup.in(d);
        Files.createDirectories(d.resolve("out"));
        Files.writeString(Path.of(out(d) + suffix), "an older result\n");
      }, a, d -> "--overwrite"));
      all.add(new Case(c[0] + ": a second run while the first holds the lock", d -> {
        setup.in(d);
        Files.createDirectories(d.resolve("out"));
        Files.writeString(Path.of(out(d) + ".lock"), "pid 1 on host elsewhere, started 2020-01-01T00:00:00Z\n");
      }, a, d -> "another run"));
      all.add(new Case(c[0] + ": output folder not writable", d -> {
        setup.in(d);
        Files.writeString(d.resolve("out"), "a file where the output folder should be\n");
      }, a, d -> "cannot write"));
    }
    return all;
  }

  static void prepend(Path file, String text) throws IOException {
    Files.writeString(file, text + Files.readString(file));
  }

  static void gzip(Path file, String text) throws IOException {
    try (OutputStream os = new GZIPOutputStream(Files.newOutputStream(file))) {
      os.write(text.getBytes(StandardCharsets.UTF_8));
    }
  }

  /** Line {@code index} (0-based) of {@code file} edited in place. */
  static void editLines(Path file, int index, Function<String, String> edit) throws IOException {
    List<String> lines = new ArrayList<>(Files.readAllLines(file));
    lines.set(index, edit.apply(lines.get(index)));
    Files.write(file, lines);
  }

  static final List<Process> SLEEPERS = new ArrayList<>();

  @org.junit.jupiter.api.AfterAll
  static void stopSleepers() {
    SLEEPERS.forEach(Process::destroy);
  }

  // ---- builders ----

  static Case grm(String name, Setup setup, String bfile, String expect, String... more) {
    return new Case(name, setup, d -> {
      List<String> a = new ArrayList<>(List.of("grm", "--bfile", bfile.equals("x") ? d.resolve("x").toString() : bfile,
          "--out", out(d), "--master", "local[2]"));
      a.addAll(List.of(more));
      return a.toArray(String[]::new);
    }, d -> expect);
  }

  static Case assoc(String name, Setup setup, Function<Path, String> expect, String... more) {
    return new Case(name, setup, d -> {
      List<String> a = new ArrayList<>(List.of("assoc", "--bfile", b(), "--pheno", bp("pheno"), "--out", out(d)));
      a.addAll(List.of(more));
      return a.toArray(String[]::new);
    }, expect);
  }

  /** reml with the corpus GRM and the phenotype file {@code dir/p.txt} (or the args given after expect). */
  static Case reml(String name, Setup setup, String expect, String... override) {
    return new Case(name, setup, d -> {
      List<String> a = new ArrayList<>(List.of("reml", "--grm", g(), "--out", out(d)));
      if (override.length > 0 && override[0].equals("--pheno")) {
        a.addAll(List.of(override));
      } else {
        a.addAll(List.of("--pheno", d.resolve("p.txt").toString(), "--pheno-name", "y_quant"));
        a.addAll(List.of(override));
      }
      return a.toArray(String[]::new);
    }, d -> expect);
  }

  static Case remlGrm(String name, Setup setup, String expect) {
    return new Case(name, setup, d -> args("reml", "--grm", d.resolve("k").toString(), "--pheno", bp("pheno"),
        "--pheno-name", "y_quant", "--out", out(d)), d -> expect);
  }

  static Case ped(String name, String text, String expect) {
    return new Case(name, d -> {
      if (text != null) {
        Files.writeString(d.resolve("ped.txt"), text);
      } else {
        Files.writeString(d.resolve("ped.txt"), "id sire dam\n" + "x".repeat((1 << 24) + 10));
      }
    }, d -> args("pedigree-grm", "--pedigree", d.resolve("ped.txt").toString(), "--out", out(d)), d -> expect);
  }

  static Case conf(String name, String line, String expect) {
    return new Case(name, d -> Files.writeString(d.resolve("run.conf"), String.join("\n", "bfile = " + b(),
        "pheno = " + bp("pheno"), "out = o", line, "")), d -> args("run", "--config", d.resolve("run.conf").toString(),
        "--master", "local[2]"), d -> expect);
  }

  // ---- file surgery ----

  static String b() {
    return base.resolve("base").toString();
  }

  static String bp(String ext) {
    return base.resolve("base." + ext).toString();
  }

  static String g() {
    return base.resolve("g").toString();
  }

  static String out(Path d) {
    return d.resolve("out").resolve("r").toString();
  }

  static String[] args(String... a) {
    return a;
  }

  static void copyBase(Path d) throws IOException {
    for (String ext : List.of("bed", "bim", "fam")) {
      Files.copy(base.resolve("base." + ext), d.resolve("x." + ext), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
  }

  static void copyGrm(Path d) throws IOException {
    for (String ext : List.of(".grm.bin", ".grm.N.bin", ".grm.id", ".log", ".done")) {
      Files.copy(Path.of(g() + ext), d.resolve("k" + ext), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
  }

  static void copyPheno(Path d) throws IOException {
    Files.copy(base.resolve("base.pheno"), d.resolve("p.txt"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  static void patchBed(Path d, int offset, byte value) throws IOException {
    copyBase(d);
    byte[] bed = Files.readAllBytes(d.resolve("x.bed"));
    bed[offset] = value;
    Files.write(d.resolve("x.bed"), bed);
  }

  /** Every genotype byte set to {@code value} (0x00: all hom A1; 0x55: all missing), padding kept zero. */
  static void fillBed(Path d, byte value) throws IOException {
    copyBase(d);
    byte[] bed = Files.readAllBytes(d.resolve("x.bed"));
    int bytes = (N + 3) / 4;
    int padding = 0xff >> (2 * (4 - N % 4)) & 0xff;
    for (int v = 0; v < variants; v++) {
      Arrays.fill(bed, 3 + v * bytes, 3 + (v + 1) * bytes, value);
      bed[3 + v * bytes + bytes - 1] &= (byte) padding;
    }
    Files.write(d.resolve("x.bed"), bed);
  }

  /** Line {@code index} (0-based) of {@code file} in the case folder (a copy of the base file) edited; null drops it. */
  static void editLine(Path d, String file, int index, Function<String, String> edit) throws IOException {
    if (file.startsWith("x.")) {
      copyBase(d);
    } else {
      copyPheno(d);
    }
    List<String> lines = new ArrayList<>(Files.readAllLines(d.resolve(file)));
    String edited = edit.apply(lines.get(index));
    if (edited == null) {
      lines.remove(index);
    } else {
      lines.set(index, edited);
    }
    Files.write(d.resolve(file), lines);
  }

  static String famLine(Path d, int i) {
    try {
      return Files.readAllLines(base.resolve("base.fam")).get(i);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String phenoLine(int i) {
    try {
      return Files.readAllLines(base.resolve("base.pheno")).get(i);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The y_quant value of data row {@code row} (0-based after the header: file line row + 2) set to {@code value}. */
  static void setTrait(Path d, int row, String value) throws IOException {
    editLine(d, "p.txt", row + 1, l -> {
      String[] f = l.split("\t");
      f[2] = value;
      return String.join("\t", f);
    });
  }

  /** Every y_quant value replaced by {@code f(row, old)}; f null: every sample renamed (no ID matches). */
  static void editPheno(Path d, java.util.function.BiFunction<Integer, String, String> f) throws IOException {
    copyPheno(d);
    List<String> lines = new ArrayList<>(Files.readAllLines(d.resolve("p.txt")));
    for (int i = 1; i < lines.size(); i++) {
      String[] x = lines.get(i).split("\t");
      if (f == null) {
        x[0] = "zz" + x[0];
      } else {
        x[2] = f.apply(i - 1, x[2]);
      }
      lines.set(i, String.join("\t", x));
    }
    Files.write(d.resolve("p.txt"), lines);
  }

  /** Packed lower-triangle entry {@code index} of a copy of the corpus GRM set to {@code value} (marker dropped). */
  static void patchGrm(Path d, int index, float value) throws IOException {
    copyGrm(d);
    Files.delete(d.resolve("k.done"));
    byte[] bin = Files.readAllBytes(d.resolve("k.grm.bin"));
    ByteBuffer.wrap(bin).order(ByteOrder.LITTLE_ENDIAN).putFloat(4 * index, value);
    Files.write(d.resolve("k.grm.bin"), bin);
  }

  static Set<String> listing(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> !p.equals(dir)).map(p -> {
        try {
          return dir.relativize(p) + (Files.isDirectory(p) ? "/" : " " + Files.size(p));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }).collect(Collectors.toCollection(TreeSet::new));
    }
  }

  private static int quiet(String... args) {
    PrintStream oldOut = System.out;
    System.setOut(new PrintStream(OutputStream.nullOutputStream()));
    try {
      return Lmmspark.run(args);
    } finally {
      System.setOut(oldOut);
    }
  }
}
