package dev.fulcrum.observe;

import com.sun.management.OperatingSystemMXBean;
import com.sun.management.ThreadMXBean;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.ObservabilitySettings;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.routing.BackendStats;
import dev.fulcrum.routing.RoutedBackend;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;

/**
 * Not a test: what the observer's per-request work costs, in process CPU (every thread: the calling "event loop" and
 * the access log's writer) and bytes allocated on the calling thread, for the metrics alone, the log alone and both.
 * Requests are fed in bursts of 200 with a 1 ms pause, about what one busy event loop hands over, so the writer keeps
 * up and no line is dropped. Run: {@code java -cp target/test-classes:target/classes:$(cat cp.txt)
 * dev.fulcrum.observe.AccessLogCost [requests] [text|json]}. Relative numbers only: the machine is shared.
 */
public final class AccessLogCost {
  private static final int BURST = Integer.getInteger("burst", 200);

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    ObservabilitySettings.Format format =
        args.length > 1 && args[1].equals("json") ? ObservabilitySettings.Format.JSON : ObservabilitySettings.Format.TEXT;
    Path dir = Files.createTempDirectory(Path.of(System.getProperty("dir", System.getProperty("java.io.tmpdir"))), "fulcrum-cost");
    formatOnly(format);
    // warm up every path, then measure each twice, interleaved
    for (int round = 0; round < 3; round++) {
      boolean measured = round > 0;
      for (String mode : new String[] {"none", "metrics", "log", "both"}) {
        Result r = run(mode, measured ? n : n / 4, dir.resolve(mode + round + ".log"), format);
        if (measured) {
          System.out.printf("%-8s %-4s process cpu %6.0f ns/req (calling thread %5.0f, writer %5.0f)   "
                  + "alloc %4.0f B/req (calling thread)   dropped %d%n",
              mode, format.name().toLowerCase(), r.cpuNanos, r.callerNanos, r.writerNanos, r.allocBytes, r.dropped);
        }
      }
    }
    System.exit(0);
  }

  /** The formatting alone, in one thread: no ring, no file. */
  private static void formatOnly(ObservabilitySettings.Format format) {
    LineFormat lines = format == ObservabilitySettings.Format.JSON
        ? new LineFormat.Json((ch.qos.logback.classic.LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory(),
            (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("cost"), 1024)
        : new LineFormat.Text(1024);
    AccessRecord r = new AccessRecord(null);
    LineBuffer buffer = new LineBuffer(70_000);
    ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    for (int round = 0; round < 3; round++) {
      long cpu0 = threads.getCurrentThreadCpuTime();
      int n = 2_000_000;
      long bytes = 0;
      for (int i = 0; i < n; i++) {
        fill(r);
        r.clientPort = 40000 + (i & 1023);
        lines.format(r, 1_764_633_600_000L + i / 100, buffer);
        if (buffer.length > 65536) {
          bytes += buffer.length;
          buffer.length = 0;
        }
      }
      if (round > 0) {
        System.out.printf("format   %-4s %5.0f ns/line (%d bytes a line)%n", format.name().toLowerCase(),
            (double) (threads.getCurrentThreadCpuTime() - cpu0) / n, bytes / n);
      }
    }
  }

  /** A typical HTTP request's values (the text format's prepare drops them each time). */
  private static void fill(AccessRecord r) {
    r.kind = AccessRecord.HTTP;
    r.clientIp = "127.0.0.1";
    r.listener = "main";
    r.route = "*/api";
    r.pool = "web";
    r.backend = BACKEND;
    r.method = "GET";
    r.target = "/api/items/42?page=3";
    r.status = 200;
    r.total = 60_000;
    r.termination = "normal";
  }

  private static final HostPort BACKEND = new HostPort("127.0.0.1", 8081);

  record Result(double cpuNanos, double callerNanos, double writerNanos, double allocBytes, long dropped) {}

  private static Result run(String mode, int n, Path file, ObservabilitySettings.Format format) throws Exception {
    boolean log = mode.equals("log") || mode.equals("both");
    boolean count = mode.equals("metrics") || mode.equals("both");
    Metrics metrics = new Metrics();
    AccessLog accessLog = log ? new AccessLog(new ObservabilitySettings.AccessLog(true, file, format, 8192, 1024)) : null;
    ExchangeLog.Observer observer = mode.equals("none") ? ExchangeLog.Observer.NONE
        : new HttpObserver(metrics, "main", accessLog, new ListenerMeters(metrics.registry(), "main", "http"), count);
    ExchangeLog exchange = new ExchangeLog(observer);
    RoutedBackend backend = new RoutedBackend(new HostPort("127.0.0.1", 8081), 1, new BackendStats(), null);
    String ip = "127.0.0.1";
    String method = "GET";
    String target = "/api/items/42?page=3";
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    long self = Thread.currentThread().getId();
    System.gc();
    long alloc0 = threads.getThreadAllocatedBytes(self);
    long self0 = threads.getThreadCpuTime(self);
    long writer0 = accessLog == null ? 0 : threads.getThreadCpuTime(accessLog.writerId());
    long cpu0 = os.getProcessCpuTime();
    long pauses = 0;
    for (int i = 0; i < n; i++) {
      long t = System.nanoTime();
      exchange.begin(t, t + 1000, ip, 40000 + (i & 1023), 78);
      exchange.request(method, target, null);
      exchange.attempt(backend, t + 2000);
      exchange.connected(t + 3000);
      exchange.responseHead(200, t + 50_000);
      exchange.end(ExchangeLog.Termination.NORMAL, 0, 160, t + 60_000);
      if (i % BURST == BURST - 1) {
        LockSupport.parkNanos(BURST * 5_000L);
        pauses++;
      }
    }
    long alloc = threads.getThreadAllocatedBytes(self) - alloc0;
    long selfCpu = threads.getThreadCpuTime(self) - self0;
    long writerCpu = accessLog == null ? 0 : threads.getThreadCpuTime(accessLog.writerId()) - writer0;
    if (accessLog != null) accessLog.drainForTest(); // writes what is queued: its CPU is part of the cost
    long cpu = os.getProcessCpuTime() - cpu0;
    if (accessLog != null) writerCpu = threads.getThreadCpuTime(accessLog.writerId()) - writer0;
    if (accessLog != null) accessLog.stop();
    long dropped = accessLog == null ? 0 : accessLog.dropped();
    metrics.close();
    // the 1 ms pauses cost some CPU of their own (a timer, a wake-up): the same in every mode, so they cancel out
    return new Result((double) cpu / n, (double) selfCpu / n, (double) writerCpu / n, (double) alloc / n, dropped);
  }
}
