package dev.fulcrum.http;

/** An answer the proxy gives itself instead of a backend's, the same on both engines: a status and what went wrong. */
record ProxyError(int status, String message) {
  static ProxyError noRoute() {
    return new ProxyError(404, "no route matched this request");
  }

  static ProxyError forbidden() {
    return new ProxyError(403, "forbidden by the firewall");
  }

  static ProxyError noBackend(String pool) {
    return new ProxyError(503, "no healthy backend in pool '" + pool + "'");
  }

  static ProxyError tooLarge(long limit) {
    return new ProxyError(413, "request body larger than the limit of " + limit + " bytes");
  }
}
