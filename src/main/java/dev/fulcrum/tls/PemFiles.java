package dev.fulcrum.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** Certificates and keys from PEM files, with errors that say what is wrong with which file. */
final class PemFiles {
  private PemFiles() {}

  /** Every certificate in the file, the leaf first as in a chain file. */
  static List<X509Certificate> certificates(Path file) throws TlsException {
    byte[] bytes = read(file);
    try {
      List<X509Certificate> chain = new ArrayList<>();
      for (var c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(bytes))) {
        chain.add((X509Certificate) c);
      }
      if (chain.isEmpty()) throw new TlsException(file + ": no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)");
      return chain;
    } catch (GeneralSecurityException e) {
      throw new TlsException(file + ": no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----; " + e.getMessage() + ")");
    }
  }

  /** The PKCS#8 private key (RSA or EC) in the file. */
  static PrivateKey privateKey(Path file) throws TlsException {
    String text = new String(read(file), StandardCharsets.US_ASCII);
    if (text.contains("BEGIN RSA PRIVATE KEY") || text.contains("BEGIN EC PRIVATE KEY")) {
      throw new TlsException(file + ": a PKCS#1/SEC1 key; convert it to PKCS#8 with "
          + "'openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8'");
    }
    if (text.contains("BEGIN ENCRYPTED PRIVATE KEY")) {
      throw new TlsException(file + ": an encrypted key; give the key unencrypted (PKCS#8) or use a PKCS#12 file");
    }
    int begin = text.indexOf("-----BEGIN PRIVATE KEY-----");
    int end = text.indexOf("-----END PRIVATE KEY-----");
    if (begin < 0 || end < begin) throw new TlsException(file + ": no PEM private key in it (-----BEGIN PRIVATE KEY-----)");
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(text.substring(begin + 27, end));
    } catch (IllegalArgumentException e) {
      throw new TlsException(file + ": the private key is not valid base64");
    }
    for (String algorithm : new String[] {"RSA", "EC", "Ed25519"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException wrongAlgorithm) {
        // try the next one
      }
    }
    throw new TlsException(file + ": not an RSA, EC or Ed25519 private key");
  }

  private static byte[] read(Path file) throws TlsException {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new TlsException(file + ": cannot be read (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
    }
  }
}
