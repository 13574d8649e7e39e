package dev.fulcrum.config;

import java.util.List;

/** In-process demo HTTP backends, for trying Fulcrum without any servers of your own. */
public record DemoSettings(String host, List<Backend> backends) {
  public record Backend(String name, int port) {}

  public DemoSettings {
    backends = List.copyOf(backends);
  }
}
