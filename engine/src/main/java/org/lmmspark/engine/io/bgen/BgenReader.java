package org.lmmspark.engine.io.bgen;

import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.io.FileSystems;

/**
 * Sequential reading of BGEN variant blocks from a byte position (a variant's start, from the index or
 * an earlier walk): each block is the variant's identifying data then its genotype data, which is
 * decompressed (zlib through {@link Inflater}, zstd through zstd-jni, the codec Spark itself ships)
 * only when asked for, else stepped over by its stored length. Not thread-safe; one per task.
 */
public final class BgenReader implements AutoCloseable {
  private final BgenHeader header;
  private final FSDataInputStream stream;
  private LittleEndianInput in;
  private final Inflater inflater = new Inflater();
  /**
   * One zstd context for all blocks: {@code Zstd.decompressByteArray} makes and frees a context per
   * call, which cost more than the decompression itself for BGEN's small per-variant blocks (measured:
   * 18 µs per 6 kB block on 2,000 samples).
   */
  private ZstdDecompressCtx zstd;
  private byte[] compressed = new byte[0];
  private byte[] data = new byte[0];
  private int dataLength;
  /** Genotype bytes of the current variant still unread (the block has not been consumed). */
  private long pendingGenotypeBlock = -1;
  private long variantStart;

  /** One variant's identifying data. */
  public record VariantHeader(long start, String varid, String rsid, String chromosome, long position,
      List<String> alleles) {
    /** The rsid, or the variant ID when the rsid is empty (plink2's choice too). */
    public String id() {
      return rsid.isEmpty() ? varid : rsid;
    }
  }

  public BgenReader(BgenHeader header, long start, Configuration conf) {
    this.header = header;
    try {
      this.stream = FileSystems.of(header.path(), conf).open(new Path(header.path()), 1 << 16);
      stream.seek(start);
    } catch (IOException e) {
      throw BadInputException.inFile(header.path(), "cannot open: " + e.getMessage());
    }
    this.in = new LittleEndianInput(stream, start, 1 << 20);
  }

  /** Moves to the variant block starting at byte {@code start}. */
  public void seek(long start) {
    if (start == in.position()) {
      pendingGenotypeBlock = -1;
      return;
    }
    try {
      stream.seek(start);
    } catch (IOException e) {
      throw BadInputException.inFile(header.path(), "cannot seek to byte " + start + ": " + e.getMessage());
    }
    in = new LittleEndianInput(stream, start, 1 << 20);
    pendingGenotypeBlock = -1;
  }

  /** Reads the identifying data of the next variant (skipping the previous one's genotypes if unread). */
  public VariantHeader next() {
    try {
      skipPending();
      variantStart = in.position();
      if (header.layout() == 1) {
        long n = in.u32();
        if (n != header.sampleCount()) {
          throw bad("variant block for " + n + " samples, the header says " + header.sampleCount());
        }
      }
      String varid = in.string16();
      String rsid = in.string16();
      String chr = in.string16();
      long pos = in.u32();
      int k = header.layout() == 1 ? 2 : in.u16();
      List<String> alleles = new ArrayList<>(k);
      for (int a = 0; a < k; a++) {
        alleles.add(in.string32());
      }
      pendingGenotypeBlock = in.position();
      return new VariantHeader(variantStart, varid, rsid, chr, pos, alleles);
    } catch (IOException e) {
      throw bad("cannot read the variant block: " + e.getMessage());
    }
  }

  private BadInputException bad(String what) {
    return BadInputException.inFile(header.path(), "variant block at byte " + variantStart + ": " + what);
  }

  private void skipPending() throws IOException {
    if (pendingGenotypeBlock < 0) {
      return;
    }
    pendingGenotypeBlock = -1;
    if (header.layout() == 1 && header.compression() == BgenHeader.UNCOMPRESSED) {
      in.skip(6L * header.sampleCount());
    } else {
      in.skip(in.u32());
    }
  }

