package dev.fulcrum.loadtest;

import com.sun.management.OperatingSystemMXBean;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.backend.Health;
import dev.fulcrum.routing.PoolStatus;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.TestConfig;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The CPU one node spends on active health checks: a pool of {@code backends} backends, {@code live} of them answering
 * HTTP (one selector thread in this process, whose CPU is subtracted) and the rest refused ports, checked every
 * {@code interval}; the process's CPU time is taken over {@code seconds} after a warm-up. A benchmark, not a test: run by
 * {@code load-tests/health-checks.sh}, never by {@code mvn verify}. It uses only Fulcrum's public API, so the same file
 * measures older commits too.
 *
 * <p>Arguments: type (tcp|http|off) backends live interval-ms seconds warmup-seconds. {@code off} runs the same pool
 * with checks every hour: the node's own idle cost, to subtract.
 */
public final class HealthCheckCpu {
  private static final byte[] RESPONSE =
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nup".getBytes(StandardCharsets.ISO_8859_1);

  public static void main(String[] args) throws Exception {
    String type = args.length > 0 ? args[0] : "tcp";
    int backends = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
    int live = args.length > 2 ? Integer.parseInt(args[2]) : 50;
    long intervalMs = args.length > 3 ? Long.parseLong(args[3]) : 2000;
    int seconds = args.length > 4 ? Integer.parseInt(args[4]) : 60;
    int warmup = args.length > 5 ? Integer.parseInt(args[5]) : 15;

    LiveBackends liveBackends = new LiveBackends(live);
    List<String> addresses = new ArrayList<>(liveBackends.addresses());
    for (int port : refusedPorts(backends - live)) addresses.add("\"127.0.0.1:" + port + "\"");
    String check = type.equals("off")
        ? "type = tcp, interval = 1h"
        : "type = " + type + ", interval = " + intervalMs + "ms, timeout = 1s, rise = 1, fall = 1";
    Fulcrum fulcrum = Fulcrum.start(TestConfig.of(
        "fulcrum.pools.bench { backends = [" + String.join(",", addresses) + "], health-check { " + check + " } }\n"
            + "pekko.loglevel = WARNING\n"));
    try {
      Thread.sleep(TimeUnit.SECONDS.toMillis(warmup)); // a benchmark's main thread: lets the JIT and the checks settle
      OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      long cpu0 = os.getProcessCpuTime();
      long backendCpu0 = liveBackends.cpuNanos();
      Map<String, Long> threads0 = cpuByThreadKind();
      long wall0 = System.nanoTime();
      Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
      long wall = System.nanoTime() - wall0;
      long cpu = os.getProcessCpuTime() - cpu0 - (liveBackends.cpuNanos() - backendCpu0);
      Map<String, Long> threads1 = cpuByThreadKind();
      StringBuilder byKind = new StringBuilder();
      threads1.forEach((kind, nanos) -> byKind.append(' ').append(kind).append('=')
          .append(String.format("%.2f%%", 100.0 * (nanos - threads0.getOrDefault(kind, 0L)) / wall)));
      Map<Health, Integer> health = new TreeMap<>();
      PoolStatus status = PoolHealth.status(fulcrum, "bench");
      status.backends().forEach(b -> health.merge(b.health(), 1, Integer::sum));
      double checksPerSecond = type.equals("off") ? 0 : backends * 1000.0 / intervalMs;
      System.out.printf(
          "RESULT type=%s backends=%d live=%d interval=%dms measured=%.1fs cpu=%.3fs core=%.2f%% checks/s~%.0f per-check~%.1fus health=%s live-answered=%d threads:%s%n",
          type, backends, live, intervalMs, wall / 1e9, cpu / 1e9, 100.0 * cpu / wall, checksPerSecond,
          checksPerSecond == 0 ? 0 : cpu / 1e3 / (checksPerSecond * wall / 1e9), health, liveBackends.answered, byKind);
    } finally {
      fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      liveBackends.close();
    }
    System.exit(0);
  }

  /**
   * CPU time of live threads by kind, to see where the checks' cost goes (threads that end in between are missed,
   * which is why the total is taken from the process instead).
   */
  private static Map<String, Long> cpuByThreadKind() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Map<String, Long> byKind = new TreeMap<>();
    for (java.lang.management.ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (info == null) continue;
      String name = info.getThreadName();
      String kind = name.startsWith("fulcrum-io") ? "event-loops"
          : name.contains("dispatcher") ? "pekko-dispatchers"
          : name.contains("scheduler") ? "pekko-scheduler"
          : name.equals("live-backends") ? "live-backends"
          : name.startsWith("GC") || name.contains("G1") || name.contains("Compiler") || name.contains("C1") || name.contains("C2") ? "jvm"
          : "other";
      long nanos = threads.getThreadCpuTime(info.getThreadId());
      if (nanos > 0) byKind.merge(kind, nanos, Long::sum);
    }
    return byKind;
  }

  /** Ports that were free a moment ago and are now closed: a connect to them is refused. */
  private static List<Integer> refusedPorts(int count) throws IOException {
    List<ServerSocket> held = new ArrayList<>();
    List<Integer> ports = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        held.add(socket);
        ports.add(socket.getLocalPort());
      }
    } finally {
      for (ServerSocket socket : held) socket.close();
    }
    return ports;
  }

  /** HTTP backends that answer every connection with 200 "up" and close, all on one selector thread. */
  private static final class LiveBackends implements AutoCloseable, Runnable {
    private final Selector selector = Selector.open();
    private final List<String> addresses = new ArrayList<>();
    private final Thread thread = new Thread(this, "live-backends");
    private volatile boolean running = true;
    volatile long answered;

    LiveBackends(int count) throws IOException {
      for (int i = 0; i < count; i++) {
        ServerSocketChannel server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT);
        addresses.add("\"127.0.0.1:" + server.socket().getLocalPort() + "\"");
      }
      thread.setDaemon(true);
      thread.start();
    }

    List<String> addresses() {
      return addresses;
    }

    long cpuNanos() {
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      return threads.getThreadCpuTime(thread.getId());
    }

    @Override
    public void run() {
      ByteBuffer in = ByteBuffer.allocate(4096);
      while (running) {
        try {
          selector.select(100);
          for (SelectionKey key : selector.selectedKeys()) {
            if (key.isAcceptable()) {
              SocketChannel client = ((ServerSocketChannel) key.channel()).accept();
              if (client == null) continue;
              client.configureBlocking(false);
              client.register(selector, SelectionKey.OP_READ);
            } else if (key.isReadable()) {
              SocketChannel client = (SocketChannel) key.channel();
              in.clear();
              int read;
              try {
                read = client.read(in);
              } catch (IOException reset) {
                read = -1;
              }
              // a TCP check closes without sending; an HTTP check's request fits one read
              if (read > 0) {
                try {
                  client.write(ByteBuffer.wrap(RESPONSE));
                  answered++;
                } catch (IOException ignored) {
                  // the check went away
                }
              }
              key.cancel();
              client.close();
            }
          }
          selector.selectedKeys().clear();
        } catch (IOException e) {
          if (running) e.printStackTrace();
        }
      }
    }

    @Override
    public void close() throws IOException {
      running = false;
      selector.wakeup();
      selector.close();
    }
  }
}
