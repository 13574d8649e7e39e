package dev.fulcrum.http;

import dev.fulcrum.config.HttpListenerSettings;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/** An L7 listener: proxies each request to the pool its route names; {@link HttpListeners#start} starts one. */
public interface HttpListener {
  HttpListenerSettings settings();

  InetSocketAddress localAddress();

  /** The listener's TLS (its certificates reload through it), or empty on a plain listener. */
  default java.util.Optional<dev.fulcrum.tls.TlsContext> tls() {
    return java.util.Optional.empty();
  }

  /** Stops accepting new connections; open ones go on. */
  CompletionStage<Done> unbind();

  /** Lets in-flight requests finish for up to {@code deadline}, then closes every connection, clients' and backends'. */
  CompletionStage<Done> terminate(Duration deadline);
}
