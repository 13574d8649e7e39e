package dev.fulcrum.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * An authoritative DNS server for tests, on a random UDP port of 127.0.0.1, built on dnsjava's message classes: the
 * test sets a name's A, AAAA and SRV records (and their TTL) at any moment, makes a name fail (SERVFAIL, or no answer
 * at all), and reads when each question was asked. Unknown names answer NXDOMAIN.
 */
public final class TestDnsServer implements AutoCloseable {
  /** How a failing name answers. */
  public enum Failure { SERVFAIL, SILENT }

  /** A question as it arrived: the name (lower case, no final dot), the record type, and when. */
  public record Query(String name, int type, long nanos) {}

  private final DatagramSocket socket;
  private final Thread thread;
  private final Map<String, List<Record>> records = new ConcurrentHashMap<>();
  private final Map<String, Failure> failing = new ConcurrentHashMap<>();
  private final List<Query> queries = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  public TestDnsServer() {
    try {
      socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    } catch (SocketException e) {
      throw new UncheckedIOException(e);
    }
    thread = new Thread(this::serve, "test-dns-server");
    thread.setDaemon(true);
    thread.start();
  }

  public int port() {
    return socket.getLocalPort();
  }

  /** {@code "127.0.0.1:port"}, as {@code fulcrum.dns.servers} takes it. */
  public String address() {
    return "127.0.0.1:" + port();
  }

  /** The name's A and AAAA records are now these addresses (v4 or v6), each with {@code ttl} seconds; none: NODATA. */
  public void addresses(String name, long ttl, String... addresses) {
    List<Record> list = new ArrayList<>();
    for (String address : addresses) {
      try {
        InetAddress ip = InetAddress.getByName(address);
        list.add(ip.getAddress().length == 4
            ? new ARecord(name(name), DClass.IN, ttl, ip)
            : new AAAARecord(name(name), DClass.IN, ttl, ip));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    records.put(key(name), list);
  }

  /** One SRV record: priority, weight, port and target. */
  public record Srv(int priority, int weight, int port, String target) {}

  public void services(String name, long ttl, Srv... srvs) {
    List<Record> list = new ArrayList<>();
    for (Srv s : srvs) list.add(new SRVRecord(name(name), DClass.IN, ttl, s.priority(), s.weight(), s.port(), name(s.target())));
    records.put(key(name), list);
  }

  /** The name no longer exists: NXDOMAIN. */
  public void remove(String name) {
    records.remove(key(name));
  }

  public void fail(String name, Failure how) {
    failing.put(key(name), how);
  }

  public void heal(String name) {
    failing.remove(key(name));
  }

  /** The questions asked about {@code name} for records of {@code type} ({@link Type#A} ...), oldest first. */
  public List<Query> queries(String name, int type) {
    return queries.stream().filter(q -> q.name().equals(key(name)) && q.type() == type).toList();
  }

  private void serve() {
    byte[] buffer = new byte[512];
    while (!closed) {
      DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
      try {
        socket.receive(packet);
        Message query = new Message(java.util.Arrays.copyOf(packet.getData(), packet.getLength()));
        byte[] answer = answer(query);
        if (answer != null) socket.send(new DatagramPacket(answer, answer.length, packet.getSocketAddress()));
      } catch (IOException e) {
        if (closed) return;
        // a malformed question is dropped; the server goes on
      }
    }
  }

  private byte[] answer(Message query) {
    Record question = query.getQuestion();
    String name = key(question.getName().toString());
    queries.add(new Query(name, question.getType(), System.nanoTime()));
    Failure failure = failing.get(name);
    if (failure == Failure.SILENT) return null;
    Message response = new Message(query.getHeader().getID());
    response.getHeader().setFlag(Flags.QR);
    response.getHeader().setFlag(Flags.AA);
    if (query.getHeader().getFlag(Flags.RD)) response.getHeader().setFlag(Flags.RD);
    response.addRecord(question, Section.QUESTION);
    if (failure == Failure.SERVFAIL) {
      response.getHeader().setRcode(Rcode.SERVFAIL);
      return response.toWire();
    }
    List<Record> all = records.get(name);
    if (all == null) {
      response.getHeader().setRcode(Rcode.NXDOMAIN);
      return response.toWire();
    }
    for (Record r : all) if (r.getType() == question.getType()) response.addRecord(r, Section.ANSWER);
    return response.toWire();
  }

  private static Name name(String name) {
    try {
      return Name.fromString(name, Name.root);
    } catch (TextParseException e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static String key(String name) {
    String lower = name.toLowerCase(java.util.Locale.ROOT);
    return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
  }

  @Override
  public void close() {
    closed = true;
    socket.close();
  }
}
