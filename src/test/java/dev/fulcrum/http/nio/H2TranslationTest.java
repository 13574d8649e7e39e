package dev.fulcrum.http.nio;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.http.wire.HeaderFields;
import org.junit.jupiter.api.Test;

/** RFC 9113 §8.2.2: of TE, only "trailers" goes to an HTTP/2 backend, and only when the client asked for it. */
class H2TranslationTest {
  private static boolean asks(String... te) {
    HeaderFields h = new HeaderFields();
    h.add("Accept", "*/*");
    for (String v : te) h.add("TE", v);
    return H2Translation.asksForTrailers(h);
  }

  @Test
  void trailersIsFoundAmongOtherCodingsAndParameters() {
    assertTrue(asks("trailers"));
    assertTrue(asks("gzip;q=0.5, Trailers"));
    assertTrue(asks("deflate", "trailers;q=1"));
    assertFalse(asks());
    assertFalse(asks("gzip, deflate"));
    assertFalse(asks("trailersx"));
  }
}
