package dev.fulcrum.tls;

import dev.fulcrum.config.TlsSettings;
import java.security.NoSuchAlgorithmException;
import javax.net.ssl.SSLContext;

/** The SSLContext of the TLS implementation a listener names ({@code tls.provider}). */
final class TlsProviders {
  private TlsProviders() {}

  /** Conscrypt's provider, made once: loading it unpacks and links its native library. Null until asked for. */
  private static java.security.Provider conscrypt;
  private static String conscryptProblem;

  static SSLContext context(String listener, TlsSettings.Provider provider) throws TlsException, NoSuchAlgorithmException {
    if (provider == TlsSettings.Provider.JDK) return SSLContext.getInstance("TLS");
    return SSLContext.getInstance("TLS", conscrypt(listener));
  }

  private static synchronized java.security.Provider conscrypt(String listener) throws TlsException {
    if (conscrypt == null && conscryptProblem == null) {
      try {
        // throws why when its native library cannot be loaded (another OS or CPU, a libc too old)
        org.conscrypt.Conscrypt.checkAvailability();
        conscrypt = org.conscrypt.Conscrypt.newProvider();
      } catch (LinkageError | RuntimeException e) {
        conscryptProblem = describe(e);
      }
    }
    if (conscrypt == null) {
      throw new TlsException("listener " + listener + ": tls.provider = conscrypt cannot be used on this machine ("
          + conscryptProblem + "); use provider = jdk");
    }
    return conscrypt;
  }

  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null) root = root.getCause();
    return root.getClass().getSimpleName() + ": " + root.getMessage();
  }
}
