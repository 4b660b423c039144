package org.lmmspark.engine.kinship;

import java.util.ArrayList;
import java.util.List;
import org.lmmspark.engine.genotype.GenotypeScaling;
import org.lmmspark.engine.genotype.VariantFilterCounts;

/**
 * Turns reduced tile sums, arriving in tile-index order (band by band), into GCTA GRM rows:
 * {@code A_jk = S_jk / M_jk} with {@code M_jk = M − miss_j − miss_k + both_jk}, the number of
 * variants called in both samples. A pair with no such variant gets NaN, as GCTA writes. For the
 * definitions that divide by the number of variants ({@link GenotypeScaling#perPairCounts()} false:
 * standardized, centered) {@code M_jk = M} for every pair.
 *
 * <p>Memory: the tiles of one band ({@link GrmTiling#BYTES_PER_ENTRY}{@code · tileSize · N} bytes)
 * and one output row; never the whole matrix.
 */
public final class GrmAssembler {
  /** Where rows go: row {@code j} has entries {@code (j, 0..j)}. */
  public interface RowSink {
    void writeRow(float[] values, float[] counts, int offset, int length);
  }

  private final GrmTiling tiling;
  private final VariantFilterCounts counts;
  private final boolean perPairCounts;
  private final RowSink sink;
  private final List<GrmTileSums> band = new ArrayList<>();
  private int nextTile;
  private final float[] rowValues;
  private final float[] rowCounts;

  public GrmAssembler(GrmTiling tiling, VariantFilterCounts counts, GenotypeScaling scaling, RowSink sink) {
    this.tiling = tiling;
    this.counts = counts;
    this.perPairCounts = scaling.perPairCounts();
    this.sink = sink;
    this.rowValues = new float[tiling.n()];
    this.rowCounts = new float[tiling.n()];
  }

  /** Accepts the next tile in index order; writes the band's rows once its diagonal tile arrives. */
  public void accept(GrmTileSums tile) {
    if (tile.tile != nextTile) {
      throw new IllegalStateException("tile " + tile.tile + " arrived, expected " + nextTile);
    }
    nextTile++;
    band.add(tile);
    if (tile.diagonal) {
      writeBand();
      band.clear();
    }
  }

  /** Checks that every tile arrived. */
  public void finish() {
    if (nextTile != tiling.tileCount()) {
      throw new IllegalStateException("only " + nextTile + " of " + tiling.tileCount() + " tiles arrived");
    }
  }

  private void writeBand() {
    long m = counts.kept;
    int[] miss = counts.missingPerSample;
    GrmTileSums diag = band.get(band.size() - 1);
    for (int r = 0; r < diag.rows; r++) {
      int j = diag.rowStart + r;
      int k = 0;
      for (GrmTileSums t : band) {
        int width = t.diagonal ? r + 1 : t.cols;
        for (int c = 0; c < width; c++, k++) {
          int e = r + c * t.rows;
          long both = t.bothMissing == null ? 0 : t.bothMissing[e];
          long pairCount = perPairCounts ? m - miss[j] - miss[k] + both : m;
          rowCounts[k] = pairCount;
          rowValues[k] = pairCount > 0 ? (float) (t.sums[e] / pairCount) : Float.NaN;
        }
      }
      sink.writeRow(rowValues, rowCounts, 0, j + 1);
    }
  }
}
