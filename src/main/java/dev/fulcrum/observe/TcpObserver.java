package dev.fulcrum.observe;

import dev.fulcrum.routing.RoutedBackend;
import io.micrometer.core.instrument.Counter;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Counts the connections of one TCP listener and writes one access-log line per connection when it closes. Called on
 * the thread that closes the connection; never blocks.
 */
public final class TcpObserver {
  /** How a forwarded connection ended. */
  public enum Termination {
    NORMAL("normal"), REFUSED("refused"), CONNECT_FAILED("connect-failed"), TIMEOUT("timeout"), RESET("reset"),
    /** A TLS handshake refused (bad or old hello, plain text on a TLS port) or not done within its timeout. */
    TLS_REFUSED("tls-refused"),
    /** An untrusted peer, or a missing, malformed, truncated or late PROXY header. */
    PROXY_REFUSED("proxy-refused");

    final String label;

    Termination(String label) {
      this.label = label;
    }
  }

  private final Metrics metrics;
  private final String listener;
  private final String pool;
  private final AccessLog accessLog;
  private final ListenerMeters connections;
  private final Counter received;
  private final Counter sent;
  private final ConcurrentHashMap<String, Counter> byBackendAndEnd = new ConcurrentHashMap<>();

  private final boolean count;

  TcpObserver(Metrics metrics, String listener, String pool, AccessLog accessLog, ListenerMeters connections,
      boolean count) {
    this.count = count;
    this.metrics = metrics;
    this.listener = listener;
    this.pool = pool;
    this.accessLog = accessLog;
    this.connections = connections;
    this.received = metrics.bytes("fulcrum.tcp.received", "Bytes received from TCP clients", listener);
    this.sent = metrics.bytes("fulcrum.tcp.sent", "Bytes sent to TCP clients", listener);
  }

  public void opened() {
    if (count) connections.opened();
  }

  /**
   * A client connection closed. {@code backend} is the last one tried (null when none was), times are
   * {@code System.nanoTime()} stamps ({@code connected} 0 when no connect succeeded), bytes -1 when unknown.
   */
  public void closed(InetSocketAddress client, RoutedBackend backend, int attempts, int connectFailures, long started,
      long connected, long ended, long bytesIn, long bytesOut, Termination termination) {
    if (count) count(backend, connectFailures, bytesIn, bytesOut, termination);
    if (accessLog != null) write(client, backend, attempts, started, connected, ended, bytesIn, bytesOut, termination);
  }

  private void count(RoutedBackend backend, int connectFailures, long bytesIn, long bytesOut, Termination termination) {
    connections.closed();
    String address = backend == null ? "" : backend.address().toString();
    // one counter per (backend, termination): the key is built only for connections, never per byte
    String key = address + ' ' + termination.label;
    Counter counter = byBackendAndEnd.get(key);
    if (counter == null) {
      counter = byBackendAndEnd.computeIfAbsent(key, k -> Counter.builder("fulcrum.tcp.connections")
          .description("Closed TCP client connections by backend and how they ended")
          .tags("listener", listener, "pool", pool, "backend", address, "termination", termination.label)
          .register(metrics.registry()));
    }
    counter.increment();
    if (connectFailures > 0 && backend != null) metrics.connectFailures(pool, address).increment(connectFailures);
    if (bytesIn > 0) received.increment(bytesIn);
    if (bytesOut > 0) sent.increment(bytesOut);
  }

  private void write(InetSocketAddress client, RoutedBackend backend, int attempts, long started, long connected,
      long ended, long bytesIn, long bytesOut, Termination termination) {
    AccessRecord r = accessLog.record();
    r.kind = AccessRecord.TCP;
    r.total = Math.max(0, ended - started);
    // a string per connection (not per byte), as the line needs it
    r.clientIp = client == null ? null : client.getAddress().getHostAddress();
    r.clientPort = client == null ? 0 : client.getPort();
    r.listener = listener;
    r.route = null;
    r.pool = pool;
    r.backend = backend == null ? null : backend.address();
    r.method = r.target = r.requestId = null;
    r.status = 0;
    r.bytesIn = bytesIn;
    r.bytesOut = bytesOut;
    r.headRead = -1;
    r.queued = -1;
    r.connect = connected == 0 ? -1 : Math.max(0, connected - started);
    r.response = -1;
    r.retries = Math.max(0, attempts - 1);
    r.termination = termination.label;
    accessLog.publish(r);
  }
}
