package dev.fulcrum.http.pekko;

import dev.fulcrum.http.wire.HeaderSink;
import dev.fulcrum.http.wire.HeaderView;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.http.javadsl.model.HttpHeader;

/**
 * Pekko's header model seen as the proxy's {@link HeaderView}, and the sink that builds it back: kept fields stay the
 * objects Pekko parsed (so it renders them as before), new ones are parsed into Pekko's model (a raw Host header
 * would be sent next to the one Pekko derives from the URI).
 */
final class PekkoHeaders implements HeaderView, HeaderSink {
  private final List<HttpHeader> in = new ArrayList<>();
  private final List<HttpHeader> out = new ArrayList<>();
  private String rawTarget;

  PekkoHeaders(Iterable<HttpHeader> headers) {
    for (HttpHeader h : headers) {
      // Pekko's own bookkeeping, never fields on the wire: a request's timeout, and the target as sent
      if (h.is("raw-request-uri")) rawTarget = h.value();
      else if (!h.is("timeout-access")) in.add(h);
    }
  }

  /** The request target as the client sent it (the listener has raw-request-uri-header on). */
  String rawTarget() {
    return rawTarget;
  }

  @Override
  public int size() {
    return in.size();
  }

  @Override
  public String name(int i) {
    return in.get(i).name();
  }

  @Override
  public String value(int i) {
    return in.get(i).value();
  }

  @Override
  public void keep(HeaderView view, int i) {
    out.add(in.get(i));
  }

  @Override
  public void add(String name, String value) {
    out.add(HttpHeader.parse(name, value));
  }

  /** What the sink was given. */
  List<HttpHeader> result() {
    return out;
  }
}
