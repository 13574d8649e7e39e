package dev.fulcrum;

/**
 * Marks messages, events and snapshots that are serialized with Jackson CBOR (bound in reference.conf): everything
 * persisted in the journal or sent between cluster nodes. Java serialization is never used.
 */
public interface CborSerializable {}
