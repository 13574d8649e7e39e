package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.config.SettingsParser;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.routing.RoutingTables;
import dev.fulcrum.testing.TestConfig;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Route matching with 1000 routes (100 exact hosts, 10 wildcard hosts, 10 path prefixes each, plus header-matched
 * canaries), host + path lookup as a request does it: the bar is p50 under 200 ns and 0 B/op. Sample time gives the
 * percentiles, {@code -prof gc} the allocation:
 * {@code mvn -Pjmh test-compile exec:exec -Djmh.args="RouteMatchBenchmark -f1 -wi 3 -i 5 -w 1s -r 2s -bm sample -prof gc"}.
 */
@State(Scope.Thread)
@BenchmarkMode({Mode.SampleTime, Mode.AverageTime})
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RouteMatchBenchmark {
  private Routes routes;
  private final String[] hosts = new String[64];
  private final String[] paths = new String[64];
  private final HeaderFields plain = new HeaderFields(4);
  private final HeaderFields canary = new HeaderFields(4);
  private int next;

  @Setup
  public void setup() {
    StringBuilder table = new StringBuilder("[");
    for (int h = 0; h < 110; h++) {
      String host = h < 100 ? "host" + h + ".example.com" : "*.zone" + h + ".example.com";
      for (int p = 0; p < (h < 100 ? 10 : 9); p++) {
        String path = p == 0 ? "/" : "/service" + p + "/v" + (p % 3 + 1);
        if (p == 5) table.append("{host = \"").append(host).append("\", path = \"").append(path)
            .append("\", match-header = \"X-Canary: 1\", pool = canary}\n");
        else table.append("{host = \"").append(host).append("\", path = \"").append(path).append("\", pool = web}\n");
      }
    }
    table.append("{pool = web}]");
    List<HttpRouteSettings> settings = SettingsParser.parse(TestConfig.resolved("""
        fulcrum.pools.web.backends = ["127.0.0.1:9001"]
        fulcrum.pools.canary.backends = ["127.0.0.1:9002"]
        fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = %s }
        """.formatted(table))).http().listeners().get(0).routes();
    if (settings.size() < 1000) throw new IllegalStateException(settings.size() + " routes");
    routes = new Routes(settings, new RoutingTables());
    for (int i = 0; i < hosts.length; i++) {
      hosts[i] = i % 8 == 7 ? "api.zone10" + (i % 10) + ".example.com:8080" : "host" + (i * 7 % 100) + ".example.com";
      paths[i] = "/service" + (i % 9 + 1) + "/v" + (i % 9 % 3 + 1) + "/items/" + i + "?x";
      paths[i] = paths[i].substring(0, paths[i].indexOf('?'));
    }
    canary.add("X-Canary", "1");
    plain.add("Accept", "*/*");
  }

  @Benchmark
  public Route hostAndPath() {
    int i = next++ & 63;
    return routes.match(hosts[i], paths[i], plain);
  }

  @Benchmark
  public Route hostAndPathWithCanaryHeader() {
    int i = next++ & 63;
    return routes.match(hosts[i], paths[i], canary);
  }

  @Benchmark
  public Route unknownHostFallsToAnyHost() {
    int i = next++ & 63;
    return routes.match("unknown.example.org", paths[i], plain);
  }
}
