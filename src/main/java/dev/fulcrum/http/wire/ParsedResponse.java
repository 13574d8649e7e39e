package dev.fulcrum.http.wire;

/** What parsing a response head gives: the head, or why there is none. */
public sealed interface ParsedResponse permits ResponseHead, WireError {}
