package dev.fulcrum.http.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.http.wire.HeaderFields;
import org.junit.jupiter.api.Test;

/** The Connection header's tokens, read in place, and the request ids the proxy makes. */
class HeaderRewriterTest {
  @Test
  void aConnectionTokenMatchesItsFieldWhateverTheCaseAndTheSpacesAroundIt() {
    assertTrue(HeaderRewriter.listed("keep-alive", "Keep-Alive"));
    assertTrue(HeaderRewriter.listed("close, X-Secret", "x-secret"));
    assertTrue(HeaderRewriter.listed(" \tx-a ,x-b\t", "X-B"));
    assertTrue(HeaderRewriter.listed("x-a,,x-b,", "x-b"));
    assertFalse(HeaderRewriter.listed("keep-alive", "keep"));
    assertFalse(HeaderRewriter.listed("x-secrets", "x-secret"));
    assertFalse(HeaderRewriter.listed("x-a x-b", "x-b"), "tokens are separated by commas, not spaces");
    assertFalse(HeaderRewriter.listed("", "x"));
    assertFalse(HeaderRewriter.listed(",", "x"));
  }

  @Test
  void aRequestWithoutAnIdGetsThirtyTwoHexDigitsAndOneWithAnIdKeepsIt() {
    String made = HeaderRewriter.requestId(new HeaderFields(0));
    assertTrue(made.matches("[0-9a-f]{32}"), made);
    assertNotEquals(made, HeaderRewriter.requestId(new HeaderFields(0)));
    HeaderFields given = new HeaderFields(1);
    given.add("x-request-id", "abc-1");
    assertEquals("abc-1", HeaderRewriter.requestId(given));
  }
}
