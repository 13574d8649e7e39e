package dev.fulcrum.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Certificates made by the openssl command line, as a user makes them (README), in a directory of the test's. */
public final class TestCertificates {
  private TestCertificates() {}

  /** A self-signed certificate for these DNS names: NAME.pem and NAME.key (PKCS#8), RSA or EC (P-256). */
  public static void selfSigned(Path dir, String name, boolean ec, String... dnsNames) {
    List<String> command = new ArrayList<>(List.of("openssl", "req", "-x509", "-nodes", "-days", "2",
        "-keyout", dir.resolve(name + ".key").toString(), "-out", dir.resolve(name + ".pem").toString(),
        "-subj", "/CN=" + dnsNames[0], "-addext", "subjectAltName=DNS:" + String.join(",DNS:", dnsNames)));
    command.addAll(ec ? List.of("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256") : List.of("-newkey", "rsa:2048"));
    run(command);
  }

  /** A CA (NAME.pem, NAME.key) that signs client certificates. */
  public static void authority(Path dir, String name) {
    run(List.of("openssl", "req", "-x509", "-nodes", "-days", "2", "-newkey", "rsa:2048",
        "-keyout", dir.resolve(name + ".key").toString(), "-out", dir.resolve(name + ".pem").toString(),
        "-subj", "/CN=" + name));
  }

  /** A client certificate (NAME.pem, NAME.key) for subject CN=NAME, signed by the CA. */
  public static void signedClient(Path dir, String ca, String name) {
    String csr = dir.resolve(name + ".csr").toString();
    run(List.of("openssl", "req", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", dir.resolve(name + ".key").toString(),
        "-out", csr, "-subj", "/CN=" + name));
    run(List.of("openssl", "x509", "-req", "-in", csr, "-CA", dir.resolve(ca + ".pem").toString(),
        "-CAkey", dir.resolve(ca + ".key").toString(), "-CAcreateserial", "-days", "2",
        "-out", dir.resolve(name + ".pem").toString()));
  }

  /**
   * A self-signed EC certificate and its key in NAME.p12 (PKCS#12, this password), made by keytool, valid for
   * {@code days} days from {@code start} (keytool's relative form: "-3d" began three days ago, "+2d" begins in two),
   * so that a test can have one that expired or is not yet valid.
   */
  public static Path pkcs12(Path dir, String name, String password, String start, int days, String dnsName) {
    Path p12 = dir.resolve(name + ".p12");
    run(List.of("keytool", "-genkeypair", "-keystore", p12.toString(), "-storetype", "PKCS12",
        "-storepass", password, "-keypass", password, "-alias", name, "-keyalg", "EC", "-groupname", "secp256r1",
        "-dname", "CN=" + dnsName, "-ext", "SAN=dns:" + dnsName, "-startdate", start, "-validity", String.valueOf(days)));
    return p12;
  }

  /** NAME.pem and NAME.key (PKCS#8) out of NAME.p12 (made by {@link #pkcs12}). */
  public static void pemFromPkcs12(Path dir, String name, String password) {
    String p12 = dir.resolve(name + ".p12").toString();
    run(List.of("openssl", "pkcs12", "-in", p12, "-passin", "pass:" + password, "-nokeys",
        "-out", dir.resolve(name + ".pem").toString()));
    Path keys = dir.resolve(name + ".bag.key");
    run(List.of("openssl", "pkcs12", "-in", p12, "-passin", "pass:" + password, "-nocerts", "-nodes",
        "-out", keys.toString()));
    run(List.of("openssl", "pkey", "-in", keys.toString(), "-out", dir.resolve(name + ".key").toString()));
  }

  /** Runs a command to its end (bounded), failing with its output when it fails. */
  public static String run(List<String> command) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("did not end within 60 s: " + command);
      }
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (process.exitValue() != 0) throw new AssertionError(command + " exited " + process.exitValue() + ": " + output);
      return output;
    } catch (IOException e) {
      throw new AssertionError("cannot run " + command.get(0) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
