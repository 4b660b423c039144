package org.lmmspark.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmmspark.engine.BadInputException;

/**
 * The output-set protocol on the local file system: a failed run restores the older set (never a
 * mix), a committed one has its marker and no lock, existing outputs need overwrite, a live lock
 * refuses a second run, a dead process's lock is rolled back from its journal.
 */
class OutputSetTest {
  private final Configuration conf = new Configuration();

  @Test
  void failureRestoresTheOlderSetAndCommitPublishesTheNewOne(@TempDir Path dir) throws Exception {
    String prefix = dir.resolve("r").toString();
    write(prefix, List.of(".a", ".b"), "old", false).commit();
    assertEquals("old", Files.readString(Path.of(prefix + ".a")));
    assertTrue(OutputSet.isComplete(prefix, conf));
    assertTrue(Files.readString(Path.of(prefix + ".done")).contains(".b\t3"));

    // Refused without overwrite, before anything is written.
    assertThrows(BadInputException.class, () -> OutputSet.open(prefix, List.of(".a", ".b"), false, List.of(), conf));

    // A run that publishes .a then fails: .a is the old one again, nothing else is left.
    OutputSet failing = write(prefix, List.of(".a"), "new", true);
    assertEquals("new", Files.readString(Path.of(prefix + ".a")), "published inside the run");
    assertTrue(Files.exists(Path.of(prefix + ".lock")), "locked while the run lasts (readers in other processes refuse)");
    failing.close();
    assertEquals("old", Files.readString(Path.of(prefix + ".a")));
    assertEquals("old", Files.readString(Path.of(prefix + ".b")));
    assertEquals(List.of("r.a", "r.b", "r.done"), names(dir));

    write(prefix, List.of(".a", ".b", ".c"), "new", true).commit();
    assertEquals("new", Files.readString(Path.of(prefix + ".b")));
    assertEquals(List.of("r.a", "r.b", "r.c", "r.done"), names(dir));
    Files.writeString(Path.of(prefix + ".c"), "changed after");
    assertThrows(BadInputException.class, () -> OutputSet.requireComplete(prefix, conf), "marker no longer matches");
  }

  @Test
  void aLiveLockRefusesAndADeadOnesRunIsRolledBack(@TempDir Path dir) throws Exception {
    String prefix = dir.resolve("r").toString();
    write(prefix, List.of(".a"), "old", false).commit();
    String host = InetAddress.getLocalHost().getHostName();

    Process sleeper = new ProcessBuilder("sleep", "60").start();
    try {
      Files.writeString(Path.of(prefix + ".lock"), "pid " + sleeper.pid() + " on host " + host + ", started "
          + sleeper.toHandle().info().startInstant().orElseThrow() + "\n");
      BadInputException e = assertThrows(BadInputException.class,
          () -> OutputSet.open(prefix, List.of(".a"), true, List.of(), conf));
      assertTrue(e.getMessage().contains("another run"), e.getMessage());
    } finally {
      sleeper.destroyForcibly().waitFor();
    }

    // What a run killed after publishing .a leaves: its journal in the lock, the old .a as a backup, a temp file.
    Process dead = new ProcessBuilder("true").start();
    dead.waitFor();
    Path a = Path.of(prefix + ".a");
    Files.move(a, Path.of(prefix + ".a.old-dead1234"));
    Files.writeString(a, "half");
    Files.writeString(Path.of(prefix + ".b.tmp-dead1234"), "partial");
    Files.writeString(Path.of(prefix + ".lock"), "pid " + dead.pid() + " on host " + host
        + ", started 2000-01-01T00:00:00Z\ntag .old-dead1234\nreplaced " + a.toUri() + "\n");
    OutputSet next = OutputSet.open(prefix, List.of(".a"), true, List.of(), conf);
    assertEquals("old", Files.readString(a), "the killed run was rolled back");
    assertEquals(List.of("r.a", "r.done", "r.lock"), names(dir), "leftovers removed, our lock taken");
    next.close();
    assertEquals(List.of("r.a", "r.done"), names(dir));
  }

  @Test
  void outputsNeverReplaceInputsAndNameFiles(@TempDir Path dir) throws Exception {
    String prefix = dir.resolve("g").toString();
    assertThrows(BadInputException.class, () -> OutputSet.open(prefix, List.of(".log"), true, List.of(prefix), conf));
    assertThrows(BadInputException.class,
        () -> OutputSet.open(prefix, List.of(".log"), true, List.of(prefix + ".log"), conf));
    assertThrows(BadInputException.class, () -> OutputSet.open(dir + "/", List.of(".log"), true, List.of(), conf));
    assertThrows(BadInputException.class, () -> OutputSet.open(dir.toString(), List.of(".log"), true, List.of(), conf));
    assertEquals(List.of(), names(dir));
  }

  /** Opens the set and publishes {@code text} as each of {@code suffixes} through AtomicOutputs. */
  private OutputSet write(String prefix, List<String> suffixes, String text, boolean overwrite) throws IOException {
    OutputSet set = OutputSet.open(prefix, suffixes, overwrite, List.of(), conf);
    try (AtomicOutputs out = new AtomicOutputs(conf)) {
      for (String s : suffixes) {
        try (OutputStream os = out.create(prefix + s)) {
          os.write(text.getBytes(StandardCharsets.UTF_8));
        }
      }
      out.commit();
    }
    return set;
  }

  private static List<String> names(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
