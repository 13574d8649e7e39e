package dev.fulcrum.http.nio;

import dev.fulcrum.http.proxy.Forwarded;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.HeaderView;
import java.util.Locale;

/**
 * A request's fields for an HTTP/2 backend (RFC 9113 §8.2): the route's rules as for any backend (which drop the
 * hop-by-hop fields, {@code te} among them), no {@code host} (it travels as {@code :authority}), and {@code te:
 * trailers} again when the client asked for it, the one value HTTP/2 allows and gRPC servers look for.
 */
final class H2Translation {
  private H2Translation() {}

  static HeaderFields requestHeaders(HeaderView in, Route route, Forwarded forwarded) {
    HeaderFields out = new HeaderFields(in.size() + 6);
    route.requestHeaders(in, forwarded, out);
    out.removeAll("host");
    if (asksForTrailers(in)) out.add("te", "trailers");
    return out;
  }

  /** Whether a {@code TE} field lists {@code trailers}. */
  static boolean asksForTrailers(HeaderView in) {
    for (int i = 0; i < in.size(); i++) {
      if (!in.name(i).equalsIgnoreCase("te")) continue;
      for (String token : in.value(i).split(",")) {
        String t = token.trim().toLowerCase(Locale.ROOT);
        int semicolon = t.indexOf(';');
        if ((semicolon < 0 ? t : t.substring(0, semicolon).trim()).equals("trailers")) return true;
      }
    }
    return false;
  }
}
