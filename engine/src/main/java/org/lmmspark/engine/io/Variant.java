package org.lmmspark.engine.io;

import java.io.Serializable;

/**
 * One line of a PLINK {@code .bim} file. {@code a1} is the counted allele (PLINK/GCTA convention:
 * genotype code 00 is two copies of {@code a1}).
 */
public record Variant(String chromosome, String id, double cm, long bp, String a1, String a2) implements Serializable {}
