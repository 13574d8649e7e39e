package dev.fulcrum.http.h2;

import java.lang.reflect.Field;
import org.eclipse.jetty.http.HostPortHttpField;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.hpack.HpackDecoder;
import org.eclipse.jetty.http2.hpack.HpackException;
import org.eclipse.jetty.http2.hpack.internal.AuthorityHttpField;
import org.eclipse.jetty.http2.hpack.internal.MetaDataBuilder;

/**
 * Jetty's HPACK decoder parses {@code :authority} into host and port as it decodes, and one it cannot parse (a space,
 * '@', a port that is not one) ends the whole connection: its builder throws from {@code emit}, and the decoder turns
 * any throw into a session error, leaving the rest of the block undecoded. RFC 9113 §8.1.1 makes a malformed request a
 * stream error, and the other streams live on. This builder stands in for Jetty's: it leaves such an authority out and
 * remembers it, the block decodes to its end (its fields still enter the dynamic table, which later blocks index), and
 * the connection answers that request 400 on its own stream, as HTTP/1.1 answers a bad Host.
 */
final class AuthorityGuard extends MetaDataBuilder {
  /** What the decoder reported about the field it is about to emit: kept until that field is seen. */
  private Throwable pending;
  private String refused;
  private String lastRefused;

  private AuthorityGuard(int maxHeadersSize) {
    super(maxHeadersSize);
  }

  /**
   * Puts a guard in the decoder's place for its builder. The decoder takes no builder of ours, so the field is set by
   * reflection; a Jetty that renames it fails here, at the first connection, and in every HTTP/2 test.
   */
  static AuthorityGuard install(HpackDecoder decoder) {
    AuthorityGuard guard = new AuthorityGuard(decoder.getMaxHeaderListSize());
    try {
      Field builder = HpackDecoder.class.getDeclaredField("_builder");
      builder.setAccessible(true);
      builder.set(decoder, guard);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException("cannot guard Jetty's HPACK decoder against bad :authority values: " + e, e);
    }
    return guard;
  }

  /** The {@code :authority} value left out of the header block decoded last, or null; once. */
  String takeRefused() {
    String value = lastRefused;
    lastRefused = null;
    return value;
  }

  @Override
  public void streamException(Throwable failure) {
    // the decoder reports a field it could not make (an :authority it cannot parse) here, then emits it as plain text
    flush();
    pending = failure;
  }

  @Override
  public void emit(HttpField field) throws HpackException.SessionException {
    if (field.getHeader() == HttpHeader.C_AUTHORITY && !(field instanceof HostPortHttpField)) {
      pending = null;
      String value = field.getValue() == null ? "" : field.getValue();
      HostPortHttpField parsed = parse(value);
      if (parsed != null) {
        super.emit(parsed);
      } else if (refused == null) {
        refused = value;
      }
      return;
    }
    flush();
    super.emit(field);
  }

  @Override
  public MetaData build() throws HpackException.StreamException {
    flush();
    lastRefused = refused;
    refused = null;
    try {
      return super.build();
    } catch (HpackException.StreamException e) {
      lastRefused = null; // the stream is reset for this; no request is made of the block
      throw e;
    }
  }

  private void flush() {
    if (pending == null) return;
    super.streamException(pending);
    pending = null;
  }

  private static HostPortHttpField parse(String value) {
    try {
      return new AuthorityHttpField(value);
    } catch (RuntimeException e) {
      return null;
    }
  }
}
