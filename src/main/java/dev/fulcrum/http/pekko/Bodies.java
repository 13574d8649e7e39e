package dev.fulcrum.http.pekko;

import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.util.ByteString;

/**
 * Streamed bodies with a callback when they end (completed, failed or cancelled), keeping their framing: a body with a
 * Content-Length keeps it (Pekko's transformEntityDataBytes would turn it into a chunked one).
 */
final class Bodies {
  private Bodies() {}

  /** What a watched body learns when it ends: the bytes that passed, and why it ended early (null when it did not). */
  interface Ended {
    void ended(long bytes, Throwable failure);
  }

  static HttpRequest onEnd(HttpRequest request, Ended callback) {
    HttpEntity entity = request.entity();
    if (entity.isDefault()) {
      return request.withEntity(HttpEntities.create(
          entity.getContentType(), entity.getContentLengthOption().getAsLong(), entity.getDataBytes().via(watch(callback))));
    }
    return request.transformEntityDataBytes(watch(callback));
  }

  static HttpResponse onEnd(HttpResponse response, Ended callback) {
    HttpEntity entity = response.entity();
    if (entity.isDefault()) {
      return response.withEntity(HttpEntities.create(
          entity.getContentType(), entity.getContentLengthOption().getAsLong(), entity.getDataBytes().via(watch(callback))));
    }
    return response.transformEntityDataBytes(watch(callback));
  }

  private static Flow<ByteString, ByteString, NotUsed> watch(Ended callback) {
    // counted by the stage before the watch, so every chunk is in the count when the watch fires
    long[] bytes = new long[1];
    return Flow.<ByteString>create().map(chunk -> {
      bytes[0] += chunk.size();
      return chunk;
    }).watchTermination((unused, done) -> {
      done.whenComplete((d, failure) -> callback.ended(bytes[0], failure));
      return unused;
    });
  }
}
