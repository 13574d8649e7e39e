package dev.fulcrum.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.BackendTlsSettings;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.JournalSettings;
import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.pool.PoolEntity.Reason;
import dev.fulcrum.routing.StrategyKind;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every command of the pool entity: the events it persists, its reply, its rejections; snapshots and replay. */
class PoolEntityTest {
  private static final HostPort A = HostPort.parse("127.0.0.1:9001", false);
  private static final HostPort B = HostPort.parse("127.0.0.1:9002", false);
  private static final HostPort C = HostPort.parse("127.0.0.1:9003", false);
  private static final int SNAPSHOT_EVERY = 3;

  private static ActorTestKit kit;
  private static JournalSettings settings;

  private TestProbe<PoolState> published;
  private EventSourcedBehaviorTestKit<PoolEntity.Command, PoolEvent, PoolState> entity;

  @BeforeAll
  static void startKit() {
    kit = ActorTestKit.create("pool-entity", EventSourcedBehaviorTestKit.config()
        .withFallback(ConfigFactory.parseString("pekko.persistence.snapshot-store.plugin = \"pekko.persistence.testkit.snapshotstore\""))
        .withFallback(org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin.config())
        .withFallback(ConfigFactory.parseResources("fulcrum-pekko.conf").withOnlyPath("pekko.actor.serialization-bindings"))
        .withFallback(TestConfig.of("""
            pekko.actor.provider = local
            fulcrum.journal.read-journal = "pekko.persistence.testkit.query"
            """)));
    JournalSettings parsed = JournalSettings.parse(kit.system().settings().config());
    settings = new JournalSettings(SNAPSHOT_EVERY, parsed.bootstrap(), parsed.readJournal(), parsed.defaultHealthCheck());
  }

  @AfterAll
  static void stopKit() {
    kit.shutdownTestKit();
  }

  @BeforeEach
  void newEntity() {
    published = kit.createTestProbe();
    String name = "web-" + UUID.randomUUID().toString().substring(0, 8);
    entity = EventSourcedBehaviorTestKit.create(kit.system(), PoolEntity.create(name, settings, published.ref()::tell));
  }

  private CommandResultWithReply<PoolEntity.Command, PoolEvent, PoolState, PoolEntity.Reply> create(BackendSettings... backends) {
    return run(r -> new PoolEntity.Create(StrategyKind.ROUND_ROBIN, List.of(backends), Optional.empty(), "test", r));
  }

  private CommandResultWithReply<PoolEntity.Command, PoolEvent, PoolState, PoolEntity.Reply> run(
      java.util.function.Function<org.apache.pekko.actor.typed.ActorRef<PoolEntity.Reply>, PoolEntity.Command> command) {
    return entity.runCommand(command);
  }

  private static void assertRejected(CommandResultWithReply<?, ?, ?, PoolEntity.Reply> result, Reason reason) {
    PoolEntity.Rejected rejected = assertInstanceOf(PoolEntity.Rejected.class, result.reply());
    assertEquals(reason, rejected.reason(), rejected.message());
    assertTrue(result.hasNoEvents(), "a rejected command persists nothing");
  }

  private static PoolState ok(CommandResultWithReply<?, ?, ?, PoolEntity.Reply> result) {
    return assertInstanceOf(PoolEntity.Ok.class, result.reply()).state();
  }

  @Test
  void createPersistsTheDefinitionAndPublishesIt() {
    var result = create(new BackendSettings(A, 1), new BackendSettings(B, 2));
    PoolEvent.PoolCreated created = result.eventOfType(PoolEvent.PoolCreated.class);
    assertEquals("test", created.origin());
    assertEquals(List.of(new BackendSettings(A, 1), new BackendSettings(B, 2)), created.pool().backends());
    assertEquals(settings.defaultHealthCheck(), created.pool().healthCheck());
    PoolState state = ok(result);
    assertEquals(1, state.version());
    assertTrue(state.exists());
    assertEquals(state, result.state());
    assertEquals(state, published.receiveMessage());

    assertRejected(create(), Reason.ALREADY_EXISTS);
  }

