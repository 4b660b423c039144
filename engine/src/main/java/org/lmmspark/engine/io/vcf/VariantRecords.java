package org.lmmspark.engine.io.vcf;

import htsjdk.samtools.util.BlockCompressedInputStream;
import htsjdk.tribble.readers.LineIteratorImpl;
import htsjdk.tribble.readers.SynchronousLineReader;
import htsjdk.variant.vcf.VCFCodec;
import htsjdk.variant.vcf.VCFHeader;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.io.Variant;

/**
 * The records of a BGZF file of the VCF family, read one after another from any BGZF virtual offset
 * ({@code compressed block start << 16 | offset in the block}): a bgzipped VCF ({@link VcfRecords}, text
 * lines) or a BCF ({@link BcfRecords}, binary records), told apart by the first decompressed bytes
 * ({@link #open}). Both give the same sites and, by the rules of {@link VcfDosages}, the same dosages
 * for the same data, so {@link VcfFile} and {@link VcfGenotypeReader} serve both. Not thread-safe; one
 * per task.
 */
abstract class VariantRecords implements AutoCloseable {
  final String path;
  final BlockCompressedInputStream in;
  private final List<String> sampleNames;
  private final long firstRecord;

  VariantRecords(String path, BlockCompressedInputStream in, List<String> sampleNames, long firstRecord) {
    this.path = path;
    this.in = in;
    this.sampleNames = sampleNames;
    this.firstRecord = firstRecord;
  }

  /** The format, for the run log: {@code VCF} or {@code BCF 2.x}. */
  abstract String format();

  final List<String> sampleNames() {
    return sampleNames;
  }

  /** Virtual offset of the first record (just after the header). */
  final long firstRecord() {
    return firstRecord;
  }

  void seek(long virtualOffset) {
    try {
      in.seek(virtualOffset);
    } catch (IOException | RuntimeException e) { // htsjdk reports a corrupt block as SAMFormatException
      throw BadInputException.inFile(path, "cannot seek to virtual offset " + virtualOffset + ": " + e.getMessage());
    }
  }

  /** The virtual offset of the next record. */
  final long position() {
    return in.getFilePointer();
  }

  /** Moves to the next record; false at the end of the file. */
  abstract boolean next();

  /**
   * The current record's site; a record that is not biallelic is refused.
   *
   * @param where the record, as the caller can name it ("record 12", "record 3 after compressed byte …")
   */
  abstract Variant site(String where);

  /** The current record's ALT dosages ({@link VcfDosages}'s rules); {@code record} is its number in the source. */
  abstract void dosages(VariantDosages out, int record);

  @Override
  public final void close() {
    try {
      in.close();
    } catch (IOException ignored) {
      // Read-only stream: nothing to lose.
    }
  }

  /** The VCF header {@code text} parsed by htsjdk's {@code codec} (which then knows the header for decoding). */
  static VCFHeader header(String path, VCFCodec codec, String text) {
    try {
      return (VCFHeader) codec.readActualHeader(new LineIteratorImpl(new SynchronousLineReader(new StringReader(text))));
    } catch (RuntimeException e) {
      throw BadInputException.inFile(path, "malformed VCF header: " + e.getMessage());
    }
  }

  /**
   * A biallelic record's site: ALT is the counted allele ({@link Variant#a1()}), REF {@link Variant#a2()}
   * (PLINK's import); a record without an ID ({@code id} null) is named {@code chr:pos:REF:ALT}.
   */
  static Variant site(String path, String contig, int pos, String id, int alleles, String ref, String alt) {
    if (alleles != 2) {
      throw BadInputException.inFile(path, "record at " + contig + ":" + pos + " has " + alleles
          + " alleles; only biallelic records can be used (split them first: bcftools norm -m-)");
    }
    return new Variant(contig, id != null ? id : contig + ":" + pos + ":" + ref + ":" + alt, 0, pos, alt, ref);
  }

  /**
   * Opens {@code path}: a BGZF stream whose first bytes are BCF's magic ({@code BCF\2\2}) is a BCF, any
   * other a VCF. A file that is not BGZF is refused, with the command that makes it one.
   */
  static VariantRecords open(String path, Configuration conf) {
    boolean bgzf;
    // The raw bytes (FileSystems.open would decompress a .gz by its name).
    try (InputStream raw = new java.io.BufferedInputStream(FileSystems.of(path, conf).open(
        new org.apache.hadoop.fs.Path(path)), 64)) {
      bgzf = BlockCompressedInputStream.isValidFile(raw);
      if (!bgzf && startsWith(raw, BcfRecords.MAGIC)) {
        throw BadInputException.inFile(path, "an uncompressed BCF (bcftools view -Ou); compress and index it: "
            + "bcftools view -Ob -o X.bcf X.ubcf && bcftools index X.bcf");
      }
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
    if (!bgzf) {
      throw BadInputException.inFile(path, "not a bgzipped VCF or BCF (BGZF); compress a VCF with 'bgzip' (htslib), "
          + "not plain gzip, and index it with 'tabix -p vcf' or 'bcftools index -t'");
    }
    BlockCompressedInputStream in = new BlockCompressedInputStream(new HadoopSeekableStream(path, conf));
    try {
      if (startsWith(in, BcfRecords.MAGIC)) {
        return BcfRecords.read(path, in);
      }
      in.seek(0);
      return VcfRecords.read(path, in);
    } catch (IOException | RuntimeException e) {
      try {
        in.close();
      } catch (IOException ignored) {
        // Read-only stream: nothing to lose.
      }
      if (e instanceof BadInputException b) {
        throw b;
      }
      throw BadInputException.inFile(path, "cannot read the header (truncated or corrupt?): " + e.getMessage());
    }
  }

  /** Whether the next bytes of {@code in} are {@code magic} (they are consumed; {@code in} has a mark when not BGZF). */
  private static boolean startsWith(InputStream in, String magic) throws IOException {
    boolean marked = in.markSupported() && !(in instanceof BlockCompressedInputStream);
    if (marked) {
      in.mark(magic.length());
    }
    byte[] head = in.readNBytes(magic.length());
    if (marked) {
      in.reset();
    }
    return new String(head, StandardCharsets.ISO_8859_1).equals(magic);
  }
}
