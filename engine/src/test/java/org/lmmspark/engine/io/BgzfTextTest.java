package org.lmmspark.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import htsjdk.samtools.util.BlockCompressedInputStream;
import htsjdk.samtools.util.BlockCompressedStreamConstants;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** The compressed tables are BGZF that plain gzip readers read whole. */
class BgzfTextTest {
  /** A table of ~1.2 MB, so ~20 BGZF blocks of at most 64 KiB of text each. */
  private static String table() {
    StringBuilder sb = new StringBuilder("chromosome\tbase_pair_location\tp_value\n");
    for (int i = 0; i < 40_000; i++) {
      sb.append(1 + i / 2_000).append('\t').append(1_000 + 37L * i).append('\t').append(Math.sqrt(i + 0.5) / 1_000)
          .append('\n');
    }
    return sb.toString();
  }

  @Test
  void gzipReadersReadEveryBlockAndTheStreamIsBgzf() throws Exception {
    String text = table();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (Writer w = BgzfText.writer(bytes)) {
      w.write(text);
    }
    byte[] file = bytes.toByteArray();

    // java.util.zip reads the whole series of gzip members (as zcat, Python's gzip and R do), not only the first.
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(file))) {
      assertEquals(text, new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
    // BGZF: each member carries its block size (what tabix and htsjdk seek by); the stream ends in BGZF's empty block.
    assertTrue(BlockCompressedInputStream.isValidFile(new ByteArrayInputStream(file)));
    byte[] eof = BlockCompressedStreamConstants.EMPTY_GZIP_BLOCK;
    assertArrayEquals(eof, Arrays.copyOfRange(file, file.length - eof.length, file.length));
    try (BlockCompressedInputStream in = new BlockCompressedInputStream(new ByteArrayInputStream(file))) {
      assertEquals(text, new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
    assertTrue(file.length < text.length() / 2, "compressed: " + file.length + " of " + text.length() + " bytes");
  }
}
