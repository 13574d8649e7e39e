package dev.fulcrum.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.fulcrum.config.DiscoverySettings.DnsName;
import dev.fulcrum.config.HostPort;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The pure part of DNS discovery: what answers mean for a pool's backends. */
class RecordDiffTest {
  private static final DnsName WEB = new DnsName("web.test", 80, false, 2);
  private static final DnsName API = new DnsName("_http._tcp.api.test", 0, true, 1);

  private static HostPort hp(String s) {
    return HostPort.parse(s, false);
  }

  private static Set<HostPort> set(String... addresses) {
    return java.util.Arrays.stream(addresses).map(RecordDiffTest::hp).collect(java.util.stream.Collectors.toSet());
  }

  private static Map<HostPort, String> discovered(String source, String... addresses) {
    Map<HostPort, String> map = new LinkedHashMap<>();
    for (String a : addresses) map.put(hp(a), source);
    return map;
  }

  @Test
  void aFirstAnswerAddsEveryAddressWithTheNamesWeightInAStableOrder() {
    List<RecordDiff.Change> changes = RecordDiff.between(List.of(WEB),
        Map.of("web.test:80", set("10.0.0.3:80", "10.0.0.1:80", "10.0.0.2:80")), set("10.9.9.9:80"), Map.of());
    assertEquals(List.of(
        new RecordDiff.Add(hp("10.0.0.1:80"), 2, "web.test:80"),
        new RecordDiff.Add(hp("10.0.0.2:80"), 2, "web.test:80"),
        new RecordDiff.Add(hp("10.0.0.3:80"), 2, "web.test:80")), changes);
  }

  @Test
  void anAddressThatLeftTheAnswerIsRemovedOthersStayAndNewOnesComeAfterTheRemovals() {
    List<RecordDiff.Change> changes = RecordDiff.between(List.of(WEB),
        Map.of("web.test:80", set("10.0.0.2:80", "10.0.0.4:80")),
        set("10.0.0.1:80", "10.0.0.2:80"), discovered("web.test:80", "10.0.0.1:80", "10.0.0.2:80"));
    assertEquals(List.of(
        new RecordDiff.Remove(hp("10.0.0.1:80"), "web.test:80"),
        new RecordDiff.Add(hp("10.0.0.4:80"), 2, "web.test:80")), changes);
  }

  @Test
  void anUnchangedAnswerChangesNothing() {
    assertEquals(List.of(), RecordDiff.between(List.of(WEB), Map.of("web.test:80", set("10.0.0.1:80")),
        set("10.0.0.1:80"), discovered("web.test:80", "10.0.0.1:80")));
  }

  @Test
  void aNameWithoutAGoodAnswerKeepsItsBackendsWhileTheOtherNameIsFollowed() {
    Map<HostPort, String> found = discovered("web.test:80", "10.0.0.1:80");
    found.putAll(discovered("_http._tcp.api.test", "10.0.1.1:8080"));
    // web failed (no answer): its backend stays; api's answer moved: its old backend goes
    List<RecordDiff.Change> changes = RecordDiff.between(List.of(WEB, API),
        Map.of("_http._tcp.api.test", set("10.0.1.2:8080")), set("10.0.0.1:80", "10.0.1.1:8080"), found);
    assertEquals(List.of(
        new RecordDiff.Remove(hp("10.0.1.1:8080"), "_http._tcp.api.test"),
        new RecordDiff.Add(hp("10.0.1.2:8080"), 1, "_http._tcp.api.test")), changes);
  }

  @Test
  void backendsNoNameAddedAreNeverTouchedAndAreNotAddedTwice() {
    // 10.0.0.1 came from config or the admin API: DNS naming it too adds nothing; its leaving the answer removes nothing
    assertEquals(List.of(), RecordDiff.between(List.of(WEB), Map.of("web.test:80", set("10.0.0.1:80")), set("10.0.0.1:80"), Map.of()));
    assertEquals(List.of(), RecordDiff.between(List.of(WEB), Map.of("web.test:80", set("10.0.0.2:80")),
        set("10.0.0.1:80", "10.0.0.2:80"), discovered("web.test:80", "10.0.0.2:80")));
  }

  @Test
  void anAddressTwoNamesGiveIsAddedOnceAndStaysWhileEitherGivesIt() {
    DnsName other = new DnsName("other.test", 80, false, 5);
    List<RecordDiff.Change> changes = RecordDiff.between(List.of(WEB, other),
        Map.of("web.test:80", set("10.0.0.1:80"), "other.test:80", set("10.0.0.1:80")), set(), Map.of());
    assertEquals(List.of(new RecordDiff.Add(hp("10.0.0.1:80"), 2, "web.test:80")), changes);
    assertEquals(List.of(), RecordDiff.between(List.of(WEB, other),
        Map.of("web.test:80", set(), "other.test:80", set("10.0.0.1:80")), set("10.0.0.1:80"), discovered("web.test:80", "10.0.0.1:80")));
  }

  @Test
  void backendsOfANameNoLongerFollowedAreRemoved() {
    assertEquals(List.of(new RecordDiff.Remove(hp("10.0.0.7:80"), "old.test:80")), RecordDiff.between(List.of(WEB),
        new HashMap<>(), set("10.0.0.7:80"), discovered("old.test:80", "10.0.0.7:80")));
  }

  @Test
  void originsNameTheirSource() {
    assertEquals("dns web.test:80", RecordDiff.originOf("web.test:80"));
    assertEquals(Optional.of("web.test:80"), RecordDiff.sourceOf("dns web.test:80"));
    assertEquals(Optional.empty(), RecordDiff.sourceOf("admin-api 127.0.0.1"));
    assertEquals(Optional.empty(), RecordDiff.sourceOf("dnsx"));
    assertEquals(Optional.empty(), RecordDiff.sourceOf(null));
  }
}
