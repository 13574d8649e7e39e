package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/** A WebSocket through the proxy: upgrade, subprotocol, forwarding headers, and messages both ways. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class HttpWebSocketTest {
  @Parameter String engine;

  private ActorSystem<Void> backends;
  private HttpBackend echo;
  private final LinkedBlockingQueue<String> forwardedFor = new LinkedBlockingQueue<>();
  private Fulcrum fulcrum;
  private int port;

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    echo = new HttpBackend(backends, request -> {
      var upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
      if (upgrade.isEmpty()) return CompletableFuture.completedFuture(HttpResponse.create().withEntity("up"));
      forwardedFor.add(request.getHeader("X-Forwarded-For").map(h -> h.value()).orElse("none"));
      // echo each text message back, prefixed so the test sees it went through the backend
      Flow<Message, Message, ?> flow = Flow.<Message>create()
          .mapAsync(1, m -> m.asTextMessage().toStrict(3_000, Materializer.matFromSystem(backends)))
          .map(m -> (Message) TextMessage.create("echo:" + m.getStrictText()));
      return CompletableFuture.completedFuture(upgrade.get().handleMessagesWith(flow, "chat"));
    });
    fulcrum = Fulcrum.start(ProxyTests.config(engine,
        """
        fulcrum.pools.ws.backends = ["%s"]
        fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{path = "/ws", pool = ws}] }
        """.formatted(echo.address())));
    port = fulcrum.httpListener("main").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "ws", 1);
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  @Test
  void messagesFlowBothWaysThroughTheProxy() throws Exception {
    LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
    WebSocket.Listener listener = new WebSocket.Listener() {
      private final StringBuilder text = new StringBuilder();

      @Override
      public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
        text.append(data);
        if (last) {
          received.add(text.toString());
          text.setLength(0);
        }
        ws.request(1);
        return null;
      }
    };
    WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
        .subprotocols("chat")
        .buildAsync(URI.create("ws://127.0.0.1:" + port + "/ws/echo"), listener)
        .get(10, TimeUnit.SECONDS);
    assertEquals("chat", ws.getSubprotocol());
    assertEquals("127.0.0.1", forwardedFor.poll(5, TimeUnit.SECONDS));

    ws.sendText("hello", true).get(5, TimeUnit.SECONDS);
    assertEquals("echo:hello", received.poll(5, TimeUnit.SECONDS));
    String big = "x".repeat(200_000);
    ws.sendText(big, true).get(5, TimeUnit.SECONDS);
    assertEquals("echo:" + big, received.poll(5, TimeUnit.SECONDS));
    ws.sendText("again", true).get(5, TimeUnit.SECONDS);
    assertEquals("echo:again", received.poll(5, TimeUnit.SECONDS));
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
  }
}
