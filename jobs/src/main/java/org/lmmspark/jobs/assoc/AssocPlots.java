package org.lmmspark.jobs.assoc;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYLineAnnotation;
import org.jfree.chart.axis.AxisState;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTick;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYDotRenderer;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Manhattan and QQ plots of association results as PNG, drawn with JFreeChart in headless AWT.
 * Points with {@code −log10 p < 1} (90 % of a null scan) are thinned to every k-th so that a plot of
 * millions of variants stays a few hundred thousand points; everything above is drawn.
 */
public final class AssocPlots {
  static {
    System.setProperty("java.awt.headless", "true");
  }

  /** Drawn points with −log10 p below this are thinned. */
  private static final double THIN_BELOW = 1.0;
  private static final int MAX_THIN_POINTS = 100_000;
  /** Genome-wide significance, 5e-8. */
  public static final double GENOME_WIDE = -Math.log10(5e-8);

  private AssocPlots() {}

  /** Manhattan plot: −log10 p against position, chromosomes side by side in alternating colours. */
  public static void manhattan(AssocTable t, String title, OutputStream out) throws IOException {
    XYSeries even = new XYSeries("even", false, true);
    XYSeries odd = new XYSeries("odd", false, true);
    Map<String, double[]> spans = new LinkedHashMap<>();
    double offset = 0;
    String chr = null;
    long chrMax = 0;
    int chrIndex = -1;
    int thin = Math.max(1, t.size() / MAX_THIN_POINTS);
    double maxY = GENOME_WIDE + 1;
    for (int r = 0; r < t.size(); r++) {
      String c = t.variant(r).chromosome();
      if (!c.equals(chr)) {
        if (chr != null) {
          offset += chrMax + gap(chrMax);
        }
        chr = c;
        chrMax = 0;
        chrIndex++;
        spans.put(c, new double[] {offset, offset});
      }
      long bp = t.variant(r).bp();
      chrMax = Math.max(chrMax, bp);
      spans.get(c)[1] = offset + bp;
      double y = t.negLog10P(r);
      if (Double.isNaN(y) || (y < THIN_BELOW && r % thin != 0)) {
        continue;
      }
      maxY = Math.max(maxY, y);
      (chrIndex % 2 == 0 ? even : odd).add(offset + bp, y);
    }
    XYSeriesCollection data = new XYSeriesCollection();
    data.addSeries(even);
    data.addSeries(odd);
    ChromosomeAxis xAxis = new ChromosomeAxis(spans);
    NumberAxis yAxis = new NumberAxis("−log10 p");
    yAxis.setRange(0, maxY * 1.05);
    XYDotRenderer dots = new XYDotRenderer();
    dots.setDotWidth(3);
    dots.setDotHeight(3);
    dots.setSeriesPaint(0, new Color(31, 78, 140));
    dots.setSeriesPaint(1, new Color(120, 170, 220));
    XYPlot plot = new XYPlot(data, xAxis, yAxis, dots);
    ValueMarker gw = new ValueMarker(GENOME_WIDE, Color.RED, new BasicStroke(1f, BasicStroke.CAP_BUTT,
        BasicStroke.JOIN_MITER, 1f, new float[] {6f, 4f}, 0f));
    gw.setLabel("5e-8");
    gw.setLabelAnchor(org.jfree.chart.ui.RectangleAnchor.TOP_RIGHT);
    gw.setLabelTextAnchor(TextAnchor.BOTTOM_RIGHT);
    plot.addRangeMarker(gw);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setRangeGridlinePaint(new Color(220, 220, 220));
    plot.setDomainGridlinesVisible(false);
    JFreeChart chart = new JFreeChart(title, new Font("SansSerif", Font.BOLD, 14), plot, false);
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.writeChartAsPNG(out, chart, 1400, 600);
  }

  private static double gap(long chrMax) {
    return Math.max(1, chrMax * 0.02);
  }

  /** QQ plot: observed −log10 p against its expectation under the null, with the line y = x. */
  public static void qq(AssocTable t, String title, double lambdaGc, OutputStream out) throws IOException {
    double[] obs = new double[t.size()];
    int m = 0;
    for (int r = 0; r < t.size(); r++) {
      double y = t.negLog10P(r);
      if (!Double.isNaN(y)) {
        obs[m++] = y;
      }
    }
    obs = Arrays.copyOf(obs, m);
    Arrays.sort(obs);
    XYSeries s = new XYSeries("variants", false, true);
    int thin = Math.max(1, m / MAX_THIN_POINTS);
    double max = 1;
    for (int k = 0; k < m; k++) {
      // The k-th smallest −log10 p pairs with the (m−k)-th largest expected p = (m − k − 0.5)/m.
      double y = obs[k];
      double x = -Math.log10((m - k - 0.5) / m);
      if (x < THIN_BELOW && k % thin != 0) {
        continue;
      }
      s.add(x, y);
      max = Math.max(max, Math.max(x, y));
    }
    XYSeriesCollection data = new XYSeriesCollection(s);
    NumberAxis xAxis = new NumberAxis("expected −log10 p");
    NumberAxis yAxis = new NumberAxis("observed −log10 p");
    xAxis.setRange(0, max * 1.05);
    yAxis.setRange(0, max * 1.05);
    XYDotRenderer dots = new XYDotRenderer();
    dots.setDotWidth(3);
    dots.setDotHeight(3);
    dots.setSeriesPaint(0, new Color(31, 78, 140));
    XYPlot plot = new XYPlot(data, xAxis, yAxis, dots);
    plot.addAnnotation(new XYLineAnnotation(0, 0, max * 1.05, max * 1.05, new BasicStroke(1f), Color.RED));
    plot.setBackgroundPaint(Color.WHITE);
    plot.setRangeGridlinePaint(new Color(220, 220, 220));
    plot.setDomainGridlinePaint(new Color(220, 220, 220));
    JFreeChart chart = new JFreeChart(title + String.format(" (λGC = %.3f, %,d variants)", lambdaGc, m),
        new Font("SansSerif", Font.BOLD, 14), plot, false);
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.writeChartAsPNG(out, chart, 700, 700);
  }

  /** A number axis whose ticks are the chromosome names at the middle of each chromosome's span. */
  static final class ChromosomeAxis extends NumberAxis {
    private static final long serialVersionUID = 1L;
    private final Map<String, double[]> spans;

    ChromosomeAxis(Map<String, double[]> spans) {
      super("chromosome");
      this.spans = spans;
      double lo = 0;
      double hi = 1;
      for (double[] s : spans.values()) {
        hi = Math.max(hi, s[1]);
      }
      setRange(lo, hi * 1.01);
    }

    @Override
    public List refreshTicks(java.awt.Graphics2D g2, AxisState state, java.awt.geom.Rectangle2D dataArea,
        RectangleEdge edge) {
      List<NumberTick> ticks = new ArrayList<>();
      int k = 0;
      int every = spans.size() > 30 ? 2 : 1;
      for (Map.Entry<String, double[]> e : spans.entrySet()) {
        if (k++ % every == 0) {
          double mid = 0.5 * (e.getValue()[0] + e.getValue()[1]);
          ticks.add(new NumberTick(mid, e.getKey(), TextAnchor.TOP_CENTER, TextAnchor.CENTER, 0.0));
        }
      }
      return ticks;
    }
  }
}
