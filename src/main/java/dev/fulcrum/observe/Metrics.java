package dev.fulcrum.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.distribution.pause.NoPauseDetector;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;

/**
 * The node's Prometheus registry and the meter shapes Fulcrum uses. Micrometer names are dotted; the Prometheus
 * registry turns them into {@code fulcrum_..._total} counters and {@code ..._seconds} histograms.
 */
final class Metrics {
  /**
   * Fixed histogram buckets (no percentiles computed in the process): from 1 ms, where a keep-alive request on a LAN
   * lands, to 60 s, past the default response timeout of 30 s.
   */
  static final Duration[] BUCKETS = {
      Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
      Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
      Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10),
      Duration.ofSeconds(30), Duration.ofSeconds(60)};

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gc = new JvmGcMetrics();

  Metrics() {
    // no coordinated-omission correction: it would cost every timer record a clock read and an interval estimate, and
    // a background thread waking ten times a second, to correct percentiles this registry does not compute
    registry.config().pauseDetector(new NoPauseDetector());
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
  }

  PrometheusMeterRegistry registry() {
    return registry;
  }

  Counter bytes(String name, String description, String listener) {
    return Counter.builder(name).description(description).baseUnit("bytes").tag("listener", listener).register(registry);
  }

  Timer timer(String name, String description, String pool, String backend) {
    return Timer.builder(name)
        .description(description)
        .tags("pool", pool, "backend", backend)
        .serviceLevelObjectives(BUCKETS)
        .register(registry);
  }

  Counter connectFailures(String pool, String backend) {
    return Counter.builder("fulcrum.backend.connect.failures")
        .description("Failed connects to a backend (refused or timed out), from the data plane")
        .tags("pool", pool, "backend", backend)
        .register(registry);
  }

  void close() {
    gc.close();
    registry.close();
  }
}
