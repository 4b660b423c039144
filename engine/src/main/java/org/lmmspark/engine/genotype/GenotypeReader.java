package org.lmmspark.engine.genotype;

import java.io.Serializable;
import org.apache.hadoop.conf.Configuration;

/**
 * What a task needs to read a variant range of a genotype source: small and serializable (paths and a
 * few header fields, never the variant list), shipped to executors with each range's seek position.
 */
public interface GenotypeReader extends Serializable {
  /** Samples per variant in the file. */
  int sampleCount();

  /**
   * This reader with its paths made absolute and given their scheme on the driver: tasks run in the
   * executors' working directories, where a relative path names another (usually missing) file.
   */
  GenotypeReader qualified(Configuration conf);

  /** Whether the variants arrive as dosages ({@link GenotypeVisitor#dosages}) rather than 2-bit hard calls. */
  boolean dosages();

  /**
   * Visits the variants {@code [first, end)} with {@code include[v]} (null: all), in order, starting the
   * read at {@code position}, the seek position of variant {@code first}
   * ({@link GenotypeSource#position}): a {@code .bed} byte offset, a BGEN block offset or a BGZF virtual
   * offset.
   */
  void scan(int first, int end, long position, boolean[] include, Configuration conf, GenotypeVisitor visitor);
}
