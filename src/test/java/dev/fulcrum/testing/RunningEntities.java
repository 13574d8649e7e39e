package dev.fulcrum.testing;

import dev.fulcrum.Fulcrum;
import java.util.HashSet;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/** The ids of a type's entities that run on a node now, as its shard region tells (for passivation tests). */
public final class RunningEntities {
  private RunningEntities() {}

  public static Set<String> of(Fulcrum node, ActorTestKit kit, EntityTypeKey<?> type) {
    TestProbe<ShardRegion.CurrentShardRegionState> probe = kit.createTestProbe();
    ClusterSharding.get(node.clusterSystem()).shardState().tell(new GetShardRegionState(type, probe.getRef()));
    Set<String> ids = new HashSet<>();
    probe.expectMessageClass(ShardRegion.CurrentShardRegionState.class).getShards().forEach(s -> ids.addAll(s.getEntityIds()));
    return ids;
  }
}
