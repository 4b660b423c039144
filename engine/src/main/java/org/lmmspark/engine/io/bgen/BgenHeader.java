package org.lmmspark.engine.io.bgen;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.FileSystems;

/**
 * The header of a BGEN file (v1.1 and v1.2, https://www.well.ox.ac.uk/~gav/bgen_format/spec/latest.html):
 * byte 0 holds the offset of the first variant block relative to byte 4; the header block at byte 4
 * is {@code LH, M, N, magic "bgen", free data, flags}, flags bits 0–1 the compression of genotype
 * blocks (0 none, 1 zlib, 2 zstd), bits 2–5 the layout (1 or 2), bit 31 whether a sample identifier
 * block follows. All integers little-endian. Small and serializable: what a task needs to read blocks.
 */
public record BgenHeader(String path, long firstVariant, long variantCount, int sampleCount, int compression,
    int layout, boolean hasSampleIds, long headerLength) implements Serializable {
  public static final int UNCOMPRESSED = 0;
  public static final int ZLIB = 1;
  public static final int ZSTD = 2;

  public static BgenHeader read(String path, Configuration conf) {
    try (InputStream raw = FileSystems.open(path, conf)) {
      LittleEndianInput in = new LittleEndianInput(raw, 0, 64);
      long offset = in.u32();
      long lh = in.u32();
      long m = in.u32();
      long n = in.u32();
      byte[] magic = new byte[4];
      in.readFully(magic, 0, 4);
      boolean bgen = magic[0] == 'b' && magic[1] == 'g' && magic[2] == 'e' && magic[3] == 'n';
      boolean zeros = magic[0] == 0 && magic[1] == 0 && magic[2] == 0 && magic[3] == 0;
      if (!bgen && !zeros) {
        throw BadInputException.inFile(path, "not a BGEN file (magic number is not 'bgen')");
      }
      if (lh < 20 || lh > offset) {
        throw BadInputException.inFile(path, "header length " + lh + " does not fit before the first variant at offset "
            + offset);
      }
      in.skip(lh - 20);
      long flags = in.u32();
      int compression = (int) (flags & 3);
      int layout = (int) ((flags >>> 2) & 0xf);
      boolean ids = (flags >>> 31) != 0;
      if (compression == 3) {
        throw BadInputException.inFile(path, "unknown compression type 3 in the header flags");
      }
      if (layout != 1 && layout != 2) {
        throw BadInputException.inFile(path, "layout " + layout + " (only BGEN layouts 1 and 2 exist)");
      }
      if (n == 0 || n > Integer.MAX_VALUE / 8) {
        throw BadInputException.inFile(path, n + " samples in the header");
      }
      return new BgenHeader(path, offset + 4, m, (int) n, compression, layout, ids, lh);
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read the BGEN header: " + e.getMessage());
    }
  }

  /** The sample identifiers stored in the file (null when it has none). */
  public List<String> readSampleIds(Configuration conf) {
    if (!hasSampleIds) {
      return null;
    }
    try (InputStream raw = FileSystems.open(path, conf)) {
      LittleEndianInput in = new LittleEndianInput(raw, 0, 1 << 16);
      in.skip(4 + headerLength);
      long length = in.u32();
      long n = in.u32();
      if (n != sampleCount) {
        throw BadInputException.inFile(path, "sample identifier block lists " + n + " samples, the header "
            + sampleCount);
      }
      if (4 + headerLength + length > firstVariant) {
        throw BadInputException.inFile(path, "sample identifier block runs past the first variant");
      }
      List<String> ids = new ArrayList<>(sampleCount);
      for (int i = 0; i < n; i++) {
        ids.add(in.string16());
      }
      return ids;
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read the sample identifiers: " + e.getMessage());
    }
  }

  /** The same header for the file at {@code other} (the same file named differently). */
  public BgenHeader withPath(String other) {
    return new BgenHeader(other, firstVariant, variantCount, sampleCount, compression, layout, hasSampleIds,
        headerLength);
  }

  public String compressionName() {
    return switch (compression) {
      case UNCOMPRESSED -> "uncompressed";
      case ZLIB -> "zlib";
      default -> "zstd";
    };
  }
}
