package dev.fulcrum.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs {@code dev.fulcrum.Main} as a real separate JVM, as a user would, with its output captured to files. */
public final class FulcrumProcess implements AutoCloseable {
  private final Process process;
  private final Path stdout;
  private final Path stderr;

  public FulcrumProcess(Path workDir, String... args) {
    this(workDir, java.util.Map.of(), args);
  }

  /** As a user starts it with these environment variables set (e.g. FULCRUM_TLS_CERT for conf/tls.conf). */
  public FulcrumProcess(Path workDir, java.util.Map<String, String> env, String... args) {
    try {
      stdout = Files.createTempFile(workDir, "stdout", ".log");
      stderr = Files.createTempFile(workDir, "stderr", ".log");
      List<String> command = new ArrayList<>(List.of(
          System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
          "-Xmx256m", "-cp", System.getProperty("java.class.path"), "dev.fulcrum.Main"));
      command.addAll(List.of(args));
      ProcessBuilder builder = new ProcessBuilder(command);
      builder.environment().putAll(env);
      process = builder
          .directory(workDir.toFile())
          .redirectOutput(stdout.toFile())
          .redirectError(stderr.toFile())
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public int awaitExit(long seconds) {
    try {
      if (!process.waitFor(seconds, TimeUnit.SECONDS)) throw new AssertionError("fulcrum did not exit within " + seconds + " s");
      return process.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Waits until stdout contains {@code text}; a process that exits first fails the wait at once, with its output. */
  public void awaitStdout(String text, Duration timeout) {
    Eventually.await(timeout, "'" + text + "' on stdout", () -> {
      boolean exited = !process.isAlive(); // before reading: a process that printed the text and exited still passes
      if (stdout().contains(text)) return true;
      if (exited) throw new AssertionError("exited with " + process.exitValue() + " before printing '" + text + "':\n" + stdout() + stderr());
      return false;
    });
  }

  public long pid() {
    return process.pid();
  }

  /** Sends a signal by name ("STOP", "CONT", "KILL") with kill(1). */
  public void signal(String name) {
    try {
      int exit = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start().waitFor();
      if (exit != 0) throw new AssertionError("kill -" + name + " " + process.pid() + " exited with " + exit);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** SIGTERM, as an orchestrator stopping the balancer would send. */
  public void terminate() {
    process.destroy();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public String stdout() {
    return read(stdout);
  }

  public String stderr() {
    return read(stderr);
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
