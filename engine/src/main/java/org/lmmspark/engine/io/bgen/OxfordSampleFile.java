package org.lmmspark.engine.io.bgen;

import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.lmmspark.engine.BadInputException;
import org.lmmspark.engine.io.SampleId;
import org.lmmspark.engine.io.UniqueSamples;
import org.lmmspark.engine.io.WhitespaceLines;

/**
 * An Oxford {@code .sample} file (the companion of GEN and BGEN files): a header line of column names
 * starting {@code ID_1 [ID_2] missing …}, a line of column types starting {@code 0 0 …}, then one line
 * per sample. The sample is {@code FID = ID_1, IID = ID_2} (as plink2 reads it); a file with only an
 * {@code ID_1} column gives {@code FID = IID = ID_1}. Sample IDs must be unique.
 */
public final class OxfordSampleFile {
  private OxfordSampleFile() {}

  public static List<SampleId> read(String path, Configuration conf) {
    UniqueSamples samples = new UniqueSamples(path);
    boolean[] twoIds = {false};
    long[] headerLines = {0};
    WhitespaceLines.read(path, conf, (lineNo, f) -> {
      if (headerLines[0] == 0) {
        if (!f[0].equalsIgnoreCase("ID_1") && !f[0].equalsIgnoreCase("ID")) {
          throw BadInputException.atLine(path, lineNo, "an Oxford .sample file starts with a header 'ID_1 ID_2 missing …', found '"
              + f[0] + "'");
        }
        twoIds[0] = f.length > 1 && f[1].equalsIgnoreCase("ID_2");
        headerLines[0]++;
        return;
      }
      if (headerLines[0] == 1) {
        if (!f[0].equals("0")) {
          throw BadInputException.atLine(path, lineNo, "the second line of a .sample file gives column types and starts with 0, found '"
              + f[0] + "'");
        }
        headerLines[0]++;
        return;
      }
      if (twoIds[0] && f.length < 2) {
        throw BadInputException.atLine(path, lineNo, "expected ID_1 and ID_2, found one field");
      }
      samples.add(twoIds[0] ? new SampleId(f[0], f[1]) : new SampleId(f[0], f[0]), lineNo);
    });
    return samples.list();
  }
}
