package dev.fulcrum.cluster;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/** Every Fulcrum runs as a Pekko Cluster: with no seed nodes configured, a node forms a cluster of one by itself. */
public final class ClusterStart {
  private ClusterStart() {}

  public static void join(ActorSystem<?> system) {
    if (system.settings().config().getStringList("pekko.cluster.seed-nodes").isEmpty()) {
      Cluster cluster = Cluster.get(system);
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
    }
  }
}
