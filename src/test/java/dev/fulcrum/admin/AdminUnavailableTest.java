package dev.fulcrum.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.AdminClient.Response;
import dev.fulcrum.testing.TestConfig;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * When no pool entity can answer (here: the node never joins a cluster, so sharding has nowhere to run it), a change
 * answers 503 "not applied" once its deadline passed, and reads still answer from the node's own view.
 */
class AdminUnavailableTest {

  @Test
  void entityCallsTimeOutWith503AndARetryHint() throws Exception {
    Fulcrum fulcrum = Fulcrum.start(TestConfig.of("""
        pekko.cluster.seed-nodes = ["pekko://fulcrum@127.0.0.1:1"]
        fulcrum.admin.ask-timeout = 300ms
        pekko.coordinated-shutdown.phases {
          cluster-sharding-shutdown-region.timeout = 1s
          cluster-leave.timeout = 1s
          cluster-exiting.timeout = 1s
        }
        """));
    try {
      AdminClient admin = new AdminClient(fulcrum.adminAddress(), Optional.empty());
      assertEquals(200, admin.get("/api/health").status());
      Response r = admin.post("/api/pools", "{\"name\":\"web\"}");
      assertEquals(503, r.status(), r.toString());
      assertEquals("not-applied", r.json().path("outcome").asText(), r.toString());
      assertTrue(r.error().contains("nothing was changed"), r.body());
      assertEquals("1", r.raw().headers().firstValue("Retry-After").orElse(""));
      assertEquals(404, admin.get("/api/pools/web").status(), "this node never heard of the pool");
      assertEquals(200, admin.get("/api/pools").status());
    } finally {
      fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
