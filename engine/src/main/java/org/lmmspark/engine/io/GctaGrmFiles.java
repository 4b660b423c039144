package org.lmmspark.engine.io;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.kinship.Grm;

/**
 * GCTA's binary GRM format, the one GCTA, PLINK ({@code --make-grm-bin}) and their users' scripts
 * read: {@code PREFIX.grm.bin} holds the lower triangle row by row including the diagonal as
 * little-endian float32, {@code PREFIX.grm.N.bin} the number of variants behind each entry in the
 * same layout, and {@code PREFIX.grm.id} one {@code FID IID} line per sample, tab separated.
 */
public final class GctaGrmFiles {
  private GctaGrmFiles() {}

  public static String binPath(String prefix) {
    return prefix + ".grm.bin";
  }

  public static String countsPath(String prefix) {
    return prefix + ".grm.N.bin";
  }

  public static String idPath(String prefix) {
    return prefix + ".grm.id";
  }

  /** Reads a whole GRM; the {@code .grm.N.bin} file is optional. */
  public static Grm read(String prefix, Configuration conf) {
    return read(prefix, conf, true);
  }

  /**
   * Reads a GRM's relationships and sample ids only, not the {@code .grm.N.bin} counts (REML does not use them; at
   * N = 10,000 they are another 200 MB to read and check).
   */
  public static Grm readValues(String prefix, Configuration conf) {
    return read(prefix, conf, false);
  }

  private static Grm read(String prefix, Configuration conf, boolean withCounts) {
    OutputSet.requireComplete(prefix, conf);
    List<SampleId> ids = readIds(idPath(prefix), conf);
    long n = ids.size();
    long entries = n * (n + 1) / 2;
    if (entries > Integer.MAX_VALUE) {
      throw new BadInputException(prefix + ": N=" + n + " is too large to hold a dense GRM in one array");
    }
    float[] values = readFloats(binPath(prefix), (int) entries, conf);
    String countsFile = countsPath(prefix);
    float[] counts = withCounts && FileSystems.exists(countsFile, conf) ? readFloats(countsFile, (int) entries, conf) : null;
    checkEntries(binPath(prefix), ids, values, true);
    if (counts != null) {
      checkEntries(countsFile, ids, counts, false);
    }
    return new Grm(ids, values, counts);
  }

  /**
   * Every entry finite; a relationship's diagonal positive (a sample's relationship with itself is a
   * variance), a count file's entries non-negative. A NaN entry (GCTA writes one for a pair with no
   * variant called in both) would make every eigen-solver fail later; this names the pair instead.
   */
  static void checkEntries(String path, List<SampleId> ids, float[] packed, boolean relationship) {
    int e = 0;
    for (int j = 0; j < ids.size(); j++) {
      for (int k = 0; k <= j; k++, e++) {
        float v = packed[e];
        boolean ok = Float.isFinite(v) && (relationship ? (k != j || v > 0) : v >= 0);
        if (!ok) {
          String where = k == j ? "diagonal entry of sample " + ids.get(j) : "entry of samples " + ids.get(j) + " and "
              + ids.get(k);
          throw BadInputException.inFile(path, where + " (row " + (j + 1) + ", column " + (k + 1) + ") is " + v
              + (relationship ? "; relationships must be finite and diagonals positive" : "; counts must be finite and non-negative"));
        }
      }
    }
  }

  public static List<SampleId> readIds(String path, Configuration conf) {
    List<SampleId> ids = new ArrayList<>();
    WhitespaceLines.read(path, conf, (lineNo, f) -> {
      if (f.length < 2) {
        throw BadInputException.atLine(path, lineNo, "expected FID IID, found " + f.length + " field(s)");
      }
      ids.add(new SampleId(f[0], f[1]));
    });
    if (ids.isEmpty()) {
      throw BadInputException.inFile(path, "no samples");
    }
    return ids;
  }

  private static float[] readFloats(String path, int count, Configuration conf) {
    long expected = 4L * count;
    long actual = FileSystems.length(path, conf);
    if (actual != expected) {
      throw BadInputException.inFile(path, "size " + actual + " bytes, expected " + expected
          + " (4 bytes for each of the N(N+1)/2 lower-triangle entries of the samples in the .grm.id file)");
    }
    float[] out = new float[count];
    byte[] buf = new byte[1 << 20];
    try (InputStream raw = FileSystems.open(path, conf); DataInputStream in = new DataInputStream(raw)) {
      int done = 0;
      while (done < count) {
        int chunk = Math.min(buf.length / 4, count - done);
        in.readFully(buf, 0, chunk * 4);
        ByteBuffer.wrap(buf, 0, chunk * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out, done, chunk);
        done += chunk;
      }
    } catch (EOFException e) {
      throw BadInputException.inFile(path, "ends early");
    } catch (IOException e) {
      throw BadInputException.inFile(path, "cannot read: " + e.getMessage());
    }
    return out;
  }