  /** Steps over the current variant's genotype data without decompressing it. */
  public void skipGenotypes() {
    try {
      skipPending();
    } catch (IOException e) {
      throw bad("cannot read the genotype block: " + e.getMessage());
    }
  }

  /**
   * Reads and decompresses the current variant's genotype data; returns the buffer (valid until the
   * next call) whose first {@link #genotypeLength()} bytes are the uncompressed block.
   */
  public byte[] genotypes() {
    if (pendingGenotypeBlock < 0) {
      throw new IllegalStateException("no variant header read, or its genotypes were already read");
    }
    pendingGenotypeBlock = -1;
    try {
      int n = header.sampleCount();
      if (header.layout() == 1) {
        int expected = Math.multiplyExact(6, n);
        if (header.compression() == BgenHeader.UNCOMPRESSED) {
          ensureData(expected);
          in.readFully(data, 0, expected);
        } else {
          int c = in.length32("compressed genotype block");
          readCompressed(c);
          decompress(c, expected);
        }
        dataLength = expected;
      } else {
        int c = in.length32("genotype block");
        if (header.compression() == BgenHeader.UNCOMPRESSED) {
          ensureData(c);
          in.readFully(data, 0, c);
          dataLength = c;
        } else {
          int d = in.length32("uncompressed genotype block");
          if (c < 4) {
            throw bad("genotype block of " + c + " bytes");
          }
          readCompressed(c - 4);
          decompress(c - 4, d);
          dataLength = d;
        }
      }
      return data;
    } catch (IOException e) {
      throw bad("cannot read the genotype block: " + e.getMessage());
    }
  }

  public int genotypeLength() {
    return dataLength;
  }

  /** Reads the current variant's genotypes as first-allele dosages into {@code out}. */
  public void dosages(VariantDosages out) {
    byte[] d = genotypes();
    if (header.layout() == 1) {
      BgenDosages.layout1(d, header.sampleCount(), out);
    } else {
      BgenDosages.layout2(d, dataLength, out, header.path() + ": variant block at byte " + variantStart);
    }
  }

  /** Reads the current variant's genotype probabilities in full generality (checks, unusual variants). */
  public BgenProbabilities probabilities() {
    byte[] d = genotypes();
    try {
      return header.layout() == 1 ? BgenProbabilities.layout1(d, header.sampleCount())
          : BgenProbabilities.layout2(d, dataLength);
    } catch (IllegalArgumentException e) {
      throw bad(e.getMessage());
    }
  }

  private void readCompressed(int c) throws IOException {
    if (compressed.length < c) {
      compressed = new byte[c];
    }
    in.readFully(compressed, 0, c);
  }

  private void ensureData(int d) {
    if (data.length < d) {
      data = new byte[d];
    }
  }

  private void decompress(int c, int d) {
    ensureData(d);
    if (header.compression() == BgenHeader.ZLIB) {
      inflater.reset();
      inflater.setInput(compressed, 0, c);
      try {
        int got = inflater.inflate(data, 0, d);
        if (got != d || !inflater.finished()) {
          throw bad("zlib block inflates to " + got + " bytes, expected " + d);
        }
      } catch (DataFormatException e) {
        throw bad("corrupt zlib block: " + e.getMessage());
      }
    } else {
      if (zstd == null) {
        zstd = new ZstdDecompressCtx();
      }
      int got;
      try {
        got = zstd.decompressByteArray(data, 0, d, compressed, 0, c);
      } catch (ZstdException e) {
        throw bad("corrupt zstd block: " + e.getMessage());
      }
      if (got != d) {
        throw bad("zstd block decompresses to " + got + " bytes, expected " + d);
      }
    }
  }

  @Override
  public void close() {
    inflater.end();
    if (zstd != null) {
      zstd.close();
    }
    try {
      stream.close();
    } catch (IOException ignored) {
      // Read-only stream: nothing to lose.
    }
  }
}
