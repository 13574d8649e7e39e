package dev.fulcrum.observe;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.LongAdder;

/** Accepted and open client connections of one listener, kept in adders and read at scrape time. */
public final class ListenerMeters {
  private final String name;
  private final String protocol;
  private final LongAdder accepted = new LongAdder();
  private final LongAdder open = new LongAdder();

  ListenerMeters(MeterRegistry registry, String name, String protocol) {
    this.name = name;
    this.protocol = protocol;
    FunctionCounter.builder("fulcrum.listener.connections.accepted", accepted, LongAdder::doubleValue)
        .description("Client connections accepted by the listener")
        .tags("listener", name, "protocol", protocol)
        .register(registry);
    Gauge.builder("fulcrum.listener.connections.open", open, LongAdder::doubleValue)
        .description("Client connections open on the listener")
        .tags("listener", name, "protocol", protocol)
        .register(registry);
  }

  void opened() {
    accepted.increment();
    open.increment();
  }

  void closed() {
    open.decrement();
  }

  public String name() {
    return name;
  }

  public String protocol() {
    return protocol;
  }

  public long accepted() {
    return accepted.sum();
  }

  public long open() {
    return open.sum();
  }
}