  @Test
  void createRejectsInvalidDefinitions() {
    assertRejected(create(new BackendSettings(A, 1), new BackendSettings(A, 2)), Reason.INVALID);
    assertRejected(create(new BackendSettings(A, BackendSettings.MAX_WEIGHT + 1)), Reason.INVALID);
    var badName = EventSourcedBehaviorTestKit.<PoolEntity.Command, PoolEvent, PoolState>create(
        kit.system(), PoolEntity.create("not a name", settings, published.ref()::tell));
    var result = badName.<PoolEntity.Reply>runCommand(r -> new PoolEntity.Create(StrategyKind.ROUND_ROBIN, List.of(), r));
    assertEquals(Reason.INVALID, ((PoolEntity.Rejected) result.reply()).reason());
    assertFalse(entity.getState().exists());
  }

  @Test
  void everyCommandOnAMissingPoolIsRejected() {
    assertRejected(run(PoolEntity.Delete::new), Reason.NO_SUCH_POOL);
    assertRejected(run(r -> new PoolEntity.AddBackend(A, 1, r)), Reason.NO_SUCH_POOL);
    assertRejected(run(r -> new PoolEntity.RemoveBackend(A, r)), Reason.NO_SUCH_POOL);
    assertRejected(run(r -> new PoolEntity.SetWeight(A, 1, r)), Reason.NO_SUCH_POOL);
    assertRejected(run(r -> new PoolEntity.Drain(A, r)), Reason.NO_SUCH_POOL);
    assertRejected(run(r -> new PoolEntity.Undrain(A, r)), Reason.NO_SUCH_POOL);
    assertRejected(run(r -> new PoolEntity.SetStrategy(StrategyKind.ROUND_ROBIN, r)), Reason.NO_SUCH_POOL);
    assertRejected(run(r -> new PoolEntity.SetHealthCheck(settings.defaultHealthCheck(), r)), Reason.NO_SUCH_POOL);
    var history = entity.<PoolEntity.HistoryReply>runCommand(r -> new PoolEntity.GetHistory(1, r));
    assertEquals(Reason.NO_SUCH_POOL, assertInstanceOf(PoolEntity.Rejected.class, history.reply()).reason());
    PoolState state = entity.<PoolState>runCommand(PoolEntity.GetState::new).reply();
    assertFalse(state.exists());
    assertEquals(0, state.version());
    published.expectNoMessage(Duration.ofMillis(50));
  }

  @Test
  void addAndRemoveBackends() {
    create(new BackendSettings(A, 1));
    var added = run(r -> new PoolEntity.AddBackend(B, 5, "test", r));
    assertEquals(B, added.eventOfType(PoolEvent.BackendAdded.class).address());
    assertEquals(Optional.of(new BackendSettings(B, 5)), ok(added).backend(B));

    assertRejected(run(r -> new PoolEntity.AddBackend(B, 1, r)), Reason.ALREADY_EXISTS);
    assertRejected(run(r -> new PoolEntity.AddBackend(C, -1, r)), Reason.INVALID);
    assertRejected(run(r -> new PoolEntity.AddBackend(C, BackendSettings.MAX_WEIGHT + 1, r)), Reason.INVALID);

    var removed = run(r -> new PoolEntity.RemoveBackend(A, r));
    assertEquals(A, removed.eventOfType(PoolEvent.BackendRemoved.class).address());
    assertEquals(List.of(new BackendSettings(B, 5)), ok(removed).pool().backends());
    assertRejected(run(r -> new PoolEntity.RemoveBackend(A, r)), Reason.NO_SUCH_BACKEND);
    assertEquals(3, entity.getState().version());
  }

  @Test
  void setWeight() {
    create(new BackendSettings(A, 1));
    var changed = run(r -> new PoolEntity.SetWeight(A, 7, r));
    assertEquals(7, changed.eventOfType(PoolEvent.WeightChanged.class).weight());
    assertEquals(7, ok(changed).backend(A).orElseThrow().weight());

    var same = run(r -> new PoolEntity.SetWeight(A, 7, r));
    assertTrue(same.hasNoEvents(), "no change, no event");
    assertEquals(2, ok(same).version());
    assertRejected(run(r -> new PoolEntity.SetWeight(A, 1001, r)), Reason.INVALID);
    assertRejected(run(r -> new PoolEntity.SetWeight(C, 1, r)), Reason.NO_SUCH_BACKEND);
  }

