package org.lmmspark.engine.io.vcf;

import htsjdk.samtools.util.BlockCompressedInputStream;
import htsjdk.tribble.readers.LineIteratorImpl;
import htsjdk.tribble.readers.SynchronousLineReader;
import htsjdk.variant.variantcontext.VariantContext;
import htsjdk.variant.vcf.VCFCodec;
import htsjdk.variant.vcf.VCFHeader;
import java.io.IOException;
import java.io.StringReader;
import java.util.List;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.io.Variant;

/**
 * Lines of a bgzipped VCF with their BGZF virtual offsets, read through htsjdk: the header parsed by
 * {@link VCFCodec} (whose {@link VCFCodec#decode} then parses records), records read line by line from
 * any virtual offset; empty lines are skipped. Not thread-safe; one per task.
 */
final class VcfRecords implements VariantRecords {
  private final String path;
  private final BlockCompressedInputStream in;
  private final VCFCodec codec = new VCFCodec();
  private final VCFHeader header;
  /** Virtual offset of the first record (just after the header). */
  private final long firstRecord;
  private long lineNo;
  private String line;

  /** Reads the header of {@code in}, a BGZF stream at its start. */
  VcfRecords(String path, BlockCompressedInputStream in) throws IOException {
    this.path = path;
    this.in = in;
    StringBuilder text = new StringBuilder();
    long offset = in.getFilePointer();
    for (String l = in.readLine(); l != null && l.startsWith("#"); l = in.readLine()) {
      text.append(l).append('\n');
      lineNo++;
      offset = in.getFilePointer();
      if (l.startsWith("#CHROM")) {
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
  }

  @Override
  public String format() {
    return "VCF";
  }

  @Override
  public List<String> sampleNames() {
    return header.getGenotypeSamples();
  }

  @Override
  public long firstRecord() {
    return firstRecord;
  }

  @Override
  public void seek(long virtualOffset) {
    try {
      in.seek(virtualOffset);
    } catch (IOException | RuntimeException e) { // htsjdk reports a corrupt block as SAMFormatException
      throw BadInputException.inFile(path, "cannot seek to virtual offset " + virtualOffset + ": " + e.getMessage());
    }
  }

  @Override
  public long position() {
    return in.getFilePointer();
  }

  @Override
  public boolean next() {
    try {
      do {
        lineNo++;
        line = in.readLine();
      } while (line != null && line.isEmpty());
      return line != null;
    } catch (IOException | RuntimeException e) { // htsjdk reports a corrupt block as SAMFormatException
      throw BadInputException.inFile(path, "cannot read near record " + lineNo + ": " + e.getMessage());
    }
  }

  private VariantContext decode(String where) {
    try {
      return codec.decode(line);
    } catch (RuntimeException e) {
      throw BadInputException.inFile(path, where + ": " + e.getMessage());
    }
  }

  @Override
  public Variant site(String where) {
    VariantContext vc = decode(where);
    return VariantRecords.site(path, vc.getContig(), vc.getStart(), vc.hasID() ? vc.getID() : null, vc.getNAlleles(),
        vc.getReference().getBaseString(), vc.getNAlleles() < 2 ? null : vc.getAlternateAllele(0).getDisplayString());
  }

  @Override
  public void dosages(VariantDosages out, int record) {
    VariantContext vc = decode("record " + record);
    VcfDosages.fill(vc, out, path + ": record " + record + " (" + vc.getContig() + ":" + vc.getStart() + ")");
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
