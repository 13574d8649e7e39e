package dev.fulcrum;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.fulcrum.admin.AdminServer;
import dev.fulcrum.backend.HealthProbes;
import dev.fulcrum.cluster.Membership;
import dev.fulcrum.config.AdminSettings;
import dev.fulcrum.config.ClusterSettings;
import dev.fulcrum.config.FulcrumSettings;
import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.config.JournalSettings;
import dev.fulcrum.config.ObservabilitySettings;
import dev.fulcrum.config.SettingsException;
import dev.fulcrum.config.SettingsParser;
import dev.fulcrum.config.TcpListenerSettings;
import dev.fulcrum.demo.DemoBackends;
import dev.fulcrum.http.HttpListener;
import dev.fulcrum.http.HttpListeners;
import dev.fulcrum.pool.LocalPools;
import dev.fulcrum.pool.JournalDatabase;
import dev.fulcrum.pool.PoolControl;
import dev.fulcrum.pool.PoolDiscovery;
import dev.fulcrum.discovery.DnsResolver;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.routing.PoolRouter;
import dev.fulcrum.routing.RoutingTables;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.observe.Observability;
import dev.fulcrum.tcp.TcpListener;
import dev.fulcrum.listener.ListenerCommand;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Fulcrum node, embeddable: {@link #start(Config)} validates the config, starts the node's actor system
 * (listeners, routers, admin API) and its cluster membership in a second actor system (see {@link Membership}: a node
 * the cluster downs keeps routing and rejoins with a new membership), the pools (from the journal and the config)
 * with their routers, the listeners and the admin API, and returns once every listener is bound. Change pools with the typed messages of {@link PoolEntity} sent to
 * {@link #pool(String)}.
 */
public final class Fulcrum {
  private static final Logger log = LoggerFactory.getLogger(Fulcrum.class);
  private static final Duration BIND_TIMEOUT = Duration.ofSeconds(30);
  /** How long a start waits for this node's listener journal before it serves the config's listeners without it. */
  private static final Duration LISTENER_JOURNAL_WAIT = Duration.ofSeconds(10);

  private final ActorSystem<Void> system;
  private final FulcrumSettings settings;
  private final RoutingTables tables = new RoutingTables();
  private final JournalSettings journal;
  private final AdminSettings adminSettings;
  private final ClusterSettings cluster;
  private PoolControl pools;
  private Membership membership;
  private AdminServer admin;
  private final EventLoops eventLoops;
  private final dev.fulcrum.routes.LocalRoutes localRoutes = new dev.fulcrum.routes.LocalRoutes(tables);
  private dev.fulcrum.routes.RouteControl routes;
  private dev.fulcrum.listener.ListenerControl listeners;
  private Config config;

  private Fulcrum(
      ActorSystem<Void> system, FulcrumSettings settings, JournalSettings journal, AdminSettings admin, ClusterSettings cluster) {
    this.system = system;
    this.cluster = cluster;
    this.settings = settings;
    this.journal = journal;
    this.adminSettings = admin;
    this.eventLoops = new EventLoops(system.name(), settings.eventLoops());
    // after the drain, which runs before the system terminates: what is still open then is closed
    system.getWhenTerminated().thenRun(eventLoops::stop);
  }

  /**
   * Starts a node. {@code config} holds the user's settings only, unresolved or resolved but without the
   * reference.conf defaults merged in (e.g. {@code ConfigFactory.parseFile(...)}, not {@code ConfigFactory.load()}):
   * Fulcrum layers its own Pekko settings and all defaults under it, and system properties over it.
   *
   * @throws dev.fulcrum.config.SettingsException when the config is invalid; nothing is started then
   * @throws StartupException when a listener cannot bind; everything started is stopped again
   */
  public static Fulcrum start(Config userConfig) {
    Config config = withDefaults(userConfig);
    FulcrumSettings settings = SettingsParser.parse(config);
    for (String unknown : dev.fulcrum.config.UnknownSettings.find(config)) log.warn(unknown);
    JournalSettings journal = JournalSettings.parse(config);
    AdminSettings admin = AdminSettings.parse(config);
    dev.fulcrum.config.EventSettings.parse(config); // checked before anything starts; the event hub reads it again
    ClusterSettings cluster = ClusterSettings.parse(config);
    dev.fulcrum.config.NodeName.parse(config); // checked before anything starts; the listener journal reads it again
    Observability.prepare(ObservabilitySettings.parse(config));
    JournalDatabase.checkReachable(config);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "fulcrum-node", Membership.nodeConfig(config));
    Fulcrum fulcrum = new Fulcrum(system, settings, journal, admin, cluster);
    try {
      fulcrum.startAll(config);
      return fulcrum;
    } catch (RuntimeException e) {
      system.terminate();
      awaitQuietly(system.getWhenTerminated());
      if (fulcrum.membership != null) awaitQuietly(fulcrum.membership.current().getWhenTerminated());
      throw e;
    }
  }

  /** The user's config with system properties over it and Fulcrum's and Pekko's defaults under it, resolved. */
  public static Config withDefaults(Config userConfig) {
    Config config = ConfigFactory.defaultOverrides()
        .withFallback(userConfig)
        .withFallback(ConfigFactory.parseResources(Fulcrum.class, "/fulcrum-pekko.conf"))
        .withFallback(ConfigFactory.defaultReference())
        .resolve();
    if (!config.getString("pekko.actor.provider").equals("cluster")) {
      throw new SettingsException("pekko.actor.provider: must be cluster; pass Fulcrum.start your own settings "
          + "(ConfigFactory.parseFile/parseString), not ConfigFactory.load(), which puts Pekko's defaults over Fulcrum's");
    }
    return config;
  }

  /** The TLS of every listener of this node that has some (runtime-added ones too), for the admin API's reload. */
  public java.util.List<dev.fulcrum.tls.TlsContext> tlsListeners() {
    java.util.List<dev.fulcrum.tls.TlsContext> all = new java.util.ArrayList<>();
    if (listeners == null) return all;
    listeners.http().values().forEach(l -> l.tls().ifPresent(all::add));
    listeners.tcp().values().forEach(l -> l.tls().ifPresent(all::add));
    return all;
  }

  private void startAll(Config config) {
    this.config = config;
    // Only a node with pools that follow DNS names opens a resolver (it reads the system's DNS settings when it starts).
    PoolDiscovery discovery = settings.discovery().isEmpty()
        ? PoolDiscovery.NONE
        : new PoolDiscovery(settings::discoveryFor, new DnsResolver(settings.dns()), Observability.get(system)::dnsResolutionFailed);
    // before anything starts: a pool's unusable backend certificate or CA file is a start-up error naming it
    // (loaded here, each pool's router then finds it loaded and need not read a file)
    for (var pool : settings.backendTls().entrySet()) {
      try {
        dev.fulcrum.tls.BackendTls.of(pool.getValue());
      } catch (dev.fulcrum.tls.TlsException e) {
        throw new StartupException("cannot set up TLS to the backends: fulcrum.pools." + pool.getKey() + ".tls."
            + e.getMessage());
      }
    }
    HealthProbes probes = new HealthProbes(eventLoops);
    pools = new PoolControl(system, journal, cluster, tables, settings::balancingFor, probes, discovery);
    routes = new dev.fulcrum.routes.RouteControl(journal, cluster, localRoutes, pools);
    pools.alsoAttach(routes::attach, routes::detach);
    dev.fulcrum.events.FulcrumEvents events = dev.fulcrum.events.FulcrumEvents.get(system);
    localRoutes.onChange(change -> events.publish(dev.fulcrum.events.RuntimeEvents.of(change)));
    events.snapshot(dev.fulcrum.events.NodeSnapshot.of(system, pools.localPools(), localRoutes, Duration.ofSeconds(3)));
    dev.fulcrum.listener.ListenerJournal listenerJournal = new dev.fulcrum.listener.ListenerJournal(journal, clusterSystem -> nodeName(config, clusterSystem));
    pools.alsoAttach(listenerJournal::attach, listenerJournal::detach);
    listeners = new dev.fulcrum.listener.ListenerControl(system, eventLoops, tables, routes, settings.drainTimeout(), listenerJournal);
    CompletableFuture<Done> attached = new CompletableFuture<>();
    try {
      membership = Membership.start(system, config, pools, attached);
    } catch (RuntimeException e) {
      throw new StartupException("cannot start the cluster node on " + config.getString("pekko.remote.artery.canonical.hostname") + ":"
          + config.getInt("pekko.remote.artery.canonical.port") + " (pekko.remote.artery.canonical): " + Failures.describe(e));
    }
    await(DemoBackends.start(system, settings.demo()), "demo backends on " + settings.demo().host());
    await(attached, "the journal (schema)");
    Observability.get(system).attach(pools, tables);
    await(pools.bootstrap(settings.pools(), BIND_TIMEOUT), "the pools from the journal");
    // A router publishes its first table when it starts, which may come after the bootstrap completed; a listener
    // bound before that would turn its first clients away for want of a backend.
    for (ActorRef<PoolRouter.Command> router : localPools().routers().values()) {
      await(AskPattern.ask(router, PoolRouter.GetStatus::new, BIND_TIMEOUT, system.scheduler()), "the pools' routing tables");
    }
    // Route tables from the journal (or the config): listeners route by them from their first request.
    await(routes.bootstrap(settings.http().listeners(), BIND_TIMEOUT), "the route tables from the journal");
    startListeners(listenerJournal);
    if (adminSettings.enabled()) {
      admin = await(AdminServer.start(system, adminSettings, pools, this), "admin api on " + adminSettings.bind());
      log.info("admin api on {}", admin.localAddress());
    }
    registerDrain();
  }

  /** This node's name in its listener journal (see {@link dev.fulcrum.config.NodeName}). */
  private static String nodeName(Config config, ActorSystem<?> clusterSystem) {
    if (!dev.fulcrum.config.NodeName.takesBoundPort(config)) return dev.fulcrum.config.NodeName.parse(config);
    String name = dev.fulcrum.config.NodeName.withBoundPort(config,
        org.apache.pekko.cluster.typed.Cluster.get(clusterSystem).selfMember().address().getPort().orElseThrow());
    log.info("node {}: named by the port it was bound to (pekko.remote.artery.canonical.port = 0, fulcrum.node-name not set): "
        + "listeners added at runtime on this node come back only if it restarts on the same port; set fulcrum.node-name to "
        + "keep them", name);
    return name;
  }

  /**
   * This node's listeners by the rule of pools and routes: its listener journal's (the config's as its first state,
   * then what was added and removed at runtime), or with {@code bootstrap = config} the config's, differences warned
   * once. A config listener that cannot bind stops the start; one that came from the journal only is reported and
   * skipped.
   */
  private void startListeners(dev.fulcrum.listener.ListenerJournal journalOfListeners) {
    java.util.Map<String, TcpListenerSettings> configTcp = new java.util.LinkedHashMap<>();
    java.util.Map<String, HttpListenerSettings> configHttp = new java.util.LinkedHashMap<>();
    java.util.List<dev.fulcrum.listener.ListenerDefinition> configured = new java.util.ArrayList<>();
    settings.tcpListeners().forEach(l -> {
      configTcp.put(l.name(), l);
      configured.add(dev.fulcrum.listener.ListenerDefinition.of(l));
    });
    settings.http().listeners().forEach(l -> {
      configHttp.put(l.name(), l);
      configured.add(dev.fulcrum.listener.ListenerDefinition.of(l));
    });
    java.util.List<dev.fulcrum.listener.ListenerDefinition> toStart;
    try {
      dev.fulcrum.listener.NodeListenersEntity.BootstrapResult journaled = await(
          journalOfListeners.bootstrap(configured, LISTENER_JOURNAL_WAIT), "this node's listener journal (node " + journalOfListeners.node() + ")");
      if (journaled.applied()) {
        log.warn("node {}: the config's listeners differ from the listener journal: {}. The config was applied (fulcrum.journal.bootstrap "
            + "= config).", journalOfListeners.node(), String.join("; ", journaled.differences()));
      } else if (!journaled.differences().isEmpty()) {
        log.warn("node {}: the listener journal differs from the config: {}. The journal is kept (fulcrum.journal.bootstrap = journal); "
            + "add or remove listeners through the admin API, or set fulcrum.journal.bootstrap = config to apply the config.",
            journalOfListeners.node(), String.join("; ", journaled.differences()));
      }
      toStart = journaled.state().listeners();
    } catch (StartupException unreachable) {
      // the data plane does not wait for the control plane: the config's listeners serve, as they would on a first start
      log.warn("node {}: {}; starting the config's listeners (listeners added at runtime are not restored, and adding or "
          + "removing one is refused until the journal answers)", journalOfListeners.node(), unreachable.getMessage());
      toStart = configured;
    }
    for (dev.fulcrum.listener.ListenerDefinition l : toStart) {
      TcpListenerSettings tcp = configTcp.get(l.name());
      HttpListenerSettings http = configHttp.get(l.name());
      if (tcp != null && dev.fulcrum.listener.ListenerDefinition.of(tcp).equals(l)) {
        TcpListener bound = await(listeners.startTcp(tcp), "tcp listener '" + tcp.name() + "' on " + tcp.bind());
        log.info("tcp listener {} on {} -> pool {}", tcp.name(), bound.localAddress(), tcp.pool());
      } else if (http != null && dev.fulcrum.listener.ListenerDefinition.of(http).equals(l)) {
        HttpListener bound = await(listeners.startHttp(http), "http listener '" + http.name() + "' on " + http.bind());
        log.info("http listener {} on {} with {} route(s)", http.name(), bound.localAddress(),
            localRoutes.ref(http.name()).get().settings().size());
      } else {
        dev.fulcrum.listener.ListenerReply restored = await(listeners.restore(l), l.protocol() + " listener '" + l.name() + "' from the journal");
        if (restored instanceof dev.fulcrum.listener.ListenerReply.Rejected r) listeners.restoreFailed(l, r.message());
        else log.info("{} listener {} from this node's listener journal: {}", l.protocol(), l.name(), restored);
      }
    }
  }

  /** On shutdown: stop accepting, then let open connections finish for up to the drain timeout. */
  private void registerDrain() {
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "unbind-listeners", () ->
        CompletableFuture.allOf(java.util.stream.Stream.concat(
                    listeners.tcp().values().stream().map(l -> l.unbind().toCompletableFuture()),
                    listeners.http().values().stream().map(l -> l.unbind().toCompletableFuture()))
                .toArray(CompletableFuture<?>[]::new))
            .thenApply(all -> Done.getInstance()));
    if (admin != null) shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "unbind-admin", admin::unbind);
    shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "drain-connections", this::drain);
  }

  private CompletionStage<Done> drain() {
    log.info("stopping: listeners closed, draining {} open tcp connection(s) for up to {}",
        listeners.tcp().values().stream().mapToInt(TcpListener::openConnections).sum(), settings.drainTimeout());
    CompletableFuture<Done> drained = new CompletableFuture<>();
    long deadline = System.nanoTime() + settings.drainTimeout().toNanos();
    pollDrained(drained, deadline);
    return CompletableFuture.allOf(java.util.stream.Stream.concat(
            java.util.stream.Stream.of(drained),
            listeners.http().values().stream().map(l -> l.terminate(settings.drainTimeout()).toCompletableFuture()))
        .toArray(CompletableFuture<?>[]::new))
        .thenApply(all -> Done.getInstance());
  }

  private void pollDrained(CompletableFuture<Done> drained, long deadline) {
    int open = listeners.tcp().values().stream().mapToInt(TcpListener::openConnections).sum();
    if (open == 0) {
      drained.complete(Done.getInstance());
    } else if (System.nanoTime() >= deadline) {
      log.warn("drain timeout of {} reached with {} connection(s) still open; closing them", settings.drainTimeout(), open);
      drained.complete(Done.getInstance());
    } else {
      system.scheduler().scheduleOnce(Duration.ofMillis(50), () -> pollDrained(drained, deadline), system.executionContext());
    }
  }

  /** The node's own actor system: listeners, routers, health checks, admin API. It lives as long as the node. */
  public ActorSystem<Void> system() {
    return system;
  }

  /**
   * The actor system through which this node is a cluster member now: sharding, the pools' entities, replication. A
   * node the cluster downed gets a new one when it rejoins.
   */
  public ActorSystem<Void> clusterSystem() {
    return membership.current();
  }

  public FulcrumSettings settings() {
    return settings;
  }

  public RoutingTables tables() {
    return tables;
  }

  /** The node-local router of a pool, for status queries. */
  public ActorRef<PoolRouter.Command> router(String pool) {
    return localPools().router(pool).orElseThrow(() -> new IllegalArgumentException("no pool '" + pool + "'"));
  }

  /**
   * The pool's entity, to change or read the pool with {@link PoolEntity}'s typed messages, e.g.
   * {@code pool("web").ask(r -> new PoolEntity.AddBackend(address, 1, r), timeout)}. The pool need not exist yet:
   * {@link PoolEntity.Create} creates it.
   */
  public EntityRef<PoolEntity.Command> pool(String name) {
    return pools.pool(name);
  }

  /**
   * Changes a pool and completes, always normally and within the request's deadline plus the journal's write timeout,
   * with {@link PoolEntity.Ok} (persisted), {@link PoolEntity.Rejected} (nothing persisted, ever) or
   * {@link PoolEntity.OutcomeUnknown} (read the pool's version before retrying), e.g.
   * {@code change("web", PoolEntity.Request.of("deploy", Duration.ofSeconds(4)).withIdempotencyKey(id),
   * (request, r) -> new PoolEntity.Drain(address, request, r))}. Prefer this to asking {@link #pool(String)} directly:
   * an ask that times out cannot tell which of the three happened.
   */
  public CompletionStage<PoolEntity.Reply> change(
      String pool,
      PoolEntity.Request request,
      java.util.function.BiFunction<PoolEntity.Request, ActorRef<PoolEntity.Reply>, PoolEntity.Change> command) {
    return pools.change(pool, request, command);
  }

  /**
   * The pool as this node knows it, from the state every node replicates: answers at once, also while the pool's
   * entity moves between nodes or its journal is down. Empty when this node never heard of the pool.
   */
  public CompletionStage<java.util.Optional<dev.fulcrum.pool.PoolState>> state(String pool) {
    return pools.known(pool);
  }

  /** The pools that exist, as this node knows them, with their routers (blocks for a local ask). */
  public LocalPools.Pools localPools() {
    return AskPattern.<LocalPools.Command, LocalPools.Pools>ask(pools.localPools(), LocalPools.GetPools::new, BIND_TIMEOUT, system.scheduler())
        .toCompletableFuture()
        .join();
  }

  /**
   * This node's events from now on (pool, route and listener changes; backend health, ejections and returns as this
   * node sees them; cluster membership), as a stream paced by its consumer: what the consumer does not take in time
   * waits in a buffer of {@code fulcrum.events.buffer-size}, and when that is full the oldest are dropped, counted and
   * announced by {@link dev.fulcrum.events.FulcrumEvent.EventsDropped}. A slow consumer never slows traffic or changes.
   */
  public org.apache.pekko.stream.javadsl.Source<dev.fulcrum.events.FulcrumEvent, org.apache.pekko.NotUsed> events() {
    return dev.fulcrum.events.FulcrumEvents.get(system).source();
  }

  /**
   * As {@link #events()}, of the events {@code filter} wants, with a buffer of {@code bufferSize}; the materialized
   * stage completes once the subscription is in place (every event published after that is in the stream).
   */
  public org.apache.pekko.stream.javadsl.Source<dev.fulcrum.events.FulcrumEvent, CompletionStage<Done>> events(
      dev.fulcrum.events.EventFilter filter, int bufferSize) {
    return dev.fulcrum.events.FulcrumEvents.get(system).source(filter, bufferSize);
  }

  /**
   * As {@link #events(dev.fulcrum.events.EventFilter, int)}; with {@code snapshot}, the stream first tells the node's
   * current state (each pool's version and the health of each of its backends as this node sees them, each route
   * table's version; see {@link dev.fulcrum.events.FulcrumEvent.SnapshotEnd}), so a program watching a pool's health
   * need not poll first, then the live events, none lost between the two.
   */
  public org.apache.pekko.stream.javadsl.Source<dev.fulcrum.events.FulcrumEvent, CompletionStage<Done>> events(
      dev.fulcrum.events.EventFilter filter, int bufferSize, boolean snapshot) {
    return dev.fulcrum.events.FulcrumEvents.get(system).source(filter, bufferSize, "stream", snapshot);
  }

  /**
   * This node's event hub, for an actor of the program to subscribe to with
   * {@link dev.fulcrum.events.EventHub.Subscribe} (and {@link dev.fulcrum.events.EventHub.Unsubscribe}; a subscriber
   * that stops is dropped). It gets {@link dev.fulcrum.events.EventHub.Delivery} batches and acks each one.
   */
  public ActorRef<dev.fulcrum.events.EventHub.Command> eventHub() {
    return dev.fulcrum.events.FulcrumEvents.get(system).hub();
  }

  /** Where the admin API listens. */
  public InetSocketAddress adminAddress() {
    if (admin == null) throw new IllegalStateException("the admin api is disabled (fulcrum.admin.enabled = off)");
    return admin.localAddress();
  }

  public TcpListener tcpListener(String name) {
    TcpListener listener = listeners.tcp().get(name);
    if (listener == null) throw new IllegalArgumentException("no tcp listener '" + name + "'");
    return listener;
  }

  public HttpListener httpListener(String name) {
    HttpListener listener = listeners.http().get(name);
    if (listener == null) throw new IllegalArgumentException("no http listener '" + name + "'");
    return listener;
  }

  // ---- route tables and listeners at runtime -----------------------------------------------------------------------

  /**
   * Changes an HTTP listener's route table and completes, always normally and within the request's deadline plus the
   * journal's write timeout, with {@link dev.fulcrum.routes.RouteTableEntity.Ok} (persisted; this node routes new
   * requests by it already, every other node within moments), {@code Rejected} (nothing persisted, the reason names the field) or
   * {@code OutcomeUnknown}, e.g. {@code changeRoutes("web", PoolEntity.Request.of("deploy", Duration.ofSeconds(4)),
   * (request, r) -> new RouteTableEntity.SetPools("*\/", List.of(new WeightedPool("blue", 90), new WeightedPool("green", 10)), request, r))}.
   */
  public CompletionStage<dev.fulcrum.routes.RouteTableEntity.Reply> changeRoutes(
      String listener,
      PoolEntity.Request request,
      java.util.function.BiFunction<PoolEntity.Request, ActorRef<dev.fulcrum.routes.RouteTableEntity.Reply>, dev.fulcrum.routes.RouteTableEntity.Change> command) {
    return routes.change(listener, request, command);
  }

  /** The listener's route table as this node routes by it (from replication; empty if it never heard of it). */
  public java.util.Optional<dev.fulcrum.routes.RouteTableState> routeTable(String listener) {
    return localRoutes.state(listener);
  }

  /** Every route table this node knows, by listener. */
  public Map<String, dev.fulcrum.routes.RouteTableState> routeTables() {
    return localRoutes.states();
  }

  /** The table's journaled history from {@code fromSeq} on, as {@code GET /api/routes/{listener}/events}. */
  public CompletionStage<dev.fulcrum.routes.RouteTableEntity.HistoryReply> routeHistory(String listener, long fromSeq) {
    return routes.history(listener, fromSeq);
  }

  /** Completes once this node routes by {@code version} or newer of the listener's table, or fails after {@code timeout}. */
  public CompletionStage<dev.fulcrum.routes.RouteTableState> awaitRoutes(String listener, long version, Duration timeout) {
    return localRoutes.awaitVersion(listener, version, timeout);
  }

  /**
   * A route written as in the config ({@code {host = "*", path = "/api", pool = api}}, HOCON or JSON), parsed and
   * resolved as a route of {@code listener} in this node's config would be (its backend settings from the pool's and the
   * listener's config, else {@code fulcrum.http}), for the route commands. Whole-table rules (known pools, overlaps)
   * are checked by the table's entity.
   *
   * @throws SettingsException naming the field and the problem
   */
  public dev.fulcrum.config.HttpRouteSettings parseRoute(String listener, String route) {
    return dev.fulcrum.config.HttpSettingsParser.parseRoute(config, listener, parseBody(route), pools.existingPools());
  }

  /** An HTTP listener written as in the config's {@code fulcrum.listeners.http.<name>}, for {@link ListenerCommand.AddHttp}. */
  public HttpListenerSettings parseHttpListener(String name, String listener) {
    return dev.fulcrum.config.HttpSettingsParser.parseListener(config, name, parseBody(listener), pools.existingPools());
  }

  /** A TCP listener written as in the config's {@code fulcrum.listeners.tcp.<name>}, for {@link ListenerCommand.AddTcp}. */
  public TcpListenerSettings parseTcpListener(String name, String listener) {
    return SettingsParser.parseTcpListener(config, name, parseBody(listener), pools.existingPools());
  }

  private static Config parseBody(String text) {
    try {
      return dev.fulcrum.config.RequestBody.parse(text, false).resolve();
    } catch (com.typesafe.config.ConfigException e) {
      throw new SettingsException("the body is not a JSON or HOCON object: " + e.getMessage());
    }
  }

  /**
   * Adds or removes one of this node's listeners ({@link ListenerCommand}); always completes normally, with
   * {@link dev.fulcrum.listener.ListenerReply.Rejected} naming the field when nothing was changed.
   */
  public CompletionStage<dev.fulcrum.listener.ListenerReply> listeners(dev.fulcrum.listener.ListenerCommand command) {
    return listeners.tell(command);
  }

  /** This node's listeners now: name, protocol, address. */
  public java.util.List<dev.fulcrum.listener.ListenerReply.Added> listenerList() {
    return listeners.all();
  }

  /**
   * The one sink of this node's runtime notices besides pools: route tables it routes by from now on, listeners
   * added, draining and removed; in addition to the event hub ({@link #events()}), which hears them too. The sink runs on
   * the notifying thread and must not block.
   */
  public void onRuntimeChange(java.util.function.Consumer<dev.fulcrum.routes.RuntimeChange> sink) {
    localRoutes.onChange(sink);
  }

  /** Stops gracefully: unbinds, drains open connections up to the drain timeout, leaves the cluster, terminates. */
  public CompletionStage<Done> stop() {
    CompletableFuture<Done> left = membership == null
        ? CompletableFuture.completedFuture(Done.getInstance())
        : membership.stop().toCompletableFuture();
    CompletableFuture<Done> drained = CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason()).toCompletableFuture();
    return left.thenCombine(drained, (a, b) -> Done.getInstance());
  }

  private static <T> T await(CompletionStage<T> stage, String what) {
    try {
      return stage.toCompletableFuture().get(BIND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new StartupException("cannot start " + what + ": " + Failures.describe(cause));
    } catch (TimeoutException e) {
      throw new StartupException("cannot start " + what + ": timed out after " + BIND_TIMEOUT.toSeconds() + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartupException("interrupted while starting " + what);
    }
  }

  private static void awaitQuietly(CompletionStage<?> stage) {
    try {
      stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.debug("actor system did not terminate cleanly", e);
    }
  }
}
