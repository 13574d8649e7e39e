package dev.fulcrum.http.wire;

import java.util.Arrays;

/**
 * The header fields of one HTTP/1.1 message head, in the order received: names as sent, values with surrounding
 * whitespace trimmed. Lookups are by name, case-insensitively. Small and array-backed: a head has a handful of fields.
 */
public final class HeaderFields implements HeaderView, HeaderSink {
  private String[] names;
  private String[] values;
  private int size;

  public HeaderFields() {
    this(8);
  }

  public HeaderFields(int capacity) {
    names = new String[Math.max(capacity, 1)];
    values = new String[Math.max(capacity, 1)];
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public String name(int i) {
    return names[i];
  }

  @Override
  public String value(int i) {
    return values[i];
  }

  @Override
  public void keep(HeaderView in, int i) {
    add(in.name(i), in.value(i));
  }

  @Override
  public void add(String name, String value) {
    if (size == names.length) {
      names = Arrays.copyOf(names, size * 2);
      values = Arrays.copyOf(values, size * 2);
    }
    names[size] = name;
    values[size] = value;
    size++;
  }

  /** How many fields have this name. */
  public int count(String name) {
    int n = 0;
    for (int i = 0; i < size; i++) {
      if (names[i].equalsIgnoreCase(name)) n++;
    }
    return n;
  }

  /** Removes every field with this name. */
  public void removeAll(String name) {
    int kept = 0;
    for (int i = 0; i < size; i++) {
      if (names[i].equalsIgnoreCase(name)) continue;
      names[kept] = names[i];
      values[kept] = values[i];
      kept++;
    }
    Arrays.fill(names, kept, size, null);
    Arrays.fill(values, kept, size, null);
    size = kept;
  }
}
