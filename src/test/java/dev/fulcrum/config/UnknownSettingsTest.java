package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import java.io.File;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class UnknownSettingsTest {
  private static List<String> unknown(String text) {
    return UnknownSettings.find(ConfigFactory.parseString(text).withFallback(ConfigFactory.defaultReference()).resolve());
  }

  @Test
  void misspeltNamesAreFoundWithTheNearestKnownOne() {
    List<String> found = unknown("""
        fulcrum.pools.web { stratgy = random, backends = ["127.0.0.1:9001"], health-check.intervall = 5s }
        fulcrum.listeners.tcp.main { bind = "127.0.0.1:9090", pool = web, idel-timeout = 5s }
        fulcrum.listeners.http.site { bind = "127.0.0.1:8080", routes = [{pool = web}], respons-timeout = 5s }
        fulcrum.listners.http.other.bind = "127.0.0.1:8082"
        fulcrum.http.pools.web.stiky.enabled = on
        fulcrum.acess-log.enabled = off
        """);
    assertEquals(List.of(
        "fulcrum.acess-log: unknown setting, ignored (did you mean access-log?)",
        "fulcrum.http.pools.web.stiky: unknown setting, ignored (did you mean sticky?)",
        "fulcrum.listeners.http.site.respons-timeout: unknown setting, ignored (did you mean response-timeout?)",
        "fulcrum.listeners.tcp.main.idel-timeout: unknown setting, ignored (did you mean idle-timeout?)",
        "fulcrum.listners: unknown setting, ignored (did you mean listeners?)",
        "fulcrum.pools.web.health-check.intervall: unknown setting, ignored (did you mean interval?)",
        "fulcrum.pools.web.stratgy: unknown setting, ignored (did you mean strategy?)"),
        found.stream().map(line -> line.replaceAll(" \\(String: .*\\)$", "")).sorted().toList());
  }

  @Test
  void aNameFarFromEveryKnownOneIsFoundWithoutAGuess() {
    List<String> found = unknown("fulcrum.pools.web { backends = [], colour = blue }");
    assertEquals(1, found.size(), found.toString());
    assertTrue(found.get(0).startsWith("fulcrum.pools.web.colour: unknown setting, ignored ("), found.get(0));
    assertTrue(!found.get(0).contains("did you mean"), found.get(0));
  }

  @Test
  void namesUsersChooseAreNotSettings() {
    assertEquals(List.of(), unknown("""
        fulcrum.pools.stratgy-team { backends = ["127.0.0.1:9001"], health-check.headers { "X-Chek" = a } }
        fulcrum.listeners.tcp.idel { bind = "127.0.0.1:9090", pool = stratgy-team }
        fulcrum.listeners.http.respons { bind = "127.0.0.1:8080", routes = [{pool = stratgy-team, colour = ignored}] }
        fulcrum.http.pools.stratgy-team.sticky.enabled = on
        fulcrum.health-check.headers { "X-Anything" = b }
        """));
  }

  @ParameterizedTest
  @ValueSource(strings = {"conf/application.conf", "conf/tls.conf", "load-tests/bench.conf", "load-tests/bench-routes.conf",
      "load-tests/bench-tls.conf", "load-tests/bench-h2.conf"})
  void theShippedConfigsUseOnlyKnownSettings(String file) {
    Config config = ConfigFactory.parseFile(new File(file), ConfigParseOptions.defaults().setAllowMissing(false))
        .withFallback(ConfigFactory.defaultReference()).resolve();
    assertEquals(List.of(), UnknownSettings.find(config));
  }
}
