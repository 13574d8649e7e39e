package dev.fulcrum.tcp;

import dev.fulcrum.config.TcpListenerSettings;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What both engines count the same way: open client connections and those turned away for want of a backend. */
abstract class CountingTcpListener implements TcpListener {
  private static final Logger log = LoggerFactory.getLogger(TcpListener.class);

  protected final TcpListenerSettings settings;
  protected final AtomicInteger openConnections = new AtomicInteger();
  protected final RateLimitedCounter noBackend;

  CountingTcpListener(TcpListenerSettings settings) {
    this.settings = settings;
    this.noBackend = new RateLimitedCounter(count -> log.warn(
        "listener {}: no healthy backend in pool {}, closed {} client connection(s)",
        settings.name(), settings.pool(), count));
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
