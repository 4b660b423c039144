package org.lmmspark.engine.io.vcf;

import htsjdk.samtools.util.BlockCompressedInputStream;
import htsjdk.variant.variantcontext.VariantContext;
import htsjdk.variant.vcf.VCFCodec;
import htsjdk.variant.vcf.VCFHeader;
import java.io.IOException;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.genotype.VariantDosages;
import org.lmmspark.engine.io.Variant;

/**
 * Lines of a bgzipped VCF with their BGZF virtual offsets, read through htsjdk: the header parsed by
 * {@link VCFCodec} (whose {@link VCFCodec#decode} then parses records), records read line by line from
 * any virtual offset; empty lines are skipped. Not thread-safe; one per task.
 */
final class VcfRecords extends VariantRecords {
  private final VCFCodec codec;
  private long lineNo;
  private String line;

  private VcfRecords(String path, BlockCompressedInputStream in, VCFCodec codec, VCFHeader header, long firstRecord,
      long lineNo) {
    super(path, in, header.getGenotypeSamples(), firstRecord);
    this.codec = codec;
    this.lineNo = lineNo;
  }

  /** Reads the header of {@code in}, a BGZF stream at its start. */
  static VcfRecords read(String path, BlockCompressedInputStream in) throws IOException {
    StringBuilder text = new StringBuilder();
    long offset = in.getFilePointer();
    long lines = 0;
    for (String l = in.readLine(); l != null && l.startsWith("#"); l = in.readLine()) {
      text.append(l).append('\n');
      lines++;
      offset = in.getFilePointer();
      if (l.startsWith("#CHROM")) {
        break;
      }
    }
    if (text.indexOf("#CHROM") < 0) {
      throw BadInputException.inFile(path, "no '#CHROM' header line: not a VCF");
    }
    VCFCodec codec = new VCFCodec();
    return new VcfRecords(path, in, codec, header(path, codec, text.toString()), offset, lines);
  }

  @Override
  String format() {
    return "VCF";
  }

  @Override
  boolean next() {
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
  Variant site(String where) {
    VariantContext vc = decode(where);
    return VariantRecords.site(path, vc.getContig(), vc.getStart(), vc.hasID() ? vc.getID() : null, vc.getNAlleles(),
        vc.getReference().getBaseString(), vc.getNAlleles() < 2 ? null : vc.getAlternateAllele(0).getDisplayString());
  }

  @Override
  void dosages(VariantDosages out, int record) {
    VariantContext vc = decode("record " + record);
    VcfDosages.fill(vc, out, path + ": record " + record + " (" + vc.getContig() + ":" + vc.getStart() + ")");
  }
}
