package dev.fulcrum;

import com.typesafe.config.Config;
import dev.fulcrum.config.AdminSettings;
import dev.fulcrum.config.ClusterSettings;
import dev.fulcrum.config.FulcrumSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.config.JournalSettings;
import dev.fulcrum.config.ObservabilitySettings;
import dev.fulcrum.config.SettingsParser;
import dev.fulcrum.config.TcpListenerSettings;
import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --check}, as {@code haproxy -c} and {@code nginx -t}: parses and validates the whole config as start-up does,
 * and checks that every address Fulcrum would listen on could be bound (a local address, a port no socket listens
 * on), without binding anything or starting anything.
 */
final class ConfigCheck {
  private ConfigCheck() {}

  /**
   * Validates {@code userConfig}; throws the same exceptions as {@link Fulcrum#start} would for the same mistake
   * ({@link dev.fulcrum.config.SettingsException} for the config, {@link StartupException} for an address); returns the
   * warnings start-up would log (names no setting has).
   */
  static List<String> check(Config userConfig) {
    Config config = Fulcrum.withDefaults(userConfig);
    FulcrumSettings settings = SettingsParser.parse(config);
    JournalSettings.parse(config);
    AdminSettings admin = AdminSettings.parse(config);
    dev.fulcrum.config.EventSettings.parse(config);
    ClusterSettings.parse(config);
    dev.fulcrum.config.NodeName.parse(config);
    ObservabilitySettings observability = ObservabilitySettings.parse(config);
    checkLogDirectory(observability);
    Map<String, HostPort> binds = new LinkedHashMap<>();
    for (TcpListenerSettings l : settings.tcpListeners()) binds.put("tcp listener '" + l.name() + "'", l.bind());
    for (HttpListenerSettings l : settings.http().listeners()) binds.put("http listener '" + l.name() + "'", l.bind());
    if (admin.enabled()) binds.put("admin api", admin.bind());
    int remotePort = config.getInt("pekko.remote.artery.canonical.port");
    if (remotePort > 0) {
      String host = config.getString("pekko.remote.artery.canonical.hostname");
      binds.put("cluster remoting", new HostPort(host, remotePort));
    }
    checkCertificates(settings);
    List<Listening> listening = Listening.read();
    binds.forEach((what, bind) -> checkBindable(what, bind, listening));
    return dev.fulcrum.config.UnknownSettings.find(config);
  }

  /**
   * Reads every certificate and key as the listeners' start and the pools' backend connections read them: a missing or
   * unusable file is named, with the listener or pool it is for.
   */
  static void checkCertificates(dev.fulcrum.config.FulcrumSettings settings) {
    for (HttpListenerSettings l : settings.http().listeners()) {
      if (l.tls().isEmpty()) continue;
      try {
        dev.fulcrum.tls.TlsContext.load(l.name(), l.tls().get());
      } catch (dev.fulcrum.tls.TlsException e) {
        throw new StartupException("cannot start http listener '" + l.name() + "' on " + l.bind() + ": " + e.getMessage());
      }
    }
    for (TcpListenerSettings l : settings.tcpListeners()) {
      if (l.tls().isEmpty()) continue;
      try {
        dev.fulcrum.tls.TlsContext.load(l.name(), l.tls().get());
      } catch (dev.fulcrum.tls.TlsException e) {
        throw new StartupException("cannot start tcp listener '" + l.name() + "' on " + l.bind() + ": " + e.getMessage());
      }
    }
    for (var pool : settings.backendTls().entrySet()) {
      try {
        dev.fulcrum.tls.BackendTls.of(pool.getValue());
      } catch (dev.fulcrum.tls.TlsException e) {
        throw new StartupException("cannot set up TLS to the backends: fulcrum.pools." + pool.getKey() + ".tls."
            + e.getMessage());
      }
    }
  }

  /** As {@link ObservabilitySettings#checkWritable}, without creating the directory. */
  private static void checkLogDirectory(ObservabilitySettings settings) {
    if (!settings.accessLog().enabled()) return;
    Path file = settings.accessLog().path().toAbsolutePath();
    Path existing = file.getParent();
    while (existing != null && !Files.exists(existing)) existing = existing.getParent();
    boolean ok = Files.exists(file) ? Files.isWritable(file)
        : existing != null && Files.isDirectory(existing) && Files.isWritable(existing);
    if (!ok) {
      throw new dev.fulcrum.config.SettingsException("fulcrum.access-log.path: "
          + (Files.exists(file) ? file : existing == null ? file.getParent() : existing) + " is not writable");
    }
  }

  private static void checkBindable(String what, HostPort bind, List<Listening> listening) {
    String prefix = "cannot start " + what + " on " + bind + ": ";
    InetAddress address;
    try {
      address = InetAddress.getByName(bind.host());
    } catch (UnknownHostException e) {
      throw new StartupException(prefix + "unknown host " + bind.host());
    }
    try {
      if (!address.isAnyLocalAddress() && !address.isLoopbackAddress() && NetworkInterface.getByInetAddress(address) == null) {
        throw new StartupException(prefix + "address not available (no interface of this machine has it)");
      }
    } catch (SocketException e) {
      throw new StartupException(prefix + "cannot list the network interfaces: " + e.getMessage());
    }
    if (bind.port() == 0) return;
    for (Listening l : listening) {
      if (l.port() == bind.port() && (l.any() || address.isAnyLocalAddress() || l.address().equals(address))) {
        throw new StartupException(prefix + "address already in use");
      }
    }
  }

  /** A listening TCP socket of this machine, from the kernel's tables (Linux); none are known elsewhere. */
  private record Listening(InetAddress address, int port, boolean any) {
    private static final String LISTEN = "0A";

    static List<Listening> read() {
      List<Listening> result = new ArrayList<>();
      for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
        Path path = Path.of(table);
        if (!Files.isReadable(path)) continue;
        try {
          for (String line : Files.readAllLines(path)) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 4 || !f[3].equals(LISTEN) || !f[1].contains(":")) continue;
            String[] local = f[1].split(":");
            InetAddress address = InetAddress.getByAddress(kernelBytes(local[0]));
            int port = Integer.parseInt(local[1], 16);
            boolean any = address.isAnyLocalAddress();
            result.add(new Listening(address, port, any));
          }
        } catch (IOException | RuntimeException e) {
          // an unreadable table checks nothing; start-up still reports a port in use
        }
      }
      return result;
    }

    /** The kernel prints addresses as 32-bit words in host (little-endian) order. */
    private static byte[] kernelBytes(String hex) {
      byte[] bytes = new byte[hex.length() / 2];
      for (int word = 0; word < bytes.length / 4; word++) {
        for (int i = 0; i < 4; i++) {
          int at = (word * 4 + (3 - i)) * 2;
          bytes[word * 4 + i] = (byte) Integer.parseInt(hex.substring(at, at + 2), 16);
        }
      }
      return bytes;
    }
  }
}