  @Test
  void drainAndUndrain() {
    create(new BackendSettings(A, 1), new BackendSettings(B, 1));
    var drained = run(r -> new PoolEntity.Drain(A, r));
    assertEquals(A, drained.eventOfType(PoolEvent.DrainStarted.class).address());
    assertEquals(BackendSettings.Admin.DRAINING, ok(drained).backend(A).orElseThrow().admin());
    assertTrue(run(r -> new PoolEntity.Drain(A, r)).hasNoEvents());

    var undrained = run(r -> new PoolEntity.Undrain(A, r));
    assertEquals(A, undrained.eventOfType(PoolEvent.DrainStopped.class).address());
    assertEquals(BackendSettings.Admin.ACTIVE, ok(undrained).backend(A).orElseThrow().admin());
    assertTrue(run(r -> new PoolEntity.Undrain(A, r)).hasNoEvents());

    assertRejected(run(r -> new PoolEntity.Drain(C, r)), Reason.NO_SUCH_BACKEND);
    assertRejected(run(r -> new PoolEntity.Undrain(C, r)), Reason.NO_SUCH_BACKEND);
  }

  @Test
  void setStrategy() {
    create(new BackendSettings(A, 1));
    assertTrue(run(r -> new PoolEntity.SetStrategy(StrategyKind.ROUND_ROBIN, r)).hasNoEvents());
    assertRejected(run(r -> new PoolEntity.SetStrategy(null, r)), Reason.INVALID);
    Optional<StrategyKind> other = Arrays.stream(StrategyKind.values()).filter(k -> k != StrategyKind.ROUND_ROBIN).findFirst();
    Assumptions.assumeTrue(other.isPresent(), "only one strategy exists");
    var changed = run(r -> new PoolEntity.SetStrategy(other.get(), r));
    assertEquals(other.get(), changed.eventOfType(PoolEvent.StrategyChanged.class).strategy());
    assertEquals(other.get(), ok(changed).pool().strategy());
  }

  @Test
  void setHealthCheck() {
    create(new BackendSettings(A, 1));
    HealthCheckSettings tcp = new HealthCheckSettings(
        HealthCheckSettings.Kind.TCP, "/", 200, Optional.empty(), Duration.ofMillis(500), Duration.ofMillis(200), 1, 1);
    var changed = run(r -> new PoolEntity.SetHealthCheck(tcp, r));
    assertEquals(tcp, changed.eventOfType(PoolEvent.HealthCheckChanged.class).healthCheck());
    assertEquals(tcp, ok(changed).pool().healthCheck());
    assertTrue(run(r -> new PoolEntity.SetHealthCheck(tcp, r)).hasNoEvents());
    HealthCheckSettings bad = new HealthCheckSettings(
        HealthCheckSettings.Kind.TCP, "/", 200, Optional.empty(), Duration.ofMillis(500), Duration.ofMillis(200), 0, 1);
    assertRejected(run(r -> new PoolEntity.SetHealthCheck(bad, r)), Reason.INVALID);
  }

  /**
   * As a route table's: a change that is in effect already answers Ok with the current version and persists and
   * publishes nothing (so no event in the history, no version bump, no notice to subscribers).
   */
  @Test
  void aChangeThatIsInEffectAlreadyWritesNothing() {
    create(new BackendSettings(A, 3));
    assertEquals(1, published.receiveMessage().version());
    PoolState before = entity.getState();
    PoolEntity.Request keyed = PoolEntity.Request.javaApi().withIdempotencyKey("same-weight");
    List<java.util.function.Function<org.apache.pekko.actor.typed.ActorRef<PoolEntity.Reply>, PoolEntity.Command>> noOps = List.of(
        r -> new PoolEntity.SetWeight(A, 3, r),
        r -> new PoolEntity.SetWeight(A, 3, keyed, r),
        r -> new PoolEntity.Undrain(A, r),
        r -> new PoolEntity.SetStrategy(StrategyKind.ROUND_ROBIN, r),
        r -> new PoolEntity.SetHealthCheck(before.pool().healthCheck(), r));
    for (var command : noOps) {
      var result = run(command);
      assertTrue(result.hasNoEvents(), "no event: " + result.command());
      assertEquals(1, ok(result).version(), "the current version: " + result.command());
    }
    assertEquals(before, entity.getState(), "no version bump, and the key of a change that changed nothing is not kept");
    published.expectNoMessage(Duration.ofMillis(50));
    // a real change still writes
    assertEquals(2, ok(run(r -> new PoolEntity.SetWeight(A, 4, r))).version());
    assertEquals(2, published.receiveMessage().version());
  }

