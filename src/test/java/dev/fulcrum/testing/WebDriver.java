package dev.fulcrum.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Just enough of the W3C WebDriver protocol, spoken to Debian's chromedriver over HTTP, to drive a headless Chromium
 * from a test: open a page, run a script, click an element, take a screenshot. No Selenium dependency.
 */
public final class WebDriver implements AutoCloseable {
  public static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final String ELEMENT = "element-6066-11e4-a52e-4f735466cecf";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Process driver;
  private final Path profile;
  private final String base;
  private final String session;
  private final HttpClient http = HttpClient.newHttpClient();

  /** Whether this machine has Chromium and ChromeDriver (CI installs them; see .ci/run). */
  public static boolean available() {
    return Files.isExecutable(CHROMEDRIVER) && Files.isExecutable(CHROMIUM);
  }

  public WebDriver(int width, int height) {
    int port = TestConfig.freePort();
    try {
      profile = Files.createTempDirectory("chromium-profile");
      driver = new ProcessBuilder(CHROMEDRIVER.toString(), "--port=" + port)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    base = "http://127.0.0.1:" + port;
    Eventually.await(Duration.ofSeconds(20), "chromedriver listening", () -> {
      try (Socket ignored = new Socket("127.0.0.1", port)) {
        return true;
      } catch (IOException e) {
        return false;
      }
    });
    ObjectNode capabilities = JSON.createObjectNode();
    ObjectNode always = capabilities.putObject("capabilities").putObject("alwaysMatch");
    always.put("browserName", "chrome");
    ObjectNode chrome = always.putObject("goog:chromeOptions");
    chrome.put("binary", CHROMIUM.toString());
    // the flags that work on this kind of machine: as root, no GPU, and no background calls to a closed network
    for (String arg : List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--window-size=" + width + "," + height)) {
      chrome.withArray("args").add(arg);
    }
    session = call("POST", "/session", capabilities).get("sessionId").asText();
  }

  public void open(String url) {
    call("POST", "/session/" + session + "/url", JSON.createObjectNode().put("url", url));
  }

  /** Runs {@code script} (a function body; {@code arguments} available) in the page and returns its result. */
  public JsonNode script(String script) {
    ObjectNode body = JSON.createObjectNode().put("script", script);
    body.putArray("args");
    return call("POST", "/session/" + session + "/execute/sync", body);
  }

  /** Clicks the first element matching the CSS selector, as a user would (scrolled into view, a real click). */
  public void click(String css) {
    JsonNode found = call("POST", "/session/" + session + "/element",
        JSON.createObjectNode().put("using", "css selector").put("value", css));
    // W3C names the field ELEMENT; older drivers say "ELEMENT"
    JsonNode ref = found.has(ELEMENT) ? found.get(ELEMENT) : found.get("ELEMENT");
    if (ref == null) throw new AssertionError("no element reference in " + found);
    String id = ref.asText();
    call("POST", "/session/" + session + "/element/" + id + "/click", JSON.createObjectNode());
  }

  public void screenshot(Path file) {
    String png = call("GET", "/session/" + session + "/screenshot", null).asText();
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.write(file, Base64.getDecoder().decode(png));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private JsonNode call(String method, String path, JsonNode body) {
    try {
      HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
      if (body == null) request.method(method, HttpRequest.BodyPublishers.noBody());
      else request.method(method, HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
          .header("Content-Type", "application/json");
      HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      JsonNode json = JSON.readTree(response.body());
      if (response.statusCode() != 200) throw new AssertionError("webdriver " + method + " " + path + ": " + response.body());
      return json.get("value");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Override
  public void close() {
    try {
      if (session != null) call("DELETE", "/session/" + session, null);
    } catch (RuntimeException | AssertionError ignored) {
      // the browser may be gone already
    } finally {
      driver.destroy();
      deleteProfile();
    }
  }

  /** The browser's profile directory goes with it: each run left 2.5 MB in the temporary directory. */
  private void deleteProfile() {
    try {
      driver.waitFor(5, TimeUnit.SECONDS);
      try (Stream<Path> files = Files.walk(profile)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    } catch (IOException e) {
      // a file the exiting browser still holds: left to the temporary directory's cleaning
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
