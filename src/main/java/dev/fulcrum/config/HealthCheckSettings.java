package dev.fulcrum.config;

import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * How a backend's health is checked actively. {@code rise} consecutive passes bring a down backend up, {@code fall}
 * consecutive failures (active, or connect failures seen by the data plane) take an up backend down.
 *
 * @param method the HTTP check's request method
 * @param host the HTTP check's Host header; empty: the backend's own host:port
 * @param headers further header fields of the HTTP check's request (metadata of a gRPC check's call)
 * @param service the gRPC check's service name; empty: the server's overall health
 * @param downInterval HAProxy's {@code downinter}: how often a backend that is down is checked; empty: {@code interval}
 * @param fastInterval HAProxy's {@code fastinter}: how often a backend is checked while it is on its way up or down
 *     (the last check disagreed with its state, or it has no state yet); empty: {@code interval}
 */
public record HealthCheckSettings(
    Kind kind,
    String path,
    int expectStatus,
    Optional<String> expectBody,
    Duration interval,
    Duration timeout,
    int rise,
    int fall,
    String method,
    Optional<String> host,
    Map<String, String> headers,
    String service,
    Optional<Duration> downInterval,
    Optional<Duration> fastInterval) {

  public static final String DEFAULT_METHOD = "GET";

  /** Header fields the probe writes itself: letting a user set them would make the request ambiguous or unframed. */
  private static final java.util.Set<String> RESERVED_HEADERS =
      java.util.Set.of("host", "connection", "content-length", "transfer-encoding", "upgrade", "expect", "te", "trailer");

  public enum Kind {
    TCP,
    HTTP,
    /** grpc.health.v1.Health/Check over HTTP/2 (h2c, or h2 when the pool has TLS to its backends). */
    GRPC
  }

  public HealthCheckSettings {
    // Journals and replicated states written before these fields existed have none: they meant the old request.
    if (method == null) method = DEFAULT_METHOD;
    if (host == null) host = Optional.empty();
    if (expectBody == null) expectBody = Optional.empty();
    if (service == null) service = "";
    if (downInterval == null) downInterval = Optional.empty();
    if (fastInterval == null) fastInterval = Optional.empty();
    headers = headers == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(headers));
    // the request is written from these as they are: a CR or LF would let config inject another request
    Optional<String> bad = methodProblem(method);
    if (bad.isEmpty() && host.isPresent()) bad = hostProblem(host.get());
    for (Map.Entry<String, String> field : headers.entrySet()) {
      if (bad.isEmpty()) bad = headerProblem(field.getKey(), field.getValue());
    }
    if (bad.isEmpty()) bad = serviceProblem(kind, service);
    if (bad.isPresent()) throw new IllegalArgumentException(bad.get());
  }

  /** A GET with the backend's address as Host and no further headers, as checks were before these were settable. */
  public HealthCheckSettings(
      Kind kind, String path, int expectStatus, Optional<String> expectBody, Duration interval, Duration timeout, int rise, int fall) {
    this(kind, path, expectStatus, expectBody, interval, timeout, rise, fall, DEFAULT_METHOD, Optional.empty(), Map.of());
  }

  /** No gRPC service (the check of a whole server, or not a gRPC check), the down and fast intervals {@code interval}. */
  public HealthCheckSettings(Kind kind, String path, int expectStatus, Optional<String> expectBody, Duration interval,
      Duration timeout, int rise, int fall, String method, Optional<String> host, Map<String, String> headers) {
    this(kind, path, expectStatus, expectBody, interval, timeout, rise, fall, method, host, headers, "");
  }

  /** The down and fast intervals follow {@code interval}. */
  public HealthCheckSettings(Kind kind, String path, int expectStatus, Optional<String> expectBody, Duration interval,
      Duration timeout, int rise, int fall, String method, Optional<String> host, Map<String, String> headers,
      String service) {
    this(kind, path, expectStatus, expectBody, interval, timeout, rise, fall, method, host, headers, service,
        Optional.empty(), Optional.empty());
  }

  public HealthCheckSettings withRequest(String method, Optional<String> host, Map<String, String> headers) {
    return new HealthCheckSettings(kind, path, expectStatus, expectBody, interval, timeout, rise, fall, method, host, headers,
        service, downInterval, fastInterval);
  }

  /** A gRPC check of {@code service} (empty: the server as a whole). */
  public HealthCheckSettings withGrpcService(String service) {
    return new HealthCheckSettings(Kind.GRPC, path, expectStatus, expectBody, interval, timeout, rise, fall, method, host,
        headers, service, downInterval, fastInterval);
  }

  public HealthCheckSettings withIntervals(Optional<Duration> downInterval, Optional<Duration> fastInterval) {
    return new HealthCheckSettings(kind, path, expectStatus, expectBody, interval, timeout, rise, fall, method, host, headers,
        service, downInterval, fastInterval);
  }

  /**
   * A gRPC service name as it goes into the request (grpc.health.v1 takes any string; a fully qualified proto name
   * such as {@code package.Service} is what servers register). Only a gRPC check names one: elsewhere it would be
   * silently ignored.
   */
  public static Optional<String> serviceProblem(Kind kind, String service) {
    if (service.isEmpty()) return Optional.empty();
    if (kind != Kind.GRPC) return Optional.of("only a check of type grpc names a service");
    if (service.length() > 256 || !service.matches("[A-Za-z0-9_.$/-]+")) {
      return Optional.of("'" + service + "' is not a gRPC service name (letters, digits and _.$/-, at most 256)");
    }
    return Optional.empty();
  }

  /** The interval between checks of a backend that is down (and whose last check failed). */
  public Duration effectiveDownInterval() {
    return downInterval.orElse(interval);
  }

  /** The interval between checks of a backend on its way up or down. */
  public Duration effectiveFastInterval() {
    return fastInterval.orElse(interval);
  }

  /** The shortest of the three intervals. */
  public Duration shortestInterval() {
    Duration shortest = interval;
    if (effectiveDownInterval().compareTo(shortest) < 0) shortest = effectiveDownInterval();
    if (effectiveFastInterval().compareTo(shortest) < 0) shortest = effectiveFastInterval();
    return shortest;
  }

  /** Header values are left out: they may be credentials, and this string is logged (e.g. a journal-config diff). */
  @Override
  public String toString() {
    return "HealthCheckSettings[kind=" + kind + ", path=" + path + ", expectStatus=" + expectStatus + ", expectBody="
        + expectBody + ", interval=" + interval + ", timeout=" + timeout + ", rise=" + rise + ", fall=" + fall
        + ", method=" + method + ", host=" + host + ", headers=" + headers.keySet() + ", service=" + service
        + ", downInterval=" + downInterval + ", fastInterval=" + fastInterval + "]";
  }

  public static Optional<String> methodProblem(String method) {
    if (method.isEmpty() || method.length() > 32 || !isToken(method)) {
      return Optional.of("'" + method + "' is not an HTTP method (letters, digits and !#$%&'*+-.^_`|~, at most 32)");
    }
    return Optional.empty();
  }

  /**
   * The path goes into the check's request line as it is: a space, CR, LF or non-ASCII character there makes a
   * request every backend refuses (the backend is marked down for the config's typo) or, with CR LF, another request.
   */
  public static Optional<String> pathProblem(String path) {
    if (!path.startsWith("/")) return Optional.of("must start with '/', got '" + path + "'");
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c <= 0x20 || c >= 0x7F) {
        return Optional.of("'" + path + "' has a space, control or non-ASCII character (percent-encode it, e.g. %20)");
      }
    }
    return Optional.empty();
  }

  public static Optional<String> hostProblem(String host) {
    if (host.isEmpty() || !host.matches("[A-Za-z0-9._:\\[\\]%-]+")) {
      return Optional.of("'" + host + "' is not a host or host:port");
    }
    return Optional.empty();
  }

  public static Optional<String> headerProblem(String name, String value) {
    if (name.isEmpty() || !isToken(name)) return Optional.of("'" + name + "' is not a header field name");
    if (RESERVED_HEADERS.contains(name.toLowerCase(java.util.Locale.ROOT))) {
      return Optional.of("'" + name + "' is written by the check itself" + (name.equalsIgnoreCase("host") ? "; set host instead" : ""));
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7F || c > 0xFF) {
        return Optional.of("the value of " + name + " has a control or non-Latin-1 character");
      }
    }
    return Optional.empty();
  }

  private static boolean isToken(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!ok) return false;
    }
    return true;
  }
}
