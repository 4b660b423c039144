package org.lmmspark.engine.kinship;

/**
 * Summary of a GRM as its rows go by (mean diagonal, mean and SD of the off-diagonal), for logs and
 * the run summary; passes every row on to the next sink.
 */
public final class GrmStatistics implements GrmAssembler.RowSink {
  private final GrmAssembler.RowSink next;
  private long rows;
  private double diagonalSum;
  private long offCount;
  private double offSum;
  private double offSumSquares;

  public GrmStatistics(GrmAssembler.RowSink next) {
    this.next = next;
  }

  @Override
  public void writeRow(float[] values, float[] counts, int offset, int length) {
    for (int k = offset; k < offset + length - 1; k++) {
      offSum += values[k];
      offSumSquares += (double) values[k] * values[k];
    }
    offCount += length - 1;
    diagonalSum += values[offset + length - 1];
    rows++;
    next.writeRow(values, counts, offset, length);
  }

  public double meanDiagonal() {
    return diagonalSum / rows;
  }

  public double meanOffDiagonal() {
    return offSum / offCount;
  }

  public double sdOffDiagonal() {
    double mean = meanOffDiagonal();
    return Math.sqrt(Math.max(0, offSumSquares / offCount - mean * mean) * offCount / Math.max(1, offCount - 1));
  }
}
