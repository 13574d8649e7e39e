package dev.fulcrum.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.StandardConstants;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Picks a listener's certificate by the host name the client asked for (SNI): a certificate naming it exactly, then
 * one for {@code *.its-parent}, else the first certificate (also for clients that send no name). The set of
 * certificates can be swapped at any time (a reload); handshakes under way keep the set they began with.
 */
final class SniKeyManager extends X509ExtendedKeyManager {
  /** One certificate chain, its key, and the host names it serves (from its SANs, else its CN), lower case. */
  record Entry(String alias, X509Certificate[] chain, PrivateKey key, List<String> names) {}

  private volatile List<Entry> entries;

  SniKeyManager(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  void replace(List<Entry> next) {
    entries = List.copyOf(next);
  }

  List<Entry> entries() {
    return entries;
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return choose(keyType, requestedName(engine.getHandshakeSession()));
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return choose(keyType, null);
  }

  /**
   * The certificates for the host (exact names, else {@code *.parent}, else the first certificate), and of those the
   * first of the key type JSSE asks for; null when none has it (JSSE then asks for its next key type).
   */
  private String choose(String keyType, String host) {
    List<Entry> all = entries;
    List<Entry> candidates = List.of();
    if (host != null) {
      candidates = all.stream().filter(e -> e.names().contains(host)).toList();
      int dot = host.indexOf('.');
      if (candidates.isEmpty() && dot > 0) {
        String wildcard = "*" + host.substring(dot);
        candidates = all.stream().filter(e -> e.names().contains(wildcard)).toList();
      }
    }
    if (candidates.isEmpty()) {
      // the default: the first certificate, and any other for exactly its names (an RSA and an EC one, say)
      List<String> first = all.get(0).names();
      candidates = all.stream().filter(e -> e.names().equals(first)).toList();
    }
    for (Entry e : candidates) if (fits(e, keyType)) return e.alias();
    return null;
  }

  /** JSSE asks per key type its cipher suites allow ("RSA", "RSASSA-PSS", "EC", "EdDSA"...). */
  private static boolean fits(Entry e, String keyType) {
    String algorithm = e.key().getAlgorithm();
    return algorithm.equalsIgnoreCase(keyType)
        || (keyType.equalsIgnoreCase("RSASSA-PSS") && algorithm.equalsIgnoreCase("RSA"))
        || (keyType.equalsIgnoreCase("EdDSA") && algorithm.startsWith("Ed"));
  }

  private static String requestedName(SSLSession session) {
    if (!(session instanceof ExtendedSSLSession extended)) return null;
    for (SNIServerName name : extended.getRequestedServerNames()) {
      if (name.getType() == StandardConstants.SNI_HOST_NAME) {
        return ((SNIHostName) name).getAsciiName().toLowerCase(Locale.ROOT);
      }
    }
    return null;
  }

  private Entry entry(String alias) {
    for (Entry e : entries) if (e.alias().equals(alias)) return e;
    return null;
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    Entry e = entry(alias);
    return e == null ? null : e.chain().clone();
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    Entry e = entry(alias);
    return e == null ? null : e.key();
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return entries.stream().filter(e -> fits(e, keyType)).map(Entry::alias).toArray(String[]::new);
  }

  // a server's key manager is never asked for client certificates
  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return null;
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return null;
  }
}
