package dev.fulcrum.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.DiscoverySettings.DnsName;
import dev.fulcrum.config.DnsSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.testing.TestDnsServer;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The resolver against a DNS server of the test's own on a loopback port. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DnsResolverTest {
  private final TestDnsServer dns = new TestDnsServer();
  private final DnsResolver resolver = new DnsResolver(new DnsSettings(
      List.of(HostPort.parse(dns.address(), false)), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(10)));

  @AfterAll
  void stop() {
    dns.close();
  }

  private DnsResolver.Answer resolve(DnsName name) throws Exception {
    return resolver.resolve(name).toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  private String failure(DnsName name) {
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> resolver.resolve(name).toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertInstanceOf(DnsResolver.Failure.class, e.getCause(), String.valueOf(e.getCause()));
    return e.getCause().getMessage();
  }

  @Test
  void aNameGivesItsAAndAaaaRecordsOnThePortWithTheLeastTtl() throws Exception {
    dns.addresses("both.test", 30, "10.0.0.1", "10.0.0.2", "::1");
    dns.addresses("both.test", 30, "10.0.0.1", "10.0.0.2", "::1");
    DnsResolver.Answer answer = resolve(new DnsName("both.test", 8080, false, 1));
    assertEquals(Set.of(HostPort.parse("10.0.0.1:8080", false), HostPort.parse("10.0.0.2:8080", false),
        HostPort.parse("[0:0:0:0:0:0:0:1]:8080", false)), answer.addresses());
    assertEquals(Duration.ofSeconds(30), answer.ttl());
  }

  @Test
  void aServiceGivesTheTargetsOfItsLowestPriorityOnTheirPorts() throws Exception {
    dns.addresses("a1.test", 60, "10.0.1.1");
    dns.addresses("a2.test", 5, "10.0.1.2");
    dns.addresses("backup.test", 60, "10.0.1.9");
    dns.services("_http._tcp.api.test", 20,
        new TestDnsServer.Srv(10, 1, 9001, "a1.test"),
        new TestDnsServer.Srv(10, 1, 9002, "a2.test"),
        new TestDnsServer.Srv(20, 1, 9009, "backup.test"));
    DnsResolver.Answer answer = resolve(new DnsName("_http._tcp.api.test", 0, true, 1));
    assertEquals(Set.of(HostPort.parse("10.0.1.1:9001", false), HostPort.parse("10.0.1.2:9002", false)), answer.addresses());
    assertEquals(Duration.ofSeconds(5), answer.ttl(), "the least TTL of the SRV records and their targets' records");
  }

  @Test
  void noRecordsNxdomainServfailAndSilenceAreFailuresThatSayWhy() {
    assertTrue(failure(new DnsName("nowhere.test", 80, false, 1)).contains("nowhere.test has no A or AAAA record"));
    dns.addresses("empty.test", 30);
    assertTrue(failure(new DnsName("empty.test", 80, false, 1)).contains("no A or AAAA record"));
    dns.addresses("broken.test", 30, "10.0.0.1");
    dns.fail("broken.test", TestDnsServer.Failure.SERVFAIL);
    String servfail = failure(new DnsName("broken.test", 80, false, 1));
    assertTrue(servfail.startsWith("broken.test: "), servfail);
    dns.addresses("silent.test", 30, "10.0.0.1");
    dns.fail("silent.test", TestDnsServer.Failure.SILENT);
    long start = System.nanoTime();
    String silent = failure(new DnsName("silent.test", 80, false, 1));
    assertTrue(silent.startsWith("silent.test: "), silent);
    assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(4), "bounded by the timeout");
    assertTrue(failure(new DnsName("_http._tcp.none.test", 0, true, 1)).contains("no SRV record"));
  }
}
