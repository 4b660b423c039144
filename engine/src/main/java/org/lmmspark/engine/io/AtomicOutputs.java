package org.lmmspark.engine.io;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A set of output files written under temporary names and moved into place together by
 * {@link #commit()}, so that a failed run leaves nothing half-written: either every file of the set
 * appears complete, or none does. Closing without commit deletes the temporary files.
 *
 * <pre>{@code
 * try (AtomicOutputs out = new AtomicOutputs(conf)) {
 *   write(out.create(prefix + ".grm.bin"));
 *   write(out.create(prefix + ".grm.id"));
 *   out.commit();
 * }
 * }</pre>
 */
public final class AtomicOutputs implements AutoCloseable {
  private final Configuration conf;
  private final String tag = ".tmp-" + UUID.randomUUID().toString().substring(0, 8);
  private final List<Path> finals = new ArrayList<>();
  private final List<Path> temps = new ArrayList<>();
  private boolean committed;

  public AtomicOutputs(Configuration conf) {
    this.conf = conf;
  }

  /** Creates the temporary file for {@code path} (parent folders included); the caller closes it. */
  public OutputStream create(String path) {
    Path target = new Path(path);
    Path temp = new Path(target.getParent(), target.getName() + tag);
    try {
      OutputStream os = fs(target).create(temp, true);
      finals.add(target);
      temps.add(temp);
      return os;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + temp, e);
    }
  }

  /** Moves every temporary file onto its final name, replacing older outputs of the same name. */
  public void commit() {
    try {
      for (int i = 0; i < finals.size(); i++) {
        FileSystem fs = fs(finals.get(i));
        if (fs.exists(finals.get(i))) {
          fs.delete(finals.get(i), false);
        }
        if (!fs.rename(temps.get(i), finals.get(i))) {
          throw new IOException("rename " + temps.get(i) + " -> " + finals.get(i) + " failed");
        }
      }
      committed = true;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    if (committed) {
      return;
    }
    for (Path temp : temps) {
      try {
        fs(temp).delete(temp, false);
      } catch (IOException ignored) {
        // Best effort: the run has already failed and its own error is the one to report.
      }
    }
  }

  private FileSystem fs(Path p) throws IOException {
    FileSystem fs = p.getFileSystem(conf);
    // No .crc side files next to outputs on the local file system: other tools do not expect them.
    fs.setWriteChecksum(false);
    return fs;
  }
}
