package dev.fulcrum.http.wire;

/** What normalizing a request path gives: its normal form, or why it is refused. */
public sealed interface ParsedPath permits PathNormalizer.Normalized, WireError {}
