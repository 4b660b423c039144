package org.lmmspark.engine.ldscore;

import java.io.Serializable;
import java.util.List;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.Variant;

/**
 * An LD window as the user gave it ({@code --ld-wind-cm}, {@code --ld-wind-kb} or
 * {@code --ld-wind-snps}) and the chunk size of ldsc's widening rule (1 = exact windows).
 */
public record WindowSpec(Unit unit, double width, int chunk, boolean wholeChromosomeAllowed) implements Serializable {
  /** What a window's width is measured in. */
  public enum Unit {
    CM, KB, SNPS
  }

  public WindowSpec {
    if (!(width >= 0) || Double.isInfinite(width)) {
      throw new BadInputException("LD window width must be a finite number >= 0, got " + width);
    }
    if (chunk < 1) {
      throw new BadInputException("--chunk-size must be at least 1, got " + chunk);
    }
  }

  /** The kept variants' coordinates in this window's unit (SNP windows count kept variants, as ldsc). */
  public double[] coordinates(List<Variant> variants, int[] keptFile) {
    double[] c = new double[keptFile.length];
    for (int k = 0; k < keptFile.length; k++) {
      Variant v = variants.get(keptFile[k]);
      c[k] = switch (unit) {
        case CM -> v.cm();
        case KB -> v.bp();
        case SNPS -> k;
      };
    }
    return c;
  }

  /** The window's width in the coordinates' unit (kb are compared on base pairs). */
  public double maxDistance() {
    return unit == Unit.KB ? width * 1000 : width;
  }

  /**
   * First partner of each kept variant of one chromosome; a window that covers the whole chromosome
   * is refused unless allowed (as ldsc's {@code --yes-really}), and coordinates must ascend.
   */
  public int[] firstPartners(String chromosome, List<Variant> variants, int[] keptFile) {
    double[] coords = coordinates(variants, keptFile);
    for (int k = 1; k < coords.length; k++) {
      if (coords[k] < coords[k - 1]) {
        Variant v = variants.get(keptFile[k]);
        throw new BadInputException("chromosome " + chromosome + ": variant " + v.id() + " is out of order by "
            + (unit == Unit.CM ? "cM" : "position") + " (" + coords[k] + " after " + coords[k - 1]
            + "); LD windows need a sorted .bim");
      }
    }
    int[] left = LdWindow.blockLefts(coords, maxDistance());
    if (coords.length > 1 && LdWindow.wholeChromosome(left) && !wholeChromosomeAllowed) {
      throw new BadInputException("chromosome " + chromosome + ": the LD window (" + describe()
          + ") is larger than the chromosome (" + coords.length + " variants spanning "
          + (coords[coords.length - 1] - coords[0]) + (unit == Unit.CM ? " cM" : unit == Unit.KB ? " bp" : " variants")
          + "); give a smaller window, or --yes-really to sum over the whole chromosome");
    }
    return LdWindow.firstPartners(left, chunk);
  }

  public String describe() {
    String w = width == Math.rint(width) ? String.valueOf((long) width) : String.valueOf(width);
    return switch (unit) {
      case CM -> "--ld-wind-cm " + w;
      case KB -> "--ld-wind-kb " + w;
      case SNPS -> "--ld-wind-snps " + w;
    };
  }
}