  /** Writes a whole in-memory GRM atomically (all three files appear together or none does). */
  public static void write(String prefix, Grm grm, Configuration conf) {
    try (Writer w = new Writer(prefix, grm.ids(), grm.packedCounts() != null, conf)) {
      float[] values = grm.packedValues();
      float[] counts = grm.packedCounts();
      for (int j = 0; j < grm.size(); j++) {
        int start = (int) Grm.packedIndex(j, 0);
        w.writeRow(values, counts, start, j + 1);
      }
      w.commit();
    }
  }

  /**
   * Streams a GRM to disk row by row (row {@code j} holds entries {@code (j, 0..j)}), so that a
   * writer holds no more than the caller's row band. Nothing appears under the final names until
   * {@link #commit()}; closing without commit removes the temporary files.
   */
  public static final class Writer implements AutoCloseable, org.lmmspark.engine.kinship.GrmAssembler.RowSink {
    private final AtomicOutputs outputs;
    private final boolean ownsOutputs;
    private final OutputStream values;
    private final OutputStream counts;
    private final int n;
    private int rowsWritten;
    private ByteBuffer buf = ByteBuffer.allocate(0);

    public Writer(String prefix, List<SampleId> ids, boolean withCounts, Configuration conf) {
      this(prefix, ids, withCounts, new AtomicOutputs(conf), true);
    }

    /**
     * A writer whose files join {@code outputs}, a set the caller commits once every file of a run
     * is complete ({@link #commit()} then only closes this writer's streams).
     */
    public Writer(String prefix, List<SampleId> ids, boolean withCounts, AtomicOutputs outputs) {
      this(prefix, ids, withCounts, outputs, false);
    }

    private Writer(String prefix, List<SampleId> ids, boolean withCounts, AtomicOutputs outputs, boolean ownsOutputs) {
      this.n = ids.size();
      this.outputs = outputs;
      this.ownsOutputs = ownsOutputs;
      try {
        try (java.io.Writer idOut = new OutputStreamWriter(outputs.create(idPath(prefix)), StandardCharsets.UTF_8)) {
          StringBuilder sb = new StringBuilder();
          for (SampleId id : ids) {
            sb.append(id.fid()).append('\t').append(id.iid()).append('\n');
          }
          idOut.write(sb.toString());
        }
        this.values = new BufferedOutputStream(outputs.create(binPath(prefix)), 1 << 20);
        this.counts = withCounts ? new BufferedOutputStream(outputs.create(countsPath(prefix)), 1 << 20) : null;
      } catch (IOException e) {
        if (ownsOutputs) {
          outputs.close();
        }
        throw new UncheckedIOException(e);
      }
    }

    /** Writes the next row: {@code length} entries from {@code offset} of each array. */
    @Override
    public void writeRow(float[] rowValues, float[] rowCounts, int offset, int length) {
      if (length != rowsWritten + 1) {
        throw new IllegalArgumentException("row " + rowsWritten + " must have " + (rowsWritten + 1) + " entries, got " + length);
      }
      try {
        put(values, rowValues, offset, length);
        if (counts != null) {
          put(counts, rowCounts, offset, length);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      rowsWritten++;
    }

    private void put(OutputStream out, float[] src, int offset, int length) throws IOException {
      if (buf.capacity() < 4 * length) {
        buf = ByteBuffer.allocate(4 * length).order(ByteOrder.LITTLE_ENDIAN);
      }
      buf.clear();
      buf.asFloatBuffer().put(src, offset, length);
      out.write(buf.array(), 0, 4 * length);
    }

    public void commit() {
      if (rowsWritten != n) {
        throw new IllegalStateException("wrote " + rowsWritten + " of " + n + " rows");
      }
      try {
        values.close();
        if (counts != null) {
          counts.close();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (ownsOutputs) {
        outputs.commit();
      }
    }

    @Override
    public void close() {
      try {
        values.close();
        if (counts != null) {
          counts.close();
        }
      } catch (IOException ignored) {
        // The temporary files are removed by the owner of the output set either way.
      }
      if (ownsOutputs) {
        outputs.close();
      }
    }
  }
}
