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

  /**
   * The temporary name for an output that a library writes itself given a path (a Parquet file or
   * folder); it is published by {@link #commit} like the streams of {@link #create}.
   */
  public String reserve(String path) {
    Path target = new Path(path);
    Path temp = new Path(target.getParent(), target.getName() + tag);
    finals.add(target);
    temps.add(temp);
    return temp.toString();
  }

  /**
   * Moves every temporary file onto its final name, replacing older outputs of the same name. Inside
   * an open {@link OutputSet} for the files' prefix the set does the moves (older files are kept as
   * backups until the whole set is committed).
   */
  public void commit() {
    commit(false);
  }

  /**
   * Commits files that explain a failure (a log saying why a fit was refused): inside an
   * {@link OutputSet} they stay when the set is rolled back, where other files of the run go.
   */
  public void commitDiagnostic() {
    commit(true);
  }

  private void commit(boolean diagnostic) {
    try {
      for (int i = 0; i < finals.size(); i++) {
        FileSystem fs = fs(finals.get(i));
        java.util.Optional<OutputSet> set = OutputSet.containing(finals.get(i), conf);
        if (set.isPresent()) {
          set.get().publish(temps.get(i), finals.get(i), diagnostic);
          continue;
        }
        if (fs.exists(finals.get(i))) {
          fs.delete(finals.get(i), true);
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
        fs(temp).delete(temp, true);
      } catch (IOException ignored) {
        // Best effort: the run has already failed and its own error is the one to report.
      }
    }
  }

  private FileSystem fs(Path p) throws IOException {
    FileSystem fs = FileSystems.of(p, conf);
    // No .crc side files next to outputs on the local file system: other tools do not expect them.
    fs.setWriteChecksum(false);
    return fs;
  }
}
