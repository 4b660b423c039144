package org.lmmspark.engine.ldscore;

/**
 * Which variant pairs an LD score sums over, as ldsc 1.0.1 ({@code ldscore.getBlockLefts} and
 * {@code __corSumVarBlocks__}) defines them, for the kept variants {@code 0..M−1} of one chromosome.
 *
 * <p>Exact windows: pair {@code (i, j)} counts when {@code |coord_i − coord_j| ≤ w} (coordinates in cM,
 * in base pairs for kb windows, or the variant's index for SNP windows). With ascending coordinates
 * this is {@code i ≥ bl(j)} for {@code i < j}, where {@code bl(j)} is the first variant within
 * {@code w} of {@code j}.
 *
 * <p>ldsc's chunks: ldsc multiplies chunks of {@code c} variants ({@code --chunk-size}, 50 by default)
 * and so widens each window to chunk boundaries. With {@code b₀} the first {@code k} with
 * {@code bl(k) > 0} rounded up to a multiple of {@code c} (at most {@code M}), every pair among
 * {@code 0..b₀−1} counts, and for {@code j ≥ b₀} the pair {@code (i < j)} counts iff
 * {@code i ≥ l − ⌈(l − bl(l))/c⌉·c = c·⌊bl(l)/c⌋} with {@code l = c·⌊j/c⌋} the start of j's chunk.
 * {@code c = 1} gives the exact windows. Either way the rule is captured by one non-decreasing array,
 * {@link #firstPartners}: pair {@code (i ≤ j)} counts iff {@code i ≥ first[j]}.
 */
public final class LdWindow {
  private LdWindow() {}

  /**
   * ldsc's {@code getBlockLefts}: {@code bl[i]} = first {@code j} with {@code |coords[j] − coords[i]| ≤ maxDist}
   * (coordinates ascending). O(M).
   */
  public static int[] blockLefts(double[] coords, double maxDist) {
    int m = coords.length;
    int[] left = new int[m];
    int j = 0;
    for (int i = 0; i < m; i++) {
      while (j < m && Math.abs(coords[j] - coords[i]) > maxDist) {
        j++;
      }
      left[i] = j;
    }
    return left;
  }

  /**
   * The first partner of each variant after ldsc's chunk rule with chunks of {@code chunk} variants
   * (1: the exact windows {@code blockLefts}).
   */
  public static int[] firstPartners(int[] blockLefts, int chunk) {
    if (chunk < 1) {
      throw new IllegalArgumentException("chunk size must be at least 1, got " + chunk);
    }
    int m = blockLefts.length;
    int[] first = new int[m];
    int b0 = m;
    for (int k = 0; k < m; k++) {
      if (blockLefts[k] > 0) {
        b0 = k;
        break;
      }
    }
    // Round up to a multiple of the chunk; past the end ldsc takes the whole chromosome in one block.
    b0 = (int) Math.min(m, ((long) b0 + chunk - 1) / chunk * chunk);
    for (int j = b0; j < m; j++) {
      int l = j / chunk * chunk;
      first[j] = blockLefts[l] / chunk * chunk;
    }
    return first;
  }

  /** Whether every variant's window reaches the chromosome's first variant (ldsc refuses that without --yes-really). */
  public static boolean wholeChromosome(int[] blockLefts) {
    return blockLefts.length == 0 || blockLefts[blockLefts.length - 1] == 0;
  }
}
