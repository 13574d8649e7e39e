package dev.fulcrum.http.proxy;

/**
 * What the backend is told about the client and how it came: its address (X-Forwarded-For), whether over TLS
 * (X-Forwarded-Proto), the host it asked for (X-Forwarded-Host, null without one), the request id, and the subject
 * of the client certificate TLS verified (X-Client-Cert-Subject, null without one).
 */
public record Forwarded(String clientIp, boolean tls, String host, String requestId, String clientCertSubject) {}
