package org.lmmspark.engine.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.lmmspark.engine.BadInputException;

/** Every tile runs exactly once on any thread count, and a tile's failure reaches the caller as it was thrown. */
class TilesTest {

  @Test
  void everyTileOnceOnAnyThreadCount() {
    for (int threads : new int[] {1, 2, 5}) {
      for (int count : new int[] {0, 1, 3, 40}) {
        AtomicIntegerArray runs = new AtomicIntegerArray(Math.max(1, count));
        try (Tiles tiles = new Tiles(threads, "test-tiles")) {
          tiles.run(count, runs::incrementAndGet);
          tiles.run(count, runs::incrementAndGet); // a second step on the same workers
        }
        for (int i = 0; i < count; i++) {
          assertEquals(2, runs.get(i), threads + " threads, " + count + " tiles: tile " + i);
        }
      }
    }
    assertThrows(IllegalArgumentException.class, () -> new Tiles(0, "test-tiles"));
  }

  @Test
  void aTileFailureIsRethrownAsItself() {
    BadInputException bad = new BadInputException("tile 7 is bad");
    try (Tiles tiles = new Tiles(2, "test-tiles")) {
      for (int repeat = 0; repeat < 5; repeat++) { // on the caller or on the helper, whichever takes tile 7
        BadInputException thrown = assertThrows(BadInputException.class, () -> tiles.run(20, i -> {
          if (i == 7) {
            throw bad;
          }
        }));
        assertSame(bad, thrown);
      }
      AssertionError error = new AssertionError("an error stays an error");
      assertSame(error, assertThrows(AssertionError.class, () -> tiles.run(3, i -> {
        if (i == 2) {
          throw error;
        }
      })));
    }
  }
}
