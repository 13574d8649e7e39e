package dev.fulcrum.http.wire;

/** What parsing a request target gives: the target split for routing, or why it cannot be. */
public sealed interface ParsedTarget permits RequestTarget, WireError {}
