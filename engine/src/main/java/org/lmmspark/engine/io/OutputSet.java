package org.lmmspark.engine.io;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.lmmspark.engine.BadInputException;

/**
 * All the outputs of one command under one prefix ({@code PREFIX.*}), published as a unit: a small
 * transaction over the file system with a lock, a journal and a completion marker.
 *
 * <ul>
 *   <li><b>Lock.</b> {@link #open} creates {@code PREFIX.lock} exclusively (which also proves the folder
 *       writable before any work) holding the process id, host and process start time. A second run
 *       into the prefix is refused while the owner lives; a lock whose process is gone (same host) is
 *       stale: its run is rolled back and the lock taken over.
 *   <li><b>Marker.</b> {@code PREFIX.done} holds one line per file: its name after the prefix (e.g.
 *       {@code .grm.bin}) and its size, so a set copied under another prefix keeps a valid marker.
 *   <li><b>Publication.</b> Files are written under temporary names by {@link AtomicOutputs}; when one
 *       is committed inside an open set, an older file of the same name is first renamed to a backup
 *       and both moves are recorded in the lock file (the journal). {@link #commit} writes
 *       {@code PREFIX.done} (each file's name and size), deletes the backups and then the lock.
 *       {@link #close} without commit, or the next run after a kill, replays the journal backwards:
 *       new files deleted, backups restored. So a reader sees the old set or the new one, never a mix.
 *   <li><b>Readers</b> ({@link #requireComplete}) refuse a prefix that has a lock (being written, or
 *       left by a killed run) or whose files differ from what its {@code .done} marker lists.
 *   <li><b>Leftovers</b> of killed runs ({@code PREFIX.*.tmp-*}, {@code PREFIX.*.old-*}) are removed by
 *       the next {@link #open}.
 *   <li><b>Refusals</b>, each before any work: existing outputs without {@code overwrite}, a prefix that
 *       names a folder ({@code --out DIR/}), an output that would replace an input.
 * </ul>
 *
 * <p>Jobs need no change to take part: {@link AtomicOutputs#commit} asks {@link #containing} whether a
 * set is open for the file it publishes. The registry is per JVM, as the lock's owner is a process.
 */
public final class OutputSet implements AutoCloseable {
  public static final String LOCK_SUFFIX = ".lock";
  public static final String DONE_SUFFIX = ".done";
  private static final Map<String, OutputSet> OPEN = new ConcurrentHashMap<>();

  private final String prefix;
  private final Path qualified;
  private final FileSystem fs;
  private final String tag = ".old-" + UUID.randomUUID().toString().substring(0, 8);
  private final String owner;
  /** The journal: each published file and whether it replaced an older one (then backed up under {@link #tag}). */
  private final Map<Path, Boolean> published = new LinkedHashMap<>();
  private boolean finished;
  /** Files that explain a failure: kept by a roll-back (their backups dropped). */
  private final java.util.Set<Path> diagnostics = new java.util.HashSet<>();

  private OutputSet(String prefix, Path qualified, FileSystem fs) {
    this.prefix = prefix;
    this.qualified = qualified;
    this.fs = fs;
    this.owner = ownerLine();
  }

