package dev.fulcrum.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PrometheusText;
import dev.fulcrum.testing.TestConfig;
import dev.fulcrum.testing.TestDnsServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.xbill.DNS.Type;

/**
 * Pools that follow DNS names, against a DNS server of the test's own on a loopback port: backends on 127.0.0.2-4
 * (one port, as A records give addresses only) come and go with the records while requests run through an HTTP
 * listener, a failing name keeps its backends, SRV records give host and port, TTLs are held within their bounds, and
 * every change is in the journal with origin {@code dns <name>}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DnsDiscoveryTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  private final TestDnsServer dns = new TestDnsServer();
  private final List<HttpServer> servers = new ArrayList<>();
  private int port;
  private int api1;
  private int api2;
  private int backup;
  private int fixed;
  private Fulcrum fulcrum;
  private AdminClient admin;
  private int http;

  @BeforeAll
  void start() {
    port = sharedPort();
    for (int host = 2; host <= 4; host++) servers.add(serve("127.0.0." + host, port, "b" + host));
    api1 = serveAnywhere("api-1");
    api2 = serveAnywhere("api-2");
    backup = serveAnywhere("backup");
    fixed = serveAnywhere("fixed");
    dns.addresses("web.test", 1, "127.0.0.2", "127.0.0.3");
    dns.addresses("a1.test", 1, "127.0.0.1");
    dns.addresses("a2.test", 1, "127.0.0.1");
    dns.services("_http._tcp.api.test", 1,
        new TestDnsServer.Srv(10, 1, api1, "a1.test"),
        new TestDnsServer.Srv(10, 1, api2, "a2.test"),
        new TestDnsServer.Srv(20, 1, backup, "a1.test"));
    dns.addresses("short.test", 0, "127.0.0.5");
    dns.addresses("mid.test", 2, "127.0.0.6");
    dns.addresses("long.test", 3600, "127.0.0.7");
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.dns { servers = ["%s"], timeout = 500ms, min-ttl = 1s, max-ttl = 2s }
        fulcrum.health-check { type = tcp, interval = 1s, timeout = 1s }
        fulcrum.pools.web { discovery = dns, backends = ["web.test:%d"] }
        fulcrum.pools.api { discovery = dns, backends = ["_http._tcp.api.test"] }
        fulcrum.pools.ghost { discovery = dns, backends = ["127.0.0.1:%d", "ghost.test:%d"] }
        fulcrum.pools.ttl { discovery = dns, backends = ["short.test:1", "mid.test:1", "long.test:1"], dns { min-ttl = 1s, max-ttl = 3s } }
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          routes = [{path = "/web", pool = web}, {path = "/api", pool = api}, {path = "/ghost", pool = ghost}]
        }
        """.formatted(dns.address(), port, fixed, port)));
    admin = new AdminClient(fulcrum.adminAddress(), Optional.empty());
    http = fulcrum.httpListener("main").localAddress().getPort();
  }

  @AfterAll
  void stop() throws Exception {
    if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    servers.forEach(s -> s.stop(0));
    dns.close();
  }

  @Test
  void recordsAddedRemovedAndFailingWhileTrafficRunsCostNoClientAnErrorAndAreJournaledWithOriginDns() throws Exception {
    awaitBackends("web", "127.0.0.2", "127.0.0.3");
    Traffic traffic = new Traffic("/web/");
    try {
      awaitServed(traffic, "b2", "b3");

      dns.addresses("web.test", 1, "127.0.0.2", "127.0.0.3", "127.0.0.4");
      awaitBackends("web", "127.0.0.2", "127.0.0.3", "127.0.0.4");
      awaitServed(traffic, "b4");

      dns.addresses("web.test", 1, "127.0.0.3", "127.0.0.4");
      awaitBackends("web", "127.0.0.3", "127.0.0.4");
      awaitNoLonger(traffic, "b2");

      dns.fail("web.test", TestDnsServer.Failure.SERVFAIL);
      JsonNode failed = Eventually.await(WAIT, "the failure in the pool's answer", () -> pool("web"),
          p -> p.path("dns").path(0).hasNonNull("error"));
      assertEquals("web.test:" + port, failed.path("dns").path(0).path("name").asText());
      assertEquals(List.of("127.0.0.3:" + port, "127.0.0.4:" + port), texts(failed.path("dns").path(0).path("addresses")),
          "the last good answer is kept: " + failed);
      long failures = failed.path("dns").path(0).path("failures").asLong();
      dns.fail("web.test", TestDnsServer.Failure.SILENT);
      Eventually.await(WAIT, "a timed-out resolution counted", () -> pool("web"),
          p -> p.path("dns").path(0).path("failures").asLong() > failures);
      assertEquals(Set.of("127.0.0.3", "127.0.0.4"), hosts(pool("web")), "failing resolutions keep the backends");
      assertTrue(PrometheusText.value(PrometheusText.parse(admin.get("/metrics").body()),
          "fulcrum_dns_resolution_failures_total", "pool=web", "name=web.test:" + port) >= 2);

      dns.addresses("web.test", 1, "127.0.0.4");
      dns.heal("web.test");
      awaitBackends("web", "127.0.0.4");
      Eventually.await(WAIT, "the error cleared", () -> pool("web"), p -> !p.path("dns").path(0).hasNonNull("error"));
      awaitNoLonger(traffic, "b3");
    } finally {
      traffic.stop();
    }
    assertEquals(0, traffic.errors.get(), "errors seen by clients: " + traffic.lastError);
    assertTrue(traffic.ok.get() > 20, "requests answered: " + traffic.ok.get());

    JsonNode events = admin.get("/api/pools/web/events").json();
    String origin = "dns web.test:" + port;
    assertTrue(hasEvent(events, "backend-added", "127.0.0.4:" + port, origin), events.toString());
    assertTrue(hasEvent(events, "backend-removed", "127.0.0.2:" + port, origin), events.toString());
    assertTrue(hasEvent(events, "backend-removed", "127.0.0.3:" + port, origin), events.toString());
    for (JsonNode event : events) {
      if (event.path("type").asText().startsWith("backend-")) assertEquals(origin, event.path("origin").asText(), event.toString());
    }
  }

  @Test
  void srvRecordsGiveHostAndPortOfTheLowestPriority() throws Exception {
    JsonNode api = awaitBackends("api", "127.0.0.1");
    assertEquals(Set.of("127.0.0.1:" + api1, "127.0.0.1:" + api2), Set.copyOf(addresses(api)), "priority 20 is a backup, unused: " + api);
    Set<String> seen = new TreeSet<>();
    HttpClient client = HttpClient.newHttpClient();
    Eventually.await(WAIT, "both SRV targets serve", () -> {
      seen.add(body(client, "/api/x"));
      return seen.equals(Set.of("api-1", "api-2"));
    });
    assertTrue(admin.get("/api/pools/api/events").body().contains("dns _http._tcp.api.test"));
  }

  @Test
  void aNameThatNeverResolvesIsReportedAndThePoolRunsWithWhatItHasUntilTheNameAppears() throws Exception {
    JsonNode ghost = Eventually.await(WAIT, "the failure reported", () -> pool("ghost"),
        p -> p.path("dns").path(0).hasNonNull("error"));
    assertTrue(ghost.path("dns").path(0).path("error").asText().contains("ghost.test has no A or AAAA record"), ghost.toString());
    assertEquals(List.of("127.0.0.1:" + fixed), addresses(ghost));
    HttpClient client = HttpClient.newHttpClient();
    assertEquals("fixed", get(client, "/ghost/x").body());
    dns.addresses("ghost.test", 1, "127.0.0.2");
    awaitBackends("ghost", "127.0.0.1", "127.0.0.2");
  }

  @Test
  void eachNameIsAskedAgainAtItsTtlHeldWithinThePoolsBounds() {
    // the pool's bounds are 1s-3s: TTL 0 waits 1s, TTL 2 waits 2s, TTL 3600 waits 3s
    for (String name : List.of("short.test", "mid.test", "long.test")) {
      Eventually.await(Duration.ofSeconds(30), "four questions about " + name, () -> dns.queries(name, Type.A).size() >= 4);
    }
    assertGaps("short.test", 0.95, 2.5);
    assertGaps("mid.test", 1.95, 3.5);
    assertGaps("long.test", 2.95, 4.5);
  }

  /** Never sooner than the bound allows; typically (the median: a busy machine may delay one) not much later. */
  private void assertGaps(String name, double least, double most) {
    List<TestDnsServer.Query> queries = dns.queries(name, Type.A);
    List<Double> gaps = new ArrayList<>();
    for (int i = 1; i < queries.size(); i++) gaps.add((queries.get(i).nanos() - queries.get(i - 1).nanos()) / 1e9);
    for (double gap : gaps) assertTrue(gap >= least, name + ": " + gaps + " s between questions, none may be under " + least);
    List<Double> sorted = new ArrayList<>(gaps);
    sorted.sort(null);
    double median = sorted.get(sorted.size() / 2);
    assertTrue(median <= most, name + ": " + gaps + " s between questions, the median over " + most);
  }

  // ---- helpers -----------------------------------------------------------------------------------------------------

  private JsonNode pool(String name) {
    AdminClient.Response r = admin.get("/api/pools/" + name);
    assertEquals(200, r.status(), r.toString());
    return r.json();
  }

  private JsonNode awaitBackends(String pool, String... hosts) {
    Set<String> wanted = Set.of(hosts);
    return Eventually.await(WAIT, "pool " + pool + " with backends on " + wanted, () -> pool(pool), p -> hosts(p).equals(wanted));
  }

  private static Set<String> hosts(JsonNode pool) {
    Set<String> hosts = new TreeSet<>();
    for (String address : addresses(pool)) hosts.add(address.substring(0, address.lastIndexOf(':')));
    return hosts;
  }

  private static List<String> addresses(JsonNode pool) {
    List<String> list = new ArrayList<>();
    pool.path("backends").forEach(b -> list.add(b.path("address").asText()));
    list.sort(null);
    return list;
  }

  private static List<String> texts(JsonNode array) {
    List<String> list = new ArrayList<>();
    array.forEach(n -> list.add(n.asText()));
    return list;
  }

  private static boolean hasEvent(JsonNode events, String type, String address, String origin) {
    for (JsonNode e : events) {
      if (e.path("type").asText().equals(type) && e.path("address").toString().contains(address.substring(0, address.lastIndexOf(':')))
          && e.path("origin").asText().equals(origin)) {
        return true;
      }
    }
    return false;
  }

  private HttpResponse<String> get(HttpClient client, String path) throws IOException, InterruptedException {
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http + path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private String body(HttpClient client, String path) {
    try {
      return get(client, path).body();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private void awaitServed(Traffic traffic, String... names) {
    traffic.seen.clear();
    Eventually.await(WAIT, "requests served by " + List.of(names), () -> traffic.seen.keySet().containsAll(List.of(names)));
  }

  /** Until the routers have the change everywhere: 20 answers in a row from others. */
  private void awaitNoLonger(Traffic traffic, String name) {
    Eventually.await(WAIT, "no request served by " + name, () -> {
      traffic.seen.clear();
      int from = traffic.ok.get();
      Eventually.await(WAIT, "20 more answers", () -> traffic.ok.get() >= from + 20);
      return !traffic.seen.containsKey(name);
    });
  }

  /** Requests one after the other on a keep-alive client, bounded in time, until stopped. */
  private final class Traffic {
    final ConcurrentHashMap<String, Boolean> seen = new ConcurrentHashMap<>();
    final AtomicInteger ok = new AtomicInteger();
    final AtomicInteger errors = new AtomicInteger();
    volatile String lastError;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;

    Traffic(String path) {
      HttpClient client = HttpClient.newHttpClient();
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      thread = new Thread(() -> {
        while (running.get() && System.nanoTime() < end) {
          try {
            HttpResponse<String> r = get(client, path + ok.get());
            if (r.statusCode() == 200) {
              seen.put(r.body(), true);
              ok.incrementAndGet();
            } else {
              errors.incrementAndGet();
              lastError = r.statusCode() + " " + r.body();
            }
          } catch (IOException e) {
            errors.incrementAndGet();
            lastError = e.toString();
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "dns-test-traffic");
      thread.start();
    }

    void stop() throws InterruptedException {
      running.set(false);
      thread.join(15_000);
    }
  }

  /** A port free on 127.0.0.2-4 alike, so that an A record's address and one port name each backend. */
  private static int sharedPort() {
    for (int attempt = 0; attempt < 20; attempt++) {
      int candidate;
      try (ServerSocket probe = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.2"))) {
        candidate = probe.getLocalPort();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      boolean free = true;
      for (int host = 3; host <= 4 && free; host++) {
        try (ServerSocket other = new ServerSocket(candidate, 50, java.net.InetAddress.getByName("127.0.0." + host))) {
          // free there too
        } catch (BindException e) {
          free = false;
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
      if (free) return candidate;
    }
    throw new IllegalStateException("no port free on 127.0.0.2-4");
  }

  private int serveAnywhere(String name) {
    HttpServer server = serve("127.0.0.1", 0, name);
    servers.add(server);
    return server.getAddress().getPort();
  }

  /** Answers its name on every path. */
  private static HttpServer serve(String host, int port, String name) {
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 50);
      byte[] body = name.getBytes(StandardCharsets.UTF_8);
      server.createContext("/", exchange -> {
        exchange.getRequestBody().readAllBytes();
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
      });
      server.start();
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
