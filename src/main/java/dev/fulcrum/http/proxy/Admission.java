package dev.fulcrum.http.proxy;

/** What the first phases of an exchange decide: the route that takes the request, or the proxy's own answer. */
public sealed interface Admission permits Route, ProxyError {}