  /**
   * Opens the set of {@code prefix}: checks it names files, that no output replaces one of
   * {@code inputs} (files or prefixes), takes the lock, removes leftovers of killed runs, and
   * refuses existing outputs ({@code prefix + suffix} for each of {@code suffixes}, or the marker)
   * unless {@code overwrite}.
   */
  public static OutputSet open(String prefix, List<String> suffixes, boolean overwrite, List<String> inputs,
      Configuration conf) {
    requireFilePrefix(prefix, conf);
    FileSystem fs = FileSystems.of(prefix, conf);
    fs.setWriteChecksum(false); // no .crc side files for the lock and the marker (as AtomicOutputs)
    Path q = fs.makeQualified(new Path(prefix));
    for (String input : inputs) {
      if (input == null) {
        continue;
      }
      Path in = FileSystems.of(input, conf).makeQualified(new Path(input));
      boolean clash = in.equals(q);
      for (String s : suffixes) {
        clash |= in.equals(new Path(q.toString() + s));
      }
      if (clash) {
        throw new BadInputException("--out " + prefix + " would write over the input " + input
            + " (or files beside it); choose another output prefix");
      }
    }
    OutputSet set = new OutputSet(prefix, q, fs);
    set.lock();
    try {
      set.removeLeftovers();
      if (!overwrite) {
        List<String> existing = new ArrayList<>();
        for (String s : concat(suffixes, DONE_SUFFIX)) {
          if (fs.exists(new Path(q.toString() + s))) {
            existing.add(prefix + s);
          }
        }
        if (!existing.isEmpty()) {
          throw new BadInputException(existing.get(0) + ": output exists" + (existing.size() > 1 ? " (and "
              + (existing.size() - 1) + " more of this prefix)" : "") + "; use --overwrite to replace the set, or "
              + "another --out");
        }
      }
    } catch (IOException e) {
      set.close();
      throw new BadInputException(prefix + ": cannot read the output location: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      set.close();
      throw e;
    }
    OPEN.put(q.toString(), set);
    return set;
  }

  /**
   * Refuses an output prefix that names a folder: empty, ending in {@code /} or {@code .} (files would
   * be hidden, {@code DIR/.log}), or an existing folder. For commands that derive their set's prefix
   * from {@code --out} ({@code ldscore}'s {@code OUT.C}), to be checked on {@code --out} itself.
   */
  public static void requireFilePrefix(String prefix, Configuration conf) {
    if (prefix.isEmpty() || prefix.endsWith("/") || prefix.endsWith(".")) {
      throw new BadInputException("--out '" + prefix + "' must name files (e.g. results/run1), not a folder");
    }
    FileSystem fs = FileSystems.of(prefix, conf);
    try {
      if (fs.getFileStatus(fs.makeQualified(new Path(prefix))).isDirectory()) {
        throw new BadInputException(prefix + ": --out names an existing folder; give a file prefix inside it, e.g. "
            + prefix + "/result");
      }
    } catch (FileNotFoundException expected) {
      // The usual case: the prefix itself is not a file.
    } catch (IOException e) {
      throw new BadInputException(prefix + ": cannot reach the output location: " + e.getMessage(), e);
    }
  }

  /** The open set whose prefix {@code file} falls under ({@code PREFIX.anything}), if any. */
  static Optional<OutputSet> containing(Path file, Configuration conf) throws IOException {
    if (OPEN.isEmpty()) {
      return Optional.empty();
    }
    String f = FileSystems.of(file, conf).makeQualified(file).toString();
    for (Map.Entry<String, OutputSet> e : OPEN.entrySet()) {
      if (f.startsWith(e.getKey() + ".")) {
        return Optional.of(e.getValue());
      }
    }
    return Optional.empty();
  }

  /** Moves {@code temp} onto {@code target}, backing up an older {@code target} and journaling both. */
  synchronized void publish(Path temp, Path target, boolean diagnostic) throws IOException {
    Path t = fs.makeQualified(target);
    if (diagnostic) {
      diagnostics.add(t);
    }
    boolean replaced = published.containsKey(t) ? published.get(t) : fs.exists(t);
    if (published.containsKey(t)) {
      fs.delete(t, true); // written twice in one run: the first of ours goes
    } else if (replaced) {
      if (!fs.rename(t, backup(t))) {
        throw new IOException("rename " + t + " -> " + backup(t) + " failed");
      }
    }
    published.put(t, replaced);
    writeJournal();
    if (!fs.rename(temp, t)) {
      throw new IOException("rename " + temp + " -> " + t + " failed");
    }
  }

  /** Writes the completion marker, drops the backups, then the lock: the new set is now the set. */
  public synchronized void commit() {
    try {
      Path done = new Path(qualified + DONE_SUFFIX);
      StringBuilder sb = new StringBuilder("# lmmspark output set ").append(prefix).append(", complete ")
          .append(Instant.now()).append("\n");
      for (Path p : published.keySet()) {
        if (!p.equals(done)) {
          // By suffix (".grm.bin"), so that a set copied or moved under another prefix still matches its marker.
          String suffix = p.toString().substring(qualified.toString().length());
          sb.append(suffix).append('\t').append(fs.getContentSummary(p).getLength()).append('\n');
        }
      }
      Path temp = new Path(done + ".tmp-" + tag.substring(5));
      try (OutputStream os = fs.create(temp, true)) {
        os.write(sb.toString().getBytes(StandardCharsets.UTF_8));
      }
      publish(temp, done, false);
      for (Map.Entry<Path, Boolean> e : published.entrySet()) {
        if (e.getValue()) {
          fs.delete(backup(e.getKey()), true);
        }
      }
      fs.delete(lockPath(), false);
      finished = true;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot publish the outputs of " + prefix, e);
    } finally {
      OPEN.remove(qualified.toString());
    }
  }

  /** Without {@link #commit}: rolls this run's files back (old set restored) and releases the lock. */
  @Override
  public synchronized void close() {
    OPEN.remove(qualified.toString());
    if (finished) {
      return;
    }
    finished = true;
    Map<Path, Boolean> undo = new LinkedHashMap<>(published);
    for (Path d : diagnostics) {
      try {
        if (Boolean.TRUE.equals(undo.remove(d))) {
          fs.delete(backup(d), true);
        }
      } catch (IOException ignored) {
        // A leftover backup is removed by the next run.
      }
    }
    rollBack(fs, undo, tag);
    try {
      fs.delete(lockPath(), false);
      // The folders made for this set go too when nothing else is in them: a failed run leaves nothing behind.
      for (Path d : createdFolders) {
        if (fs.listStatus(d).length > 0 || !fs.delete(d, false)) {
          break;
        }
      }
    } catch (IOException ignored) {
      // Best effort: the run has failed and its own error is the one to report.
    }
  }

  /**
   * Refuses to read {@code prefix} while its set is incomplete: a lock of another run (in progress,
   * or killed: the next run into it cleans up), or files whose sizes differ from its marker.
   */
  public static void requireComplete(String prefix, Configuration conf) {
    FileSystem fs = FileSystems.of(prefix, conf);
    Path q = fs.makeQualified(new Path(prefix));
    if (OPEN.containsKey(q.toString())) {
      return; // this run's own outputs, e.g. the GRM assoc computes and then reads
    }
    try {
      Path lock = new Path(q + LOCK_SUFFIX);
      if (fs.exists(lock)) {
        throw BadInputException.inFile(prefix + LOCK_SUFFIX, "the output set " + prefix + " is being written by "
            + "another run, or was left incomplete by a killed one (" + firstLine(fs, lock) + "); rerun the command "
            + "that writes it");
      }
      Path done = new Path(q + DONE_SUFFIX);
      if (fs.exists(done)) {
        String text = read(fs, done);
        for (String line : text.split("\n")) {
          String[] f = line.split("\t");
          if (line.startsWith("#") || f.length != 2) {
            continue;
          }
          Path p = new Path(q + f[0]);
          long size = fs.exists(p) ? fs.getContentSummary(p).getLength() : -1;
          if (size != Long.parseLong(f[1])) {
            throw BadInputException.inFile(prefix + f[0], (size < 0 ? "missing" : "size " + size) + ", but "
                + prefix + DONE_SUFFIX + " lists " + f[0] + " with " + f[1] + " bytes: the set was changed after it was "
                + "written");
          }
        }
      }
    } catch (IOException e) {
      throw BadInputException.inFile(prefix, "cannot read: " + e.getMessage());
    }
  }

  /** Whether {@code prefix} holds a complete set: its marker and no lock. */
  public static boolean isComplete(String prefix, Configuration conf) {
    try {
      requireComplete(prefix, conf);
      return FileSystems.exists(prefix + DONE_SUFFIX, conf);
    } catch (BadInputException e) {
      return false;
    }
  }

  /** Folders that did not exist and were made for this set's files, deepest first (removed again on roll-back when empty). */
  private final List<Path> createdFolders = new ArrayList<>();

  private Path lockPath() {
    return new Path(qualified + LOCK_SUFFIX);
  }

  private Path backup(Path p) {
    return new Path(p + tag);
  }

  private void lock() {
    try {
      for (Path d = qualified.getParent(); d != null && !fs.exists(d); d = d.getParent()) {
        createdFolders.add(d);
      }
      if (!fs.mkdirs(qualified.getParent())) {
        throw new IOException("mkdirs failed");
      }
    } catch (IOException e) {
      throw new BadInputException(prefix + ": cannot write to the output location: cannot create the folder "
          + qualified.getParent() + " (" + e.getMessage() + "); nothing was computed", e);
    }
    for (int attempt = 0; attempt < 2; attempt++) {
      try {
        try (OutputStream os = fs.create(lockPath(), false)) {
          os.write((owner + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return;
      } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
        String holder = firstLineQuietly();
        if (!isStale(holder)) {
          throw BadInputException.inFile(prefix + LOCK_SUFFIX, "another run is writing this output set (" + holder
              + "); wait for it, or remove the lock if that run is gone");
        }
        recover();
      } catch (IOException e) {
        if (e.getMessage() != null && e.getMessage().contains("already exists")) {
          String holder = firstLineQuietly();
          if (!isStale(holder)) {
            throw BadInputException.inFile(prefix + LOCK_SUFFIX, "another run is writing this output set (" + holder
                + "); wait for it, or remove the lock if that run is gone");
          }
          recover();
          continue;
        }
        throw new BadInputException(prefix + ": cannot write to the output location (" + e.getMessage()
            + "); nothing was computed", e);
      }
    }
    throw BadInputException.inFile(prefix + LOCK_SUFFIX, "could not take the lock after removing a stale one");
  }

  /** A killed run's lock: its journal replayed backwards, then the lock removed. */
  private void recover() {
    try {
      String text = read(fs, lockPath());
      String[] lines = text.split("\n");
      String deadTag = null;
      Map<Path, Boolean> journal = new LinkedHashMap<>();
      for (String line : lines) {
        if (line.startsWith("tag ")) {
          deadTag = line.substring(4);
        } else if (line.startsWith("new ") || line.startsWith("replaced ")) {
          boolean replaced = line.startsWith("replaced ");
          journal.put(new Path(line.substring(replaced ? 9 : 4)), replaced);
        }
      }
      if (deadTag != null) {
        rollBack(fs, journal, deadTag);
      }
      fs.delete(lockPath(), false);
    } catch (IOException e) {
      throw BadInputException.inFile(prefix + LOCK_SUFFIX, "cannot clean up after a killed run: " + e.getMessage());
    }
  }

  private static void rollBack(FileSystem fs, Map<Path, Boolean> journal, String tag) {
    List<Map.Entry<Path, Boolean>> entries = new ArrayList<>(journal.entrySet());
    for (int i = entries.size() - 1; i >= 0; i--) {
      Path p = entries.get(i).getKey();
      try {
        Path old = new Path(p + tag);
        if (entries.get(i).getValue() && fs.exists(old)) {
          fs.delete(p, true);
          fs.rename(old, p);
        } else if (!entries.get(i).getValue()) {
          fs.delete(p, true);
        }
      } catch (IOException ignored) {
        // Best effort; what remains is reported by the next run's checks.
      }
    }
  }

  private void writeJournal() throws IOException {
    StringBuilder sb = new StringBuilder(owner).append("\ntag ").append(tag).append('\n');
    published.forEach((p, replaced) -> sb.append(replaced ? "replaced " : "new ").append(p).append('\n'));
    Path temp = new Path(lockPath() + ".tmp-" + tag.substring(5));
    try (OutputStream os = fs.create(temp, true)) {
      os.write(sb.toString().getBytes(StandardCharsets.UTF_8));
    }
    fs.delete(lockPath(), false);
    if (!fs.rename(temp, lockPath())) {
      throw new IOException("cannot update the journal " + lockPath());
    }
  }

  private void removeLeftovers() throws IOException {
    String name = qualified.getName() + ".";
    for (FileStatus st : fs.listStatus(qualified.getParent())) {
      String n = st.getPath().getName();
      if (n.startsWith(name) && (n.contains(".tmp-") || n.contains(".old-"))) {
        fs.delete(st.getPath(), true);
      }
    }
  }

  /** {@code pid P on host H, started T}: the lock's first line, enough to tell a live owner from a dead one. */
  private static String ownerLine() {
    ProcessHandle self = ProcessHandle.current();
    return "pid " + self.pid() + " on host " + hostName() + ", started "
        + self.info().startInstant().map(Instant::toString).orElse("?");
  }

  /** Dead owner on this host: no such process, or a different process under a reused id. */
  private boolean isStale(String holder) {
    String[] w = holder.split(" ");
    if (w.length < 7 || !w[0].equals("pid") || !w[4].equals(hostName() + ",")) {
      return false; // another host (or unreadable): cannot tell; the message says how to remove it
    }
    long pid;
    try {
      pid = Long.parseLong(w[1]);
    } catch (NumberFormatException e) {
      return false;
    }
    if (pid == ProcessHandle.current().pid()) {
      return !OPEN.containsKey(qualified.toString());
    }
    Optional<ProcessHandle> p = ProcessHandle.of(pid);
    return p.isEmpty() || !p.get().info().startInstant().map(Instant::toString).orElse("?").equals(w[6]);
  }

  private String firstLineQuietly() {
    try {
      return firstLine(fs, lockPath());
    } catch (IOException e) {
      return "unreadable lock";
    }
  }

  private static String firstLine(FileSystem fs, Path p) throws IOException {
    String text = read(fs, p);
    int nl = text.indexOf('\n');
    return nl < 0 ? text : text.substring(0, nl);
  }

  private static String read(FileSystem fs, Path p) throws IOException {
    try (InputStream in = fs.open(p)) {
      return new String(in.readNBytes(1 << 20), StandardCharsets.UTF_8);
    }
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "localhost";
    }
  }

  private static List<String> concat(List<String> a, String b) {
    List<String> out = new ArrayList<>(a);
    out.add(b);
    return out;
  }
}
