package dev.fulcrum.config;

/**
 * How an HTTP listener normalizes request paths before routes and the firewall see them (README, "Paths"): what an
 * encoded slash ({@code %2F}) becomes, and whether runs of slashes are merged.
 */
public record PathSettings(EncodedSlash encodedSlash, boolean mergeSlashes) {
  public enum EncodedSlash { DECODE, REJECT, KEEP }

  public static final PathSettings DEFAULT = new PathSettings(EncodedSlash.DECODE, true);
}
