package dev.fulcrum.tcp;

import dev.fulcrum.config.TcpListenerSettings;
import dev.fulcrum.firewall.Firewall;
import java.net.InetAddress;
import dev.fulcrum.nio.RateLimitedCounter;
import dev.fulcrum.nio.Refusal;
import dev.fulcrum.observe.TcpObserver;
import dev.fulcrum.routing.RoutedBackend;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What both engines share: counting open client connections and those turned away for want of a backend, and logging
 * a client given up after its connects failed.
 */
abstract class CountingTcpListener implements TcpListener {
  private static final Logger log = LoggerFactory.getLogger(TcpListener.class);

  protected final TcpListenerSettings settings;
  protected final AtomicInteger openConnections = new AtomicInteger();
  protected final RateLimitedCounter noBackend;
  protected final TcpObserver observer;
  private final RateLimitedCounter refused;
  private final RateLimitedCounter tlsRefused;
  private final RateLimitedCounter proxyRefused;
  private final Firewall firewall;

  CountingTcpListener(TcpListenerSettings settings, TcpObserver observer) {
    this.settings = settings;
    this.observer = observer;
    this.noBackend = new RateLimitedCounter(count -> log.warn(
        "listener {}: no healthy backend in pool {}, closed {} client connection(s)",
        settings.name(), settings.pool(), count));
    this.refused = new RateLimitedCounter(count -> log.info(
        "listener {}: the firewall refused {} client connection(s)", settings.name(), count));
    this.firewall = new Firewall(settings.firewall());
    this.tlsRefused = new RateLimitedCounter((count, sample) -> log.info(
        "listener {}: {} TLS handshake(s) refused or timed out; the latest: {}", settings.name(), count,
        sample == null ? "" : sample.getMessage()));
    this.proxyRefused = new RateLimitedCounter((count, sample) -> log.info(
        "listener {}: {} connection(s) closed for their PROXY header or peer; the latest: {}", settings.name(), count,
        sample == null ? "" : sample.getMessage()));
  }

  /** A client's TLS handshake failed or timed out: counted, and logged now and then with the reason. */
  void tlsRefused(Object client, String reason) {
    tlsRefused.increment(new Refusal(client + ": " + reason));
  }

  /** A client sent no usable PROXY header, or came from a peer not trusted to send one. */
  void proxyRefused(Object client, String reason) {
    proxyRefused.increment(new Refusal(client + ": " + reason));
  }

  @Override
  public long tlsRefusals() {
    return tlsRefused.total();
  }

  @Override
  public long proxyProtocolRefusals() {
    return proxyRefused.total();
  }

  /** Whether the firewall lets this client in; a refusal is counted (and logged now and then). */
  boolean permitted(InetAddress client) {
    if (firewall.permits(client)) return true;
    refused.increment();
    return false;
  }

  @Override
  public long refusedConnections() {
    return refused.total();
  }

  /** The client is closed: every backend it was allowed to try refused or timed out. */
  void gaveUp(Object client, int failed, RoutedBackend last, String reason) {
    log.warn("listener {}: closing client {} after {} failed connect attempt(s), last to {}: {}",
        settings.name(), client, failed, last.address(), reason);
  }

  @Override
  public TcpListenerSettings settings() {
    return settings;
  }

  @Override
  public int openConnections() {
    return openConnections.get();
  }

  @Override
  public long rejectedConnections() {
    return noBackend.total();
  }
}
