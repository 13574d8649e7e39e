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

  static HttpRequest onEnd(HttpRequest request, Runnable callback) {
    HttpEntity entity = request.entity();
    if (entity.isDefault()) {
      return request.withEntity(HttpEntities.create(
          entity.getContentType(), entity.getContentLengthOption().getAsLong(), entity.getDataBytes().via(watch(callback))));
    }
    return request.transformEntityDataBytes(watch(callback));
  }

  static HttpResponse onEnd(HttpResponse response, Runnable callback) {
    HttpEntity entity = response.entity();
    if (entity.isDefault()) {
      return response.withEntity(HttpEntities.create(
          entity.getContentType(), entity.getContentLengthOption().getAsLong(), entity.getDataBytes().via(watch(callback))));
    }
    return response.transformEntityDataBytes(watch(callback));
  }

  private static Flow<ByteString, ByteString, NotUsed> watch(Runnable callback) {
    return Flow.<ByteString>create().watchTermination((unused, done) -> {
      done.whenComplete((d, failure) -> callback.run());
      return unused;
    });
  }
}
