package org.lmmspark.engine.io.vcf;

import htsjdk.samtools.util.BlockCompressedInputStream;
import htsjdk.tribble.readers.LineIteratorImpl;
import htsjdk.tribble.readers.SynchronousLineReader;
import htsjdk.variant.vcf.VCFCodec;
import htsjdk.variant.vcf.VCFHeader;
import java.io.IOException;
import java.io.StringReader;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.FileSystems;

/**
 * Lines of a bgzipped VCF with their BGZF virtual offsets ({@code compressed block start << 16 |
 * offset in the block}), read through htsjdk: the header parsed by {@link VCFCodec} (whose
 * {@link VCFCodec#decode} then parses records), records read line by line from any virtual offset.
 * Not thread-safe; one per task.
 */
final class VcfRecords implements AutoCloseable {
  private final String path;
  private final BlockCompressedInputStream in;
  private final VCFCodec codec = new VCFCodec();
  private final VCFHeader header;
  /** Virtual offset of the first record (just after the header). */
  private final long firstRecord;
  private long lineNo;

  VcfRecords(String path, Configuration conf) {
    this.path = path;
    HadoopSeekableStream stream = new HadoopSeekableStream(path, conf);
    try {
      boolean bgzf = isBgzf(path, conf);
      if (!bgzf) {
        stream.close();
        if (startsWith(FileSystems.open(path, conf), "BCF")) {
          throw notVcf(path);
        }
        throw BadInputException.inFile(path, "not a bgzipped VCF (BGZF); compress it with 'bgzip' (htslib), not "
            + "plain gzip, and index it with 'tabix -p vcf' or 'bcftools index -t'");
      }
      this.in = new BlockCompressedInputStream(stream);
      StringBuilder text = new StringBuilder();
      long offset = in.getFilePointer();
      String line = in.readLine();
      if (line != null && line.startsWith("BCF")) {
        in.close();
        throw notVcf(path);
      }
      for (; line != null && line.startsWith("#"); line = in.readLine()) {
        text.append(line).append('\n');
        lineNo++;
        offset = in.getFilePointer();
        if (line.startsWith("#CHROM")) {
          break;
        }
      }
      if (text.indexOf("#CHROM") < 0) {
        throw BadInputException.inFile(path, "no '#CHROM' header line: not a VCF");
      }
      this.firstRecord = offset;
      try {
        this.header = (VCFHeader) codec.readActualHeader(new LineIteratorImpl(new SynchronousLineReader(
            new StringReader(text.toString()))));
      } catch (RuntimeException e) {
        throw BadInputException.inFile(path, "malformed VCF header: " + e.getMessage());
      }
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
  }

  /**
   * A BCF is refused with the conversion to use: htsjdk 4.2's BCF2 codec reads BCF 2.1 only, and
   * bcftools has written BCF 2.2 since version 1.0 (checked with bcftools 1.16: "BCF2Codec can only
   * process BCF2 files with minor version = 1 but this file has minor version 2").
   */
  private static BadInputException notVcf(String path) {
    return BadInputException.inFile(path, "a BCF file; BCF 2.2 (what bcftools writes) cannot be read here: convert "
        + "it to a bgzipped, indexed VCF: bcftools view -Oz -o X.vcf.gz X.bcf && bcftools index -t X.vcf.gz");
  }

  /** Whether {@code in}'s first bytes are {@code magic} (closes {@code in}). */
  private static boolean startsWith(java.io.InputStream in, String magic) throws IOException {
    try (in) {
      byte[] head = in.readNBytes(magic.length());
      return new String(head, java.nio.charset.StandardCharsets.ISO_8859_1).equals(magic);
    }
  }

  private static boolean isBgzf(String path, Configuration conf) throws IOException {
    try (java.io.InputStream raw = new java.io.BufferedInputStream(
        org.lmmspark.engine.io.FileSystems.of(path, conf).open(new org.apache.hadoop.fs.Path(path)), 64)) {
      return BlockCompressedInputStream.isValidFile(raw);
    }
  }

  VCFHeader header() {
    return header;
  }

  VCFCodec codec() {
    return codec;
  }

  long firstRecord() {
    return firstRecord;
  }

  void seek(long virtualOffset) {
    try {
      in.seek(virtualOffset);
    } catch (IOException | RuntimeException e) { // htsjdk reports a corrupt block as SAMFormatException
      throw BadInputException.inFile(path, "cannot seek to virtual offset " + virtualOffset + ": " + e.getMessage());
    }
  }

  /** The virtual offset of the next line. */
  long position() {
    return in.getFilePointer();
  }

  /** The next line (null at the end); line numbers count from the header when reading from the start. */
  String nextLine() {
    try {
      lineNo++;
      return in.readLine();
    } catch (IOException | RuntimeException e) { // htsjdk reports a corrupt block as SAMFormatException
      throw BadInputException.inFile(path, "cannot read near record " + lineNo + ": " + e.getMessage());
    }
  }

  String path() {
    return path;
  }

  @Override
  public void close() {
    try {
      in.close();
    } catch (IOException ignored) {
      // Read-only stream: nothing to lose.
    }
  }
}
