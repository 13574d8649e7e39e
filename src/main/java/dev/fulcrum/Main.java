package dev.fulcrum;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import dev.fulcrum.config.SettingsException;
import java.io.File;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import sun.misc.Signal;

/**
 * Command line: {@code java -jar target/fulcrum.jar [--config FILE]}. Mistakes in the command line or the config end
 * the process with one line on stderr and exit code 2; SIGTERM or SIGINT drain and exit 0.
 */
public final class Main {
  static final int USAGE_ERROR = 2;
  private static final String DEFAULT_CONFIG = "conf/application.conf";

  private Main() {}

  public static void main(String[] args) {
    String configPath = parseArgs(args);
    useLogbackConfigBeside(configPath);
    Config config = load(configPath);
    if (checkOnly) check(configPath, config);
    // Handlers go in before start-up, so a SIGTERM during start-up still drains instead of killing the JVM.
    AtomicReference<Fulcrum> running = new AtomicReference<>();
    AtomicBoolean stopRequested = new AtomicBoolean();
    for (String name : new String[] {"TERM", "INT"}) {
      Signal.handle(new Signal(name), signal -> {
        stopRequested.set(true);
        Fulcrum started = running.get();
        if (started != null) started.stop();
      });
    }
    Fulcrum fulcrum;
    try {
      fulcrum = Fulcrum.start(config);
    } catch (SettingsException e) {
      exit("invalid configuration in " + configPath + ": " + e.getMessage());
      return;
    } catch (ConfigException e) {
      exit("cannot read config " + configPath + ": " + e.getMessage());
      return;
    } catch (StartupException e) {
      exit(e.getMessage());
      return;
    }
    running.set(fulcrum);
    if (stopRequested.get()) fulcrum.stop();
    fulcrum.system().getWhenTerminated().toCompletableFuture().join();
    System.exit(0);
  }

  /** {@code --check}: validate the config and the listen addresses, print the verdict, exit; start nothing. */
  private static boolean checkOnly;

  private static void check(String configPath, Config config) {
    try {
      // as haproxy -c: warnings on their own lines, then the verdict
      for (String warning : ConfigCheck.check(config)) System.out.println("warning: " + warning);
    } catch (SettingsException e) {
      exit("invalid configuration in " + configPath + ": " + e.getMessage());
    } catch (ConfigException e) {
      exit("cannot read config " + configPath + ": " + e.getMessage());
    } catch (StartupException e) {
      exit(e.getMessage());
    }
    System.out.println("configuration OK");
    System.out.flush();
    System.exit(0);
  }

  private static String parseArgs(String[] args) {
    String configPath = DEFAULT_CONFIG;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--check", "-c" -> checkOnly = true;
        case "--config" -> {
          if (i + 1 >= args.length) exit("--config needs a file");
          configPath = args[++i];
        }
        case "--help", "-h" -> {
          System.out.println("usage: java -jar fulcrum.jar [--check] [--config FILE]   (default " + DEFAULT_CONFIG
              + "; --check validates the config and exits 0 or 2)");
          System.exit(0);
        }
        default -> exit("unknown argument '" + args[i] + "' (usage: [--check] [--config FILE])");
      }
    }
    return configPath;
  }

  /** The file as written; {@link Fulcrum#start} adds system properties and defaults and resolves it. */
  static Config load(String path) {
    File file = new File(path);
    if (!file.isFile()) exit("config file " + path + " does not exist");
    try {
      return ConfigFactory.parseFile(file, ConfigParseOptions.defaults().setAllowMissing(false));
    } catch (ConfigException e) {
      exit("cannot read config " + path + ": " + e.getMessage());
      throw e;
    }
  }

  /** Logging is configured by conf/logback.xml when it sits beside the config, unless the user chose a file. */
  private static void useLogbackConfigBeside(String configPath) {
    if (System.getProperty("logback.configurationFile") != null) return;
    File parent = new File(configPath).getAbsoluteFile().getParentFile();
    File beside = new File(parent, "logback.xml");
    File conf = new File(DEFAULT_CONFIG).getAbsoluteFile().getParentFile();
    File fallback = new File(conf, "logback.xml");
    if (beside.isFile()) System.setProperty("logback.configurationFile", beside.getPath());
    else if (fallback.isFile()) System.setProperty("logback.configurationFile", fallback.getPath());
  }

  private static void exit(String message) {
    System.err.println("fulcrum: " + message);
    System.err.flush();
    System.exit(USAGE_ERROR);
  }
}
