package dev.fulcrum.pool;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.fulcrum.CborSerializable;
import java.time.Instant;
import java.util.List;

/** How a pool's DNS names resolve, as its entity's follower sees them (empty when the pool follows no name). */
public record DiscoveryStatus(List<Name> names) implements CborSerializable {
  public static final DiscoveryStatus NONE = new DiscoveryStatus(List.of());

  public DiscoveryStatus {
    names = names == null ? List.of() : List.copyOf(names);
  }

  /**
   * @param name as in config ({@code web.internal:8080}, {@code _http._tcp.web.internal})
   * @param addresses the last good answer (kept while resolutions fail), empty if there was none yet
   * @param resolved when the last good answer came, or null
   * @param error why the last resolution failed, or null when it succeeded
   * @param failures failed resolutions since this follower started
   * @param next when the name is asked again
   */
  public record Name(
      String name,
      List<String> addresses,
      @JsonInclude(JsonInclude.Include.NON_NULL) Instant resolved,
      @JsonInclude(JsonInclude.Include.NON_NULL) String error,
      long failures,
      @JsonInclude(JsonInclude.Include.NON_NULL) Instant next) implements CborSerializable {
    public Name {
      addresses = addresses == null ? List.of() : List.copyOf(addresses);
    }
  }
}
