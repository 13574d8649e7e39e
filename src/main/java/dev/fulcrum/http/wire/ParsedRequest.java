package dev.fulcrum.http.wire;

/** What parsing a request head gives: the head, or why there is none. */
public sealed interface ParsedRequest permits RequestHead, WireError {}
