package org.lmmspark.engine.reml;

/**
 * One random effect of the model: a name for the outputs ({@code G}, {@code G1}, {@code GxG},
 * {@code A}, a grouping column) and its covariance structure {@code V_k}, so that the effect
 * contributes {@code σ²_k V_k} to {@code V}.
 */
public record VarianceComponent(String name, SymmetricOperator covariance) {}
