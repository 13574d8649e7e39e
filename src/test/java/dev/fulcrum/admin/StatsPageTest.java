package dev.fulcrum.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.TestConfig;
import dev.fulcrum.testing.WebDriver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.Test;

/**
 * The stats page in a real headless Chromium against a running node: pools and backends rendered with their health,
 * a drain click that goes through the admin API (with the token), a change made through the API that shows up with
 * the page's polling turned off (it follows GET /api/events), at desktop and at phone width. Screenshots are saved
 * under target/ to look at.
 */
class StatsPageTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String TOKEN = "s3cret";

  @Test
  void theStatsPageShowsBackendsAndDrainsOneWithAClick() throws Exception {
    assumeTrue(WebDriver.available() || System.getenv("CI") != null, "needs /usr/bin/chromium and chromedriver (.ci/run installs them)");
    ActorSystem<Void> backends = ActorSystem.create(Behaviors.empty(), "backends");
    HttpBackend one = new HttpBackend(backends, r -> CompletableFuture.completedFuture(HttpResponse.create().withEntity("one")));
    HttpBackend two = new HttpBackend(backends, r -> CompletableFuture.completedFuture(HttpResponse.create().withEntity("two")));
    Fulcrum fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.admin.token = "%s"
        fulcrum.health-check.timeout = 5s
        fulcrum.pools.web.backends = ["%s", "%s"]
        fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{pool = web}] }
        """.formatted(TOKEN, one.address(), two.address())));
    try (WebDriver browser = new WebDriver(1280, 900)) {
      PoolHealth.awaitAllUp(fulcrum, "web", 2);
      String page = "http://127.0.0.1:" + fulcrum.adminAddress().getPort() + "/";
      browser.open(page);
      Eventually.await(WAIT, "two backend rows, both up", () -> browser.script(
          "return [...document.querySelectorAll('#backends tbody tr')].filter(r => r.dataset.health === 'up').length").asInt() == 2);
      JsonNode rows = browser.script("return [...document.querySelectorAll('#backends tbody tr')].map(r => r.innerText)");
      assertEquals(2, rows.size());
      assertTrue(rows.get(0).asText().contains("web") && rows.get(0).asText().contains("UP"), rows.toString());
      assertEquals(1, browser.script("return document.querySelectorAll('#listeners tbody tr').length").asInt());
      assertTrue(browser.script("return document.querySelector('#members tbody').innerText").asText().contains("Up"));

      // the token goes in first, as a user types it; then one click drains the first backend through the admin API
      browser.script("const t = document.getElementById('token'); t.value = '" + TOKEN + "';"
          + "t.dispatchEvent(new Event('change'));");
      String victim = one.address();
      browser.click("#backends tbody tr[data-backend='" + victim + "'] button.drain");
      AdminClient admin = new AdminClient(fulcrum.adminAddress(), Optional.empty());
      Eventually.await(WAIT, "the backend draining in the API", () -> {
        for (JsonNode b : admin.get("/api/pools/web").json().get("backends")) {
          if (b.get("address").asText().equals(victim)) return !b.get("admin").asText().equals("active");
        }
        return false;
      });
      Eventually.await(WAIT, "the page showing it draining", () -> browser.script(
          "const r = document.querySelector(\"#backends tbody tr[data-backend='" + victim + "']\");"
              + "return r ? r.dataset.admin : ''").asText().startsWith("drain"));
      assertEquals("Undrain", browser.script("return document.querySelector(\"#backends tbody tr[data-backend='"
          + victim + "'] button.drain\").textContent").asText());
      // the drain is an event in the pool's history, and the page lists it
      Eventually.await(WAIT, "the drain in the recent pool events", () -> browser.script(
          "return document.getElementById('events').innerText").asText().contains(victim));
      browser.screenshot(Path.of("target", "stats-page.png"));

      // with the counters' polling off, a change made elsewhere (here: the API) still shows at once: the page follows
      // GET /api/events and re-reads the pool on the event
      browser.open(page + "?interval=0");
      Eventually.await(WAIT, "the page following the event stream", () -> browser.script(
          "return document.body.dataset.live === 'true' && document.querySelectorAll('#backends tbody tr').length === 2").asBoolean());
      String other = two.address();
      AdminClient writer = new AdminClient(fulcrum.adminAddress(), Optional.of(TOKEN));
      assertEquals(200, writer.patch("/api/pools/web/backends/" + other, "{\"weight\": 7}").status());
      Eventually.await(WAIT, "the new weight on the page", () -> browser.script(
          "const r = document.querySelector(\"#backends tbody tr[data-backend='" + other + "']\");"
              + "return r ? r.querySelector(\"td[data-label='Weight']\").textContent : ''").asText().equals("7"));
      Eventually.await(WAIT, "the change in the recent pool events", () -> browser.script(
          "return document.getElementById('events').innerText").asText().contains("weight-changed"));
      assertTrue(browser.script("return document.getElementById('status').textContent").asText().contains("live"));
      try (WebDriver phone = new WebDriver(390, 844)) {
        phone.open(page);
        Eventually.await(WAIT, "rows at phone width", () -> phone.script(
            "return document.querySelectorAll('#backends tbody tr').length").asInt() == 2);
        // rows become cards: nothing wider than the screen, so no sideways scrolling
        int width = phone.script("return document.documentElement.scrollWidth").asInt();
        int viewport = phone.script("return window.innerWidth").asInt();
        assertTrue(width <= viewport, "page " + width + " px wide in a " + viewport + " px window");
        phone.screenshot(Path.of("target", "stats-page-phone.png"));
      }
    } finally {
      fulcrum.stop().toCompletableFuture().get();
      backends.terminate();
    }
  }
}
