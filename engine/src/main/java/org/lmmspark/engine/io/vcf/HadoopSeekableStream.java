package org.lmmspark.engine.io.vcf;

import htsjdk.samtools.seekablestream.SeekableStream;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;
import org.lmmspark.engine.io.FileSystems;

/** htsjdk's seekable stream over the Hadoop FileSystem API, so BGZF files on {@code hdfs:} and {@code s3a:} read alike. */
final class HadoopSeekableStream extends SeekableStream {
  private final String path;
  private final FSDataInputStream in;
  private final long length;

  HadoopSeekableStream(String path, Configuration conf) {
    this.path = path;
    this.length = FileSystems.length(path, conf);
    try {
      this.in = FileSystems.of(path, conf).open(new Path(path), 1 << 16);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot open " + path, e);
    }
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public long position() throws IOException {
    return in.getPos();
  }

  @Override
  public void seek(long position) throws IOException {
    in.seek(position);
  }

  @Override
  public int read() throws IOException {
    return in.read();
  }

  @Override
  public int read(byte[] buffer, int offset, int length) throws IOException {
    return in.read(buffer, offset, length);
  }

  @Override
  public void close() throws IOException {
    in.close();
  }

  @Override
  public boolean eof() throws IOException {
    return in.getPos() >= length;
  }

  @Override
  public String getSource() {
    return path;
  }
}
