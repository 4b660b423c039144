package org.lmmspark.jobs.cli;

import java.util.concurrent.Callable;
import org.lmmspark.engine.BadInputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code lmmspark} command line: one subcommand per job. Each subcommand parses and validates
 * its options, then calls one job class that does the I/O and the Spark work.
 *
 * <p>Exit codes: 0 success, 2 bad input or bad options (one line on stderr naming file, line or
 * sample; the stack trace only with {@code LMMSPARK_DEBUG=1}), 1 an internal error.
 */
@Command(
    name = "lmmspark",
    mixinStandardHelpOptions = true,
    versionProvider = Lmmspark.Version.class,
    description = "Linear mixed models for statistical genetics on Apache Spark.",
    subcommands = {
      CommandLine.HelpCommand.class,
      DemoCommand.class,
      RunCommand.class,
      SimulateCommand.class,
      GrmCommand.class,
      PedigreeGrmCommand.class,
      RemlCommand.class,
      AssocCommand.class,
      FitCommand.class, LrtCommand.class,
      BenchBlasCommand.class, BenchPassCommand.class,
      BenchSparkPassCommand.class,
      LdScoreCommand.class, LdscCommand.class, MungeCommand.class,
      PcaCommand.class,
    })
public final class Lmmspark implements Callable<Integer> {

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs a command line and returns its exit code (tests call this instead of {@link #main}). */
  public static int run(String... args) {
    CommandLine cli = commandLine(args);
    // A bad command line is bad input too: one line (where --help is), exit code 2, not the whole usage text.
    cli.setParameterExceptionHandler((ex, args1) -> {
      CommandLine where = ex.getCommandLine();
      where.getErr().println("lmmspark: error: " + oneLine(ex.getMessage()) + " (see 'lmmspark "
          + (where.getCommandName().equals("lmmspark") ? "" : where.getCommandName() + " ") + "--help')");
      return 2;
    });
    cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
      Throwable cause = ex;
      while (cause != null && !(cause instanceof BadInputException)) {
        cause = cause.getCause();
      }
      if (cause != null) {
        commandLine.getErr().println("lmmspark: error: " + oneLine(cause.getMessage()));
        if (System.getenv("LMMSPARK_DEBUG") != null) {
          ex.printStackTrace(commandLine.getErr());
        }
        return 2;
      }
      commandLine.getErr().println("lmmspark: internal error: " + ex);
      ex.printStackTrace(commandLine.getErr());
      return 1;
    });
    try {
      return cli.execute(args);
    } catch (OutOfMemoryError e) {
      // picocli hands on Errors; this one has a remedy the user can apply. Outputs are written whole or not at all.
      cli.getErr().println("lmmspark: error: the driver ran out of Java heap (" + (Runtime.getRuntime().maxMemory() >> 20)
          + " MiB): give it more (LMMSPARK_DRIVER_MEMORY with scripts/lmmspark, --driver-memory with spark-submit)");
      return 1;
    }
  }

  /**
   * The command tree for {@code args}. When they start with a subcommand's name, only that subcommand is
   * built (under a bare {@code lmmspark} parent, so usage lines and messages read the same): picocli reads
   * every option of every command it is given by reflection, which cost half a CPU-second of each run for
   * all the subcommands (their option classes pull in Spark's and the jobs' classes). Otherwise (no
   * command, {@code --help}, {@code help CMD}, a misspelt name) the whole tree, so help lists everything.
   */
  static CommandLine commandLine(String... args) {
    if (args.length > 0 && !args[0].equals("help")) {
      for (Class<?> c : Lmmspark.class.getAnnotation(Command.class).subcommands()) {
        Command sub = c.getAnnotation(Command.class);
        if (sub != null && (sub.name().equals(args[0]) || java.util.Arrays.asList(sub.aliases()).contains(args[0]))) {
          return new CommandLine(new Parent()).addSubcommand(new CommandLine(c));
        }
      }
    }
    return new CommandLine(new Lmmspark());
  }

  /** The top level when only one subcommand is built ({@link #commandLine}): its name and standard options. */
  @Command(name = "lmmspark", mixinStandardHelpOptions = true, versionProvider = Lmmspark.Version.class)
  static final class Parent {}

  /** A message on one line: line breaks inside it (e.g. from a library) become spaces. */
  static String oneLine(String message) {
    return message == null ? "(no message)" : message.replaceAll("\\s*[\\r\\n]+\\s*", " ");
  }

  @Override
  public Integer call() {
    new CommandLine(this).usage(System.out);
    return 2;
  }

  /** The version from the jar manifest, plus the Java and BLAS in use. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"lmmspark " + versionString(), "Java " + System.getProperty("java.version")};
    }
  }

  public static String versionString() {
    String v = Lmmspark.class.getPackage().getImplementationVersion();
    return v == null ? "0.1.0-SNAPSHOT" : v;
  }
}
