package dev.fulcrum.events;

import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/** A stream's consumer that takes exactly what the test requests: to stall a stream, or to pull it step by step. */
final class ManualSubscriber<T> implements Subscriber<T> {
  private final LinkedBlockingQueue<T> received = new LinkedBlockingQueue<>();
  private final java.util.concurrent.CompletableFuture<Subscription> subscription = new java.util.concurrent.CompletableFuture<>();

  @Override
  public void onSubscribe(Subscription s) {
    subscription.complete(s);
  }

  @Override
  public void onNext(T t) {
    received.add(t);
  }

  @Override
  public void onError(Throwable t) {}

  @Override
  public void onComplete() {}

  void request(long n) {
    awaitSubscription().request(n);
  }

  void cancel() {
    awaitSubscription().cancel();
  }

  T next(Duration wait) throws InterruptedException {
    T t = received.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
    if (t == null) throw new AssertionError("nothing within " + wait);
    return t;
  }

  int receivedCount() {
    return received.size();
  }

  private Subscription awaitSubscription() {
    try {
      return subscription.get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("never subscribed", e);
    }
  }
}