  @Test
  void tlsToTheBackendsIsPartOfTheDefinitionAndSurvivesOtherChanges() {
    BackendTlsSettings tls = new BackendTlsSettings(Optional.of("/etc/fulcrum/ca.pem"), Optional.of("api.internal"), true,
        Optional.empty(), Optional.empty(), List.of("TLSv1.3"));
    var created = run(r -> new PoolEntity.Create(StrategyKind.ROUND_ROBIN, List.of(new BackendSettings(A, 1)),
        Optional.empty(), Optional.of(tls), PoolEntity.Request.javaApi(), r));
    assertEquals(Optional.of(tls), created.eventOfType(PoolEvent.PoolCreated.class).pool().tls());
    // the other changes rebuild the definition: the TLS must stay
    run(r -> new PoolEntity.AddBackend(B, 1, r));
    run(r -> new PoolEntity.SetStrategy(StrategyKind.LEAST_CONNECTIONS, r));
    run(r -> new PoolEntity.Drain(A, r));
    assertEquals(Optional.of(tls), entity.getState().pool().tls());

    assertTrue(run(r -> new PoolEntity.SetTls(Optional.of(tls), r)).hasNoEvents(), "unchanged: nothing persisted");
    var off = run(r -> new PoolEntity.SetTls(Optional.empty(), r));
    assertEquals(Optional.empty(), off.eventOfType(PoolEvent.TlsChanged.class).tls());
    assertEquals(Optional.empty(), ok(off).pool().tls());
    var on = run(r -> new PoolEntity.SetTls(Optional.of(tls), r));
    assertEquals(Optional.of(tls), ok(on).pool().tls());
    assertEquals(List.of(new BackendSettings(A, 1, BackendSettings.Admin.DRAINING), new BackendSettings(B, 1)),
        ok(on).pool().backends());

    BackendTlsSettings halfClientCert = new BackendTlsSettings(Optional.empty(), Optional.empty(), true,
        Optional.of("/etc/fulcrum/client.pem"), Optional.empty(), List.of("TLSv1.3"));
    var refused = run(r -> new PoolEntity.SetTls(Optional.of(halfClientCert), r));
    assertRejected(refused, Reason.INVALID);
    assertTrue(((PoolEntity.Rejected) refused.reply()).message().startsWith("tls.key-file"), refused.reply().toString());
    BackendTlsSettings oldProtocol = new BackendTlsSettings(Optional.empty(), Optional.empty(), true,
        Optional.empty(), Optional.empty(), List.of("TLSv1.1"));
    assertRejected(run(r -> new PoolEntity.SetTls(Optional.of(oldProtocol), r)), Reason.INVALID);
  }

