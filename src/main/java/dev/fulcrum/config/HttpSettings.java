package dev.fulcrum.config;

import java.util.List;

/** Everything HTTP (L7) in the config: the listeners, each with its routes already resolved against pool defaults. */
public record HttpSettings(List<HttpListenerSettings> listeners) {
  public HttpSettings {
    listeners = List.copyOf(listeners);
  }
}
