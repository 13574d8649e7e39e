package dev.fulcrum.http.proxy;

import dev.fulcrum.routing.RoutedBackend;

/**
 * What one HTTP request did, filled in by the engine at its phase changes (one call each) and handed to the listener's
 * {@link Observer} when it ends, which counts it and writes its access-log line. Times are {@code System.nanoTime()}
 * stamps (the nio engine's loop clock); the observer turns them into HAProxy's Tq/Tw/Tc/Tr/Tt.
 *
 * <p>The nio engine keeps one per client connection and reuses it for each request (a connection serves one request at
 * a time), so counting allocates nothing per request; the pekko engine makes one per request. Not thread-safe: the
 * engine's phases of one request happen one after another.
 */
public final class ExchangeLog {
  /** How the request ended, as HAProxy's termination state tells it (shown as the first word). */
  public enum Termination {
    /** The backend's response reached the client whole. */
    NORMAL("normal"),
    /** The proxy answered itself: no route, firewall, a limit, a malformed request. */
    LOCAL("local"),
    /** No backend could take it: none eligible, the queue full. */
    REFUSED("refused"),
    /** Connecting to the backends failed. */
    CONNECT_FAILED("connect-failed"),
    /** A connect, queue or response timeout. */
    TIMEOUT("timeout"),
    /** The backend closed, reset or sent garbage. */
    BACKEND_RESET("backend-reset"),
    /** The client went away before the response was complete. */
    CLIENT_ABORT("client-abort");

    public final String label;

    Termination(String label) {
      this.label = label;
    }
  }

  /** Receives ended requests: counts them and writes access-log lines. Called on the engine's thread; never blocks. */
  public interface Observer {
    void ended(ExchangeLog log);

    /** Counts nothing, logs nothing. */
    Observer NONE = log -> {};
  }

  public static final String HTTP_1_0 = "HTTP/1.0";
  public static final String HTTP_1_1 = "HTTP/1.1";
  public static final String HTTP_2 = "HTTP/2";

  private final Observer observer;
  private boolean active;
  /**
   * The client side's protocol ({@link #HTTP_1_1} unless the engine says otherwise where the exchange starts); kept
   * across {@link #begin}, as a connection's protocol is its own.
   */
  public String protocol = HTTP_1_1;
  public long started;
  public long headReceived;
  public long attemptStarted;
  /** When the attempt went into its backend's queue (0 when it did not, or the engine does not say). */
  public long queuedAt;
  /** When the attempt left the queue: its connect began or a connection was handed to it (0 when unknown). */
  public long connectStarted;
  public long connected;
  public long responseHead;
  public long ended;
  public String clientIp;
  public int clientPort;
  public String method;
  public String target;
  public String requestId;
  public Route route;
  public RoutedBackend backend;
  public int attempts;
  public int connectFailures;
  public int status;
  public long bytesIn;
  public long bytesOut;
  public Termination termination;

  public ExchangeLog(Observer observer) {
    this.observer = observer;
  }

  /** A request head was read completely (its first byte came at {@code started}); forgets the previous request. */
  public void begin(long started, long now, String clientIp, int clientPort, long headBytes) {
    active = true;
    this.started = started;
    this.headReceived = now;
    this.clientIp = clientIp;
    this.clientPort = clientPort;
    attemptStarted = queuedAt = connectStarted = connected = responseHead = ended = 0;
    method = target = requestId = null;
    route = null;
    backend = null;
    attempts = connectFailures = status = 0;
    bytesIn = headBytes;
    bytesOut = 0;
    termination = null;
  }

  public void request(String method, String target, String requestId) {
    this.method = method;
    this.target = target;
    this.requestId = requestId;
  }

  public void routed(Route route) {
    this.route = route;
  }

  /** An attempt on {@code backend} starts: it waits for a connection (queue and connect). */
  public void attempt(RoutedBackend backend, long now) {
    this.backend = backend;
    attempts++;
    attemptStarted = now;
    queuedAt = connectStarted = connected = 0;
  }

  /** The attempt waits in its backend's queue for a connection slot. */
  public void queued(long now) {
    queuedAt = now;
  }

  /** The attempt leaves the queue (if it was in it): a connect starts, or a connection is handed to it. */
  public void connecting(long now) {
    connectStarted = now;
  }

  /** The attempt has its connection to the backend. */
  public void connected(long now) {
    connected = now;
  }

  /** The attempt failed before any response reached the client. */
  public void attemptFailed(BackendFailure failure) {
    if (failure.connectFailed()) connectFailures++;
  }

  /** No other backend is tried after {@code failure}: the client gets the proxy's answer. */
  public void gaveUp(BackendFailure failure) {
    mark(switch (failure.kind()) {
      case CONNECT -> Termination.CONNECT_FAILED;
      case CONNECT_TIMEOUT, QUEUE_TIMEOUT, TIMEOUT -> Termination.TIMEOUT;
      case BUSY -> Termination.REFUSED;
      case TOO_LARGE -> Termination.LOCAL;
      case INVALID_RESPONSE, RESET -> Termination.BACKEND_RESET;
    });
  }

  public void responseHead(int status, long now) {
    this.status = status;
    responseHead = now;
  }

  /** Sets how it ended unless that was decided already (the first cause wins over the abort that follows it). */
  public void mark(Termination termination) {
    if (this.termination == null) this.termination = termination;
  }

  /**
   * The proxy answers itself with {@code status} ({@code bytes} long); ends the request. A request whose head could
   * not be read starts here.
   */
  public void answered(int status, long bytes, long now) {
    if (!active) begin(now, now, null, 0, 0);
    this.status = status;
    responseHead = now;
    bytesOut += bytes;
    mark(status == 503 && termination == null && route != null ? Termination.REFUSED : Termination.LOCAL);
    end(Termination.LOCAL, now);
  }

  /**
   * As {@link #end(Termination, long)}, with the body bytes moved each way. Nothing once the record ended: an engine
   * reuses it for the connection's next request, which the bytes of one that ended before must not reach.
   */
  public void end(Termination otherwise, long bytesIn, long bytesOut, long now) {
    if (!active) return;
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
    end(otherwise, now);
  }

  /** The request is over; {@code otherwise} is how it ended unless {@link #mark} said before. Reported once. */
  public void end(Termination otherwise, long now) {
    if (!active) return;
    active = false;
    mark(otherwise);
    ended = now;
    observer.ended(this);
  }

  public boolean active() {
    return active;
  }
}