  @Test
  void theProtocolToTheBackendsIsPartOfTheDefinitionAndMatchesItsTls() {
    BackendProtocol h2c = new BackendProtocol(BackendProtocol.Kind.H2C, 20);
    var created = run(r -> new PoolEntity.Create(StrategyKind.ROUND_ROBIN, List.of(new BackendSettings(A, 1)),
        Optional.empty(), Optional.empty(), h2c, PoolEntity.Request.javaApi(), r));
    assertEquals(h2c, created.eventOfType(PoolEvent.PoolCreated.class).pool().protocol());
    run(r -> new PoolEntity.AddBackend(B, 1, r));
    run(r -> new PoolEntity.SetStrategy(StrategyKind.LEAST_CONNECTIONS, r));
    assertEquals(h2c, entity.getState().pool().protocol());
    assertTrue(run(r -> new PoolEntity.SetProtocol(h2c, r)).hasNoEvents(), "unchanged: nothing persisted");

    BackendTlsSettings tls = new BackendTlsSettings(Optional.empty(), Optional.of("api.internal"), true,
        Optional.empty(), Optional.empty(), List.of("TLSv1.3"));
    // h2c is plain TCP: TLS cannot come before the protocol changes, and h2 not before the TLS
    var tlsFirst = run(r -> new PoolEntity.SetTls(Optional.of(tls), r));
    assertRejected(tlsFirst, Reason.INVALID);
    assertTrue(((PoolEntity.Rejected) tlsFirst.reply()).message().contains("h2c"), tlsFirst.reply().toString());
    var h2First = run(r -> new PoolEntity.SetProtocol(new BackendProtocol(BackendProtocol.Kind.H2, 20), r));
    assertRejected(h2First, Reason.INVALID);
    assertTrue(((PoolEntity.Rejected) h2First.reply()).message().contains("use h2c"), h2First.reply().toString());
    assertRejected(run(r -> new PoolEntity.SetProtocol(new BackendProtocol(BackendProtocol.Kind.H2C, 0), r)), Reason.INVALID);

    var http1 = run(r -> new PoolEntity.SetProtocol(BackendProtocol.HTTP_1_1, r));
    assertEquals(BackendProtocol.HTTP_1_1, http1.eventOfType(PoolEvent.ProtocolChanged.class).protocol());
    ok(run(r -> new PoolEntity.SetTls(Optional.of(tls), r)));
    var h2 = run(r -> new PoolEntity.SetProtocol(new BackendProtocol(BackendProtocol.Kind.H2, 20), r));
    assertEquals(BackendProtocol.Kind.H2, ok(h2).pool().protocol().kind());
    assertEquals(Optional.of(tls), ok(h2).pool().tls());

    var other = EventSourcedBehaviorTestKit.<PoolEntity.Command, PoolEvent, PoolState>create(
        kit.system(), PoolEntity.create("h2-" + UUID.randomUUID().toString().substring(0, 8), settings, published.ref()::tell));
    var badCreate = other.<PoolEntity.Reply>runCommand(r -> new PoolEntity.Create(
        StrategyKind.ROUND_ROBIN, List.of(), Optional.empty(), Optional.empty(),
        new BackendProtocol(BackendProtocol.Kind.H2, 5), PoolEntity.Request.javaApi(), r));
    assertRejected(badCreate, Reason.INVALID);
  }

  @Test
  void bootstrapReportsAndAppliesADifferentProtocol() {
    String name = entity.getState().name();
    PoolSettings plain = new PoolSettings(name, StrategyKind.ROUND_ROBIN, List.of(new BackendSettings(A, 1)),
        settings.defaultHealthCheck());
    entity.<PoolEntity.BootstrapResult>runCommand(r -> new PoolEntity.Bootstrap(plain, false, r));
    PoolSettings h2c = plain.withProtocol(new BackendProtocol(BackendProtocol.Kind.H2C, 100));
    var kept = entity.<PoolEntity.BootstrapResult>runCommand(r -> new PoolEntity.Bootstrap(h2c, false, r));
    assertEquals(List.of("protocol is http/1.1 in the journal, h2c (max-concurrent-streams 100) in config"),
        kept.reply().differences());
    var applied = entity.<PoolEntity.BootstrapResult>runCommand(r -> new PoolEntity.Bootstrap(h2c, true, r));
    assertEquals(h2c.protocol(), applied.reply().state().pool().protocol());
  }

  @Test
  void bootstrapReportsAndAppliesADifferentTls() {
    String name = entity.getState().name();
    PoolSettings plain = new PoolSettings(name, StrategyKind.ROUND_ROBIN, List.of(new BackendSettings(A, 1)),
        settings.defaultHealthCheck());
    entity.<PoolEntity.BootstrapResult>runCommand(r -> new PoolEntity.Bootstrap(plain, false, r));
    PoolSettings withTls = plain.withTls(Optional.of(new BackendTlsSettings(Optional.empty(), Optional.of("api.internal"),
        true, Optional.empty(), Optional.empty(), List.of("TLSv1.3", "TLSv1.2"))));
    var kept = entity.<PoolEntity.BootstrapResult>runCommand(r -> new PoolEntity.Bootstrap(withTls, false, r));
    assertEquals(1, kept.reply().differences().size(), String.join("; ", kept.reply().differences()));
    assertTrue(kept.reply().differences().get(0).startsWith("tls is off in the journal"), kept.reply().differences().get(0));
    var applied = entity.<PoolEntity.BootstrapResult>runCommand(r -> new PoolEntity.Bootstrap(withTls, true, r));
    assertEquals(withTls.tls(), applied.eventOfType(PoolEvent.TlsChanged.class).tls());
    assertEquals(withTls.tls(), applied.reply().state().pool().tls());
  }

