package dev.fulcrum.http.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.http.wire.PathNormalizer.EncodedSlash;
import dev.fulcrum.http.wire.PathNormalizer.Normalized;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PathNormalizerTest {
  private static Normalized normal(PathNormalizer normalizer, String raw) {
    ParsedPath parsed = normalizer.normalize(raw);
    if (parsed instanceof WireError e) throw new AssertionError(raw + " refused: " + e.problem());
    return (Normalized) parsed;
  }

  /** Every one of these is the path /admin/x, to the firewall and to the backend. */
  @ParameterizedTest
  @ValueSource(strings = {
      "/admin/x", "/%61dmin/x", "/%61%64%6D%69%6E/x", "/%61%64%6d%69%6e/x", "//admin/x", "/admin//x", "///admin///x",
      "/./admin/x", "/admin/./x", "/public/../admin/x", "/public/%2e%2e/admin/x", "/public/%2E%2E/admin/x",
      "/public/.%2e/admin/x", "/public/%2e./admin/x", "/%2e/admin/x", "/admin%2Fx", "/admin%2fx", "/public/..%2Fadmin/x",
      "/public%2F..%2Fadmin/x", "/a/b/../../admin/x", "/../admin/x", "/admin/x/.", "/admin/x/y/.."})
  void everySpellingOfAPathIsThatPath(String raw) {
    Normalized path = normal(PathNormalizer.DEFAULT, raw);
    String expected = raw.endsWith("/.") || raw.endsWith("/..") ? "/admin/x/" : "/admin/x";
    assertEquals(expected, path.decoded(), raw);
    assertEquals(expected, path.forwarded(), raw);
  }

  static Stream<Arguments> refused() {
    return Stream.of(
        Arguments.of("/admin\\x", "backslash"),
        Arguments.of("/admin%5Cx", "encoded backslash"),
        Arguments.of("/admin%5cx", "encoded backslash"),
        Arguments.of("/admin%00/x", "encoded NUL"),
        Arguments.of("/admin%zz", "does not start a percent-encoded byte"),
        Arguments.of("/admin%4", "does not start a percent-encoded byte"),
        Arguments.of("/admin%", "does not start a percent-encoded byte"));
  }

  @ParameterizedTest
  @MethodSource("refused")
  void ambiguousSpellingsAreRefused(String raw, String why) {
    WireError e = assertInstanceOf(WireError.class, PathNormalizer.DEFAULT.normalize(raw), raw);
    assertEquals(WireError.Kind.MALFORMED, e.kind());
    assertTrue(e.problem().contains(why), e.problem());
  }

  @Test
  void otherEncodingsStayEncodedInUpperCaseAndAreDecodedForMatching() {
    Normalized path = normal(PathNormalizer.DEFAULT, "/caf%c3%a9/a%20b/100%25");
    assertEquals("/caf%C3%A9/a%20b/100%25", path.forwarded());
    assertEquals("/caf\u00e9/a b/100%", path.decoded());
  }

  @Test
  void encodedSlashesAsConfigured() {
    assertInstanceOf(WireError.class, new PathNormalizer(EncodedSlash.REJECT, true).normalize("/a%2Fb"));
    Normalized kept = normal(new PathNormalizer(EncodedSlash.KEEP, true), "/a%2fb/%2E%2E/c");
    assertEquals("/c", kept.forwarded(), "%2F kept within its segment, which .. then removes");
    Normalized keptAlone = normal(new PathNormalizer(EncodedSlash.KEEP, true), "/admin%2fx");
    assertEquals("/admin%2Fx", keptAlone.forwarded());
    assertEquals("/admin%2Fx", keptAlone.decoded(), "a kept %2F is not a separator to the firewall either");
  }

  @Test
  void slashesAreMergedOnlyWhenConfigured() {
    assertEquals("//a///b", normal(new PathNormalizer(EncodedSlash.DECODE, false), "//a///b").forwarded());
    assertEquals("/a/b", normal(PathNormalizer.DEFAULT, "//a///b").forwarded());
  }

  @Test
  void aPathAlreadyInItsNormalFormIsLeftAsItIs() {
    for (String raw : new String[] {"/", "/a", "/a/b/", "/a%20b", "/~user/x-y_z.txt", "/%C3%A9"}) {
      assertEquals(raw, normal(PathNormalizer.DEFAULT, raw).forwarded());
    }
  }
}
