package org.lmmspark.engine.genotype;

/**
 * Receives the selected variants of a range from a {@link GenotypeReader}, in file order, each in the
 * form its source stores: PLINK 2-bit hard calls (kept packed, so the fast table decoders and the 2-bit
 * cache read them as they are), or dosages (expected allele counts, from BGEN and VCF).
 */
public interface GenotypeVisitor {
  /** Hard calls of variant {@code v} in PLINK {@code .bed} form, {@code ceil(N/4)} bytes from {@code raw[offset]}. */
  void hardCalls(byte[] raw, int offset, int v);

  /** Dosages of variant {@code v} (the object is reused for the next variant). */
  void dosages(VariantDosages dosages, int v);
}