  @Test
  void deleteKeepsTheHistoryAndAllowsARecreate() {
    create(new BackendSettings(A, 1));
    var deleted = run(PoolEntity.Delete::new);
    assertInstanceOf(PoolEvent.PoolDeleted.class, deleted.event());
    assertEquals(PoolEntity.JAVA_API, deleted.event().origin());
    assertFalse(ok(deleted).exists());
    assertEquals(1, published.receiveMessage().version());
    assertFalse(published.receiveMessage().exists());

    var again = create(new BackendSettings(B, 1));
    assertEquals(3, ok(again).version());
    assertEquals(List.of(new BackendSettings(B, 1)), ok(again).pool().backends());
  }

  @Test
  void historyListsTheEventsFromASequenceNumber() {
    create(new BackendSettings(A, 1));
    run(r -> new PoolEntity.AddBackend(B, 1, "admin-api 127.0.0.1", r));
    run(r -> new PoolEntity.Drain(A, r));
    TestProbe<PoolEntity.HistoryReply> probe = kit.createTestProbe();
    entity.runCommand(new PoolEntity.GetHistory(1, probe.ref()));
    List<PoolEntity.Entry> all = ((PoolEntity.History) probe.receiveMessage()).events();
    assertEquals(List.of(1L, 2L, 3L), all.stream().map(PoolEntity.Entry::seq).toList());
    assertInstanceOf(PoolEvent.PoolCreated.class, all.get(0).event());
    assertEquals("admin-api 127.0.0.1", all.get(1).event().origin());
    assertInstanceOf(PoolEvent.DrainStarted.class, all.get(2).event());

    entity.runCommand(new PoolEntity.GetHistory(3, probe.ref()));
    assertEquals(List.of(all.get(2)), ((PoolEntity.History) probe.receiveMessage()).events());
  }

  @Test
  void bootstrapCreatesFromConfigOnlyWithoutAJournal() {
    String name = entity.getState().name();
    PoolSettings config = new PoolSettings(name, StrategyKind.ROUND_ROBIN,
        List.of(new BackendSettings(A, 1), new BackendSettings(B, 2)), settings.defaultHealthCheck());
    var first = entity.<PoolEntity.BootstrapResult>runCommand(r -> new PoolEntity.Bootstrap(config, false, r));
    assertTrue(first.reply().created());
    assertEquals("config", first.event().origin());
    assertEquals(Optional.of(config), first.reply().state().definition());

    run(r -> new PoolEntity.RemoveBackend(A, r));
    run(r -> new PoolEntity.AddBackend(C, 1, r));
    run(r -> new PoolEntity.SetWeight(B, 9, r));
    run(r -> new PoolEntity.Drain(B, r));
    PoolState journaled = entity.getState();

    var kept = entity.<PoolEntity.BootstrapResult>runCommand(r -> new PoolEntity.Bootstrap(config, false, r));
    assertTrue(kept.hasNoEvents(), "the journal wins: nothing persisted");
    assertEquals(journaled, kept.reply().state());
    assertFalse(kept.reply().created());
    assertEquals(4, kept.reply().differences().size(), String.join("; ", kept.reply().differences()));
    assertTrue(kept.reply().differences().stream().anyMatch(d -> d.contains(C.toString()) && d.contains("not in config")));

    var applied = entity.<PoolEntity.BootstrapResult>runCommand(r -> new PoolEntity.Bootstrap(config, true, r));
    assertTrue(applied.reply().applied());
    assertTrue(applied.events().stream().allMatch(e -> e.origin().equals("config")));
    assertEquals(
        config.backends().stream().sorted(java.util.Comparator.comparing(b -> b.address().toString())).toList(),
        applied.reply().state().pool().backends().stream().sorted(java.util.Comparator.comparing(b -> b.address().toString())).toList());
    var clean = entity.<PoolEntity.BootstrapResult>runCommand(r -> new PoolEntity.Bootstrap(config, false, r));
    assertTrue(clean.reply().differences().isEmpty());
  }

