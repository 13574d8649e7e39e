package dev.fulcrum.discovery;

import dev.fulcrum.Failures;
import dev.fulcrum.config.DiscoverySettings.DnsName;
import dev.fulcrum.config.DnsSettings;
import dev.fulcrum.config.HostPort;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.lookup.LookupResult;
import org.xbill.DNS.lookup.LookupSession;
import org.xbill.DNS.lookup.NoSuchDomainException;
import org.xbill.DNS.lookup.NoSuchRRSetException;

/**
 * Resolves the names that pools follow, with dnsjava: asynchronously (its queries run on one selector thread of its
 * own, and the answer completes a future: no actor and no event loop ever waits on DNS), with the records' TTLs and
 * SRV records, which {@code InetAddress} gives neither of. It keeps no cache: a name is asked again only when its
 * follower decides (at the TTL, held within the pool's bounds), and each answer is fresh. Names are fully qualified:
 * no search domain is appended.
 *
 * <p>An answer with no address (NXDOMAIN, no A/AAAA or SRV record) is a failure like a timeout or SERVFAIL: a name
 * that vanishes from DNS by mistake must not empty a pool, so its followers keep the backends they had.
 */
public final class DnsResolver {
  /** What a name stands for now, and how long that holds. */
  public record Answer(Set<HostPort> addresses, Duration ttl) {
    public Answer {
      addresses = Set.copyOf(addresses);
    }
  }

  /** Why a name did not resolve, in a sentence. */
  public static final class Failure extends RuntimeException {
    public Failure(String message) {
      super(message, null, false, false);
    }
  }

  private final LookupSession session;

  public DnsResolver(DnsSettings settings) {
    this(resolver(settings));
  }

  DnsResolver(Resolver resolver) {
    this.session = LookupSession.builder().resolver(resolver).clearCaches().build();
  }

  private static Resolver resolver(DnsSettings settings) {
    Resolver resolver;
    if (settings.servers().isEmpty()) {
      resolver = new ExtendedResolver();
    } else {
      List<Resolver> servers = new ArrayList<>();
      for (HostPort server : settings.servers()) {
        servers.add(new SimpleResolver(new InetSocketAddress(server.host(), server.port())));
      }
      resolver = servers.size() == 1 ? servers.get(0) : new ExtendedResolver(servers);
    }
    resolver.setTimeout(settings.timeout());
    return resolver;
  }

  /** Completes with the name's addresses, or exceptionally with a {@link Failure} saying why there are none. */
  public CompletionStage<Answer> resolve(DnsName name) {
    Name absolute;
    try {
      absolute = Name.fromString(name.name(), Name.root);
    } catch (TextParseException e) {
      return CompletableFuture.failedFuture(new Failure("'" + name.name() + "' is not a DNS name: " + e.getMessage()));
    }
    return name.srv() ? service(absolute, name.name()) : addresses(absolute, name.port(), name.name());
  }

  /** A and AAAA at once: either may have records; a failure of either (other than no records) fails both. */
  private CompletionStage<Answer> addresses(Name name, int port, String shown) {
    CompletableFuture<List<Record>> a = records(name, Type.A).toCompletableFuture();
    CompletableFuture<List<Record>> aaaa = records(name, Type.AAAA).toCompletableFuture();
    return a.thenCombine(aaaa, (v4, v6) -> {
      Set<HostPort> addresses = new HashSet<>();
      long ttl = Long.MAX_VALUE;
      for (Record r : concat(v4, v6)) {
        InetAddress address = r instanceof ARecord ar ? ar.getAddress() : ((AAAARecord) r).getAddress();
        addresses.add(new HostPort(address.getHostAddress(), port));
        ttl = Math.min(ttl, r.getTTL());
      }
      if (addresses.isEmpty()) throw new Failure(shown + " has no A or AAAA record");
      return new Answer(addresses, Duration.ofSeconds(ttl));
    }).exceptionally(failure -> {
      throw failure(shown, failure);
    });
  }

  /** The SRV records of the lowest priority, each target's addresses on the record's port. */
  private CompletionStage<Answer> service(Name name, String shown) {
    return records(name, Type.SRV).thenCompose(records -> {
      int best = records.stream().mapToInt(r -> ((SRVRecord) r).getPriority()).min().orElse(0);
      List<CompletableFuture<Answer>> targets = new ArrayList<>();
      long ttl = Long.MAX_VALUE;
      for (Record r : records) {
        SRVRecord srv = (SRVRecord) r;
        // RFC 2782: a target of "." says the service is decidedly not available at this name
        if (srv.getPriority() != best || srv.getTarget().equals(Name.root)) continue;
        ttl = Math.min(ttl, srv.getTTL());
        String target = srv.getTarget().toString(true);
        targets.add(addresses(srv.getTarget(), srv.getPort(), target).toCompletableFuture());
      }
      if (targets.isEmpty()) throw new Failure(shown + " has no SRV record with a target");
      long srvTtl = ttl;
      return CompletableFuture.allOf(targets.toArray(CompletableFuture[]::new)).thenApply(all -> {
        Set<HostPort> addresses = new HashSet<>();
        long least = srvTtl;
        for (CompletableFuture<Answer> t : targets) {
          addresses.addAll(t.join().addresses());
          least = Math.min(least, t.join().ttl().toSeconds());
        }
        return new Answer(addresses, Duration.ofSeconds(least));
      });
    }).exceptionally(failure -> {
      throw failure(shown, failure);
    });
  }

  /** The records of one type; none (rather than a failure) when the name has no such records or does not exist. */
  private CompletionStage<List<Record>> records(Name name, int type) {
    return session.lookupAsync(name, type)
        .thenApply(LookupResult::getRecords)
        .exceptionally(failure -> {
          Throwable cause = Failures.unwrap(failure);
          if (cause instanceof NoSuchRRSetException || cause instanceof NoSuchDomainException) return Collections.emptyList();
          throw failure instanceof CompletionException c ? c : new CompletionException(cause);
        });
  }

  private static Failure failure(String name, Throwable failure) {
    Throwable cause = Failures.unwrap(failure);
    if (cause instanceof Failure f) return f;
    if (cause instanceof java.util.concurrent.TimeoutException || cause instanceof java.net.SocketTimeoutException) {
      return new Failure(name + ": no answer from DNS in time");
    }
    return new Failure(name + ": " + Failures.describe(cause));
  }

  private static List<Record> concat(List<Record> a, List<Record> b) {
    List<Record> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
