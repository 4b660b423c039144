package org.lmmspark.engine.io.bgen;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Little-endian reads from a buffered stream with the byte position kept, the way BGEN stores every
 * integer ({@code uint16}, {@code uint32}, length-prefixed strings). Not thread-safe.
 */
final class LittleEndianInput {
  private final InputStream in;
  private final byte[] buf;
  private int pos;
  private int limit;
  private long filePosition;

  /** Reads {@code in} (positioned at byte {@code start} of its file) through a buffer of {@code bufferBytes}. */
  LittleEndianInput(InputStream in, long start, int bufferBytes) {
    this.in = in;
    this.buf = new byte[bufferBytes];
    this.filePosition = start;
  }

  /** The file position of the next byte to be read. */
  long position() {
    return filePosition;
  }

  private void fill() throws IOException {
    int got = in.read(buf, 0, buf.length);
    if (got <= 0) {
      throw new EOFException("unexpected end of file at byte " + filePosition);
    }
    pos = 0;
    limit = got;
  }

  int u8() throws IOException {
    if (pos == limit) {
      fill();
    }
    filePosition++;
    return buf[pos++] & 0xff;
  }

  int u16() throws IOException {
    if (limit - pos >= 2) {
      int v = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8;
      pos += 2;
      filePosition += 2;
      return v;
    }
    return u8() | u8() << 8;
  }

  /** An unsigned 32-bit integer (BGEN lengths and counts). */
  long u32() throws IOException {
    if (limit - pos >= 4) {
      long v = (buf[pos] & 0xffL) | (buf[pos + 1] & 0xffL) << 8 | (buf[pos + 2] & 0xffL) << 16
          | (buf[pos + 3] & 0xffL) << 24;
      pos += 4;
      filePosition += 4;
      return v;
    }
    return u16() | (long) u16() << 16;
  }

  /** An unsigned 32-bit length that must fit in an array. */
  int length32(String what) throws IOException {
    long v = u32();
    if (v > Integer.MAX_VALUE - 16) {
      throw new IOException(what + " of " + v + " bytes at byte " + (filePosition - 4));
    }
    return (int) v;
  }

  void readFully(byte[] dst, int off, int len) throws IOException {
    while (len > 0) {
      if (pos == limit) {
        if (len >= buf.length) {
          // Large reads go straight to the destination.
          int got = in.read(dst, off, len);
          if (got <= 0) {
            throw new EOFException("unexpected end of file at byte " + filePosition);
          }
          off += got;
          len -= got;
          filePosition += got;
          continue;
        }
        fill();
      }
      int take = Math.min(len, limit - pos);
      System.arraycopy(buf, pos, dst, off, take);
      pos += take;
      off += take;
      len -= take;
      filePosition += take;
    }
  }

  void skip(long bytes) throws IOException {
    long inBuffer = Math.min(bytes, limit - pos);
    pos += (int) inBuffer;
    filePosition += inBuffer;
    long rest = bytes - inBuffer;
    while (rest > 0) {
      long s = in.skip(rest);
      if (s <= 0) {
        if (in.read() < 0) {
          throw new EOFException("unexpected end of file at byte " + filePosition);
        }
        s = 1;
      }
      rest -= s;
      filePosition += s;
    }
  }

  /** A string whose byte length is stored before it in a uint16. */
  String string16() throws IOException {
    return string(u16());
  }

  /** A string whose byte length is stored before it in a uint32. */
  String string32() throws IOException {
    return string(length32("string"));
  }

  private String string(int len) throws IOException {
    byte[] b = new byte[len];
    readFully(b, 0, len);
    return new String(b, StandardCharsets.UTF_8);
  }
}
