package org.lmmspark.engine.reml;

/** A way of maximizing the REML likelihood of a {@link RemlProblem}: spectral, dense AI-REML, later matrix-free. */
public interface RemlSolver {
  /** Short name written to outputs ("spectral", "dense-ai"). */
  String name();

  /**
   * Fits the model. Expected trouble (no convergence within the iteration limit) is reported in the
   * returned fit ({@link RemlFit#converged()}, {@link RemlFit#message()}), not thrown.
   */
  RemlFit fit(RemlProblem problem);
}
