package dev.fulcrum.observe;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import java.util.Iterator;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.LoggerFactory;

/**
 * {@code fulcrum.logging.format = json}: the application log's appenders (those of the root logger that write to a
 * stream: console, file) get logstash-logback-encoder's JSON encoder instead of their pattern, one object per line for
 * Loki or ELK. The access log keeps its own format.
 */
final class JsonApplicationLog {
  private JsonApplicationLog() {}

  static void install() {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) return;
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
      if (it.next() instanceof OutputStreamAppender<ILoggingEvent> stream
          && !(stream.getEncoder() instanceof LogstashEncoder)) {
        LogstashEncoder json = new LogstashEncoder();
        json.setContext(context);
        json.start();
        stream.stop();
        stream.setEncoder(json);
        stream.start();
      }
    }
  }
}
