package dev.fulcrum.observe;

import dev.fulcrum.routing.RoutedBackend;
import io.micrometer.core.instrument.Counter;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
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
    long tt = TimeUnit.NANOSECONDS.toMillis(Math.max(0, ended - started));
    long tc = connected == 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(Math.max(0, connected - started));
    long start = System.currentTimeMillis() - tt;
    String ip = client == null ? null : client.getAddress().getHostAddress();
    int port = client == null ? 0 : client.getPort();
    String address = backend == null ? null : backend.address().toString();
    int retries = Math.max(0, attempts - 1);
    if (accessLog.json()) {
      Map<String, Object> fields = new LinkedHashMap<>();
      fields.put("type", "tcp");
      fields.put("start", java.time.Instant.ofEpochMilli(start).toString());
      fields.put("client_ip", ip);
      fields.put("client_port", port);
      fields.put("listener", listener);
      fields.put("pool", pool);
      fields.put("backend", address);
      fields.put("bytes_in", bytesIn);
      fields.put("bytes_out", bytesOut);
      fields.put("tc_ms", tc);
      fields.put("tt_ms", tt);
      fields.put("retries", retries);
      fields.put("termination", termination.label);
      accessLog.json(fields);
    } else {
      accessLog.text(new TcpLine(start, ip, port, listener, pool, address, bytesIn, bytesOut, tc, tt, retries,
          termination.label));
    }
  }

  /** One TCP connection's text line, formatted by the writer thread. */
  record TcpLine(long start, String ip, int port, String listener, String pool, String backend, long bytesIn,
      long bytesOut, long tc, long tt, int retries, String termination) implements AccessLog.Line {
    @Override
    public void appendTo(StringBuilder line) {
      line.append(java.time.Instant.ofEpochMilli(start)).append(' ');
      LogLines.client(line, ip, port);
      line.append(' ').append(listener).append(" - ").append(pool).append(' ');
      LogLines.field(line, backend).append(" \"TCP -\" - ");
      line.append(bytesIn).append(' ').append(bytesOut).append(" -1/-1/").append(tc).append("/-1/").append(tt);
      line.append(' ').append(retries).append(" - ").append(termination);
    }
  }
}
