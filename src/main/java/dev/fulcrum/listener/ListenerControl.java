package dev.fulcrum.listener;

import dev.fulcrum.Failures;
import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.config.TcpListenerSettings;
import dev.fulcrum.http.HttpListener;
import dev.fulcrum.http.HttpListeners;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.routes.RouteControl;
import dev.fulcrum.routes.RouteTableEntity;
import dev.fulcrum.routes.RuntimeChange;
import dev.fulcrum.routing.RoutingTables;
import dev.fulcrum.tcp.TcpListener;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's listeners, from config at start and added or removed at runtime. Listeners are the node's own (an
 * address is a machine's); the routes of an HTTP listener are the cluster's, in the route table entity of its name. A
 * command that cannot be carried out changes nothing; every change is told through
 * {@link dev.fulcrum.routes.LocalRoutes#notice}.
 */
public final class ListenerControl {
  private static final Logger log = LoggerFactory.getLogger(ListenerControl.class);

  private final ActorSystem<?> system;
  private final EventLoops loops;
  private final RoutingTables tables;
  private final RouteControl routes;
  private final Duration drainTimeout;
  private final Map<String, TcpListener> tcp = new ConcurrentHashMap<>();
  private final Map<String, HttpListener> http = new ConcurrentHashMap<>();
  /** Names being added or removed: a second command for the same name waits for none, it is refused. */
  private final Map<String, Boolean> busy = new ConcurrentHashMap<>();
  private final ListenerJournal journal;

  public ListenerControl(ActorSystem<?> system, EventLoops loops, RoutingTables tables, RouteControl routes, Duration drainTimeout) {
    this(system, loops, tables, routes, drainTimeout, null);
  }

  /** {@code journal}: where the listeners added and removed at runtime are journaled (null: nowhere). */
  public ListenerControl(ActorSystem<?> system, EventLoops loops, RoutingTables tables, RouteControl routes, Duration drainTimeout,
      ListenerJournal journal) {
    this.journal = journal;
    this.system = system;
    this.loops = loops;
    this.tables = tables;
    this.routes = routes;
    this.drainTimeout = drainTimeout;
  }

  public Map<String, TcpListener> tcp() {
    return tcp;
  }

  public Map<String, HttpListener> http() {
    return http;
  }

  /** Binds a configured TCP listener at start-up (its failure stops the start). */
  public CompletionStage<TcpListener> startTcp(TcpListenerSettings settings) {
    return TcpListener.start(system, loops, settings, tables.of(settings.pool())).thenApply(bound -> {
      tcp.put(settings.name(), bound);
      return bound;
    });
  }

  /** Binds a configured HTTP listener at start-up, on the route table the start-up bootstrap set. */
  public CompletionStage<HttpListener> startHttp(HttpListenerSettings settings) {
    routes.served(settings.name(), settings.engine());
    return HttpListeners.start(system, loops, settings, routes.local().ref(settings.name())).thenApply(bound -> {
      http.put(settings.name(), bound);
      return bound;
    });
  }

  /** Carries out one command; always completes normally. */
  public CompletionStage<ListenerReply> tell(ListenerCommand command) {
    String name = command instanceof ListenerCommand.AddTcp a ? a.settings().name()
        : command instanceof ListenerCommand.AddHttp h ? h.settings().name()
        : ((ListenerCommand.Remove) command).name();
    if (busy.putIfAbsent(name, Boolean.TRUE) != null) {
      return done(new ListenerReply.Rejected(ListenerReply.Reason.ALREADY_EXISTS, "name: listener '" + name + "' is being added or removed now"));
    }
    CompletionStage<ListenerReply> outcome;
    try {
      if (command instanceof ListenerCommand.AddTcp a) {
        outcome = addTcp(a.settings(), a.origin()).thenCompose(reply -> journalAdded(reply, ListenerDefinition.of(a.settings()), a.origin()));
      } else if (command instanceof ListenerCommand.AddHttp h) {
        outcome = addHttp(h).thenCompose(reply -> journalAdded(reply, ListenerDefinition.of(h.settings()), h.request().origin()));
      } else {
        Duration drain = ((ListenerCommand.Remove) command).drain().orElse(drainTimeout);
        String origin = command.origin();
        outcome = journal == null || !taken(name) ? remove(name, drain, origin) : journal.removed(name, origin).handle((state, failure) ->
            failure == null ? remove(name, drain, origin) : done((ListenerReply) new ListenerReply.Rejected(ListenerReply.Reason.UNAVAILABLE,
                "the journal did not record the removal (" + Failures.describe(failure) + "); listener '" + name + "' was not removed, retry")))
            .thenCompose(stage -> stage);
      }
    } catch (RuntimeException e) {
      outcome = CompletableFuture.failedFuture(e);
    }
    return outcome.exceptionally(failure -> {
      log.warn("listener {}: {}", name, Failures.describe(failure));
      return new ListenerReply.Rejected(ListenerReply.Reason.UNAVAILABLE, Failures.describe(failure));
    }).whenComplete((reply, failure) -> busy.remove(name));
  }

  /**
   * An added listener is journaled for the node's next start; if the journal does not confirm it, the listener goes
   * again (its route table, when it brought one, stays) and the command is refused.
   */
  private CompletionStage<ListenerReply> journalAdded(ListenerReply reply, ListenerDefinition listener, String origin) {
    if (journal == null || !(reply instanceof ListenerReply.Added)) return done(reply);
    return journal.added(listener, origin).handle((state, failure) -> {
      if (failure == null) return done(reply);
      String why = Failures.describe(failure);
      log.warn("listener {}: the journal did not record it ({}); removing it again", listener.name(), why);
      return remove(listener.name(), Duration.ZERO, origin).thenApply(removed -> (ListenerReply) new ListenerReply.Rejected(
          ListenerReply.Reason.UNAVAILABLE, "the journal did not record listener '" + listener.name() + "' (" + why
              + "); it was not added, retry"));
    }).thenCompose(stage -> stage);
  }

  /**
   * Binds a listener from the node's listener journal at start (not journaled again): an HTTP one takes the route
   * table of its name. Completes normally, with the reason when it cannot bind.
   */
  public CompletionStage<ListenerReply> restore(ListenerDefinition listener) {
    CompletionStage<ListenerReply> outcome;
    try {
      outcome = listener.tcp() != null
          ? addTcp(listener.tcp(), RESTART)
          : addHttp(new ListenerCommand.AddHttp(listener.http(), dev.fulcrum.pool.PoolEntity.Request.of(RESTART, Duration.ofSeconds(10))));
    } catch (RuntimeException e) {
      outcome = CompletableFuture.failedFuture(e);
    }
    return outcome.exceptionally(failure -> new ListenerReply.Rejected(ListenerReply.Reason.UNAVAILABLE, Failures.describe(failure)));
  }

  /** The origin of what a node does with the listeners of its journal at start. */
  static final String RESTART = "restart";

  /** Tells that a journaled listener could not come back at start. */
  public void restoreFailed(ListenerDefinition listener, String reason) {
    log.warn("{} listener {} from this node's listener journal was not started: {}", listener.protocol(), listener.name(), reason);
    routes.local().notice(new RuntimeChange.ListenerChanged(listener.name(), listener.protocol(), RuntimeChange.Kind.BIND_FAILED,
        null, reason, RESTART));
  }

  private boolean taken(String name) {
    return tcp.containsKey(name) || http.containsKey(name);
  }

  private CompletionStage<ListenerReply> addTcp(TcpListenerSettings settings, String origin) {
    if (taken(settings.name())) return exists(settings.name());
    return TcpListener.start(system, loops, settings, tables.of(settings.pool())).handle((bound, failure) -> {
      if (failure != null) return cannotBind(settings.bind(), failure);
      tcp.put(settings.name(), bound);
      log.info("tcp listener {} added on {} -> pool {}", settings.name(), bound.localAddress(), settings.pool());
      routes.local().notice(new RuntimeChange.ListenerChanged(settings.name(), "tcp", RuntimeChange.Kind.ADDED, bound.localAddress(), "pool " + settings.pool(), origin));
      return new ListenerReply.Added(settings.name(), "tcp", bound.localAddress());
    });
  }

  private CompletionStage<ListenerReply> addHttp(ListenerCommand.AddHttp command) {
    HttpListenerSettings settings = command.settings();
    String name = settings.name();
    if (taken(name)) return exists(name);
    boolean hasTable = routes.local().state(name).map(s -> s.exists()).orElse(false);
    CompletionStage<Boolean> tableKnown = hasTable
        ? CompletableFuture.completedFuture(true)
        : routes.load(name, Duration.ofSeconds(5)).thenApply(s -> s.exists());
    return tableKnown.thenCompose(exists -> {
      if (exists && !settings.routes().isEmpty()) {
        return done(new ListenerReply.Rejected(ListenerReply.Reason.ALREADY_EXISTS, "routes: listener '" + name + "' has a route "
            + "table already (version " + routes.local().state(name).map(s -> s.version()).orElse(0L) + "); leave routes out to "
            + "use it, or change it through /api/routes/" + name));
      }
      java.util.Optional<dev.fulcrum.config.RouteRules.Problem> unservable = exists
          ? dev.fulcrum.config.RouteRules.engine(routes.local().state(name).map(s -> s.routes()).orElse(List.of()), settings.engine())
          : java.util.Optional.empty();
      if (unservable.isPresent()) {
        return done(new ListenerReply.Rejected(ListenerReply.Reason.INVALID, "engine: the route table of listener '" + name
            + "' has " + unservable.get() + "; add the listener with engine = nio, or change the route first"));
      }
      if (!exists && settings.routes().isEmpty()) {
        return done(new ListenerReply.Rejected(ListenerReply.Reason.INVALID, "routes: is empty: listener '" + name
            + "' has no route table yet; add at least one route, e.g. [{pool = web}]"));
      }
      routes.served(name, settings.engine());
      return HttpListeners.start(system, loops, settings, routes.local().ref(name)).handle((bound, failure) -> {
        if (failure != null) {
          routes.served(name, null);
          return done(cannotBind(settings.bind(), failure));
        }
        if (exists) return done(added(settings, bound, command.origin()));
        // the new table goes to every node; if it cannot, the listener goes again and nothing is left behind
        return routes.change(name, command.request(), (request, r) -> new RouteTableEntity.SetRoutes(settings.routes(), request, r))
            .thenCompose(reply -> {
              if (reply instanceof RouteTableEntity.Ok) return done(added(settings, bound, command.origin()));
              routes.served(name, null);
              return bound.terminate(Duration.ZERO).thenApply(gone -> (ListenerReply) (reply instanceof RouteTableEntity.Rejected rejected
                  ? new ListenerReply.Rejected(rejected.reason() == RouteTableEntity.Reason.INVALID ? ListenerReply.Reason.INVALID
                      : ListenerReply.Reason.UNAVAILABLE, rejected.message())
                  : new ListenerReply.Rejected(ListenerReply.Reason.UNAVAILABLE,
                      ((RouteTableEntity.OutcomeUnknown) reply).message() + " (the listener was not added)")));
            });
      }).thenCompose(stage -> stage);
    });
  }

  private ListenerReply added(HttpListenerSettings settings, HttpListener bound, String origin) {
    http.put(settings.name(), bound);
    log.info("http listener {} added on {}", settings.name(), bound.localAddress());
    routes.local().notice(new RuntimeChange.ListenerChanged(settings.name(), "http", RuntimeChange.Kind.ADDED, bound.localAddress(), "", origin));
    return new ListenerReply.Added(settings.name(), "http", bound.localAddress());
  }

  private CompletionStage<ListenerReply> remove(String name, Duration drain, String origin) {
    TcpListener t = tcp.get(name);
    HttpListener h = http.get(name);
    if (t == null && h == null) {
      return done(new ListenerReply.Rejected(ListenerReply.Reason.NO_SUCH_LISTENER, "no listener '" + name + "' on this node"));
    }
    java.net.InetSocketAddress address = t != null ? t.localAddress() : h.localAddress();
    String protocol = t != null ? "tcp" : "http";
    log.info("{} listener {} on {}: draining for up to {} before it is removed", protocol, name, address, drain);
    routes.local().notice(new RuntimeChange.ListenerChanged(name, protocol, RuntimeChange.Kind.DRAINING, address, "up to " + drain, origin));
    CompletionStage<Integer> drained = t != null
        ? t.unbind().thenCompose(unbound -> drainTcp(t, System.nanoTime() + drain.toNanos()))
        : h.terminate(drain).thenApply(done -> 0);
    return drained.thenApply(left -> {
      tcp.remove(name);
      if (http.remove(name) != null) routes.served(name, null);
      dev.fulcrum.observe.Observability.get(system).listenerRemoved(name);
      log.info("{} listener {} removed{}", protocol, name, left > 0 ? " (" + left + " connection(s) still open end by themselves)" : "");
      routes.local().notice(new RuntimeChange.ListenerChanged(name, protocol, RuntimeChange.Kind.REMOVED, address,
          left > 0 ? left + " connection(s) left open" : "", origin));
      return new ListenerReply.Removed(name, left);
    });
  }

  private CompletionStage<Integer> drainTcp(TcpListener listener, long deadline) {
    int open = listener.openConnections();
    if (open == 0 || System.nanoTime() >= deadline) return done(open);
    CompletableFuture<Integer> later = new CompletableFuture<>();
    system.scheduler().scheduleOnce(Duration.ofMillis(50),
        () -> drainTcp(listener, deadline).thenAccept(later::complete), system.executionContext());
    return later;
  }

  private static CompletionStage<ListenerReply> exists(String name) {
    return done(new ListenerReply.Rejected(ListenerReply.Reason.ALREADY_EXISTS, "name: listener '" + name + "' exists on this node"));
  }

  /**
   * A bind on an address this machine does not have, or on a name that does not resolve, is the request's mistake
   * (400), not a conflict with what runs here (a port in use: 409). Judged once the bind failed, so a machine that lets
   * processes bind foreign addresses (net.ipv4.ip_nonlocal_bind) is not second-guessed, and on the address, not on the
   * OS's text for the failure, which differs between engines and systems. A name is looked at as it resolves now (the
   * bind has just looked it up: the JVM's cache answers).
   */
  private static ListenerReply cannotBind(dev.fulcrum.config.HostPort bind, Throwable failure) {
    if (Failures.unresolved(failure)) {
      return new ListenerReply.Rejected(ListenerReply.Reason.INVALID, "bind: host name '" + bind.host() + "' does not resolve "
          + "(cannot listen on " + bind + "); use one of this machine's addresses, 127.0.0.1, or 0.0.0.0 for all of them");
    }
    java.util.Optional<String> foreign = foreignAddress(bind.host());
    if (foreign.isPresent()) {
      String which = bind.isIpLiteral() ? bind.host() : bind.host() + " (" + foreign.get() + ")";
      return new ListenerReply.Rejected(ListenerReply.Reason.INVALID, "bind: " + which + " is not an address of this "
          + "machine (cannot listen on " + bind + "); use one of its own addresses, 127.0.0.1, or 0.0.0.0 for all of them");
    }
    return new ListenerReply.Rejected(ListenerReply.Reason.CANNOT_BIND, "bind: cannot listen on " + bind + ": " + Failures.describe(failure));
  }

  /** The address the host stands for when this machine does not have it; empty when it does or that cannot be told. */
  private static java.util.Optional<String> foreignAddress(String host) {
    try {
      java.net.InetAddress address = java.net.InetAddress.getByName(host);
      boolean local = address.isAnyLocalAddress() || address.isLoopbackAddress() || java.net.NetworkInterface.getByInetAddress(address) != null;
      return local ? java.util.Optional.empty() : java.util.Optional.of(address.getHostAddress());
    } catch (java.io.IOException | RuntimeException e) {
      return java.util.Optional.empty();
    }
  }

  private static <T> CompletionStage<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }

  /** Every listener's name, protocol and address, for the API. */
  public List<ListenerReply.Added> all() {
    List<ListenerReply.Added> all = new java.util.ArrayList<>();
    tcp.forEach((name, l) -> all.add(new ListenerReply.Added(name, "tcp", l.localAddress())));
    http.forEach((name, l) -> all.add(new ListenerReply.Added(name, "http", l.localAddress())));
    all.sort(java.util.Comparator.comparing(ListenerReply.Added::name));
    return all;
  }
}