  @Test
  void snapshotsAndReplayGiveTheSameState() {
    create(new BackendSettings(A, 1));
    run(r -> new PoolEntity.AddBackend(B, 2, r));
    run(r -> new PoolEntity.SetWeight(A, 3, r));
    run(r -> new PoolEntity.Drain(B, r));
    run(r -> new PoolEntity.AddBackend(C, 4, r));
    PoolState before = entity.getState();
    assertEquals(5, before.version());

    String id = PoolEntity.persistenceId(before.name()).id();
    var snapshots = entity.snapshotTestKit().orElseThrow().persistedInStorage(id);
    assertEquals(1, snapshots.size(), "one snapshot after " + SNAPSHOT_EVERY + " events");
    assertEquals(SNAPSHOT_EVERY, snapshots.get(0).first().sequenceNr());

    var restarted = entity.restart();
    assertEquals(before, restarted.state());
    published.receiveSeveralMessages(5);
    assertEquals(before, published.receiveMessage(), "recovery publishes the recovered state");
  }

  @Test
  void aChangeWhoseDeadlinePassedIsRefusedAndNothingPersisted() {
    create(new BackendSettings(A, 1));
    TestProbe<PoolEntity.Started> started = kit.createTestProbe();
    PoolEntity.Request late = new PoolEntity.Request("test", java.time.Instant.now().minusMillis(1), Optional.empty(), Optional.of(started.ref()));
    var result = run(r -> new PoolEntity.SetWeight(A, 5, late, r));
    assertRejected(result, Reason.EXPIRED);
    assertTrue(((PoolEntity.Rejected) result.reply()).message().contains("nothing was changed"));
    started.expectNoMessage(Duration.ofMillis(50));
    assertEquals(1, entity.getState().version());
  }

  @Test
  void aChangeTellsItsCallerJustBeforeItIsWritten() {
    create(new BackendSettings(A, 1));
    TestProbe<PoolEntity.Started> started = kit.createTestProbe();
    PoolEntity.Request request = PoolEntity.Request.of("test", Duration.ofSeconds(5)).withStartedTo(started.ref());
    ok(run(r -> new PoolEntity.SetWeight(A, 5, request, r)));
    started.expectMessage(new PoolEntity.Started(entity.getState().name()));
    ok(run(r -> new PoolEntity.SetWeight(A, 5, request, r)));
    started.expectNoMessage(Duration.ofMillis(50)); // nothing to write: no "started"
  }

  @Test
  void anIdempotencyKeyAppliesAChangeOnceAlsoAfterARestart() {
    create(new BackendSettings(A, 1));
    PoolEntity.Request keyed = PoolEntity.Request.of("test", Duration.ofSeconds(5)).withIdempotencyKey("deploy-42");
    var first = run(r -> new PoolEntity.SetWeight(A, 5, keyed, r));
    assertEquals("deploy-42", first.eventOfType(PoolEvent.WeightChanged.class).idempotencyKey());
    run(r -> new PoolEntity.SetWeight(A, 6, r));
    var retried = run(r -> new PoolEntity.SetWeight(A, 5, keyed, r));
    assertTrue(retried.hasNoEvents(), "a retry under the same key is not applied again");
    assertEquals(6, ok(retried).backend(A).orElseThrow().weight(), "it answers the current state");
    assertEquals(Optional.of(2L), ok(retried).appliedAt("deploy-42"));

    entity.restart();
    var afterRestart = run(r -> new PoolEntity.SetWeight(A, 5, keyed, r));
    assertTrue(afterRestart.hasNoEvents(), "the keys are rebuilt from the journal");
    PoolEntity.Request lateRetry = new PoolEntity.Request("test", java.time.Instant.now().minusSeconds(1), keyed.idempotencyKey(), Optional.empty());
    ok(run(r -> new PoolEntity.SetWeight(A, 5, lateRetry, r))); // applied before: Ok, not "expired"
    assertRejected(run(r -> new PoolEntity.SetWeight(A, 5, PoolEntity.Request.of("test", Duration.ofSeconds(5)).withIdempotencyKey("a b"), r)),
        Reason.INVALID);
  }

  @Test
  void aPoolRemembersItsLastKeysOnly() {
    PoolState state = PoolState.empty("p");
    for (int i = 0; i < PoolState.KEPT_KEYS + 5; i++) {
      state = state.apply(new PoolEvent.PoolDeleted(java.time.Instant.now(), "test", "k" + i));
    }
    assertEquals(PoolState.KEPT_KEYS, state.recentKeys().size());
    assertEquals(Optional.empty(), state.appliedAt("k4"));
    assertEquals(Optional.of(6L), state.appliedAt("k5"));
  }
}
