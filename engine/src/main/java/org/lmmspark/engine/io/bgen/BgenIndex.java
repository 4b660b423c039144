package org.lmmspark.engine.io.bgen;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.FileSystems;
import org.lmmspark.engine.io.Variant;

/**
 * The bgenix index {@code FILE.bgen.bgi}: an SQLite 3 database whose {@code Variant} table lists each
 * variant's chromosome, position, rsid, alleles and {@code file_start_position} (the byte where its
 * block starts). Read through sqlite-jdbc (SQLite needs a local file, so an index on HDFS/S3 is first
 * copied to a temporary local file; it is ~50 bytes per variant). Checked against the BGEN header: as
 * many rows as variants, the first at the header's first-variant offset.
 */
final class BgenIndex {
  private BgenIndex() {}

  static long[] read(String indexPath, BgenHeader header, Configuration conf, List<Variant> out) {
    Path local = null;
    try {
      local = Files.createTempFile("lmmspark-bgi", ".sqlite");
      try (InputStream in = FileSystems.of(indexPath, conf).open(new org.apache.hadoop.fs.Path(indexPath))) {
        Files.copy(in, local, StandardCopyOption.REPLACE_EXISTING);
      }
      return query(indexPath, local, header, out);
    } catch (IOException e) {
      throw BadInputException.inFile(indexPath, "cannot read the index: " + e.getMessage());
    } finally {
      if (local != null) {
        try {
          Files.deleteIfExists(local);
        } catch (IOException ignored) {
          // A temporary file left behind is harmless.
        }
      }
    }
  }

  private static long[] query(String indexPath, Path local, BgenHeader header, List<Variant> out) {
    long m = header.variantCount();
    if (m > Integer.MAX_VALUE - 8) {
      throw BadInputException.inFile(header.path(), m + " variants: more than one file can hold here; split by chromosome");
    }
    long[] offsets = new long[(int) m];
    int v = 0;
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + local.toAbsolutePath() + "?open_mode=1");
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT chromosome, position, rsid, number_of_alleles, allele1, allele2, "
            + "file_start_position FROM Variant ORDER BY file_start_position")) {
      while (r.next()) {
        if (v == m) {
          throw BadInputException.inFile(indexPath, "lists more variants than the " + m + " of " + header.path()
              + " (an index of another file?)");
        }
        long start = r.getLong(7);
        int k = r.getInt(4);
        String id = r.getString(3);
        if (k != 2) {
          throw BadInputException.inFile(header.path(), "variant '" + id + "' at byte " + start + " has " + k
              + " alleles; only biallelic variants can be used (split multi-allelic variants first)");
        }
        offsets[v] = start;
        out.add(BgenFile.variant(header.path(), start, r.getString(1), id, r.getLong(2),
            List.of(r.getString(5), r.getString(6))));
        v++;
      }
    } catch (SQLException e) {
      throw BadInputException.inFile(indexPath, "not a readable bgenix index: " + e.getMessage());
    }
    if (v != m) {
      throw BadInputException.inFile(indexPath, "lists " + v + " variants, " + header.path() + " has " + m
          + " (an index of another file?)");
    }
    if (offsets[0] != header.firstVariant()) {
      throw BadInputException.inFile(indexPath, "its first variant starts at byte " + offsets[0] + ", but "
          + header.path() + "'s first variant starts at byte " + header.firstVariant() + " (an index of another file?)");
    }
    return offsets;
  }
}
