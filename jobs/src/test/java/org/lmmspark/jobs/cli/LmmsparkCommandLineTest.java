package org.lmmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The command tree {@link Lmmspark#commandLine} builds: only the named subcommand when the line starts
 * with one (its usage still reads {@code lmmspark NAME}), the whole tree otherwise, so that help lists
 * every command and a misspelt one is still refused with the top-level message.
 */
class LmmsparkCommandLineTest {

  @Test
  void aSubcommandIsBuiltAloneUnderLmmspark() {
    CommandLine cli = Lmmspark.commandLine("fit", "--data", "x.csv");
    assertEquals(java.util.Set.of("fit"), cli.getSubcommands().keySet());
    assertTrue(cli.getSubcommands().get("fit").getUsageMessage().contains("Usage: lmmspark fit "),
        cli.getSubcommands().get("fit").getUsageMessage());
  }

  @Test
  void helpAndUnknownNamesSeeEveryCommand() {
    int all = Lmmspark.class.getAnnotation(CommandLine.Command.class).subcommands().length;
    assertEquals(all, Lmmspark.commandLine().getSubcommands().size());
    assertEquals(all, Lmmspark.commandLine("--help").getSubcommands().size());
    assertEquals(all, Lmmspark.commandLine("help", "fit").getSubcommands().size());
    assertEquals(all, Lmmspark.commandLine("fitt").getSubcommands().size());
  }

  @Test
  void badCommandLinesAreStillBadInput() {
    assertEquals(2, Lmmspark.run("fit", "--no-such-option")); // the lone subcommand refuses it
    assertEquals(2, Lmmspark.run("fitt")); // the whole tree refuses an unknown name
  }
}
